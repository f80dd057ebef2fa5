//! The Python modules rote embeds, loaded from the code `build.rs` compiled
//! (or from their source when that was not possible).

use std::ffi::{CStr, CString};

use pyo3::ffi;
use pyo3::prelude::*;

pub(crate) struct Embedded {
    pub name: &'static CStr,
    pub filename: &'static CStr,
    pub source: &'static str,
    /// `marshal` of the compiled source; empty when not precompiled.
    pub code: &'static [u8],
}

pub(crate) const REWRITE: Embedded = Embedded {
    name: c"_rote_rewrite",
    filename: c"<rote>/_rote_rewrite.py",
    source: include_str!("../python/_rote_rewrite.py"),
    code: include_bytes!(concat!(env!("OUT_DIR"), "/_rote_rewrite.marshal")),
};

pub(crate) const TEE: Embedded = Embedded {
    name: c"_rote_tee",
    filename: c"<rote>/_rote_tee.py",
    source: include_str!("../python/_rote_tee.py"),
    code: include_bytes!(concat!(env!("OUT_DIR"), "/_rote_tee.marshal")),
};

impl Embedded {
    pub(crate) fn load<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyModule>> {
        if !self.code.is_empty() {
            // SAFETY: marshal data written by this interpreter version's
            // `marshal.dump`; the results are new references or NULL.
            let code = unsafe {
                Bound::from_owned_ptr_or_err(
                    py,
                    ffi::PyMarshal_ReadObjectFromString(
                        self.code.as_ptr().cast(),
                        self.code.len() as ffi::Py_ssize_t,
                    ),
                )
            };
            if let Ok(code) = code {
                // SAFETY: a code object and NUL-terminated names.
                let module = unsafe {
                    Bound::from_owned_ptr_or_err(
                        py,
                        ffi::PyImport_ExecCodeModuleEx(
                            self.name.as_ptr(),
                            code.as_ptr(),
                            self.filename.as_ptr(),
                        ),
                    )
                };
                match module {
                    Ok(m) => return Ok(m.cast_into::<PyModule>()?),
                    Err(err) => {
                        tracing::debug!(%err, "precompiled module failed; compiling the source")
                    }
                }
            }
        }
        let source = CString::new(self.source).expect("no NUL in embedded sources");
        PyModule::from_code(py, &source, self.filename, self.name)
    }
}
