//! A private, copy-on-write mapping of a verified blob file, exported to
//! Python through the buffer protocol, so that large arrays decoded from the
//! cache are views of the page cache instead of copies of it.
//!
//! Each decode maps the file anew: two values served from one entry never
//! share pages, so writing into one cannot change the other. Writes land in
//! the process's own copies of the pages, never in the file.

use std::ffi::c_int;

use pyo3::prelude::*;
use pyo3::types::{PyMemoryView, PySlice};

/// The buffer arrays are built on. Its name shows in `arr.base`.
#[pyclass(frozen, module = "rote", name = "_CachedBuffer")]
pub(crate) struct Mapping {
    map: memmap2::MmapMut,
}

#[pymethods]
impl Mapping {
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut pyo3::ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let map = &slf.get().map;
        // The mapping is writable and never touched from Rust after it is
        // made, so handing out a mutable pointer aliases nothing.
        let ptr = map.as_ptr() as *mut std::ffi::c_void;
        let len = map.len() as isize;
        // SAFETY: `view` comes from the interpreter; the exporter (`slf`) is
        // stored in the view and keeps the mapping alive while it is used.
        let rc = unsafe { pyo3::ffi::PyBuffer_FillInfo(view, slf.as_ptr(), ptr, len, 0, flags) };
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut pyo3::ffi::Py_buffer) {}

    fn __len__(&self) -> usize {
        self.map.len()
    }
}

/// A fresh private mapping of `file`.
pub(crate) fn map_private<'py>(
    py: Python<'py>,
    file: &std::fs::File,
) -> PyResult<Bound<'py, Mapping>> {
    // SAFETY: the caller passes a blob file, which is never written or
    // truncated in place (see `decode`); the mapping is private.
    let map = unsafe { memmap2::MmapOptions::new().map_copy(file) }?;
    Bound::new(py, Mapping { map })
}

/// A writable memoryview of `len` bytes of `mapping` from `offset`.
pub(crate) fn view<'py>(
    mapping: &Bound<'py, Mapping>,
    offset: usize,
    len: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let py = mapping.py();
    let whole = PyMemoryView::from(mapping.as_any())?;
    whole.get_item(PySlice::new(
        py,
        offset as isize,
        (offset + len) as isize,
        1,
    ))
}
