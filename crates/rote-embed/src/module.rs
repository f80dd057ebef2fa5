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

    fn encoded(obj: &Bound<'_, PyAny>) -> PyResult<rote_values::Encoded> {
        rote_values::encode(obj)?
            .map_err(|refused| pyo3::exceptions::PyTypeError::new_err(refused.reason))
    }

    fn serializer(name: &str) -> PyResult<rote_values::Serializer> {
        rote_values::Serializer::from_name(name).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!("unknown serializer `{name}`"))
        })
    }

    /// `(serializer, bytes)` for a value; `TypeError` with the reason when it
    /// cannot be stored. Internal: what the cache does with return values.
    #[pyfunction]
    fn _dumps<'py>(
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<(&'static str, Bound<'py, pyo3::types::PyBytes>)> {
        let enc = encoded(obj)?;
        let bytes = pyo3::types::PyBytes::new_with(obj.py(), enc.len(), |out| {
            let mut at = 0;
            for part in enc.parts() {
                out[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            Ok(())
        })?;
        Ok((enc.serializer.name(), bytes))
    }

    /// The value [`_dumps`] serialized.
    #[pyfunction]
    fn _loads<'py>(py: Python<'py>, serializer: &str, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        rote_values::decode(py, self::serializer(serializer)?, data, None)
    }

    /// Writes a value to `path` as the cache writes a blob; returns
    /// `(serializer, size, checksum)` for [`_read_value`]. Internal: benchmarks.
    #[pyfunction]
    fn _write_value(
        obj: &Bound<'_, PyAny>,
        path: std::path::PathBuf,
    ) -> PyResult<(&'static str, u64, u64)> {
        let enc = encoded(obj)?;
        let (size, sum) = rote_store::write_file(&path, &enc.parts())
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
        Ok((enc.serializer.name(), size, sum))
    }

    /// Reads a value [`_write_value`] wrote, as the cache reads a blob on a hit
    /// (size and checksum verified, large files mapped).
    #[pyfunction]
    fn _read_value<'py>(
        py: Python<'py>,
        serializer: &str,
        path: std::path::PathBuf,
        size: u64,
        checksum: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let blob = rote_store::read_file_verified(&path, size, checksum)
            .map_err(|e| pyo3::exceptions::PyOSError::new_err(e.to_string()))?;
        rote_values::decode(py, self::serializer(serializer)?, &blob, blob.file())
    }

    #[pymodule_export]
    use rote_memo::{
        _c_events, _c_layer, _call_event, _hash, _import_end, _import_start, _import_unwind, _load,
        _trace, _wrap, Wrapped, cache, clear, configure, invalidate, stats,
    };

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("RoteError", m.py().get_type::<rote_memo::RoteError>())
    }

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
