//! Plain numpy arrays as `.npy` files: the format `numpy.load` reads, so a
//! stored array can be inspected with numpy alone, and its data is one copy
//! away from the array's buffer in both directions (no pickle stream, no
//! intermediate Python `bytes`).
//!
//! Only arrays whose exact type is `numpy.ndarray` and whose dtype survives
//! the header's `descr` unchanged are "plain": subclasses (`np.matrix`,
//! masked arrays, `np.memmap`), object or user-defined dtypes, dtypes with
//! metadata, overlapping fields or `align=True` go to pickle, which keeps
//! them exact.
//!
//! Also home of the lookups of numpy itself shared with the fingerprints:
//! neither module ever imports numpy; a process that has not imported it
//! cannot hold an array.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyString, PyTuple, PyType};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy pads headers so that the data starts on this boundary.
const ARRAY_ALIGN: usize = 64;
/// numpy leaves room after the header for the growing axis to reach this many
/// digits; written the same so that our files are byte-identical to
/// `numpy.save`'s.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The numpy types the codecs test against.
pub(crate) struct Numpy<'py> {
    pub(crate) ndarray: Bound<'py, PyType>,
    pub(crate) generic: Bound<'py, PyType>,
}

/// numpy, if this process has imported it already.
pub(crate) fn loaded(py: Python<'_>) -> PyResult<Option<Numpy<'_>>> {
    static TYPES: PyOnceLock<(Py<PyType>, Py<PyType>)> = PyOnceLock::new();
    if TYPES.get(py).is_none() {
        let modules = py.import("sys")?.getattr("modules")?;
        let Some(np) = modules.cast::<PyDict>()?.get_item("numpy")? else {
            return Ok(None);
        };
        // A numpy half-way through its own import has no ndarray yet: try
        // again next time rather than remember the failure.
        let (Ok(ndarray), Ok(generic)) = (np.getattr("ndarray"), np.getattr("generic")) else {
            return Ok(None);
        };
        let types = (
            ndarray.cast_into::<PyType>()?.unbind(),
            generic.cast_into::<PyType>()?.unbind(),
        );
        let _ = TYPES.set(py, types);
    }
    Ok(TYPES.get(py).map(|(ndarray, generic)| Numpy {
        ndarray: ndarray.bind(py).clone(),
        generic: generic.bind(py).clone(),
    }))
}

fn format_module(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
    py.import("numpy.lib.format")
}

/// Whether the array's raw bytes are its whole content: no object pointers,
/// no user-defined dtype whose items live elsewhere (e.g. `StringDType`).
pub(crate) fn has_raw_items(dtype: &Bound<'_, PyAny>) -> PyResult<bool> {
    if dtype.getattr("hasobject")?.is_truthy()? {
        return Ok(false);
    }
    // Dtypes that predate numpy's new dtype API are "legacy"; the attribute
    // is missing on numpy versions without that API, where all are legacy.
    match dtype.get_type().getattr("_legacy") {
        Ok(legacy) => legacy.is_truthy(),
        Err(_) => Ok(true),
    }
}

/// Whether `descr_to_dtype(dtype_to_descr(dtype))` gives back this very
/// dtype, repr (alignment, offsets, titles, units) included. (`longlong`
/// comes back as `long` of the same size, as it does through pickle.)
fn descr_round_trips(dtype: &Bound<'_, PyAny>) -> PyResult<bool> {
    let format = format_module(dtype.py())?;
    // dtype_to_descr drops metadata with a warning; such dtypes go to pickle.
    match format.getattr("drop_metadata") {
        Ok(drop) if !drop.call1((dtype,))?.is(dtype) => return Ok(false),
        Ok(_) => {}
        Err(_) if !dtype.getattr("metadata")?.is_none() => return Ok(false),
        Err(_) => {}
    }
    // Overlapping or out-of-order fields have no descr at all.
    let Ok(descr) = format.getattr("dtype_to_descr")?.call1((dtype,)) else {
        return Ok(false);
    };
    let Ok(back) = format.getattr("descr_to_dtype")?.call1((descr,)) else {
        return Ok(false);
    };
    Ok(back.eq(dtype)? && back.repr()?.to_str()? == dtype.repr()?.to_str()?)
}

pub(crate) fn is_plain_ndarray(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let Some(np) = loaded(obj.py())? else {
        return Ok(false);
    };
    if !obj.get_type().is(&np.ndarray) {
        return Ok(false);
    }
    let dtype = obj.getattr("dtype")?;
    Ok(has_raw_items(&dtype)? && descr_round_trips(&dtype)?)
}

/// Address of the first byte of an array's data. Valid as long as the array
/// is alive and not resized, i.e. while the caller holds it and the GIL.
pub(crate) fn data_address(arr: &Bound<'_, PyAny>) -> PyResult<usize> {
    arr.getattr("__array_interface__")?
        .get_item("data")?
        .get_item(0)?
        .extract()
}

/// The bytes of a C- or F-contiguous array, borrowed from its buffer.
///
/// # Safety
/// The caller must hold `arr` and must not let Python code run (it could
/// resize or free the buffer) while the slice is in use.
pub(crate) unsafe fn contiguous_bytes<'a>(
    arr: &'a Bound<'_, PyAny>,
    nbytes: usize,
) -> PyResult<&'a [u8]> {
    if nbytes == 0 {
        return Ok(&[]);
    }
    let address = data_address(arr)?;
    // SAFETY: a contiguous array owns (or views) `nbytes` bytes from its data
    // address; the caller keeps it alive and unchanged.
    Ok(unsafe { std::slice::from_raw_parts(address as *const u8, nbytes) })
}

fn shape_repr(shape: &[u64]) -> String {
    match shape {
        [] => "()".to_owned(),
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Magic, version, header length and the header padded as numpy pads it:
/// version 1.0 when the header fits its u16 length, 2.0 for longer headers,
/// 3.0 when the header is not latin-1 (non-latin-1 field names).
fn wrap_header(header: &str) -> Vec<u8> {
    let latin1: Option<Vec<u8>> = header
        .chars()
        .map(|c| u8::try_from(u32::from(c)).ok())
        .collect();
    let padded_len = |body: usize, len_size: usize| {
        let hlen = body + 1;
        hlen + ARRAY_ALIGN - ((MAGIC.len() + 2 + len_size + hlen) % ARRAY_ALIGN)
    };
    let (major, body) = match latin1 {
        Some(body) if padded_len(body.len(), 2) <= usize::from(u16::MAX) => (1u8, body),
        Some(body) => (2, body),
        None => (3, header.as_bytes().to_vec()),
    };
    let len_size = if major == 1 { 2 } else { 4 };
    let total = padded_len(body.len(), len_size);
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_size + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(total as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total as u32).to_le_bytes());
    }
    out.extend_from_slice(&body);
    out.resize(out.len() + total - body.len() - 1, b' ');
    out.push(b'\n');
    out
}

/// The header as one owned part and the data borrowed from the array (or
/// from its C-order copy when it is neither C- nor F-contiguous).
pub(crate) fn encode(obj: &Bound<'_, PyAny>) -> PyResult<Vec<crate::Part>> {
    let py = obj.py();
    let flags = obj.getattr("flags")?;
    // C first: a 1-D array is both, and numpy calls that C order.
    let (arr, fortran) = if flags.getattr("c_contiguous")?.is_truthy()? {
        (obj.clone(), false)
    } else if flags.getattr("f_contiguous")?.is_truthy()? {
        (obj.clone(), true)
    } else {
        (obj.call_method1("copy", ("C",))?, false)
    };
    let shape: Vec<u64> = arr.getattr("shape")?.extract()?;
    let nbytes: usize = arr.getattr("nbytes")?.extract()?;
    let descr = format_module(py)?
        .getattr("dtype_to_descr")?
        .call1((arr.getattr("dtype")?,))?;

    let mut header = format!(
        "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}",
        descr.repr()?.to_str()?,
        if fortran { "True" } else { "False" },
        shape_repr(&shape)
    );
    let growing = if fortran { shape.last() } else { shape.first() };
    if let Some(axis) = growing {
        header.extend(std::iter::repeat_n(
            ' ',
            GROWTH_AXIS_MAX_DIGITS.saturating_sub(axis.to_string().len()),
        ));
    }
    let head = wrap_header(&header);
    let ptr = if nbytes == 0 { 0 } else { data_address(&arr)? };
    Ok(vec![
        crate::Part::Owned(head),
        crate::Part::Borrowed {
            _owner: arr.unbind(),
            ptr,
            len: nbytes,
        },
    ])
}

fn bad(what: impl std::fmt::Display) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!("corrupt npy value: {what}"))
}

/// What an `.npy` header announces.
struct Header<'py> {
    shape: Vec<u64>,
    fortran: bool,
    dtype: Bound<'py, PyAny>,
}

/// The header of an `.npy` file, and the data that follows it.
fn read_header<'py, 'b>(py: Python<'py>, bytes: &'b [u8]) -> PyResult<(Header<'py>, &'b [u8])> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("no npy magic"))?;
    let (version, rest) = rest.split_at_checked(2).ok_or_else(|| bad("truncated"))?;
    let (len, rest) = match version {
        [1, 0] => {
            let (len, rest) = rest.split_at_checked(2).ok_or_else(|| bad("truncated"))?;
            (usize::from(u16::from_le_bytes([len[0], len[1]])), rest)
        }
        [2 | 3, 0] => {
            let (len, rest) = rest.split_at_checked(4).ok_or_else(|| bad("truncated"))?;
            (
                u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize,
                rest,
            )
        }
        [major, minor] => return Err(bad(format!("unknown version {major}.{minor}"))),
        _ => unreachable!("split at 2"),
    };
    let (header, data) = rest
        .split_at_checked(len)
        .ok_or_else(|| bad("truncated header"))?;
    let text: String = if version[0] == 3 {
        std::str::from_utf8(header)
            .map_err(|_| bad("header is not utf-8"))?
            .to_owned()
    } else {
        header.iter().map(|&b| char::from(b)).collect()
    };
    // literal_eval, not eval: the header is data, never code.
    let dict = py
        .import("ast")?
        .getattr("literal_eval")?
        .call1((PyString::new(py, &text),))
        .map_err(|err| bad(format!("unreadable header ({err})")))?;
    let dict = dict
        .cast_into::<PyDict>()
        .map_err(|_| bad("header is not a dict"))?;
    if dict.len() != 3 {
        return Err(bad("header keys"));
    }
    let field = |key: &str| {
        dict.get_item(key)?
            .ok_or_else(|| bad(format!("header has no `{key}`")))
    };
    let fortran = field("fortran_order")?
        .cast_into_exact::<PyBool>()
        .map_err(|_| bad("fortran_order is not a bool"))?
        .is_true();
    let shape = field("shape")?;
    if !shape.is_exact_instance_of::<PyTuple>() {
        return Err(bad("shape is not a tuple"));
    }
    let shape: Vec<u64> = shape
        .extract()
        .map_err(|_| bad("shape is not a tuple of sizes"))?;
    let dtype = format_module(py)?
        .getattr("descr_to_dtype")?
        .call1((field("descr")?,))
        .map_err(|err| bad(format!("bad descr ({err})")))?;
    // Raw bytes written into object pointers would crash the interpreter.
    if !has_raw_items(&dtype)? {
        return Err(bad("dtype holds Python objects"));
    }
    Ok((
        Header {
            shape,
            fortran,
            dtype,
        },
        data,
    ))
}

pub(crate) fn decode<'py>(
    py: Python<'py>,
    bytes: &[u8],
    file: Option<&std::fs::File>,
) -> PyResult<Bound<'py, PyAny>> {
    let (header, data) = read_header(py, bytes)?;
    let Header {
        shape,
        fortran,
        dtype,
    } = header;
    let itemsize: u64 = dtype.getattr("itemsize")?.extract()?;
    // numpy needs the item count to fit an intp even for 0-byte items.
    let count = shape
        .iter()
        .try_fold(1u64, |n, &dim| n.checked_mul(dim))
        .filter(|&n| n <= isize::MAX as u64)
        .ok_or_else(|| bad("shape too large"))?;
    let expected = count
        .checked_mul(itemsize)
        .ok_or_else(|| bad("shape too large"))?;
    if expected != data.len() as u64 {
        return Err(bad(format!(
            "{} data bytes where the header announces {expected}",
            data.len()
        )));
    }
    let numpy = py.import("numpy")?;
    let order = if fortran { "F" } else { "C" };
    if let Some(file) = file.filter(|_| count > 0) {
        // A view of a private mapping: no copy, pages shared with the page
        // cache until written. numpy's own header padding puts the data on a
        // 64-byte boundary of the page-aligned mapping.
        let offset = bytes.len() - data.len();
        let mapping = crate::mapping::map_private(py, file)?;
        if mapping.len()? != bytes.len() {
            return Err(bad("the mapped file changed size"));
        }
        let kwargs = PyDict::new(py);
        kwargs.set_item("dtype", &dtype)?;
        kwargs.set_item("count", count)?;
        kwargs.set_item("offset", offset)?;
        let flat = numpy
            .getattr("frombuffer")?
            .call((mapping,), Some(&kwargs))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("order", order)?;
        return flat.call_method("reshape", (PyTuple::new(py, &shape)?,), Some(&kwargs));
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", &dtype)?;
    kwargs.set_item("order", order)?;
    let arr = numpy
        .getattr("empty")?
        .call((PyTuple::new(py, &shape)?,), Some(&kwargs))
        .map_err(|err| {
            if err.is_instance_of::<pyo3::exceptions::PyValueError>(py) {
                bad(format!("unusable shape ({err})"))
            } else {
                err
            }
        })?;
    let nbytes: usize = arr.getattr("nbytes")?.extract()?;
    if nbytes != data.len() {
        return Err(bad("dtype size mismatch"));
    }
    if nbytes > 0 {
        let address = data_address(&arr)?;
        // The new array is not shared with any other code yet, so the copy
        // can run without the GIL.
        py.detach(|| {
            // SAFETY: `arr` is a fresh contiguous array of exactly
            // `data.len()` bytes, alive until this function returns.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), address as *mut u8, data.len()) }
        });
    }
    Ok(arr)
}
