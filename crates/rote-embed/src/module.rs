//! The built-in `rote` module, importable in every rote process (children
//! started through `sys.executable` included). Later issues fill it in.

use pyo3::prelude::*;

#[pymodule]
pub(crate) mod rote {
    use pyo3::prelude::*;

    #[allow(non_upper_case_globals)]
    #[pymodule_export]
    const __version__: &str = env!("CARGO_PKG_VERSION");

    /// The sys.monitoring tool id rote holds in this process.
    #[pyfunction]
    fn _tool_id() -> i32 {
        crate::hooks::tool_id()
    }

    /// `(serializer, bytes)` for a value; `TypeError` with the reason when it
    /// cannot be stored. Internal: what the cache does with return values.
    #[pyfunction]
    fn _dumps<'py>(
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<(&'static str, Bound<'py, pyo3::types::PyBytes>)> {
        match rote_values::encode(obj)? {
            Ok(enc) => Ok((
                enc.serializer.name(),
                pyo3::types::PyBytes::new(obj.py(), &enc.bytes),
            )),
            Err(refused) => Err(pyo3::exceptions::PyTypeError::new_err(refused.reason)),
        }
    }

    /// The value [`_dumps`] serialized.
    #[pyfunction]
    fn _loads<'py>(py: Python<'py>, serializer: &str, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        let ser = rote_values::Serializer::from_name(serializer).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!("unknown serializer `{serializer}`"))
        })?;
        rote_values::decode(py, ser, data)
    }

    #[pymodule_export]
    use rote_memo::{
        _c_events, _hash, _import_end, _import_start, _import_unwind, _load, _trace, _wrap,
        Wrapped, cache, configure,
    };

    /// A value's 32-byte fingerprint; `TypeError` with the reason when it has
    /// none that is reliable.
    #[pyfunction]
    fn _fingerprint<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        match rote_values::fingerprint(obj)? {
            Ok(fp) => Ok(pyo3::types::PyBytes::new(obj.py(), &fp)),
            Err(refused) => Err(pyo3::exceptions::PyTypeError::new_err(refused.reason)),
        }
    }
}

pub(crate) fn register() {
    pyo3::append_to_inittab!(rote);
}
