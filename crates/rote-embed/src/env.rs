//! Which Python environment a run uses: a virtualenv or the base install.
//!
//! The interpreter is always the libpython this binary links; what varies is
//! the `executable` handed to `PyConfig`, from which CPython derives
//! `sys.prefix`, `sys.path` and site-packages exactly as that python would.
//! A venv made by another CPython is refused here: CPython itself would start
//! and silently drop its site-packages (another minor version) or mix ABIs.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

/// The base install this binary was built against (from the build script).
const BASE_PREFIX: &str = env!("ROTE_PY_BASE_PREFIX");
const BASE_EXECUTABLE: &str = env!("ROTE_PY_BASE_EXECUTABLE");

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("no Python environment at `{}`", path.display())]
    Missing { path: PathBuf },
    #[error("`{}` has no python executable in `bin/`", venv.display())]
    NoExecutable { venv: PathBuf },
    #[error("cannot read `{}`: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the virtualenv `{}` was made by the Python in `{home}`{}, but this rote is built against CPython {linked} in `{base}`",
        venv.display(), version.as_ref().map(|v| format!(" ({v})")).unwrap_or_default()
    )]
    Mismatch {
        venv: PathBuf,
        home: String,
        version: Option<String>,
        linked: String,
        base: String,
    },
    #[error("`{}` is a Python install other than the CPython {linked} in `{base}` that this rote is built against", path.display())]
    OtherInstall {
        path: PathBuf,
        linked: String,
        base: String,
    },
    #[error("the CPython this rote was built against is gone: `{base}`")]
    BaseGone { base: String },
}

impl EnvError {
    /// A line of advice to print under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            EnvError::Mismatch { .. } | EnvError::OtherInstall { .. } => Some(format!(
                "recreate the virtualenv with `{BASE_EXECUTABLE} -m venv`, or build rote against that Python (`ROTE_SETUP_PYTHON=/path/to/python3 make build`)"
            )),
            EnvError::BaseGone { .. } => {
                Some("rebuild rote (`make build`) against an installed CPython ≥ 3.12".to_owned())
            }
            EnvError::Missing { .. } | EnvError::NoExecutable { .. } => Some(
                "pass a virtualenv directory or its `bin/python` with `--python` or `ROTE_PYTHON`"
                    .to_owned(),
            ),
            EnvError::Unreadable { .. } => None,
        }
    }
}

/// How the environment was chosen, so children can be sent to the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chosen {
    /// `--python`, `ROTE_PYTHON` or `[tool.rote] python`.
    Explicit,
    /// `$VIRTUAL_ENV`.
    VirtualEnv,
    /// Nothing asked for: the base install rote was built against.
    Base,
}

/// A resolved environment: what to hand `PyConfig.executable`.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    pub executable: PathBuf,
    /// The venv directory, when it is one.
    pub venv: Option<PathBuf>,
    pub chosen: Chosen,
}

/// `major.minor.micro` of the linked libpython; safe before start-up.
pub fn linked_version() -> String {
    // SAFETY: Py_GetVersion returns a static NUL-terminated string and may be
    // called before the interpreter is initialised.
    let full = unsafe { CStr::from_ptr(pyo3::ffi::Py_GetVersion()) };
    full.to_string_lossy()
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_owned()
}

fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

impl PythonEnv {
    /// Picks the environment: `explicit` (a venv dir, or a python inside one,
    /// or the base install's python), else `virtual_env`, else the base.
    pub fn resolve(
        explicit: Option<&Path>,
        virtual_env: Option<&Path>,
    ) -> Result<PythonEnv, EnvError> {
        if let Some(path) = explicit {
            return from_path(path, Chosen::Explicit);
        }
        if let Some(dir) = virtual_env.filter(|d| !d.as_os_str().is_empty()) {
            return from_path(dir, Chosen::VirtualEnv);
        }
        let base = PathBuf::from(BASE_EXECUTABLE);
        if !base.exists() {
            return Err(EnvError::BaseGone {
                base: BASE_PREFIX.to_owned(),
            });
        }
        Ok(PythonEnv {
            executable: base,
            venv: None,
            chosen: Chosen::Base,
        })
    }
}

fn from_path(path: &Path, chosen: Chosen) -> Result<PythonEnv, EnvError> {
    let meta = std::fs::metadata(path).map_err(|_| EnvError::Missing {
        path: path.to_owned(),
    })?;
    let (venv_dir, executable) = if meta.is_dir() {
        let exe = ["python", "python3"]
            .iter()
            .map(|n| path.join("bin").join(n))
            .find(|p| p.exists());
        if !path.join("pyvenv.cfg").exists() {
            // A base install's prefix (`~/.pyenv/versions/3.12.1`) is allowed.
            let exe = exe.ok_or_else(|| EnvError::NoExecutable {
                venv: path.to_owned(),
            })?;
            return base_install(path, exe, chosen);
        }
        (
            path.to_owned(),
            exe.ok_or_else(|| EnvError::NoExecutable {
                venv: path.to_owned(),
            })?,
        )
    } else {
        // CPython looks for pyvenv.cfg beside the executable and one level up.
        let bin = path.parent().unwrap_or(Path::new("/"));
        let dir = [bin, bin.parent().unwrap_or(bin)]
            .into_iter()
            .find(|d| d.join("pyvenv.cfg").exists());
        match dir {
            Some(d) => (d.to_owned(), path.to_owned()),
            None => return base_install(bin.parent().unwrap_or(bin), path.to_owned(), chosen),
        }
    };
    check_venv(&venv_dir)?;
    let venv = std::path::absolute(&venv_dir).unwrap_or(venv_dir);
    let executable = std::path::absolute(&executable).unwrap_or(executable);
    Ok(PythonEnv {
        executable,
        venv: Some(venv),
        chosen,
    })
}

fn base_install(prefix: &Path, exe: PathBuf, chosen: Chosen) -> Result<PythonEnv, EnvError> {
    if same_file(prefix, Path::new(BASE_PREFIX)) {
        return Ok(PythonEnv {
            executable: std::path::absolute(&exe).unwrap_or(exe),
            venv: None,
            chosen,
        });
    }
    Err(EnvError::OtherInstall {
        path: exe,
        linked: linked_version(),
        base: BASE_PREFIX.to_owned(),
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Refuses a venv whose `home` is not this build's base install, or whose
/// recorded version differs in major.minor from the linked libpython.
fn check_venv(dir: &Path) -> Result<(), EnvError> {
    let cfg_path = dir.join("pyvenv.cfg");
    let text = std::fs::read_to_string(&cfg_path).map_err(|source| EnvError::Unreadable {
        path: cfg_path,
        source,
    })?;
    let mut home = None;
    let mut version = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().to_owned();
        match key.trim() {
            "home" => home = Some(value),
            // `version` from venv, `version_info` from virtualenv and uv.
            "version" | "version_info" => version = Some(value),
            _ => {}
        }
    }
    let linked = linked_version();
    let version_ok = version
        .as_deref()
        .is_none_or(|v| major_minor(v) == major_minor(&linked));
    let base_bin = Path::new(BASE_PREFIX).join("bin");
    let base_exe_dir = Path::new(BASE_EXECUTABLE)
        .parent()
        .unwrap_or(Path::new("/"));
    let home_ok = home.as_deref().is_some_and(|h| {
        same_file(Path::new(h), &base_bin) || same_file(Path::new(h), base_exe_dir)
    });
    if version_ok && home_ok {
        return Ok(());
    }
    Err(EnvError::Mismatch {
        venv: dir.to_owned(),
        home: home.unwrap_or_else(|| "(no home in pyvenv.cfg)".to_owned()),
        version,
        linked,
        base: BASE_PREFIX.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venv(home: &str, version: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(BASE_EXECUTABLE, dir.path().join("bin/python")).unwrap();
        std::fs::write(
            dir.path().join("pyvenv.cfg"),
            format!("home = {home}\nversion = {version}\n"),
        )
        .unwrap();
        dir
    }

    #[test]
    fn base_by_default() {
        let env = PythonEnv::resolve(None, None).unwrap();
        assert_eq!(env.chosen, Chosen::Base);
        assert!(env.venv.is_none());
        assert_eq!(env.executable, Path::new(BASE_EXECUTABLE));
    }

    #[test]
    fn matching_venv_is_accepted_from_dir_or_python() {
        let home = Path::new(BASE_EXECUTABLE)
            .parent()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let v = venv(&home, &linked_version());
        let env = PythonEnv::resolve(None, Some(v.path())).unwrap();
        assert_eq!(env.chosen, Chosen::VirtualEnv);
        assert_eq!(env.executable, v.path().join("bin/python"));
        let env = PythonEnv::resolve(
            Some(&v.path().join("bin/python")),
            Some(Path::new("/elsewhere")),
        )
        .unwrap();
        assert_eq!(env.chosen, Chosen::Explicit);
        assert_eq!(env.venv.as_deref(), Some(v.path()));
    }

    #[test]
    fn venv_of_another_python_is_refused() {
        let home = Path::new(BASE_EXECUTABLE)
            .parent()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let err = PythonEnv::resolve(Some(venv(&home, "3.9.1").path()), None).unwrap_err();
        assert!(matches!(err, EnvError::Mismatch { .. }), "{err}");
        let err =
            PythonEnv::resolve(Some(venv("/usr/bin", &linked_version()).path()), None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("was made by the Python in `/usr/bin`"),
            "{text}"
        );
        assert!(err.hint().unwrap().contains("-m venv"));
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = PythonEnv::resolve(Some(Path::new("/no/such/venv")), None).unwrap_err();
        assert_eq!(err.to_string(), "no Python environment at `/no/such/venv`");
    }
}
