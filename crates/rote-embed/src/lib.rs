//! The embedded CPython of a rote process: choosing the environment
//! ([`PythonEnv`]), starting the one interpreter through `PyConfig` with
//! rote's hooks in place, running the user's target as `__main__` exactly as
//! `python` would, and finalizing.
//!
//! Two entry points: [`run`] for `rote run` (rote decides what `__main__` is)
//! and [`run_as_python`] for `rote -c ...`-style command lines, where rote
//! stands in for the python executable (multiprocessing and subprocess
//! children started through `sys.executable`).

mod env;
mod hooks;
mod interp;
mod module;
mod runner;

use std::ffi::OsString;
use std::path::PathBuf;

pub use env::{Chosen, EnvError, PythonEnv, linked_version};
pub use hooks::tool_id;
pub use interp::Interpreter;
pub use rote_memo::{RunInfo, Settings as MemoSettings};
pub use runner::{Exit, Target};

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the interpreter is already running in this process")]
    AlreadyStarted,
    #[error("argument contains a NUL byte: {0:?}")]
    Nul(OsString),
    #[error("interpreter start-up failed: {0}")]
    Startup(pyo3::PyErr),
    #[error("cannot locate the rote executable: {0}")]
    CurrentExe(std::io::Error),
}

/// Everything `rote run` decides before Python starts.
#[derive(Debug)]
pub struct Launch {
    pub env: PythonEnv,
    pub target: Target,
    /// Arguments after the script or module name.
    pub args: Vec<OsString>,
    /// The process's own command line, for `sys.orig_argv` and messages.
    pub orig_argv: Vec<OsString>,
    /// Memoization settings; `None` runs the script uncached.
    pub memo: Option<(rote_memo::Settings, rote_memo::RunInfo)>,
}

fn current_exe() -> Result<PathBuf, EmbedError> {
    std::env::current_exe().map_err(EmbedError::CurrentExe)
}

/// Starts the interpreter, runs the target as `__main__`, finalizes.
pub fn run(launch: &Launch) -> Result<Exit, EmbedError> {
    // sys.argv as python builds it: the path as given, or "-m" until runpy
    // replaces it with the module's file.
    let first = match &launch.target {
        Target::Path(p) => p.clone(),
        Target::Module(_) => OsString::from("-m"),
    };
    let argv: Vec<OsString> = std::iter::once(first)
        .chain(launch.args.iter().cloned())
        .collect();
    let exe = current_exe()?;
    let interp = Interpreter::start(&interp::StartOptions {
        executable: &launch.env.executable,
        argv: &argv,
        orig_argv: &launch.orig_argv,
        parse_argv: false,
        sys_executable: &exe,
    })?;
    let program_name = launch
        .orig_argv
        .first()
        .cloned()
        .unwrap_or_else(|| OsString::from("rote"));
    if let Some((settings, info)) = &launch.memo {
        if let Err(err) = interp
            .attach(|py| rote_memo::start(py, settings.clone(), info.clone(), hooks::tool_id()))
        {
            eprintln!("rote: warning: memoization could not start ({err}); running uncached");
        }
    }
    let ran = interp.attach(|py| runner::run_main(py, &launch.target, &program_name));
    let finalized = interp.finalize();
    Ok(if ran.keyboard_interrupt {
        Exit::Sigint
    } else if finalized != 0 {
        Exit::Code(finalized)
    } else {
        Exit::Code(ran.code)
    })
}

/// Behaves as `python ARGS...`: `argv` is the whole command line (argv[0]
/// included), parsed by CPython itself.
pub fn run_as_python(env: &PythonEnv, argv: &[OsString]) -> Result<Exit, EmbedError> {
    let exe = current_exe()?;
    let interp = Interpreter::start(&interp::StartOptions {
        executable: &env.executable,
        argv,
        orig_argv: &[],
        parse_argv: true,
        sys_executable: &exe,
    })?;
    Ok(Exit::Code(interp.run_python_main()))
}
