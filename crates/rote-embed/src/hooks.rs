//! The process-wide observation points, installed before user code runs.
//!
//! The audit hook must be added before `Py_InitializeFromConfig` so that it
//! sees everything; the sys.monitoring tool id is claimed right after start-up
//! so no user code can take it first. Audit events go to the memoization
//! layer (`rote_memo::on_audit`), which ignores them unless a candidate call
//! is running.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicI32, Ordering};

use pyo3::ffi::PyObject;
use pyo3::prelude::*;

type AuditHook = unsafe extern "C" fn(*const c_char, *mut PyObject, *mut c_void) -> c_int;

unsafe extern "C" {
    // Not declared by pyo3-ffi; part of the stable C API since 3.8 and safe
    // to call before the interpreter starts.
    fn PySys_AddAuditHook(hook: AuditHook, user_data: *mut c_void) -> c_int;
}

/// Tool ids taken by others: 0 debugger, 1 coverage, 2 profiler (cProfile),
/// 5 optimizer. rote asks for 4, then 3.
const TOOL_IDS: [i32; 2] = [4, 3];

static TOOL_ID: AtomicI32 = AtomicI32::new(-1);

unsafe extern "C" fn audit_hook(
    event: *const c_char,
    args: *mut PyObject,
    _user: *mut c_void,
) -> c_int {
    // SAFETY: CPython passes a NUL-terminated event name and the argument
    // tuple, both valid for the call, with the GIL held.
    unsafe { rote_memo::on_audit(std::ffi::CStr::from_ptr(event), args) };
    0
}

pub(crate) fn install_audit_hook() {
    // SAFETY: called once, before start-up, with a hook that never fails.
    let rc = unsafe { PySys_AddAuditHook(audit_hook, std::ptr::null_mut()) };
    if rc != 0 {
        tracing::warn!("PySys_AddAuditHook failed with {rc}");
    }
}

/// Claims a sys.monitoring tool id named "rote".
pub(crate) fn claim_tool_id(py: Python<'_>) -> PyResult<i32> {
    let monitoring = py.import("sys")?.getattr("monitoring")?;
    for id in TOOL_IDS {
        if monitoring.call_method1("get_tool", (id,))?.is_none() {
            monitoring.call_method1("use_tool_id", (id, "rote"))?;
            TOOL_ID.store(id, Ordering::Relaxed);
            return Ok(id);
        }
    }
    Err(pyo3::exceptions::PyRuntimeError::new_err(
        "rote: no free sys.monitoring tool id",
    ))
}

/// The claimed sys.monitoring tool id, or -1 before start-up.
pub fn tool_id() -> i32 {
    TOOL_ID.load(Ordering::Relaxed)
}
