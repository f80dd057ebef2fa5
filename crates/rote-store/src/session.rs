//! What one process accumulates during a run, written once at its end: a hit
//! never costs an index write or an fsync.

use std::collections::BTreeMap;

use crate::{FunctionSummary, Key};

/// One thing that happened to a call of a function.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// Served from cache, saving this many seconds of compute.
    Hit { saved_s: f64 },
    /// Executed (first calls included).
    Miss,
    /// Executed and written.
    Stored,
    /// Why a call was not served or not stored: a stable key such as
    /// `source changed` or `too fast`.
    Reason(&'a str),
}

/// A file-table row to write at commit.
#[derive(Debug, Clone)]
pub(crate) struct FileRow {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub digest: [u8; 32],
    pub hashed_ns: i64,
}

#[derive(Debug, Default)]
pub(crate) struct Session {
    /// What `rote status` reports per function, for this process so far.
    pub functions: BTreeMap<String, FunctionSummary>,
    pub used: BTreeMap<Key, i64>,
    pub files: BTreeMap<(u64, u64), FileRow>,
}

impl Session {
    pub(crate) fn record(&mut self, function: &str, outcome: Outcome<'_>) {
        let f = self.functions.entry(function.to_owned()).or_default();
        match outcome {
            Outcome::Hit { saved_s } => {
                f.hits += 1;
                f.time_saved_s += saved_s;
            }
            Outcome::Miss => f.misses += 1,
            Outcome::Stored => f.stored += 1,
            Outcome::Reason(reason) => *f.reasons.entry(reason.to_owned()).or_default() += 1,
        }
    }

    pub(crate) fn touch(&mut self, key: Key, now: i64) {
        self.used.insert(key, now);
    }
}
