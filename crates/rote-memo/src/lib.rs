//! Automatic memoization inside a `rote run` process.
//!
//! The data flow: the script (and every project module it imports) is
//! rewritten in memory by `python/_rote_rewrite.py` so that each top-level
//! function and each plain method of a top-level class is rebound to a
//! [`wrapper::Wrapped`] carrying the function's code identity. A call through
//! the wrapper binds and fingerprints its arguments into a key, looks the key
//! up in the store, re-validates the entry's dependencies and replays the
//! value and output; or runs the function in a candidate frame that collects
//! what it reads (audit events, globals, callees), judges it, and stores it.
//!
//! Everything here runs with the GIL held, on the thread that made the call.

mod api;
mod argfp;
mod audit;
mod bind;
mod calls;
mod clib;
mod embedded;
mod frame;
mod globals;
mod judge;
mod output;
mod random;
mod rewrite;
mod runtime;
mod validate;
mod wrapper;

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat, PyInt, PyString};

pub use api::{RoteError, clear, invalidate, stats};
pub use audit::on_audit;
pub use calls::_call_event;
pub use rewrite::load_main;
pub use runtime::{RunInfo, Settings};
pub use wrapper::Wrapped;

/// Turns memoization on for this process: installs `__rote_wrap__`, the
/// import hook for project modules, and the exit hook that commits the
/// run's statistics. Call once, after start-up, before user code.
pub fn start(py: Python<'_>, settings: Settings, info: RunInfo, tool_id: i32) -> PyResult<()> {
    let mut roots = info.roots.clone();
    if !runtime::install(settings, info) {
        return Ok(());
    }
    let sys = py.import("sys")?;
    let mut prefixes = Vec::new();
    for name in ["prefix", "base_prefix", "exec_prefix", "base_exec_prefix"] {
        let p: std::path::PathBuf = sys.getattr(name)?.extract()?;
        if !roots.iter().any(|r| r.starts_with(&p)) && !prefixes.contains(&p) {
            prefixes.push(p);
        }
    }
    // Code on `sys.path` outside the interpreter and site-packages is the
    // user's too: `PYTHONPATH` directories, packages installed in editable
    // (development) mode through a `.pth` path entry.
    for entry in sys.getattr("path")?.try_iter()? {
        let Ok(entry) = entry?.extract::<std::path::PathBuf>() else {
            continue;
        };
        let outside = !prefixes.iter().any(|p| entry.starts_with(p))
            && !entry
                .components()
                .any(|c| c.as_os_str() == "site-packages" || c.as_os_str() == "dist-packages");
        if entry.is_absolute() && entry.is_dir() && outside && !roots.contains(&entry) {
            roots.push(entry);
        }
    }
    if !clib::install(prefixes) {
        tracing::warn!("the C library layer is not linked in; compiled code is not observed");
    }
    if tool_id >= 0 {
        clib::watch_imports(py, tool_id)?;
        calls::install(py, tool_id)?;
    }
    let rote = py.import("rote")?;
    py.import("builtins")?
        .setattr("__rote_wrap__", rote.getattr("_wrap")?)?;
    rewrite::install_finder(py, &roots, &rote.getattr("_load")?)?;
    // SAFETY: registers a plain function; Py_AtExit handlers run at the end
    // of finalization, also when SystemExit ends the process from inside
    // PyErr_Print.
    unsafe { pyo3::ffi::Py_AtExit(Some(at_exit)) };
    Ok(())
}

extern "C" fn at_exit() {
    if let Some(rt) = runtime::get() {
        rt.finish();
    }
}

/// `rote._trace(True)` starts recording every C-library event, `_trace(False)`
/// stops and returns them as `(kind, function, path, flags, errno, tid,
/// caller)`, `caller` being the library that made the call.
/// Internal: for rote's own tests.
#[pyfunction]
pub fn _trace(py: Python<'_>, on: bool) -> PyResult<Option<Bound<'_, pyo3::types::PyList>>> {
    if on {
        clib::trace_start();
        return Ok(None);
    }
    let list = pyo3::types::PyList::empty(py);
    for (kind, function, path, flags, err, tid, caller) in clib::trace_stop() {
        list.append((kind, function, path, flags, err, tid, caller))?;
    }
    Ok(Some(list))
}

/// sys.monitoring callbacks on importlib's `_find_and_load` (what happens
/// while a module is imported is the import's doing, not the call's); PY_START
/// also on `os.environ`'s methods (reads of the environment).
#[pyfunction]
pub fn _import_start(code: &Bound<'_, PyAny>, _offset: i64) {
    let addr = code.as_ptr() as usize;
    if clib::is_find_and_load(addr) {
        clib::import_depth(1);
    } else if !clib::diagnostic_call(addr, 1) {
        clib::environ_read(code.py(), addr);
    }
}

#[pyfunction]
pub fn _import_end(code: &Bound<'_, PyAny>, _offset: i64, value: &Bound<'_, PyAny>) {
    if clib::diagnostic_call(code.as_ptr() as usize, -1) {
        return;
    }
    clib::import_depth(-1);
    clib::watch_diagnostics(value);
    if frame::any_active() {
        // Errors here only lose precision the other way: no snapshot, no
        // comparison for this generator.
        if let Ok(Some(state)) = crate::random::state(value) {
            frame::with_top(|f| f.random_at_import.push(state));
        }
    }
}

#[pyfunction]
pub fn _import_unwind(code: &Bound<'_, PyAny>, _offset: i64, _exc: &Bound<'_, PyAny>) {
    let addr = code.as_ptr() as usize;
    if clib::is_find_and_load(addr) {
        clib::import_depth(-1);
    } else {
        clib::diagnostic_call(addr, -1);
    }
}

/// How many C-library events reached rote since start-up. Internal: tests
/// check that nothing is reported while no candidate runs.
#[pyfunction]
pub fn _c_events() -> u64 {
    clib::delivered()
}

/// `(events, events while a candidate ran, ns spent handling them)` since
/// start-up: what the layer cost. Internal: bench/clib.py (the middle figure
/// is only counted with `ROTE_INTERPOSE=count`).
#[pyfunction]
pub fn _c_layer() -> (u64, u64, u64) {
    (
        clib::delivered(),
        clib::delivered_during_candidates(),
        rote_interpose::sink_ns(),
    )
}

/// `__rote_wrap__(func, identity)`: what the rewritten code calls after each
/// wrappable `def`.
#[pyfunction]
pub fn _wrap<'py>(func: &Bound<'py, PyAny>, identity: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let Ok(identity) = <[u8; 32]>::try_from(identity) else {
        return Ok(func.clone());
    };
    // SAFETY: type check on a valid object.
    if unsafe { pyo3::ffi::PyFunction_Check(func.as_ptr()) } == 0 {
        return Ok(func.clone());
    }
    Ok(wrapper::new_wrapped(func, identity)?.into_any())
}

/// The rewritten code of a project source file (cached by content), with its
/// functions' identities registered. Internal: the import hook's loader.
#[pyfunction]
pub fn _load<'py>(
    source: &Bound<'py, PyAny>,
    filename: &Bound<'py, PyAny>,
    module: &str,
) -> PyResult<Bound<'py, PyAny>> {
    rewrite::load(source, filename, module)
}

/// blake3 of `data`: the hash the rewriter uses for identities.
#[pyfunction]
pub fn _hash<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, pyo3::types::PyBytes> {
    pyo3::types::PyBytes::new(py, blake3::hash(data).as_bytes())
}

fn duration_arg(value: &Bound<'_, PyAny>, key: &str) -> PyResult<Duration> {
    let bad = |why: String| pyo3::exceptions::PyValueError::new_err(format!("{key}: {why}"));
    if value.is_instance_of::<PyString>() {
        let text: String = value.extract()?;
        return rote_config::parse_duration(&text).map_err(bad);
    }
    if value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>() {
        if value.is_instance_of::<pyo3::types::PyBool>() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "{key}: expected seconds (a number) or a string such as '100ms', not bool"
            )));
        }
        let secs: f64 = value.extract()?;
        if !secs.is_finite() || secs < 0.0 {
            return Err(bad(format!(
                "must be a non-negative number of seconds, not {secs}"
            )));
        }
        return Ok(Duration::from_secs_f64(secs));
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{key}: expected seconds (a number) or a string such as '100ms', not {}",
        value.get_type().name()?
    )))
}

/// `@rote.cache` or `@rote.cache(min_duration=0.1)`: memoize this function
/// with the same judge and records as automatic wrapping. A function rote
/// already wrapped is returned as is (its threshold updated).
#[pyfunction]
#[pyo3(signature = (func=None, *, min_duration=None))]
pub fn cache<'py>(
    py: Python<'py>,
    func: Option<&Bound<'py, PyAny>>,
    min_duration: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let threshold = min_duration
        .map(|d| duration_arg(d, "min_duration"))
        .transpose()?;
    let Some(func) = func else {
        let kwargs = PyDict::new(py);
        if let Some(d) = min_duration {
            kwargs.set_item("min_duration", d)?;
        }
        let me = py.import("rote")?.getattr("cache")?;
        return py
            .import("functools")?
            .getattr("partial")?
            .call((me,), Some(&kwargs));
    };
    if let Ok(w) = func.cast::<Wrapped>() {
        w.get().set_min_duration(threshold);
        return Ok(func.clone());
    }
    if !func.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "rote.cache expects a function, not {}",
            func.get_type().name()?
        )));
    }
    if runtime::get().is_none() {
        // Memoization is off in this process (python mode, --disable).
        return Ok(func.clone());
    }
    // SAFETY: type check on a valid object.
    if unsafe { pyo3::ffi::PyFunction_Check(func.as_ptr()) } == 0 {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "rote.cache expects a function, not {}",
            func.get_type().name()?
        )));
    }
    let Some(identity) = rewrite::identity_of(func)? else {
        return Ok(func.clone());
    };
    let w = wrapper::new_wrapped(func, identity)?;
    w.get().set_min_duration(threshold);
    Ok(w.into_any())
}

/// `rote.configure(min_duration=..., enabled=...)`: changes this run's
/// settings from inside the script.
#[pyfunction]
#[pyo3(signature = (**kwargs))]
pub fn configure(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    let Some(kwargs) = kwargs else {
        return Ok(());
    };
    for (key, value) in kwargs.iter() {
        let key: String = key.extract()?;
        match key.as_str() {
            "min_duration" => {
                let d = duration_arg(&value, "min_duration")?;
                if let Some(rt) = runtime::get() {
                    rt.set_min_duration(d);
                }
            }
            "enabled" => {
                let on: bool = value.extract().map_err(|_| {
                    pyo3::exceptions::PyTypeError::new_err("enabled: expected True or False")
                })?;
                if let Some(rt) = runtime::get() {
                    rt.set_enabled(on);
                }
            }
            other => {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "configure() got an unexpected keyword argument '{other}'"
                )));
            }
        }
    }
    Ok(())
}
