//! Argument fingerprints, functions included: a function passed to a call
//! (alone, in a container, or inside a pickled object; a lambda, a nested
//! function, a `functools.partial`, a bound method, a builtin) stands in the
//! key for its code identity, its defaults and its closure cells, never for
//! its name. Project functions met this way are also handed to the judge,
//! which records the globals they read, so that editing a constant a lambda
//! reads misses too.

use std::collections::HashSet;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyTuple};

use crate::globals::{self, put_part, str_attr};
use crate::runtime::Runtime;
use crate::wrapper::Wrapped;

/// Fingerprints arguments, remembering the project functions met.
pub(crate) struct ArgDigester<'a> {
    rt: &'a Runtime,
    /// Project functions found in the arguments, for the judge.
    pub(crate) functions: Vec<Py<PyAny>>,
    /// Functions being digested: a closure that holds its own function
    /// (a recursive nested function) meets it again.
    open: HashSet<usize>,
}

/// How deep functions may hold functions (closures, partials, wrappers)
/// before the argument is refused: deeper is a loop through fresh objects.
const MAX_DEPTH: usize = 64;

impl<'a> ArgDigester<'a> {
    pub(crate) fn new(rt: &'a Runtime) -> ArgDigester<'a> {
        ArgDigester {
            rt,
            functions: Vec::new(),
            open: HashSet::new(),
        }
    }

    /// The fingerprint of one argument, or what makes it have none.
    pub(crate) fn fingerprint(
        &mut self,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<Result<[u8; 32], String>> {
        if let Ok(w) = value.cast::<Wrapped>() {
            let mut h = blake3::Hasher::new();
            h.update(b"rote wrapped function\0");
            h.update(&w.get().identity);
            return Ok(Ok(*h.finalize().as_bytes()));
        }
        self.digest(value)
    }

    /// `value`'s fingerprint, with the functions in it digested by
    /// [`Self::function`].
    fn digest(&mut self, value: &Bound<'_, PyAny>) -> PyResult<Result<[u8; 32], String>> {
        let mut hook = |f: &Bound<'_, PyAny>| self.function(f);
        Ok(rote_values::fingerprint_with(value, &mut hook)?.map_err(|r| r.reason))
    }

    fn function(&mut self, f: &Bound<'_, PyAny>) -> PyResult<Result<[u8; 32], String>> {
        let id = f.as_ptr() as usize;
        if !self.open.insert(id) {
            return Ok(Ok(*blake3::hash(b"rote function: itself").as_bytes()));
        }
        if self.open.len() > MAX_DEPTH {
            self.open.remove(&id);
            return Ok(Err("function: nested too deep".to_owned()));
        }
        let digest = self.function_inner(f);
        self.open.remove(&id);
        digest
    }

    fn function_inner(&mut self, f: &Bound<'_, PyAny>) -> PyResult<Result<[u8; 32], String>> {
        let py = f.py();
        let mut h = blake3::Hasher::new();
        h.update(b"rote function argument v1\0");
        if let Ok(w) = f.cast::<Wrapped>() {
            put(&mut h, b"wrapped", &w.get().identity);
            // The function it wraps may be a closure: its cells count.
            let inner = w.get().func.bind(py).clone();
            match self.extras(&inner)? {
                Ok(d) => put(&mut h, b"extras", &d),
                Err(reason) => return Ok(Err(reason)),
            }
            return Ok(Ok(*h.finalize().as_bytes()));
        }
        let types = py.import("types")?;
        let functools = py.import("functools")?;
        // SAFETY: type checks on a valid object.
        let (is_function, is_builtin, is_type) = unsafe {
            (
                ffi::PyFunction_Check(f.as_ptr()) != 0,
                ffi::PyCFunction_Check(f.as_ptr()) != 0,
                ffi::PyType_Check(f.as_ptr()) != 0,
            )
        };
        let parts: Vec<(&[u8], Bound<'_, PyAny>)> = if is_function {
            let module = str_attr(f, "__module__");
            let qualname = str_attr(f, "__qualname__");
            if self.rt.is_project_module(&module) {
                put(&mut h, b"project", &globals::function_identity(self.rt, f)?);
                self.functions.push(f.clone().unbind());
                match self.extras(f)? {
                    Ok(d) => put(&mut h, b"extras", &d),
                    Err(reason) => return Ok(Err(reason)),
                }
            } else {
                // A library's function (a pickle's reconstructor, say) is
                // what its installed version makes it; one made at run time
                // (a lambda, a closure a library function returned) also
                // by what it captured.
                put(&mut h, b"library", &globals::module_version(py, &module)?);
                h.update(format!("{module}.{qualname}").as_bytes());
                if qualname.contains('<') {
                    match self.extras(f)? {
                        Ok(d) => put(&mut h, b"extras", &d),
                        Err(reason) => return Ok(Err(reason)),
                    }
                }
            }
            Vec::new()
        } else if f.is_instance(&types.getattr("MethodType")?)? {
            vec![
                (b"func", f.getattr("__func__")?),
                (b"self", f.getattr("__self__")?),
            ]
        } else if f.get_type().is(&functools.getattr("partial")?) {
            vec![
                (b"func", f.getattr("func")?),
                (b"args", f.getattr("args")?),
                (b"keywords", f.getattr("keywords")?),
            ]
        } else if is_builtin {
            // A clock handed in (`run(step, clock=time.perf_counter)`): its
            // calls go through a site no watch covers.
            if let Some(name) = crate::calls::impure_name(py, f.as_ptr() as usize) {
                return Ok(Err(format!("impure function {name}")));
            }
            let module = str_attr(f, "__module__");
            let owner = f.getattr("__self__")?;
            h.update(format!("{module}.{}", str_attr(f, "__qualname__")).as_bytes());
            if owner.is_none() || owner.cast::<PyModule>().is_ok() {
                let module = if module.is_empty() {
                    str_attr(&owner, "__name__")
                } else {
                    module
                };
                put(&mut h, b"builtin", &globals::module_version(py, &module)?);
                Vec::new()
            } else {
                // A builtin method bound to an object (`d.get`): the object
                // is part of what it does.
                let ty_module = str_attr(owner.get_type().as_any(), "__module__");
                put(
                    &mut h,
                    b"builtin method",
                    &globals::module_version(py, &ty_module)?,
                );
                vec![(b"self", owner)]
            }
        } else if is_type {
            let module = str_attr(f, "__module__");
            h.update(format!("{module}.{}", str_attr(f, "__qualname__")).as_bytes());
            if !self.rt.is_project_module(&module) {
                put(
                    &mut h,
                    b"library class",
                    &globals::module_version(py, &module)?,
                );
                return Ok(Ok(*h.finalize().as_bytes()));
            }
            // A project class is what the code of its methods that rote does
            // not wrap does (properties, static and class methods, cached or
            // otherwise decorated ones), its class-level data, and its
            // bases.
            let dict = f.getattr("__dict__")?;
            let mut items: Vec<(String, Bound<'_, PyAny>)> = Vec::new();
            for item in dict.call_method0("items")?.try_iter()? {
                let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
                if let Ok(k) = k.extract::<String>() {
                    items.push((k, v));
                }
            }
            items.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, value) in items {
                let mut code = vec![value.clone()];
                for accessor in ["fget", "fset", "fdel"] {
                    if let Ok(Some(a)) = value.getattr_opt(accessor) {
                        code.push(a);
                    }
                }
                let mut any_code = false;
                for c in code {
                    // A wrapped method records itself as a callee when it
                    // runs: its code need not be in every caller's key.
                    if c.cast::<Wrapped>().is_ok() {
                        any_code = true;
                        continue;
                    }
                    if let Some(func) = globals::underlying_function(&c) {
                        any_code = true;
                        h.update(name.as_bytes());
                        put(
                            &mut h,
                            b"method",
                            &globals::function_identity(self.rt, &func)?,
                        );
                        self.functions.push(func.unbind());
                    }
                }
                // Class-level data (`rate = 2`) that methods read through
                // `self`; dunders are the interpreter's bookkeeping.
                let dunder = name.starts_with("__") && name.ends_with("__");
                if !any_code && !dunder {
                    match self.digest(&value)? {
                        Ok(d) => {
                            h.update(name.as_bytes());
                            put(&mut h, b"attribute", &d);
                        }
                        Err(reason) => return Ok(Err(reason)),
                    }
                }
            }
            vec![(b"bases", f.getattr("__bases__")?)]
        } else if let Ok(Some(inner)) = f.getattr_opt("__wrapped__") {
            // A wrapper object (`functools.lru_cache`): what it wraps.
            h.update(f.get_type().qualname()?.to_string().as_bytes());
            vec![(b"wrapped", inner)]
        } else {
            let kind = f.get_type().qualname()?.to_string();
            return Ok(Err(format!("function: {kind}")));
        };
        for (tag, part) in parts {
            match self.digest(&part)? {
                Ok(d) => put(&mut h, tag, &d),
                Err(reason) => return Ok(Err(reason)),
            }
        }
        Ok(Ok(*h.finalize().as_bytes()))
    }

    /// The fingerprint of a Python function's defaults, keyword defaults
    /// and closure cells (an empty cell stands as such).
    fn extras(&mut self, f: &Bound<'_, PyAny>) -> PyResult<Result<[u8; 32], String>> {
        let py = f.py();
        let mut cells = Vec::new();
        if let Ok(closure) = f.getattr("__closure__")?.cast::<PyTuple>() {
            for cell in closure.iter() {
                cells.push(match cell.getattr("cell_contents") {
                    Ok(v) => PyTuple::new(py, [v])?.into_any(),
                    // Not yet bound: distinct from a cell holding None.
                    Err(_) => PyTuple::empty(py).into_any(),
                });
            }
        }
        let all = PyTuple::new(
            py,
            [
                f.getattr("__defaults__")?,
                f.getattr("__kwdefaults__")?,
                PyTuple::new(py, cells)?.into_any(),
            ],
        )?;
        self.digest(all.as_any())
    }
}

/// A tagged digest: the tag, length-prefixed, then the digest.
fn put(h: &mut blake3::Hasher, tag: &[u8], digest: &[u8; 32]) {
    put_part(h, tag);
    h.update(digest);
}
