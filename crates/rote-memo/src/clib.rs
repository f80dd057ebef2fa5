//! Events from the C library boundary (`rote-interpose`) turned into what a
//! candidate call depends on or did: files read (by `pyarrow.parquet`,
//! `numpy.fromfile`, h5py, ...), directories listed, paths looked for and
//! not found, files written or moved, realtime clock and OS randomness
//! reads, processes and network.
//!
//! The interpreter's own activity is not the call's: files under the
//! interpreter's prefixes (the standard library, site-packages), Python
//! sources and bytecode, shared libraries, rote's cache directory, `/proc`
//! and `/sys` are skipped. The monotonic and CPU clocks are not judged
//! (the runtime reads them to wait for the GIL and to time things).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use rote_interpose::{Event as CEvent, Kind};

use crate::frame::{self, Event};
use crate::runtime;

static EXCLUDED: OnceLock<Vec<PathBuf>> = OnceLock::new();
static TRACING: AtomicBool = AtomicBool::new(false);
static DELIVERED: AtomicU64 = AtomicU64::new(0);

/// One traced event, for tests: kind, function, absolute path, flags,
/// errno, the OS thread it came from, the library that made the call.
pub(crate) type Traced = (
    &'static str,
    String,
    Option<PathBuf>,
    i64,
    i32,
    i64,
    Option<String>,
);

static TRACE: Mutex<Vec<Traced>> = Mutex::new(Vec::new());

thread_local! {
    /// Imports running on this thread (`importlib._bootstrap._find_and_load`
    /// frames, counted through sys.monitoring): their file, listing and
    /// randomness activity is the interpreter's (`import random` seeds its
    /// generator from `getrandom`, the path finder lists `sys.path`).
    static IMPORTING: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

static FIND_AND_LOAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub(crate) fn import_depth(delta: i32) {
    let _ = IMPORTING.try_with(|d| d.set((d.get() + delta).max(0)));
}

/// The unwinding frame is an import's (PY_UNWIND is global; only
/// `_find_and_load` counts).
pub(crate) fn is_find_and_load(code: usize) -> bool {
    code == FIND_AND_LOAD.load(Ordering::Relaxed)
}

pub(crate) fn current_import_depth() -> i32 {
    IMPORTING.try_with(|d| d.get()).unwrap_or(0)
}

/// Whether this thread is inside an import that began after its innermost
/// candidate did (an import that is running a candidate, a module calling
/// its own functions at import time, does not hide that call's activity).
pub(crate) fn importing() -> bool {
    let depth = current_import_depth();
    depth > 0 && frame::top_import_base().is_none_or(|base| depth > base)
}

/// Counts imports: PY_START and PY_RETURN on `_find_and_load` alone, and
/// PY_UNWIND (a global event) for imports that raise.
static TOOL_ID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// Library functions whose system-level doings are diagnostics' (see
/// [`watch_diagnostics`]), by code address.
static DIAGNOSTIC_CODES: Mutex<Vec<usize>> = Mutex::new(Vec::new());

thread_local! {
    /// Calls of [`DIAGNOSTIC_CODES`] running on this thread.
    static IN_DIAGNOSTIC: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// `tqdm` names the lock of its first progress bar at random, with the GIL
/// released (so [`in_diagnostics`] cannot look at the Python stack then):
/// PY_START/PY_RETURN on that one method count it instead. Called for every
/// module imported.
pub(crate) fn watch_diagnostics(module: &pyo3::Bound<'_, pyo3::PyAny>) {
    use pyo3::prelude::*;
    let tool_id = TOOL_ID.load(Ordering::Relaxed);
    if tool_id < 0 {
        return;
    }
    let Ok(name) = module.getattr("__name__") else {
        return;
    };
    if name.extract::<String>().ok().as_deref() != Some("tqdm.std") {
        return;
    }
    let watched = (|| -> PyResult<()> {
        let py = module.py();
        let code = module
            .getattr("TqdmDefaultWriteLock")?
            .getattr("create_mp_lock")?
            .getattr("__func__")?
            .getattr("__code__")?;
        let monitoring = py.import("sys")?.getattr("monitoring")?;
        let events = monitoring.getattr("events")?;
        let local = events.getattr("PY_START")?.extract::<i64>()?
            | events.getattr("PY_RETURN")?.extract::<i64>()?;
        monitoring.call_method1("set_local_events", (tool_id, &code, local))?;
        DIAGNOSTIC_CODES
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(code.as_ptr() as usize);
        Ok(())
    })();
    if let Err(err) = watched {
        tracing::debug!(%err, "tqdm's lock is not watched");
    }
}

/// PY_START (+1), PY_RETURN or PY_UNWIND (-1) of `code`, if it is one of
/// [`DIAGNOSTIC_CODES`]; returns whether it was.
pub(crate) fn diagnostic_call(code: usize, delta: i32) -> bool {
    let known = DIAGNOSTIC_CODES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&code);
    if known {
        let _ = IN_DIAGNOSTIC.try_with(|d| d.set((d.get() + delta).max(0)));
    }
    known
}

fn in_diagnostic_call() -> bool {
    IN_DIAGNOSTIC.try_with(|d| d.get() > 0).unwrap_or(false)
}

pub(crate) fn watch_imports(py: pyo3::Python<'_>, tool_id: i32) -> pyo3::PyResult<()> {
    use pyo3::prelude::*;
    TOOL_ID.store(tool_id, Ordering::Relaxed);
    let monitoring = py.import("sys")?.getattr("monitoring")?;
    let events = monitoring.getattr("events")?;
    let rote = py.import("rote")?;
    let target = py
        .import("importlib._bootstrap")?
        .getattr("_find_and_load")?
        .getattr("__code__")?;
    FIND_AND_LOAD.store(target.as_ptr() as usize, Ordering::Relaxed);
    let start = events.getattr("PY_START")?;
    let ret = events.getattr("PY_RETURN")?;
    let unwind = events.getattr("PY_UNWIND")?;
    monitoring.call_method1(
        "register_callback",
        (tool_id, &start, rote.getattr("_import_start")?),
    )?;
    monitoring.call_method1(
        "register_callback",
        (tool_id, &ret, rote.getattr("_import_end")?),
    )?;
    monitoring.call_method1(
        "register_callback",
        (tool_id, &unwind, rote.getattr("_import_unwind")?),
    )?;
    let local: i64 = start.extract::<i64>()? | ret.extract::<i64>()?;
    monitoring.call_method1("set_local_events", (tool_id, target, local))?;
    monitoring.call_method1("set_events", (tool_id, unwind))?;
    // Reads of the environment through `os.environ` (`getenv`, `get`, `in`,
    // iteration, copies): Python code, so PY_START on the mapping's own
    // methods sees every one, at no cost to any other code.
    let environ = py.import("os")?.getattr("_Environ")?;
    let mut codes = Vec::new();
    for method in ["__getitem__", "__iter__", "__len__", "__repr__"] {
        let code = environ.getattr(method)?.getattr("__code__")?;
        codes.push(code.as_ptr() as usize);
        monitoring.call_method1("set_local_events", (tool_id, code, &start))?;
    }
    let _ = ENVIRON_CODES.set(codes);
    Ok(())
}

/// `os._Environ.__getitem__`, `__iter__`, `__len__`, `__repr__`.
static ENVIRON_CODES: OnceLock<Vec<usize>> = OnceLock::new();

/// Whether reads of `os.environ` are seen one by one.
pub(crate) fn environ_watched() -> bool {
    ENVIRON_CODES.get().is_some()
}

/// PY_START on one of `os.environ`'s methods: a read of the environment, a
/// dependency of the call (the variable, or all of them for an iteration)
/// unless an import or a progress bar made it.
pub(crate) fn environ_read(py: pyo3::Python<'_>, code: usize) {
    use pyo3::prelude::*;
    let Some(codes) = ENVIRON_CODES.get() else {
        return;
    };
    let Some(which) = codes.iter().position(|c| *c == code) else {
        return;
    };
    if !frame::any_active() || importing() || crate::wrapper::in_bookkeeping() || in_diagnostics() {
        return;
    }
    let name = if which == 0 {
        // SAFETY: GIL held; the frame (borrowed) is `__getitem__`'s, just
        // started: its arguments are in place.
        let key = unsafe {
            let f = pyo3::ffi::PyEval_GetFrame();
            if f.is_null() {
                None
            } else {
                pyo3::Bound::from_owned_ptr_or_opt(py, pyo3::ffi::PyFrame_GetLocals(f))
                    .and_then(|locals| locals.get_item("key").ok())
            }
        };
        match key {
            Some(k) => match k.extract::<String>() {
                Ok(s) => s,
                Err(_) => match k.extract::<Vec<u8>>() {
                    Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                    Err(_) => "?".to_owned(),
                },
            },
            None => "?".to_owned(),
        }
    } else {
        "*".to_owned()
    };
    frame::record(Event::Env(name));
}

/// Installs the sink; `excluded` are the interpreter's prefixes.
pub(crate) fn install(excluded: Vec<PathBuf>) -> bool {
    let _ = EXCLUDED.set(excluded);
    let linked = rote_interpose::install(sink);
    refresh(frame::any_active());
    linked
}

/// `ROTE_INTERPOSE=0` leaves the layer silent (for measuring what it costs;
/// never for real use: compiled code's reads then go unseen);
/// `ROTE_INTERPOSE=count` reports every intercepted call, candidate or not,
/// so that bench/clib.py can count the calls the idle path serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    On,
    Off,
    Count,
}

static MODE: OnceLock<Mode> = OnceLock::new();

fn mode() -> Mode {
    *MODE.get_or_init(|| match std::env::var_os("ROTE_INTERPOSE") {
        Some(v) if v == "0" => Mode::Off,
        Some(v) if v == "count" => Mode::Count,
        _ => Mode::On,
    })
}

/// Events delivered while a candidate ran (the rest: count mode).
static DURING_CANDIDATES: AtomicU64 = AtomicU64::new(0);

/// Reporting is on while any candidate runs, or while tracing.
pub(crate) fn refresh(active_frames: bool) {
    let on = match mode() {
        Mode::Off => false,
        Mode::Count => true,
        Mode::On => active_frames || TRACING.load(Ordering::Relaxed),
    };
    rote_interpose::set_active(on);
}

pub(crate) fn trace_start() {
    // Outside `rote run` (python mode) nothing installed the sink yet.
    let _ = EXCLUDED.set(Vec::new());
    rote_interpose::install(sink);
    TRACE.lock().unwrap_or_else(|e| e.into_inner()).clear();
    TRACING.store(true, Ordering::Relaxed);
    refresh(frame::any_active());
}

pub(crate) fn trace_stop() -> Vec<Traced> {
    TRACING.store(false, Ordering::Relaxed);
    refresh(frame::any_active());
    std::mem::take(&mut *TRACE.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Events handed to the sink since start-up.
pub(crate) fn delivered() -> u64 {
    DELIVERED.load(Ordering::Relaxed)
}

/// Of those, the ones that arrived while a candidate ran.
pub(crate) fn delivered_during_candidates() -> u64 {
    DURING_CANDIDATES.load(Ordering::Relaxed)
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Open => "open",
        Kind::Stat => "stat",
        Kind::Opendir => "opendir",
        Kind::Modify => "modify",
        Kind::Clock => "clock",
        Kind::Random => "random",
        Kind::Process => "process",
        Kind::Network => "network",
        Kind::Getpid => "getpid",
        Kind::Getenv => "getenv",
        Kind::Stdin => "stdin",
    }
}

/// Absolute, resolved against the directory descriptor or the current
/// directory at the time; also says whether the current directory counted.
fn absolute(ev: &CEvent<'_>) -> Option<(PathBuf, bool)> {
    let raw = Path::new(OsStr::from_bytes(ev.path?.to_bytes()));
    if raw.is_absolute() {
        return Some((raw.to_path_buf(), false));
    }
    if ev.dirfd == libc::AT_FDCWD {
        let cwd = std::env::current_dir().ok()?;
        return Some((cwd.join(raw), true));
    }
    let dir = std::fs::read_link(format!("/proc/self/fd/{}", ev.dirfd)).ok()?;
    Some((dir.join(raw), false))
}

fn ignored(path: &Path) -> bool {
    if runtime::get().is_some_and(|rt| rt.in_cache_dir(path)) {
        return true;
    }
    if EXCLUDED
        .get()
        .is_some_and(|ex| ex.iter().any(|p| path.starts_with(p)))
    {
        return true;
    }
    if path.starts_with("/proc") || path.starts_with("/sys") {
        return true;
    }
    if path.components().any(|c| c.as_os_str() == "__pycache__") {
        return true;
    }
    let ext = path.extension().and_then(OsStr::to_str).unwrap_or("");
    matches!(ext, "py" | "pyc" | "pyi" | "pth" | "so")
        || path.to_str().is_some_and(|p| p.contains(".so."))
}

fn is_realtime(clock: i64) -> bool {
    matches!(
        clock as libc::clockid_t,
        libc::CLOCK_REALTIME
            | libc::CLOCK_REALTIME_COARSE
            | libc::CLOCK_TAI
            | libc::CLOCK_REALTIME_ALARM
    )
}

/// Made while drawing a progress bar (`tqdm`: its clock reads for rates,
/// the lock it names at random, its monitor thread), creating a log record
/// (`logging` stamps each with the time), or issuing a warning. What they
/// produce reaches the output, which a hit replays, not the value.
pub(crate) fn in_diagnostics() -> bool {
    // SAFETY: PyGILState_Check is safe on any thread.
    if unsafe { pyo3::ffi::PyGILState_Check() } != 1 {
        return false;
    }
    // SAFETY: this thread holds the GIL (checked above).
    let py = unsafe { pyo3::Python::assume_attached() };
    crate::audit::frame_files(py, DIAGNOSTICS_DEPTH)
        .iter()
        .any(|f| {
            f.ends_with("/logging/__init__.py")
                || f.contains("/tqdm/")
                || f.ends_with("/warnings.py")
        })
}

/// How many frames up [`in_diagnostics`] looks (a progress bar's lock is
/// named a few calls below `tqdm`, in `multiprocessing` and `tempfile`).
const DIAGNOSTICS_DEPTH: usize = 12;

/// Made by rote itself or by a language runtime's support library, which
/// reads the wall clock to bound a wait, not to compute a value.
fn by_runtime_support(ev: &CEvent<'_>) -> bool {
    ev.caller_object().is_some_and(|o| {
        o == "rote"
            || o.starts_with("libstdc++")
            || o.starts_with("libgomp")
            || o.starts_with("libomp")
            || o.starts_with("libgcc")
    })
}

fn taint(reason: &str, detail: impl Into<String>) {
    frame::record_from_c(Event::Taint {
        reason: reason.to_owned(),
        detail: detail.into(),
    });
}

fn sink(ev: &CEvent<'_>) {
    DELIVERED.fetch_add(1, Ordering::Relaxed);
    if mode() == Mode::Count {
        if !frame::any_active() {
            return;
        }
        DURING_CANDIDATES.fetch_add(1, Ordering::Relaxed);
    }
    // The monotonic clocks: read constantly by the runtime itself.
    if ev.kind == Kind::Clock && !is_realtime(ev.flags) && !TRACING.load(Ordering::Relaxed) {
        return;
    }
    // Only file events name a path; getenv and exec name a variable or a
    // program.
    let resolved = matches!(
        ev.kind,
        Kind::Open | Kind::Stat | Kind::Opendir | Kind::Modify
    )
    .then(|| absolute(ev))
    .flatten();
    if TRACING.load(Ordering::Relaxed) {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as i64;
        TRACE.lock().unwrap_or_else(|e| e.into_inner()).push((
            kind_name(ev.kind),
            ev.function.to_owned(),
            match &resolved {
                Some((p, _)) => Some(p.clone()),
                // A program or a variable name, as given.
                None => ev
                    .path
                    .map(|p| PathBuf::from(OsStr::from_bytes(p.to_bytes()))),
            },
            ev.flags,
            ev.err,
            tid,
            ev.caller_object(),
        ));
    }
    if !frame::any_active() || importing() || crate::wrapper::in_bookkeeping() {
        return;
    }
    match ev.kind {
        // The wall clock is the program's input (`time.time()`,
        // `datetime.now()`, `np.datetime64("now")`), except where the C++
        // and OpenMP runtimes read it to time a wait (Arrow's thread pool
        // waits on a condition variable through libstdc++), and a log
        // record's timestamp, which reaches the output (replayed), not the
        // value.
        Kind::Clock => {
            if is_realtime(ev.flags) && !by_runtime_support(ev) && !in_diagnostics() {
                taint("reads the clock", ev.function);
            }
        }
        // What an import draws (`import random` seeds itself) is filtered
        // above with the rest of the import's doing.
        // OS randomness from any library (Arrow's `pc.random` seeds from
        // it), except for naming a progress bar's lock.
        Kind::Random if !in_diagnostic_call() => taint("reads randomness", ev.function),
        Kind::Random => {}
        Kind::Process => taint("starts a process", ev.function),
        Kind::Network => taint("network", ev.function),
        Kind::Getpid => {}
        // Compiled code reading a variable (`TZ` for local time, a
        // library's switches): a dependency, as for `os.environ`.
        Kind::Getenv => {
            if let Some(name) = ev.path.and_then(|p| p.to_str().ok()) {
                if !name.is_empty() {
                    frame::record_from_c(Event::Env(name.to_owned()));
                }
            }
        }
        Kind::Stdin => taint("reads stdin", ev.function),
        Kind::Open | Kind::Stat | Kind::Opendir | Kind::Modify => {
            let Some((path, via_cwd)) = resolved else {
                return;
            };
            if path == Path::new("/dev/urandom") || path == Path::new("/dev/random") {
                taint("reads randomness", path.display().to_string());
                return;
            }
            if path.starts_with("/dev") || ignored(&path) {
                return;
            }
            if via_cwd {
                if let Ok(cwd) = std::env::current_dir() {
                    frame::record_from_c(Event::Cwd(cwd));
                }
            }
            // The interpreter's own opens for writing, removals and renames
            // come with an audit event that says more (both paths of a
            // rename): that one counts.
            let by_python = || {
                ev.caller_object()
                    .is_some_and(|o| o.starts_with("libpython"))
            };
            match ev.kind {
                Kind::Open => {
                    let access = crate::audit::access(None, ev.flags);
                    if access != crate::audit::Access::Read && by_python() {
                        return;
                    }
                    frame::record_from_c(crate::audit::open_event(path, access));
                }
                Kind::Stat if ev.err == 0 => frame::record_from_c(Event::Stat(path)),
                Kind::Stat => {
                    if ev.err == libc::ENOENT || ev.err == libc::ENOTDIR {
                        frame::record_from_c(Event::Missing(path));
                    }
                }
                Kind::Opendir => frame::record_from_c(Event::Listing(path)),
                _ if by_python() => {}
                _ => match ev.function {
                    "unlink" | "unlinkat" => frame::record_from_c(Event::Removed(path)),
                    "mkdir" | "mkdirat" => frame::record_from_c(Event::Mkdir(path)),
                    _ => taint("modifies files", path.display().to_string()),
                },
            }
        }
    }
}
