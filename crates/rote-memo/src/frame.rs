//! The stack of candidate calls running on each thread, and what each one
//! has depended on so far. Events (file opens, listings, impure actions) go
//! to the innermost frame; when a frame ends, its dependencies and any
//! impurity are merged into the frame that encloses it, so an outer call
//! depends on everything its inner calls did (also when they were hits).
//!
//! Events on a thread that has no frame of its own while candidates run
//! elsewhere (pandas' `read_csv` reads on a thread pool it starts) go to a
//! shared log that every frame alive at the time takes in when it ends: an
//! over-approximation, never a missed dependency.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::prelude::*;
use rote_store::Dep;

/// Frames alive on all threads: the audit hook's fast path.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn any_active() -> bool {
    ACTIVE.load(Ordering::Relaxed) > 0
}

/// Why the call may not be stored, first reason wins.
#[derive(Debug, Clone)]
pub(crate) struct Impure {
    /// A stable key such as `writes file`.
    pub reason: String,
    /// The path or event, for the `-v` line.
    pub detail: String,
}

#[derive(Debug, Default)]
pub(crate) struct Frame {
    /// Resolved dependencies (from inner calls), deduplicated.
    pub deps: Vec<Dep>,
    pub(crate) seen: HashSet<Vec<u8>>,
    /// Files opened for reading, listed, looked for: digested when the frame
    /// ends.
    pub reads: BTreeSet<PathBuf>,
    pub listings: BTreeSet<PathBuf>,
    pub missing: BTreeSet<PathBuf>,
    pub stats: BTreeSet<PathBuf>,
    /// Environment variables read (`*`: all of them).
    pub env: BTreeSet<String>,
    /// Files opened for writing from scratch (truncated or created) by this
    /// call or the calls inside it: its outputs if closed by the end.
    pub writes: BTreeSet<PathBuf>,
    /// Own outputs the call then removed (a temp file): a second report of
    /// the same removal (audit hook and C layer) is not a new one.
    pub removed: BTreeSet<PathBuf>,
    /// Directories the call made.
    pub dirs_made: BTreeSet<PathBuf>,
    /// `threading.Thread`s this call started on this thread.
    pub threads_started: Vec<Py<PyAny>>,
    pub cwd: Option<PathBuf>,
    pub impure: Option<Impure>,
    /// Why this call (only) may not be stored.
    pub local: Option<Impure>,
    /// Functions that ran inside this call without a frame of their own
    /// (too fast to be candidates): their globals are this call's too.
    pub callees: Vec<Py<PyAny>>,
    pub(crate) callee_ids: HashSet<usize>,
    /// Where this call's output starts in the capture log.
    pub out_start: usize,
    /// The thread's import depth when the call began.
    pub import_base: i32,
    /// Where this frame's share of the shared log of other threads' events
    /// starts.
    pub foreign_start: usize,
    /// Global generators first imported during this call, with their state
    /// right after the import: the call's starting point for them.
    pub random_at_import: Vec<(&'static str, [u8; 32])>,
    /// Compute time that inner hits saved: a call is as slow as it would be
    /// without the cache, for the threshold and for the time a hit saves.
    pub saved: std::time::Duration,
}

/// Something observed during a call.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    Read(PathBuf),
    Listing(PathBuf),
    /// Looked for and not found.
    Missing(PathBuf),
    /// Looked at (kind and size matter, not content).
    Stat(PathBuf),
    Cwd(PathBuf),
    /// An environment variable read.
    Env(String),
    /// A file opened for writing from scratch.
    Write(PathBuf),
    /// A file removed.
    Removed(PathBuf),
    /// A file renamed: from, to.
    Renamed(PathBuf, PathBuf),
    /// A directory made.
    Mkdir(PathBuf),
    /// What a call on a thread without an enclosing frame depended on.
    Dep(Dep),
    Taint {
        reason: String,
        detail: String,
    },
}

static FOREIGN: std::sync::Mutex<Vec<Event>> = std::sync::Mutex::new(Vec::new());

fn foreign() -> std::sync::MutexGuard<'static, Vec<Event>> {
    FOREIGN.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records an event for this thread's innermost frame, or for every frame
/// alive when this thread has none.
pub(crate) fn record(event: Event) {
    let mut event = Some(event);
    let mine = with_top(|f| f.apply(event.take().expect("not taken yet"))).is_some();
    if let Some(event) = event.filter(|_| !mine && any_active()) {
        foreign().push(event);
    }
}

/// [`record`] for events from the C layer: any thread, no GIL, possibly
/// while this thread's stack is being worked on (then the shared log takes
/// it) or torn down.
pub(crate) fn record_from_c(event: Event) {
    let mut event = Some(event);
    let _ = STACK.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            if let Some(top) = s.last_mut() {
                top.apply(event.take().expect("not taken yet"));
            }
        }
    });
    if let Some(event) = event.filter(|_| any_active()) {
        foreign().push(event);
    }
}

/// The identity of a dependency for deduplication: its kind and name.
fn dep_id(dep: &Dep) -> Vec<u8> {
    let (tag, name): (u8, &str) = match dep {
        Dep::Code { name, .. } => (b'c', name),
        Dep::Global { name, .. } => (b'g', name),
        Dep::FileRead { path, .. } => (b'r', path),
        Dep::FileWritten { path, .. } => (b'w', path),
        Dep::Listing { path, .. } => (b'l', path),
        Dep::Missing { path } => (b'm', path),
        Dep::Cwd { .. } => (b'd', ""),
        Dep::Distribution { name, .. } => (b'D', name),
        Dep::Interpreter { .. } => (b'i', ""),
        Dep::Printed { .. } => (b'p', ""),
        Dep::Meta { path, .. } => (b'M', path),
        Dep::Arguments { .. } => (b'a', ""),
        Dep::Env { name, .. } => (b'e', name),
    };
    let mut id = vec![tag];
    id.extend_from_slice(name.as_bytes());
    id
}

impl Frame {
    pub fn add_dep(&mut self, dep: Dep) {
        if matches!(dep, Dep::Printed { .. } | Dep::Arguments { .. }) {
            // Output of inner calls reaches the outer one through the capture.
            return;
        }
        match &dep {
            // An inner call's output is this call's output too; it gets its
            // own record when this call is judged.
            Dep::FileWritten { path, .. } => {
                self.write(PathBuf::from(path));
                return;
            }
            // Reading back or looking at what this call wrote is not an
            // input.
            Dep::FileRead { path, .. } | Dep::Meta { path, .. } | Dep::Missing { path }
                if self.writes.contains(Path::new(path)) =>
            {
                return;
            }
            _ => {}
        }
        if self.seen.insert(dep_id(&dep)) {
            self.deps.push(dep);
        }
    }

    pub fn add_callee(&mut self, func: &Bound<'_, PyAny>) {
        if self.callee_ids.insert(func.as_ptr() as usize) {
            self.callees.push(func.clone().unbind());
        }
    }

    fn apply(&mut self, event: Event) {
        match event {
            Event::Read(p) => {
                if !self.writes.contains(&p) {
                    self.reads.insert(p);
                }
            }
            Event::Listing(p) => {
                self.listings.insert(p);
            }
            // Looked at after the call wrote it: its own output, not an
            // input (looked at before: an input, kept).
            Event::Missing(p) => {
                if !self.writes.contains(&p) {
                    self.missing.insert(p);
                }
            }
            Event::Stat(p) => {
                if !self.writes.contains(&p) {
                    self.stats.insert(p);
                }
            }
            Event::Cwd(p) => self.cwd = Some(p),
            Event::Env(name) => {
                self.env.insert(name);
            }
            Event::Write(p) => self.write(p),
            Event::Removed(p) => {
                if self.writes.remove(&p) {
                    self.removed.insert(p);
                } else if !self.removed.contains(&p) {
                    self.taint("modifies files", p.display().to_string());
                }
            }
            Event::Renamed(from, to) => {
                if self.writes.remove(&from) {
                    self.removed.insert(from);
                    self.write(to);
                } else {
                    self.taint("modifies files", to.display().to_string());
                }
            }
            Event::Mkdir(p) => {
                self.dirs_made.insert(p);
            }
            Event::Dep(d) => self.add_dep(d),
            Event::Taint { reason, detail } => self.taint(&reason, detail),
        }
    }

    /// A file opened for writing from scratch: an output, unless the call
    /// read it before (then what it read is gone: its own input changed).
    pub(crate) fn write(&mut self, path: PathBuf) {
        let read_before = self.reads.contains(&path)
            || self.deps.iter().any(
                |d| matches!(d, Dep::FileRead { path: p, .. } if Path::new(p) == path.as_path()),
            );
        if read_before {
            self.taint(
                &format!("reads and writes file: {}", file_name(&path)),
                path.display().to_string(),
            );
        }
        self.removed.remove(&path);
        self.writes.insert(path);
    }

    /// Not stored, for a reason that does not concern the enclosing calls.
    pub fn taint_local(&mut self, reason: &str, detail: impl Into<String>) {
        if self.local.is_none() {
            self.local = Some(Impure {
                reason: reason.to_owned(),
                detail: detail.into(),
            });
        }
    }

    pub fn taint(&mut self, reason: &str, detail: impl Into<String>) {
        if self.impure.is_none() {
            self.impure = Some(Impure {
                reason: reason.to_owned(),
                detail: detail.into(),
            });
        }
    }
}

thread_local! {
    static STACK: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// Pushes a frame; returns the depth it got (0 for an outermost call).
pub(crate) fn push(mut frame: Frame) -> usize {
    {
        let log = foreign();
        frame.foreign_start = log.len();
        frame.import_base = crate::clib::current_import_depth();
        if ACTIVE.fetch_add(1, Ordering::Relaxed) == 0 {
            crate::clib::refresh(true);
        }
    }
    STACK.with(|s| {
        let mut s = s.borrow_mut();
        s.push(frame);
        s.len() - 1
    })
}

/// Pops this thread's innermost frame, with the events other threads
/// logged while it ran.
pub(crate) fn pop() -> Frame {
    let mut frame = STACK
        .with(|s| s.borrow_mut().pop())
        .expect("a pushed frame");
    let mut log = foreign();
    for event in log.iter().skip(frame.foreign_start) {
        frame.apply(event.clone());
    }
    if ACTIVE.fetch_sub(1, Ordering::Relaxed) == 1 {
        log.clear();
        crate::clib::refresh(false);
    }
    frame
}

/// The import depth at which this thread's innermost candidate began.
pub(crate) fn top_import_base() -> Option<i32> {
    STACK
        .try_with(|s| {
            s.try_borrow()
                .ok()
                .and_then(|s| s.last().map(|f| f.import_base))
        })
        .ok()
        .flatten()
}

/// Runs `f` on this thread's innermost frame, if any.
pub(crate) fn with_top<R>(f: impl FnOnce(&mut Frame) -> R) -> Option<R> {
    STACK.with(|s| s.borrow_mut().last_mut().map(f))
}

/// Hands what a call depended on and did to the call enclosing it: this
/// thread's innermost frame, or, on a thread with none while candidates run
/// elsewhere (a worker of a thread pool a candidate started), every frame
/// alive, through the shared log. Returns the callees handed on that way,
/// whose globals the caller turns into dependencies (they cannot cross as
/// live objects).
pub(crate) fn hand_up(f: impl FnOnce(&mut Frame)) -> Vec<Py<PyAny>> {
    if STACK.with(|s| !s.borrow().is_empty()) {
        with_top(f);
        return Vec::new();
    }
    if !any_active() {
        return Vec::new();
    }
    let mut scratch = Frame::default();
    f(&mut scratch);
    let mut events: Vec<Event> = scratch.deps.drain(..).map(Event::Dep).collect();
    events.extend(scratch.writes.iter().cloned().map(Event::Write));
    events.extend(scratch.dirs_made.iter().cloned().map(Event::Mkdir));
    if let Some(imp) = scratch.impure.take() {
        events.push(Event::Taint {
            reason: imp.reason,
            detail: imp.detail,
        });
    }
    foreign().extend(events);
    scratch.callees
}

/// Puts dependencies on the shared log for every frame alive.
pub(crate) fn share_deps(deps: Vec<Dep>) {
    if any_active() {
        foreign().extend(deps.into_iter().map(Event::Dep));
    }
}

/// A path's last component, for reasons (`writes file left open: out.log`).
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}
