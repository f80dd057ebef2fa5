//! Hammer: 16 processes (two threads each) read and write 64 overlapping keys
//! of one cache directory they race to create; every value read must verify,
//! and the run record they share must add up to what each of them counted.
//! Also: blob deletion (gc, eviction) racing inserts of equal values.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Rng, Worker};
use rote_store::{NewEntry, Options, Outcome, Store};

const WORKERS: u32 = 16;
const THREADS: u32 = 2;
/// Per thread: 16 workers x 2 threads x 200 = 6,400 operations.
const OPS: u64 = 200;
const KEYS: u32 = 64;
const FUNCTIONS: u32 = 4;
const RUN_ID: &str = "hammer-run";
const SCRIPT: &str = "/work/hammer/script.py";
/// Seconds saved per hit: a power of two, so sums are exact in any order.
const SAVED: f64 = 0.25;
const WORKER_TEST: &str = "hammer_worker";

fn function_of(k: u32) -> String {
    format!("hammer.f{}", k % FUNCTIONS)
}

/// What one worker saw: per function [hits, misses, stored]; wrong values.
#[derive(Debug, Default)]
struct Tally {
    functions: BTreeMap<String, [u64; 3]>,
    wrong: u64,
    verified: u64,
}

impl Tally {
    fn add(&mut self, f: &str, i: usize) {
        self.functions.entry(f.to_owned()).or_default()[i] += 1;
    }

    fn merge(&mut self, other: Tally) {
        for (f, c) in other.functions {
            let mine = self.functions.entry(f).or_default();
            for i in 0..3 {
                mine[i] += c[i];
            }
        }
        self.wrong += other.wrong;
        self.verified += other.verified;
    }

    fn to_text(&self) -> String {
        let mut s = format!("wrong {}\nverified {}\n", self.wrong, self.verified);
        for (f, c) in &self.functions {
            s += &format!("fn {f} {} {} {}\n", c[0], c[1], c[2]);
        }
        s
    }

    fn parse(text: &str) -> Tally {
        let mut t = Tally::default();
        for line in text.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["wrong", n] => t.wrong = n.parse().unwrap(),
                ["verified", n] => t.verified = n.parse().unwrap(),
                ["fn", f, h, m, s] => {
                    t.functions.insert(
                        f.to_string(),
                        [h.parse().unwrap(), m.parse().unwrap(), s.parse().unwrap()],
                    );
                }
                _ => panic!("bad result line {line:?}"),
            }
        }
        t
    }
}

fn work(store: &Store, worker: u32, thread: u32, seed: u64) -> Tally {
    let writer = worker * THREADS + thread;
    let mut rng = Rng::new(seed ^ ((writer as u64 + 1) << 40));
    let mut tally = Tally::default();
    for seq in 0..OPS {
        let k = rng.below(KEYS as u64) as u32;
        let f = function_of(k);
        let key = common::key("hammer", k);
        match store.lookup(&key).expect("lookup failed") {
            Some(found) => {
                match common::check_found(k, &f, &found) {
                    Ok(_) => tally.verified += 1,
                    Err(err) => {
                        eprintln!("worker {worker}.{thread}: WRONG VALUE for key {k}: {err}");
                        tally.wrong += 1;
                    }
                }
                store.record(&f, Outcome::Hit { saved_s: SAVED });
                tally.add(&f, 0);
                // Now and then overwrite a hit, so writers replace each
                // other's values while others read them.
                if !rng.chance(1, 6) {
                    continue;
                }
            }
            None => {
                store.record(&f, Outcome::Miss);
                tally.add(&f, 1);
            }
        }
        let value = common::make_value(k, writer, seq, rng.size(8, 1 << 20), &mut rng);
        common::insert_value(store, &key, &f, &value).expect("insert failed");
        store.record(&f, Outcome::Stored);
        tally.add(&f, 2);
    }
    tally
}

/// Does the work of one hammer process when started as one; a no-op test
/// otherwise.
#[test]
fn hammer_worker() {
    if common::worker_role().as_deref() != Some("hammer") {
        return;
    }
    let dir = PathBuf::from(common::env_var("ROTE_STORE_DIR"));
    let id: u32 = common::env_var("ROTE_STORE_WORKER_ID").parse().unwrap();
    let seed: u64 = common::env_var("ROTE_STORE_SEED").parse().unwrap();
    let result = PathBuf::from(common::env_var("ROTE_STORE_RESULT"));
    // Default options: fsync on, the default size limit (never reached here).
    let store = Store::open(&dir, Options::default()).expect("open");
    let mut tally = Tally::default();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn({
                    let store = &store;
                    move || work(store, id, t, seed)
                })
            })
            .collect();
        for h in handles {
            tally.merge(h.join().expect("worker thread panicked"));
        }
    });
    store.commit_run(RUN_ID, SCRIPT).expect("commit_run");
    common::write_whole(&result, &tally.to_text());
}

fn spawn(dir: &Path, work: &Path, id: u32, seed: u64) -> Worker {
    let log = work.join(format!("worker-{id}.log"));
    let mut cmd = common::worker_command(WORKER_TEST, "hammer", &log);
    cmd.env("ROTE_STORE_DIR", dir)
        .env("ROTE_STORE_WORKER_ID", id.to_string())
        .env("ROTE_STORE_SEED", seed.to_string())
        .env(
            "ROTE_STORE_RESULT",
            work.join(format!("worker-{id}.result")),
        );
    Worker::spawn(cmd, log, format!("worker {id}"))
}

#[test]
fn sixteen_processes_hammer_one_store() {
    if common::worker_role().is_some() {
        return;
    }
    let seed = common::seed();
    eprintln!("hammer seed {seed} (replay with ROTE_STORE_SEED={seed})");
    let tmp = tempfile::tempdir().unwrap();
    // Not created yet: the workers race to create it.
    let dir = tmp.path().join("cache");
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();

    let started = Instant::now();
    let mut workers: Vec<Worker> = (0..WORKERS)
        .map(|id| spawn(&dir, &work, id, seed))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut failures = Vec::new();
    let mut total = Tally::default();
    for (id, w) in workers.iter_mut().enumerate() {
        match w.wait_until(deadline) {
            Some(status) if status.success() => {}
            Some(status) => failures.push(format!(
                "worker {id} exited with {status}:\n{}",
                w.log_text()
            )),
            None => failures.push(format!(
                "worker {id} still running after 120 s:\n{}",
                w.log_text()
            )),
        }
        match std::fs::read_to_string(work.join(format!("worker-{id}.result"))) {
            Ok(text) => total.merge(Tally::parse(&text)),
            Err(err) => failures.push(format!("worker {id} left no result: {err}")),
        }
    }
    eprintln!(
        "hammer: {WORKERS} workers finished in {:.1?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "seed {seed}: {} worker failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        total.wrong, 0,
        "seed {seed}: workers read wrong values (see their logs)"
    );
    let ops: u64 = total.functions.values().map(|c| c[0] + c[1]).sum();
    assert_eq!(
        ops,
        WORKERS as u64 * THREADS as u64 * OPS,
        "every operation is a hit or a miss"
    );
    assert!(total.verified > 0);

    let store = Store::open(&dir, Options::default()).unwrap();
    assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new());

    // The shared run record adds up every worker's counts.
    let summary = store.summary().unwrap();
    let run = summary.last_run.as_ref().expect("a run record");
    assert_eq!(run.script, SCRIPT);
    let recorded: BTreeMap<String, [u64; 3]> = run
        .functions
        .iter()
        .map(|(f, s)| (f.clone(), [s.hits, s.misses, s.stored]))
        .collect();
    assert_eq!(
        recorded, total.functions,
        "seed {seed}: run record vs the workers' own counts"
    );
    for (f, s) in &run.functions {
        assert_eq!(s.time_saved_s, s.hits as f64 * SAVED, "time saved for {f}");
        assert!(s.reasons.is_empty(), "{f}: {:?}", s.reasons);
    }
    let sum = |i: usize| total.functions.values().map(|c| c[i]).sum::<u64>();
    assert_eq!(
        (summary.hits, summary.misses, summary.stored),
        (sum(0), sum(1), sum(2))
    );
    assert_eq!(summary.time_saved_s, sum(0) as f64 * SAVED);
    assert!(
        summary.invalidation_reasons.is_empty(),
        "{:?}",
        summary.invalidation_reasons
    );
    let top: BTreeMap<String, u64> = summary
        .top_functions
        .iter()
        .map(|(f, h, _)| (f.clone(), *h))
        .collect();
    let hits: BTreeMap<String, u64> = total
        .functions
        .iter()
        .filter(|(_, c)| c[0] > 0)
        .map(|(f, c)| (f.clone(), c[0]))
        .collect();
    assert_eq!(top, hits, "top functions' hits");

    // Every key was stored by someone; each one verifies, and the totals
    // kept by triggers match the values actually there.
    assert_eq!(summary.entries, KEYS as u64);
    let check_all = |store: &Store| -> u64 {
        let mut bytes = 0;
        for k in 0..KEYS {
            let found = store
                .lookup(&common::key("hammer", k))
                .unwrap()
                .unwrap_or_else(|| panic!("key {k} missing"));
            common::check_found(k, &function_of(k), &found)
                .unwrap_or_else(|e| panic!("key {k}: {e}"));
            bytes += found.value.len() as u64;
        }
        bytes
    };
    assert_eq!(check_all(&store), summary.bytes);

    // Replaced values left orphan blobs, but young ones: gc leaves them be
    // (a writer may be about to commit them) and every entry still verifies.
    let blobs_before = common::blob_files(&dir).len();
    assert!(blobs_before >= KEYS as usize);
    let report = store.gc(None).unwrap();
    assert_eq!((report.evicted_entries, report.removed_blobs), (0, 0));
    assert_eq!(common::blob_files(&dir).len(), blobs_before);
    assert_eq!(check_all(&store), summary.bytes);
    assert!(
        !dir.join("v1/index.sqlite.broken").exists(),
        "the index was never thrown away"
    );
    eprintln!(
        "hammer: {} hits, {} misses, {} stored, {} values verified by workers, {} blob files",
        sum(0),
        sum(1),
        sum(2),
        total.verified,
        blobs_before
    );
}

// Regression tests for a fixed store bug: blobs are shared by
// content, and `blobs::write` skips writing one that already exists (without
// refreshing its mtime); the index row is committed later. Meanwhile another
// handle may decide the blob is unreferenced and delete it: `gc` through
// `collect_garbage` (blob_referenced, then remove_file, no lock held; the
// grace period does not help, the reused blob keeps its old mtime), and
// eviction through `evict_to` (remove_keys, then blob_referenced and
// remove_file). The new entry then points at nothing: a "blob missing" miss
// right after a successful insert. Values stay correct; the entry is lost.

/// Two handles on one store (two processes would do the same), one
/// inserting, the other running `background` until the first is done.
fn race(
    opts: Options,
    background: impl Fn(&Store, &mut u64) + Sync,
    foreground: impl FnOnce(&Store, &Path) -> u64,
) -> (u64, u64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let fg = Store::open(&dir, opts.clone()).unwrap();
    let stop = AtomicBool::new(false);
    /// Stops the background thread however the foreground ends (a panic
    /// included), so the scope can join it.
    struct Stop<'a>(&'a AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let bg = Store::open(&dir, opts.clone()).unwrap();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                background(&bg, &mut n);
            }
        });
        let stopper = Stop(&stop);
        let rounds = foreground(&fg, &dir);
        drop(stopper);
        fg.commit_run("race", "/work/race.py").unwrap();
        let missing = fg
            .summary()
            .unwrap()
            .invalidation_reasons
            .get("blob missing")
            .copied()
            .unwrap_or(0);
        (rounds, missing)
    })
}

const RACE_TIME: Duration = Duration::from_secs(3);

#[test]
fn gc_never_deletes_a_blob_an_insert_just_reused() {
    let mut rng = Rng::new(51);
    let x = common::make_value(0, 0, 0, 1000, &mut rng);
    let y = common::make_value(0, 0, 1, 1000, &mut rng);
    let (rounds, missing) = race(
        common::quick(),
        |bg, _| {
            bg.gc(None).unwrap();
        },
        |fg, dir| {
            let key = common::key("race", 0);
            let started = Instant::now();
            let mut rounds = 0;
            while started.elapsed() < RACE_TIME {
                rounds += 1;
                // Y replaces X: X is an orphan, and an old one (a value
                // replaced long ago, computed again today)...
                common::insert_value(fg, &key, "race.f", &y).unwrap();
                // (gc may delete it under our feet: then there is nothing
                // to backdate.)
                let old = std::time::SystemTime::now() - Duration::from_secs(3600);
                let _ = std::fs::File::open(common::blob_path(dir, &x))
                    .and_then(|f| f.set_modified(old));
                // ...until X is stored again.
                common::insert_value(fg, &key, "race.f", &x).unwrap();
                fg.lookup(&key).unwrap();
            }
            rounds
        },
    );
    assert_eq!(
        missing, 0,
        "{missing} of {rounds} entries lost their blob right after being stored"
    );
}

#[test]
fn eviction_never_deletes_a_blob_an_insert_just_reused() {
    // Many calls return the same small value (think `None`): one blob, many
    // entries, each worth nothing, so eviction takes them all, and then the
    // blob, while the other handle stores one more.
    let shared = b"N.".to_vec();
    let entry = |ns: &'static str, k: u64, value: &[u8], compute| {
        (common::key(ns, k as u32), value.to_vec(), compute)
    };
    let insert = |store: &Store, (key, value, compute): (rote_store::Key, Vec<u8>, Duration)| {
        store
            .insert(&NewEntry {
                key,
                function: "race.f",
                serializer: "s",
                value: &[&value],
                compute,
                deps: &[],
                outputs: &[],
            })
            .unwrap();
    };
    let (rounds, missing) = race(
        Options {
            max_size: Some(200_000),
            fsync: false,
        },
        |bg, n| {
            // Cheap 20 KB values: every insert evicts.
            *n += 1;
            let mut rng = Rng::new(*n);
            insert(
                bg,
                entry("bg", *n, &rng.bytes(20_000), Duration::from_millis(1)),
            );
        },
        |fg, _| {
            let started = Instant::now();
            let mut rounds = 0;
            while started.elapsed() < RACE_TIME {
                rounds += 1;
                insert(fg, entry("fg", rounds, &shared, Duration::ZERO));
                fg.lookup(&common::key("fg", rounds as u32)).unwrap();
            }
            rounds
        },
    );
    assert_eq!(
        missing, 0,
        "{missing} of {rounds} entries lost their blob right after being stored"
    );
}
