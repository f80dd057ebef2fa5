//! Python values to bytes and back, and to fingerprints.
//!
//! [`encode`] picks a serializer by the value's exact type: plain numpy
//! arrays as `.npy`, pyarrow tables and record batches and polars frames as
//! Arrow IPC, trees of exact builtin types as tagged msgpack, anything
//! else through pickle protocol 5 with out-of-band buffers. A round trip gives
//! back the same types with equal content: a subclass is never flattened into
//! its base (it goes to pickle), a tuple never comes back as a list.
//! Values that cannot be stored (generators, open files, locks, modules,
//! frames, ...) are refused with a stable reason.
//!
//! [`fingerprint`] hashes a value's canonical, type-tagged encoding with
//! blake3: equal for equal values (same type, same content, same iteration
//! order) in any process and under any `PYTHONHASHSEED`, different otherwise;
//! a value that cannot be fingerprinted reliably is refused, never guessed.

mod arrow;
mod fingerprint;
mod mapping;
mod msgpack;
mod npy;
mod pickle;

use pyo3::prelude::*;

/// The serializers, by the stable name stored in the cache index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serializer {
    Arrow,
    Msgpack,
    Npy,
    Pickle5,
}

impl Serializer {
    pub fn name(self) -> &'static str {
        match self {
            Serializer::Arrow => "arrow",
            Serializer::Msgpack => "msgpack",
            Serializer::Npy => "npy",
            Serializer::Pickle5 => "pickle5",
        }
    }

    pub fn from_name(name: &str) -> Option<Serializer> {
        [
            Serializer::Arrow,
            Serializer::Msgpack,
            Serializer::Npy,
            Serializer::Pickle5,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// Why a value cannot be stored or fingerprinted: a short stable key such as
/// `unserializable return: generator`, without values or numbers in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub reason: String,
}

impl Refused {
    pub(crate) fn new(reason: impl Into<String>) -> Refused {
        Refused {
            reason: reason.into(),
        }
    }
}

/// A value's bytes, as parts to be written one after the other, and the
/// serializer that reads them back.
///
/// Large parts are borrowed from the Python objects they belong to (an
/// array's buffer, a pickle's out-of-band buffers), which `Encoded` keeps
/// alive: writing them is the only copy. They are the objects' bytes at the
/// time they are written; the caller writes them before handing the value
/// back to user code, which could change them.
#[derive(Debug)]
pub struct Encoded {
    pub serializer: Serializer,
    parts: Vec<Part>,
}

#[derive(Debug)]
enum Part {
    Owned(Vec<u8>),
    /// `len` bytes at `ptr`, inside memory that `owner` keeps alive.
    Borrowed {
        _owner: Py<PyAny>,
        ptr: usize,
        len: usize,
    },
    Buffer(pyo3::buffer::PyBuffer<u8>),
}

impl Part {
    fn bytes(&self) -> &[u8] {
        match self {
            Part::Owned(v) => v,
            Part::Borrowed { len: 0, .. } => &[],
            // SAFETY: `owner` holds the memory; see `Encoded`.
            Part::Borrowed { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts(*ptr as *const u8, *len)
            },
            Part::Buffer(b) if b.len_bytes() == 0 => &[],
            // SAFETY: a C-contiguous byte view, held by `b`; see `Encoded`.
            Part::Buffer(b) => unsafe {
                std::slice::from_raw_parts(b.buf_ptr() as *const u8, b.len_bytes())
            },
        }
    }
}

impl Encoded {
    fn owned(serializer: Serializer, bytes: Vec<u8>) -> Encoded {
        Encoded {
            serializer,
            parts: vec![Part::Owned(bytes)],
        }
    }

    /// The value's bytes: the concatenation of these slices.
    pub fn parts(&self) -> Vec<&[u8]> {
        self.parts.iter().map(Part::bytes).collect()
    }

    /// The value's size in bytes.
    pub fn len(&self) -> usize {
        self.parts.iter().map(|p| p.bytes().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The kind of a value no serializer may store, if it is one.
fn unstorable_kind(obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let ty = obj.get_type();
    let module: String = ty.getattr("__module__")?.extract().unwrap_or_default();
    let name: String = ty.getattr("__qualname__")?.extract().unwrap_or_default();
    let kind = match (module.as_str(), name.as_str()) {
        (
            "builtins",
            "generator" | "coroutine" | "async_generator" | "module" | "frame" | "traceback",
        ) => Some(name),
        ("_thread", "lock" | "RLock") | ("threading", "Condition" | "Event" | "Semaphore") => {
            Some("lock".to_owned())
        }
        ("socket", "socket") => Some("socket".to_owned()),
        _ => None,
    };
    if kind.is_some() {
        return Ok(kind);
    }
    // Open files of every flavour derive from io.IOBase.
    let py = obj.py();
    if let Ok(io) = py.import("io") {
        if obj.is_instance(&io.getattr("IOBase")?)? {
            return Ok(Some("open file".to_owned()));
        }
    }
    Ok(None)
}

/// Serializes `obj`, or says why it cannot be stored.
pub fn encode(obj: &Bound<'_, PyAny>) -> PyResult<Result<Encoded, Refused>> {
    if let Some(kind) = unstorable_kind(obj)? {
        return Ok(Err(Refused::new(format!("unserializable return: {kind}"))));
    }
    if npy::is_plain_ndarray(obj)? {
        return Ok(Ok(Encoded {
            serializer: Serializer::Npy,
            parts: npy::encode(obj)?,
        }));
    }
    // A table whose schema would not survive arrow-rs falls through to pickle.
    if let Some(kind) = arrow::kind(obj)? {
        if let Some((header, ipc)) = arrow::encode(obj, kind)? {
            return Ok(Ok(Encoded {
                serializer: Serializer::Arrow,
                parts: vec![Part::Owned(header), Part::Owned(ipc)],
            }));
        }
    }
    if let Some(bytes) = msgpack::encode(obj)? {
        return Ok(Ok(Encoded::owned(Serializer::Msgpack, bytes)));
    }
    Ok(pickle::encode(obj)?.map(|parts| Encoded {
        serializer: Serializer::Pickle5,
        parts,
    }))
}

/// Reads back what [`encode`] wrote.
///
/// `file`, when given, is the file `bytes` were mapped from, unchanged since
/// they were verified: large arrays are then built on a private copy-on-write
/// mapping of it instead of a copy (writes go to the process's own pages,
/// never to the file, and each decode gets its own mapping).
pub fn decode<'py>(
    py: Python<'py>,
    serializer: Serializer,
    bytes: &[u8],
    file: Option<&std::fs::File>,
) -> PyResult<Bound<'py, PyAny>> {
    match serializer {
        Serializer::Arrow => arrow::decode(py, bytes, file),
        Serializer::Msgpack => msgpack::decode(py, bytes),
        Serializer::Npy => npy::decode(py, bytes, file),
        Serializer::Pickle5 => pickle::decode(py, bytes, file),
    }
}

/// The blake3 fingerprint of `obj`'s canonical encoding, or why there is
/// none.
pub fn fingerprint(obj: &Bound<'_, PyAny>) -> PyResult<Result<[u8; 32], Refused>> {
    fingerprint::fingerprint(obj, None)
}

/// [`fingerprint`], with the functions met in `obj` (functions, methods,
/// partials, builtins; in containers and inside pickled objects alike)
/// stood for by `functions`' digest of each: what a function is depends on
/// what the caller knows of code.
pub fn fingerprint_with(
    obj: &Bound<'_, PyAny>,
    functions: &mut FunctionHook<'_>,
) -> PyResult<Result<[u8; 32], Refused>> {
    fingerprint::fingerprint(obj, Some(functions))
}

pub use fingerprint::FunctionHook;
