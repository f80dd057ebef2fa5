//! The fallback: pickle protocol 5 with out-of-band buffers (large contiguous
//! buffers, e.g. inside pandas objects, are not copied into the pickle
//! stream), or cloudpickle where plain pickle cannot (lambdas, local
//! classes) and cloudpickle is installed.
//!
//! Layout: `RP5\x01`, then u32 buffer count, then the pickle stream and each
//! buffer as u64 length + bytes (little-endian).

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList};

use crate::Refused;

const MAGIC: &[u8; 4] = b"RP5\x01";

/// The pickle stream and its out-of-band buffers, still owned by Python.
struct Dumped<'py> {
    stream: Bound<'py, PyBytes>,
    buffers: Vec<PyBuffer<u8>>,
}

fn dumps_with<'py>(
    module: &Bound<'py, PyModule>,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Dumped<'py>> {
    let py = obj.py();
    let buffers = PyList::empty(py);
    let kwargs = PyDict::new(py);
    kwargs.set_item("protocol", 5)?;
    kwargs.set_item("buffer_callback", buffers.getattr("append")?)?;
    let stream = match module.getattr("dumps")?.call((obj,), Some(&kwargs)) {
        Ok(stream) => stream,
        // A non-contiguous out-of-band buffer cannot be raw(): pickle in band.
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyBufferError>(py) => {
            let stream = module.getattr("dumps")?.call1((obj, 5))?;
            return Ok(Dumped {
                stream: stream.cast_into()?,
                buffers: Vec::new(),
            });
        }
        Err(err) => return Err(err),
    };
    let mut views = Vec::with_capacity(buffers.len());
    for buffer in buffers.iter() {
        views.push(PyBuffer::<u8>::get(&buffer.call_method0("raw")?)?);
    }
    Ok(Dumped {
        stream: stream.cast_into()?,
        buffers: views,
    })
}

/// The bytes of a contiguous buffer, borrowed while the GIL is held.
fn buffer_bytes(buffer: &PyBuffer<u8>) -> &[u8] {
    debug_assert!(buffer.is_c_contiguous());
    // SAFETY: `raw()` gives a C-contiguous byte view; the exporter keeps the
    // memory alive while `buffer` holds it, and nothing runs Python code that
    // could mutate it while we copy (the GIL is held).
    unsafe { std::slice::from_raw_parts(buffer.buf_ptr() as *const u8, buffer.len_bytes()) }
}

pub(crate) fn encode(obj: &Bound<'_, PyAny>) -> PyResult<Result<Vec<u8>, Refused>> {
    let py = obj.py();
    let pickle = py.import("pickle")?;
    let dumped = match dumps_with(&pickle, obj) {
        Ok(dumped) => dumped,
        Err(first) => {
            let fallback = py.import("cloudpickle").ok().map(|cp| dumps_with(&cp, obj));
            match fallback {
                Some(Ok(dumped)) => dumped,
                _ => {
                    tracing::debug!(error = %first, "value cannot be pickled");
                    let name: String = obj
                        .get_type()
                        .qualname()
                        .map(|n| n.to_string())
                        .unwrap_or_default();
                    return Ok(Err(Refused::new(format!("unserializable return: {name}"))));
                }
            }
        }
    };
    // One copy of every byte, straight into the result.
    let parts: Vec<&[u8]> = std::iter::once(dumped.stream.as_bytes())
        .chain(dumped.buffers.iter().map(buffer_bytes))
        .collect();
    let mut out = Vec::with_capacity(8 + parts.iter().map(|p| p.len() + 8).sum::<usize>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(dumped.buffers.len() as u32).to_le_bytes());
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part);
    }
    Ok(Ok(out))
}

fn bad(what: &str) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!("corrupt pickle5 value: {what}"))
}

pub(crate) fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| bad("no header"))?;
    let (count, mut rest) = rest.split_at_checked(4).ok_or_else(|| bad("truncated"))?;
    let count = u32::from_le_bytes(count.try_into().expect("4 bytes")) as usize;
    let mut parts = Vec::with_capacity(count + 1);
    for _ in 0..=count {
        let (len, tail) = rest.split_at_checked(8).ok_or_else(|| bad("truncated"))?;
        let len = usize::try_from(u64::from_le_bytes(len.try_into().expect("8 bytes")))
            .map_err(|_| bad("length"))?;
        let (part, tail) = tail.split_at_checked(len).ok_or_else(|| bad("truncated"))?;
        parts.push(part);
        rest = tail;
    }
    let stream = PyBytes::new(py, parts[0]);
    // bytearray, not bytes: arrays rebuilt on these buffers must be writeable.
    let buffers = PyList::empty(py);
    for part in &parts[1..] {
        buffers.append(PyByteArray::new(py, part))?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("buffers", buffers)?;
    py.import("pickle")?
        .getattr("loads")?
        .call((stream,), Some(&kwargs))
}
