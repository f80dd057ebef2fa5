//! Content-addressed value files: named by the blake3 of their bytes, written
//! to a temp file and renamed into place, verified on every read by their size
//! and an xxh3 checksum kept in the index (xxh3 runs at memory speed, so the
//! check stays cheap next to decoding; blake3 names the file once, at write).

use std::fmt;
use std::io::{Read, Write};
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

/// [`checksum`] of the parts' concatenation.
fn checksum_parts(parts: &[&[u8]]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3Default::new();
    for part in parts {
        h.update(part);
    }
    h.digest()
}

/// Values at least this large are mapped rather than read: the checksum
/// reads the page cache in place, and decoders that can keep the bytes
/// (`.npy`, pickle buffers) map the file again copy-on-write instead of
/// copying it.
pub const MAP_MIN: u64 = 1 << 20;

/// A verified value: its bytes in memory, or a read-only mapping of its
/// file (with the file, for decoders that map it again privately).
pub struct Blob(BlobInner);

enum BlobInner {
    Bytes(Vec<u8>),
    Mapped {
        map: memmap2::Mmap,
        file: std::fs::File,
    },
}

impl Blob {
    /// The blob's open file when it is mapped. Blob files are never written
    /// in place (only created whole and renamed), so a private mapping of it
    /// sees the verified bytes.
    pub fn file(&self) -> Option<&std::fs::File> {
        match &self.0 {
            BlobInner::Bytes(_) => None,
            BlobInner::Mapped { file, .. } => Some(file),
        }
    }
}

impl std::ops::Deref for Blob {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match &self.0 {
            BlobInner::Bytes(b) => b,
            BlobInner::Mapped { map, .. } => map,
        }
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.file().is_some() {
            "mapped"
        } else {
            "bytes"
        };
        write!(f, "Blob({how}, {} bytes)", self.len())
    }
}

impl PartialEq<[u8]> for Blob {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<Vec<u8>> for Blob {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == **other
    }
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
    write_parts_via(tmp_dir, path, &[bytes], fsync)
}

/// [`write_via`] of the parts' concatenation, written part by part (large
/// values are written straight from their owner's memory).
fn write_parts_via(tmp_dir: &Path, path: &Path, parts: &[&[u8]], fsync: bool) -> Result<()> {
    let tmp = temp_name(tmp_dir);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        for part in parts {
            file.write_all(part)?;
        }
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

/// blake3 of the parts' concatenation, on all cores for large parts.
fn content_hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    for part in parts {
        if part.len() >= 1 << 20 {
            h.update_rayon(part);
        } else {
            h.update(part);
        }
    }
    *h.finalize().as_bytes()
}

fn total_len(parts: &[&[u8]]) -> u64 {
    parts.iter().map(|p| p.len() as u64).sum()
}

/// Stores `value`, once per distinct content; returns its id and checksum.
/// An existing file of the same content is reused (its mtime refreshed, so
/// garbage collection's grace period starts again); a damaged one is
/// replaced.
pub(crate) fn write(layout: &Layout, value: &[&[u8]], fsync: bool) -> Result<(BlobId, u64)> {
    let id = BlobId(content_hash(value));
    let sum = checksum_parts(value);
    let path = id.path(layout);
    if read_verified(layout, &id, total_len(value), sum).is_ok() {
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
    write_parts_via(&layout.tmp_dir(), &path, value, fsync)?;
    Ok((id, sum))
}

/// Puts the blob back when it went missing after [`write`]; called inside
/// the insert's write transaction, where no collector can run.
pub(crate) fn ensure_present(
    layout: &Layout,
    id: &BlobId,
    value: &[&[u8]],
    fsync: bool,
) -> std::io::Result<()> {
    let path = id.path(layout);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == total_len(value)) {
        return Ok(());
    }
    let shard = path.parent().expect("blob paths have a shard directory");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(shard)?;
    write_parts_via(&layout.tmp_dir(), &path, value, fsync).map_err(|e| match e {
        StoreError::Io { source, .. } => source,
        other => std::io::Error::other(other.to_string()),
    })
}

/// Why a blob could not be used.
#[derive(Debug)]
pub enum BadBlob {
    Missing,
    Size { expected: u64, found: u64 },
    Checksum,
    Unreadable(std::io::Error),
}

impl BadBlob {
    /// A stable reason key for the statistics.
    pub fn reason(&self) -> &'static str {
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
) -> Result<Blob, BadBlob> {
    read_file_verified(&id.path(layout), size, sum)
}

/// The blob at `path` if it has `size` bytes with checksum `sum`: read into
/// memory when small, mapped read-only from [`MAP_MIN`] bytes on.
pub fn read_file_verified(path: &Path, size: u64, sum: u64) -> Result<Blob, BadBlob> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(BadBlob::Missing),
        Err(err) => return Err(BadBlob::Unreadable(err)),
    };
    let meta = file.metadata().map_err(BadBlob::Unreadable)?;
    if !meta.is_file() {
        return Err(BadBlob::Unreadable(std::io::Error::other(
            "not a regular file",
        )));
    }
    let found = meta.len();
    if found != size {
        return Err(BadBlob::Size {
            expected: size,
            found,
        });
    }
    let blob = if size >= MAP_MIN {
        // SAFETY: blob files are only ever created whole and renamed into
        // place, never written or truncated in place, so the mapping's
        // contents do not change under us.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(BadBlob::Unreadable)?;
        Blob(BlobInner::Mapped { map, file })
    } else {
        let mut bytes = Vec::with_capacity(size as usize);
        (&file)
            .take(size + 1)
            .read_to_end(&mut bytes)
            .map_err(BadBlob::Unreadable)?;
        Blob(BlobInner::Bytes(bytes))
    };
    if blob.len() as u64 != size {
        return Err(BadBlob::Size {
            expected: size,
            found: blob.len() as u64,
        });
    }
    if checksum(&blob) != sum {
        return Err(BadBlob::Checksum);
    }
    Ok(blob)
}

/// Writes a value made of `parts` to `path` (temp file, then rename) and
/// returns the size and checksum [`read_file_verified`] expects.
pub fn write_file(path: &Path, parts: &[&[u8]]) -> Result<(u64, u64)> {
    write_parts_via(path.parent().unwrap_or(Path::new(".")), path, parts, false)?;
    Ok((total_len(parts), checksum_parts(parts)))
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
