//! The cache directory on disk:
//!
//! ```text
//! <cache_dir>/            mode 0700 when rote creates it
//!   CACHEDIR.TAG          so backup tools skip it
//!   .gitignore            "*", so git never picks it up
//!   v1/                   one directory per layout version
//!     index.sqlite        the index (WAL mode: -wal and -shm beside it)
//!     blobs/ab/<hash>     values, named by the blake3 of their bytes
//!     tmp/                blobs being written, renamed into blobs/ when whole
//! ```
//!
//! A future layout lives in `v2/`, so an old rote never misreads it; a newer
//! index schema inside `v1/` is refused by the index itself.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{Result, StoreError};

pub const LAYOUT_VERSION: u32 = 1;

const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by rote.\n\
# For information about cache directory tags, see https://bford.info/cachedir/\n";

#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
    versioned: PathBuf,
}

impl Layout {
    fn at(root: &Path) -> Layout {
        Layout {
            root: root.to_owned(),
            versioned: root.join(format!("v{LAYOUT_VERSION}")),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn index_path(&self) -> PathBuf {
        self.versioned.join("index.sqlite")
    }

    pub(crate) fn blobs_dir(&self) -> PathBuf {
        self.versioned.join("blobs")
    }

    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.versioned.join("tmp")
    }

    /// Compiled forms of the rewritten modules (kept by the runtime).
    pub(crate) fn code_dir(&self) -> PathBuf {
        self.versioned.join("code")
    }

    /// Creates what is missing; refuses a file in the way and a directory
    /// others could have written to.
    pub(crate) fn create(root: &Path) -> Result<Layout> {
        match std::fs::metadata(root) {
            Ok(meta) if !meta.is_dir() => return Err(StoreError::NotADirectory(root.to_owned())),
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(root)
                    .map_err(|e| StoreError::io(root, e))?;
                // The umask may have narrowed it further, never widened it;
                // make it exactly 0700.
                std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| StoreError::io(root, e))?;
            }
            Err(err) => return Err(StoreError::io(root, err)),
        }
        check_trusted(root)?;
        let layout = Layout::at(root);
        write_if_missing(&root.join("CACHEDIR.TAG"), CACHEDIR_TAG)?;
        write_if_missing(&root.join(".gitignore"), "*\n")?;
        for dir in [layout.blobs_dir(), layout.tmp_dir()] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|e| StoreError::io(&dir, e))?;
        }
        Ok(layout)
    }

    /// The layout of an existing cache, or `None` where there is none yet.
    pub(crate) fn existing(root: &Path) -> Result<Option<Layout>> {
        match std::fs::metadata(root) {
            Ok(meta) if !meta.is_dir() => Err(StoreError::NotADirectory(root.to_owned())),
            Ok(_) => {
                let layout = Layout::at(root);
                if !layout.index_path().exists() {
                    return Ok(None);
                }
                check_trusted(root)?;
                Ok(Some(layout))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StoreError::io(root, err)),
        }
    }
}

/// Pickled blobs run code when loaded: a cache directory that another user
/// owns, or that group or others may write to, could hold planted values.
fn check_trusted(root: &Path) -> Result<()> {
    let meta = std::fs::metadata(root).map_err(|e| StoreError::io(root, e))?;
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let reason = if meta.uid() != me {
        Some(format!(
            "it belongs to user id {}, not to you ({me})",
            meta.uid()
        ))
    } else if meta.mode() & 0o022 != 0 {
        Some(format!(
            "group or others may write to it (mode {:o})",
            meta.mode() & 0o777
        ))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::Untrusted {
            path: root.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn write_if_missing(path: &Path, text: &str) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    crate::blobs::write_atomically(path, text.as_bytes(), false)
}

/// Bytes of the index and its WAL files.
pub(crate) fn index_disk_usage(layout: &Layout) -> u64 {
    let base = layout.index_path();
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", base.display())).ok())
        .map(|m| m.len())
        .sum()
}
