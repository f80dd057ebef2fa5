//! The cache directory on disk and whole-store operations: what a fresh store
//! creates (mode 0700, CACHEDIR.TAG, .gitignore, v1/index.sqlite), that
//! `open_existing` creates nothing, that entries persist across opens, and
//! what `remove_function` and `clear` remove.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::Rng;
use rote_store::{Dep, NewEntry, Outcome, Store};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_fresh_store_lays_out_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    // Missing parents are created too.
    let dir = tmp.path().join("a/b/cache");
    let store = Store::open(&dir, common::quick()).unwrap();
    assert_eq!(store.dir(), dir);
    assert_eq!(mode(&dir), 0o700);
    for sub in ["v1", "v1/blobs", "v1/tmp"] {
        assert!(dir.join(sub).is_dir(), "{sub}");
        assert_eq!(mode(&dir.join(sub)) & 0o022, 0, "{sub} writable by others");
    }
    let tag = std::fs::read_to_string(dir.join("CACHEDIR.TAG")).unwrap();
    assert!(
        tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"),
        "{tag:?}"
    );
    let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l.trim() == "*"), "{gitignore:?}");
    assert!(common::index_path(&dir).is_file());
    assert_eq!(store.integrity_problems().unwrap(), Vec::<String>::new());
    let s = store.summary().unwrap();
    assert_eq!(
        (s.entries, s.bytes, s.hits, s.misses, s.stored),
        (0, 0, 0, 0, 0)
    );
    assert!(s.last_run.is_none());
    assert!(s.bytes_on_disk > 0, "the index counts");
    drop(store);

    // Reopening changes nothing that is there.
    std::fs::write(dir.join(".gitignore"), "*\n# edited\n").unwrap();
    Store::open(&dir, common::quick()).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "*\n# edited\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("CACHEDIR.TAG")).unwrap(),
        tag
    );
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn open_existing_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    assert!(
        Store::open_existing(&dir, common::quick())
            .unwrap()
            .is_none()
    );
    assert!(!dir.exists(), "open_existing created the directory");

    // An empty directory is no cache either, and stays empty.
    std::fs::create_dir(&dir).unwrap();
    assert!(
        Store::open_existing(&dir, common::quick())
            .unwrap()
            .is_none()
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);

    drop(Store::open(&dir, common::quick()).unwrap());
    assert!(
        Store::open_existing(&dir, common::quick())
            .unwrap()
            .is_some()
    );
}

#[test]
fn entries_persist_across_opens_with_their_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let mut rng = Rng::new(41);
    let value = common::make_value(0, 3, 9, 5_000, &mut rng);
    let deps = vec![
        Dep::Code {
            name: "m.f".into(),
            identity: vec![1; 32],
        },
        Dep::Global {
            name: "m.G".into(),
            fingerprint: vec![2; 32],
        },
        Dep::FileRead {
            path: "/data/in.csv".into(),
            digest: vec![3; 32],
        },
        Dep::FileWritten {
            path: "/data/out.csv".into(),
            digest: vec![4; 32],
        },
        Dep::Listing {
            path: "/data".into(),
            digest: vec![5; 32],
        },
        Dep::Missing {
            path: "/data/none".into(),
        },
        Dep::Cwd {
            path: "/work".into(),
        },
        Dep::Distribution {
            name: "numpy".into(),
            version: "2.3.1".into(),
        },
        Dep::Interpreter {
            version: "3.13.5".into(),
        },
    ];
    let key = common::key("persist", 0);
    let created = {
        let store = Store::open(&dir, common::quick()).unwrap();
        store
            .insert(&NewEntry {
                key,
                function: "m.f",
                serializer: "pickle5",
                value: &[&value],
                compute: std::time::Duration::from_millis(1234),
                deps: &deps,
                outputs: &[],
            })
            .unwrap();
        store.lookup(&key).unwrap().unwrap().meta
    };
    let store = Store::open_existing(&dir, common::quick())
        .unwrap()
        .unwrap();
    let found = store.lookup(&key).unwrap().unwrap();
    assert_eq!(found.value, value);
    assert_eq!(found.deps, deps);
    assert_eq!(found.meta, created);
    assert_eq!(found.meta.key, key);
    assert_eq!(
        (found.meta.function.as_str(), found.meta.serializer.as_str()),
        ("m.f", "pickle5")
    );
    assert_eq!(found.meta.compute, std::time::Duration::from_millis(1234));
    assert_eq!(found.meta.size, value.len() as u64);
    assert!(store.lookup(&common::key("persist", 1)).unwrap().is_none());
}

fn put(store: &Store, ns: &str, k: u32, function: &str, value: &[u8]) {
    store
        .insert(&NewEntry {
            key: common::key(ns, k),
            function,
            serializer: common::SERIALIZER,
            value: &[value],
            compute: std::time::Duration::from_secs(1),
            deps: &[],
            outputs: &[],
        })
        .unwrap();
}

#[test]
fn remove_function_counts_and_spares_shared_blobs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let store = Store::open(&dir, common::quick()).unwrap();
    let mut rng = Rng::new(42);
    let shared = common::make_value(0, 0, 0, 1000, &mut rng);
    let own: Vec<Vec<u8>> = (1..3)
        .map(|k| common::make_value(k, 0, 0, 1000, &mut rng))
        .collect();
    // m.f: three entries, one of them with the value g also has.
    put(&store, "f", 0, "m.f", &shared);
    put(&store, "f", 1, "m.f", &own[0]);
    put(&store, "f", 2, "m.f", &own[1]);
    put(&store, "g", 0, "m.g", &shared);
    put(
        &store,
        "g",
        1,
        "m.g",
        &common::make_value(1, 1, 1, 1000, &mut rng),
    );
    assert_eq!(
        common::blob_files(&dir).len(),
        4,
        "equal values share a blob"
    );

    assert_eq!(store.remove_function("m.f").unwrap(), 3);
    assert_eq!(store.remove_function("m.f").unwrap(), 0);
    assert_eq!(store.remove_function("no.such").unwrap(), 0);
    for k in 0..3 {
        assert!(store.lookup(&common::key("f", k)).unwrap().is_none());
    }
    assert_eq!(
        store.lookup(&common::key("g", 0)).unwrap().unwrap().value,
        shared,
        "the shared blob stays"
    );
    assert!(store.lookup(&common::key("g", 1)).unwrap().is_some());
    for v in &own {
        assert!(
            !common::blob_path(&dir, v).exists(),
            "blobs only m.f used are deleted"
        );
    }
    assert_eq!(common::blob_files(&dir).len(), 2);
    let s = store.summary().unwrap();
    assert_eq!(s.entries, 2);
    assert!(
        s.invalidation_reasons.is_empty(),
        "removing is not an invalidation: {:?}",
        s.invalidation_reasons
    );
}

#[test]
fn clear_empties_entries_blobs_and_statistics() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let store = Store::open(&dir, common::quick()).unwrap();
    let mut rng = Rng::new(43);
    for k in 0..10 {
        put(
            &store,
            "c",
            k,
            "m.f",
            &common::make_value(k, 0, 0, 2000, &mut rng),
        );
        store.record("m.f", Outcome::Stored);
    }
    store.record("m.f", Outcome::Hit { saved_s: 2.0 });
    store.record("m.f", Outcome::Reason("source changed"));
    store.commit_run("before-clear", "/work/clear.py").unwrap();
    std::fs::write(common::tmp_dir(&dir).join(".tmp-1-1-1"), b"debris").unwrap();
    assert!(store.summary().unwrap().last_run.is_some());

    store.clear().unwrap();
    let s = store.summary().unwrap();
    assert_eq!(
        (s.entries, s.bytes, s.hits, s.misses, s.stored),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(s.time_saved_s, 0.0);
    assert!(
        s.invalidation_reasons.is_empty() && s.top_functions.is_empty() && s.last_run.is_none()
    );
    assert!(common::blobs_dir(&dir).is_dir() && common::tmp_dir(&dir).is_dir());
    assert_eq!(
        std::fs::read_dir(common::blobs_dir(&dir)).unwrap().count(),
        0,
        "blobs dir emptied"
    );
    assert_eq!(
        std::fs::read_dir(common::tmp_dir(&dir)).unwrap().count(),
        0,
        "tmp dir emptied"
    );
    for k in 0..10 {
        assert!(store.lookup(&common::key("c", k)).unwrap().is_none());
    }
    assert!(dir.join("CACHEDIR.TAG").is_file() && common::index_path(&dir).is_file());
    assert_eq!(mode(&common::blobs_dir(&dir)) & 0o077, 0);

    // Still a working store, in this process and the next.
    let v = common::make_value(0, 1, 1, 100, &mut rng);
    put(&store, "c", 0, "m.f", &v);
    drop(store);
    let store = Store::open(&dir, common::quick()).unwrap();
    assert_eq!(
        store.lookup(&common::key("c", 0)).unwrap().unwrap().value,
        v
    );
}
