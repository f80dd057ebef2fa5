//! Re-validating a stored entry's dependencies before it is served: any
//! difference is a miss whose reason names it.

use std::path::Path;

use pyo3::prelude::*;
use rote_store::{Dep, Store};

use crate::audit::listing_digest;
use crate::globals;
use crate::runtime::Runtime;

/// Why an entry may not be served: a stable reason key and a detail (path,
/// name) for the `-v` line.
#[derive(Debug, Clone)]
pub(crate) struct Stale {
    pub reason: String,
    pub detail: String,
}

fn stale(reason: impl Into<String>, detail: impl Into<String>) -> Option<Stale> {
    Some(Stale {
        reason: reason.into(),
        detail: detail.into(),
    })
}

fn short(name: &str) -> &str {
    name.strip_prefix("__main__.").unwrap_or(name)
}

/// What a metadata look at a path saw: missing, or its kind and size.
pub(crate) fn meta_digest(path: &Path) -> [u8; 32] {
    use std::os::unix::fs::MetadataExt;
    let mut h = blake3::Hasher::new();
    match std::fs::metadata(path) {
        Ok(m) => {
            h.update(&(m.mode() & libc::S_IFMT).to_le_bytes());
            h.update(&m.size().to_le_bytes());
        }
        Err(e) => {
            h.update(b"missing");
            h.update(&(e.raw_os_error().unwrap_or(0)).to_le_bytes());
        }
    }
    *h.finalize().as_bytes()
}

/// The interpreter a value was computed under.
pub(crate) fn interpreter_version(py: Python<'_>) -> String {
    let _ = py;
    Python::version_str().to_owned()
}

/// The first dependency that no longer holds, or `None` when all do.
pub(crate) fn check(
    py: Python<'_>,
    rt: &Runtime,
    store: &Store,
    own_name: &str,
    deps: &[Dep],
) -> PyResult<Option<Stale>> {
    for dep in deps {
        let bad = match dep {
            Dep::Code { name, identity } => {
                if name == own_name {
                    None
                } else if rt.identity_of(name).map(|i| i.to_vec()).as_ref() != Some(identity) {
                    stale(format!("callee changed: {}", short(name)), "")
                } else {
                    None
                }
            }
            Dep::Global { name, fingerprint } => match globals::current(py, rt, name)? {
                Some(fp) if fp[..] == fingerprint[..] => None,
                _ => stale(format!("global changed: {}", short(name)), ""),
            },
            Dep::FileRead { path, digest } => match store.file_digest(Path::new(path)) {
                Ok(d) if d.digest[..] == digest[..] => None,
                Ok(_) => stale("file changed", path.clone()),
                Err(_) => stale("file changed", format!("{path} (gone)")),
            },
            // Put back when served, not a condition of the hit.
            Dep::FileWritten { .. } => None,
            Dep::Listing { path, digest } => match listing_digest(Path::new(path)) {
                Some(d) if d[..] == digest[..] => None,
                _ => stale("directory changed", path.clone()),
            },
            Dep::Missing { path } => {
                if std::fs::symlink_metadata(path).is_ok() {
                    stale("file appeared", path.clone())
                } else {
                    None
                }
            }
            Dep::Cwd { path } => match std::env::current_dir() {
                Ok(cwd) if cwd.as_os_str() == std::ffi::OsStr::new(path) => None,
                _ => stale("working directory changed", path.clone()),
            },
            Dep::Distribution { name, version } => {
                if globals::installed_version(py, name)?.as_ref() == Some(version) {
                    None
                } else {
                    stale(format!("distribution changed: {name}"), "")
                }
            }
            Dep::Interpreter { version } => {
                if *version == interpreter_version(py) {
                    None
                } else {
                    stale("interpreter changed", version.clone())
                }
            }
            Dep::Printed { .. } | Dep::Arguments { .. } => None,
            Dep::Env { name, digest } => {
                if env_digest(name)[..] == digest[..] {
                    None
                } else {
                    stale(format!("environment changed: {name}"), "")
                }
            }
            Dep::Meta { path, digest } => {
                if meta_digest(Path::new(path))[..] == digest[..] {
                    None
                } else {
                    stale("file changed", path.clone())
                }
            }
        };
        if bad.is_some() {
            return Ok(bad);
        }
    }
    Ok(None)
}

/// The digest of an environment variable's value, or of its absence; of
/// every variable and value, sorted, for `*`. Read from the process's
/// environment, which `os.environ` writes through to.
pub(crate) fn env_digest(name: &str) -> [u8; 32] {
    use std::os::unix::ffi::OsStrExt;
    let mut h = blake3::Hasher::new();
    h.update(b"rote env v1\0");
    let put = |h: &mut blake3::Hasher, bytes: &[u8]| {
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    if name == "*" {
        let mut all: Vec<_> = std::env::vars_os().collect();
        all.sort();
        for (k, v) in &all {
            put(&mut h, k.as_bytes());
            put(&mut h, v.as_bytes());
        }
    } else {
        match std::env::var_os(name) {
            Some(v) => {
                h.update(b"set");
                put(&mut h, v.as_bytes());
            }
            None => {
                h.update(b"unset");
            }
        }
    }
    *h.finalize().as_bytes()
}
