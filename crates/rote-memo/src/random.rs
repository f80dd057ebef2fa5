//! The interpreter's global random generators (the `random` module's and
//! numpy's legacy `np.random.*` one): a call that draws from one returns
//! what its inputs do not determine. Their states are fingerprinted at a
//! call's entry and exit (and right after one is imported during the call).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// Fingerprints of the global random states the interpreter has: the
/// `random` module's and numpy's legacy `np.random.*` generator. A call that
/// changes one drew from it: what it returns is not a function of its inputs.
/// (A generator created during the call, by importing `random`, is not a
/// change.)
pub(crate) fn states(py: Python<'_>) -> PyResult<Vec<(&'static str, [u8; 32])>> {
    let modules = py
        .import("sys")?
        .getattr("modules")?
        .cast_into::<PyDict>()?;
    let mut out = Vec::new();
    for name in ["random", "numpy.random.mtrand"] {
        if let Some(module) = modules.get_item(name)? {
            if let Some(state) = state(&module)? {
                out.push(state);
            }
        }
    }
    Ok(out)
}

/// The fingerprint of a global generator module's state, if `module` is
/// `random` or `numpy.random.mtrand`: also taken when one of them is
/// imported during a call (numpy imports `numpy.random` lazily, on first
/// use), so that a draw right after the import still shows as a change.
pub(crate) fn state(module: &Bound<'_, PyAny>) -> PyResult<Option<(&'static str, [u8; 32])>> {
    let Ok(name) = module.getattr("__name__") else {
        return Ok(None);
    };
    let Ok(name) = name.cast_into::<PyString>() else {
        return Ok(None);
    };
    let (label, state) = match &*name.to_cow()? {
        "random" => ("random", module.call_method0("getstate")),
        "numpy.random.mtrand" => (
            "numpy.random",
            module
                .getattr("_rand")
                .and_then(|r| r.call_method0("get_state")),
        ),
        _ => return Ok(None),
    };
    let Ok(state) = state else { return Ok(None) };
    Ok(rote_values::fingerprint(&state)?.ok().map(|fp| (label, fp)))
}

/// Whether a generator present in `before` changed.
pub(crate) fn changed(
    before: &[(&'static str, [u8; 32])],
    after: &[(&'static str, [u8; 32])],
) -> bool {
    before
        .iter()
        .any(|(name, fp)| after.iter().any(|(n, f)| n == name && f != fp))
}
