//! The process-wide observation points, installed before user code runs.
//!
//! The audit hook must be added before `Py_InitializeFromConfig` so that it
//! sees everything; the sys.monitoring tool id is claimed right after start-up
//! so no user code can take it first. Neither carries a policy yet: the
//! memoization and purity layers attach theirs to these two points.

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
    _event: *const c_char,
    _args: *mut PyObject,
    _user: *mut c_void,
) -> c_int {
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
