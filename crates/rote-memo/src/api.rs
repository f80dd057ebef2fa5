//! What a script can ask of the cache from inside a run: `rote.stats()`,
//! `rote.invalidate()`, `rote.clear()`, and `rote.RoteError`, the exception
//! rote's own failures raise (never pyo3's `PanicException`).

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::runtime::{self, canonical_module};
use crate::wrapper::Wrapped;

pyo3::create_exception!(
    rote,
    RoteError,
    pyo3::exceptions::PyException,
    "A failure of rote's own (its cache could not be read or written), as opposed to the script's."
);

fn rote_error(what: &str, err: impl std::fmt::Display) -> PyErr {
    RoteError::new_err(format!("{what}: {err}"))
}

/// `rote.stats()`: this run so far (hits, misses, stored, seconds saved, the
/// reasons calls were not served or not stored, the same per function) and
/// the cache as it stands (entries, bytes). Outside `rote run` (python mode,
/// `--disable`) every count is 0.
#[pyfunction]
pub fn stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let out = PyDict::new(py);
    let functions = PyDict::new(py);
    let (mut hits, mut misses, mut stored, mut saved) = (0u64, 0u64, 0u64, 0f64);
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let (mut entries, mut bytes) = (0u64, 0u64);
    if let Some(store) = runtime::get().and_then(|rt| rt.store()) {
        for (name, f) in store.this_run() {
            hits += f.hits;
            misses += f.misses;
            stored += f.stored;
            saved += f.time_saved_s;
            for (r, n) in &f.reasons {
                *reasons.entry(r.clone()).or_default() += n;
            }
            let one = PyDict::new(py);
            one.set_item("hits", f.hits)?;
            one.set_item("misses", f.misses)?;
            one.set_item("stored", f.stored)?;
            one.set_item("time_saved_s", f.time_saved_s)?;
            one.set_item("reasons", counts(py, &f.reasons)?)?;
            functions.set_item(name, one)?;
        }
        (entries, bytes) = store
            .totals()
            .map_err(|e| rote_error("cannot read the cache", e))?;
    }
    out.set_item("hits", hits)?;
    out.set_item("misses", misses)?;
    out.set_item("stored", stored)?;
    out.set_item("time_saved_s", saved)?;
    out.set_item("entries", entries)?;
    out.set_item("bytes", bytes)?;
    out.set_item("invalidation_reasons", counts(py, &reasons)?)?;
    out.set_item("functions", functions)?;
    Ok(out)
}

fn counts<'py>(py: Python<'py>, map: &BTreeMap<String, u64>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in map {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// The stored names a target stands for: a wrapped or plain function (its
/// `<module>.<qualname>`), or a name, `module.qualname` or a bare qualname
/// (`report`, `Model.fit`: matched in any module).
fn names_for(target: &Bound<'_, PyAny>, known: &[String]) -> PyResult<Vec<String>> {
    if let Ok(s) = target.cast::<PyString>() {
        let s = s.to_cow()?;
        if known.iter().any(|k| *k == *s) {
            return Ok(vec![s.into_owned()]);
        }
        let suffix = format!(".{s}");
        return Ok(known
            .iter()
            .filter(|k| k.ends_with(&suffix))
            .cloned()
            .collect());
    }
    let func = match target.cast::<Wrapped>() {
        Ok(w) => return Ok(vec![w.get().name.clone()]),
        Err(_) => target.clone(),
    };
    let (Ok(module), Ok(qualname)) = (
        func.getattr("__module__")
            .and_then(|m| m.extract::<String>()),
        func.getattr("__qualname__")
            .and_then(|q| q.extract::<String>()),
    ) else {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "rote.invalidate expects a function or its name, not {}",
            target.get_type().name()?
        )));
    };
    Ok(vec![format!("{}.{qualname}", canonical_module(&module))])
}

/// `rote.invalidate(target=None)`: drops the entries of one function (the
/// function, or its name) or, with no target, of every function; returns
/// how many. Statistics are kept (`rote.clear()` wipes everything).
#[pyfunction]
#[pyo3(signature = (target=None))]
pub fn invalidate(target: Option<&Bound<'_, PyAny>>) -> PyResult<u64> {
    let Some(rt) = runtime::get() else {
        return Ok(0);
    };
    let Some(store) = rt.store() else {
        return Ok(0);
    };
    let known = store
        .functions()
        .map_err(|e| rote_error("cannot read the cache", e))?;
    let names = match target {
        None => known,
        Some(t) if t.is_none() => known,
        Some(t) => names_for(t, &known)?,
    };
    let mut removed = 0;
    for name in names {
        removed += store
            .remove_function(&name)
            .map_err(|e| rote_error("cannot update the cache", e))?;
    }
    rt.forget_all_found();
    Ok(removed)
}

/// `rote.clear()`: wipes the cache: entries, stored values and the files
/// calls wrote, statistics, the file table, this process's verified bytes.
#[pyfunction]
pub fn clear() -> PyResult<()> {
    let Some(rt) = runtime::get() else {
        return Ok(());
    };
    if let Some(store) = rt.store() {
        store
            .clear()
            .map_err(|e| rote_error("cannot clear the cache", e))?;
    }
    rt.forget_all_found();
    Ok(())
}
