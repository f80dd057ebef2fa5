//! The module-level names a call depends on, and what each one holds.
//!
//! A function's code names every global it may read (`co_names`, nested code
//! objects included). Starting from the called function, the walk follows
//! every project function, class and module those names reach, so that a
//! constant read by a helper two calls deep is a dependency of the outer call
//! too, even when the helper was too fast to be a candidate itself. Each name
//! is recorded as `<module>.<name>` with a 33-byte fingerprint: a kind byte
//! and a blake3 digest of
//! - `c` the code identity, for project functions and classes;
//! - `p` the module name, for project modules (the names read through them,
//!   `helpers.THRESHOLD`, are recorded one by one);
//! - `m` the distribution's version, for library modules, functions and
//!   classes (upgrading numpy is a miss);
//! - `b` nothing, for a builtin the module does not shadow (shadowing it
//!   later is a miss);
//! - `v` the value's fingerprint, for data.
//!
//! Validation classifies the current value the same way and compares.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule, PyString, PyTuple, PyType};
use rote_store::Dep;

use crate::runtime::{Runtime, canonical_module};
use crate::wrapper::Wrapped;

pub(crate) type Fingerprint = [u8; 33];

/// Names referenced by code objects, by code object address (the code
/// object is kept alive with its names, so the address is never reused).
type NameCache = HashMap<usize, (Py<PyAny>, Arc<Vec<Py<PyString>>>)>;

static NAMES: Mutex<Option<NameCache>> = Mutex::new(None);
static VERSIONS: Mutex<Option<HashMap<String, [u8; 32]>>> = Mutex::new(None);

fn tagged(kind: u8, digest: &[u8; 32]) -> Fingerprint {
    let mut out = [0u8; 33];
    out[0] = kind;
    out[1..].copy_from_slice(digest);
    out
}

fn hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    *h.finalize().as_bytes()
}

/// `co_names` of a code object and of every code object nested in it.
pub(crate) fn code_names<'py>(code: &Bound<'py, PyAny>) -> PyResult<Arc<Vec<Py<PyString>>>> {
    let addr = code.as_ptr() as usize;
    if let Some((_, names)) = NAMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(&addr)
    {
        return Ok(names.clone());
    }
    let mut names: Vec<Py<PyString>> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut stack = vec![code.clone()];
    while let Some(c) = stack.pop() {
        for name in c.getattr("co_names")?.cast_into::<PyTuple>()?.iter() {
            let name = name.cast_into::<PyString>()?;
            if seen.insert(name.to_cow()?.into_owned()) {
                names.push(name.unbind());
            }
        }
        for k in c.getattr("co_consts")?.cast_into::<PyTuple>()?.iter() {
            if k.hasattr("co_names")? {
                stack.push(k);
            }
        }
    }
    let names = Arc::new(names);
    NAMES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(addr, (code.clone().unbind(), names.clone()));
    Ok(names)
}

/// The Python function behind a callable: a rote wrapper's function,
/// `__wrapped__` of decorators, `__func__` of methods.
pub(crate) fn underlying_function<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    let mut cur = obj.clone();
    for _ in 0..16 {
        if let Ok(w) = cur.cast::<Wrapped>() {
            cur = w.get().func.bind(obj.py()).clone();
            continue;
        }
        // SAFETY: type check on a valid object.
        if unsafe { ffi::PyFunction_Check(cur.as_ptr()) } != 0 {
            return Some(cur);
        }
        let next = cur
            .getattr_opt("__wrapped__")
            .ok()
            .flatten()
            .or_else(|| cur.getattr_opt("__func__").ok().flatten());
        match next {
            Some(n) => cur = n,
            None => return None,
        }
    }
    None
}

/// The version fingerprint of the distribution a module comes from: its
/// top-level package's `__version__`, else the package file's modification
/// time; the standard library goes with the interpreter version.
pub(crate) fn module_version(py: Python<'_>, module: &str) -> PyResult<[u8; 32]> {
    let top = module.split('.').next().unwrap_or(module).to_owned();
    if let Some(v) = VERSIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .get(&top)
    {
        return Ok(*v);
    }
    let sys = py.import("sys")?;
    let stdlib = sys.getattr("stdlib_module_names")?;
    let version: String = if top == "builtins" || stdlib.contains(&top)? {
        String::from("stdlib")
    } else {
        let m = sys.getattr("modules")?.get_item(&top).ok();
        let declared = m
            .as_ref()
            .and_then(|m| m.getattr_opt("__version__").ok().flatten())
            .and_then(|v| v.extract::<String>().ok());
        match declared {
            Some(v) => v,
            None => m
                .and_then(|m| m.getattr_opt("__file__").ok().flatten())
                .and_then(|f| f.extract::<String>().ok())
                .and_then(|f| {
                    std::fs::metadata(&f).ok().map(|md| {
                        use std::os::unix::fs::MetadataExt;
                        format!("{f}@{}.{}", md.mtime(), md.mtime_nsec())
                    })
                })
                .unwrap_or_else(|| String::from("unknown")),
        }
    };
    let digest = hash(&[top.as_bytes(), version.as_bytes()]);
    VERSIONS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashMap::new)
        .insert(top, digest);
    Ok(digest)
}

/// Which installed copy of a top-level package a name imported inside a
/// function refers to: its origin file with size and modification time
/// (an upgrade rewrites it), found without importing it. `None` for the
/// standard library (the interpreter version covers it) and for names that
/// are not importable.
pub(crate) fn installed_version(py: Python<'_>, top: &str) -> PyResult<Option<String>> {
    let sys = py.import("sys")?;
    if top == "builtins"
        || top == "__main__"
        || sys.getattr("stdlib_module_names")?.contains(top)?
    {
        return Ok(None);
    }
    let spec = match sys.getattr("modules")?.get_item(top) {
        Ok(m) => m.getattr_opt("__spec__")?,
        Err(_) => py
            .import("importlib.util")?
            .getattr("find_spec")?
            .call1((top,))
            .ok(),
    };
    let Some(origin) = spec
        .filter(|s| !s.is_none())
        .and_then(|s| s.getattr("origin").ok())
        .and_then(|o| o.extract::<String>().ok())
    else {
        return Ok(None);
    };
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(&origin)
        .ok()
        .map(|md| format!("{origin}@{}.{}:{}", md.mtime(), md.mtime_nsec(), md.size())))
}

pub(crate) fn str_attr(obj: &Bound<'_, PyAny>, name: &str) -> String {
    obj.getattr_opt(name)
        .ok()
        .flatten()
        .and_then(|v| v.extract::<String>().ok())
        .unwrap_or_default()
}

/// The code identity of a function that rote did not wrap: its registered
/// identity (rewritten source) when it has one, else a digest of its code's
/// structure (see [`code_digest`]).
pub(crate) fn function_identity(rt: &Runtime, f: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    let name = format!(
        "{}.{}",
        canonical_module(&str_attr(f, "__module__")),
        str_attr(f, "__qualname__")
    );
    if let Some(id) = rt.identity_of(&name) {
        return Ok(id);
    }
    let mut h = blake3::Hasher::new();
    h.update(b"rote code v1\0");
    put_part(&mut h, name.as_bytes());
    code_digest(&mut h, &f.getattr("__code__")?)?;
    Ok(*h.finalize().as_bytes())
}

pub(crate) fn put_part(h: &mut blake3::Hasher, part: &[u8]) {
    h.update(&(part.len() as u64).to_le_bytes());
    h.update(part);
}

/// A code object's structure and that of the code nested in it, without
/// line numbers or file name: instructions, exception table, names, counts,
/// flags, constants. Not its marshal form, which records how often objects
/// are shared and so differs between code compiled afresh and code loaded
/// from rote's compiled cache.
fn code_digest(h: &mut blake3::Hasher, code: &Bound<'_, PyAny>) -> PyResult<()> {
    h.update(b"code");
    for attr in ["co_code", "co_exceptiontable"] {
        put_part(
            h,
            code.getattr(attr)?
                .cast::<pyo3::types::PyBytes>()?
                .as_bytes(),
        );
    }
    for attr in ["co_names", "co_varnames", "co_freevars", "co_cellvars"] {
        let names = code.getattr(attr)?;
        let names = names.cast::<PyTuple>()?;
        put_part(h, &(names.len() as u64).to_le_bytes());
        for n in names.iter() {
            put_part(h, n.cast::<PyString>()?.to_cow()?.as_bytes());
        }
    }
    put_part(h, str_attr(code, "co_name").as_bytes());
    for attr in [
        "co_argcount",
        "co_posonlyargcount",
        "co_kwonlyargcount",
        "co_flags",
    ] {
        let n: i64 = code.getattr(attr)?.extract()?;
        put_part(h, &n.to_le_bytes());
    }
    let consts = code.getattr("co_consts")?;
    let consts = consts.cast::<PyTuple>()?;
    put_part(h, &(consts.len() as u64).to_le_bytes());
    for c in consts.iter() {
        put_part(h, &const_digest(&c)?);
    }
    Ok(())
}

/// A constant of a code object: code, tuples and frozensets (members in a
/// sorted order: theirs follows the hash seed) by structure, the rest by
/// fingerprint.
fn const_digest(c: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    // SAFETY: type check on a valid object.
    if unsafe { ffi::PyCode_Check(c.as_ptr()) } != 0 {
        code_digest(&mut h, c)?;
    } else if let Ok(t) = c.cast_exact::<PyTuple>() {
        h.update(b"tuple");
        for item in t.iter() {
            put_part(&mut h, &const_digest(&item)?);
        }
    } else if let Ok(s) = c.cast_exact::<pyo3::types::PyFrozenSet>() {
        h.update(b"frozenset");
        let mut members = s
            .iter()
            .map(|m| const_digest(&m))
            .collect::<PyResult<Vec<_>>>()?;
        members.sort_unstable();
        for m in members {
            put_part(&mut h, &m);
        }
    } else {
        h.update(b"value");
        match rote_values::fingerprint(c)? {
            Ok(fp) => put_part(&mut h, &fp),
            // Constants are literals; one without a fingerprint stands by
            // its repr.
            Err(_) => {
                h.update(b"repr");
                put_part(&mut h, c.repr()?.to_cow()?.as_bytes());
            }
        }
    }
    Ok(*h.finalize().as_bytes())
}

/// What a walk found to follow next.
#[derive(Default)]
pub(crate) struct Follow<'py> {
    pub functions: Vec<Bound<'py, PyAny>>,
    /// A project module whose names read by the current code are deps.
    pub module: Option<Bound<'py, PyModule>>,
    /// A library module: its data attributes the code names (`sys.argv`,
    /// `os.environ`) are deps.
    pub library: Option<Bound<'py, PyModule>>,
}

/// Whether a value is code or a namespace (followed or versioned), rather
/// than data.
fn is_code(value: &Bound<'_, PyAny>) -> bool {
    // SAFETY: type checks on a valid object.
    unsafe {
        let p = value.as_ptr();
        ffi::PyFunction_Check(p) != 0
            || ffi::PyModule_Check(p) != 0
            || ffi::PyType_Check(p) != 0
            || ffi::PyCFunction_Check(p) != 0
    }
}

/// `os.environ` is fingerprinted as the dict of its items, sorted; or, when
/// its reads are watched one by one (each variable read is a dependency of
/// its own), as the same constant whatever it holds.
fn environ_fingerprint(value: &Bound<'_, PyAny>) -> PyResult<Option<[u8; 32]>> {
    let ty = value.get_type();
    if ty.qualname()?.to_cow()? != "_Environ" || str_attr(ty.as_any(), "__module__") != "os" {
        return Ok(None);
    }
    if crate::clib::environ_watched() {
        return Ok(Some(
            *blake3::hash(b"rote: os.environ, read by read").as_bytes(),
        ));
    }
    let py = value.py();
    let items = py
        .import("builtins")?
        .getattr("sorted")?
        .call1((value.call_method0("items")?,))?;
    let d = PyDict::new(py);
    for item in items.try_iter()? {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
        d.set_item(k, v)?;
    }
    Ok(rote_values::fingerprint(d.as_any())?.ok())
}

/// Classifies one global value; `Err(kind)` when it has no reliable
/// fingerprint.
pub(crate) fn classify<'py>(
    rt: &Runtime,
    value: &Bound<'py, PyAny>,
    follow: &mut Follow<'py>,
) -> PyResult<Result<Fingerprint, String>> {
    let py = value.py();
    if let Ok(w) = value.cast::<Wrapped>() {
        let w = w.get();
        follow.functions.push(w.func.bind(py).clone());
        return Ok(Ok(tagged(b'c', &w.identity)));
    }
    // SAFETY: type checks on a valid object.
    let (is_function, is_module, is_type, is_builtin) = unsafe {
        let p = value.as_ptr();
        (
            ffi::PyFunction_Check(p) != 0,
            ffi::PyModule_Check(p) != 0,
            ffi::PyType_Check(p) != 0,
            ffi::PyCFunction_Check(p) != 0,
        )
    };
    if is_module {
        let name = str_attr(value, "__name__");
        if rt.is_project_module(&name) {
            follow.module = Some(value.clone().cast_into::<PyModule>()?);
            return Ok(Ok(tagged(b'p', &hash(&[name.as_bytes()]))));
        }
        follow.library = Some(value.clone().cast_into::<PyModule>()?);
        return Ok(Ok(tagged(b'm', &module_version(py, &name)?)));
    }
    if let Some(fp) = environ_fingerprint(value)? {
        return Ok(Ok(tagged(b'v', &fp)));
    }
    if is_function || (!is_type && underlying_function(value).is_some() && value.is_callable()) {
        let f = if is_function {
            value.clone()
        } else {
            underlying_function(value).expect("checked")
        };
        let module = str_attr(&f, "__module__");
        if rt.is_project_module(&module) {
            let id = function_identity(rt, &f)?;
            follow.functions.push(f);
            return Ok(Ok(tagged(b'c', &id)));
        }
        return Ok(Ok(tagged(b'm', &module_version(py, &module)?)));
    }
    if is_type {
        let module = str_attr(value, "__module__");
        if rt.is_project_module(&module) {
            let qualname = str_attr(value, "__qualname__");
            let name = format!("{}.{qualname}", canonical_module(&module));
            let id = rt
                .identity_of(&name)
                .unwrap_or_else(|| hash(&[b"class", name.as_bytes()]));
            let ty = value.cast::<PyType>()?;
            let dict = ty.getattr("__dict__")?;
            for item in dict.call_method0("values")?.try_iter()? {
                if let Some(f) = underlying_function(&item?) {
                    follow.functions.push(f);
                }
            }
            return Ok(Ok(tagged(b'c', &id)));
        }
        return Ok(Ok(tagged(b'm', &module_version(py, &module)?)));
    }
    if is_builtin {
        return Ok(Ok(tagged(
            b'm',
            &module_version(py, &str_attr(value, "__module__"))?,
        )));
    }
    // Data: functions and classes inside it count by their code, and the
    // project's ones are followed like the function's own.
    let mut digester = crate::argfp::ArgDigester::new(rt);
    let fp = digester.fingerprint(value)?;
    follow
        .functions
        .extend(digester.functions.into_iter().map(|f| f.into_bound(py)));
    Ok(fp.map(|fp| tagged(b'v', &fp)))
}

/// Classifies the value a dependency name holds into `out` and queues the
/// project functions it reaches; a value without a fingerprint is a refusal
/// when `strict`, else left out. Returns what else the value leads to.
fn note<'py>(
    rt: &Runtime,
    out: &mut BTreeMap<String, Fingerprint>,
    work: &mut Vec<Bound<'py, PyAny>>,
    dep_name: String,
    value: &Bound<'py, PyAny>,
    strict: bool,
) -> PyResult<Result<Follow<'py>, String>> {
    let mut follow = Follow::default();
    match classify(rt, value, &mut follow)? {
        Ok(fp) => {
            out.insert(dep_name, fp);
        }
        Err(kind) if strict => {
            return Ok(Err(format!(
                "global not fingerprintable: {}",
                short(&dep_name, &kind)
            )));
        }
        Err(_) => {}
    }
    work.append(&mut follow.functions);
    Ok(Ok(follow))
}

/// Every global the calls of `roots` may read, transitively through project
/// code; `Err(reason)` when one of them cannot be fingerprinted.
pub(crate) fn collect<'py>(
    rt: &Runtime,
    roots: Vec<Bound<'py, PyAny>>,
) -> PyResult<Result<Vec<Dep>, String>> {
    let py = match roots.first() {
        Some(r) => r.py(),
        None => return Ok(Ok(Vec::new())),
    };
    let builtins = py.import("builtins")?.dict();
    let modules = py
        .import("sys")?
        .getattr("modules")?
        .cast_into::<PyDict>()?;
    let mut distributions: BTreeMap<String, String> = BTreeMap::new();
    let mut out: BTreeMap<String, Fingerprint> = BTreeMap::new();
    let mut visited: HashSet<usize> = HashSet::new();
    let mut work: Vec<Bound<'py, PyAny>> = roots
        .iter()
        .filter_map(|r| underlying_function(r))
        .collect();
    while let Some(f) = work.pop() {
        if !visited.insert(f.as_ptr() as usize) {
            continue;
        }
        let names = code_names(&f.getattr("__code__")?)?;
        let globals = f.getattr("__globals__")?.cast_into::<PyDict>()?;
        let module = globals
            .get_item("__name__")?
            .and_then(|m| m.extract::<String>().ok())
            .unwrap_or_default();
        let module = canonical_module(&module).to_owned();
        // `os.getenv(...)`, `getenv` imported alone, `environ` reached some
        // other way: the environment is a dependency (unless each read is
        // one, see `clib::environ_read`).
        if !crate::clib::environ_watched()
            && !out.contains_key("os.environ")
            && names
                .iter()
                .any(|n| matches!(n.bind(py).to_cow().as_deref(), Ok("getenv" | "environ")))
        {
            let environ = py.import("os")?.getattr("environ")?;
            if let Some(fp) = environ_fingerprint(&environ)? {
                out.insert("os.environ".to_owned(), tagged(b'v', &fp));
            }
        }
        for name in names.iter() {
            let name = name.bind(py);
            let dep_name = format!("{module}.{}", name.to_cow()?);
            if out.contains_key(&dep_name) {
                continue;
            }
            let Some(value) = globals.get_item(name)? else {
                if builtins.contains(name)? {
                    out.insert(dep_name, tagged(b'b', &[0; 32]));
                } else if modules.contains(name)? {
                    // `import numpy` inside the function: a local name,
                    // so no global; the installed version is the dependency.
                    let top = name.to_cow()?.into_owned();
                    if !distributions.contains_key(&top) {
                        if let Some(version) = installed_version(py, &top)? {
                            distributions.insert(top, version);
                        }
                    }
                }
                continue;
            };
            let follow = match note(rt, &mut out, &mut work, dep_name, &value, true)? {
                Ok(follow) => follow,
                Err(reason) => return Ok(Err(reason)),
            };
            // Names read through a module: one of the project's
            // (`helpers.THRESHOLD`, followed like the function's own globals)
            // or a library's data (`sys.argv`, `os.environ`, `math.pi`, whose
            // internals without a fingerprint are the library's business, not
            // a refusal).
            for (m, library) in [(follow.module, false), (follow.library, true)] {
                let Some(m) = m else { continue };
                let mname = canonical_module(&str_attr(&m, "__name__")).to_owned();
                let mdict = m.dict();
                for attr in names.iter() {
                    let attr = attr.bind(py);
                    let Some(v) = mdict.get_item(attr)? else {
                        continue;
                    };
                    let dn = format!("{mname}.{}", attr.to_cow()?);
                    if out.contains_key(&dn)
                        || (library && (is_code(&v) || v.is_instance_of::<Wrapped>()))
                    {
                        continue;
                    }
                    if let Err(reason) = note(rt, &mut out, &mut work, dn, &v, !library)? {
                        return Ok(Err(reason));
                    }
                }
            }
        }
    }
    Ok(Ok(out
        .into_iter()
        .map(|(name, fp)| Dep::Global {
            name,
            fingerprint: fp.to_vec(),
        })
        .chain(
            distributions
                .into_iter()
                .map(|(name, version)| Dep::Distribution { name, version }),
        )
        .collect()))
}

/// `__main__.X` is shown as `X`; the refusal kind is left to the log.
fn short<'a>(dep_name: &'a str, _kind: &str) -> &'a str {
    dep_name.strip_prefix("__main__.").unwrap_or(dep_name)
}

/// The current fingerprint of the global a dependency names, `None` when it
/// no longer exists or has no fingerprint.
pub(crate) fn current(
    py: Python<'_>,
    rt: &Runtime,
    dep_name: &str,
) -> PyResult<Option<Fingerprint>> {
    let Some((module, attr)) = dep_name.rsplit_once('.') else {
        return Ok(None);
    };
    let modules = py.import("sys")?.getattr("modules")?;
    let Ok(m) = modules.get_item(module) else {
        return Ok(None);
    };
    let Ok(dict) = m.getattr("__dict__") else {
        return Ok(None);
    };
    let dict = dict.cast_into::<PyDict>()?;
    match dict.get_item(attr)? {
        Some(v) => {
            let mut follow = Follow::default();
            Ok(classify(rt, &v, &mut follow)?.ok())
        }
        None => {
            let builtins = py.import("builtins")?.dict();
            Ok(builtins.contains(attr)?.then(|| tagged(b'b', &[0; 32])))
        }
    }
}

/// Fingerprints of the data globals a function's own code names, to tell
/// afterwards whether the call changed one of them.
pub(crate) fn own_data<'py>(func: &Bound<'py, PyAny>) -> PyResult<Vec<(String, [u8; 32])>> {
    let Some(f) = underlying_function(func) else {
        return Ok(Vec::new());
    };
    let names = code_names(&f.getattr("__code__")?)?;
    let globals = f.getattr("__globals__")?.cast_into::<PyDict>()?;
    let mut out = Vec::new();
    for name in names.iter() {
        let name = name.bind(f.py());
        let Some(v) = globals.get_item(name)? else {
            continue;
        };
        let skip = is_code(&v) || v.is_instance_of::<Wrapped>();
        if skip {
            continue;
        }
        if let Ok(fp) = rote_values::fingerprint(&v)? {
            out.push((name.to_cow()?.into_owned(), fp));
        }
    }
    Ok(out)
}

/// The first of `before` whose value changed, by name.
pub(crate) fn changed<'py>(
    func: &Bound<'py, PyAny>,
    before: &[(String, [u8; 32])],
) -> PyResult<Option<String>> {
    if before.is_empty() {
        return Ok(None);
    }
    let after = own_data(func)?;
    for (name, fp) in before {
        if !after.iter().any(|(n, f)| n == name && f == fp) {
            return Ok(Some(name.clone()));
        }
    }
    Ok(None)
}

/// Addresses of the mutable objects a call could hand back by reference:
/// its arguments and the data globals its code names, and their items one
/// level down.
pub(crate) fn reachable_mutables(
    func: &Bound<'_, PyAny>,
    args: &[&Bound<'_, PyAny>],
) -> PyResult<HashSet<usize>> {
    let mut out = HashSet::new();
    let add = |v: &Bound<'_, PyAny>, out: &mut HashSet<usize>| -> PyResult<()> {
        if is_mutable(v) {
            out.insert(v.as_ptr() as usize);
        }
        for child in children(v)? {
            if is_mutable(&child) {
                out.insert(child.as_ptr() as usize);
            }
        }
        Ok(())
    };
    for a in args {
        add(a, &mut out)?;
    }
    if let Some(f) = underlying_function(func) {
        let names = code_names(&f.getattr("__code__")?)?;
        let globals = f.getattr("__globals__")?.cast_into::<PyDict>()?;
        for name in names.iter() {
            if let Some(v) = globals.get_item(name.bind(f.py()))? {
                if !is_code(&v) && !v.is_instance_of::<Wrapped>() {
                    add(&v, &mut out)?;
                }
            }
        }
    }
    Ok(out)
}

/// Whether the value returned is (or holds, one level down, or is a numpy
/// view of) one of `reachable`: python's caller would share it, a hit would
/// hand back a copy.
pub(crate) fn aliases(value: &Bound<'_, PyAny>, reachable: &HashSet<usize>) -> PyResult<bool> {
    let hit = |v: &Bound<'_, PyAny>| -> bool {
        reachable.contains(&(v.as_ptr() as usize))
            || (v
                .get_type()
                .name()
                .is_ok_and(|n| n.to_cow().is_ok_and(|n| n == "ndarray"))
                && v.getattr("base")
                    .is_ok_and(|b| !b.is_none() && reachable.contains(&(b.as_ptr() as usize))))
    };
    if hit(value) {
        return Ok(true);
    }
    Ok(children(value)?.iter().any(hit))
}

fn is_mutable(v: &Bound<'_, PyAny>) -> bool {
    use pyo3::types::{PyBool, PyBytes, PyFloat, PyFrozenSet, PyInt};
    !(v.is_none()
        || v.is_instance_of::<PyBool>()
        || v.is_instance_of::<PyInt>()
        || v.is_instance_of::<PyFloat>()
        || v.is_instance_of::<PyString>()
        || v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyTuple>()
        || v.is_instance_of::<PyFrozenSet>()
        || is_code(v))
}

/// Items of exact lists, tuples, dicts (values) and sets, up to a bound.
fn children<'py>(v: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    use pyo3::types::{PyList, PySet};
    const MAX: usize = 10_000;
    let mut out = Vec::new();
    if let Ok(l) = v.cast::<PyList>() {
        out.extend(l.iter().take(MAX));
    } else if let Ok(t) = v.cast::<PyTuple>() {
        out.extend(t.iter().take(MAX));
    } else if let Ok(d) = v.cast::<PyDict>() {
        out.extend(d.values().iter().take(MAX));
    } else if let Ok(s) = v.cast::<PySet>() {
        out.extend(s.iter().take(MAX));
    }
    Ok(out)
}
