//! Running the user's script, module, directory or zip as `__main__`, the way
//! CPython's own `pymain_run_python` does (Modules/main.c), step for step:
//! the same `sys.path[0]`, the same `__main__` attributes, the same error
//! messages and exit statuses, no extra frames in tracebacks.

use std::ffi::{CString, OsStr, OsString, c_char, c_int};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// What `rote run` executes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A script file, a directory or a zip file with `__main__.py`, as given.
    Path(OsString),
    /// A module name, like `python -m`.
    Module(OsString),
}

/// How the run ended; [`Exit::exit`] ends the process accordingly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// An uncaught `KeyboardInterrupt`: python re-raises SIGINT on itself so
    /// the shell sees death by signal.
    Sigint,
}

impl Exit {
    pub fn exit(self) -> ! {
        match self {
            Exit::Code(code) => std::process::exit(code),
            Exit::Sigint => {
                // SAFETY: plain libc calls; the interpreter is finalized.
                unsafe {
                    libc::signal(libc::SIGINT, libc::SIG_DFL);
                    libc::kill(libc::getpid(), libc::SIGINT);
                }
                std::process::exit(130)
            }
        }
    }
}

unsafe extern "C" {
    // Variadic, so pyo3-ffi leaves it out.
    fn PySys_Audit(event: *const c_char, format: *const c_char, ...) -> c_int;
    fn PyImport_GetImporter(path: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

const PY_FILE_INPUT: c_int = 257;

/// The outcome of running `__main__`, before finalization.
pub(crate) struct Ran {
    pub code: i32,
    pub keyboard_interrupt: bool,
}

impl Ran {
    fn ok() -> Ran {
        Ran {
            code: 0,
            keyboard_interrupt: false,
        }
    }
}

/// `program_name` prefixes python's own messages ("rote: can't open file").
pub(crate) fn run_main(py: Python<'_>, target: &Target, program_name: &OsStr) -> Ran {
    match run_main_inner(py, target, program_name) {
        Ok(ran) => ran,
        Err(err) => {
            // A failure of the machinery itself (not of user code).
            err.restore(py);
            print_error()
        }
    }
}

fn run_main_inner(py: Python<'_>, target: &Target, program_name: &OsStr) -> PyResult<Ran> {
    let safe_path: bool = py
        .import("sys")?
        .getattr("flags")?
        .getattr("safe_path")?
        .extract()?;
    match target {
        Target::Module(name) => {
            if !safe_path {
                let cwd = std::env::current_dir().map_err(PyErr::from)?;
                insert_path0(py, cwd.as_os_str())?;
            }
            run_module(py, name, true)
        }
        Target::Path(given) => {
            let abs = abspath(given);
            let abs_str = pystr(py, &abs)?;
            if let Some(_importer) = importer(py, &abs_str)? {
                insert_path0(py, &abs)?;
                return run_module(py, OsStr::new("__main__"), false);
            }
            if !safe_path {
                insert_path0(py, &script_dir(given))?;
            }
            run_file(py, &abs, &abs_str, program_name)
        }
    }
}

/// `_Py_abspath`: the current directory joined as text, without normalizing
/// `.` or `..` (python shows `/cwd/./x.py` for `./x.py`).
fn abspath(given: &OsStr) -> OsString {
    if given.as_bytes().starts_with(b"/") {
        return given.to_owned();
    }
    let mut out = std::env::current_dir()
        .map(|p| p.into_os_string().into_vec())
        .unwrap_or_default();
    out.push(b'/');
    out.extend_from_slice(given.as_bytes());
    OsString::from_vec(out)
}

/// `_PyPathConfig_ComputeSysPath0` for a script: the directory of its real
/// path (symlinks resolved), or "" when it cannot be resolved.
fn script_dir(given: &OsStr) -> OsString {
    let real = std::fs::canonicalize(given)
        .map(|p| p.into_os_string())
        .unwrap_or_else(|_| given.to_owned());
    let bytes = real.as_bytes();
    match bytes.iter().rposition(|&b| b == b'/') {
        Some(0) => OsString::from("/"),
        Some(i) => OsString::from_vec(bytes[..i].to_vec()),
        None => OsString::new(),
    }
}

fn insert_path0(py: Python<'_>, path0: &OsStr) -> PyResult<()> {
    let path = py.import("sys")?.getattr("path")?;
    path.cast_into::<PyList>()?.insert(0, path0)
}

/// `PyImport_GetImporter`: a directory or zip file gives an importer, a plain
/// file does not.
fn importer<'py>(
    py: Python<'py>,
    path: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    // SAFETY: valid object pointer; the result is a new reference or NULL.
    let obj = unsafe { Bound::from_owned_ptr_or_err(py, PyImport_GetImporter(path.as_ptr()))? };
    Ok(if obj.is_none() { None } else { Some(obj) })
}

/// File-system encoding with surrogateescape, as CPython decodes argv.
fn pystr<'py>(py: Python<'py>, s: &OsStr) -> PyResult<Bound<'py, PyString>> {
    Ok(s.into_pyobject(py)?.cast_into::<PyString>()?)
}

fn audit(event: &std::ffi::CStr, arg: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: "O" takes one borrowed object pointer.
    let rc = unsafe { PySys_Audit(event.as_ptr(), c"O".as_ptr(), arg.as_ptr()) };
    if rc < 0 {
        Err(PyErr::fetch(arg.py()))
    } else {
        Ok(())
    }
}

/// `pymain_run_module` → `runpy._run_module_as_main(name, set_argv0)`.
fn run_module(py: Python<'_>, name: &OsStr, set_argv0: bool) -> PyResult<Ran> {
    let name = pystr(py, name)?;
    if let Err(err) = audit(c"cpython.run_module", name.as_any()) {
        err.restore(py);
        return Ok(print_error());
    }
    let runpy = match py.import("runpy") {
        Ok(m) => m,
        Err(err) => {
            eprintln!("Could not import runpy module");
            err.restore(py);
            return Ok(print_error());
        }
    };
    match runpy
        .getattr("_run_module_as_main")?
        .call1((name, set_argv0))
    {
        Ok(_) => Ok(Ran::ok()),
        Err(err) => {
            err.restore(py);
            Ok(print_error())
        }
    }
}

/// Reports the pending exception like python's top level: `PyErr_Print`
/// (which itself exits the process for `SystemExit`, running finalization).
fn print_error() -> Ran {
    // SAFETY: an exception is set; the GIL is held.
    unsafe {
        let keyboard_interrupt = ffi::PyErr_Occurred() == ffi::PyExc_KeyboardInterrupt;
        ffi::PyErr_Print();
        Ran {
            code: 1,
            keyboard_interrupt,
        }
    }
}

/// `pymain_run_file` + `_PyRun_SimpleFileObject`.
fn run_file(
    py: Python<'_>,
    abs: &OsStr,
    abs_str: &Bound<'_, PyString>,
    program_name: &OsStr,
) -> PyResult<Ran> {
    if let Err(err) = audit(c"cpython.run_file", abs_str.as_any()) {
        err.restore(py);
        return Ok(print_error());
    }
    let c_abs = CString::new(abs.as_bytes())
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    // SAFETY: fopen with a NUL-terminated path; "e" is O_CLOEXEC as CPython's _Py_fopen_obj.
    let fp = unsafe { libc::fopen(c_abs.as_ptr(), c"rbe".as_ptr()) };
    if fp.is_null() {
        let err = std::io::Error::last_os_error();
        let errno = err.raw_os_error().unwrap_or(0);
        let reason = strerror(errno);
        let msg = format!(
            "{}: can't open file {}: [Errno {errno}] {reason}\n",
            program_name.to_string_lossy(),
            abs_str.repr()?
        );
        write_stderr(py, &msg);
        return Ok(Ran {
            code: 2,
            keyboard_interrupt: false,
        });
    }
    // SAFETY: fp is a valid FILE*; fstat on its descriptor.
    let is_dir = unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        libc::fstat(libc::fileno(fp), &mut st) == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFDIR
    };
    if is_dir {
        let msg = format!(
            "{}: {} is a directory, cannot continue\n",
            program_name.to_string_lossy(),
            abs_str.repr()?
        );
        write_stderr(py, &msg);
        // SAFETY: fp is ours to close.
        unsafe { libc::fclose(fp) };
        return Ok(Ran {
            code: 1,
            keyboard_interrupt: false,
        });
    }
    // SAFETY: runs pending calls (signal handlers) as pymain_run_file does.
    if unsafe { ffi::Py_MakePendingCalls() } == -1 {
        unsafe { libc::fclose(fp) };
        return Ok(print_error());
    }

    let main = py.import("__main__")?;
    let globals = main.dict();
    let set_file_name = !globals.contains("__file__")?;
    if set_file_name {
        globals.set_item("__file__", abs_str)?;
        globals.set_item("__cached__", py.None())?;
    }
    set_main_loader(py, &globals, abs_str)?;

    let mut flags = ffi::PyCompilerFlags {
        cf_flags: 0,
        cf_feature_version: minor_version(),
    };
    // Under memoization the script runs as rewritten code (its functions
    // wrapped); when it cannot be rewritten it runs as python would run it.
    let result = match rote_memo::load_main(abs_str, abs) {
        // SAFETY: fp is ours to close; code and globals are valid objects.
        Some(code) => unsafe {
            libc::fclose(fp);
            ffi::PyEval_EvalCode(code.as_ptr(), globals.as_ptr(), globals.as_ptr())
        },
        // SAFETY: fp is closed by PyRun_FileExFlags (closeit = 1); globals is a dict.
        None => unsafe {
            ffi::PyRun_FileExFlags(
                fp,
                c_abs.as_ptr(),
                PY_FILE_INPUT,
                globals.as_ptr(),
                globals.as_ptr(),
                1,
                &mut flags,
            )
        },
    };
    flush_io();
    let ran = if result.is_null() {
        print_error()
    } else {
        // SAFETY: a new reference we own.
        unsafe { ffi::Py_DECREF(result) };
        Ran::ok()
    };
    if set_file_name {
        let _ = globals.del_item("__file__");
        let _ = globals.del_item("__cached__");
    }
    Ok(ran)
}

fn set_main_loader(
    py: Python<'_>,
    globals: &Bound<'_, PyDict>,
    abs: &Bound<'_, PyString>,
) -> PyResult<()> {
    let external = py.import("_frozen_importlib_external")?;
    let loader = external
        .getattr("SourceFileLoader")?
        .call1(("__main__", abs))?;
    globals.set_item("__loader__", loader)
}

/// `flush_io`: flush sys.stderr then sys.stdout, ignoring errors, keeping
/// any pending exception.
fn flush_io() {
    // SAFETY: the GIL is held; the raised exception is taken and put back.
    unsafe {
        let exc = ffi::PyErr_GetRaisedException();
        for name in [c"stderr", c"stdout"] {
            let f = ffi::PySys_GetObject(name.as_ptr());
            if !f.is_null() && f != ffi::Py_None() {
                let r = ffi::PyObject_CallMethod(f, c"flush".as_ptr(), std::ptr::null());
                if r.is_null() {
                    ffi::PyErr_Clear();
                } else {
                    ffi::Py_DECREF(r);
                }
            }
        }
        ffi::PyErr_SetRaisedException(exc);
    }
}

/// Writes to `sys.stderr` (or fd 2 when there is none), as PySys_FormatStderr.
fn write_stderr(py: Python<'_>, msg: &str) {
    let written = py
        .import("sys")
        .and_then(|sys| sys.getattr("stderr"))
        .and_then(|err| err.call_method1("write", (msg,)));
    if written.is_err() {
        eprint!("{msg}");
    }
}

fn strerror(errno: i32) -> String {
    // SAFETY: strerror returns a valid C string for any errno.
    unsafe {
        std::ffi::CStr::from_ptr(libc::strerror(errno))
            .to_string_lossy()
            .into_owned()
    }
}

fn minor_version() -> c_int {
    env!("ROTE_PY_BUILD_VERSION")
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(12)
}
