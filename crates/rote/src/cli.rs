//! rote's command line: clap definitions and dispatch to one file per
//! subcommand under `commands/`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use rote_config::{parse_bool, parse_duration, parse_size};

const ABOUT: &str = "Automatic, persistent memoization for Python scripts";

const LONG_ABOUT: &str = "\
rote runs a Python script exactly as `python` would, and remembers the results \
of its slow, pure function calls under `.rote/`, so that the next run only \
executes what changed.

Usage forms:
  rote run [OPTIONS] SCRIPT [ARGS]...    run a script (a file, a directory or zip with __main__.py)
  rote run [OPTIONS] -m MODULE [ARGS]... run a module, like `python -m`
  rote SCRIPT [ARGS]...                  the same as `rote run`; what `#!/usr/bin/env rote` calls

rote as a Python interpreter: `rote --help`, `rote -h` and `rote --version` are \
rote's own; any other first argument that begins with `-` (`-c`, `-m`, `-B`, \
`-E`, `-I`, `-u`, `-X`, `-W`, ...) makes rote behave as `python` with those \
arguments. rote sets `sys.executable` to itself, so multiprocessing and \
subprocess children started through it are rote too. rote's own options \
therefore come after the subcommand: `rote run -v script.py`.";

const USAGE: &str = "\
rote run [OPTIONS] SCRIPT [ARGS]...
       rote run [OPTIONS] -m MODULE [ARGS]...
       rote SCRIPT [ARGS]...
       rote -c CODE | -m MODULE | -OPTION ...   (rote as python)";

#[derive(Debug, Parser)]
#[command(name = "rote", about = ABOUT, long_about = LONG_ABOUT, version = version(), disable_version_flag = true)]
#[command(allow_external_subcommands = true, arg_required_else_help = true, override_usage = USAGE)]
pub struct Cli {
    /// Print version
    #[arg(long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a Python script or module with memoization
    #[command(long_about = RUN_LONG_ABOUT, override_usage = RUN_USAGE)]
    Run(RunArgs),
    /// Show what the cache holds, what it saved, and why calls were not cached
    Status(StatusArgs),
    /// Wipe the cache, or drop the entries of one function
    Clear(ClearArgs),
    /// Trim the cache to its size limit and remove leftovers of crashed writers
    Gc(GcArgs),
    #[command(external_subcommand)]
    Script(Vec<OsString>),
}

/// Where the cache is, for the commands that only read or trim it.
#[derive(Debug, Args)]
pub struct CacheDirArg {
    /// Cache directory [default: from [tool.rote], ROTE_CACHE_DIR, else .rote]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub cache: CacheDirArg,
    /// Print JSON (schema in docs/status-json.md)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ClearArgs {
    #[command(flatten)]
    pub cache: CacheDirArg,
    /// Drop only this function's entries (`<module>.<qualname>`, e.g. `__main__.fit`)
    #[arg(value_name = "FUNCTION")]
    pub function: Option<String>,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub cache: CacheDirArg,
    /// Trim to this size instead of the configured limit
    #[arg(long, value_name = "SIZE", value_parser = check(parse_size))]
    pub max_size: Option<String>,
}

const RUN_USAGE: &str = "\
rote run [OPTIONS] SCRIPT [ARGS]...
       rote run [OPTIONS] -m MODULE [ARGS]...";

const RUN_LONG_ABOUT: &str = "\
Run a Python script or module with memoization.

Everything after SCRIPT (or -m MODULE) goes to the script as sys.argv[1:].

Configuration, lowest precedence first: defaults < [tool.rote] in the nearest \
pyproject.toml above the script < ROTE_* environment variables < these flags. \
Keys (pyproject key / variable / flag):
  cache_dir     ROTE_CACHE_DIR     --cache-dir     where the cache lives (default .rote)
  min_duration  ROTE_MIN_DURATION  --min-duration  calls faster than this are not stored (default 1s)
  max_size      ROTE_MAX_SIZE      --max-size      cache size limit (default 10GiB)
  python        ROTE_PYTHON        --python        virtualenv to run in (default $VIRTUAL_ENV, else the built-in CPython)
  disable       ROTE_DISABLE       --disable       run with no caching at all
  fsync         ROTE_FSYNC         --fsync         fsync the cache on commit (default true)
  verbose       ROTE_VERBOSE       -v, --verbose   one line per cache decision; -vv debug log
  quiet         ROTE_QUIET         -q, --quiet     no summary line at exit

Durations take units (0.5, 500ms, 2m); sizes too (10GiB, 500MB).";

#[derive(Debug, Default, Args)]
pub struct RunArgs {
    /// Run library module as a script (like python -m); the first argument is the module name
    #[arg(short = 'm')]
    pub module: bool,
    /// Cache directory [default: .rote]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Store only calls that ran at least this long [default: 1s]
    #[arg(long, value_name = "DURATION", value_parser = check(parse_duration))]
    pub min_duration: Option<String>,
    /// Cache size limit [default: 10GiB]
    #[arg(long, value_name = "SIZE", value_parser = check(parse_size))]
    pub max_size: Option<String>,
    /// Virtualenv (directory or its python) to run in
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Run with no caching at all
    #[arg(long)]
    pub disable: bool,
    /// fsync the cache on commit
    #[arg(long, value_name = "BOOL", value_parser = check(parse_bool))]
    pub fsync: Option<String>,
    /// One line per cache decision on stderr; -vv for the debug log
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No summary line at exit
    #[arg(short, long)]
    pub quiet: bool,
    /// The script (a file, or a directory or zip file with `__main__.py`; with -m, the module name),
    /// then its arguments, passed on as they are
    #[arg(value_name = "SCRIPT [ARGS]", required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<OsString>,
}

/// Validates a flag with the shared parser but keeps its text, so that the
/// configuration layer sees every level the same way.
fn check<T>(
    parse: fn(&str) -> Result<T, String>,
) -> impl Fn(&str) -> Result<String, String> + Clone {
    move |s: &str| parse(s).map(|_| s.to_owned())
}

fn version() -> &'static str {
    let text = format!(
        "{} (CPython {})",
        env!("CARGO_PKG_VERSION"),
        rote_embed::linked_version()
    );
    Box::leak(text.into_boxed_str())
}

/// Flags that stay rote's own even though they start with `-`.
pub fn is_rote_flag(arg: &[u8]) -> bool {
    matches!(arg, b"--help" | b"-h" | b"--version")
}

pub fn dispatch(argv: Vec<OsString>) -> anyhow::Result<rote_embed::Exit> {
    let cli = Cli::parse_from(argv);
    match cli.command {
        Command::Run(args) => {
            // Values that start with `-` are allowed so that the script's own
            // options pass through, but the script itself cannot be one: that
            // is a misspelt rote option.
            if let Some(first) = args
                .command
                .first()
                .filter(|a| a.as_encoded_bytes().starts_with(b"-"))
            {
                let mut cmd = Cli::command();
                let run = cmd
                    .find_subcommand_mut("run")
                    .expect("run subcommand")
                    .clone();
                let msg = format!("unexpected argument '{}' found", first.to_string_lossy());
                run.bin_name("rote run")
                    .error(ErrorKind::UnknownArgument, msg)
                    .exit();
            }
            crate::commands::run::run(args)
        }
        Command::Status(args) => crate::commands::status::run(args),
        Command::Clear(args) => crate::commands::clear::run(args),
        Command::Gc(args) => crate::commands::gc::run(args),
        Command::Script(command) => crate::commands::run::run(RunArgs::script_only(command)),
    }
}

impl RunArgs {
    /// `rote SCRIPT ARGS...`: no options, everything else from the layers.
    fn script_only(command: Vec<OsString>) -> RunArgs {
        RunArgs {
            command,
            ..RunArgs::default()
        }
    }
}
