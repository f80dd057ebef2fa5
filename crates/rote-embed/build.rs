//! Records which CPython this build links against, so the runtime can refuse
//! a virtualenv made by another interpreter and find the base install.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-changed=build.rs");
    pyo3_build_config::add_libpython_rpath_link_args();
    let cfg = pyo3_build_config::get();
    let Some(exe) = cfg.executable() else {
        panic!(
            "pyo3 found no Python executable; set PYO3_PYTHON to a CPython >= 3.12 with a shared libpython"
        );
    };
    if cfg.version().major != 3 || cfg.version().minor < 12 {
        panic!(
            "`{exe}` is Python {}.{}; rote needs CPython >= 3.12 (sys.monitoring). \
             Set PYO3_PYTHON to one, or build with `make build`, which finds one",
            cfg.version().major,
            cfg.version().minor
        );
    }
    if !cfg.shared() {
        panic!(
            "`{exe}` has no shared libpython; rote embeds CPython and needs one (build it with --enable-shared)"
        );
    }
    // sys.base_prefix and the base executable, not the venv's, when PYO3_PYTHON is a venv python.
    let probe = "import sys, os\nprint(sys.base_prefix)\nexe = getattr(sys, '_base_executable', sys.executable)\nprint(os.path.realpath(exe))";
    let out = Command::new(exe)
        .args(["-I", "-c", probe])
        .output()
        .expect("run PYO3_PYTHON");
    assert!(
        out.status.success(),
        "`{exe}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8 paths");
    let mut lines = text.lines();
    let base_prefix = lines.next().expect("base_prefix");
    let base_exe = lines.next().expect("base executable");
    println!("cargo:rustc-env=ROTE_PY_BASE_PREFIX={base_prefix}");
    println!("cargo:rustc-env=ROTE_PY_BASE_EXECUTABLE={base_exe}");
    println!(
        "cargo:rustc-env=ROTE_PY_BUILD_VERSION={}.{}",
        cfg.version().major,
        cfg.version().minor
    );
    // Handed to the binary's build script (DEP_ROTE_EMBED_LIBDIR) for its rpath:
    // link arguments of a library do not reach the binaries that use it.
    if let Some(dir) = cfg.lib_dir() {
        println!("cargo:libdir={dir}");
    }
}
