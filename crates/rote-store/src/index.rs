//! The SQLite index: entries, the file table, statistics and run records.
//!
//! WAL mode lets readers proceed while one process writes; a busy timeout
//! plus retries with back-off keep "database is locked" from ever reaching
//! the user (past a minute the caller degrades to running uncached). The
//! schema is versioned with `PRAGMA user_version`; [`MIGRATIONS`] lists every
//! step, each applied once, inside a write transaction, so concurrent openers
//! cannot both migrate.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::blobs::BlobId;
use crate::session::{FileRow, Session};
use crate::summary::{FunctionSummary, RunSummary, Summary};
use crate::{EntryMeta, Key, NewEntry, Result, StoreError};

/// One file an entry wrote: path, blob, size, checksum.
pub(crate) type OutputRow = (String, BlobId, u64, u64);

/// Schema steps; entry `i` takes `user_version` from `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] =
    &[include_str!("schema_v1.sql"), include_str!("schema_v2.sql")];

/// How many runs keep their record.
const RUNS_KEPT: i64 = 50;

/// Give up on a locked index after this long.
const BUSY_LIMIT: Duration = Duration::from_secs(60);

pub(crate) struct Index {
    conn: Connection,
    path: PathBuf,
    fsync: bool,
}

/// An entry row as stored.
#[derive(Debug)]
pub(crate) struct Row {
    pub meta: EntryMeta,
    pub blob: BlobId,
    pub checksum: u64,
    pub deps: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Candidate {
    pub key: Key,
    pub blob: BlobId,
    pub size: u64,
    pub compute_ns: i64,
    pub last_used_ns: i64,
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

pub(crate) fn is_broken(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

fn blob_id(bytes: Vec<u8>) -> rusqlite::Result<BlobId> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| rusqlite::Error::InvalidQuery)?;
    Ok(BlobId(arr))
}

fn key_of(bytes: Vec<u8>) -> rusqlite::Result<Key> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| rusqlite::Error::InvalidQuery)?;
    Ok(Key(arr))
}

/// Runs `f` until it succeeds or fails with something other than "busy".
fn retry<T>(path: &Path, mut f: impl FnMut() -> rusqlite::Result<T>) -> Result<T> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(err) if is_busy(&err) => {
                if start.elapsed() > BUSY_LIMIT {
                    return Err(StoreError::Busy(path.to_owned()));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Err(source) => {
                return Err(StoreError::Sqlite {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
}

fn move_aside(path: &Path) -> Result<()> {
    let aside = path.with_extension("sqlite.broken");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::rename(path, &aside).map_err(|e| StoreError::io(path, e))
}

/// Applies the missing steps of `migrations`; refuses a newer schema.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, migrations: &[&str]) -> Result<()> {
    let supported = migrations.len() as i64;
    retry(path, || {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > supported {
            return Ok(Err(StoreError::Newer {
                path: path.to_owned(),
                found: version,
                supported,
            }));
        }
        for (i, step) in migrations.iter().enumerate().skip(version as usize) {
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(Ok(()))
    })?
}

impl Index {
    /// Opens (or creates) the index. An index that is not a database at all
    /// is moved aside to `index.sqlite.broken` and replaced: a broken cache
    /// is a miss, never a failure.
    pub(crate) fn open(path: &Path, fsync: bool) -> Result<Index> {
        match Self::open_once(path, fsync) {
            Err(StoreError::Sqlite { source, .. }) if is_broken(&source) => {
                tracing::warn!(path = %path.display(), "the cache index is corrupt; starting a new one");
                move_aside(path)?;
                Self::open_once(path, fsync)
            }
            other => other,
        }
    }

    /// Replaces a corrupt index with a new, empty one.
    pub(crate) fn recover(&mut self) -> Result<()> {
        let sqlite = |source| StoreError::Sqlite {
            path: self.path.clone(),
            source,
        };
        // Close the damaged database before moving it.
        let old = std::mem::replace(
            &mut self.conn,
            Connection::open_in_memory().map_err(sqlite)?,
        );
        drop(old);
        move_aside(&self.path)?;
        *self = Self::open_once(&self.path, self.fsync)?;
        Ok(())
    }

    fn open_once(path: &Path, fsync: bool) -> Result<Index> {
        let sqlite = |source| StoreError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
        // Refuse a newer index before anything below writes to it (switching
        // the journal mode rewrites its header).
        let version: i64 = retry(path, || {
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        })?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::Newer {
                path: path.to_owned(),
                found: version,
                supported,
            });
        }
        retry(path, || {
            conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        })?;
        // FULL syncs the WAL on every commit; NORMAL only at checkpoints
        // (still consistent after a crash, may lose the last commits).
        conn.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })
            .map_err(sqlite)?;
        // A large index (100k entries is ~60 MB) outgrows SQLite's 2 MB
        // default page cache, and every lookup then pays page reads through
        // the kernel. 64 MiB is only used as pages are touched. (mmap would
        // be faster still, but a file truncated behind our back would kill
        // the process with SIGBUS instead of giving a miss.)
        conn.pragma_update(None, "cache_size", -65536)
            .map_err(sqlite)?;
        migrate(&mut conn, path, MIGRATIONS)?;
        // Touch the schema and the hot tables now, so damage there is found
        // (and moved aside by `open`) before the first lookup.
        retry(path, || {
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })?;
            conn.query_row("SELECT entries, bytes FROM totals", [], |r| {
                r.get::<_, i64>(0)
            })
        })?;
        Ok(Index {
            conn,
            path: path.to_owned(),
            fsync,
        })
    }

    fn retry<T>(&self, f: impl FnMut() -> rusqlite::Result<T>) -> Result<T> {
        retry(&self.path, f)
    }

    pub(crate) fn get(&self, key: &Key) -> Result<Option<Row>> {
        self.retry(|| {
            let mut stmt = self.conn.prepare_cached(
                "SELECT function, blob, serializer, size, checksum, compute_ns, created_ns, last_used_ns, deps
                 FROM entries WHERE key = ?1",
            )?;
            stmt.query_row([&key.0[..]], |r| {
                Ok(Row {
                    meta: EntryMeta {
                        key: *key,
                        function: r.get(0)?,
                        serializer: r.get(2)?,
                        size: r.get::<_, i64>(3)? as u64,
                        compute: Duration::from_nanos(r.get::<_, i64>(5)?.max(0) as u64),
                        created_ns: r.get(6)?,
                        last_used_ns: r.get(7)?,
                    },
                    blob: blob_id(r.get(1)?)?,
                    checksum: r.get::<_, i64>(4)? as u64,
                    deps: r.get(8)?,
                })
            })
            .optional()
        })
    }

    /// What the newest recorded run of `script` did with `function`:
    /// (stored, hits, reasons).
    pub(crate) fn last_run_of(
        &self,
        script: &str,
        function: &str,
    ) -> Result<Option<(u64, u64, Vec<String>)>> {
        self.retry(|| {
            let mut stmt = self.conn.prepare_cached(
                "SELECT rf.run_id, rf.stored, rf.hits FROM run_functions rf
                 JOIN runs r ON r.run_id = rf.run_id
                 WHERE r.script = ?1 AND rf.function = ?2
                 ORDER BY r.updated_ns DESC LIMIT 1",
            )?;
            let Some((run_id, stored, hits)) = stmt
                .query_row(params![script, function], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .optional()?
            else {
                return Ok(None);
            };
            let mut stmt = self.conn.prepare_cached(
                "SELECT reason FROM run_reasons WHERE run_id = ?1 AND function = ?2",
            )?;
            let reasons = stmt
                .query_map(params![run_id, function], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(Some((stored.max(0) as u64, hits.max(0) as u64, reasons)))
        })
    }

    /// The dependencies of the newest `limit` entries of `function`: how a
    /// miss tells "source changed" from "argument changed".
    pub(crate) fn recent_deps(&self, function: &str, limit: u32) -> Result<Vec<Vec<u8>>> {
        self.retry(|| {
            let mut stmt = self.conn.prepare_cached(
                "SELECT deps FROM entries WHERE function = ?1 ORDER BY created_ns DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![function, limit], |r| r.get(0))?;
            rows.collect()
        })
    }

    /// Inserts or replaces an entry and its outputs; returns the total bytes
    /// of all entries.
    /// `ensure_blob` runs inside the write transaction, before the row
    /// exists: it puts the blob file back if a collector removed it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &mut self,
        e: &NewEntry<'_>,
        blob: &BlobId,
        checksum: u64,
        deps: &[u8],
        now: i64,
        outputs: &[OutputRow],
        ensure_blob: &mut dyn FnMut() -> std::io::Result<()>,
    ) -> Result<u64> {
        let path = self.path.clone();
        let conn = &mut self.conn;
        let outcome = retry(&path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Err(err) = ensure_blob() {
                return Ok(Err(err));
            }
            tx.execute(
                "INSERT INTO entries (key, function, blob, serializer, size, checksum, compute_ns, created_ns, last_used_ns, deps)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)
                 ON CONFLICT (key) DO UPDATE SET function = excluded.function, blob = excluded.blob,
                   serializer = excluded.serializer, size = excluded.size, checksum = excluded.checksum,
                   compute_ns = excluded.compute_ns, created_ns = excluded.created_ns,
                   last_used_ns = excluded.last_used_ns, deps = excluded.deps",
                params![
                    &e.key.0[..],
                    e.function,
                    &blob.0[..],
                    e.serializer,
                    e.size() as i64,
                    checksum as i64,
                    e.compute.as_nanos() as i64,
                    now,
                    deps
                ],
            )?;
            tx.execute("DELETE FROM outputs WHERE key = ?1", [&e.key.0[..]])?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO outputs (key, path, blob, size, checksum) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (path, blob, size, checksum) in outputs {
                    stmt.execute(params![
                        &e.key.0[..],
                        path,
                        &blob.0[..],
                        *size as i64,
                        *checksum as i64
                    ])?;
                }
            }
            let total: i64 = tx.query_row("SELECT bytes FROM totals", [], |r| r.get(0))?;
            tx.commit()?;
            Ok(Ok(total.max(0) as u64))
        })?;
        outcome.map_err(|err| StoreError::io(&path, err))
    }

    /// Runs `unlink` if no entry refers to `blob`, inside a write transaction
    /// so no insert can start referring to it meanwhile. Returns whether it ran.
    pub(crate) fn unlink_if_unreferenced(
        &mut self,
        blob: &BlobId,
        unlink: impl Fn(),
    ) -> Result<bool> {
        let path = self.path.clone();
        let conn = &mut self.conn;
        retry(&path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let referenced = tx
                .prepare_cached(
                    "SELECT 1 FROM entries WHERE blob = ?1
                     UNION ALL SELECT 1 FROM outputs WHERE blob = ?1 LIMIT 1",
                )?
                .query_row([&blob.0[..]], |_| Ok(()))
                .optional()?
                .is_some();
            if !referenced {
                unlink();
            }
            tx.commit()?;
            Ok(!referenced)
        })
    }

    /// Removes `key` if it still points at `blob` (another process may have
    /// replaced it with a good value meanwhile).
    pub(crate) fn remove_if_blob(&self, key: &Key, blob: &BlobId) -> Result<()> {
        self.retry(|| {
            self.conn.execute(
                "DELETE FROM entries WHERE key = ?1 AND blob = ?2",
                [&key.0[..], &blob.0[..]],
            )
        })?;
        Ok(())
    }

    /// The files an entry wrote: (path, blob, size, checksum).
    pub(crate) fn outputs(&self, key: &Key) -> Result<Vec<OutputRow>> {
        self.retry(|| {
            let mut stmt = self.conn.prepare_cached(
                "SELECT path, blob, size, checksum FROM outputs WHERE key = ?1 ORDER BY path",
            )?;
            stmt.query_map([&key.0[..]], |r| {
                Ok((
                    r.get(0)?,
                    blob_id(r.get(1)?)?,
                    r.get::<_, i64>(2)?.max(0) as u64,
                    r.get::<_, i64>(3)? as u64,
                ))
            })?
            .collect()
        })
    }

    pub(crate) fn remove_function(&mut self, function: &str) -> Result<Vec<BlobId>> {
        let path = self.path.clone();
        let conn = &mut self.conn;
        retry(&path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let blobs = {
                let mut stmt = tx.prepare("SELECT blob FROM entries WHERE function = ?1")?;
                stmt.query_map([function], |r| blob_id(r.get(0)?))?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.execute("DELETE FROM entries WHERE function = ?1", [function])?;
            tx.commit()?;
            Ok(blobs)
        })
    }

    /// Removes each key that still points at the given blob (a key another
    /// process replaced meanwhile is left alone).
    pub(crate) fn remove_keys(&mut self, keys: &[(Key, BlobId)]) -> Result<()> {
        let path = self.path.clone();
        let conn = &mut self.conn;
        retry(&path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare("DELETE FROM entries WHERE key = ?1 AND blob = ?2")?;
                for (key, blob) in keys {
                    stmt.execute([&key.0[..], &blob.0[..]])?;
                }
            }
            tx.commit()
        })
    }

    pub(crate) fn eviction_candidates(&self) -> Result<Vec<Candidate>> {
        self.retry(|| {
            let mut stmt = self
                .conn
                .prepare("SELECT key, blob, size, compute_ns, last_used_ns FROM entries")?;
            stmt.query_map([], |r| {
                Ok(Candidate {
                    key: key_of(r.get(0)?)?,
                    blob: blob_id(r.get(1)?)?,
                    size: r.get::<_, i64>(2)?.max(0) as u64,
                    compute_ns: r.get(3)?,
                    last_used_ns: r.get(4)?,
                })
            })?
            .collect()
        })
    }

    /// (entries, bytes of their values).
    pub(crate) fn totals(&self) -> Result<(u64, u64)> {
        self.retry(|| {
            self.conn
                .query_row("SELECT entries, bytes FROM totals", [], |r| {
                    Ok((
                        r.get::<_, i64>(0)?.max(0) as u64,
                        r.get::<_, i64>(1)?.max(0) as u64,
                    ))
                })
        })
    }

    /// The functions that have entries.
    pub(crate) fn functions(&self) -> Result<Vec<String>> {
        self.retry(|| {
            let mut stmt = self
                .conn
                .prepare("SELECT DISTINCT function FROM entries ORDER BY function")?;
            stmt.query_map([], |r| r.get(0))?.collect()
        })
    }

    pub(crate) fn total_bytes(&self) -> Result<u64> {
        self.retry(|| {
            self.conn
                .query_row("SELECT bytes FROM totals", [], |r| r.get::<_, i64>(0))
        })
        .map(|b| b.max(0) as u64)
    }

    pub(crate) fn file_row(&self, dev: u64, ino: u64) -> Result<Option<FileRow>> {
        self.retry(|| {
            self.conn
                .prepare_cached(
                    "SELECT size, mtime_ns, ctime_ns, digest, hashed_ns FROM files WHERE dev = ?1 AND ino = ?2",
                )?
                .query_row(params![dev as i64, ino as i64], |r| {
                    let digest: Vec<u8> = r.get(3)?;
                    Ok(FileRow {
                        dev,
                        ino,
                        size: r.get::<_, i64>(0)? as u64,
                        mtime_ns: r.get(1)?,
                        ctime_ns: r.get(2)?,
                        digest: digest.try_into().map_err(|_| rusqlite::Error::InvalidQuery)?,
                        hashed_ns: r.get(4)?,
                    })
                })
                .optional()
        })
    }

    pub(crate) fn clear(&mut self) -> Result<()> {
        let path = self.path.clone();
        let conn = &mut self.conn;
        retry(&path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(
                "DELETE FROM outputs; DELETE FROM entries; DELETE FROM files; DELETE FROM counters; DELETE FROM reasons;
                 DELETE FROM function_totals; DELETE FROM runs; DELETE FROM run_functions; DELETE FROM run_reasons;",
            )?;
            tx.commit()
        })
    }

    /// Adds this process's session to the lifetime statistics and to the
    /// record of `run_id`, in one transaction.
    pub(crate) fn commit_session(
        &mut self,
        run_id: &str,
        script: &str,
        s: &Session,
        now: i64,
    ) -> Result<()> {
        let path = self.path.clone();
        let conn = &mut self.conn;
        retry(&path, || {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO runs (run_id, script, started_ns, updated_ns) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (run_id) DO UPDATE SET updated_ns = excluded.updated_ns",
                params![run_id, script, now],
            )?;
            for (name, f) in &s.functions {
                for (counter, value) in [
                    ("hits", f.hits as f64),
                    ("misses", f.misses as f64),
                    ("stored", f.stored as f64),
                    ("time_saved_s", f.time_saved_s),
                ] {
                    tx.execute(
                        "INSERT INTO counters (name, value) VALUES (?1, ?2)
                         ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                        params![counter, value],
                    )?;
                }
                tx.execute(
                    "INSERT INTO function_totals (function, hits, time_saved_s) VALUES (?1, ?2, ?3)
                     ON CONFLICT (function) DO UPDATE SET hits = hits + excluded.hits,
                       time_saved_s = time_saved_s + excluded.time_saved_s",
                    params![name, f.hits as i64, f.time_saved_s],
                )?;
                tx.execute(
                    "INSERT INTO run_functions (run_id, function, hits, misses, stored, time_saved_s)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (run_id, function) DO UPDATE SET hits = hits + excluded.hits,
                       misses = misses + excluded.misses, stored = stored + excluded.stored,
                       time_saved_s = time_saved_s + excluded.time_saved_s",
                    params![run_id, name, f.hits as i64, f.misses as i64, f.stored as i64, f.time_saved_s],
                )?;
                for (reason, count) in &f.reasons {
                    tx.execute(
                        "INSERT INTO reasons (reason, count) VALUES (?1, ?2)
                         ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count",
                        params![reason, *count as i64],
                    )?;
                    tx.execute(
                        "INSERT INTO run_reasons (run_id, function, reason, count) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (run_id, function, reason) DO UPDATE SET count = count + excluded.count",
                        params![run_id, name, reason, *count as i64],
                    )?;
                }
            }
            {
                let mut touch = tx.prepare(
                    "UPDATE entries SET last_used_ns = max(last_used_ns, ?2) WHERE key = ?1",
                )?;
                for (key, at) in &s.used {
                    touch.execute(params![&key.0[..], at])?;
                }
                let mut file = tx.prepare(
                    "INSERT INTO files (dev, ino, size, mtime_ns, ctime_ns, digest, hashed_ns)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (dev, ino) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
                       ctime_ns = excluded.ctime_ns, digest = excluded.digest, hashed_ns = excluded.hashed_ns",
                )?;
                for row in s.files.values() {
                    file.execute(params![
                        row.dev as i64,
                        row.ino as i64,
                        row.size as i64,
                        row.mtime_ns,
                        row.ctime_ns,
                        &row.digest[..],
                        row.hashed_ns
                    ])?;
                }
            }
            tx.execute(
                "DELETE FROM runs WHERE run_id NOT IN (SELECT run_id FROM runs ORDER BY started_ns DESC LIMIT ?1)",
                [RUNS_KEPT],
            )?;
            tx.execute(
                "DELETE FROM run_functions WHERE run_id NOT IN (SELECT run_id FROM runs)",
                [],
            )?;
            tx.execute(
                "DELETE FROM run_reasons WHERE run_id NOT IN (SELECT run_id FROM runs)",
                [],
            )?;
            tx.commit()
        })
    }

    /// `PRAGMA integrity_check`: empty when the database is sound.
    pub(crate) fn integrity_problems(&self) -> Result<Vec<String>> {
        self.retry(|| {
            let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows.into_iter().filter(|r| r != "ok").collect())
        })
    }

    pub(crate) fn summary(&self) -> Result<Summary> {
        self.retry(|| {
            let (entries, bytes): (i64, i64) =
                self.conn.query_row("SELECT entries, bytes FROM totals", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let counter = |name: &str| -> rusqlite::Result<f64> {
                Ok(self
                    .conn
                    .query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| r.get(0))
                    .optional()?
                    .unwrap_or(0.0))
            };
            let mut summary = Summary {
                entries: entries.max(0) as u64,
                bytes: bytes.max(0) as u64,
                hits: counter("hits")? as u64,
                misses: counter("misses")? as u64,
                stored: counter("stored")? as u64,
                time_saved_s: counter("time_saved_s")?,
                ..Summary::default()
            };
            let mut stmt = self.conn.prepare("SELECT reason, count FROM reasons")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (reason, count) = row?;
                summary.invalidation_reasons.insert(reason, count.max(0) as u64);
            }
            let mut stmt = self.conn.prepare(
                "SELECT function, hits, time_saved_s FROM function_totals WHERE hits > 0
                 ORDER BY time_saved_s DESC, function LIMIT 5",
            )?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, f64>(2)?)))? {
                let (function, hits, saved) = row?;
                summary.top_functions.push((function, hits.max(0) as u64, saved));
            }
            let last: Option<(String, String)> = self
                .conn
                .query_row("SELECT run_id, script FROM runs ORDER BY started_ns DESC LIMIT 1", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            if let Some((run_id, script)) = last {
                let mut run = RunSummary { script, ..RunSummary::default() };
                let mut stmt = self.conn.prepare(
                    "SELECT function, hits, misses, stored, time_saved_s FROM run_functions WHERE run_id = ?1",
                )?;
                for row in stmt.query_map([&run_id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        FunctionSummary {
                            hits: r.get::<_, i64>(1)?.max(0) as u64,
                            misses: r.get::<_, i64>(2)?.max(0) as u64,
                            stored: r.get::<_, i64>(3)?.max(0) as u64,
                            time_saved_s: r.get(4)?,
                            reasons: Default::default(),
                        },
                    ))
                })? {
                    let (name, f) = row?;
                    run.functions.insert(name, f);
                }
                let mut stmt =
                    self.conn.prepare("SELECT function, reason, count FROM run_reasons WHERE run_id = ?1")?;
                for row in stmt.query_map([&run_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
                })? {
                    let (name, reason, count) = row?;
                    run.functions.entry(name).or_default().reasons.insert(reason, count.max(0) as u64);
                }
                summary.last_run = Some(run);
            }
            Ok(summary)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn migrations_apply_each_step_once_and_refuse_newer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        let mut conn = Connection::open(&path).unwrap();
        let v1 = [MIGRATIONS[0]];
        migrate(&mut conn, &path, &v1).unwrap();
        assert_eq!(version(&conn), 1);
        conn.execute("INSERT INTO counters (name, value) VALUES ('hits', 3)", [])
            .unwrap();

        // A later schema step runs on an old index without losing its data.
        let v2 = [
            MIGRATIONS[0],
            "ALTER TABLE counters ADD COLUMN note TEXT NOT NULL DEFAULT 'x';",
        ];
        migrate(&mut conn, &path, &v2).unwrap();
        assert_eq!(version(&conn), 2);
        migrate(&mut conn, &path, &v2).unwrap(); // already there: nothing runs twice
        let (hits, note): (f64, String) = conn
            .query_row(
                "SELECT value, note FROM counters WHERE name = 'hits'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((hits, note.as_str()), (3.0, "x"));

        // An older rote meets the newer index: refused, untouched.
        match migrate(&mut conn, &path, &v1) {
            Err(StoreError::Newer {
                found: 2,
                supported: 1,
                ..
            }) => {}
            other => panic!("expected Newer, got {other:?}"),
        }
        assert_eq!(version(&conn), 2);
    }
}
