//! `rote status`, `rote clear` and `rote gc` against real caches written
//! through rote-store: snapshots of the human output, the `--json` schema,
//! and the error messages for caches that cannot be used.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rote_store::{Dep, KeyBuilder, NewEntry, Options, Outcome, Store};

fn rote(dir: &Path) -> Command {
    let mut cmd = common::rote();
    cmd.current_dir(dir);
    cmd
}

fn render(out: &std::process::Output, tmp: &Path) -> String {
    common::render(out, Some(tmp))
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d+(\.\d)? (B|KiB|MiB)\b", "[SIZE]");
    s.add_filter(r#""bytes": \d+"#, r#""bytes": [BYTES]"#);
    s
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        settings().bind(|| insta::assert_snapshot!($name, $value))
    };
}

/// A cache with two functions' entries and one recorded run.
fn populate(dir: &Path) {
    let store = Store::open(&dir.join(".rote"), Options::default()).unwrap();
    let deps = [Dep::FileRead {
        path: "/data/raw.csv".into(),
        digest: vec![7; 32],
    }];
    for (function, arg, secs) in [
        ("__main__.fit", "a", 30),
        ("__main__.fit", "b", 20),
        ("helpers.clean", "x", 2),
    ] {
        let key = KeyBuilder::new("call")
            .field(1, function.as_bytes())
            .field(2, arg.as_bytes())
            .finish();
        let value = format!("{function}({arg})").repeat(100);
        store
            .insert(&NewEntry {
                key,
                function,
                serializer: "msgpack",
                value: &[value.as_bytes()],
                compute: Duration::from_secs(secs),
                deps: &deps,
                outputs: &[],
            })
            .unwrap();
    }
    store.record("__main__.fit", Outcome::Hit { saved_s: 30.0 });
    store.record("__main__.fit", Outcome::Hit { saved_s: 20.0 });
    store.record("__main__.plot", Outcome::Miss);
    store.record("__main__.plot", Outcome::Reason("source changed"));
    store.record("helpers.clean", Outcome::Miss);
    store.record("helpers.clean", Outcome::Stored);
    store.record("helpers.tiny", Outcome::Miss);
    store.record("helpers.tiny", Outcome::Reason("too fast"));
    store.record("helpers.tiny", Outcome::Miss);
    store.record("helpers.tiny", Outcome::Reason("too fast"));
    store.commit_run("run-1", "/work/analyze.py").unwrap();
}

#[test]
fn status_without_a_cache() {
    let tmp = tempfile::tempdir().unwrap();
    snap!(
        "status_no_cache",
        render(
            &rote(tmp.path()).arg("status").output().unwrap(),
            tmp.path()
        )
    );
    let out = rote(tmp.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    snap!("status_no_cache_json", render(&out, tmp.path()));
    assert!(
        !tmp.path().join(".rote").exists(),
        "status must not create a cache"
    );
}

#[test]
fn status_reports_entries_savings_reasons_and_the_last_run() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    snap!(
        "status",
        render(
            &rote(tmp.path()).arg("status").output().unwrap(),
            tmp.path()
        )
    );
    let out = rote(tmp.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["cache_dir"],
        tmp.path().join(".rote").to_string_lossy().as_ref()
    );
    assert_eq!(v["entries"], 3);
    assert!(v["bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        (v["hits"].as_u64(), v["misses"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(v["time_saved_s"].as_f64(), Some(50.0));
    assert_eq!(
        v["invalidation_reasons"],
        serde_json::json!({"source changed": 1, "too fast": 2})
    );
    assert_eq!(v["last_run"]["script"], "/work/analyze.py");
    assert_eq!(
        v["last_run"]["functions"]["helpers.tiny"],
        serde_json::json!({"hits": 0, "misses": 2, "stored": 0, "reasons": {"too fast": 2}})
    );
    snap!("status_json", render(&out, tmp.path()));
}

#[test]
fn clear_one_function_then_everything() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    snap!(
        "clear_function",
        render(
            &rote(tmp.path())
                .args(["clear", "__main__.fit"])
                .output()
                .unwrap(),
            tmp.path()
        )
    );
    let store = Store::open_existing(&tmp.path().join(".rote"), Options::default())
        .unwrap()
        .unwrap();
    assert_eq!(store.summary().unwrap().entries, 1);
    drop(store);
    snap!(
        "clear_all",
        render(&rote(tmp.path()).arg("clear").output().unwrap(), tmp.path())
    );
    let store = Store::open_existing(&tmp.path().join(".rote"), Options::default())
        .unwrap()
        .unwrap();
    let summary = store.summary().unwrap();
    assert_eq!(
        (summary.entries, summary.hits, summary.last_run),
        (0, 0, None)
    );
}

#[test]
fn gc_trims_to_the_requested_size() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let out = rote(tmp.path())
        .args(["gc", "--max-size", "2KiB"])
        .output()
        .unwrap();
    snap!("gc_trim", render(&out, tmp.path()));
    let store = Store::open_existing(&tmp.path().join(".rote"), Options::default())
        .unwrap()
        .unwrap();
    // Two of the ~1.3 KB values go; the one worth most per byte stays.
    assert_eq!(store.summary().unwrap().entries, 1);
}

#[test]
fn unusable_caches_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    let out = rote(tmp.path())
        .args(["status", "--cache-dir", "file"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    snap!("status_cache_is_a_file", render(&out, tmp.path()));

    populate(tmp.path());
    let dir = tmp.path().join(".rote");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let out = rote(tmp.path()).arg("clear").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    snap!("clear_untrusted", render(&out, tmp.path()));
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let store = Store::open_existing(&dir, Options::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        store.summary().unwrap().entries,
        3,
        "an untrusted cache is left alone"
    );
}
