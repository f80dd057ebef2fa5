//! Crash safety: writer processes SIGKILLed at random moments (60 kills, two
//! writers always running) leave a sound index, only entries that verify, and
//! debris (temp files, orphan blobs) that `gc` removes once it is old enough.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Rng, Worker};
use rote_store::{Options, Outcome, Store};

const KEYS: u32 = 32;
const KILLS: usize = 60;
const FUNCTION: &str = "crash.f";
const WORKER_TEST: &str = "crash_writer";

/// Inserts (and now and then reads back and commits) until killed; gives up
/// by itself after 30 s in case nobody kills it.
#[test]
fn crash_writer() {
    if common::worker_role().as_deref() != Some("crash") {
        return;
    }
    let dir = PathBuf::from(common::env_var("ROTE_STORE_DIR"));
    let writer: u32 = common::env_var("ROTE_STORE_WORKER_ID").parse().unwrap();
    let seed: u64 = common::env_var("ROTE_STORE_SEED").parse().unwrap();
    let mut rng = Rng::new(seed);
    // Default options: fsync on, as users run it.
    let store = Store::open(&dir, Options::default()).expect("open");
    let started = Instant::now();
    let mut seq = 0u64;
    while started.elapsed() < Duration::from_secs(30) {
        let k = rng.below(KEYS as u64) as u32;
        let key = common::key("crash", k);
        if rng.chance(1, 4) {
            match store.lookup(&key).expect("lookup") {
                Some(found) => {
                    common::check_found(k, FUNCTION, &found)
                        .unwrap_or_else(|e| panic!("WRONG VALUE for key {k}: {e}"));
                    store.record(FUNCTION, Outcome::Hit { saved_s: 1.0 });
                }
                None => store.record(FUNCTION, Outcome::Miss),
            }
        }
        let value = common::make_value(k, writer, seq, rng.size(16, 1 << 20), &mut rng);
        common::insert_value(&store, &key, FUNCTION, &value).expect("insert");
        store.record(FUNCTION, Outcome::Stored);
        seq += 1;
        if seq % 8 == 0 {
            store
                .commit_run(&format!("crash-{writer}"), "/work/crash.py")
                .expect("commit_run");
        }
    }
    panic!("writer {writer} was never killed");
}

fn spawn(dir: &Path, work: &Path, writer: u32, seed: u64) -> Worker {
    let log = work.join(format!("writer-{writer}.log"));
    let mut cmd = common::worker_command(WORKER_TEST, "crash", &log);
    cmd.env("ROTE_STORE_DIR", dir)
        .env("ROTE_STORE_WORKER_ID", writer.to_string())
        .env("ROTE_STORE_SEED", seed.to_string());
    Worker::spawn(cmd, log, format!("writer {writer}"))
}

/// Looks up every key; each hit must verify. Returns how many hit.
fn verify_all(store: &Store) -> u64 {
    let mut hits = 0;
    for k in 0..KEYS {
        if let Some(found) = store.lookup(&common::key("crash", k)).unwrap() {
            common::check_found(k, FUNCTION, &found).unwrap_or_else(|e| panic!("key {k}: {e}"));
            hits += 1;
        }
    }
    hits
}

#[test]
fn writers_killed_at_random_moments_leave_a_sound_store() {
    if common::worker_role().is_some() {
        return;
    }
    let seed = common::seed();
    eprintln!("crash seed {seed} (replay with ROTE_STORE_SEED={seed})");
    let mut rng = Rng::new(seed);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();

    let started = Instant::now();
    let mut next_writer = 0u32;
    let mut spawn_next = |rng: &mut Rng| {
        next_writer += 1;
        spawn(&dir, &work, next_writer, rng.next_u64())
    };
    // Two writers at all times: kill the older one at a random moment,
    // start a fresh one, repeat.
    let mut live = vec![spawn_next(&mut rng), spawn_next(&mut rng)];
    let mut kills = 0;
    let mut failures = Vec::new();
    while kills < KILLS {
        std::thread::sleep(Duration::from_millis(rng.range(5, 80)));
        let mut victim = live.remove(0);
        let status = victim.kill9();
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(libc::SIGKILL) {
            kills += 1;
        } else {
            failures.push(format!(
                "{} ended by itself ({status}):\n{}",
                victim.name,
                victim.log_text()
            ));
        }
        assert!(failures.is_empty(), "seed {seed}: {}", failures.join("\n"));
        live.push(spawn_next(&mut rng));
    }
    for mut w in live {
        w.kill9();
    }
    let killing = started.elapsed();

    let store = Store::open(&dir, Options::default()).unwrap();
    assert_eq!(
        store.integrity_problems().unwrap(),
        Vec::<String>::new(),
        "seed {seed}"
    );
    assert!(
        !dir.join("v1/index.sqlite.broken").exists(),
        "the index was never found broken"
    );
    let entries = store.summary().unwrap().entries;
    assert!(
        entries > 0,
        "seed {seed}: the writers never stored anything"
    );
    // Blob first, row second: no entry can point at a missing or partial blob.
    assert_eq!(
        verify_all(&store),
        entries,
        "seed {seed}: every entry is a verified hit"
    );

    // Debris of the killed writers: temp files, and blobs no entry refers to
    // (values replaced, or written by a writer killed before its row). Plant
    // one of each too, so the check never depends on where the kills landed.
    let natural_temps = common::tmp_files(&dir).len();
    let natural_blobs = common::blob_files(&dir).len();
    std::fs::write(common::tmp_dir(&dir).join(".tmp-4242-0-0"), b"half a blob").unwrap();
    let planted = common::make_value(0, 9999, 0, 100, &mut rng);
    let planted_path = common::blob_path(&dir, &planted);
    std::fs::create_dir_all(planted_path.parent().unwrap()).unwrap();
    std::fs::write(&planted_path, &planted).unwrap();

    // Young debris may belong to a writer about to commit: gc keeps it.
    let report = store.gc(None).unwrap();
    assert_eq!(
        (
            report.removed_blobs,
            report.removed_temp_files,
            report.evicted_entries
        ),
        (0, 0, 0)
    );

    // Past the grace period (600 s) it goes; referenced blobs stay.
    let temps = common::tmp_files(&dir);
    let blobs = common::blob_files(&dir);
    for path in temps.iter().chain(&blobs) {
        common::backdate(path, Duration::from_secs(3600));
    }
    let report = store.gc(None).unwrap();
    assert_eq!(report.removed_temp_files, temps.len() as u64);
    assert_eq!(common::tmp_files(&dir), Vec::<PathBuf>::new());
    assert_eq!(report.evicted_entries, 0);
    assert_eq!(
        report.removed_blobs,
        blobs.len() as u64 - entries,
        "every unreferenced blob removed"
    );
    assert!(!planted_path.exists());
    // Every value is distinct, so one blob per entry remains, and all verify.
    assert_eq!(common::blob_files(&dir).len() as u64, entries);
    assert_eq!(store.summary().unwrap().entries, entries);
    assert_eq!(verify_all(&store), entries);
    assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new());
    eprintln!(
        "crash: {kills} kills in {killing:.1?}; {entries} entries; killed writers left {natural_temps} temp files; \
         gc removed {} of {natural_blobs} blob files",
        report.removed_blobs - 1,
    );
}
