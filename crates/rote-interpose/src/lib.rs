//! Observation at the C library boundary: the `rote` executable defines and
//! exports the libc entry points through which compiled code reaches files,
//! clocks, randomness, processes and the network (`src/interpose.c`), so
//! that libpython and every extension module call them first. Each forwards
//! to libc and, while [`set_active`] is on, hands an [`Event`] to the sink
//! installed with [`install`].
//!
//! The sink runs on whatever thread made the call (pyarrow's I/O pool, BLAS
//! threads), without the GIL, possibly inside libc's own locks: it must not
//! call Python and must not block for long.

use std::ffi::{CStr, c_char, c_int, c_long};
use std::sync::OnceLock;

/// What the C layer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `open`, `openat`, `creat`, `fopen`, `freopen` (flags: `O_*`).
    Open,
    /// `stat`, `lstat`, `fstatat`, `statx`, `access` (err 0: found).
    Stat,
    Opendir,
    /// `rename`, `unlink`, `mkdir`, `rmdir` and their `*at` forms.
    Modify,
    /// `clock_gettime` (flags: the clock id), `gettimeofday`, `time`.
    Clock,
    /// `getrandom` (flags: bytes asked for).
    Random,
    /// `fork`, `execve` family, `posix_spawn`, `system`.
    Process,
    /// `socket` (flags: address family), `connect`.
    Network,
    Getpid,
    /// `getenv` (path: the variable's name; flags: 1 when set).
    Getenv,
    /// `read` of descriptor 0, standard input (flags: bytes asked for).
    Stdin,
}

impl Kind {
    fn from_raw(k: c_int) -> Option<Kind> {
        Some(match k {
            1 => Kind::Open,
            2 => Kind::Stat,
            3 => Kind::Opendir,
            4 => Kind::Modify,
            5 => Kind::Clock,
            6 => Kind::Random,
            7 => Kind::Process,
            8 => Kind::Network,
            9 => Kind::Getpid,
            10 => Kind::Getenv,
            11 => Kind::Stdin,
            _ => return None,
        })
    }
}

#[repr(C)]
struct RawEvent {
    kind: c_int,
    dirfd: c_int,
    path: *const c_char,
    flags: c_long,
    err: c_int,
    function: *const c_char,
    caller: *const std::ffi::c_void,
}

/// One intercepted call, borrowed for the duration of the sink call.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    pub kind: Kind,
    /// `AT_FDCWD` or the directory descriptor a `*at` call was relative to.
    pub dirfd: i32,
    pub path: Option<&'a CStr>,
    pub flags: i64,
    /// `errno` when the call failed, else 0.
    pub err: i32,
    /// The libc function, e.g. `"openat"`.
    pub function: &'a str,
    /// The return address of the intercepted call; see [`Event::caller_object`].
    pub caller: usize,
}

impl Event<'_> {
    /// The file name of the shared object (or executable) that made the
    /// call, e.g. `libarrow.so.2600`.
    pub fn caller_object(&self) -> Option<String> {
        let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
        // SAFETY: dladdr only reads the address and fills `info`.
        let found = unsafe { libc::dladdr(self.caller as *const std::ffi::c_void, &mut info) };
        if found == 0 || info.dli_fname.is_null() {
            return None;
        }
        // SAFETY: dladdr gives a NUL-terminated name owned by the loader.
        let name = unsafe { CStr::from_ptr(info.dli_fname) }.to_string_lossy();
        Some(name.rsplit('/').next().unwrap_or(&name).to_owned())
    }
}

pub type Sink = fn(&Event<'_>);

unsafe extern "C" {
    fn rote_interpose_set_sink(sink: Option<unsafe extern "C" fn(*const RawEvent)>);
    fn rote_interpose_set_active(on: c_int);
    fn rote_interpose_linked() -> c_int;
    fn rote_interpose_sink_ns() -> u64;
}

static SINK: OnceLock<Sink> = OnceLock::new();

unsafe extern "C" fn trampoline(raw: *const RawEvent) {
    let Some(sink) = SINK.get() else { return };
    // SAFETY: the C side passes a valid event whose strings live for the call.
    let raw = unsafe { &*raw };
    let Some(kind) = Kind::from_raw(raw.kind) else {
        return;
    };
    let path = (!raw.path.is_null()).then(|| unsafe { CStr::from_ptr(raw.path) });
    let function = if raw.function.is_null() {
        ""
    } else {
        unsafe { CStr::from_ptr(raw.function) }
            .to_str()
            .unwrap_or("")
    };
    let event = Event {
        kind,
        dirfd: raw.dirfd,
        path,
        flags: raw.flags.into(),
        err: raw.err,
        function,
        caller: raw.caller as usize,
    };
    // A panic must not unwind into C.
    let _ = std::panic::catch_unwind(|| sink(&event));
}

/// Installs the sink (once per process) and checks the layer is linked in.
pub fn install(sink: Sink) -> bool {
    let _ = SINK.set(sink);
    // SAFETY: plain calls into the C layer.
    unsafe {
        rote_interpose_set_sink(Some(trampoline));
        rote_interpose_linked() == 1
    }
}

/// Turns reporting on or off (off: one relaxed load per intercepted call).
pub fn set_active(on: bool) {
    // SAFETY: an atomic store on the C side.
    unsafe { rote_interpose_set_active(c_int::from(on)) }
}

/// Wall time spent handing events to the sink since start-up, in ns.
pub fn sink_ns() -> u64 {
    // SAFETY: an atomic load on the C side.
    unsafe { rote_interpose_sink_ns() }
}
