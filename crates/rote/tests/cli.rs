//! Snapshots of rote's own command-line surface: help, version, and every
//! error message, with machine-specific paths and versions filtered so one
//! snapshot serves every interpreter rote is built against. Also the shebang
//! form, and rote standing in for python.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{render, rote};

fn venv() -> PathBuf {
    PathBuf::from(
        std::env::var_os("ROTETEST_VENV")
            .expect("ROTETEST_VENV is not set: run through `make test`"),
    )
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"CPython 3\.\d+\.\d+[^)\s]*", "CPython [VERSION]");
    s.add_filter(&regex_escape(&base_prefix()), "[BASE]");
    s.add_filter(r"python3\.\d+", "python3.[MINOR]");
    s.add_filter(r"/tmp/\.tmp\w+", "[TMP]");
    s
}

/// The base install of the test venv (the parent of `home` in pyvenv.cfg).
fn base_prefix() -> String {
    let cfg = std::fs::read_to_string(venv().join("pyvenv.cfg")).expect("pyvenv.cfg");
    let home = cfg
        .lines()
        .find_map(|l| l.strip_prefix("home = "))
        .expect("home in pyvenv.cfg");
    let home = Path::new(home).canonicalize().unwrap();
    home.parent().unwrap().to_string_lossy().into_owned()
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '/' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

macro_rules! snap {
    ($name:expr, $value:expr) => {
        settings().bind(|| insta::assert_snapshot!($name, $value))
    };
}

#[test]
fn help() {
    snap!(
        "help",
        render(&rote().arg("--help").output().unwrap(), None)
    );
    snap!(
        "help_short",
        render(&rote().arg("-h").output().unwrap(), None)
    );
    snap!(
        "run_help",
        render(&rote().args(["run", "--help"]).output().unwrap(), None)
    );
    for sub in ["status", "clear", "gc"] {
        let out = rote().args([sub, "--help"]).output().unwrap();
        snap!(format!("{sub}_help"), render(&out, None));
    }
}

#[test]
fn version() {
    let out = rote().arg("--version").output().unwrap();
    assert!(out.status.success());
    snap!("version", render(&out, None));
}

#[test]
fn no_arguments_shows_help_and_fails() {
    let out = rote().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    snap!("no_arguments", render(&out, None));
}

#[test]
fn unknown_option_is_a_usage_error() {
    snap!(
        "unknown_option",
        render(
            &rote().args(["run", "--bogus", "x.py"]).output().unwrap(),
            None
        )
    );
    snap!(
        "missing_script",
        render(&rote().args(["run"]).output().unwrap(), None)
    );
    snap!(
        "bad_duration_flag",
        render(
            &rote()
                .args(["run", "--min-duration", "soon", "x.py"])
                .output()
                .unwrap(),
            None
        )
    );
}

#[test]
fn configuration_errors_name_their_source() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.py"), "print('ran')\n").unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut cmd = rote();
        cmd.current_dir(tmp.path())
            .args(["run", "s.py"])
            .env("VIRTUAL_ENV", venv());
        for (k, v) in env {
            cmd.env(k, v);
        }
        render(&cmd.output().unwrap(), Some(tmp.path()))
    };
    snap!("env_invalid_value", run(&[("ROTE_MIN_DURATION", "soon")]));
    snap!("env_unknown_variable", run(&[("ROTE_MIN_DURATON", "1")]));
    std::fs::write(
        tmp.path().join("pyproject.toml"),
        "[tool.rote]\nmax_size = \"lots\"\n",
    )
    .unwrap();
    snap!("pyproject_invalid_value", run(&[]));
    std::fs::write(
        tmp.path().join("pyproject.toml"),
        "[tool.rote]\nmin_durashun = 2\n",
    )
    .unwrap();
    snap!("pyproject_unknown_key", run(&[]));
}

#[test]
fn environment_errors() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("s.py"), "print('ran')\n").unwrap();
    let run = |python: &str| {
        let out = rote()
            .current_dir(tmp.path())
            .args(["run", "--python", python, "s.py"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        render(&out, Some(tmp.path()))
    };
    snap!("python_missing", run("/no/such/venv"));
    // A venv made by another Python: pyvenv.cfg names a foreign home.
    let fake = tmp.path().join("oldvenv");
    std::fs::create_dir_all(fake.join("bin")).unwrap();
    std::fs::write(fake.join("bin/python"), "").unwrap();
    std::fs::write(
        fake.join("pyvenv.cfg"),
        "home = /usr/bin\nversion = 3.11.2\n",
    )
    .unwrap();
    snap!("python_foreign_venv", run(fake.to_str().unwrap()));
    snap!("python_foreign_venv_env", {
        let out = rote()
            .current_dir(tmp.path())
            .args(["run", "s.py"])
            .env("VIRTUAL_ENV", &fake)
            .output()
            .unwrap();
        render(&out, Some(tmp.path()))
    });
}

#[test]
fn shebang_runs_the_script_with_its_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("tool.py");
    std::fs::write(
        &script,
        "#!/usr/bin/env rote\nimport sys\nprint(sys.argv, __name__)\nsys.exit(4)\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_rote")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = rote_free(Command::new("./tool.py"))
        .current_dir(tmp.path())
        .args(["a b", "--flag"])
        .env("PATH", path)
        .env("VIRTUAL_ENV", venv())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "['./tool.py', 'a b', '--flag'] __main__\n"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(4));
}

fn rote_free(mut cmd: Command) -> Command {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ROTE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn python_mode_children_are_rote_in_the_same_venv() {
    // `rote -c` behaves as python; sys.executable is rote itself, so a
    // child started through it is rote again and can import rote.
    let code = "import sys, subprocess, rote\n\
                print(sys.executable == sys.argv[1], sys.prefix)\n\
                r = subprocess.run([sys.executable, '-c', 'import sys, rote, numpy; print(sys.prefix, rote.__version__)'],\n\
                                   capture_output=True, text=True)\n\
                print(r.stdout.strip(), r.returncode)";
    let out = rote()
        .args(["-c", code, env!("CARGO_BIN_EXE_rote")])
        .env("VIRTUAL_ENV", venv())
        .output()
        .unwrap();
    let venv = venv();
    let expected = format!(
        "True {v}\n{v} {version} 0\n",
        v = venv.display(),
        version = env!("CARGO_PKG_VERSION")
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

#[test]
fn explicit_python_reaches_children() {
    // Chosen with --python (not VIRTUAL_ENV): children must land in it too.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("s.py"),
        "import subprocess, sys\nprint(subprocess.run([sys.executable, '-c', 'import sys; print(sys.prefix)'], capture_output=True, text=True).stdout.strip())\n",
    )
    .unwrap();
    let out = rote()
        .current_dir(tmp.path())
        .args(["run", "--python"])
        .arg(venv())
        .arg("s.py")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        venv().to_string_lossy()
    );
}
