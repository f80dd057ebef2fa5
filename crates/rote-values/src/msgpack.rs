//! Trees of exact builtin values as msgpack, with ext types for what msgpack
//! cannot say, so that a round trip gives back the same types and values.
//!
//! Only exact types are taken (`type(v) is list`, never a subclass): anything
//! else anywhere in the tree makes [`encode`] answer `None` and the caller
//! falls back to pickle, which keeps the subclass. So do cycles and a list,
//! dict or set met twice, whose sharing pickle keeps; a tuple or frozenset
//! met twice is written twice (only identity tells), unless that happens
//! often (see [`Encoder::open`]).
//!
//! Layout: one msgpack value, nothing after it. None, bool, int in
//! [-2**63, 2**64), float (always float64, so NaN payloads, -0.0 and inf keep
//! their bits), str, bytes, list (array) and dict (map, insertion order) are
//! plain msgpack. The rest are ext types:
//!
//! | ext | payload                                                       |
//! |-----|---------------------------------------------------------------|
//! | 1   | int outside the native range: two's complement, little-endian |
//! | 2   | complex: real and imag as big-endian f64 bits                 |
//! | 3   | str with lone surrogates: UTF-8 with `surrogatepass`          |
//! | 4   | bytearray: its bytes                                          |
//! | 5   | empty; the array that follows is a tuple                      |
//! | 6   | empty; the array that follows is a set                        |
//! | 7   | empty; the array that follows is a frozenset                  |
//! | 8   | the str or bytes object written before as the n-th str/bytes  |
//! |     | (big-endian n in 1, 2 or 4 bytes)                             |
//!
//! Ext 8 is pickle's memo for strings: records repeat the same key objects
//! and categorical values, and a reference loads several times faster than
//! decoding the string again (1M strs drawn from three loaded at 3.3x
//! pickle's time without it, even with a cache of decoded short strings).
//! Every str and bytes read is numbered in order, so the reader keeps them
//! all; the writer refers back to those it still remembers, by address, in a
//! small table.
//!
//! Both directions walk the tree with an explicit stack, so nesting depth is
//! bounded by memory, not by the Rust stack. Both pause the cyclic garbage
//! collector, so no finalizer (no Python code at all) runs meanwhile: that
//! is what makes the borrowed references, the address table and the
//! half-filled lists and tuples below safe.
//!
//! Dispatch follows measurement. Save (`rote._dumps`) and load
//! (`rote._loads`) against `pickle.dumps(v, protocol=5)` / `pickle.loads`,
//! release build, Python 3.12, 2-core VM, best of 21 interleaved runs; time
//! over pickle's (< 1: msgpack faster), noise about ±5%:
//!
//! | value                                              | save | load |
//! |----------------------------------------------------|------|------|
//! | list of 1M ints (`range`)                          | 0.74 | 1.01 |
//! | dict of 100k str -> int                            | 0.37 | 1.01 |
//! | 10k small dicts `{'id', 'name', 'score'}`          | 0.55 | 0.79 |
//! | list of 1M floats                                  | 0.57 | 0.91 |
//! | nested tuples, 5-ary, depth 7, 78k leaf triples    | 0.30 | 0.74 |
//! | 200k (int, str) pairs                              | 0.16 | 0.72 |
//! | 1M distinct short strs                             | 0.07 | 0.89 |
//! | 1M of 3 categorical strs (back-references)         | 0.86 | 0.84 |
//! | 1k lists of 1k ints                                | 0.70 | 0.68 |
//! | list of 1M None                                    | 0.83 | 1.03 |
//! | list of 1M bools                                   | 0.87 | 0.88 |
//! | 10 MB bytes or str alone                           | 2.3  | 1.0  |
//!
//! No shape measured is slower than pickle beyond the noise but one: a huge
//! flat bytes or str saves at 2.3x pickle's time, because `rote._dumps`
//! copies this Vec into a bytes object where pickle writes its output once;
//! rote's pickle path copies more still (twice msgpack's time), so msgpack
//! keeps these. Pickle wins on sharing: written out in full,
//! `[(1, 'a')] * 100_000` took 4.6x pickle's time to save and 10x to load,
//! so containers met again go to pickle (see [`Encoder::open`]), and str and
//! bytes met again are back-references.

use std::collections::HashSet;
use std::ffi::c_char;

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyIterator,
    PyList, PySet, PyString, PyTuple,
};
use rmp::Marker;
use rmp::decode as de;
use rmp::encode as en;

const EXT_BIGINT: i8 = 1;
const EXT_COMPLEX: i8 = 2;
const EXT_SURROGATE_STR: i8 = 3;
const EXT_BYTEARRAY: i8 = 4;
const EXT_TUPLE: i8 = 5;
const EXT_SET: i8 = 6;
const EXT_FROZENSET: i8 = 7;
const EXT_SEEN: i8 = 8;

/// How many times tuples and frozensets met before may be written again
/// before the value goes to pickle instead (see [`Encoder::open`]).
const MAX_COPIES: usize = 1024;

/// Pauses the cyclic garbage collector, the only way Python code (a
/// finalizer) could run in the middle of encoding or decoding. Collections
/// would find nothing to free anyway: everything decode creates is reachable
/// from its result, and they took a fifth of the time of loading many small
/// containers.
struct GcPause {
    was_enabled: bool,
}

impl GcPause {
    fn new(_py: Python<'_>) -> GcPause {
        // SAFETY: the GIL is held (we have a `Python` token).
        GcPause {
            was_enabled: unsafe { ffi::PyGC_Disable() } == 1,
        }
    }
}

impl Drop for GcPause {
    fn drop(&mut self) {
        if self.was_enabled {
            // SAFETY: as in `new`; dropped before the GIL-holding caller
            // returns.
            unsafe { ffi::PyGC_Enable() };
        }
    }
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

/// Writing into a `Vec` cannot fail; rmp's signatures say it might.
fn put<T, E: std::fmt::Debug>(result: Result<T, E>) {
    result.expect("writing to a Vec cannot fail");
}

/// str and bytes objects already written, by address, with their number in
/// the order they were written. Direct-mapped: a collision forgets the older
/// one, which is then written again (and numbered again). Addresses stay
/// valid: every object is held by the tree being written, and nothing runs
/// that could change the tree.
struct Seen {
    slots: Vec<(usize, u32)>,
    /// How many str and bytes have been written in full.
    count: u64,
}

const SEEN_MIN_SLOTS: usize = 256;
const SEEN_MAX_SLOTS: usize = 1 << 16;

impl Seen {
    /// The number of the str or bytes at `addr` if it was written before;
    /// otherwise remembers it as the next one written.
    fn number(&mut self, addr: usize) -> Option<u32> {
        let number = self.count;
        self.count += 1;
        // Grown as values get bigger, so a small value does not pay for a
        // big table; growing forgets, which costs only a few references.
        if self.slots.len() < SEEN_MAX_SLOTS && number >= self.slots.len() as u64 * 2 {
            let len = (self.slots.len() * 8).clamp(SEEN_MIN_SLOTS, SEEN_MAX_SLOTS);
            self.slots = vec![(0, 0); len];
        }
        let bits = self.slots.len().trailing_zeros();
        let slot = ((addr >> 4) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits);
        let slot = &mut self.slots[slot as usize];
        if slot.0 == addr {
            self.count -= 1;
            return Some(slot.1);
        }
        // Numbers past u32 are never referred to, only counted.
        if let Ok(number) = u32::try_from(number) {
            *slot = (addr, number);
        }
        None
    }
}

struct Out {
    buf: Vec<u8>,
    seen: Seen,
}

/// Where a container's walk stopped.
enum Next<'py> {
    /// At a nested container, to be opened before the walk goes on.
    Container(Bound<'py, PyAny>),
    End,
    /// Not for msgpack after all: an unsupported item, a container repeated
    /// that pickle would store once, or the container changed size under
    /// us (it cannot: nothing runs; but the length written would be wrong).
    No,
}

/// A container being written and where its walk stands.
enum Items<'py> {
    /// A list or a tuple.
    Seq {
        seq: Bound<'py, PyAny>,
        is_list: bool,
        next: usize,
        len: usize,
    },
    Dict {
        dict: Bound<'py, PyDict>,
        pos: ffi::Py_ssize_t,
        left: usize,
        len: usize,
        value: Option<Bound<'py, PyAny>>,
    },
    Set {
        iter: Bound<'py, PyIterator>,
        left: usize,
    },
}

/// Writes the scalar `$item`; a container ends the walk to be opened.
macro_rules! scalar_or_break {
    ($out:expr, $item:expr) => {
        match write_scalar($out, $item)? {
            Scalar::Done => {}
            Scalar::Container(c) => return Ok(Next::Container(c)),
            Scalar::No => return Ok(Next::No),
        }
    };
}

impl<'py> Items<'py> {
    /// Writes items up to the next nested container or the end: scalars, the
    /// bulk of most trees, never leave this loop.
    fn walk(&mut self, out: &mut Out) -> PyResult<Next<'py>> {
        match self {
            Items::Seq {
                seq,
                is_list,
                next,
                len,
            } => loop {
                let now = if *is_list {
                    // SAFETY: `seq` is a list.
                    unsafe { ffi::PyList_GET_SIZE(seq.as_ptr()) as usize }
                } else {
                    *len
                };
                if *next == *len || *next >= now {
                    return Ok(if now == *len { Next::End } else { Next::No });
                }
                // SAFETY: `next` is in bounds (checked above) of a list or
                // tuple we hold a reference to, which nothing can change
                // meanwhile. Borrowed, not owned: taking a reference to each
                // item would serialize on the refcount of an object repeated
                // through the list.
                let item = unsafe {
                    let ptr = if *is_list {
                        ffi::PyList_GET_ITEM(seq.as_ptr(), *next as ffi::Py_ssize_t)
                    } else {
                        ffi::PyTuple_GET_ITEM(seq.as_ptr(), *next as ffi::Py_ssize_t)
                    };
                    Borrowed::from_ptr(seq.py(), ptr)
                };
                *next += 1;
                scalar_or_break!(out, item);
            },
            Items::Dict {
                dict,
                pos,
                left,
                len,
                value,
            } => loop {
                if let Some(value) = value.take() {
                    scalar_or_break!(out, value.as_borrowed());
                }
                if dict.len() != *len {
                    return Ok(Next::No);
                }
                if *left == 0 {
                    return Ok(Next::End);
                }
                let mut k = std::ptr::null_mut();
                let mut v = std::ptr::null_mut();
                // SAFETY: the dict is alive (we own a reference), the GIL is
                // held (rote never runs free-threaded builds), and `pos` only
                // ever comes from PyDict_Next on this dict.
                if unsafe { ffi::PyDict_Next(dict.as_ptr(), pos, &mut k, &mut v) } == 0 {
                    return Ok(Next::No);
                }
                *left -= 1;
                let py = dict.py();
                // SAFETY: PyDict_Next returned 1, so both are valid borrowed
                // references, and the dict cannot change meanwhile.
                let (k, v) =
                    unsafe { (Borrowed::from_ptr(py, k), Bound::from_borrowed_ptr(py, v)) };
                *value = Some(v);
                scalar_or_break!(out, k);
            },
            Items::Set { iter, left } => loop {
                match iter.next() {
                    Some(Ok(item)) if *left > 0 => {
                        *left -= 1;
                        scalar_or_break!(out, item.as_borrowed());
                    }
                    None if *left == 0 => return Ok(Next::End),
                    _ => return Ok(Next::No),
                }
            },
        }
    }
}

fn is_container(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_exact_instance_of::<PyList>()
        || obj.is_exact_instance_of::<PyDict>()
        || obj.is_exact_instance_of::<PyTuple>()
        || obj.is_exact_instance_of::<PySet>()
        || obj.is_exact_instance_of::<PyFrozenSet>()
}

/// What `write_scalar` did.
enum Scalar<'py> {
    Done,
    /// A supported container, left to [`Encoder::open`].
    Container(Bound<'py, PyAny>),
    /// Not exactly msgpack-able: the whole value goes to pickle.
    No,
}

/// Writes `obj` if it is a supported scalar.
fn write_scalar<'py>(out: &mut Out, obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Scalar<'py>> {
    if obj.is_exact_instance_of::<PyInt>() {
        return write_int(&mut out.buf, obj);
    }
    if obj.is_exact_instance_of::<PyString>() {
        if let Some(number) = out.seen.number(obj.as_ptr() as usize) {
            write_seen(&mut out.buf, number);
            return Ok(Scalar::Done);
        }
        let mut size: ffi::Py_ssize_t = 0;
        // SAFETY: `obj` is a str. The UTF-8 it points to lives as long as the
        // str, which outlives the copy below.
        let data = unsafe { ffi::PyUnicode_AsUTF8AndSize(obj.as_ptr(), &mut size) };
        if data.is_null() {
            // Lone surrogates: UTF-8 cannot hold them.
            let py = obj.py();
            let _ = PyErr::take(py);
            let raw = obj.call_method1(
                intern!(py, "encode"),
                (intern!(py, "utf-8"), intern!(py, "surrogatepass")),
            )?;
            return Ok(write_ext(
                &mut out.buf,
                EXT_SURROGATE_STR,
                raw.cast::<PyBytes>()?.as_bytes(),
            ));
        }
        // SAFETY: PyUnicode_AsUTF8AndSize succeeded: `size` bytes at `data`.
        let text = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size as usize) };
        let Ok(len) = u32::try_from(text.len()) else {
            return Ok(Scalar::No);
        };
        write_str_len(&mut out.buf, len);
        out.buf.extend_from_slice(text);
        return Ok(Scalar::Done);
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        out.buf.push(0xcb);
        out.buf
            .extend_from_slice(&f.value().to_bits().to_be_bytes());
        return Ok(Scalar::Done);
    }
    if obj.is_none() {
        put(en::write_nil(&mut out.buf));
        return Ok(Scalar::Done);
    }
    if let Ok(b) = obj.cast_exact::<PyBool>() {
        put(en::write_bool(&mut out.buf, b.is_true()));
        return Ok(Scalar::Done);
    }
    if is_container(&obj) {
        return Ok(Scalar::Container(obj.to_owned()));
    }
    if let Ok(b) = obj.cast_exact::<PyBytes>() {
        if let Some(number) = out.seen.number(obj.as_ptr() as usize) {
            write_seen(&mut out.buf, number);
            return Ok(Scalar::Done);
        }
        let data = b.as_bytes();
        let Ok(len) = u32::try_from(data.len()) else {
            return Ok(Scalar::No);
        };
        put(en::write_bin_len(&mut out.buf, len));
        out.buf.extend_from_slice(data);
        return Ok(Scalar::Done);
    }
    if let Ok(c) = obj.cast_exact::<PyComplex>() {
        let mut payload = [0u8; 16];
        payload[..8].copy_from_slice(&c.real().to_bits().to_be_bytes());
        payload[8..].copy_from_slice(&c.imag().to_bits().to_be_bytes());
        return Ok(write_ext(&mut out.buf, EXT_COMPLEX, &payload));
    }
    if let Ok(ba) = obj.cast_exact::<PyByteArray>() {
        // SAFETY: nothing runs between taking the slice and copying it.
        let data = unsafe { ba.as_bytes() };
        return Ok(write_ext(&mut out.buf, EXT_BYTEARRAY, data));
    }
    Ok(Scalar::No)
}

fn write_seen(buf: &mut Vec<u8>, number: u32) {
    if let Ok(n) = u8::try_from(number) {
        buf.extend_from_slice(&[0xd4, EXT_SEEN as u8, n]);
    } else if let Ok(n) = u16::try_from(number) {
        buf.extend_from_slice(&[0xd5, EXT_SEEN as u8]);
        buf.extend_from_slice(&n.to_be_bytes());
    } else {
        buf.extend_from_slice(&[0xd6, EXT_SEEN as u8]);
        buf.extend_from_slice(&number.to_be_bytes());
    }
}

fn write_array_len(buf: &mut Vec<u8>, len: usize) -> bool {
    match u32::try_from(len) {
        Ok(len) => {
            put(en::write_array_len(buf, len));
            true
        }
        Err(_) => false,
    }
}

fn write_ext<'py>(buf: &mut Vec<u8>, tag: i8, payload: &[u8]) -> Scalar<'py> {
    let Ok(len) = u32::try_from(payload.len()) else {
        return Scalar::No;
    };
    put(en::write_ext_meta(buf, len, tag));
    buf.extend_from_slice(payload);
    Scalar::Done
}

// The headers of the commonest scalars are written by hand, in the same
// smallest-form encoding as rmp's write_sint, write_uint and write_str_len:
// rmp's functions are not inlined, and took a quarter of the time of writing
// a list of ints or short strings.

fn write_str_len(buf: &mut Vec<u8>, len: u32) {
    if len < 32 {
        buf.push(0xa0 | len as u8);
    } else if let Ok(len) = u8::try_from(len) {
        buf.extend_from_slice(&[0xd9, len]);
    } else if let Ok(len) = u16::try_from(len) {
        buf.push(0xda);
        buf.extend_from_slice(&len.to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&len.to_be_bytes());
    }
}

fn write_uint(buf: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        buf.push(v as u8);
    } else if let Ok(v) = u8::try_from(v) {
        buf.extend_from_slice(&[0xcc, v]);
    } else if let Ok(v) = u16::try_from(v) {
        buf.push(0xcd);
        buf.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = u32::try_from(v) {
        buf.push(0xce);
        buf.extend_from_slice(&v.to_be_bytes());
    } else {
        buf.push(0xcf);
        buf.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_sint(buf: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_uint(buf, v as u64);
    } else if v >= -32 {
        buf.push(v as u8);
    } else if let Ok(v) = i8::try_from(v) {
        buf.extend_from_slice(&[0xd0, v as u8]);
    } else if let Ok(v) = i16::try_from(v) {
        buf.push(0xd1);
        buf.extend_from_slice(&v.to_be_bytes());
    } else if let Ok(v) = i32::try_from(v) {
        buf.push(0xd2);
        buf.extend_from_slice(&v.to_be_bytes());
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_int<'py>(buf: &mut Vec<u8>, int: Borrowed<'_, '_, PyAny>) -> PyResult<Scalar<'py>> {
    let py = int.py();
    let mut overflow = 0;
    // SAFETY: `int` is an exact int, alive for the call.
    let small = unsafe { ffi::PyLong_AsLongLongAndOverflow(int.as_ptr(), &mut overflow) };
    if overflow == 0 {
        if small == -1 {
            if let Some(err) = PyErr::take(py) {
                return Err(err);
            }
        }
        write_sint(buf, small);
        return Ok(Scalar::Done);
    }
    if overflow > 0 {
        if let Ok(large) = int.extract::<u64>() {
            write_uint(buf, large);
            return Ok(Scalar::Done);
        }
    }
    // One byte more than the magnitude needs leaves room for the sign bit.
    let bits: usize = int.call_method0(intern!(py, "bit_length"))?.extract()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "signed"), true)?;
    let raw = int.call_method(
        intern!(py, "to_bytes"),
        (bits / 8 + 1, intern!(py, "little")),
        Some(&kwargs),
    )?;
    Ok(write_ext(
        buf,
        EXT_BIGINT,
        raw.cast::<PyBytes>()?.as_bytes(),
    ))
}

struct Encoder<'py> {
    out: Out,
    stack: Vec<Items<'py>>,
    /// Non-empty containers met so far that something else may refer to,
    /// by address.
    met: HashSet<usize>,
    /// How many tuples and frozensets were written again.
    copies: usize,
}

impl<'py> Encoder<'py> {
    /// Writes a container's header and starts its walk; false if it cannot
    /// be written (too long for msgpack, or met before).
    fn open(&mut self, obj: Bound<'py, PyAny>, root: bool) -> PyResult<bool> {
        let buf = &mut self.out.buf;
        let id = obj.as_ptr() as usize;
        // SAFETY: `obj` is a live object.
        let refcnt = unsafe { ffi::Py_REFCNT(obj.as_ptr()) };
        let immutable =
            obj.is_exact_instance_of::<PyTuple>() || obj.is_exact_instance_of::<PyFrozenSet>();
        let is_list = obj.is_exact_instance_of::<PyList>();
        let (items, len) = if is_list || obj.is_exact_instance_of::<PyTuple>() {
            let len = obj.len()?;
            if !is_list {
                put(en::write_ext_meta(buf, 0, EXT_TUPLE));
            }
            if !write_array_len(buf, len) {
                return Ok(false);
            }
            (
                Items::Seq {
                    seq: obj,
                    is_list,
                    next: 0,
                    len,
                },
                len,
            )
        } else if let Ok(dict) = obj.cast_exact::<PyDict>() {
            let len = dict.len();
            let Ok(len32) = u32::try_from(len) else {
                return Ok(false);
            };
            put(en::write_map_len(buf, len32));
            (
                Items::Dict {
                    dict: dict.clone(),
                    pos: 0,
                    left: len,
                    len,
                    value: None,
                },
                len,
            )
        } else {
            let tag = if obj.is_exact_instance_of::<PySet>() {
                EXT_SET
            } else {
                EXT_FROZENSET
            };
            let len = obj.len()?;
            put(en::write_ext_meta(buf, 0, tag));
            if !write_array_len(buf, len) {
                return Ok(false);
            }
            (
                Items::Set {
                    iter: PyIterator::from_object(&obj)?,
                    left: len,
                },
                len,
            )
        };
        if len == 0 {
            return Ok(true);
        }
        // A container met twice is shared (`[x] * n`) or part of a cycle.
        // Only the root and containers with more references than their
        // parent's and ours can be met twice (a cycle is entered through one
        // with three); most have just those two and are not tracked:
        // tracking them all doubled the time of writing many small tuples.
        if (root || refcnt > 2) && !self.met.insert(id) {
            // A list, dict or set goes to pickle, which keeps the sharing
            // (`[[0] * 3] * 3`) and the cycles. A tuple or frozenset is
            // written again: immutable, its copies differ only in identity.
            // Unless that happens too often: pickle's memo is faster then,
            // `t = (t, t)` a hundred deep must not be written 2**100 times,
            // and a cycle through a tuple (and a list in it) must end.
            self.copies += 1;
            if !immutable || self.copies > MAX_COPIES {
                return Ok(false);
            }
        }
        self.stack.push(items);
        Ok(true)
    }
}

/// `obj` as tagged msgpack, or `None` when it is not a tree of exact
/// supported types (or pickle is better for it).
pub(crate) fn encode(obj: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    let _pause = GcPause::new(obj.py());
    // A big str or bytes alone is written in one go, without growing.
    let capacity = if let Ok(b) = obj.cast_exact::<PyBytes>() {
        b.as_bytes().len() + 5
    } else if let Ok(s) = obj.cast_exact::<PyString>() {
        s.to_str().map_or(256, |text| text.len() + 5)
    } else {
        256
    };
    let out = Out {
        buf: Vec::with_capacity(capacity),
        seen: Seen {
            slots: Vec::new(),
            count: 0,
        },
    };
    let mut enc = Encoder {
        out,
        stack: Vec::new(),
        met: HashSet::new(),
        copies: 0,
    };
    match write_scalar(&mut enc.out, obj.as_borrowed())? {
        Scalar::Done => return Ok(Some(enc.out.buf)),
        Scalar::No => return Ok(None),
        Scalar::Container(c) => {
            if !enc.open(c, true)? {
                return Ok(None);
            }
        }
    }
    while let Some(items) = enc.stack.last_mut() {
        match items.walk(&mut enc.out)? {
            Next::Container(c) => {
                if !enc.open(c, false)? {
                    return Ok(None);
                }
            }
            Next::End => {
                enc.stack.pop();
            }
            Next::No => return Ok(None),
        }
    }
    Ok(Some(enc.out.buf))
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

fn corrupt(what: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("corrupt msgpack value: {what}"))
}

#[derive(Clone, Copy)]
enum Kind {
    List,
    Tuple,
    Set,
    FrozenSet,
    Dict,
}

enum Item<'py> {
    Value(Bound<'py, PyAny>),
    Open(Kind, usize),
}

/// A container being filled as its items are read.
enum Building<'py> {
    /// A list or tuple created at its full length, slots set in order.
    Seq {
        seq: Bound<'py, PyAny>,
        is_list: bool,
        next: usize,
        len: usize,
    },
    /// A set, or a frozenset nobody else has seen yet.
    Set { set: Bound<'py, PyAny>, left: usize },
    Dict {
        dict: Bound<'py, PyDict>,
        left: usize,
        key: Option<Bound<'py, PyAny>>,
    },
}

/// Puts `item` into slot `index` of a list or tuple being built.
///
/// # Safety
///
/// `seq` is a list (`is_list`) or a tuple, created with more than `index`
/// slots, slot `index` is still empty, and nothing can see the empty slots:
/// the garbage collector is paused and no Python code runs while decoding.
unsafe fn set_slot(seq: &Bound<'_, PyAny>, is_list: bool, index: usize, item: Bound<'_, PyAny>) {
    // SAFETY: as the caller promises; SET_ITEM takes over our reference.
    unsafe {
        if is_list {
            ffi::PyList_SET_ITEM(seq.as_ptr(), index as ffi::Py_ssize_t, item.into_ptr());
        } else {
            ffi::PyTuple_SET_ITEM(seq.as_ptr(), index as ffi::Py_ssize_t, item.into_ptr());
        }
    }
}

impl<'py> Building<'py> {
    /// An empty container of `kind` for `len` items; `len` is at most the
    /// number of bytes left, so a corrupt length cannot allocate much.
    fn new(py: Python<'py>, kind: Kind, len: usize) -> PyResult<Building<'py>> {
        let size = ffi::Py_ssize_t::try_from(len).map_err(|_| corrupt("length"))?;
        // SAFETY: the GIL is held; each returns a new reference or null with
        // an error set.
        let new = |ptr| unsafe { Bound::from_owned_ptr_or_err(py, ptr) };
        Ok(match kind {
            Kind::List => Building::Seq {
                seq: new(unsafe { ffi::PyList_New(size) })?,
                is_list: true,
                next: 0,
                len,
            },
            Kind::Tuple => Building::Seq {
                seq: new(unsafe { ffi::PyTuple_New(size) })?,
                is_list: false,
                next: 0,
                len,
            },
            Kind::Set => Building::Set {
                set: PySet::empty(py)?.into_any(),
                left: len,
            },
            Kind::FrozenSet => Building::Set {
                set: new(unsafe { ffi::PyFrozenSet_New(std::ptr::null_mut()) })?,
                left: len,
            },
            Kind::Dict => Building::Dict {
                dict: PyDict::new(py),
                left: len,
                key: None,
            },
        })
    }

    /// Adds the next item; true once the container is complete.
    fn push(&mut self, item: Bound<'py, PyAny>) -> PyResult<bool> {
        // An unhashable key or member can only come from corrupt bytes.
        let unhashable = |err: PyErr| corrupt(format!("bad key: {err}"));
        Ok(match self {
            Building::Seq {
                seq,
                is_list,
                next,
                len,
            } => {
                // SAFETY: a Seq is popped once complete, so `next < len`.
                unsafe { set_slot(seq, *is_list, *next, item) };
                *next += 1;
                *next == *len
            }
            Building::Set { set, left } => {
                // SAFETY: `set` is a set, or a new frozenset only we hold,
                // which PySet_Add may fill.
                if unsafe { ffi::PySet_Add(set.as_ptr(), item.as_ptr()) } != 0 {
                    return Err(unhashable(PyErr::fetch(set.py())));
                }
                *left -= 1;
                *left == 0
            }
            Building::Dict { dict, left, key } => match key.take() {
                None => {
                    *key = Some(item);
                    false
                }
                Some(k) => {
                    // SAFETY: a dict and two live objects; PyDict_SetItem
                    // takes its own references.
                    if unsafe { ffi::PyDict_SetItem(dict.as_ptr(), k.as_ptr(), item.as_ptr()) } != 0
                    {
                        return Err(unhashable(PyErr::fetch(dict.py())));
                    }
                    *left -= 1;
                    *left == 0
                }
            },
        })
    }

    fn into_any(self) -> Bound<'py, PyAny> {
        match self {
            Building::Seq { seq, .. } => seq,
            Building::Set { set, .. } => set,
            Building::Dict { dict, .. } => dict.into_any(),
        }
    }
}

fn take<'a>(rd: &mut &'a [u8], len: u32) -> PyResult<&'a [u8]> {
    let (data, rest) = rd
        .split_at_checked(len as usize)
        .ok_or_else(|| corrupt("truncated"))?;
    *rd = rest;
    Ok(data)
}

/// The `N` bytes after a marker, which it consumes with them. By hand, not
/// rmp's readers: those read the marker again, and are not inlined.
#[inline(always)]
fn fixed<const N: usize>(rd: &mut &[u8]) -> PyResult<[u8; N]> {
    match rd.get(1..).and_then(|rest| rest.split_first_chunk::<N>()) {
        Some((value, rest)) => {
            *rd = rest;
            Ok(*value)
        }
        None => Err(corrupt("truncated")),
    }
}

fn decode_str<'py>(
    py: Python<'py>,
    data: &[u8],
    errors: Option<&std::ffi::CStr>,
) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(data.len()).map_err(|_| corrupt("length"))?;
    let errors = errors.map_or(std::ptr::null(), |e| e.as_ptr());
    // SAFETY: `data` is a valid slice of `len` bytes; `errors` is null or a C
    // string; the result is a new reference or null with an error set.
    let s = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyUnicode_DecodeUTF8(data.as_ptr().cast::<c_char>(), len, errors),
        )
    };
    s.map_err(|err| corrupt(format!("bad string: {err}")))
}

/// Reads one value, or the header of a container. Every str and bytes read
/// joins `seen`, for ext 8 to refer back to.
fn read_item<'py>(
    py: Python<'py>,
    rd: &mut &[u8],
    seen: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<Item<'py>> {
    let &first = rd.first().ok_or_else(|| corrupt("truncated"))?;
    let value = match Marker::from_u8(first) {
        Marker::FixPos(v) => {
            *rd = &rd[1..];
            v.into_pyobject(py)?.into_any()
        }
        Marker::FixNeg(v) => {
            *rd = &rd[1..];
            v.into_pyobject(py)?.into_any()
        }
        Marker::U8 => i64::from(u8::from_be_bytes(fixed(rd)?))
            .into_pyobject(py)?
            .into_any(),
        Marker::U16 => i64::from(u16::from_be_bytes(fixed(rd)?))
            .into_pyobject(py)?
            .into_any(),
        Marker::U32 => i64::from(u32::from_be_bytes(fixed(rd)?))
            .into_pyobject(py)?
            .into_any(),
        Marker::I8 => i64::from(i8::from_be_bytes(fixed(rd)?))
            .into_pyobject(py)?
            .into_any(),
        Marker::I16 => i64::from(i16::from_be_bytes(fixed(rd)?))
            .into_pyobject(py)?
            .into_any(),
        Marker::I32 => i64::from(i32::from_be_bytes(fixed(rd)?))
            .into_pyobject(py)?
            .into_any(),
        Marker::I64 => i64::from_be_bytes(fixed(rd)?).into_pyobject(py)?.into_any(),
        Marker::U64 => u64::from_be_bytes(fixed(rd)?).into_pyobject(py)?.into_any(),
        Marker::F64 => PyFloat::new(py, f64::from_bits(u64::from_be_bytes(fixed(rd)?))).into_any(),
        Marker::Null => {
            *rd = &rd[1..];
            py.None().into_bound(py)
        }
        Marker::True | Marker::False => {
            *rd = &rd[1..];
            PyBool::new(py, first == 0xc3).to_owned().into_any()
        }
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
            let len = de::read_str_len(rd).map_err(corrupt)?;
            let s = decode_str(py, take(rd, len)?, None)?;
            seen.push(s.clone());
            s
        }
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => {
            let len = de::read_bin_len(rd).map_err(corrupt)?;
            let b = PyBytes::new(py, take(rd, len)?).into_any();
            seen.push(b.clone());
            b
        }
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => {
            return Ok(Item::Open(
                Kind::List,
                de::read_array_len(rd).map_err(corrupt)? as usize,
            ));
        }
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => {
            return Ok(Item::Open(
                Kind::Dict,
                de::read_map_len(rd).map_err(corrupt)? as usize,
            ));
        }
        // Back-references first, the commonest ext by far: as fast as
        // pickle's memo only without the general ext path.
        Marker::FixExt1 if rd.get(1) == Some(&(EXT_SEEN as u8)) => {
            let number = usize::from(fixed::<2>(rd)?[1]);
            seen.get(number)
                .ok_or_else(|| corrupt("back-reference ahead"))?
                .clone()
        }
        Marker::FixExt2 if rd.get(1) == Some(&(EXT_SEEN as u8)) => {
            let [_, a, b] = fixed::<3>(rd)?;
            let number = usize::from(u16::from_be_bytes([a, b]));
            seen.get(number)
                .ok_or_else(|| corrupt("back-reference ahead"))?
                .clone()
        }
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => return read_ext(py, rd, seen),
        Marker::Reserved | Marker::F32 => {
            return Err(corrupt(format_args!("unexpected marker 0x{first:02x}")));
        }
    };
    Ok(Item::Value(value))
}

fn read_ext<'py>(
    py: Python<'py>,
    rd: &mut &[u8],
    seen: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<Item<'py>> {
    let meta = de::read_ext_meta(rd).map_err(corrupt)?;
    let data = take(rd, meta.size)?;
    let kind = match meta.typeid {
        EXT_SEEN => {
            let number = match *data {
                [n] => usize::from(n),
                [a, b] => usize::from(u16::from_be_bytes([a, b])),
                [a, b, c, d] => u32::from_be_bytes([a, b, c, d]) as usize,
                _ => return Err(corrupt("back-reference size")),
            };
            let s = seen
                .get(number)
                .ok_or_else(|| corrupt("back-reference ahead"))?;
            return Ok(Item::Value(s.clone()));
        }
        EXT_BIGINT => {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "signed"), true)?;
            let int = py.get_type::<PyInt>().call_method(
                intern!(py, "from_bytes"),
                (PyBytes::new(py, data), intern!(py, "little")),
                Some(&kwargs),
            )?;
            return Ok(Item::Value(int));
        }
        EXT_COMPLEX => {
            let (re, im) = data
                .split_first_chunk::<8>()
                .and_then(|(re, rest)| Some((re, <&[u8; 8]>::try_from(rest).ok()?)))
                .ok_or_else(|| corrupt("complex size"))?;
            let (re, im) = (
                f64::from_bits(u64::from_be_bytes(*re)),
                f64::from_bits(u64::from_be_bytes(*im)),
            );
            return Ok(Item::Value(PyComplex::from_doubles(py, re, im).into_any()));
        }
        EXT_SURROGATE_STR => {
            let s = decode_str(py, data, Some(c"surrogatepass"))?;
            seen.push(s.clone());
            return Ok(Item::Value(s));
        }
        EXT_BYTEARRAY => return Ok(Item::Value(PyByteArray::new(py, data).into_any())),
        EXT_TUPLE => Kind::Tuple,
        EXT_SET => Kind::Set,
        EXT_FROZENSET => Kind::FrozenSet,
        other => return Err(corrupt(format!("unknown ext type {other}"))),
    };
    if !data.is_empty() {
        return Err(corrupt("container tag with a payload"));
    }
    let &next = rd.first().ok_or_else(|| corrupt("truncated"))?;
    if !matches!(
        Marker::from_u8(next),
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32
    ) {
        return Err(corrupt("container tag without an array"));
    }
    Ok(Item::Open(
        kind,
        de::read_array_len(rd).map_err(corrupt)? as usize,
    ))
}

/// Reads back what [`encode`] wrote; corrupt bytes raise `ValueError`.
pub(crate) fn decode<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let _pause = GcPause::new(py);
    let mut rd = bytes;
    let mut open: Vec<Building<'py>> = Vec::new();
    let mut seen: Vec<Bound<'py, PyAny>> = Vec::new();
    loop {
        let item = match open.last_mut() {
            // The items of a list or tuple go straight into their slots, in
            // a loop of their own, until one opens a container or completes
            // it.
            Some(Building::Seq {
                seq,
                is_list,
                next,
                len,
            }) => loop {
                match read_item(py, &mut rd, &mut seen)? {
                    Item::Value(value) if *next + 1 < *len => {
                        // SAFETY: `next + 1 < len`, slots fill in order.
                        unsafe { set_slot(seq, *is_list, *next, value) };
                        *next += 1;
                    }
                    other => break other,
                }
            },
            _ => read_item(py, &mut rd, &mut seen)?,
        };
        let mut value = match item {
            Item::Value(value) => value,
            Item::Open(kind, len) => {
                // Every item takes at least a byte.
                if len > rd.len() {
                    return Err(corrupt("truncated"));
                }
                let building = Building::new(py, kind, len)?;
                if len > 0 {
                    open.push(building);
                    continue;
                }
                building.into_any()
            }
        };
        // Close every container this value completes.
        loop {
            let Some(top) = open.len().checked_sub(1) else {
                if !rd.is_empty() {
                    return Err(corrupt("trailing bytes"));
                }
                return Ok(value);
            };
            if !open[top].push(value)? {
                break;
            }
            value = open.swap_remove(top).into_any();
        }
    }
}
