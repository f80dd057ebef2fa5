//! The bridge to `python/_rote_rewrite.py`, which rewrites a module's AST so
//! its functions are wrapped, computes their identities, and keeps the
//! result under the cache directory (`v1/code/`) so that a warm run does not
//! parse or import `ast`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use crate::runtime;

const SOURCE: &str = crate::embedded::REWRITE.source;

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    MODULE
        .get_or_try_init(py, || -> PyResult<Py<PyModule>> {
            Ok(crate::embedded::REWRITE.load(py)?.unbind())
        })
        .map(|m| m.bind(py))
}

fn code_dir() -> Option<PathBuf> {
    let rt = runtime::get()?;
    // Compiled code is never read from a directory rote would not load
    // values from; the index itself is opened only by the first candidate
    // call (a script that calls none has no open cache files).
    let code = match rote_store::prepare(&rt.settings.cache_dir) {
        Ok(dir) => dir,
        Err(err) => {
            tracing::debug!(%err, "no compiled-code cache");
            return None;
        }
    };
    // Keyed by the rewriter's own source too: a rote whose rewriter differs
    // never reads code (and identities) another one compiled.
    let tag = blake3::hash(SOURCE.as_bytes()).to_hex();
    Some(code.join(&tag.as_str()[..16]))
}

pub(crate) fn load<'py>(
    source: &Bound<'py, PyAny>,
    filename: &Bound<'py, PyAny>,
    module_name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let py = source.py();
    let hasher = py.import("rote")?.getattr("_hash")?;
    let dir = code_dir().map(|d| d.into_os_string());
    let result = module(py)?.getattr("load_code")?.call1((
        source,
        filename,
        module_name,
        hasher,
        dir.as_deref().map(|d| d.to_os_string()),
    ))?;
    if let Some(rt) = runtime::get() {
        rt.add_module(module_name);
        let pair = result.cast::<PyTuple>()?;
        crate::calls::watch(&pair.get_item(0)?)?;
        let identities = pair.get_item(1)?.cast_into::<PyDict>()?;
        let prefix = runtime::canonical_module(module_name);
        for (qualname, identity) in identities.iter() {
            let qualname = qualname.cast_into::<PyString>()?;
            let identity = identity.cast_into::<PyBytes>()?;
            if let Ok(id) = <[u8; 32]>::try_from(identity.as_bytes()) {
                rt.register(format!("{prefix}.{}", qualname.to_cow()?), id);
            }
        }
    }
    Ok(result)
}

pub(crate) fn install_finder(
    py: Python<'_>,
    roots: &[PathBuf],
    load: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let roots: Vec<&OsStr> = roots.iter().map(|r| r.as_os_str()).collect();
    module(py)?
        .getattr("install_finder")?
        .call1((roots, load))?;
    Ok(())
}

/// The identity of a function rote did not rewrite (for `rote.cache`).
pub(crate) fn identity_of(func: &Bound<'_, PyAny>) -> PyResult<Option<[u8; 32]>> {
    let py = func.py();
    if let Some(rt) = runtime::get() {
        let module: String = func.getattr("__module__")?.extract().unwrap_or_default();
        let qualname: String = func.getattr("__qualname__")?.extract()?;
        let name = format!("{}.{qualname}", runtime::canonical_module(&module));
        if let Some(id) = rt.identity_of(&name) {
            return Ok(Some(id));
        }
    }
    let hasher = py.import("rote")?.getattr("_hash")?;
    let id = module(py)?
        .getattr("function_identity")?
        .call1((func, hasher))?;
    if id.is_none() {
        return Ok(None);
    }
    Ok(<[u8; 32]>::try_from(id.cast::<PyBytes>()?.as_bytes()).ok())
}

/// The rewritten code of the main script, or `None` when it cannot be
/// rewritten (a syntax error, say): the caller then runs the file the plain
/// way, so python's own error is what the user sees.
pub fn load_main<'py>(filename: &Bound<'py, PyString>, path: &OsStr) -> Option<Bound<'py, PyAny>> {
    let py = filename.py();
    runtime::get()?;
    let source = match std::fs::read(PathBuf::from(path)) {
        Ok(s) => s,
        Err(err) => {
            tracing::debug!(%err, path = %String::from_utf8_lossy(path.as_bytes()), "cannot read the script");
            return None;
        }
    };
    let source = PyBytes::new(py, &source);
    match load(source.as_any(), filename.as_any(), "__main__") {
        Ok(pair) => pair.cast::<PyTuple>().ok()?.get_item(0).ok(),
        Err(err) => {
            tracing::debug!(%err, "the script is run unwrapped");
            None
        }
    }
}
