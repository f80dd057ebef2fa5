//! Fingerprints: blake3 over a canonical, type-tagged encoding of a value,
//! computed in Rust, so that the memo key of a call depends on what its
//! arguments are and never on the process (no `hash()`, no `id()`, no
//! `PYTHONHASHSEED`).
//!
//! "Equal" is stricter than `==`: same type, same content, same iteration
//! order. `1`, `1.0` and `True` differ, `(1,)` and `[1]` differ, two dicts
//! with the same items inserted in another order differ, and so do two sets
//! that compare equal but iterate differently. A set of `str` iterates in an
//! order that depends on the hash seed, so its fingerprint may differ between
//! processes: a cache miss, never a wrong hit.
//!
//! Encoding, one tag byte per node, integers little-endian, every variable
//! length prefixed by its u64 length:
//! - exact builtins: `None`, `bool`, `int` (i64, else minimal two's
//!   complement), `float` and `complex` by their bits, `str` as UTF-8 with
//!   lone surrogates passed through, `bytes`, `bytearray`;
//! - exact `list`, `tuple`, `dict`, `set`, `frozenset`: tag, item count, then
//!   the items (key, value for dicts) in iteration order, hashed into a
//!   digest of their own. The walk keeps its own stack (no recursion limit),
//!   reuses the digest of a container met twice (shared sub-structures cost
//!   once), and refuses cycles;
//! - plain numpy arrays: dtype (`str`, `descr`, byte order), shape, then the
//!   items in logical C order, whatever the memory layout; structured
//!   dtypes field by field, so padding bytes never count, and x87 long
//!   doubles without their 6 undefined padding bytes. Large buffers are
//!   hashed on all cores;
//! - numpy scalars: their type, then their value as a 0-d array;
//! - pyarrow tables and record batches: by content (`arrow::digest`), so
//!   chunking, slicing and all-valid validity bitmaps do not count;
//! - functions, lambdas, partials, bound methods, builtins, here or inside a
//!   pickled object: by the caller's digest of each (`fingerprint_with`; the
//!   memoization runtime hashes code identity, defaults and closure cells),
//!   refused without one (their pickle is only a name);
//! - anything else: its `pickle` protocol 5 stream, refused when that stream
//!   would contain a set or frozenset (iteration order depends on the hash
//!   seed) or when the object cannot be pickled at all.

use std::collections::HashMap;
use std::ops::Range;

use blake3::Hasher;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet,
    PySlice, PyString, PyTuple,
};

use crate::Refused;
use crate::npy;

/// Changes whenever the encoding does, so that old fingerprints never match.
const DOMAIN: &[u8] = b"rote fingerprint v3\n";

/// Below this, `update_rayon` costs more in coordination than it saves.
const PARALLEL_MIN: usize = 1 << 20;

/// Small writes are gathered up to this size before blake3 sees them.
const BATCH: usize = 1 << 14;

/// Non-contiguous arrays are copied to C order this many bytes at a time,
/// so hashing a view of a huge array does not need a second huge array.
const SLAB: usize = 1 << 24;

mod tag {
    pub(super) const NONE: u8 = b'N';
    pub(super) const TRUE: u8 = b'T';
    pub(super) const FALSE: u8 = b'F';
    pub(super) const INT: u8 = b'i';
    pub(super) const BIG_INT: u8 = b'I';
    pub(super) const FLOAT: u8 = b'f';
    pub(super) const COMPLEX: u8 = b'c';
    pub(super) const STR: u8 = b's';
    pub(super) const BYTES: u8 = b'b';
    pub(super) const BYTEARRAY: u8 = b'B';
    pub(super) const LIST: u8 = b'L';
    pub(super) const TUPLE: u8 = b'U';
    pub(super) const DICT: u8 = b'D';
    pub(super) const SET: u8 = b'S';
    pub(super) const FROZENSET: u8 = b'Z';
    /// The digest of a container or array, standing in for its encoding.
    pub(super) const DIGEST: u8 = b'h';
    pub(super) const ARRAY: u8 = b'A';
    pub(super) const NUMPY_SCALAR: u8 = b'g';
    pub(super) const PICKLE: u8 = b'p';
    pub(super) const ARROW: u8 = b'r';
    pub(super) const FUNCTION: u8 = b'x';
}

/// What a function met in a value is, as the caller's digest of it (its
/// code identity, closure and defaults), or why it has none.
pub type FunctionHook<'a> = dyn FnMut(&Bound<'_, PyAny>) -> PyResult<Result<[u8; 32], String>> + 'a;

/// Helpers that are simplest in Python: the function types, and a pickler
/// that notices sets on the way (`persistent_id` sees every object pickled).
const HELPERS: &std::ffi::CStr = cr#"
import functools, io, pickle, types

FUNCTION_TYPES = (
    types.FunctionType, types.BuiltinFunctionType, types.MethodType,
    types.MethodWrapperType, types.WrapperDescriptorType,
    types.MethodDescriptorType, types.ClassMethodDescriptorType,
    functools.partial, functools.partialmethod, staticmethod, classmethod,
)

class _SetFound(Exception):
    pass

PYTHON_CODE_TYPES = (types.FunctionType, types.MethodType, type)

class _Spotter(pickle.Pickler):
    """Notices sets (their order depends on the hash seed) and, when asked
    to, code: Python functions and methods, classes, and callables that wrap
    a function (`functools.lru_cache`), all pickled by name, which says
    nothing of what their code does now. Library reconstructors such as
    pandas' `_new_Index` and the classes of pickled instances are met this
    way too. Each is replaced by its position in `functions`, for the caller
    to digest."""

    def __init__(self, *args, functions=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.spot_functions = functions
        self.functions = []
        self._positions = {}

    def persistent_id(self, obj):
        if isinstance(obj, (set, frozenset)):
            raise _SetFound
        if not self.spot_functions:
            return None
        if not isinstance(obj, PYTHON_CODE_TYPES) and not (
            callable(obj) and hasattr(obj, "__wrapped__")
        ):
            return None
        position = self._positions.get(id(obj))
        if position is None:
            position = self._positions[id(obj)] = len(self.functions)
            self.functions.append(obj)
        return ("rote function", position)

def dumps(obj, functions):
    """obj's pickle stream, its out-of-band buffers (not copied: large
    arrays inside pandas objects are hashed where they lie) and the functions
    met on the way, or None when it contains a set or frozenset."""
    buffer = io.BytesIO()
    views = []
    try:
        spotter = _Spotter(
            buffer, protocol=5, buffer_callback=views.append, functions=functions
        )
        spotter.dump(obj)
        views = [v.raw() for v in views]
    except _SetFound:
        return None
    except BufferError:
        # A non-contiguous buffer cannot be raw(): everything in band.
        buffer, views = io.BytesIO(), []
        try:
            spotter = _Spotter(buffer, protocol=5, functions=functions)
            spotter.dump(obj)
        except _SetFound:
            return None
    return buffer.getvalue(), views, spotter.functions
"#;

fn helpers(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static HELPERS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    HELPERS_MODULE
        .get_or_try_init(py, || {
            PyModule::from_code(py, HELPERS, c"<rote fingerprint>", c"_rote_fingerprint")
                .map(Bound::unbind)
        })
        .map(|m| m.bind(py))
}

/// A tag and a fixed-size value in one update: most leaves are this small,
/// and each update has a cost of its own.
fn put_tagged<const N: usize>(h: &mut Sink, tag: u8, value: &[u8; N]) {
    const { assert!(N <= 32) };
    let mut buf = [0u8; 33];
    buf[0] = tag;
    buf[1..=N].copy_from_slice(value);
    h.update(&buf[..=N]);
}

fn put_len(h: &mut Sink, len: usize) {
    h.update(&(len as u64).to_le_bytes());
}

/// A blake3 hasher fed in batches: blake3 hashes several 1 KiB chunks at
/// once with SIMD only when one update hands it several, and a walk over
/// small items would otherwise hand it a few bytes at a time.
#[derive(Default)]
struct Sink {
    hasher: Hasher,
    pending: Vec<u8>,
}

impl Sink {
    fn update(&mut self, data: &[u8]) {
        if self.pending.len() + data.len() > BATCH {
            self.flush();
        }
        if data.len() > BATCH {
            if data.len() >= PARALLEL_MIN {
                self.hasher.update_rayon(data);
            } else {
                self.hasher.update(data);
            }
        } else {
            self.pending.extend_from_slice(data);
        }
    }

    fn flush(&mut self) {
        self.hasher.update(&self.pending);
        self.pending.clear();
    }

    fn finalize(mut self) -> [u8; 32] {
        self.finalize_and_reset()
    }

    fn finalize_and_reset(&mut self) -> [u8; 32] {
        self.flush();
        let digest = *self.hasher.finalize().as_bytes();
        self.hasher.reset();
        digest
    }
}

fn put_data(h: &mut Sink, data: &[u8]) {
    h.update(data);
}

fn put_bytes(h: &mut Sink, data: &[u8]) {
    put_len(h, data.len());
    put_data(h, data);
}

fn put_str(h: &mut Sink, s: &Bound<'_, PyString>) -> PyResult<()> {
    match s.to_str() {
        Ok(text) => put_bytes(h, text.as_bytes()),
        // Lone surrogates have no UTF-8; surrogatepass encodes them as the
        // 3-byte sequences a lenient UTF-8 would, which no valid str yields.
        Err(_) => put_bytes(
            h,
            s.call_method1("encode", ("utf-8", "surrogatepass"))?
                .cast::<PyBytes>()?
                .as_bytes(),
        ),
    }
    Ok(())
}

fn put_int(h: &mut Sink, int: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(small) = int.extract::<i64>() {
        put_tagged(h, tag::INT, &small.to_le_bytes());
        return Ok(());
    }
    let bits: u64 = int.call_method0("bit_length")?.extract()?;
    let kwargs = PyDict::new(int.py());
    kwargs.set_item("signed", true)?;
    let bytes = int.call_method("to_bytes", (bits / 8 + 1, "little"), Some(&kwargs))?;
    h.update(&[tag::BIG_INT]);
    put_bytes(h, bytes.cast::<PyBytes>()?.as_bytes());
    Ok(())
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}

fn refused(what: &str) -> Refused {
    Refused::new(format!("unfingerprintable argument: {what}"))
}

/// A container whose items are being hashed.
struct Frame<'py> {
    /// Held so that its id cannot be reused while the walk remembers it.
    obj: Bound<'py, PyAny>,
    /// Boxed: a blake3 Hasher is nearly 2 KiB, and frames are moved around.
    hasher: Box<Sink>,
    items: Vec<Bound<'py, PyAny>>,
    next: usize,
}

/// Hashes ids (addresses, distinct by construction) by multiplying them
/// out: SipHash's flooding resistance buys nothing here and costs per item.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_usize(&mut self, id: usize) {
        self.write_u64(id as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type ById<V> = HashMap<usize, V, std::hash::BuildHasherDefault<IdHasher>>;

struct Walk<'py, 'h> {
    numpy: Option<npy::Numpy<'py>>,
    /// Digests functions; without one, a value holding a function is
    /// refused.
    functions: Option<&'h mut FunctionHook<'h>>,
    /// Digests of the containers and arrays done so far, by id; each entry
    /// holds its object so that the id stays its own.
    done: ById<(Bound<'py, PyAny>, [u8; 32])>,
    /// Containers on the path from the root: meeting one again is a cycle.
    open: ById<()>,
    /// Sinks of finished frames, reused: setting up a fresh one per
    /// container would cost more than hashing most containers.
    #[expect(
        clippy::vec_box,
        reason = "sinks move between frames and here, 2 KiB each"
    )]
    spare: Vec<Box<Sink>>,
}

impl<'py> Walk<'py, '_> {
    /// Hashes a leaf into `out`, or opens a frame for a container (whose
    /// digest the caller writes into `out` once its items are done).
    fn visit(
        &mut self,
        obj: Bound<'py, PyAny>,
        out: &mut Sink,
    ) -> PyResult<Result<Option<Frame<'py>>, Refused>> {
        let py = obj.py();
        let id = obj.as_ptr() as usize;
        if let Some((_, digest)) = self.done.get(&id) {
            put_tagged(out, tag::DIGEST, digest);
            return Ok(Ok(None));
        }
        if obj.is_none() {
            out.update(&[tag::NONE]);
        } else if let Ok(b) = obj.cast_exact::<PyBool>() {
            out.update(&[if b.is_true() { tag::TRUE } else { tag::FALSE }]);
        } else if obj.is_exact_instance_of::<PyInt>() {
            put_int(out, &obj)?;
        } else if let Ok(f) = obj.cast_exact::<PyFloat>() {
            put_tagged(out, tag::FLOAT, &f.value().to_bits().to_le_bytes());
        } else if let Ok(c) = obj.cast_exact::<PyComplex>() {
            let mut bits = [0u8; 16];
            bits[..8].copy_from_slice(&c.real().to_bits().to_le_bytes());
            bits[8..].copy_from_slice(&c.imag().to_bits().to_le_bytes());
            put_tagged(out, tag::COMPLEX, &bits);
        } else if let Ok(s) = obj.cast_exact::<PyString>() {
            out.update(&[tag::STR]);
            put_str(out, s)?;
        } else if let Ok(b) = obj.cast_exact::<PyBytes>() {
            out.update(&[tag::BYTES]);
            put_bytes(out, b.as_bytes());
        } else if let Ok(b) = obj.cast_exact::<PyByteArray>() {
            out.update(&[tag::BYTEARRAY]);
            // SAFETY: no Python code runs while the slice is hashed, so the
            // bytearray cannot be resized under it.
            put_bytes(out, unsafe { b.as_bytes() });
        } else if let Some(frame) = self.open_container(&obj)? {
            return Ok(frame.map(Some));
        } else if obj.is_instance(&helpers(py)?.getattr("FUNCTION_TYPES")?)? {
            // A function is its code, which only the caller can name: its
            // pickle is only a name.
            match self.function(&obj)? {
                Ok(digest) => put_tagged(out, tag::FUNCTION, &digest),
                Err(refusal) => return Ok(Err(refusal)),
            }
        } else if let Some(digest) = self.numpy_digest(&obj)? {
            self.done.insert(id, (obj, digest));
            put_tagged(out, tag::DIGEST, &digest);
        } else if let Some(digest) = crate::arrow::kind(&obj)?
            .map(|kind| crate::arrow::digest(&obj, kind))
            .transpose()?
            .flatten()
        {
            put_tagged(out, tag::ARROW, &digest);
        } else {
            match pickled(&obj, self.functions.is_some())? {
                Ok((stream, views, functions)) => {
                    out.update(&[tag::PICKLE]);
                    put_bytes(out, &without_readonly_marks(stream.as_bytes()));
                    put_len(out, functions.len());
                    for f in &functions {
                        match self.function(f)? {
                            Ok(digest) => put_tagged(out, tag::FUNCTION, &digest),
                            Err(refusal) => return Ok(Err(refusal)),
                        }
                    }
                    put_len(out, views.len());
                    for view in &views {
                        let buf = pyo3::buffer::PyBuffer::<u8>::get(view)?;
                        // SAFETY: raw() gave a contiguous byte view that the
                        // buffer keeps alive; no Python code runs meanwhile.
                        let bytes = unsafe {
                            std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.len_bytes())
                        };
                        put_bytes(out, bytes);
                    }
                }
                Err(refusal) => return Ok(Err(refusal)),
            }
        }
        Ok(Ok(None))
    }

    fn function(&mut self, f: &Bound<'py, PyAny>) -> PyResult<Result<[u8; 32], Refused>> {
        match self.functions.as_mut() {
            Some(hook) => Ok(hook(f)?.map_err(Refused::new)),
            None => Ok(Err(refused("function"))),
        }
    }

    /// A frame for an exact builtin container; `None` for anything else.
    fn open_container(
        &mut self,
        obj: &Bound<'py, PyAny>,
    ) -> PyResult<Option<Result<Frame<'py>, Refused>>> {
        // Items are collected before any is hashed: collecting runs no
        // Python code, so no container can change size half-way through.
        let (tag, kind, items): (u8, &str, Vec<Bound<'py, PyAny>>) =
            if let Ok(list) = obj.cast_exact::<PyList>() {
                (tag::LIST, "list", list.iter().collect())
            } else if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
                (tag::TUPLE, "tuple", tuple.iter().collect())
            } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
                (
                    tag::DICT,
                    "dict",
                    dict.iter().flat_map(|(k, v)| [k, v]).collect(),
                )
            } else if obj.is_exact_instance_of::<PySet>() {
                (tag::SET, "set", obj.try_iter()?.collect::<PyResult<_>>()?)
            } else if obj.is_exact_instance_of::<PyFrozenSet>() {
                (
                    tag::FROZENSET,
                    "frozenset",
                    obj.try_iter()?.collect::<PyResult<_>>()?,
                )
            } else {
                return Ok(None);
            };
        let id = obj.as_ptr() as usize;
        if self.open.insert(id, ()).is_some() {
            return Ok(Some(Err(refused(&format!("recursive {kind}")))));
        }
        let mut hasher = self.spare.pop().unwrap_or_default();
        hasher.update(&[tag]);
        // Pairs for a dict, so the count is its len() like for the others.
        put_len(
            &mut hasher,
            if tag == tag::DICT {
                items.len() / 2
            } else {
                items.len()
            },
        );
        Ok(Some(Ok(Frame {
            obj: obj.clone(),
            hasher,
            items,
            next: 0,
        })))
    }

    /// The digest of a plain array or numpy scalar whose items are raw
    /// bytes; `None` for anything else (object arrays, subclasses, ...: they
    /// go to pickle).
    fn numpy_digest(&self, obj: &Bound<'py, PyAny>) -> PyResult<Option<[u8; 32]>> {
        let Some(np) = &self.numpy else {
            return Ok(None);
        };
        let ty = obj.get_type();
        if ty.is(&np.ndarray) {
            if !npy::has_raw_items(&obj.getattr("dtype")?)? {
                return Ok(None);
            }
            return array_digest(obj).map(Some);
        }
        if !obj.is_instance(&np.generic)? || ty.module()?.to_str()? != "numpy" {
            return Ok(None);
        }
        let array = obj
            .py()
            .import("numpy")?
            .getattr("asarray")?
            .call1((obj,))?;
        if !array.get_type().is(&np.ndarray) || !npy::has_raw_items(&array.getattr("dtype")?)? {
            return Ok(None);
        }
        let mut h = Sink::default();
        h.update(&[tag::NUMPY_SCALAR]);
        put_str(&mut h, &ty.qualname()?)?;
        h.update(&array_digest(&array)?);
        Ok(Some(h.finalize()))
    }
}

/// Where the value bits of an x87 80-bit long double sit in its 16 bytes;
/// `None` for dtypes without padding inside their items.
fn long_double_value_bytes(dtype: &Bound<'_, PyAny>) -> PyResult<Option<Range<usize>>> {
    // Only x86 stores 10-byte extended precision in 16 bytes; elsewhere a
    // 16-byte float is IEEE binary128, every byte of it significant.
    if !cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
        return Ok(None);
    }
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    let unit = match dtype.getattr("kind")?.extract::<String>()?.as_str() {
        "f" => itemsize,
        "c" => itemsize / 2,
        _ => return Ok(None),
    };
    if unit != 16 {
        return Ok(None);
    }
    let big_endian = dtype.getattr("byteorder")?.extract::<String>()? == ">";
    Ok(Some(if big_endian { 6..16 } else { 0..10 }))
}

fn array_digest(arr: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    let py = arr.py();
    let dtype = arr.getattr("dtype")?;
    let mut h = Sink::default();
    h.update(&[tag::ARRAY]);
    put_str(&mut h, dtype.getattr("str")?.cast::<PyString>()?)?;
    // Overlapping or out-of-order fields have no descr; their repr is as
    // stable and as complete.
    let descr = match dtype.getattr("descr") {
        Ok(descr) => descr.str()?,
        Err(_) => dtype.repr()?,
    };
    put_str(&mut h, &descr)?;
    put_str(&mut h, dtype.getattr("byteorder")?.cast::<PyString>()?)?;
    let shape: Vec<u64> = arr.getattr("shape")?.extract()?;
    put_len(&mut h, shape.len());
    for dim in &shape {
        h.update(&dim.to_le_bytes());
    }
    let names = dtype.getattr("names")?;
    if names.is_none() {
        hash_items(arr, &dtype, &shape, &mut h)?;
        return Ok(h.finalize());
    }
    let asarray = py.import("numpy")?.getattr("asarray")?;
    for name in names.try_iter()? {
        let name = name?;
        put_str(&mut h, name.cast::<PyString>()?)?;
        // A field of a 0-d array may come out as a scalar.
        h.update(&array_digest(&asarray.call1((arr.get_item(&name)?,))?)?);
    }
    Ok(h.finalize())
}

/// The items of a non-structured array in logical C order.
fn hash_items(
    arr: &Bound<'_, PyAny>,
    dtype: &Bound<'_, PyAny>,
    shape: &[u64],
    h: &mut Sink,
) -> PyResult<()> {
    let py = arr.py();
    let nbytes: usize = arr.getattr("nbytes")?.extract()?;
    if nbytes == 0 {
        return Ok(());
    }
    let value_bytes = long_double_value_bytes(dtype)?;
    if value_bytes.is_none() && arr.getattr("flags")?.getattr("c_contiguous")?.is_truthy()? {
        // SAFETY: `arr` is held by the caller and hashing runs no Python.
        put_data(h, unsafe { npy::contiguous_bytes(arr, nbytes)? });
        return Ok(());
    }
    let arr = if shape.is_empty() {
        arr.call_method1("reshape", ((1,),))?
    } else {
        arr.clone()
    };
    let rows =
        usize::try_from(shape.first().copied().unwrap_or(1)).expect("a row count fits in memory");
    let step = (SLAB / (nbytes / rows).max(1)).max(1);
    let ascontiguousarray = py.import("numpy")?.getattr("ascontiguousarray")?;
    for start in (0..rows).step_by(step) {
        let end = (start + step).min(rows);
        let slab = ascontiguousarray.call1((arr.get_item(PySlice::new(
            py,
            start as isize,
            end as isize,
            1,
        ))?,))?;
        let len: usize = slab.getattr("nbytes")?.extract()?;
        // SAFETY: `slab` is held here and hashing runs no Python.
        let bytes = unsafe { npy::contiguous_bytes(&slab, len)? };
        match &value_bytes {
            None => put_data(h, bytes),
            Some(value) => {
                let mut masked = bytes.to_vec();
                for unit in masked.chunks_exact_mut(16) {
                    unit[..value.start].fill(0);
                    unit[value.end..].fill(0);
                }
                put_data(h, &masked);
            }
        }
    }
    Ok(())
}

/// `obj`'s pickle stream, or why it is refused: not picklable, or holding a
/// set whose order the hash seed decides.
/// Pickle protocol 5 marks an out-of-band buffer that is read-only
/// (`NEXT_BUFFER` then `READONLY_BUFFER`); whether a value's memory is
/// writeable is not part of what it is (a table served from the cache has
/// read-only buffers where the one computed had writeable ones).
fn without_readonly_marks(stream: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const NEXT_BUFFER: u8 = 0x97;
    const READONLY_BUFFER: u8 = 0x98;
    if !stream
        .windows(2)
        .any(|w| w == [NEXT_BUFFER, READONLY_BUFFER])
    {
        return std::borrow::Cow::Borrowed(stream);
    }
    let mut out = Vec::with_capacity(stream.len());
    let mut prev = 0u8;
    for &b in stream {
        if !(prev == NEXT_BUFFER && b == READONLY_BUFFER) {
            out.push(b);
        }
        prev = b;
    }
    std::borrow::Cow::Owned(out)
}

#[allow(clippy::type_complexity)]
fn pickled<'py>(
    obj: &Bound<'py, PyAny>,
    functions: bool,
) -> PyResult<
    Result<
        (
            Bound<'py, PyBytes>,
            Vec<Bound<'py, PyAny>>,
            Vec<Bound<'py, PyAny>>,
        ),
        Refused,
    >,
> {
    let py = obj.py();
    match helpers(py)?.getattr("dumps")?.call1((obj, functions)) {
        Ok(found) if found.is_none() => Ok(Err(refused(&type_name(obj)))),
        Ok(found) => Ok(Ok(found.extract()?)),
        // KeyboardInterrupt, SystemExit and the like are not about the value.
        Err(err) if !err.is_instance_of::<pyo3::exceptions::PyException>(py) => Err(err),
        Err(err) => {
            tracing::debug!(error = %err, "argument cannot be pickled");
            Ok(Err(refused(&type_name(obj))))
        }
    }
}

pub(crate) fn fingerprint<'h>(
    obj: &Bound<'_, PyAny>,
    functions: Option<&'h mut FunctionHook<'h>>,
) -> PyResult<Result<[u8; 32], Refused>> {
    let mut walk = Walk {
        numpy: npy::loaded(obj.py())?,
        functions,
        done: ById::default(),
        open: ById::default(),
        spare: Vec::new(),
    };
    let mut root = Sink::default();
    root.update(DOMAIN);
    let mut stack: Vec<Frame<'_>> = Vec::new();
    match walk.visit(obj.clone(), &mut root)? {
        Ok(Some(frame)) => stack.push(frame),
        Ok(None) => {}
        Err(refusal) => return Ok(Err(refusal)),
    }
    while let Some(top) = stack.last_mut() {
        if let Some(item) = top.items.get(top.next).cloned() {
            top.next += 1;
            match walk.visit(item, &mut top.hasher)? {
                Ok(Some(frame)) => stack.push(frame),
                Ok(None) => {}
                Err(refusal) => return Ok(Err(refusal)),
            }
            continue;
        }
        let mut frame = stack.pop().expect("the loop has a top frame");
        let digest = frame.hasher.finalize_and_reset();
        walk.spare.push(frame.hasher);
        let id = frame.obj.as_ptr() as usize;
        walk.open.remove(&id);
        walk.done.insert(id, (frame.obj, digest));
        let parent = match stack.last_mut() {
            Some(parent) => &mut parent.hasher,
            None => &mut root,
        };
        put_tagged(parent, tag::DIGEST, &digest);
    }
    Ok(Ok(root.finalize()))
}
