//! `rote run`: resolve the configuration and the Python environment, then
//! hand the script to the embedded interpreter.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rote_config::{Inputs, Settings};
use rote_embed::{Chosen, Exit, Launch, PythonEnv, Target};

use crate::cli::RunArgs;

pub fn run(args: RunArgs) -> anyhow::Result<Exit> {
    let mut command = args.command.clone().into_iter();
    let first = command.next().context("missing script")?;
    let target = if args.module {
        Target::Module(first)
    } else {
        Target::Path(first)
    };
    let settings = load_settings(&args, &target)?;
    crate::logging::init(settings.verbose);
    tracing::debug!(?settings, "configuration");

    let virtual_env = std::env::var_os("VIRTUAL_ENV").map(PathBuf::from);
    let env = PythonEnv::resolve(settings.python.as_deref(), virtual_env.as_deref())
        .context("cannot use the requested Python environment")?;
    tracing::debug!(executable = %env.executable.display(), chosen = ?env.chosen, "python environment");
    if env.chosen == Chosen::Explicit {
        // Children started through sys.executable are rote in python mode,
        // which only reads ROTE_PYTHON and VIRTUAL_ENV: send them to the same
        // environment. Set before start-up, while this process has one thread.
        let dir = env.venv.clone().unwrap_or_else(|| env.executable.clone());
        if std::env::var_os("ROTE_PYTHON").as_deref() != Some(dir.as_os_str()) {
            // SAFETY: no other thread exists yet.
            unsafe { std::env::set_var("ROTE_PYTHON", &dir) };
        }
    }

    let memo = (!settings.disable).then(|| memo_settings(&settings, &target));
    let launch = Launch {
        env,
        target,
        args: command.collect(),
        orig_argv: std::env::args_os().collect(),
        memo,
    };
    Ok(rote_embed::run(&launch)?)
}

/// What memoization needs to know: thresholds, where the cache is, and
/// which directory holds the project's own modules (the script's, or the
/// current one for `-m`).
fn memo_settings(
    settings: &Settings,
    target: &Target,
) -> (rote_embed::MemoSettings, rote_embed::RunInfo) {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let (script, root) = match target {
        Target::Path(p) => {
            let abs = cwd.join(p);
            let real = std::fs::canonicalize(&abs).unwrap_or_else(|_| abs.clone());
            let root = if real.is_dir() {
                real.clone()
            } else {
                real.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| cwd.clone())
            };
            (abs.to_string_lossy().into_owned(), root)
        }
        Target::Module(m) => (m.to_string_lossy().into_owned(), cwd.clone()),
    };
    let memo = rote_embed::MemoSettings {
        cache_dir: cwd.join(&settings.cache_dir),
        min_duration: settings.min_duration,
        max_size: Some(settings.max_size),
        fsync: settings.fsync,
        verbose: settings.verbose,
        quiet: settings.quiet,
    };
    let info = rote_embed::RunInfo {
        run_id: run_id(),
        script,
        roots: vec![root],
    };
    (memo, info)
}

/// Unique per run: pid, time and a few random bytes.
fn run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut noise = [0u8; 4];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut noise);
    }
    format!(
        "{now:x}-{}-{}",
        std::process::id(),
        noise.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// The pyproject.toml search starts at the script's directory (the current
/// directory for `-m`).
fn load_settings(args: &RunArgs, target: &Target) -> anyhow::Result<Settings> {
    let search_from = match target {
        Target::Path(p) => Path::new(p).parent().map(Path::to_path_buf),
        Target::Module(_) => None,
    };
    let mut inputs = Inputs::from_process(search_from.as_deref())
        .context("cannot read the current directory")?;
    let mut flag = |name: &'static str, value: Option<String>| {
        if let Some(v) = value {
            inputs.flags.push((name, v));
        }
    };
    flag("cache_dir", args.cache_dir.as_ref().map(|p| path_text(p)));
    flag("min_duration", args.min_duration.clone());
    flag("max_size", args.max_size.clone());
    flag("python", args.python.as_ref().map(|p| path_text(p)));
    flag("disable", args.disable.then(|| "true".to_owned()));
    flag("fsync", args.fsync.clone());
    flag(
        "verbose",
        (args.verbose > 0).then(|| args.verbose.min(2).to_string()),
    );
    flag("quiet", args.quiet.then(|| "true".to_owned()));
    let loaded = rote_config::load(&inputs)?;
    for warning in &loaded.warnings {
        eprintln!("rote: warning: {warning}");
    }
    Ok(loaded.settings)
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
