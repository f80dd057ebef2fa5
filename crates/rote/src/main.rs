//! The `rote` executable: rote's own command line, or a stand-in for
//! `python` when started the way Python starts itself.
//!
//! The rule (also in `--help`): `rote --help`, `rote -h` and `rote --version`
//! are rote's own; any other first argument that begins with `-` means
//! "behave as python with these arguments" (`rote -c ...`, `rote -B -c ...`,
//! `rote -m pip`), which is how multiprocessing and subprocess children
//! started through `sys.executable` arrive. rote's own options therefore come
//! after the subcommand: `rote run -v script.py`.

mod cli;
mod commands;
mod logging;

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A bug in rote must still end in one line, not a Rust backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("rote: error: internal error: {msg}{place}");
        eprintln!(
            "  hint: this is a bug in rote; please report it with the command that triggered it"
        );
    }));
    let argv: Vec<OsString> = std::env::args_os().collect();
    let result = match argv.get(1).map(|a| a.as_encoded_bytes()) {
        Some(first) if first.starts_with(b"-") && !cli::is_rote_flag(first) => {
            commands::python::run(&argv)
        }
        _ => cli::dispatch(argv),
    };
    match result {
        Ok(exit) => exit.exit(),
        Err(err) => {
            report(&err);
            ExitCode::from(2)
        }
    }
}

/// One `rote: error: ...` line, the causes on it, and a hint where one helps.
fn report(err: &anyhow::Error) {
    eprintln!("rote: error: {err:#}");
    if let Some(hint) = err
        .chain()
        .find_map(|e| e.downcast_ref::<rote_embed::EnvError>())
        .and_then(|e| e.hint())
    {
        eprintln!("  hint: {hint}");
    }
}
