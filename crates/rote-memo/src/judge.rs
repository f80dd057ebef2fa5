//! The verdict on a call that ran: whether it may be stored (slow enough,
//! pure, its inputs unchanged, its value serializable and not a reference to
//! its inputs) and what it depended on, resolved to digests.

use std::sync::atomic::Ordering;
use std::time::Duration;

use pyo3::prelude::*;
use rote_store::{Dep, Key, NewEntry, NewOutput, Store};

use crate::argfp::ArgDigester;
use crate::frame::{self, Frame};
use crate::globals;
use crate::runtime::Runtime;
use crate::validate;
use crate::wrapper::{Wrapped, store_warning};

/// Calls shorter than this fraction of the minimum duration count as far
/// too fast; after [`FAST_LIMIT`] of them with nothing stored, the function
/// stops being a candidate for the rest of the run (IncPy's rule).
const FAST_FRACTION: u32 = 20;
const FAST_LIMIT: u32 = 5;

/// Digests of the files the call read, listings of the directories it
/// listed, the paths it looked for and did not find.
pub(crate) fn resolve_files(store: &Store, fr: &mut Frame) -> Vec<Dep> {
    let mut out = Vec::new();
    for path in std::mem::take(&mut fr.stats) {
        if fr.reads.contains(&path) {
            continue;
        }
        out.push(Dep::Meta {
            path: path.to_string_lossy().into_owned(),
            digest: crate::validate::meta_digest(&path).to_vec(),
        });
    }
    for path in std::mem::take(&mut fr.reads) {
        let text = path.to_string_lossy().into_owned();
        match store.file_digest(&path) {
            Ok(d) => out.push(Dep::FileRead {
                path: text,
                digest: d.digest.to_vec(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                out.push(Dep::Missing { path: text })
            }
            Err(err) if path.is_dir() => {
                // open() of a directory fails; its existence is what counted.
                tracing::debug!(%err, path = %text, "opened a directory");
                out.push(Dep::Listing {
                    digest: crate::audit::listing_digest(&path)
                        .map(|d| d.to_vec())
                        .unwrap_or_default(),
                    path: text,
                });
            }
            Err(err) => fr.taint("unreadable file", format!("{text}: {err}")),
        }
    }
    // Looked for and not found, even if the call then made it (its output,
    // its output's directory): a call that found it there might have done
    // otherwise (`if not os.path.exists(out): ...`), so the next lookup
    // that finds it misses (`file appeared`) and runs the call once more.
    for path in std::mem::take(&mut fr.missing) {
        out.push(Dep::Missing {
            path: path.to_string_lossy().into_owned(),
        });
    }
    for path in std::mem::take(&mut fr.listings) {
        let text = path.to_string_lossy().into_owned();
        match crate::audit::listing_digest(&path) {
            Some(d) => out.push(Dep::Listing {
                path: text,
                digest: d.to_vec(),
            }),
            None => out.push(Dep::Missing { path: text }),
        }
    }
    for name in std::mem::take(&mut fr.env) {
        out.push(Dep::Env {
            digest: crate::validate::env_digest(&name).to_vec(),
            name,
        });
    }
    if let Some(cwd) = fr.cwd.take() {
        out.push(Dep::Cwd {
            path: cwd.to_string_lossy().into_owned(),
        });
    }
    out
}

/// Why a call is not stored: a stable reason and a detail for `-v`.
pub(crate) type Refusal = (String, String);

/// The files the call wrote from scratch and closed, with their content:
/// its self-contained outputs, kept with the entry and put back on a hit.
/// Refused: a file still open (the call's writing may not be over), a
/// directory made that holds none of them (a hit would not make it).
pub(crate) fn outputs(fr: &Frame) -> Result<Vec<(String, Vec<u8>)>, Refusal> {
    if fr.writes.is_empty() && fr.dirs_made.is_empty() {
        return Ok(Vec::new());
    }
    let open = open_files();
    let mut out = Vec::new();
    for path in &fr.writes {
        let shown = || path.display().to_string();
        if open.contains(path) {
            return Err((
                format!("writes file left open: {}", frame::file_name(path)),
                shown(),
            ));
        }
        match std::fs::read(path) {
            Ok(content) => out.push((path.to_string_lossy().into_owned(), content)),
            // Gone by the end (a temp file removed some way not seen): as
            // in a plain run, there is nothing to put back.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err((
                    "output unreadable".to_owned(),
                    format!("{}: {err}", shown()),
                ));
            }
        }
    }
    for dir in &fr.dirs_made {
        if !fr.writes.iter().any(|w| w.starts_with(dir)) {
            return Err((
                format!("makes directory: {}", frame::file_name(dir)),
                dir.display().to_string(),
            ));
        }
    }
    Ok(out)
}

/// The files this process holds open (what `/proc/self/fd` links to).
fn open_files() -> std::collections::HashSet<std::path::PathBuf> {
    std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Decides whether a call that returned may be stored, and stores it.
/// `Ok(Ok(size))` when stored; `Ok(Err((reason, detail)))` otherwise.
#[allow(clippy::too_many_arguments)]
pub(crate) fn judge<'py>(
    rt: &Runtime,
    store: &Store,
    w: &Wrapped,
    func: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
    bound: &crate::bind::BoundArgs<'py>,
    arg_fps: &[[u8; 32]],
    own_before: &[(String, [u8; 32])],
    fr: &mut Frame,
    file_deps: &[Dep],
    printed: Vec<Dep>,
    elapsed: Duration,
    key: Key,
    args_digest: [u8; 32],
) -> PyResult<Result<u64, (String, String)>> {
    if let Some(imp) = fr.impure.as_ref().or(fr.local.as_ref()) {
        return Ok(Err((imp.reason.clone(), imp.detail.clone())));
    }
    let min = w.min_duration(rt);
    if elapsed < min {
        if elapsed < min / FAST_FRACTION {
            let n = w.fast.fetch_add(1, Ordering::Relaxed) + 1;
            if n >= FAST_LIMIT && !w.stored_any.load(Ordering::Relaxed) {
                w.disabled.store(true, Ordering::Relaxed);
                rt.decision(format_args!(
                    "{} is too fast to be worth caching; not a candidate for the rest of this run",
                    w.name
                ));
            }
        }
        return Ok(Err((
            "too fast".to_owned(),
            format!("{:.3} s", elapsed.as_secs_f64()),
        )));
    }
    let outputs = match outputs(fr) {
        Ok(o) => o,
        Err(why) => return Ok(Err(why)),
    };
    let encoded = match rote_values::encode(value)? {
        Ok(e) => e,
        Err(refused) => return Ok(Err((refused.reason, String::new()))),
    };
    let mut digester = ArgDigester::new(rt);
    for ((name, v), before) in bound.iter().zip(arg_fps) {
        if digester.fingerprint(v)?.ok().as_ref() != Some(before) {
            return Ok(Err((
                "mutates argument".to_owned(),
                name.to_cow()?.into_owned(),
            )));
        }
    }
    if let Some(name) = globals::changed(func, own_before)? {
        return Ok(Err((format!("mutates global: {name}"), String::new())));
    }
    let mut roots = vec![func.clone()];
    roots.extend(fr.callees.iter().map(|c| c.bind(func.py()).clone()));
    let global_deps = match globals::collect(rt, roots)? {
        Ok(d) => d,
        Err(reason) => return Ok(Err((reason, String::new()))),
    };
    // Callees first: an edit shows as `callee changed`, not as the global
    // that holds the callee.
    let mut deps = vec![w.own_dep()];
    let (code, rest): (Vec<Dep>, Vec<Dep>) = fr
        .deps
        .drain(..)
        .partition(|d| matches!(d, Dep::Code { .. }));
    deps.extend(code);
    deps.extend(global_deps);
    deps.extend(rest);
    deps.extend(file_deps.iter().cloned());
    deps.push(Dep::Interpreter {
        version: validate::interpreter_version(func.py()),
    });
    deps.push(Dep::Arguments {
        digest: args_digest.to_vec(),
    });
    deps.extend(printed);
    for (path, content) in &outputs {
        deps.push(Dep::FileWritten {
            path: path.clone(),
            digest: blake3::hash(content).as_bytes().to_vec(),
        });
    }
    let new_outputs: Vec<NewOutput<'_>> = outputs
        .iter()
        .map(|(path, content)| NewOutput { path, content })
        .collect();
    let size = encoded.len() as u64;
    let parts = encoded.parts();
    let entry = NewEntry {
        key,
        function: &w.name,
        serializer: encoded.serializer.name(),
        value: &parts,
        compute: elapsed,
        deps: &deps,
        outputs: &new_outputs,
    };
    // Keep the deps for the enclosing call (minus the ones it gets anyway).
    fr.deps = deps
        .iter()
        .filter(|d| {
            !matches!(
                d,
                Dep::Printed { .. } | Dep::Interpreter { .. } | Dep::Arguments { .. }
            )
        })
        .cloned()
        .collect();
    match store.insert(&entry) {
        Ok(true) => Ok(Ok(size)),
        Ok(false) => Ok(Err((
            "too large".to_owned(),
            rote_config::format_size(size),
        ))),
        Err(err) => {
            store_warning(&err);
            Ok(Err(("cache write failed".to_owned(), err.to_string())))
        }
    }
}
