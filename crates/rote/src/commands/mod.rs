//! One module per subcommand, and what they share.

pub mod clear;
pub mod gc;
pub mod python;
pub mod run;
pub mod status;

use anyhow::Context;
use rote_config::{Inputs, Settings};
use rote_embed::Exit;

use crate::cli::CacheDirArg;

/// The settings for a command run from the current directory (the
/// `pyproject.toml` search starts there), with `flags` as (key, text).
pub fn settings_here(
    cache: &CacheDirArg,
    flags: &[(&'static str, String)],
) -> anyhow::Result<Settings> {
    let mut inputs = Inputs::from_process(None).context("cannot read the current directory")?;
    if let Some(dir) = &cache.cache_dir {
        inputs
            .flags
            .push(("cache_dir", dir.to_string_lossy().into_owned()));
    }
    inputs.flags.extend(flags.iter().cloned());
    let loaded = rote_config::load(&inputs)?;
    for warning in &loaded.warnings {
        eprintln!("rote: warning: {warning}");
    }
    crate::logging::init(loaded.settings.verbose);
    Ok(loaded.settings)
}

pub fn store_options(settings: &Settings) -> rote_store::Options {
    rote_store::Options {
        max_size: Some(settings.max_size),
        fsync: settings.fsync,
    }
}

pub fn done() -> anyhow::Result<Exit> {
    Ok(Exit::Code(0))
}

/// Writes a command's data to stdout; a reader that went away (`| head`) is
/// not an error.
pub fn print_data(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(err).context("cannot write to stdout"))
        }
        _ => Ok(()),
    }
}

/// One line of data on stdout.
pub fn data_line(mut line: String) -> anyhow::Result<()> {
    line.push('\n');
    print_data(&line)
}
