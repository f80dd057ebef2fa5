//! PLACEHOLDER (not for main): .npy codec, written on its own branch.
use pyo3::prelude::*;
pub(crate) fn is_plain_ndarray(_obj: &Bound<'_, PyAny>) -> PyResult<bool> { Ok(false) }
pub(crate) fn encode(_obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    Err(pyo3::exceptions::PyNotImplementedError::new_err("npy"))
}
pub(crate) fn decode<'py>(_py: Python<'py>, _bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    Err(pyo3::exceptions::PyNotImplementedError::new_err("npy"))
}
