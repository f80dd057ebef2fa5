//! What `rote status` reports, as read from the index.

use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct FunctionSummary {
    pub hits: u64,
    pub misses: u64,
    pub stored: u64,
    #[serde(skip)]
    pub time_saved_s: f64,
    pub reasons: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// The run's script, absolute.
    pub script: String,
    /// By `<module>.<qualname>`.
    pub functions: BTreeMap<String, FunctionSummary>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub entries: u64,
    /// Sum of the entries' value sizes.
    pub bytes: u64,
    /// Blob files plus the index, as found on disk.
    pub bytes_on_disk: u64,
    pub hits: u64,
    pub misses: u64,
    pub stored: u64,
    pub time_saved_s: f64,
    pub invalidation_reasons: BTreeMap<String, u64>,
    /// (function, hits, seconds saved), most saved first.
    pub top_functions: Vec<(String, u64, f64)>,
    pub last_run: Option<RunSummary>,
}
