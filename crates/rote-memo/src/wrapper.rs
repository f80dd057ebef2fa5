//! The callable that stands in for each wrapped function, and the path of a
//! call through it: bind and fingerprint the arguments, look the key up,
//! re-validate the entry's dependencies, replay a hit; or run the function
//! inside a candidate frame, judge it, and store it.
//!
//! The wrapper is a C-level callable: a traceback through it shows exactly
//! the frames plain python shows.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use rote_store::{Dep, Found, Key, KeyBuilder, Outcome, Store};

use crate::argfp::ArgDigester;
use crate::bind::Params;
use crate::frame::{self, Frame};
use crate::judge::{judge, resolve_files};
use crate::runtime::{self, Runtime, canonical_module};
use crate::validate::{self, Stale};
use crate::{globals, output};

#[pyclass(module = "rote", name = "function", dict, frozen, weakref)]
pub struct Wrapped {
    pub(crate) func: Py<PyAny>,
    pub(crate) identity: [u8; 32],
    /// `<module>.<qualname>`.
    pub(crate) name: String,
    params: Option<Params>,
    min_duration: Mutex<Option<Duration>>,
    pub(crate) fast: AtomicU32,
    pub(crate) stored_any: AtomicBool,
    pub(crate) disabled: AtomicBool,
    /// The last run found every call impure (it wrote a file, say): this
    /// run runs it without building a key it could never store.
    impure_last_run: std::sync::OnceLock<bool>,
}

/// Reasons that a call's effects, not its inputs, kept it out of the cache.
const IMPURE: &[&str] = &[
    "writes file",
    "modifies files",
    "starts a process",
    "network",
    "reads the clock",
    "reads randomness",
    "uses global random state",
    "writes stdout directly",
    "changes directory",
    "changes environment",
    "opens a file descriptor",
    "opens a database",
    "runs dynamic code",
    "reads input",
    "reads stdin",
    "starts a thread",
    "calls C code through ctypes",
    "calls impure stdlib",
    "appends to file",
    "opens file read-write",
    "writes file left open",
    "reads and writes file",
    "makes directory",
];

/// Whether `reason` is one of [`IMPURE`], possibly with a name after it
/// (`calls impure stdlib: time.perf_counter`).
fn is_impure_reason(reason: &str) -> bool {
    IMPURE.iter().any(|p| {
        reason
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(": "))
    })
}

fn str_attr(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    obj.getattr(name)?.extract()
}

/// Wraps `func` with the given identity, copying what `functools.wraps`
/// copies so that introspection sees the function.
pub(crate) fn new_wrapped<'py>(
    func: &Bound<'py, PyAny>,
    identity: [u8; 32],
) -> PyResult<Bound<'py, Wrapped>> {
    let py = func.py();
    let module = str_attr(func, "__module__").unwrap_or_default();
    let qualname = str_attr(func, "__qualname__")?;
    let name = format!("{}.{qualname}", canonical_module(&module));
    if let Some(rt) = runtime::get() {
        rt.register(name.clone(), identity);
    }
    let w = Bound::new(
        py,
        Wrapped {
            func: func.clone().unbind(),
            identity,
            name,
            params: Params::of(func).ok(),
            min_duration: Mutex::new(None),
            fast: AtomicU32::new(0),
            stored_any: AtomicBool::new(false),
            disabled: AtomicBool::new(false),
            impure_last_run: std::sync::OnceLock::new(),
        },
    )?;
    // Only strings go into the wrapper's own dict (the type's `__module__`
    // and `__doc__` would shadow the function's); everything else is read
    // from the function, so the only reference the wrapper holds is the one
    // `__traverse__` reports, and module globals that reach it are collected
    // at exit as in python.
    let any = w.as_any();
    for attr in ["__module__", "__name__", "__qualname__", "__doc__"] {
        if let Some(v) = func.getattr_opt(attr)? {
            if v.is_none() || v.is_instance_of::<PyString>() {
                any.setattr(attr, v)?;
            }
        }
    }
    Ok(w)
}

#[pymethods]
impl Wrapped {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let w = slf.get();
        let func = w.func.bind(slf.py());
        // Called by rote's own bookkeeping (an audit hook the script
        // installed sees the events rote's attribute reads raise): run it as
        // python would, untracked, instead of recursing.
        if BOOKKEEPING.get() {
            return func.call(args, kwargs);
        }
        let _busy = Bookkeeping::enter();
        match runtime::get() {
            Some(rt) if rt.enabled() && !w.disabled.load(Ordering::Relaxed) => {
                call(rt, w, func, args, kwargs)
            }
            _ => plain(func, args, kwargs),
        }
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.func)
    }

    #[getter]
    fn __wrapped__(&self, py: Python<'_>) -> Py<PyAny> {
        self.func.clone_ref(py)
    }

    /// `isinstance(f, types.FunctionType)` holds, as for the function itself:
    /// `inspect.isfunction`, `inspect.getfile`, doctest's line numbers and
    /// similar introspection keep working.
    #[getter]
    fn __class__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("types")?.getattr("FunctionType")
    }

    /// Methods: bound like a function.
    fn __get__<'py>(
        slf: &Bound<'py, Self>,
        instance: Option<&Bound<'py, PyAny>>,
        _owner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match instance {
            Some(obj) if !obj.is_none() => {
                let types = slf.py().import("types")?;
                types.getattr("MethodType")?.call1((slf, obj))
            }
            _ => Ok(slf.clone().into_any()),
        }
    }

    fn __getattr__<'py>(
        slf: &Bound<'py, Self>,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.get().func.bind(slf.py()).getattr(name)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        Ok(slf.get().func.bind(slf.py()).repr()?.to_cow()?.into_owned())
    }

    /// Pickled by reference, as functions are: the module attribute of this
    /// name is this wrapper.
    fn __reduce__(slf: &Bound<'_, Self>) -> PyResult<String> {
        str_attr(slf.get().func.bind(slf.py()), "__qualname__")
    }
}

impl Wrapped {
    pub(crate) fn set_min_duration(&self, d: Option<Duration>) {
        *self.min_duration.lock().unwrap_or_else(|e| e.into_inner()) = d;
        self.disabled.store(false, Ordering::Relaxed);
        self.fast.store(0, Ordering::Relaxed);
    }

    pub(crate) fn min_duration(&self, rt: &Runtime) -> Duration {
        self.min_duration
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(|| rt.min_duration())
    }

    fn impure_last_run(&self, rt: &Runtime, store: &Store) -> bool {
        *self
            .impure_last_run
            .get_or_init(|| match store.last_run_of(&rt.info.script, &self.name) {
                Ok(Some((0, 0, reasons))) => {
                    !reasons.is_empty() && reasons.iter().all(|r| is_impure_reason(r))
                }
                _ => false,
            })
    }

    pub(crate) fn own_dep(&self) -> Dep {
        Dep::Code {
            name: self.name.clone(),
            identity: self.identity.to_vec(),
        }
    }
}

thread_local! {
    /// This thread is inside a wrapper's own work (binding, fingerprinting,
    /// looking up, judging), not inside the function it wraps.
    static BOOKKEEPING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is doing a wrapper's own work: what happens then
/// (rote importing its helpers, compiling them, reading its store) is not
/// the running call's doing.
pub(crate) fn in_bookkeeping() -> bool {
    BOOKKEEPING.try_with(|b| b.get()).unwrap_or(false)
}

/// Sets [`BOOKKEEPING`] for a scope, restoring the previous state after it.
struct Bookkeeping(bool);

impl Bookkeeping {
    fn enter() -> Self {
        Bookkeeping(BOOKKEEPING.replace(true))
    }

    /// The wrapped function itself runs as user code.
    fn user_code() -> Self {
        Bookkeeping(BOOKKEEPING.replace(false))
    }
}

impl Drop for Bookkeeping {
    fn drop(&mut self) {
        BOOKKEEPING.set(self.0);
    }
}

/// Calls the wrapped function as user code.
fn run_user<'py>(
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let _user = Bookkeeping::user_code();
    func.call(args, kwargs)
}

/// A call that is not a candidate still counts for the calls around it.
fn plain<'py>(
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    hand_up(func.py(), |f| f.add_callee(func));
    run_user(func, args, kwargs)
}

enum Lookup {
    Hit(Arc<Found>),
    Miss(Stale),
}

fn miss(reason: &str, detail: impl Into<String>) -> Stale {
    Stale {
        reason: reason.to_owned(),
        detail: detail.into(),
    }
}

pub(crate) fn store_warning(err: &rote_store::StoreError) {
    tracing::warn!(%err, "cache store error; treated as a miss");
}

/// How many of a function's newest entries a miss looks through for its
/// reason.
const REASON_SCAN: u32 = 64;

/// Why there is no entry: an entry for the same arguments (under other
/// code, then) is a source edit; entries of this code only for other
/// arguments mean new arguments; entries of other code only, a source edit.
fn why_absent(store: &Store, w: &Wrapped, args: &[u8; 32]) -> Stale {
    match store.recent_deps(&w.name, REASON_SCAN) {
        Ok(entries) if entries.is_empty() => miss("not cached", ""),
        Ok(entries) => {
            let same_args = entries.iter().any(|deps| {
                deps.iter()
                    .any(|d| matches!(d, Dep::Arguments { digest } if digest[..] == args[..]))
            });
            let same_code = entries.iter().any(|deps| {
                deps.iter().any(|d| {
                    matches!(d, Dep::Code { name, identity }
                        if *name == w.name && identity[..] == w.identity[..])
                })
            });
            if same_args || !same_code {
                miss("source changed", "")
            } else {
                miss("argument changed", "")
            }
        }
        Err(err) => {
            store_warning(&err);
            miss("not cached", "")
        }
    }
}

fn lookup(
    py: Python<'_>,
    rt: &Runtime,
    store: &Store,
    w: &Wrapped,
    key: &Key,
    args: &[u8; 32],
) -> PyResult<Lookup> {
    let found = match rt.cached_found(key) {
        Some(f) => Some(f),
        None => match store.lookup(key) {
            Ok(f) => f.map(Arc::new),
            Err(err) => {
                store_warning(&err);
                None
            }
        },
    };
    let Some(found) = found else {
        return Ok(Lookup::Miss(why_absent(store, w, args)));
    };
    match validate::check(py, rt, store, &w.name, &found.deps)? {
        None => Ok(Lookup::Hit(found)),
        Some(stale) => {
            rt.forget_found(key);
            Ok(Lookup::Miss(stale))
        }
    }
}

/// Serves a verified entry: a fresh value, the call's output again, and its
/// dependencies for the calls around it.
fn serve<'py>(
    py: Python<'py>,
    rt: &Runtime,
    store: &Store,
    w: &Wrapped,
    func: &Bound<'py, PyAny>,
    found: Arc<Found>,
) -> PyResult<Result<Bound<'py, PyAny>, Stale>> {
    let Some(ser) = rote_values::Serializer::from_name(&found.meta.serializer) else {
        return Ok(Err(miss(
            "undecodable value",
            found.meta.serializer.clone(),
        )));
    };
    let value = match rote_values::decode(py, ser, &found.value, found.value.file()) {
        Ok(v) => v,
        Err(err) => {
            rt.forget_found(&found.meta.key);
            return Ok(Err(miss("undecodable value", err.to_string())));
        }
    };
    // The files the call wrote, as it left them (a plain run would write
    // them again).
    for out in &found.outputs {
        if let Err(err) = store.restore_output(out) {
            rt.forget_found(&found.meta.key);
            return Ok(Err(miss(
                "output missing from cache",
                format!("{}: {err}", out.path),
            )));
        }
    }
    output::replay(py, &found.deps)?;
    hand_up(py, |f| {
        for d in &found.deps {
            f.add_dep(d.clone());
        }
        f.add_dep(w.own_dep());
        f.add_callee(func);
        f.saved += found.meta.compute;
    });
    let saved = found.meta.compute.as_secs_f64();
    store.record(&w.name, Outcome::Hit { saved_s: saved });
    rt.count_hit(saved);
    rt.decision(format_args!("hit {} (saved {saved:.2} s)", w.name));
    rt.remember_found(found);
    Ok(Ok(value))
}

fn call<'py>(
    rt: &Runtime,
    w: &Wrapped,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = func.py();
    let Some(params) = &w.params else {
        return plain(func, args, kwargs);
    };
    if let Some(store) = rt.store().filter(|s| w.impure_last_run(rt, s)) {
        return unkeyed(rt, store, w, func, args, kwargs);
    }
    let Some(bound) = params.bind(func, args, kwargs)? else {
        return plain(func, args, kwargs);
    };
    let mut kb = KeyBuilder::new("call");
    kb.field(1, &w.identity);
    let mut ab = blake3::Hasher::new();
    let mut arg_fps = Vec::with_capacity(bound.len());
    let mut digester = ArgDigester::new(rt);
    for (name, value) in &bound {
        match digester.fingerprint(value)? {
            Ok(fp) => {
                let name = name.to_cow()?;
                kb.field(2, name.as_bytes());
                kb.field(3, &fp);
                ab.update(&(name.len() as u64).to_le_bytes());
                ab.update(name.as_bytes());
                ab.update(&fp);
                arg_fps.push(fp);
            }
            Err(kind) => {
                rt.decision(format_args!(
                    "not a candidate {} (argument not fingerprintable: {} is {kind})",
                    w.name,
                    name.to_cow()?
                ));
                if let Some(store) = rt.store() {
                    store.record(&w.name, Outcome::Reason("argument not fingerprintable"));
                }
                return plain(func, args, kwargs);
            }
        }
    }
    let key = kb.finish();
    let args_digest: [u8; 32] = *ab.finalize().as_bytes();
    let Some(store) = rt.store() else {
        return plain(func, args, kwargs);
    };
    let why = match lookup(py, rt, store, w, &key, &args_digest)? {
        Lookup::Hit(found) => match serve(py, rt, store, w, func, found)? {
            Ok(v) => return Ok(v),
            Err(stale) => stale,
        },
        Lookup::Miss(stale) => stale,
    };
    execute(
        rt,
        store,
        w,
        func,
        (args, kwargs),
        &bound,
        (&arg_fps, digester.functions),
        (key, args_digest),
        why,
    )
}

#[allow(clippy::too_many_arguments)]
fn execute<'py>(
    rt: &Runtime,
    store: &Store,
    w: &Wrapped,
    func: &Bound<'py, PyAny>,
    (args, kwargs): (&Bound<'py, PyTuple>, Option<&Bound<'py, PyDict>>),
    bound: &crate::bind::BoundArgs<'py>,
    // The arguments' fingerprints, and the project functions among them,
    // whose globals the judge records like a callee's.
    (arg_fps, arg_functions): (&[[u8; 32]], Vec<Py<PyAny>>),
    (key, args_digest): (Key, [u8; 32]),
    why: Stale,
) -> PyResult<Bound<'py, PyAny>> {
    let py = func.py();
    let own_before = globals::own_data(func)?;
    let random_before = crate::random::states(py)?;
    let arg_values: Vec<&Bound<'py, PyAny>> = bound.iter().map(|(_, v)| v).collect();
    let reachable = globals::reachable_mutables(func, &arg_values)?;
    let out_start = output::begin(py)?;
    frame::push(Frame {
        out_start,
        callees: arg_functions,
        ..Frame::default()
    });
    let started = Instant::now();
    let result = run_user(func, args, kwargs);
    let mut fr = frame::pop();
    let elapsed = started.elapsed() + fr.saved;
    check_random(py, random_before, &mut fr)?;
    check_threads(py, &mut fr);
    if let Ok(value) = &result {
        if globals::aliases(value, &reachable)? {
            fr.taint_local("returns a reference to its input", "");
        }
    }
    let printed = output::end(py, fr.out_start)?;

    store.record(&w.name, Outcome::Miss);
    let invalidation = (why.reason != "not cached").then_some(why.reason.as_str());
    if let Some(reason) = invalidation {
        store.record(&w.name, Outcome::Reason(reason));
    }
    rt.count_miss(&w.name, invalidation);
    if why.detail.is_empty() {
        rt.decision(format_args!("miss {} ({})", w.name, why.reason));
    } else {
        rt.decision(format_args!(
            "miss {} ({}: {})",
            w.name, why.reason, why.detail
        ));
    }

    let file_deps = resolve_files(store, &mut fr);
    let verdict = match &result {
        Err(_) => Err(("raised".to_owned(), String::new())),
        Ok(value) => judge(
            rt,
            store,
            w,
            func,
            value,
            bound,
            arg_fps,
            &own_before,
            &mut fr,
            &file_deps,
            printed,
            elapsed,
            key,
            args_digest,
        )?,
    };
    match verdict {
        Ok(size) => {
            w.stored_any.store(true, Ordering::Relaxed);
            store.record(&w.name, Outcome::Stored);
            rt.count_stored();
            rt.decision(format_args!(
                "stored {} ({:.2} s, {})",
                w.name,
                elapsed.as_secs_f64(),
                rote_config::format_size(size)
            ));
        }
        Err((reason, detail)) => {
            // The store counts `too large` itself.
            if reason != "too large" {
                store.record(&w.name, Outcome::Reason(&reason));
            }
            if detail.is_empty() {
                rt.decision(format_args!("not stored {} ({reason})", w.name));
            } else {
                rt.decision(format_args!("not stored {} ({reason}: {detail})", w.name));
            }
            if reason.starts_with("mutates global") {
                fr.taint(&reason, detail);
            }
        }
    }

    hand_to_enclosing(w, func, fr, file_deps);
    result
}

/// A thread the call started and left running does work after it returns
/// that a hit would not do: the call is not stored. Threads started and
/// joined within the call (pandas parses a large CSV on a pool) are fine:
/// what they do is the call's, through the shared log (frame.rs).
fn check_threads(py: Python<'_>, fr: &mut Frame) {
    let running = fr.threads_started.iter().any(|t| {
        t.bind(py)
            .call_method0("is_alive")
            .and_then(|a| a.is_truthy())
            .unwrap_or(true)
    });
    if running {
        fr.taint("starts a thread", "left running when the call returned");
    }
}

/// Taints the call if it drew from a global generator: one that existed
/// when it began, or that it imported (numpy imports `numpy.random` on first
/// use), compared with its state right after the import.
fn check_random(
    py: Python<'_>,
    mut before: Vec<(&'static str, [u8; 32])>,
    fr: &mut Frame,
) -> PyResult<()> {
    // Handed on to the enclosing call too, which did not have them either.
    for &(name, fp) in &fr.random_at_import {
        if !before.iter().any(|(n, _)| *n == name) {
            before.push((name, fp));
        }
    }
    if crate::random::changed(&before, &crate::random::states(py)?) {
        fr.taint("uses global random state", "random / numpy.random");
    }
    Ok(())
}

/// What a call depended on and did is the enclosing call's too.
fn hand_to_enclosing(w: &Wrapped, func: &Bound<'_, PyAny>, fr: Frame, file_deps: Vec<Dep>) {
    let py = func.py();
    let own = w.own_dep();
    let Frame {
        deps,
        impure,
        callees,
        saved,
        random_at_import,
        writes,
        removed,
        dirs_made,
        ..
    } = fr;
    hand_up(py, |p| {
        p.saved += saved;
        p.random_at_import.extend(random_at_import);
        // What the call wrote, the enclosing call wrote (and must keep too).
        for w in writes {
            p.write(w);
        }
        p.removed.extend(removed);
        p.dirs_made.extend(dirs_made);
        p.add_dep(own);
        for d in deps.into_iter().chain(file_deps) {
            p.add_dep(d);
        }
        if let Some(imp) = impure {
            p.taint(&imp.reason, imp.detail);
        }
        p.add_callee(func);
        for c in &callees {
            p.add_callee(c.bind(py));
        }
    });
}

/// [`frame::hand_up`], with the globals of callees handed across threads
/// resolved here, where they are live objects.
fn hand_up(py: Python<'_>, f: impl FnOnce(&mut Frame)) {
    let callees = frame::hand_up(f);
    if callees.is_empty() {
        return;
    }
    let Some(rt) = runtime::get() else { return };
    let roots = callees.iter().map(|c| c.bind(py).clone()).collect();
    match globals::collect(rt, roots) {
        Ok(Ok(deps)) => frame::share_deps(deps),
        Ok(Err(reason)) => frame::record(frame::Event::Taint {
            reason,
            detail: String::new(),
        }),
        Err(err) => {
            tracing::debug!(%err, "globals of a worker thread's callees");
            frame::record(frame::Event::Taint {
                reason: "unknown event".to_owned(),
                detail: err.to_string(),
            });
        }
    }
}

/// A call of a function the last run found impure: run in a frame (what it
/// reads and does still counts for the calls around it), judged only for
/// its effects, never keyed or stored.
fn unkeyed<'py>(
    rt: &Runtime,
    store: &Store,
    w: &Wrapped,
    func: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = func.py();
    let random_before = crate::random::states(py)?;
    let out_start = output::begin(py)?;
    frame::push(Frame {
        out_start,
        ..Frame::default()
    });
    let result = run_user(func, args, kwargs);
    let mut fr = frame::pop();
    check_random(py, random_before, &mut fr)?;
    check_threads(py, &mut fr);
    output::end(py, fr.out_start)?;
    store.record(&w.name, Outcome::Miss);
    rt.count_miss(&w.name, None);
    let file_deps = resolve_files(store, &mut fr);
    // The same reason as last time keeps the next run on this path; a call
    // that turned out pure sends the next run back to the keyed one.
    let reason = match (&result, &fr.impure) {
        (Err(_), _) => "raised".to_owned(),
        (Ok(_), Some(imp)) => imp.reason.clone(),
        (Ok(_), None) => match crate::judge::outputs(&fr) {
            Err((reason, _)) => reason,
            Ok(_) => "impure last run".to_owned(),
        },
    };
    store.record(&w.name, Outcome::Reason(&reason));
    rt.decision(format_args!(
        "not stored {} ({reason}; not keyed, impure last run)",
        w.name
    ));
    hand_to_enclosing(w, func, fr, file_deps);
    result
}
