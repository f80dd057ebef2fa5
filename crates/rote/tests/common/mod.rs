//! What the CLI tests share: a `rote` command free of the caller's
//! configuration, and one text rendering of a finished command.

use std::path::Path;
use std::process::{Command, Output};

/// The rote under test, with no `ROTE_*`, `VIRTUAL_ENV` or `RUST_LOG` from
/// the caller: tests must not depend on the caller's configuration.
pub fn rote() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rote"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ROTE_") || key == "VIRTUAL_ENV" || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Exit status, stdout and stderr as one text, with `tmp` shown as `[TMP]`
/// and the binary's path as `[ROTE]`.
pub fn render(out: &Output, tmp: Option<&Path>) -> String {
    let mut text = format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status
            .code()
            .map_or("signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(tmp) = tmp {
        text = text.replace(&tmp.to_string_lossy().into_owned(), "[TMP]");
    }
    text.replace(env!("CARGO_BIN_EXE_rote"), "[ROTE]")
}
