//! Start-up and shut-down of the one interpreter of this process.
//!
//! Python is started through `PyConfig` exactly as `python` starts itself
//! (signal handlers, stdio set-up, `PYTHON*` variables honoured), not through
//! pyo3's auto-initialize, which installs no signal handlers and never
//! finalizes. After start-up the GIL is released so other threads can take it;
//! every entry into Python goes through [`Interpreter::attach`].

use std::ffi::{CString, OsStr, OsString, c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;

use crate::EmbedError;

static STARTED: AtomicBool = AtomicBool::new(false);

/// How to start the interpreter.
pub(crate) struct StartOptions<'a> {
    /// Handed to `PyConfig.executable`: the venv's python (or the base one),
    /// from which CPython derives `sys.prefix` and `sys.path`.
    pub executable: &'a Path,
    /// `PyConfig.argv`. With `parse_argv`, the full command line (options
    /// included), otherwise exactly `sys.argv`.
    pub argv: &'a [OsString],
    /// The real command line for `sys.orig_argv` (ignored with `parse_argv`,
    /// where CPython takes it from `argv`).
    pub orig_argv: &'a [OsString],
    pub parse_argv: bool,
    /// What `sys.executable` is rebound to before user code runs: rote itself,
    /// so that multiprocessing and subprocess children are rote too.
    pub sys_executable: &'a Path,
}

/// The handle of the running interpreter; there is at most one per process.
pub struct Interpreter {
    tstate: *mut ffi::PyThreadState,
}

fn cstring(s: &OsStr) -> Result<CString, EmbedError> {
    CString::new(s.as_bytes()).map_err(|_| EmbedError::Nul(s.to_owned()))
}

unsafe fn check(status: ffi::PyStatus) {
    // SAFETY: the caller passes a status returned by a PyConfig function.
    unsafe {
        if ffi::PyStatus_Exception(status) != 0 {
            // Prints CPython's own message and exits as python would.
            ffi::Py_ExitStatusException(status);
        }
    }
}

impl Interpreter {
    pub(crate) fn start(opts: &StartOptions<'_>) -> Result<Interpreter, EmbedError> {
        if STARTED.swap(true, Ordering::SeqCst) {
            return Err(EmbedError::AlreadyStarted);
        }
        let executable = cstring(opts.executable.as_os_str())?;
        let argv: Vec<CString> = opts
            .argv
            .iter()
            .map(|a| cstring(a))
            .collect::<Result<_, _>>()?;
        let mut argv_ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        let orig: Vec<CString> = opts
            .orig_argv
            .iter()
            .map(|a| cstring(a))
            .collect::<Result<_, _>>()?;

        restore_default_fault_signals();
        // Pre-initialize first: it picks the memory allocators (PYTHONMALLOC,
        // -X dev), and the audit hook entry must come from the allocator that
        // frees it at finalization.
        // SAFETY: PyPreConfig protocol; argv outlives the call.
        unsafe {
            let mut pre = std::mem::MaybeUninit::<ffi::PyPreConfig>::uninit();
            ffi::PyPreConfig_InitPythonConfig(pre.as_mut_ptr());
            let mut pre = pre.assume_init();
            pre.parse_argv = c_int::from(opts.parse_argv);
            let mut args: Vec<*mut c_char> = argv_ptrs.iter().map(|p| p.cast_mut()).collect();
            check(ffi::Py_PreInitializeFromBytesArgs(
                &pre,
                args.len() as ffi::Py_ssize_t,
                args.as_mut_ptr(),
            ));
        }
        crate::hooks::install_audit_hook();
        crate::module::register();

        // SAFETY: the PyConfig protocol as documented: init, set, initialize,
        // clear; all pointers outlive the calls that read them.
        unsafe {
            let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::uninit();
            ffi::PyConfig_InitPythonConfig(config.as_mut_ptr());
            let mut config = config.assume_init();
            config.parse_argv = c_int::from(opts.parse_argv);
            config.install_signal_handlers = 1;
            let cfg: *mut ffi::PyConfig = &mut config;
            check(ffi::PyConfig_SetBytesString(
                cfg,
                &mut (*cfg).executable,
                executable.as_ptr(),
            ));
            check(ffi::PyConfig_SetBytesArgv(
                cfg,
                argv_ptrs.len() as ffi::Py_ssize_t,
                argv_ptrs.as_mut_ptr(),
            ));
            if !opts.parse_argv && !orig.is_empty() {
                // SetBytesArgv pre-initialized Python, so Py_DecodeLocale is usable.
                let wide: Vec<*mut libc::wchar_t> = orig
                    .iter()
                    .map(|a| ffi::Py_DecodeLocale(a.as_ptr(), std::ptr::null_mut()))
                    .collect();
                if wide.iter().all(|w| !w.is_null()) {
                    check(ffi::PyConfig_SetWideStringList(
                        cfg,
                        &mut (*cfg).orig_argv,
                        wide.len() as ffi::Py_ssize_t,
                        wide.as_ptr() as *mut *mut libc::wchar_t,
                    ));
                }
                for w in wide.into_iter().filter(|w| !w.is_null()) {
                    ffi::PyMem_RawFree(w.cast());
                }
            }
            let status = ffi::Py_InitializeFromConfig(cfg);
            ffi::PyConfig_Clear(cfg);
            check(status);
        }

        // SAFETY: start-up succeeded and this thread holds the GIL.
        let tstate = unsafe { ffi::PyEval_SaveThread() };
        let interp = Interpreter { tstate };
        interp
            .attach(|py| after_start(py, opts.sys_executable))
            .map_err(EmbedError::Startup)?;
        Ok(interp)
    }

    /// Runs `f` with the GIL held.
    pub fn attach<R>(&self, f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
        Python::attach(f)
    }

    /// Runs `python`'s own main (for `rote -c ...` and friends), which
    /// finalizes the interpreter; returns its exit status.
    pub(crate) fn run_python_main(self) -> i32 {
        // SAFETY: re-acquire the main thread state saved at start-up.
        unsafe {
            ffi::PyEval_RestoreThread(self.tstate);
            ffi::Py_RunMain()
        }
    }

    /// `Py_FinalizeEx`: runs atexit handlers, joins non-daemon threads and
    /// flushes stdio. Returns 120 when finalization fails, as python does.
    pub(crate) fn finalize(self) -> i32 {
        // SAFETY: re-acquire the main thread state saved at start-up; no
        // Python object outlives this call.
        unsafe {
            ffi::PyEval_RestoreThread(self.tstate);
            if ffi::Py_FinalizeEx() < 0 { 120 } else { 0 }
        }
    }
}

/// Rust's runtime installs SIGSEGV/SIGBUS handlers to report stack
/// overflows; python leaves both at their defaults, and user code can see the
/// difference (`signal.getsignal`, faulthandler chaining).
fn restore_default_fault_signals() {
    // SAFETY: resetting dispositions before any other thread exists.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

/// What every rote process does between start-up and user code.
fn after_start(py: Python<'_>, sys_executable: &Path) -> PyResult<()> {
    let sys = py.import("sys")?;
    sys.setattr("executable", sys_executable.as_os_str())?;
    let id = crate::hooks::claim_tool_id(py)?;
    tracing::debug!(tool_id = id, "interpreter started");
    Ok(())
}
