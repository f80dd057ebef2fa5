//! Eviction: when the cache outgrows its limit, the entries worth least go
//! first. Worth is compute time saved per byte, discounted by how long ago the
//! entry was last used (a day of disuse halves it), so a 2 KB result that took
//! a minute outlives a 2 GB one that took a second, and stale entries yield to
//! fresh ones.

use crate::Result;
use crate::blobs;
use crate::index::Index;
use crate::layout::Layout;

/// Seconds of compute per byte, discounted by days since last use.
pub(crate) fn worth(size: u64, compute_ns: i64, last_used_ns: i64, now_ns: i64) -> f64 {
    let compute_s = compute_ns.max(0) as f64 / 1e9;
    let idle_days = (now_ns - last_used_ns).max(0) as f64 / 86_400e9;
    compute_s / size.max(4096) as f64 / (1.0 + idle_days)
}

/// Evicts until the entries fit in `target` bytes; returns how many went.
pub(crate) fn evict_to(
    layout: &Layout,
    index: &mut Index,
    target: u64,
    now_ns: i64,
) -> Result<u64> {
    let mut rows = index.eviction_candidates()?;
    let mut total: u64 = rows.iter().map(|r| r.size).sum();
    if total <= target {
        return Ok(0);
    }
    rows.sort_by(|a, b| {
        let wa = worth(a.size, a.compute_ns, a.last_used_ns, now_ns);
        let wb = worth(b.size, b.compute_ns, b.last_used_ns, now_ns);
        wa.total_cmp(&wb)
    });
    let mut chosen = Vec::new();
    for row in rows {
        if total <= target {
            break;
        }
        total -= row.size;
        chosen.push(row);
    }
    let keys: Vec<_> = chosen.iter().map(|r| (r.key, r.blob)).collect();
    index.remove_keys(&keys)?;
    for row in &chosen {
        index.unlink_if_unreferenced(&row.blob, || blobs::remove(layout, &row.blob))?;
    }
    tracing::info!(
        evicted = chosen.len(),
        bytes_after = total,
        "evicted low-value entries"
    );
    Ok(chosen.len() as u64)
}

/// On insert: once over `limit`, evict down to 90% of it so the next inserts
/// do not each pay for a scan.
pub(crate) fn evict(layout: &Layout, index: &mut Index, limit: u64, now_ns: i64) -> Result<u64> {
    evict_to(layout, index, limit / 10 * 9, now_ns)
}
