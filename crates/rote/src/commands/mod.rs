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
pub fn settings_here(cache: &CacheDirArg, flags: &[(&'static str, String)]) -> anyhow::Result<Settings> {
    let mut inputs = Inputs::from_process(None).context("cannot read the current directory")?;
    if let Some(dir) = &cache.cache_dir {
        inputs.flags.push(("cache_dir", dir.to_string_lossy().into_owned()));
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
    rote_store::Options { max_size: Some(settings.max_size), fsync: settings.fsync }
}

pub fn done() -> anyhow::Result<Exit> {
    Ok(Exit::Code(0))
}
