//! Binding a call's arguments to the function's parameters, defaults
//! applied, so that `f(1)`, `f(x=1)` and `f()` with default `x=1` are one
//! call. Whatever this cannot bind exactly is left to Python (the call runs
//! uncached and raises its own `TypeError` where it must).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

const CO_VARARGS: u32 = 0x04;
const CO_VARKEYWORDS: u32 = 0x08;

/// The parameters of a function, read once from its code object.
#[derive(Debug)]
pub(crate) struct Params {
    /// Positional (and positional-or-keyword) parameter names.
    positional: Vec<Py<PyString>>,
    posonly: usize,
    kwonly: Vec<Py<PyString>>,
    varargs: Option<Py<PyString>>,
    varkw: Option<Py<PyString>>,
}

/// One bound parameter: its name and value; `*args` is a tuple, `**kwargs`
/// a dict sorted by key.
pub(crate) type BoundArgs<'py> = Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)>;

impl Params {
    pub fn of(func: &Bound<'_, PyAny>) -> PyResult<Params> {
        let code = func.getattr("__code__")?;
        let argcount: usize = code.getattr("co_argcount")?.extract()?;
        let posonly: usize = code.getattr("co_posonlyargcount")?.extract()?;
        let kwonlycount: usize = code.getattr("co_kwonlyargcount")?.extract()?;
        let flags: u32 = code.getattr("co_flags")?.extract()?;
        let names = code.getattr("co_varnames")?.cast_into::<PyTuple>()?;
        let name = |i: usize| -> PyResult<Py<PyString>> {
            Ok(names.get_item(i)?.cast_into::<PyString>()?.unbind())
        };
        let positional = (0..argcount).map(name).collect::<PyResult<Vec<_>>>()?;
        let kwonly = (argcount..argcount + kwonlycount)
            .map(name)
            .collect::<PyResult<Vec<_>>>()?;
        let mut next = argcount + kwonlycount;
        let varargs = if flags & CO_VARARGS != 0 {
            next += 1;
            Some(name(next - 1)?)
        } else {
            None
        };
        let varkw = if flags & CO_VARKEYWORDS != 0 {
            Some(name(next)?)
        } else {
            None
        };
        Ok(Params {
            positional,
            posonly,
            kwonly,
            varargs,
            varkw,
        })
    }

    /// The bound arguments in parameter order, or `None` when the call does
    /// not bind (Python will raise).
    pub fn bind<'py>(
        &self,
        func: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Option<BoundArgs<'py>>> {
        let py = func.py();
        let npos = self.positional.len();
        let mut values: Vec<Option<Bound<'py, PyAny>>> = vec![None; npos + self.kwonly.len()];
        let nargs = args.len();
        for (i, slot) in values.iter_mut().take(npos.min(nargs)).enumerate() {
            *slot = Some(args.get_item(i)?);
        }
        if nargs > npos && self.varargs.is_none() {
            return Ok(None);
        }
        let extra_pos = if nargs > npos {
            args.get_slice(npos, nargs)
        } else {
            PyTuple::empty(py)
        };
        let mut extra_kw: Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)> = Vec::new();
        if let Some(kwargs) = kwargs {
            for (k, v) in kwargs.iter() {
                let k = k.cast_into::<PyString>()?;
                let kstr = k.to_cow()?;
                let same = |n: &Bound<'py, PyString>, k: &Bound<'py, PyString>| {
                    n.is(k) || n.to_cow().is_ok_and(|n| n == kstr)
                };
                let slot = self.positional[self.posonly..]
                    .iter()
                    .position(|n| same(n.bind(py), &k))
                    .map(|i| i + self.posonly)
                    .or_else(|| {
                        self.kwonly
                            .iter()
                            .position(|n| same(n.bind(py), &k))
                            .map(|i| i + npos)
                    });
                match slot {
                    Some(i) if values[i].is_some() => return Ok(None),
                    Some(i) => values[i] = Some(v),
                    None if self.varkw.is_some() => extra_kw.push((k, v)),
                    None => return Ok(None),
                }
            }
        }
        // Defaults: read at call time, since they can be reassigned.
        let defaults = func.getattr("__defaults__")?;
        if !defaults.is_none() {
            let defaults = defaults.cast_into::<PyTuple>()?;
            let first = npos.saturating_sub(defaults.len());
            for (j, slot) in values[first..npos].iter_mut().enumerate() {
                if slot.is_none() {
                    *slot = Some(defaults.get_item(j)?);
                }
            }
        }
        let kwdefaults = func.getattr("__kwdefaults__")?;
        if !kwdefaults.is_none() {
            let kwdefaults = kwdefaults.cast_into::<PyDict>()?;
            for (name, slot) in self.kwonly.iter().zip(values[npos..].iter_mut()) {
                if slot.is_none() {
                    *slot = kwdefaults.get_item(name.bind(py))?;
                }
            }
        }
        let names = self.positional.iter().chain(self.kwonly.iter());
        let mut out = Vec::with_capacity(values.len() + 2);
        for (name, value) in names.zip(values) {
            match value {
                Some(v) => out.push((name.bind(py).clone(), v)),
                None => return Ok(None),
            }
        }
        if let Some(name) = &self.varargs {
            out.push((name.bind(py).clone(), extra_pos.into_any()));
        }
        if let Some(name) = &self.varkw {
            extra_kw.sort_by(|a, b| a.0.to_cow().ok().cmp(&b.0.to_cow().ok()));
            let d = PyDict::new(py);
            for (k, v) in extra_kw {
                d.set_item(k, v)?;
            }
            out.push((name.bind(py).clone(), d.into_any()));
        }
        Ok(Some(out))
    }
}
