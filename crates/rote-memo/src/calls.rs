//! Calls from project code to the standard library's nondeterministic
//! functions that no other source shows: the monotonic and CPU clocks
//! (`time.perf_counter`, `monotonic`, `process_time`, ...) and the process
//! id (`os.getpid`). The C layer sees their clock reads too, but cannot tell
//! them from the interpreter's own (waits for the GIL, `time.sleep`), and
//! there is no audit event for them.
//!
//! sys.monitoring CALL events are enabled only on the project's code objects
//! that name one of these functions, directly or through a module-level
//! alias (`from time import perf_counter as timer`), never globally. A call
//! site whose callee is something else is disabled after its first event, so
//! a hot loop in such a function pays one event per call site, not per call.
//! Not seen: a clock reached through a call site that first called
//! something else (a variable holding different callables in turn), or
//! through `getattr` with a computed name.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::frame::{self, Event};

/// The names that put a code object under watch.
const NAMES: &[&str] = &[
    "perf_counter",
    "perf_counter_ns",
    "monotonic",
    "monotonic_ns",
    "process_time",
    "process_time_ns",
    "thread_time",
    "thread_time_ns",
    "clock_gettime",
    "clock_gettime_ns",
    "default_timer",
    "getpid",
    "getppid",
    "times",
    "getrusage",
];

/// The functions themselves: `(module, name)`.
const FUNCTIONS: &[(&str, &str)] = &[
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "process_time"),
    ("time", "process_time_ns"),
    ("time", "thread_time"),
    ("time", "thread_time_ns"),
    ("time", "clock_gettime"),
    ("time", "clock_gettime_ns"),
    ("os", "getpid"),
    ("os", "getppid"),
    ("os", "times"),
    ("resource", "getrusage"),
];

struct Watch {
    tool_id: i32,
    call_event: i64,
    disable: Py<PyAny>,
}

static WATCH: OnceLock<Watch> = OnceLock::new();

/// Addresses of the impure functions and their names, resolved on first use;
/// and whether `resource` was among them (it counts only once something
/// imported it, so until then each lookup checks for it).
static IMPURE: Mutex<(Vec<ImpureFn>, bool)> = Mutex::new((Vec::new(), false));

/// An impure function's address, module and name.
type ImpureFn = (usize, &'static str, &'static str);

/// Registers the CALL callback; code objects opt in through [`watch`].
pub(crate) fn install(py: Python<'_>, tool_id: i32) -> PyResult<()> {
    let monitoring = py.import("sys")?.getattr("monitoring")?;
    let call = monitoring.getattr("events")?.getattr("CALL")?;
    monitoring.call_method1(
        "register_callback",
        (tool_id, &call, py.import("rote")?.getattr("_call_event")?),
    )?;
    let _ = WATCH.set(Watch {
        tool_id,
        call_event: call.extract()?,
        disable: monitoring.getattr("DISABLE")?.unbind(),
    });
    Ok(())
}

/// Puts the code objects in `module_code` (the module's, and every function
/// and class body nested in it) that name an impure function under watch.
pub(crate) fn watch(module_code: &Bound<'_, PyAny>) -> PyResult<()> {
    let Some(w) = WATCH.get() else {
        return Ok(());
    };
    let py = module_code.py();
    let mut names: HashSet<String> = NAMES.iter().map(|s| (*s).to_owned()).collect();
    if names_any(module_code, &names)? {
        aliases(module_code, &mut names)?;
    }
    let monitoring = py.import("sys")?.getattr("monitoring")?;
    let code_type = py.import("types")?.getattr("CodeType")?;
    let mut stack = vec![module_code.clone()];
    while let Some(code) = stack.pop() {
        for c in code.getattr("co_consts")?.cast_into::<PyTuple>()?.iter() {
            if c.is_instance(&code_type)? {
                stack.push(c);
            }
        }
        if names_any(&code, &names)? {
            monitoring.call_method1("set_local_events", (w.tool_id, &code, w.call_event))?;
        }
    }
    Ok(())
}

fn names_any(code: &Bound<'_, PyAny>, names: &HashSet<String>) -> PyResult<bool> {
    for n in code.getattr("co_names")?.cast_into::<PyTuple>()?.iter() {
        if names.contains(&*n.cast_into::<PyString>()?.to_cow()?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Module-level names bound to one of the functions: the target of a store
/// right after the function's name was imported or looked up.
fn aliases(module_code: &Bound<'_, PyAny>, names: &mut HashSet<String>) -> PyResult<()> {
    let py = module_code.py();
    let instructions = py
        .import("dis")?
        .call_method1("get_instructions", (module_code,))?;
    let mut previous: Option<String> = None;
    for ins in instructions.try_iter()? {
        let ins = ins?;
        let op: String = ins.getattr("opname")?.extract()?;
        let arg = ins.getattr("argval")?;
        let arg = arg.extract::<String>().ok();
        if matches!(op.as_str(), "STORE_NAME" | "STORE_GLOBAL") {
            if let (Some(prev), Some(target)) = (&previous, &arg) {
                if NAMES.contains(&prev.as_str()) {
                    names.insert(target.clone());
                }
            }
        }
        previous = match op.as_str() {
            "IMPORT_FROM" | "LOAD_ATTR" | "LOAD_NAME" | "LOAD_GLOBAL" => arg,
            _ => None,
        };
    }
    Ok(())
}

/// `module.name` when `callable` is one of the impure functions.
pub(crate) fn impure_name(py: Python<'_>, callable: usize) -> Option<String> {
    let mut guard = IMPURE.lock().unwrap_or_else(|e| e.into_inner());
    let (table, complete) = &mut *guard;
    if table.is_empty() || !*complete {
        let modules = py.import("sys").and_then(|s| s.getattr("modules")).ok()?;
        let with_resource = modules.contains("resource").unwrap_or(false);
        if table.is_empty() || with_resource {
            table.clear();
            for (module, name) in FUNCTIONS {
                if let Ok(f) = modules.get_item(*module).and_then(|m| m.getattr(*name)) {
                    table.push((f.as_ptr() as usize, *module, *name));
                }
            }
            *complete = with_resource;
        }
    }
    table
        .iter()
        .find(|(addr, ..)| *addr == callable)
        .map(|(_, m, n)| format!("{m}.{n}"))
}

/// The CALL callback: a call of an impure function during a candidate
/// taints it; a call site of anything else is disabled.
#[pyfunction]
pub fn _call_event(
    py: Python<'_>,
    _code: &Bound<'_, PyAny>,
    _offset: i64,
    callable: &Bound<'_, PyAny>,
    _arg0: &Bound<'_, PyAny>,
) -> Option<Py<PyAny>> {
    // Outside candidates nothing is decided: the site stays watched for
    // when one runs.
    if !frame::any_active() || crate::clib::importing() || crate::wrapper::in_bookkeeping() {
        return None;
    }
    match impure_name(py, callable.as_ptr() as usize) {
        Some(name) => {
            frame::record(Event::Taint {
                reason: format!("calls impure stdlib: {name}"),
                detail: String::new(),
            });
            None
        }
        None => WATCH.get().map(|w| w.disable.clone_ref(py)),
    }
}
