//! rote standing in for `python`: `rote -c ...`, `rote -B -c ...`, `rote -m
//! pip`. CPython parses the command line itself; rote only picks the same
//! environment `rote run` would (ROTE_PYTHON, else VIRTUAL_ENV, else the base
//! install) and keeps its hooks and `import rote` available.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context;
use rote_embed::{Exit, PythonEnv};

pub fn run(argv: &[OsString]) -> anyhow::Result<Exit> {
    let explicit = std::env::var_os("ROTE_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let virtual_env = std::env::var_os("VIRTUAL_ENV").map(PathBuf::from);
    let env = PythonEnv::resolve(explicit.as_deref(), virtual_env.as_deref())
        .context("cannot use the requested Python environment")?;
    Ok(rote_embed::run_as_python(&env, argv)?)
}
