//! The differential harness: every entry of `corpus/` runs under the venv's
//! plain python and under `rote run`, each in a fresh copy of the corpus, and
//! stdout, stderr, exit status and the files written must be identical.
//! Each entry runs twice: with `PYTHONUNBUFFERED`/`PYTHONDONTWRITEBYTECODE`
//! unset and with both set, since either hides buffering and bytecode bugs.
//!
//! The venv comes from `ROTETEST_VENV` (set by `scripts/dev test`, one venv
//! per interpreter rote is built against). See `corpus/README.md` for the
//! entry rules and the directives.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../corpus")
        .canonicalize()
        .expect("corpus/ exists")
}

fn venv() -> Result<PathBuf, Failed> {
    let v = std::env::var_os("ROTETEST_VENV")
        .ok_or("ROTETEST_VENV is not set: run the tests through `make test` (scripts/dev test)")?;
    Ok(PathBuf::from(v))
}

#[derive(Debug, Default, Clone)]
struct Directives {
    run: Option<Vec<String>>,
    stdin: Option<String>,
    env: BTreeMap<String, String>,
    head: Option<usize>,
    signal: Option<String>,
    timeout: Option<u64>,
}

fn directives(file: &Path) -> Directives {
    let mut d = Directives::default();
    let Ok(bytes) = std::fs::read(file) else {
        return d;
    };
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines().take(20) {
        let Some(rest) = line.trim_start().strip_prefix("# corpus:") else {
            continue;
        };
        let (key, value) = rest
            .split_once('=')
            .unwrap_or_else(|| panic!("bad directive in {}: {line}", file.display()));
        let value: serde_json::Value = serde_json::from_str(value.trim())
            .unwrap_or_else(|e| panic!("bad JSON in {}: {line}: {e}", file.display()));
        match key.trim() {
            "run" => d.run = Some(serde_json::from_value(value).expect("run is a list of strings")),
            "stdin" => d.stdin = Some(value.as_str().expect("stdin is a string").to_owned()),
            "env" => d.env = serde_json::from_value(value).expect("env is an object of strings"),
            "head" => d.head = Some(value.as_u64().expect("head is an integer") as usize),
            "signal" => d.signal = Some(value.as_str().expect("signal is a string").to_owned()),
            "timeout" => d.timeout = Some(value.as_u64().expect("timeout is an integer")),
            other => panic!("unknown directive `{other}` in {}", file.display()),
        }
    }
    d
}

struct Entry {
    name: String,
    directives: Directives,
}

fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    for item in std::fs::read_dir(corpus_dir()).expect("read corpus/") {
        let path = item.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('_') || name.starts_with('.') {
            continue;
        }
        let directives = if path.is_dir() && path.join("__main__.py").exists() {
            directives(&path.join("__main__.py"))
        } else if name.ends_with(".py") {
            directives(&path)
        } else if name.ends_with(".pyz") {
            Directives::default()
        } else {
            continue;
        };
        out.push(Entry { name, directives });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// What one run produced, with machine-specific paths filtered.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    status: String,
    stdout: String,
    stderr: String,
    files: BTreeMap<String, String>,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let item = item.unwrap();
        let (src, dst) = (item.path(), to.join(item.file_name()));
        let ty = item.file_type().unwrap();
        if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ty.is_dir() {
            if item.file_name() == "__pycache__" {
                continue;
            }
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Relative path → content digest; compiled bytecode only by name (it embeds
/// the source's mtime, which differs between two copies).
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(items) = std::fs::read_dir(dir) else {
            return;
        };
        for item in items.flatten() {
            let path = item.path();
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".rote" {
                continue;
            }
            let ty = item.file_type().unwrap();
            if ty.is_symlink() {
                out.insert(
                    rel,
                    format!("-> {}", std::fs::read_link(&path).unwrap().display()),
                );
            } else if ty.is_dir() {
                walk(base, &path, out);
            } else if rel.ends_with(".pyc") {
                out.insert(rel, "bytecode".to_owned());
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(rel, digest(&bytes));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// FNV-1a: enough to tell two files apart in a test report.
fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x100000001b3);
    }
    format!("{} bytes {h:016x}", bytes.len())
}

struct Side<'a> {
    /// The interpreter prefix: `[python]` or `[rote, run]`.
    prefix: Vec<OsString>,
    /// Paths that legitimately differ between the sides, shown as `<EXE>`.
    exe_names: Vec<String>,
    venv: &'a Path,
}

fn run_side(entry: &Entry, side: &Side<'_>, unbuffered: bool) -> Result<Observed, Failed> {
    let tmp = tempfile::tempdir()?;
    let work = tmp.path().join("w");
    copy_tree(&corpus_dir(), &work);
    let d = &entry.directives;
    let run = d.run.clone().unwrap_or_else(|| vec![entry.name.clone()]);
    let mut cmd = Command::new(&side.prefix[0]);
    cmd.args(&side.prefix[1..]).args(&run).current_dir(&work);
    cmd.env("VIRTUAL_ENV", side.venv)
        .env_remove("PYTHONHOME")
        .env_remove("PYTHONPATH");
    for var in ["PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"] {
        if unbuffered {
            cmd.env(var, "1");
        } else {
            cmd.env_remove(var);
        }
    }
    for (k, v) in &d.env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().unwrap();
    let input = d.stdin.clone().unwrap_or_default();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut stderr_pipe = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr_pipe.read_to_end(&mut buf);
        buf
    });
    let pid = child.id() as i32;
    let mut out_reader = BufReader::new(child.stdout.take().unwrap());
    let signal = d.signal.clone();
    let head = d.head;
    let out_thread = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(sig) = signal {
            let mut line = Vec::new();
            while out_reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                out.extend_from_slice(&line);
                if line == b"READY\n" {
                    let signo = if sig == "SIGINT" {
                        libc::SIGINT
                    } else {
                        libc::SIGTERM
                    };
                    // SAFETY: signalling our own child.
                    unsafe { libc::kill(pid, signo) };
                    break;
                }
                line.clear();
            }
        }
        if let Some(n) = head {
            let mut line = Vec::new();
            for _ in 0..n {
                line.clear();
                if out_reader.read_until(b'\n', &mut line).unwrap_or(0) == 0 {
                    break;
                }
                out.extend_from_slice(&line);
            }
            drop(out_reader); // the reader goes away, as `| head -N` does
        } else {
            let _ = out_reader.read_to_end(&mut out);
        }
        out
    });

    let limit = Duration::from_secs(d.timeout.unwrap_or(60));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return Err(format!("timed out after {limit:?}: {:?}", side.prefix).into());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = feeder.join();
    let stdout = out_thread.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let status = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => "unknown".to_owned(),
    };

    let filter = |bytes: &[u8]| {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        let real = work.canonicalize().unwrap();
        for from in [
            real.to_string_lossy().into_owned(),
            work.to_string_lossy().into_owned(),
        ] {
            text = text.replace(&from, "<TMP>");
        }
        for exe in &side.exe_names {
            text = text.replace(exe, "<EXE>");
        }
        text
    };
    Ok(Observed {
        status,
        stdout: filter(&stdout),
        stderr: filter(&stderr),
        files: snapshot(&work),
    })
}

fn compare(entry: &Entry, unbuffered: bool) -> Result<(), Failed> {
    let venv = venv()?;
    let python = venv.join("bin/python");
    let rote = PathBuf::from(env!("CARGO_BIN_EXE_rote"));
    let python_side = Side {
        prefix: vec![python.clone().into()],
        exe_names: vec![python.to_string_lossy().into()],
        venv: &venv,
    };
    let rote_side = Side {
        prefix: vec![rote.clone().into(), "run".into()],
        exe_names: vec![rote.to_string_lossy().into()],
        venv: &venv,
    };
    let expected = run_side(entry, &python_side, unbuffered)?;
    let actual = run_side(entry, &rote_side, unbuffered)?;
    if expected == actual {
        return Ok(());
    }
    let mut report = String::from("rote differs from python\n");
    for (what, e, a) in [
        ("status", &expected.status, &actual.status),
        ("stdout", &expected.stdout, &actual.stdout),
        ("stderr", &expected.stderr, &actual.stderr),
    ] {
        if e != a {
            report.push_str(&format!(
                "--- {what} (python)\n{e}\n--- {what} (rote)\n{a}\n"
            ));
        }
    }
    if expected.files != actual.files {
        report.push_str(&format!(
            "--- files (python)\n{:#?}\n--- files (rote)\n{:#?}\n",
            expected.files, actual.files
        ));
    }
    Err(report.into())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for entry in entries() {
        let entry = std::sync::Arc::new(entry);
        for (mode, unbuffered) in [("buffered", false), ("unbuffered", true)] {
            let e = entry.clone();
            trials.push(Trial::test(format!("{}::{mode}", e.name), move || {
                compare(&e, unbuffered)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
