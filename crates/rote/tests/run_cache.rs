//! `rote run` against caches it cannot use (the script still runs, uncached,
//! after one warning) and the `-v` decision lines of a cold and a warm run.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn run(dir: &Path, args: &[&str]) -> String {
    let out = common::rote()
        .current_dir(dir)
        .arg("run")
        .args(args)
        .output()
        .expect("rote runs");
    common::render(&out, Some(dir))
}

const SCRIPT: &str = "\
def square(x):
    print('computing', x)
    return x * x


print(square(3), square(x=3))
";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.py"), SCRIPT).unwrap();
    dir
}

#[test]
fn unusable_caches_run_the_script_uncached_after_one_warning() {
    let dir = project();
    let p = dir.path();
    std::fs::write(p.join("afile"), "").unwrap();
    std::fs::create_dir(p.join("open")).unwrap();
    std::fs::set_permissions(p.join("open"), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::create_dir_all(p.join("garbage/v1")).unwrap();
    std::fs::set_permissions(p.join("garbage"), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(p.join("garbage/v1/index.sqlite"), "not a database").unwrap();
    let mut text = String::new();
    for cache in ["afile", "open", "garbage"] {
        text += &format!("== --cache-dir {cache}\n");
        text += &run(p, &["--cache-dir", cache, "--min-duration", "0", "s.py"]);
    }
    insta::assert_snapshot!(text);
}

#[test]
fn verbose_runs_say_what_was_decided() {
    let dir = project();
    let p = dir.path();
    let cold = run(p, &["-v", "--min-duration", "0", "s.py"]);
    let warm = run(p, &["-v", "--min-duration", "0", "s.py"]);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d+\.\d\d s", "[SECS] s");
    settings.add_filter(r"\(\d+(\.\d)? (B|KiB)\)", "([SIZE])");
    settings.bind(|| insta::assert_snapshot!(format!("== cold\n{cold}== warm\n{warm}")));
}
