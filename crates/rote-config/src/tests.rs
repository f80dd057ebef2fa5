//! Tests of the layers, their precedence and the error messages.

use super::*;
use std::fs;

fn inputs(dir: &Path, env: &[(&str, &str)], flags: &[(&'static str, &str)]) -> Inputs {
    Inputs {
        cwd: dir.to_path_buf(),
        search_from: dir.to_path_buf(),
        env: env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
        flags: flags.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
    }
}

#[test]
fn defaults_without_any_layer() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(&inputs(dir.path(), &[], &[])).unwrap();
    let s = loaded.settings;
    assert_eq!(s.cache_dir, dir.path().join(".rote"));
    assert_eq!(s.min_duration, Duration::from_secs(1));
    assert_eq!(s.max_size, 10 * 1024 * 1024 * 1024);
    assert_eq!(s.python, None);
    assert!(!s.disable && s.fsync && !s.quiet);
    assert_eq!(s.verbose, 0);
    assert_eq!(s.origin("min_duration"), Some(&Origin::Default));
    assert!(loaded.warnings.is_empty());
}

#[test]
fn precedence_file_then_env_then_flag() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.rote]\nmin_duration = 5\nmax_size = \"1GiB\"\nfsync = false\n",
    )
    .unwrap();
    let sub = dir.path().join("src/deep");
    fs::create_dir_all(&sub).unwrap();
    let mut inp = inputs(
        dir.path(),
        &[("ROTE_MIN_DURATION", "250ms"), ("ROTE_MAX_SIZE", "2GB")],
        &[],
    );
    inp.search_from = sub;
    let s = load(&inp).unwrap().settings;
    assert_eq!(s.min_duration, Duration::from_millis(250));
    assert_eq!(s.max_size, 2_000_000_000);
    assert!(!s.fsync, "file value survives where no later layer sets it");
    assert_eq!(
        s.origin("fsync"),
        Some(&Origin::File(dir.path().join("pyproject.toml")))
    );

    inp.flags = vec![("min_duration", "3".to_owned())];
    let s = load(&inp).unwrap().settings;
    assert_eq!(s.min_duration, Duration::from_secs(3));
    assert_eq!(s.origin("min_duration"), Some(&Origin::Flag));
    assert_eq!(s.origin("max_size"), Some(&Origin::Env));
}

#[test]
fn cache_dir_in_file_is_relative_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.rote]\ncache_dir = \"build/cache\"\n",
    )
    .unwrap();
    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    let mut inp = inputs(&work, &[], &[]);
    inp.search_from = work.clone();
    assert_eq!(
        load(&inp).unwrap().settings.cache_dir,
        dir.path().join("build/cache")
    );
    inp.env = vec![("ROTE_CACHE_DIR".into(), "here".into())];
    assert_eq!(load(&inp).unwrap().settings.cache_dir, work.join("here"));
}

#[test]
fn pyproject_without_table_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.rote]\nquiet = true\n",
    )
    .unwrap();
    let pkg = dir.path().join("pkg");
    fs::create_dir(&pkg).unwrap();
    fs::write(pkg.join("pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
    let mut inp = inputs(&pkg, &[], &[]);
    inp.search_from = pkg;
    let loaded = load(&inp).unwrap();
    assert!(loaded.settings.quiet);
    assert_eq!(loaded.pyproject, Some(dir.path().join("pyproject.toml")));
}

#[test]
fn unknown_names_warn_once_each() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.rote]\nmin_durration = 1\n",
    )
    .unwrap();
    let loaded = load(&inputs(
        dir.path(),
        &[("ROTE_CACHEDIR", "x"), ("HOME", "/root")],
        &[],
    ))
    .unwrap();
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].starts_with("unknown key `min_durration` in `"));
    assert_eq!(
        loaded.warnings[1],
        "unknown environment variable ROTE_CACHEDIR, ignored"
    );
}

#[test]
fn errors_name_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(&inputs(dir.path(), &[("ROTE_MIN_DURATION", "soon")], &[])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value for ROTE_MIN_DURATION: `soon`: unknown unit `soon`, expected s, ms, us, ns, m or h"
    );

    fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.rote]\nmax_size = [1]\n",
    )
    .unwrap();
    let err = load(&inputs(dir.path(), &[], &[])).unwrap_err().to_string();
    let file = dir.path().join("pyproject.toml");
    assert_eq!(
        err,
        format!(
            "invalid value for `max_size` in `{}` ([tool.rote]): `[1]`: expected a size such as `10GiB`, `500MB` or a number of bytes",
            file.display()
        )
    );

    fs::write(dir.path().join("pyproject.toml"), "[tool.rote]\n").unwrap();
    let err = load(&inputs(dir.path(), &[], &[("disable", "maybe")]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid value for --disable: `maybe`: expected a boolean"),
        "{err}"
    );
}

#[test]
fn broken_pyproject_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pyproject.toml"), "[tool.rote\n").unwrap();
    let loaded = load(&inputs(dir.path(), &[], &[])).unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].starts_with("cannot parse `"),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn empty_env_value_means_unset() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(&inputs(dir.path(), &[("ROTE_PYTHON", "")], &[]))
        .unwrap()
        .settings;
    assert_eq!(s.python, None);
}

#[test]
fn units() {
    assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
    assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
    assert!(parse_duration("-1").is_err());
    assert!(parse_duration("inf").is_err());
    assert!(parse_duration("").is_err());
    assert_eq!(parse_size("10GiB"), Ok(10 << 30));
    assert_eq!(parse_size("500MB"), Ok(500_000_000));
    assert_eq!(parse_size("1.5k"), Ok(1536));
    assert_eq!(parse_size("4096"), Ok(4096));
    assert!(parse_size("10 parsecs").is_err());
    assert_eq!(parse_bool("Yes"), Ok(true));
    assert!(parse_bool("2").is_err());
    assert_eq!(parse_verbosity("2"), Ok(2));
    assert!(parse_verbosity("3").is_err());
    assert_eq!(format_size(1536), "1.5 KiB");
    assert_eq!(format_size(12), "12 B");
}

#[test]
fn table_matches_settings() {
    // Every key must be settable at every level and round-trip its default.
    let dir = tempfile::tempdir().unwrap();
    for spec in KEYS {
        assert!(
            spec.env == format!("ROTE_{}", spec.name.to_ascii_uppercase()),
            "{}",
            spec.name
        );
        assert!(
            spec.flag == format!("--{}", spec.name.replace('_', "-")),
            "{}",
            spec.name
        );
        if spec.default.is_empty() {
            continue;
        }
        let mut s = Settings::defaults(dir.path());
        let before = format!("{s:?}");
        s.set_str(spec.name, spec.default, dir.path(), Origin::Runtime)
            .unwrap();
        let after = format!("{s:?}").replace("Runtime", "Default");
        assert_eq!(
            before, after,
            "default of `{}` disagrees with Settings::defaults",
            spec.name
        );
    }
}
