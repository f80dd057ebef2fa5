//! The fallback: pickle protocol 5 with out-of-band buffers (large contiguous
//! buffers, e.g. inside pandas objects, are not copied into the pickle
//! stream), or cloudpickle where plain pickle cannot (lambdas, local
//! classes) and cloudpickle is installed.
//!
//! Layout (little-endian): `RP5\x02`, u32 buffer count, the u64 lengths of
//! the stream and of each buffer, the pickle stream, then each buffer,
//! zero-padded to start on a 64-byte boundary of the value. Aligned buffers
//! let a mapped value hand numpy aligned views instead of copies. Values
//! written as `RP5\x01` (no length table, no padding: each part is its u64
//! length then its bytes) are still read.

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList};

use crate::{Part, Refused};

const MAGIC_V1: &[u8; 4] = b"RP5\x01";
const MAGIC: &[u8; 4] = b"RP5\x02";
/// Where out-of-band buffers start, relative to the value's first byte.
const BUFFER_ALIGN: usize = 64;

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

pub(crate) fn encode(obj: &Bound<'_, PyAny>) -> PyResult<Result<Vec<Part>, Refused>> {
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
    let stream = dumped.stream.as_bytes();
    let mut head = Vec::with_capacity(8 + 8 * (dumped.buffers.len() + 1));
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&(dumped.buffers.len() as u32).to_le_bytes());
    head.extend_from_slice(&(stream.len() as u64).to_le_bytes());
    for buffer in &dumped.buffers {
        head.extend_from_slice(&(buffer.len_bytes() as u64).to_le_bytes());
    }
    let mut offset = head.len() + stream.len();
    let mut parts = vec![
        Part::Owned(head),
        Part::Borrowed {
            ptr: stream.as_ptr() as usize,
            len: stream.len(),
            _owner: dumped.stream.into_any().unbind(),
        },
    ];
    // The buffers go out as they are: writing them is their only copy.
    for buffer in dumped.buffers {
        let pad = offset.next_multiple_of(BUFFER_ALIGN) - offset;
        if pad > 0 {
            parts.push(Part::Owned(vec![0; pad]));
        }
        offset += pad + buffer.len_bytes();
        parts.push(Part::Buffer(buffer));
    }
    Ok(Ok(parts))
}

fn bad(what: &str) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!("corrupt pickle5 value: {what}"))
}

fn split_u64(rest: &[u8]) -> PyResult<(usize, &[u8])> {
    let (len, tail) = rest.split_at_checked(8).ok_or_else(|| bad("truncated"))?;
    let len = usize::try_from(u64::from_le_bytes(len.try_into().expect("8 bytes")))
        .map_err(|_| bad("length"))?;
    Ok((len, tail))
}

/// The stream and the buffers' byte ranges within `bytes`.
fn parse(bytes: &[u8]) -> PyResult<(&[u8], Vec<std::ops::Range<usize>>)> {
    let (version, rest) = bytes.split_at_checked(4).ok_or_else(|| bad("no header"))?;
    let (count, mut rest) = rest.split_at_checked(4).ok_or_else(|| bad("truncated"))?;
    let count = u32::from_le_bytes(count.try_into().expect("4 bytes")) as usize;
    if version == MAGIC_V1 {
        let mut ranges = Vec::with_capacity(count + 1);
        for _ in 0..=count {
            let (len, tail) = split_u64(rest)?;
            let start = bytes.len() - tail.len();
            if tail.len() < len {
                return Err(bad("truncated"));
            }
            ranges.push(start..start + len);
            rest = &tail[len..];
        }
        let stream = ranges.remove(0);
        return Ok((&bytes[stream], ranges));
    }
    if version != MAGIC {
        return Err(bad("no header"));
    }
    if count > bytes.len() / 8 {
        return Err(bad("buffer count"));
    }
    let mut lens = Vec::with_capacity(count + 1);
    for _ in 0..=count {
        let (len, tail) = split_u64(rest)?;
        lens.push(len);
        rest = tail;
    }
    let mut offset = bytes.len() - rest.len();
    let stream_end = offset.checked_add(lens[0]).ok_or_else(|| bad("length"))?;
    let stream = bytes
        .get(offset..stream_end)
        .ok_or_else(|| bad("truncated"))?;
    offset = stream_end;
    let mut ranges = Vec::with_capacity(count);
    for &len in &lens[1..] {
        let start = offset.next_multiple_of(BUFFER_ALIGN);
        let end = start.checked_add(len).ok_or_else(|| bad("length"))?;
        if end > bytes.len() {
            return Err(bad("truncated"));
        }
        ranges.push(start..end);
        offset = end;
    }
    if offset != bytes.len() {
        return Err(bad("trailing bytes"));
    }
    Ok((stream, ranges))
}

pub(crate) fn decode<'py>(
    py: Python<'py>,
    bytes: &[u8],
    file: Option<&std::fs::File>,
) -> PyResult<Bound<'py, PyAny>> {
    let (stream, ranges) = parse(bytes)?;
    let buffers = PyList::empty(py);
    let aligned = ranges.iter().all(|r| r.start % BUFFER_ALIGN == 0);
    let stream = match file {
        // Views of a private mapping: the stream is read in place, and the
        // buffers are writeable, aligned and not copied.
        Some(file) if aligned => {
            let mapping = crate::mapping::map_private(py, file)?;
            if mapping.len()? != bytes.len() {
                return Err(bad("the mapped file changed size"));
            }
            for r in &ranges {
                buffers.append(crate::mapping::view(&mapping, r.start, r.len())?)?;
            }
            let start = stream.as_ptr() as usize - bytes.as_ptr() as usize;
            crate::mapping::view(&mapping, start, stream.len())?
        }
        // bytearray, not bytes: arrays rebuilt on these buffers must be
        // writeable.
        _ => {
            for r in &ranges {
                buffers.append(PyByteArray::new(py, &bytes[r.clone()]))?;
            }
            PyBytes::new(py, stream).into_any()
        }
    };
    let kwargs = PyDict::new(py);
    kwargs.set_item("buffers", buffers)?;
    py.import("pickle")?
        .getattr("loads")?
        .call((stream,), Some(&kwargs))
}
