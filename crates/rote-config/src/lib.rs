//! rote's configuration: one table of keys, read in layers.
//!
//! Precedence, lowest first: built-in defaults < `[tool.rote]` in the nearest
//! `pyproject.toml` above the script < `ROTE_*` environment variables <
//! command-line flags < `rote.configure()` at run time. Every key is settable
//! at every level; [`KEYS`] is the single table that the docs, `--help` and the
//! parsers are checked against.

mod value;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use value::{format_size, parse_bool, parse_duration, parse_size, parse_verbosity};

/// The kind of value a key holds, which decides how its text is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Path,
    Duration,
    Size,
    Bool,
    Verbosity,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Path => "a path",
            Kind::Duration => "a duration in seconds such as `1`, `0.5s` or `100ms`",
            Kind::Size => "a size such as `10GiB`, `500MB` or a number of bytes",
            Kind::Bool => "a boolean (`1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`)",
            Kind::Verbosity => "a verbosity level `0`, `1` or `2`",
        }
    }
}

/// One configuration key and its spelling at every level.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The name in `[tool.rote]` and in `rote.configure()`.
    pub name: &'static str,
    /// The environment variable.
    pub env: &'static str,
    /// The long command-line flag of `rote run`.
    pub flag: &'static str,
    pub kind: Kind,
    /// The default, as a user would write it.
    pub default: &'static str,
    pub help: &'static str,
}

/// Every key rote understands. Adding a key here without a field in
/// [`Settings`] fails the `table_matches_settings` test.
pub const KEYS: &[KeySpec] = &[
    KeySpec {
        name: "cache_dir",
        env: "ROTE_CACHE_DIR",
        flag: "--cache-dir",
        kind: Kind::Path,
        default: ".rote",
        help: "where the cache lives; relative paths start at the current directory (in pyproject.toml: at that file's directory)",
    },
    KeySpec {
        name: "min_duration",
        env: "ROTE_MIN_DURATION",
        flag: "--min-duration",
        kind: Kind::Duration,
        default: "1s",
        help: "calls faster than this are not stored",
    },
    KeySpec {
        name: "max_size",
        env: "ROTE_MAX_SIZE",
        flag: "--max-size",
        kind: Kind::Size,
        default: "10GiB",
        help: "size limit of the cache; least valuable entries are evicted beyond it",
    },
    KeySpec {
        name: "python",
        env: "ROTE_PYTHON",
        flag: "--python",
        kind: Kind::Path,
        default: "",
        help: "virtualenv (directory or its python) to run in; default: $VIRTUAL_ENV, else the CPython rote was built against",
    },
    KeySpec {
        name: "disable",
        env: "ROTE_DISABLE",
        flag: "--disable",
        kind: Kind::Bool,
        default: "false",
        help: "run with no caching at all",
    },
    KeySpec {
        name: "fsync",
        env: "ROTE_FSYNC",
        flag: "--fsync",
        kind: Kind::Bool,
        default: "true",
        help: "fsync the index and blobs when a run commits",
    },
    KeySpec {
        name: "verbose",
        env: "ROTE_VERBOSE",
        flag: "--verbose",
        kind: Kind::Verbosity,
        default: "0",
        help: "1: one line per cache decision on stderr; 2: debug log",
    },
    KeySpec {
        name: "quiet",
        env: "ROTE_QUIET",
        flag: "--quiet",
        kind: Kind::Bool,
        default: "false",
        help: "no summary line at exit",
    },
];

pub fn spec(name: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.name == name)
}

/// Where a value came from, for error messages and `rote status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env,
    Flag,
    Runtime,
}

/// A value that could not be used, with the place the user wrote it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for `{key}` in `{}` ([tool.rote]): {reason}", path.display())]
    File {
        path: PathBuf,
        key: String,
        reason: String,
    },
    #[error("invalid value for {var}: {reason}")]
    Env { var: String, reason: String },
    #[error("invalid value for {flag}: {reason}")]
    Flag { flag: String, reason: String },
    #[error("invalid value for `{key}`: {reason}")]
    Runtime { key: String, reason: String },
    #[error("unknown configuration key `{key}`")]
    UnknownKey { key: String },
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The settings in force, each with its origin.
#[derive(Debug, Clone)]
pub struct Settings {
    pub cache_dir: PathBuf,
    pub min_duration: Duration,
    pub max_size: u64,
    pub python: Option<PathBuf>,
    pub disable: bool,
    pub fsync: bool,
    pub verbose: u8,
    pub quiet: bool,
    origins: Vec<(&'static str, Origin)>,
}

impl Settings {
    /// The built-in defaults; relative paths are resolved against `cwd`.
    pub fn defaults(cwd: &Path) -> Settings {
        Settings {
            cache_dir: cwd.join(".rote"),
            min_duration: Duration::from_secs(1),
            max_size: 10 << 30,
            python: None,
            disable: false,
            fsync: true,
            verbose: 0,
            quiet: false,
            origins: KEYS.iter().map(|k| (k.name, Origin::Default)).collect(),
        }
    }

    /// Where the current value of `name` came from.
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        self.origins
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, o)| o)
    }

    /// Sets one key from text; relative paths are resolved against `base`.
    /// The error names the key's source as given by `origin`.
    pub fn set_str(
        &mut self,
        name: &str,
        text: &str,
        base: &Path,
        origin: Origin,
    ) -> Result<(), ConfigError> {
        let Some(spec) = spec(name) else {
            return Err(ConfigError::UnknownKey {
                key: name.to_owned(),
            });
        };
        self.apply(spec, text, base)
            .map_err(|reason| error_for(spec, &origin, text, reason))?;
        self.record(spec.name, origin);
        Ok(())
    }

    fn record(&mut self, name: &'static str, origin: Origin) {
        if let Some(slot) = self.origins.iter_mut().find(|(n, _)| *n == name) {
            slot.1 = origin;
        }
    }

    fn apply(&mut self, spec: &KeySpec, text: &str, base: &Path) -> Result<(), String> {
        match spec.name {
            "cache_dir" => self.cache_dir = parse_path(text, base)?,
            "min_duration" => self.min_duration = parse_duration(text)?,
            "max_size" => self.max_size = parse_size(text)?,
            "python" => self.python = Some(parse_path(text, base)?),
            "disable" => self.disable = parse_bool(text)?,
            "fsync" => self.fsync = parse_bool(text)?,
            "verbose" => self.verbose = parse_verbosity(text)?,
            "quiet" => self.quiet = parse_bool(text)?,
            other => unreachable!("key `{other}` is in KEYS but not handled"),
        }
        Ok(())
    }
}

fn parse_path(text: &str, base: &Path) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("expected a path, found an empty string".to_owned());
    }
    Ok(base.join(expand_home(text)))
}

fn expand_home(text: &str) -> PathBuf {
    match (text.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(text),
    }
}

fn error_for(spec: &KeySpec, origin: &Origin, text: &str, reason: String) -> ConfigError {
    let reason = format!("`{text}`: {reason}");
    match origin {
        Origin::File(path) => ConfigError::File {
            path: path.clone(),
            key: spec.name.to_owned(),
            reason,
        },
        Origin::Env => ConfigError::Env {
            var: spec.env.to_owned(),
            reason,
        },
        Origin::Flag => ConfigError::Flag {
            flag: spec.flag.to_owned(),
            reason,
        },
        Origin::Default | Origin::Runtime => ConfigError::Runtime {
            key: spec.name.to_owned(),
            reason,
        },
    }
}

/// What the layers are read from; passed in so tests need no process state.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub cwd: PathBuf,
    /// The directory to start the `pyproject.toml` search in (the script's).
    pub search_from: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// Command-line flags as (key name, text), in the order given.
    pub flags: Vec<(&'static str, String)>,
}

impl Inputs {
    /// Inputs from this process's environment and current directory.
    pub fn from_process(search_from: Option<&Path>) -> std::io::Result<Inputs> {
        let cwd = std::env::current_dir()?;
        let search_from = match search_from {
            Some(dir) => cwd.join(dir),
            None => cwd.clone(),
        };
        Ok(Inputs {
            cwd,
            search_from,
            env: std::env::vars_os().collect(),
            flags: Vec::new(),
        })
    }
}

/// The result of reading every layer.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    /// The `pyproject.toml` whose `[tool.rote]` was applied, if any.
    pub pyproject: Option<PathBuf>,
    /// Problems worth a warning line that do not stop the run.
    pub warnings: Vec<String>,
}

/// Reads defaults, `[tool.rote]`, `ROTE_*` and flags, in that order.
/// `ROTE_*` variables that are not settings: `ROTE_INTERPOSE=0` silences
/// the C library layer and `=count` makes it count every call it serves,
/// both for measuring what it costs (bench/clib.py).
const INTERNAL_VARS: &[&str] = &["ROTE_INTERPOSE"];

pub fn load(inputs: &Inputs) -> Result<Loaded, ConfigError> {
    let mut settings = Settings::defaults(&inputs.cwd);
    let mut warnings = Vec::new();

    let pyproject = find_pyproject(&inputs.search_from, &mut warnings);
    if let Some((path, table)) = &pyproject {
        let base = path.parent().unwrap_or(Path::new("/"));
        for (key, value) in table {
            let Some(spec) = spec(key) else {
                warnings.push(format!(
                    "unknown key `{key}` in `{}` [tool.rote], ignored",
                    path.display()
                ));
                continue;
            };
            let origin = Origin::File(path.clone());
            let text = toml_text(value).ok_or_else(|| {
                error_for(
                    spec,
                    &origin,
                    &value.to_string(),
                    format!("expected {}", spec.kind.expected()),
                )
            })?;
            settings.set_str(key, &text, base, origin)?;
        }
    }

    let mut env: Vec<_> = inputs
        .env
        .iter()
        .filter_map(|(k, v)| Some((k.to_str()?, v)))
        .filter(|(k, _)| k.starts_with("ROTE_"))
        .collect();
    env.sort_by(|a, b| a.0.cmp(b.0));
    for (var, value) in env {
        if INTERNAL_VARS.contains(&var) {
            continue;
        }
        let Some(spec) = KEYS.iter().find(|s| s.env == var) else {
            warnings.push(format!("unknown environment variable {var}, ignored"));
            continue;
        };
        let Some(text) = value.to_str() else {
            return Err(error_for(
                spec,
                &Origin::Env,
                &value.to_string_lossy(),
                "not valid UTF-8".to_owned(),
            ));
        };
        // An empty variable is how shells spell "unset"; ROTE_PYTHON= must not
        // become a path.
        if text.is_empty() {
            continue;
        }
        settings.set_str(spec.name, text, &inputs.cwd, Origin::Env)?;
    }

    for (name, text) in &inputs.flags {
        settings.set_str(name, text, &inputs.cwd, Origin::Flag)?;
    }

    Ok(Loaded {
        settings,
        pyproject: pyproject.map(|(p, _)| p),
        warnings,
    })
}

/// TOML values are accepted in their natural type or as strings with units.
fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The nearest `pyproject.toml` at or above `dir` that has a `[tool.rote]`
/// table (files without one are skipped, as ruff does, so a project's own
/// pyproject does not hide a workspace-level setting).
fn find_pyproject(dir: &Path, warnings: &mut Vec<String>) -> Option<(PathBuf, toml::Table)> {
    for ancestor in dir.ancestors() {
        let path = ancestor.join("pyproject.toml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let doc: toml::Table = match toml::from_str(&text) {
            Ok(doc) => doc,
            Err(err) => {
                let first = err.message().lines().next().unwrap_or("").to_owned();
                warnings.push(format!(
                    "cannot parse `{}`, its [tool.rote] is ignored: {first}",
                    path.display()
                ));
                continue;
            }
        };
        match doc.get("tool").and_then(|t| t.get("rote")) {
            Some(toml::Value::Table(table)) => return Some((path, table.clone())),
            Some(_) => warnings.push(format!(
                "`tool.rote` in `{}` is not a table, ignored",
                path.display()
            )),
            None => {}
        }
    }
    None
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Env => f.write_str("environment"),
            Origin::Flag => f.write_str("command line"),
            Origin::Runtime => f.write_str("rote.configure()"),
        }
    }
}

#[cfg(test)]
mod tests;
