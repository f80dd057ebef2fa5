//! Capturing what candidate calls print, and printing it again on a hit.
//!
//! While any candidate runs, `sys.stdout` and `sys.stderr` (and the streams
//! logging handlers hold) are `Tee`s (`python/_rote_tee.py`): writes and
//! flushes reach the terminal at once and are logged.
//! Each frame remembers where its output starts in the log; a stored entry
//! keeps its segment as `Dep::Printed`, and a hit writes it to the current
//! streams in the same order. Output written below the text layer (to
//! `sys.stdout.buffer`, or by C code to the descriptors) cannot be replayed,
//! so a call that reaches for `buffer` is not stored.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use rote_store::Dep;

use crate::frame;

static TEE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static LOG: PyOnceLock<Py<PyList>> = PyOnceLock::new();

/// What `_rote_tee.install` swapped, for `uninstall`.
static INSTALLED: Mutex<Option<Py<PyAny>>> = Mutex::new(None);

/// Flushes are logged with this bit on the stream number.
const FLUSH: u8 = 0x10;

fn log(py: Python<'_>) -> &Bound<'_, PyList> {
    LOG.get_or_init(py, || PyList::empty(py).unbind()).bind(py)
}

fn tee_module(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    TEE.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(crate::embedded::TEE.load(py)?.into_any().unbind())
    })
    .map(|t| t.bind(py))
}

/// Called by `Tee` when a call reaches past the text layer.
#[pyfunction]
pub(crate) fn _raw_stream() {
    frame::record(frame::Event::Taint {
        reason: "writes stdout directly".to_owned(),
        detail: "sys.stdout.buffer".to_owned(),
    });
}

/// Starts capturing (if not already) and returns where the next output
/// starts in the log.
pub(crate) fn begin(py: Python<'_>) -> PyResult<usize> {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed.is_none() {
        let raw = wrap_pyfunction!(_raw_stream, py)?;
        let swapped = tee_module(py)?.call_method1("install", (log(py), raw))?;
        *installed = Some(swapped.unbind());
    }
    Ok(log(py).len())
}

/// The output logged since `start`, as dependencies to store; stops
/// capturing when no candidate is left running.
pub(crate) fn end(py: Python<'_>, start: usize) -> PyResult<Vec<Dep>> {
    let log = log(py);
    let mut out: Vec<Dep> = Vec::new();
    for item in log.iter().skip(start) {
        let item = item.cast_into::<PyTuple>()?;
        let stream: u8 = item.get_item(0)?.extract()?;
        let text = item.get_item(1)?;
        if text.is_none() {
            out.push(Dep::Printed {
                stream: stream | FLUSH,
                text: Vec::new(),
            });
            continue;
        }
        let text = text.cast_into::<PyString>()?;
        let bytes = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
        let bytes = bytes.cast::<PyBytes>()?.as_bytes();
        match out.last_mut() {
            Some(Dep::Printed { stream: s, text }) if *s == stream => text.extend_from_slice(bytes),
            _ => out.push(Dep::Printed {
                stream,
                text: bytes.to_vec(),
            }),
        }
    }
    if !frame::any_active() {
        let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(swapped) = installed.take() {
            tee_module(py)?.call_method1("uninstall", (swapped,))?;
        }
        log.call_method0("clear")?;
    }
    Ok(out)
}

/// Writes a hit's output again, to the streams current now.
pub(crate) fn replay(py: Python<'_>, deps: &[Dep]) -> PyResult<()> {
    let sys = py.import("sys")?;
    for dep in deps {
        if let Dep::Printed { stream, text } = dep {
            let name = if stream & !FLUSH == 2 {
                "stderr"
            } else {
                "stdout"
            };
            let target = sys.getattr(name)?;
            if target.is_none() {
                continue;
            }
            if stream & FLUSH != 0 {
                target.call_method0("flush")?;
                continue;
            }
            let s = PyBytes::new(py, text).call_method1("decode", ("utf-8", "surrogatepass"))?;
            target.call_method1("write", (s,))?;
        }
    }
    Ok(())
}
