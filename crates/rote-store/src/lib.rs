//! rote's cache store: an SQLite index and content-addressed blobs under one
//! cache directory, shared safely by any number of processes and threads.
//!
//! The contract: a value handed back by [`Store::lookup`] is byte for byte the
//! value that was inserted under that key (size and checksum verified on every
//! read); anything missing, truncated, corrupt or unreadable is a miss with a
//! reason, never an error that stops the user's script. Hits cost no index
//! write: usage, counters and file-table updates are kept in memory and written
//! once by [`Store::commit_run`].
//!
//! This crate has no Python in it; the runtime and the CLI both use it.

mod blobs;
mod deps;
mod evict;
mod files;
mod index;
mod key;
mod layout;
mod session;
mod summary;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use blobs::{BadBlob, Blob, MAP_MIN, read_file_verified, write_file};
pub use deps::Dep;
pub use files::{FileDigest, RACY_WINDOW, hash_file};
pub use key::{KEY_VERSION, Key, KeyBuilder};
pub use layout::LAYOUT_VERSION;
pub use session::Outcome;
pub use summary::{FunctionSummary, RunSummary, Summary};

use session::Session;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the cache directory `{}` is a file, not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("the cache directory `{}` is not trusted: {reason}; nothing is loaded from it", path.display())]
    Untrusted { path: PathBuf, reason: String },
    #[error("the cache index `{}` has format version {found}, newer than this rote understands ({supported}); use a newer rote or another cache directory", path.display())]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("cannot use `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cache index `{}`: {source}", path.display())]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cache index `{}` stayed locked by other processes", .0.display())]
    Busy(PathBuf),
}

impl StoreError {
    /// The index file is damaged (not merely busy or unwritable).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, StoreError::Sqlite { source, .. } if index::is_broken(source))
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How a store is opened.
#[derive(Debug, Clone)]
pub struct Options {
    /// Size limit enforced on insert; `None` for none.
    pub max_size: Option<u64>,
    /// fsync blobs and index commits.
    pub fsync: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_size: Some(10 << 30),
            fsync: true,
        }
    }
}

/// An entry's metadata as stored in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryMeta {
    pub key: Key,
    pub function: String,
    pub serializer: String,
    pub size: u64,
    pub compute: Duration,
    pub created_ns: i64,
    pub last_used_ns: i64,
}

/// A verified hit: the value's bytes, what it depended on, and the files it
/// wrote (put back by [`Store::restore_output`]).
#[derive(Debug)]
pub struct Found {
    pub meta: EntryMeta,
    pub deps: Vec<Dep>,
    pub value: Blob,
    pub outputs: Vec<Output>,
}

/// A file a call wrote and closed, kept with its entry.
#[derive(Debug, Clone)]
pub struct Output {
    /// Absolute.
    pub path: String,
    /// blake3 of the content (the same as the file table's digest).
    pub digest: [u8; 32],
    pub size: u64,
    checksum: u64,
}

/// A file to keep with a new entry: its absolute path and its bytes.
#[derive(Debug)]
pub struct NewOutput<'a> {
    pub path: &'a str,
    pub content: &'a [u8],
}

/// What [`Store::insert`] stores.
#[derive(Debug)]
pub struct NewEntry<'a> {
    pub key: Key,
    /// `<module>.<qualname>`.
    pub function: &'a str,
    pub serializer: &'a str,
    /// The value's bytes: the concatenation of these parts.
    pub value: &'a [&'a [u8]],
    pub compute: Duration,
    pub deps: &'a [Dep],
    /// Files the call wrote and closed.
    pub outputs: &'a [NewOutput<'a>],
}

impl NewEntry<'_> {
    /// The value's size in bytes.
    pub fn size(&self) -> u64 {
        self.value.iter().map(|p| p.len() as u64).sum()
    }
}

/// What [`Store::gc`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub evicted_entries: u64,
    pub removed_blobs: u64,
    pub removed_temp_files: u64,
    pub bytes_after: u64,
}

/// One open cache directory.
pub struct Store {
    layout: layout::Layout,
    index: Mutex<index::Index>,
    opts: Options,
    session: Mutex<Session>,
}

pub(crate) fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Creates the cache directory's layout (mode 0700, `CACHEDIR.TAG`,
/// `.gitignore`) and checks that it is trusted, without opening the index;
/// returns the directory for compiled forms of rewritten modules
/// (`<dir>/v1/code`), which `clear` wipes with the rest.
pub fn prepare(dir: &Path) -> Result<PathBuf> {
    Ok(layout::Layout::create(dir)?.code_dir())
}

impl Store {
    /// Opens the cache at `dir`, creating it (mode 0700, `CACHEDIR.TAG`,
    /// `.gitignore`) when missing.
    pub fn open(dir: &Path, opts: Options) -> Result<Store> {
        let layout = layout::Layout::create(dir)?;
        Self::with_layout(layout, opts)
    }

    /// Opens an existing cache; `Ok(None)` when there is none (for `rote
    /// status`, which must not create one).
    pub fn open_existing(dir: &Path, opts: Options) -> Result<Option<Store>> {
        match layout::Layout::existing(dir)? {
            Some(layout) => Self::with_layout(layout, opts).map(Some),
            None => Ok(None),
        }
    }

    fn with_layout(layout: layout::Layout, opts: Options) -> Result<Store> {
        let index = index::Index::open(&layout.index_path(), opts.fsync)?;
        Ok(Store {
            layout,
            index: Mutex::new(index),
            opts,
            session: Mutex::new(Session::default()),
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        self.layout.root()
    }

    fn index(&self) -> std::sync::MutexGuard<'_, index::Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the index. A corrupt index met on the way (pages damaged
    /// after a successful open) is moved aside and replaced by an empty one,
    /// and `f` runs again there: a broken cache is a miss, never a failure.
    fn with_index<T>(&self, mut f: impl FnMut(&mut index::Index) -> Result<T>) -> Result<T> {
        let mut index = self.index();
        match f(&mut index) {
            Err(err) if err.is_corrupt() => {
                tracing::warn!(%err, "the cache index is corrupt; starting a new one");
                index.recover()?;
                f(&mut index)
            }
            other => other,
        }
    }

    /// The verified value under `key`, or `None`. A bad blob removes the entry
    /// and counts as a miss with reason `blob missing` or `blob corrupt`.
    pub fn lookup(&self, key: &Key) -> Result<Option<Found>> {
        let Some(row) = self.with_index(|ix| ix.get(key))? else {
            return Ok(None);
        };
        match blobs::read_verified(&self.layout, &row.blob, row.meta.size, row.checksum) {
            Ok(value) => {
                let deps = match deps::decode(&row.deps) {
                    Ok(deps) => deps,
                    Err(err) => {
                        tracing::warn!(%err, function = %row.meta.function, "undecodable dependencies; entry dropped");
                        self.drop_bad_entry(key, &row.blob, &row.meta.function, "entry corrupt")?;
                        return Ok(None);
                    }
                };
                // One more query only for the entries that wrote files.
                let outputs = if deps.iter().any(|d| matches!(d, Dep::FileWritten { .. })) {
                    self.with_index(|ix| ix.outputs(key))?
                        .into_iter()
                        .map(|(path, blob, size, checksum)| Output {
                            path,
                            digest: blob.0,
                            size,
                            checksum,
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                self.session().touch(*key, now_ns());
                Ok(Some(Found {
                    meta: row.meta,
                    deps,
                    value,
                    outputs,
                }))
            }
            Err(blobs::BadBlob::Missing) if !self.still_points_at(key, &row.blob)? => {
                // Evicted or replaced by another process between our index
                // read and the blob read: an ordinary miss, not damage.
                Ok(None)
            }
            Err(bad) => {
                tracing::warn!(function = %row.meta.function, reason = bad.reason(), detail = %bad, "bad blob; entry dropped");
                self.drop_bad_entry(key, &row.blob, &row.meta.function, bad.reason())?;
                Ok(None)
            }
        }
    }

    /// What the newest recorded run of `script` did with `function`:
    /// (calls stored, hits, reasons recorded).
    pub fn last_run_of(
        &self,
        script: &str,
        function: &str,
    ) -> Result<Option<(u64, u64, Vec<String>)>> {
        self.with_index(|ix| ix.last_run_of(script, function))
    }

    /// The dependencies stored with the newest `limit` entries of
    /// `function` (those that decode), newest first.
    pub fn recent_deps(&self, function: &str, limit: u32) -> Result<Vec<Vec<Dep>>> {
        Ok(self
            .with_index(|ix| ix.recent_deps(function, limit))?
            .iter()
            .filter_map(|bytes| deps::decode(bytes).ok())
            .collect())
    }

    fn still_points_at(&self, key: &Key, blob: &blobs::BlobId) -> Result<bool> {
        Ok(self
            .with_index(|ix| ix.get(key))?
            .is_some_and(|row| row.blob == *blob))
    }

    fn drop_bad_entry(
        &self,
        key: &Key,
        blob: &blobs::BlobId,
        function: &str,
        reason: &str,
    ) -> Result<()> {
        self.with_index(|ix| {
            ix.remove_if_blob(key, blob)?;
            ix.unlink_if_unreferenced(blob, || blobs::remove(&self.layout, blob))
        })?;
        self.session().record(function, Outcome::Reason(reason));
        Ok(())
    }

    /// Stores a value: the blob first (temp file, then rename), then the index
    /// row, so a crash in between leaves an orphan blob, never a dangling
    /// entry. Evicts low-value entries when over the size limit. A value
    /// larger than the whole limit is not stored (reason `too large`): making
    /// room for it would flush everything else. Returns whether it was stored.
    pub fn insert(&self, entry: &NewEntry<'_>) -> Result<bool> {
        if self.opts.max_size.is_some_and(|limit| entry.size() > limit) {
            self.session()
                .record(entry.function, Outcome::Reason("too large"));
            return Ok(false);
        }
        // Blobs are not fsynced, even with `fsync` on: one lost or torn by a
        // system crash fails its size or checksum test on the next read and
        // is a miss. Only the index commit is made durable.
        let (blob, checksum) = blobs::write(&self.layout, entry.value, false)?;
        let mut outputs = Vec::with_capacity(entry.outputs.len());
        for out in entry.outputs {
            let (id, sum) = blobs::write(&self.layout, &[out.content], false)?;
            outputs.push((out.path.to_owned(), id, out.content.len() as u64, sum));
        }
        let deps = deps::encode(entry.deps);
        let now = now_ns();
        // Deleters unlink a blob only inside a write transaction after checking
        // that no row refers to it; re-checking the file inside ours closes the
        // race with a collector that saw it unreferenced a moment ago.
        let total = self.with_index(|ix| {
            ix.insert(entry, &blob, checksum, &deps, now, &outputs, &mut || {
                blobs::ensure_present(&self.layout, &blob, entry.value, false)?;
                for (out, (_, id, _, _)) in entry.outputs.iter().zip(&outputs) {
                    blobs::ensure_present(&self.layout, id, &[out.content], false)?;
                }
                Ok(())
            })
        })?;
        if let Some(limit) = self.opts.max_size {
            if total > limit {
                self.with_index(|ix| evict::evict(&self.layout, ix, limit, now))?;
            }
        }
        Ok(true)
    }

    /// Puts an output file back as the call left it, unless it is already
    /// so: written to a temp file beside it, then renamed over it. Returns
    /// whether it wrote; an error when the kept copy is missing or damaged
    /// (then the call has to run again) or the path cannot be written.
    pub fn restore_output(&self, out: &Output) -> std::result::Result<bool, String> {
        let path = Path::new(&out.path);
        if let Ok(d) = self.file_digest(path) {
            if d.digest == out.digest {
                return Ok(false);
            }
        }
        let id = blobs::BlobId(out.digest);
        let blob = blobs::read_verified(&self.layout, &id, out.size, out.checksum)
            .map_err(|bad| format!("kept copy {}", bad.reason()))?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        blobs::write_atomically(path, &blob, false).map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Records an outcome for this run's statistics (written by
    /// [`Store::commit_run`]).
    pub fn record(&self, function: &str, outcome: Outcome<'_>) {
        self.session().record(function, outcome);
    }

    /// The content digest of a file, through the stat-validated file table.
    pub fn file_digest(&self, path: &Path) -> std::io::Result<FileDigest> {
        files::digest(self, path)
    }

    /// Writes this process's statistics, usage times and file-table updates
    /// in one transaction, adding to the record of `run_id` (workers of one
    /// run share it). `script` is the run's absolute script path.
    pub fn commit_run(&self, run_id: &str, script: &str) -> Result<()> {
        let session = std::mem::take(&mut *self.session());
        self.with_index(|ix| ix.commit_session(run_id, script, &session, now_ns()))
    }

    /// How many entries there are and the bytes of their values.
    pub fn totals(&self) -> Result<(u64, u64)> {
        self.with_index(|ix| ix.totals())
    }

    /// The functions (`<module>.<qualname>`) that have entries.
    pub fn functions(&self) -> Result<Vec<String>> {
        self.with_index(|ix| ix.functions())
    }

    /// What this process has recorded so far (committed at its end), by
    /// function.
    pub fn this_run(&self) -> std::collections::BTreeMap<String, FunctionSummary> {
        self.session().functions.clone()
    }

    /// Drops every entry of one function (`<module>.<qualname>`); returns how
    /// many.
    pub fn remove_function(&self, function: &str) -> Result<u64> {
        self.with_index(|ix| {
            let blobs = ix.remove_function(function)?;
            for blob in &blobs {
                ix.unlink_if_unreferenced(blob, || blobs::remove(&self.layout, blob))?;
            }
            Ok(blobs.len() as u64)
        })
    }

    /// Wipes entries, blobs, statistics and the file table.
    pub fn clear(&self) -> Result<()> {
        self.with_index(|ix| ix.clear())?;
        blobs::remove_all(&self.layout)
    }

    /// Trims to `max_size` (or the store's limit), removes blobs no entry
    /// refers to and temp files left by crashed writers.
    pub fn gc(&self, max_size: Option<u64>) -> Result<GcReport> {
        let mut report = GcReport::default();
        if let Some(limit) = max_size.or(self.opts.max_size) {
            report.evicted_entries =
                self.with_index(|ix| evict::evict_to(&self.layout, ix, limit, now_ns()))?;
        }
        let (blobs_removed, temps_removed) =
            self.with_index(|ix| blobs::collect_garbage(&self.layout, ix))?;
        report.removed_blobs = blobs_removed;
        report.removed_temp_files = temps_removed;
        report.bytes_after = self.with_index(|ix| ix.total_bytes())?;
        Ok(report)
    }

    /// Problems `PRAGMA integrity_check` finds in the index; empty when sound.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        match self.index().integrity_problems() {
            Err(err) if err.is_corrupt() => Ok(vec![err.to_string()]),
            other => other,
        }
    }

    /// Everything `rote status` shows.
    pub fn summary(&self) -> Result<Summary> {
        let mut summary = self.with_index(|ix| ix.summary())?;
        summary.bytes_on_disk =
            blobs::disk_usage(&self.layout) + layout::index_disk_usage(&self.layout);
        Ok(summary)
    }
}
