//! Files a call wrote and closed, kept with its entry: found with it, put
//! back when missing or changed (and only then), refused when the kept copy
//! is damaged, kept by garbage collection while the entry lives, dropped
//! with it.

mod common;

use std::time::Duration;

use rote_store::{Dep, NewEntry, NewOutput, Store};

const FUNCTION: &str = "__main__.save";

fn insert(store: &Store, key: &rote_store::Key, path: &str, content: &[u8]) {
    let deps = [Dep::FileWritten {
        path: path.to_owned(),
        digest: blake3::hash(content).as_bytes().to_vec(),
    }];
    let outputs = [NewOutput { path, content }];
    assert!(
        store
            .insert(&NewEntry {
                key: *key,
                function: FUNCTION,
                serializer: common::SERIALIZER,
                value: &[b"value"],
                compute: Duration::from_secs(2),
                deps: &deps,
                outputs: &outputs,
            })
            .unwrap()
    );
}

#[test]
fn outputs_come_back_with_their_entry_and_are_restored_only_when_needed() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let store = Store::open(&cache, common::quick()).unwrap();
    let out = tmp.path().join("results/out.txt");
    let out_text = out.to_str().unwrap().to_owned();
    let key = common::key("outputs", 1);
    insert(&store, &key, &out_text, b"first\n");

    let found = store.lookup(&key).unwrap().expect("stored");
    assert_eq!(found.outputs.len(), 1);
    let kept = &found.outputs[0];
    assert_eq!(kept.path, out_text);
    assert_eq!(kept.digest, *blake3::hash(b"first\n").as_bytes());
    assert_eq!(kept.size, 6);

    // Missing, directory and all: written back.
    assert_eq!(store.restore_output(kept), Ok(true));
    assert_eq!(std::fs::read(&out).unwrap(), b"first\n");
    // As the call left it: nothing to do.
    assert_eq!(store.restore_output(kept), Ok(false));
    // Changed since: put back.
    std::fs::write(&out, b"edited by hand\n").unwrap();
    assert_eq!(store.restore_output(kept), Ok(true));
    assert_eq!(std::fs::read(&out).unwrap(), b"first\n");

    // Garbage collection keeps the copy while the entry lives.
    for blob in common::blob_files(&cache) {
        common::backdate(&blob, Duration::from_secs(3600));
    }
    let report = store.gc(None).unwrap();
    assert_eq!(report.removed_blobs, 0);
    std::fs::remove_file(&out).unwrap();
    assert_eq!(store.restore_output(kept), Ok(true));

    // A damaged copy is refused, the file left alone.
    let copy = common::blob_path(&cache, b"first\n");
    std::fs::write(&copy, b"FIRST\n").unwrap();
    std::fs::remove_file(&out).unwrap();
    let err = store.restore_output(kept).unwrap_err();
    assert!(err.starts_with("kept copy"), "{err}");
    assert!(!out.exists());

    // Dropped with the entry; then collected.
    assert_eq!(store.remove_function(FUNCTION).unwrap(), 1);
    assert!(store.lookup(&key).unwrap().is_none());
    for blob in common::blob_files(&cache) {
        common::backdate(&blob, Duration::from_secs(3600));
    }
    store.gc(None).unwrap();
    assert!(common::blob_files(&cache).is_empty());
}

#[test]
fn a_new_entry_under_the_same_key_replaces_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("cache"), common::quick()).unwrap();
    let key = common::key("outputs", 2);
    let a = tmp.path().join("a.txt").to_str().unwrap().to_owned();
    let b = tmp.path().join("b.txt").to_str().unwrap().to_owned();
    insert(&store, &key, &a, b"a");
    insert(&store, &key, &b, b"b");
    let found = store.lookup(&key).unwrap().unwrap();
    let paths: Vec<_> = found.outputs.iter().map(|o| o.path.clone()).collect();
    assert_eq!(paths, vec![b]);
}
