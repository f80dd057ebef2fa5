//! Eviction: with a size limit, inserts keep the entries' total under it and
//! evict the entries worth least first (compute time per byte, discounted by
//! disuse); `gc(Some(n))` trims to `n`; evicted entries take their blobs along.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::Rng;
use rote_store::{NewEntry, Options, Store};

const FUNCTION: &str = "evict.f";

/// Inserts a self-checksummed value of `len` bytes under key `k`.
fn put(store: &Store, rng: &mut Rng, k: u32, len: usize, compute: Duration) -> u64 {
    let value = common::make_value(k, 0, k as u64, len - common::HEADER - common::TRAILER, rng);
    assert_eq!(value.len(), len);
    store
        .insert(&NewEntry {
            key: common::key("evict", k),
            function: FUNCTION,
            serializer: common::SERIALIZER,
            value: &[&value],
            compute,
            deps: &[],
            outputs: &[],
        })
        .unwrap();
    len as u64
}

/// Whether key `k` is there (its value verified).
fn present(store: &Store, k: u32) -> bool {
    match store.lookup(&common::key("evict", k)).unwrap() {
        Some(found) => {
            common::check_value(k, &found.value).unwrap();
            true
        }
        None => false,
    }
}

fn limited(max: u64) -> Options {
    Options {
        max_size: Some(max),
        fsync: false,
    }
}

#[test]
fn inserts_stay_under_the_limit_and_cheap_bytes_go_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    const LIMIT: u64 = 1_000_000;
    let store = Store::open(&dir, limited(LIMIT)).unwrap();
    let mut rng = Rng::new(31);
    let check = |store: &Store| {
        let s = store.summary().unwrap();
        assert!(
            s.bytes <= LIMIT,
            "{} bytes over the limit of {LIMIT}",
            s.bytes
        );
        s
    };
    // 0: small and took two minutes to compute.
    put(&store, &mut rng, 0, 2_000, Duration::from_secs(120));
    // 1..=3: large and slow.
    for k in 1..=3 {
        put(&store, &mut rng, k, 100_000, Duration::from_secs(60));
        check(&store);
    }
    // 4: small and fast.
    put(&store, &mut rng, 4, 4_000, Duration::from_millis(10));
    // 10..40: large and fast, 3 MB of them.
    for k in 10..40 {
        put(&store, &mut rng, k, 100_000, Duration::from_millis(10));
        check(&store);
    }
    let summary = check(&store);
    for k in 0..=4 {
        assert!(
            present(&store, k),
            "entry {k} is worth more than any cheap large one, yet was evicted"
        );
    }
    let cheap_left = (10..40).filter(|&k| present(&store, k)).count() as u64;
    assert!(
        cheap_left < 30 - 20,
        "most cheap large entries evicted; {cheap_left} left"
    );
    assert_eq!(summary.entries, 5 + cheap_left);
    assert_eq!(
        summary.bytes,
        2_000 + 3 * 100_000 + 4_000 + cheap_left * 100_000
    );
    assert_eq!(
        common::blob_files(&dir).len() as u64,
        summary.entries,
        "evicted blobs are deleted"
    );
}

#[test]
fn a_value_larger_than_the_limit_is_not_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let store = Store::open(&dir, limited(100_000)).unwrap();
    let mut rng = Rng::new(32);
    put(&store, &mut rng, 0, 10_000, Duration::from_secs(1));
    put(&store, &mut rng, 1, 200_000, Duration::from_secs(3600));
    let s = store.summary().unwrap();
    assert!(s.bytes <= 100_000, "{}", s.bytes);
    assert!(!present(&store, 1));
    assert_eq!(common::blob_files(&dir).len() as u64, s.entries);
}

// Regression test for a fixed store bug: `evict::evict_to` drops entries in order of worth until the
// total fits; a value larger than the whole limit cannot fit, so every entry
// worth less than it goes first, and then it goes too. One oversize result
// of a slow call empties the cache.
#[test]
fn a_value_larger_than_the_limit_does_not_flush_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let store = Store::open(&dir, limited(100_000)).unwrap();
    let mut rng = Rng::new(35);
    for k in 0..8 {
        put(&store, &mut rng, k, 10_000, Duration::from_secs(1));
    }
    put(&store, &mut rng, 100, 200_000, Duration::from_secs(3600));
    assert!(!present(&store, 100));
    let left = (0..8).filter(|&k| present(&store, k)).count();
    assert_eq!(
        left, 8,
        "entries that fit were evicted to make room for one that cannot"
    );
}

#[test]
fn gc_trims_to_the_size_it_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let store = Store::open(&dir, common::quick()).unwrap();
    let mut rng = Rng::new(33);
    // 20 entries of 50 KB; entry k took k + 1 seconds.
    for k in 0..20 {
        put(
            &store,
            &mut rng,
            k,
            50_000,
            Duration::from_secs(k as u64 + 1),
        );
    }
    assert_eq!(store.summary().unwrap().bytes, 1_000_000);
    // No limit, no eviction.
    assert_eq!(store.gc(None).unwrap().evicted_entries, 0);

    let report = store.gc(Some(320_000)).unwrap();
    assert_eq!(report.evicted_entries, 14);
    assert_eq!(report.bytes_after, 300_000);
    let s = store.summary().unwrap();
    assert_eq!((s.entries, s.bytes), (6, 300_000));
    let left: BTreeSet<u32> = (0..20).filter(|&k| present(&store, k)).collect();
    assert_eq!(
        left,
        (14..20).collect(),
        "the six slowest to compute are kept"
    );
    assert_eq!(common::blob_files(&dir).len(), 6);

    let report = store.gc(Some(0)).unwrap();
    assert_eq!((report.evicted_entries, report.bytes_after), (6, 0));
    assert_eq!(store.summary().unwrap().entries, 0);
    assert!(common::blob_files(&dir).is_empty());
}

/// Moves the last use of key `k` `days` into the past, behind the store's back.
fn idle(dir: &Path, k: u32, days: u64) {
    let conn = rusqlite::Connection::open(common::index_path(dir)).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let n = conn
        .execute(
            "UPDATE entries SET last_used_ns = last_used_ns - ?2 WHERE key = ?1",
            rusqlite::params![
                &common::key("evict", k).0[..],
                (days * 86_400 * 1_000_000_000) as i64
            ],
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn disuse_discounts_worth_and_hits_count_as_use() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let mut rng = Rng::new(34);
    {
        let store = Store::open(&dir, common::quick()).unwrap();
        // 0 and 1: equal in all but use. 2: ten times the worth of 3, but a
        // month unused, which divides it by 31.
        put(&store, &mut rng, 0, 50_000, Duration::from_secs(10));
        put(&store, &mut rng, 1, 50_000, Duration::from_secs(10));
        put(&store, &mut rng, 2, 50_000, Duration::from_secs(10));
        put(&store, &mut rng, 3, 50_000, Duration::from_secs(1));
    }
    for k in [0, 1] {
        idle(&dir, k, 10);
    }
    idle(&dir, 2, 30);

    let store = Store::open(&dir, common::quick()).unwrap();
    // A hit on 0, written back by commit_run, makes it fresh again.
    assert!(present(&store, 0));
    store.commit_run("use", "/work/evict.py").unwrap();
    let report = store.gc(Some(100_000)).unwrap();
    assert_eq!(report.evicted_entries, 2);
    let left: BTreeSet<u32> = (0..4).filter(|&k| present(&store, k)).collect();
    assert_eq!(
        left,
        BTreeSet::from([0, 3]),
        "the used entry and the fresh cheap one stay"
    );
}
