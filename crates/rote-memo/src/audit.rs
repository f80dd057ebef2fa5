//! Audit events (PEP 578) seen while a candidate call runs on this thread:
//! files opened for reading and directories listed become dependencies;
//! writes, processes, network, directory and environment changes and new
//! threads make the call impure (not stored). The interpreter's own imports
//! are not the call's doing and are skipped.

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::frame::{self, Event};
use crate::runtime;

/// Called by rote's audit hook for every event, with the GIL held.
///
/// # Safety
/// `args` must be the event's argument tuple, valid for the call.
pub unsafe fn on_audit(event: &CStr, args: *mut ffi::PyObject) {
    // What a module does while it is imported (numpy sets environment
    // variables, reads its config) is the import's doing, not the call's.
    if !frame::any_active() || crate::clib::importing() || crate::wrapper::in_bookkeeping() {
        return;
    }
    // SAFETY: audit hooks run with the GIL held.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: a borrowed reference valid for the duration of the hook.
    let Ok(args) = (unsafe { Bound::from_borrowed_ptr(py, args) }).cast_into::<PyTuple>() else {
        return;
    };
    let event = event.to_bytes();
    if let Err(err) = handle(py, event, &args) {
        // Never let bookkeeping break the user's code; be safe instead.
        tracing::debug!(%err, event = %String::from_utf8_lossy(event), "audit event not understood");
        taint("unknown event", String::from_utf8_lossy(event).into_owned());
    }
}

fn taint(reason: &str, detail: String) {
    frame::record(Event::Taint {
        reason: reason.to_owned(),
        detail,
    });
}

/// A file operation on rote's own cache directory (its compiled-code
/// cache), which is not the call's doing.
fn rote_owns(args: &Bound<'_, PyTuple>) -> bool {
    let Some(rt) = runtime::get() else {
        return false;
    };
    args.get_item(0)
        .ok()
        .and_then(|p| fspath(&p).ok())
        .is_some_and(|p| rt.in_cache_dir(&absolute(p).0))
}

fn impure(event: &[u8]) -> Option<&'static str> {
    let reason = match event {
        b"subprocess.Popen" | b"os.system" | b"os.exec" | b"os.posix_spawn" | b"os.spawn"
        | b"os.fork" | b"os.forkpty" | b"pty.spawn" | b"os.startfile" => "starts a process",
        b"os.chdir" | b"os.fchdir" => "changes directory",
        b"os.putenv" | b"os.unsetenv" => "changes environment",
        b"os.remove"
        | b"os.rename"
        | b"os.rmdir"
        | b"os.mkdir"
        | b"os.truncate"
        | b"os.chmod"
        | b"os.chown"
        | b"os.link"
        | b"os.symlink"
        | b"os.utime"
        | b"os.setxattr"
        | b"os.removexattr"
        // (`shutil.copyfile` and `shutil.move` are judged by what they do:
        // an open for reading and one for writing, a rename or a removal.)
        | b"shutil.copymode"
        | b"shutil.copystat"
        | b"shutil.copytree"
        | b"shutil.rmtree"
        | b"shutil.make_archive"
        | b"shutil.unpack_archive" => "modifies files",
        b"sqlite3.connect" => "opens a database",
        b"ctypes.dlopen" | b"ctypes.call_function" => "calls C code through ctypes",
        b"webbrowser.open" => "opens a browser",
        _ if event.starts_with(b"socket.") => "network",
        _ if event.starts_with(b"urllib.") || event.starts_with(b"http.") => "network",
        _ if event.starts_with(b"ftplib.")
            || event.starts_with(b"smtplib.")
            || event.starts_with(b"poplib.")
            || event.starts_with(b"imaplib.")
            || event.starts_with(b"telnetlib.")
            || event.starts_with(b"nntplib.") =>
        {
            "network"
        }
        _ => return None,
    };
    Some(reason)
}

fn handle(py: Python<'_>, event: &[u8], args: &Bound<'_, PyTuple>) -> PyResult<()> {
    match event {
        b"open" => on_open(py, args),
        b"os.listdir" | b"os.scandir" => {
            let target = args.get_item(0)?;
            if by_import(py) {
                return Ok(());
            }
            if target.is_none() {
                return record_listing(PathBuf::from("."));
            }
            if target.is_instance_of::<pyo3::types::PyInt>() {
                taint("lists a directory descriptor", "os.scandir(fd)".into());
                return Ok(());
            }
            record_listing(fspath(&target)?)
        }
        // What the interpreter compiles and runs for an import is the
        // import's; `ast.parse` compiles to a tree and runs nothing.
        b"exec" if !by_import(py) => {
            taint("runs dynamic code", "exec".into());
            Ok(())
        }
        b"compile" if !by_import(py) && !in_file(py, "/ast.py") => {
            taint("runs dynamic code", "compile".into());
            Ok(())
        }
        // A call may remove or rename what it wrote itself (a temp file, a
        // write-then-rename), and make the directories its outputs go to.
        b"os.remove" | b"os.rename" | b"os.mkdir" if !by_import(py) => on_modify(event, args),
        b"builtins.input" => {
            taint("reads input", "input()".into());
            Ok(())
        }
        // A thread counts by whether it is still running when the call that
        // started it returns (wrapper.rs): a hit would not start it. A
        // progress bar's monitor thread (it outlives the bar, and only
        // redraws it) does not count. (3.13 starts `threading` threads
        // through `start_joinable_thread`.)
        b"_thread.start_new_thread" | b"_thread.start_joinable_thread" => {
            if crate::clib::in_diagnostics() {
                return Ok(());
            }
            // `Thread.start` hands over its bound `_bootstrap`.
            let thread = args
                .get_item(0)?
                .getattr("__self__")
                .ok()
                .filter(|t| t.hasattr("is_alive").unwrap_or(false));
            match thread {
                Some(t) => {
                    frame::with_top(|f| f.threads_started.push(t.unbind()));
                }
                None => taint("starts a thread", "_thread.start_new_thread".into()),
            }
            Ok(())
        }
        _ => {
            if let Some(reason) = impure(event) {
                if reason == "modifies files" && rote_owns(args) {
                    return Ok(());
                }
                taint(reason, String::from_utf8_lossy(event).into_owned());
            }
            Ok(())
        }
    }
}

/// Whether the event comes from the import system (loading a module's
/// source or bytecode, scanning `sys.path`).
fn by_import(py: Python<'_>) -> bool {
    current_file(py)
        .is_some_and(|f| f.starts_with("<frozen importlib") || f.starts_with("<frozen zipimport"))
}

/// Whether the running Python frame's file ends with `suffix`.
fn in_file(py: Python<'_>, suffix: &str) -> bool {
    current_file(py).is_some_and(|f| f.ends_with(suffix))
}

/// The files of the running Python frame and of up to `depth - 1` of its
/// callers, innermost first.
pub(crate) fn frame_files(py: Python<'_>, depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: GIL held; each frame and code object is a new reference.
    unsafe {
        let first = ffi::PyEval_GetFrame();
        if first.is_null() {
            return out;
        }
        ffi::Py_INCREF(first.cast());
        let mut frame = Bound::from_owned_ptr(py, first.cast());
        while out.len() < depth {
            let f = frame.as_ptr().cast::<ffi::PyFrameObject>();
            let Ok(code) = Bound::from_owned_ptr_or_err(py, ffi::PyFrame_GetCode(f).cast()) else {
                break;
            };
            if let Some(name) = code
                .getattr("co_filename")
                .ok()
                .and_then(|n| n.extract::<String>().ok())
            {
                out.push(name);
            }
            let Some(back) = Bound::from_owned_ptr_or_opt(py, ffi::PyFrame_GetBack(f).cast())
            else {
                break;
            };
            frame = back;
        }
    }
    out
}

/// The file of the running Python frame.
pub(crate) fn current_file(py: Python<'_>) -> Option<String> {
    frame_files(py, 1).pop()
}

fn fspath(obj: &Bound<'_, PyAny>) -> PyResult<PathBuf> {
    let py = obj.py();
    let p = py.import("os")?.getattr("fsencode")?.call1((obj,))?;
    let bytes: &[u8] = p.cast::<pyo3::types::PyBytes>()?.as_bytes();
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// Absolute, with `.`/`..` left as written; a relative path makes the call
/// depend on the current directory.
fn absolute(path: PathBuf) -> (PathBuf, Option<PathBuf>) {
    if path.is_absolute() {
        return (path, None);
    }
    match std::env::current_dir() {
        Ok(cwd) => (cwd.join(&path), Some(cwd)),
        Err(_) => (path, None),
    }
}

fn record_listing(path: PathBuf) -> PyResult<()> {
    let (abs, cwd) = absolute(path);
    if runtime::get().is_some_and(|rt| rt.in_cache_dir(&abs)) {
        return Ok(());
    }
    if let Some(cwd) = cwd {
        frame::record(Event::Cwd(cwd));
    }
    frame::record(Event::Listing(abs));
    Ok(())
}

/// How a file is opened, as far as the judge cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    /// Truncated or created: what it holds afterwards is what the call
    /// wrote (an output, if closed by the end).
    Fresh,
    Append,
    /// Written in place over what was there.
    ReadWrite,
}

/// From `open()`'s mode string when there is one, else from `O_*` flags.
pub(crate) fn access(mode: Option<&str>, flags: i64) -> Access {
    if let Some(m) = mode {
        return if m.contains('a') {
            Access::Append
        } else if m.contains(['w', 'x']) {
            Access::Fresh
        } else if m.contains('+') {
            Access::ReadWrite
        } else {
            Access::Read
        };
    }
    let f = flags as libc::c_int;
    if f & libc::O_APPEND != 0 {
        Access::Append
    } else if f & (libc::O_TRUNC | libc::O_EXCL) != 0 && f & libc::O_ACCMODE != libc::O_RDONLY {
        Access::Fresh
    } else if f & libc::O_ACCMODE != libc::O_RDONLY || f & (libc::O_CREAT | libc::O_TRUNC) != 0 {
        Access::ReadWrite
    } else {
        Access::Read
    }
}

/// The event for opening `path` with `access`.
pub(crate) fn open_event(path: PathBuf, access: Access) -> Event {
    let name = frame::file_name(&path);
    let taint = |reason: &str| Event::Taint {
        reason: format!("{reason}: {name}"),
        detail: path.display().to_string(),
    };
    match access {
        Access::Read => Event::Read(path),
        Access::Fresh => Event::Write(path),
        Access::Append => taint("appends to file"),
        Access::ReadWrite => taint("opens file read-write"),
    }
}

fn on_open(py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<()> {
    let target = args.get_item(0)?;
    let mode = args.get_item(1)?;
    let mode: Option<String> = if mode.is_none() {
        None
    } else {
        Some(mode.cast_into::<PyString>()?.to_cow()?.into_owned())
    };
    let flags: i64 = args.get_item(2).and_then(|f| f.extract()).unwrap_or(0);
    if target.is_instance_of::<pyo3::types::PyInt>() {
        // open(fd): what the descriptor refers to is unknown here.
        taint("opens a file descriptor", "open(fd)".into());
        return Ok(());
    }
    if by_import(py) {
        return Ok(());
    }
    let (abs, cwd) = absolute(fspath(&target)?);
    if runtime::get().is_some_and(|rt| rt.in_cache_dir(&abs)) {
        return Ok(());
    }
    if let Some(cwd) = cwd {
        frame::record(Event::Cwd(cwd));
    }
    frame::record(open_event(abs, access(mode.as_deref(), flags)));
    Ok(())
}

fn on_modify(event: &[u8], args: &Bound<'_, PyTuple>) -> PyResult<()> {
    // Descriptor-relative forms: the directory is not known here.
    let relative_to_fd = |i: usize| {
        args.get_item(i)
            .is_ok_and(|d| !d.is_none() && d.extract::<i64>().is_ok_and(|d| d >= 0))
    };
    let path = |i: usize| -> PyResult<PathBuf> {
        let (abs, cwd) = absolute(fspath(&args.get_item(i)?)?);
        if let Some(cwd) = cwd {
            frame::record(Event::Cwd(cwd));
        }
        Ok(abs)
    };
    if rote_owns(args) {
        return Ok(());
    }
    let ev = match event {
        b"os.remove" if !relative_to_fd(1) => Event::Removed(path(0)?),
        b"os.rename" if !relative_to_fd(2) && !relative_to_fd(3) => {
            Event::Renamed(path(0)?, path(1)?)
        }
        b"os.mkdir" if !relative_to_fd(2) => Event::Mkdir(path(0)?),
        _ => {
            taint(
                "modifies files",
                String::from_utf8_lossy(event).into_owned(),
            );
            return Ok(());
        }
    };
    frame::record(ev);
    Ok(())
}

/// Whether `path` is a directory rote should list for a listing dependency.
pub(crate) fn listing_digest(path: &Path) -> Option<[u8; 32]> {
    let mut names: Vec<Vec<u8>> = std::fs::read_dir(path)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.file_name().as_bytes().to_vec()))
        .collect();
    names.sort();
    let mut h = blake3::Hasher::new();
    for n in &names {
        h.update(&(n.len() as u64).to_le_bytes());
        h.update(n);
    }
    Some(*h.finalize().as_bytes())
}
