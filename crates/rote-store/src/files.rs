//! The file table: content digests of files a call read, keyed by (dev, ino)
//! and trusted while (size, mtime, ctime) are unchanged, so a warm run stats a
//! file instead of re-hashing it. A same-size edit with a restored mtime still
//! moves ctime (which no user call can set back); a replace-by-rename brings a
//! new inode.
//!
//! Timestamps are coarse on some kernels and filesystems: a row whose file
//! was modified within [`RACY_WINDOW`] before it was hashed could hide a later
//! edit in the same tick, so it is treated as unverified and the file is
//! hashed again next time (git's "racily clean" rule).

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use crate::session::FileRow;
use crate::{Store, now_ns};

pub const RACY_WINDOW: Duration = Duration::from_secs(2);

/// A file's content digest (blake3) and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDigest {
    pub digest: [u8; 32],
    pub size: u64,
}

struct Stat {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

fn stat(path: &Path) -> std::io::Result<Stat> {
    let m = std::fs::metadata(path)?;
    if !m.is_file() {
        return Err(std::io::Error::other(format!(
            "`{}` is not a regular file",
            path.display()
        )));
    }
    Ok(Stat {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime_ns: m.mtime() * 1_000_000_000 + m.mtime_nsec(),
        ctime_ns: m.ctime() * 1_000_000_000 + m.ctime_nsec(),
    })
}

fn trusted(row: &FileRow, st: &Stat) -> bool {
    let window = RACY_WINDOW.as_nanos() as i64;
    row.size == st.size
        && row.mtime_ns == st.mtime_ns
        && row.ctime_ns == st.ctime_ns
        && st.mtime_ns.max(st.ctime_ns) < row.hashed_ns - window
}

/// The blake3 of a file's content, read in 4 MiB chunks (the file table's
/// way of hashing; public so benchmarks measure the same thing).
pub fn hash_file(path: &Path) -> std::io::Result<[u8; 32]> {
    // Read, not mmap: a file truncated while mapped would kill the process.
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 4 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if n >= 1 << 20 {
            hasher.update_rayon(&buf[..n]);
        } else {
            hasher.update(&buf[..n]);
        }
    }
    Ok(*hasher.finalize().as_bytes())
}

pub(crate) fn digest(store: &Store, path: &Path) -> std::io::Result<FileDigest> {
    let st = stat(path)?;
    let known = store.session().files.get(&(st.dev, st.ino)).cloned();
    let known = match known {
        Some(row) => Some(row),
        None => store.index().file_row(st.dev, st.ino).ok().flatten(),
    };
    if let Some(row) = known.filter(|row| trusted(row, &st)) {
        return Ok(FileDigest {
            digest: row.digest,
            size: row.size,
        });
    }
    let hashed_ns = now_ns();
    let digest = hash_file(path)?;
    let after = stat(path)?;
    let stable = (
        after.dev,
        after.ino,
        after.size,
        after.mtime_ns,
        after.ctime_ns,
    ) == (st.dev, st.ino, st.size, st.mtime_ns, st.ctime_ns);
    if stable {
        let row = FileRow {
            dev: st.dev,
            ino: st.ino,
            size: st.size,
            mtime_ns: st.mtime_ns,
            ctime_ns: st.ctime_ns,
            digest,
            hashed_ns,
        };
        store.session().files.insert((st.dev, st.ino), row);
    }
    Ok(FileDigest {
        digest,
        size: st.size,
    })
}
