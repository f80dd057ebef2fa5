//! Content-addressed value files: named by the blake3 of their bytes, written
//! to a temp file and renamed into place, verified on every read by their size
//! and an xxh3 checksum kept in the index (xxh3 runs at memory speed, so the
//! check stays cheap next to decoding; blake3 names the file once, at write).

use std::fmt;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::layout::Layout;
use crate::{Result, StoreError};

/// Temp files and unreferenced blobs younger than this may belong to a writer
/// that has not committed yet; garbage collection leaves them alone.
pub(crate) const GRACE: Duration = Duration::from_secs(600);

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct BlobId(pub [u8; 32]);

impl BlobId {
    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn parse(name: &str) -> Option<BlobId> {
        if name.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in name.as_bytes().chunks(2).enumerate() {
            out[i] = u8::from_str_radix(std::str::from_utf8(chunk).ok()?, 16).ok()?;
        }
        Some(BlobId(out))
    }

    pub(crate) fn path(&self, layout: &Layout) -> PathBuf {
        let hex = self.hex();
        layout.blobs_dir().join(&hex[..2]).join(&hex[2..])
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", &self.hex()[..16])
    }
}

pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

fn temp_name(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = crate::now_ns();
    dir.join(format!(".tmp-{}-{n}-{nanos:x}", std::process::id()))
}

/// Writes `bytes` to `path` through a temp file in `tmp_dir` (or beside the
/// target) and a rename, so readers see the whole file or none.
pub(crate) fn write_via(tmp_dir: &Path, path: &Path, bytes: &[u8], fsync: bool) -> Result<()> {
    let tmp = temp_name(tmp_dir);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if fsync {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(err) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(StoreError::io(path, err));
    }
    if fsync {
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
    }
    Ok(())
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8], fsync: bool) -> Result<()> {
    write_via(path.parent().unwrap_or(Path::new(".")), path, bytes, fsync)
}

/// blake3 of a value, on all cores when it is large.
fn content_hash(value: &[u8]) -> [u8; 32] {
    if value.len() >= 1 << 20 {
        *blake3::Hasher::new()
            .update_rayon(value)
            .finalize()
            .as_bytes()
    } else {
        *blake3::hash(value).as_bytes()
    }
}

/// Stores `value`, once per distinct content; returns its id and checksum.
/// An existing file of the same content is reused (its mtime refreshed, so
/// garbage collection's grace period starts again); a damaged one is
/// replaced.
pub(crate) fn write(layout: &Layout, value: &[u8], fsync: bool) -> Result<(BlobId, u64)> {
    let id = BlobId(content_hash(value));
    let sum = checksum(value);
    let path = id.path(layout);
    if read_verified(layout, &id, value.len() as u64, sum).is_ok() {
        if let Ok(file) = std::fs::File::options().write(true).open(&path) {
            let _ = file.set_modified(SystemTime::now());
        }
        return Ok((id, sum));
    }
    let shard = path.parent().expect("blob paths have a shard directory");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(shard)
        .map_err(|e| StoreError::io(shard, e))?;
    write_via(&layout.tmp_dir(), &path, value, fsync)?;
    Ok((id, sum))
}

/// Puts the blob back when it went missing after [`write`]; called inside
/// the insert's write transaction, where no collector can run.
pub(crate) fn ensure_present(
    layout: &Layout,
    id: &BlobId,
    value: &[u8],
    fsync: bool,
) -> std::io::Result<()> {
    let path = id.path(layout);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == value.len() as u64) {
        return Ok(());
    }
    let shard = path.parent().expect("blob paths have a shard directory");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(shard)?;
    write_via(&layout.tmp_dir(), &path, value, fsync).map_err(|e| match e {
        StoreError::Io { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    })
}

/// Why a blob could not be used.
#[derive(Debug)]
pub(crate) enum BadBlob {
    Missing,
    Size { expected: u64, found: u64 },
    Checksum,
    Unreadable(std::io::Error),
}

impl BadBlob {
    /// A stable reason key for the statistics.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            BadBlob::Missing => "blob missing",
            BadBlob::Size { .. } | BadBlob::Checksum => "blob corrupt",
            BadBlob::Unreadable(_) => "blob unreadable",
        }
    }
}

impl fmt::Display for BadBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadBlob::Missing => f.write_str("the blob file is missing"),
            BadBlob::Size { expected, found } => {
                write!(f, "the blob has {found} bytes, {expected} expected")
            }
            BadBlob::Checksum => f.write_str("the blob's checksum does not match"),
            BadBlob::Unreadable(err) => write!(f, "the blob cannot be read: {err}"),
        }
    }
}

pub(crate) fn read_verified(
    layout: &Layout,
    id: &BlobId,
    size: u64,
    sum: u64,
) -> Result<Vec<u8>, BadBlob> {
    let path = id.path(layout);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(BadBlob::Missing),
        Err(err) => return Err(BadBlob::Unreadable(err)),
    };
    if bytes.len() as u64 != size {
        return Err(BadBlob::Size {
            expected: size,
            found: bytes.len() as u64,
        });
    }
    if checksum(&bytes) != sum {
        return Err(BadBlob::Checksum);
    }
    Ok(bytes)
}

pub(crate) fn remove(layout: &Layout, id: &BlobId) {
    let _ = std::fs::remove_file(id.path(layout));
}

pub(crate) fn remove_all(layout: &Layout) -> Result<()> {
    for dir in [layout.blobs_dir(), layout.tmp_dir(), layout.code_dir()] {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(StoreError::io(&dir, err)),
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| StoreError::io(&dir, e))?;
    }
    Ok(())
}

fn older_than_grace(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age > GRACE)
}

/// Every blob file with its id.
fn each_blob(layout: &Layout) -> Vec<(PathBuf, Option<BlobId>)> {
    let mut out = Vec::new();
    let Ok(shards) = std::fs::read_dir(layout.blobs_dir()) else {
        return out;
    };
    for shard in shards.flatten() {
        let prefix = shard.file_name().to_string_lossy().into_owned();
        let Ok(files) = std::fs::read_dir(shard.path()) else {
            continue;
        };
        for file in files.flatten() {
            let id = BlobId::parse(&format!("{prefix}{}", file.file_name().to_string_lossy()));
            out.push((file.path(), id));
        }
    }
    out
}

/// Removes unreferenced blobs and stale temp files (both older than
/// [`GRACE`]); returns how many of each.
pub(crate) fn collect_garbage(
    layout: &Layout,
    index: &mut crate::index::Index,
) -> Result<(u64, u64)> {
    let mut blobs = 0;
    for (path, id) in each_blob(layout) {
        if !older_than_grace(&path) {
            continue;
        }
        let removed = match id {
            Some(id) => {
                let gone = std::cell::Cell::new(false);
                index.unlink_if_unreferenced(&id, || {
                    gone.set(std::fs::remove_file(&path).is_ok())
                })?;
                gone.get()
            }
            None => std::fs::remove_file(&path).is_ok(),
        };
        if removed {
            blobs += 1;
        }
    }
    let mut temps = 0;
    if let Ok(items) = std::fs::read_dir(layout.tmp_dir()) {
        for item in items.flatten() {
            if older_than_grace(&item.path()) && std::fs::remove_file(item.path()).is_ok() {
                temps += 1;
            }
        }
    }
    Ok((blobs, temps))
}

pub(crate) fn disk_usage(layout: &Layout) -> u64 {
    each_blob(layout)
        .iter()
        .filter_map(|(p, _)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
