//! The process-wide state of memoization: settings, the lazily opened store,
//! the registry of code identities, this run's totals, and what happens at
//! exit (statistics committed once, the one-line summary).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use rote_store::{Found, Key, Options, Store};

/// What `rote run` decided before Python started.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cache_dir: PathBuf,
    pub min_duration: Duration,
    pub max_size: Option<u64>,
    pub fsync: bool,
    /// 1: one line per decision on stderr.
    pub verbose: u8,
    /// No summary line at exit.
    pub quiet: bool,
}

/// Identifies this run.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// Shared by the worker processes of one run.
    pub run_id: String,
    /// The script's absolute path (or the module name for `-m`).
    pub script: String,
    /// Directories whose modules are the project's own (rewritten on import).
    pub roots: Vec<PathBuf>,
}

/// Totals for the summary line at exit.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub hits: u64,
    pub saved_s: f64,
    pub misses: u64,
    pub stored: u64,
    /// "reason: function" → count, for the misses that were invalidations.
    pub miss_reasons: BTreeMap<String, u64>,
}

pub(crate) struct Runtime {
    pub settings: Settings,
    pub info: RunInfo,
    min_duration_ns: AtomicU64,
    enabled: AtomicBool,
    store: OnceLock<Option<Store>>,
    /// `<module>.<qualname>` → identity of every function and class rote
    /// rewrote or wrapped in this process.
    registry: Mutex<HashMap<String, [u8; 32]>>,
    /// Names of the modules rote rewrote (the project's code).
    modules: Mutex<HashSet<String>>,
    totals: Mutex<Totals>,
    /// Verified value bytes and dependencies of hits already read in this
    /// process, so that a repeated hit skips the index and the blob. Never
    /// live objects: every hit decodes a fresh value.
    found: Mutex<HashMap<Key, Arc<Found>>>,
}

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Set in the child of a `fork` (multiprocessing's default start method on
/// Linux): the parent's SQLite connection and in-memory records must not be
/// used there, so a forked child runs every call uncached and commits
/// nothing.
static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    FORKED.store(true, Ordering::Relaxed);
}

/// The runtime, when memoization is on in this process.
pub(crate) fn get() -> Option<&'static Runtime> {
    RUNTIME.get()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn install(settings: Settings, info: RunInfo) -> bool {
    // SAFETY: registers a plain function with no preconditions.
    unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    let min = settings.min_duration.as_nanos().min(u64::MAX as u128) as u64;
    RUNTIME
        .set(Runtime {
            settings,
            info,
            min_duration_ns: AtomicU64::new(min),
            enabled: AtomicBool::new(true),
            store: OnceLock::new(),
            registry: Mutex::default(),
            modules: Mutex::default(),
            totals: Mutex::default(),
            found: Mutex::default(),
        })
        .is_ok()
}

impl Runtime {
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed) && !FORKED.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    pub fn min_duration(&self) -> Duration {
        Duration::from_nanos(self.min_duration_ns.load(Ordering::Relaxed))
    }

    pub fn set_min_duration(&self, d: Duration) {
        let ns = d.as_nanos().min(u64::MAX as u128) as u64;
        self.min_duration_ns.store(ns, Ordering::Relaxed);
    }

    /// The store, opened on first use. A store that cannot be used gives one
    /// warning and the run continues uncached.
    pub fn store(&self) -> Option<&Store> {
        self.store
            .get_or_init(|| {
                let opts = Options {
                    max_size: self.settings.max_size,
                    fsync: self.settings.fsync,
                };
                match Store::open(&self.settings.cache_dir, opts) {
                    Ok(store) => Some(store),
                    Err(err) => {
                        eprintln!("rote: warning: {err}; running uncached");
                        self.set_enabled(false);
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Whether `path` lies in the cache directory (rote's own files are
    /// never a call's dependencies).
    pub fn in_cache_dir(&self, path: &Path) -> bool {
        path.starts_with(&self.settings.cache_dir)
    }

    pub fn register(&self, name: String, identity: [u8; 32]) {
        lock(&self.registry).insert(name, identity);
    }

    pub fn identity_of(&self, name: &str) -> Option<[u8; 32]> {
        lock(&self.registry).get(name).copied()
    }

    pub fn add_module(&self, module: &str) {
        lock(&self.modules).insert(canonical_module(module).to_owned());
    }

    pub fn is_project_module(&self, module: &str) -> bool {
        lock(&self.modules).contains(canonical_module(module))
    }

    pub fn cached_found(&self, key: &Key) -> Option<Arc<Found>> {
        lock(&self.found).get(key).cloned()
    }

    pub fn remember_found(&self, found: Arc<Found>) {
        lock(&self.found).insert(found.meta.key, found);
    }

    pub fn forget_found(&self, key: &Key) {
        lock(&self.found).remove(key);
    }

    /// After `rote.invalidate()` or `rote.clear()`: nothing read before
    /// may be served again without the store.
    pub fn forget_all_found(&self) {
        lock(&self.found).clear();
    }

    /// One line per decision on stderr with `-v`.
    pub fn decision(&self, line: std::fmt::Arguments<'_>) {
        if self.settings.verbose >= 1 {
            eprintln!("rote: {line}");
        }
    }

    pub fn count_hit(&self, saved_s: f64) {
        let mut t = lock(&self.totals);
        t.hits += 1;
        t.saved_s += saved_s;
    }

    pub fn count_miss(&self, function: &str, reason: Option<&str>) {
        let mut t = lock(&self.totals);
        t.misses += 1;
        if let Some(reason) = reason {
            let short = function.strip_prefix("__main__.").unwrap_or(function);
            let label = if reason.contains(':') {
                reason.to_owned()
            } else {
                format!("{reason}: {short}")
            };
            *t.miss_reasons.entry(label).or_default() += 1;
        }
    }

    pub fn count_stored(&self) {
        lock(&self.totals).stored += 1;
    }

    /// Commits this process's statistics and prints the summary line; runs
    /// once, at the very end of finalization.
    pub fn finish(&self) {
        if FORKED.load(Ordering::Relaxed) {
            return;
        }
        if let Some(Some(store)) = self.store.get() {
            if let Err(err) = store.commit_run(&self.info.run_id, &self.info.script) {
                eprintln!("rote: warning: cannot record this run's statistics: {err}");
            }
        }
        let t = lock(&self.totals);
        // SAFETY: isatty on a constant descriptor.
        let tty = unsafe { libc::isatty(2) } == 1;
        if tty && !self.settings.quiet && t.hits + t.misses > 0 {
            eprintln!("rote: {}", summary_line(&t));
        }
    }
}

/// `rote: 3 hits, saved 41.2 s; 1 miss (source changed: plot)`.
pub(crate) fn summary_line(t: &Totals) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut out = plural(t.hits, "hit", "hits");
    if t.hits > 0 {
        let _ = write!(out, ", saved {:.1} s", t.saved_s);
    }
    if t.misses > 0 {
        let _ = write!(out, "; {}", plural(t.misses, "miss", "misses"));
        if !t.miss_reasons.is_empty() {
            let mut reasons: Vec<(&String, &u64)> = t.miss_reasons.iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let shown: Vec<&str> = reasons.iter().take(3).map(|(r, _)| r.as_str()).collect();
            let more = if reasons.len() > 3 { ", ..." } else { "" };
            let _ = write!(out, " ({}{more})", shown.join(", "));
        }
    }
    if t.stored > 0 {
        let _ = write!(out, "; {} stored", t.stored);
    }
    out
}

/// Spawn workers run the script as `__mp_main__`; its functions are
/// `__main__`'s in every record.
pub(crate) fn canonical_module(module: &str) -> &str {
    if module == "__mp_main__" {
        "__main__"
    } else {
        module
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_reads_like_the_docs() {
        let mut t = Totals {
            hits: 3,
            saved_s: 41.23,
            misses: 1,
            ..Totals::default()
        };
        t.miss_reasons.insert("source changed: plot".into(), 1);
        assert_eq!(
            summary_line(&t),
            "3 hits, saved 41.2 s; 1 miss (source changed: plot)"
        );
        let first = Totals {
            misses: 4,
            stored: 4,
            ..Totals::default()
        };
        assert_eq!(summary_line(&first), "0 hits; 4 misses; 4 stored");
    }
}
