//! Compiles the Python modules rote embeds (`python/*.py`) with the
//! interpreter rote is built against (`PYO3_PYTHON`), so that a run loads
//! their code with `marshal` instead of compiling ~30 KB of source at every
//! start-up (8 ms). Without that interpreter the files are embedded empty
//! and the source is compiled at run time instead.

use std::path::PathBuf;
use std::process::Command;

const MODULES: [&str; 2] = ["_rote_rewrite", "_rote_tee"];

const COMPILE: &str = "import marshal, sys
src = open(sys.argv[1], 'rb').read()
code = compile(src, sys.argv[2], 'exec', dont_inherit=True)
with open(sys.argv[3], 'wb') as f:
    marshal.dump(code, f)
";

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    for name in MODULES {
        let src = format!("python/{name}.py");
        println!("cargo:rerun-if-changed={src}");
        let dest = out.join(format!("{name}.marshal"));
        let ok = Command::new(&python)
            .args(["-I", "-c", COMPILE, &src, &format!("<rote>/{name}.py")])
            .arg(&dest)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            println!(
                "cargo:warning=could not precompile {src} with `{python}`; it is compiled at run time"
            );
            std::fs::write(&dest, b"").expect("OUT_DIR is writable");
        }
    }
}
