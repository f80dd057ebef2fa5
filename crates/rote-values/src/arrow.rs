//! pyarrow tables and record batches, and polars frames, as Arrow IPC
//! streams: the format every Arrow implementation reads, written and read
//! here by `arrow-ipc`, so that a stored table is neither pickled nor tied to
//! pyarrow's or polars' version.
//!
//! The columns cross between Python and Rust through the Arrow C stream
//! interface (`__arrow_c_stream__` and a PyCapsule named
//! `arrow_array_stream`), which shares buffers instead of copying them and
//! needs no `pyarrow` feature on the Rust side; polars frames come back
//! through `polars.DataFrame` of an object offering that interface, so
//! pyarrow need not be installed for them. A frame goes to pickle instead
//! when a frame of no rows made from the stored schema would not have its
//! polars schema (a `Null` column, say, which arrow-rs refuses).
//!
//! Layout: `RAR\x02`, one kind byte (`T` for `pyarrow.Table`, `B` for
//! `pyarrow.RecordBatch`, `P` for `polars.DataFrame`: the same class comes
//! back), zeros up to byte 64,
//! then the IPC stream, whose buffers arrow-rs aligns to 64 bytes: read from
//! a mapped blob, the arrays are views of the mapping, not copies. (Values
//! written as `RAR\x01`, with the stream right after the kind byte, are
//! still read, by copy.) A table's chunking may come back different; its
//! schema, metadata included, and its values do not.
//!
//! pandas frames are not sent here: measured on a 1M-row, 9-column frame of
//! mixed dtypes (ints, floats, bool, tz datetimes, timedeltas, an ordered
//! category, nullable Int64, string), `Table.from_pandas` + IPC +
//! `to_pandas` round-trips exactly but took about 3x as long to save and 9x
//! as long to load as `pickle.dumps(df, protocol=5)` / `loads`; the two
//! pandas conversions alone cost more than pickle's load. So frames stay on
//! pickle, which is exact for every dtype.
//!
//! Tables and frames are faster this way than through pickle: measured on
//! 1M rows of float, int, bool, dictionary, timestamp and string columns
//! (`bench/serialize.py`), saving a pyarrow table takes about a third of
//! `pickle.dumps`' time and loading it from a mapped blob about three
//! quarters of `pickle.loads`' (the arrays are views of the page cache;
//! what remains is reading and validating the stream's metadata and
//! offsets); a polars frame about 0.4 and 0.2 of pickle's (polars' own
//! serialization) times.

use std::ffi::CStr;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::ArrowError;
use arrow_schema::ffi::FFI_ArrowSchema;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

const MAGIC_V1: &[u8; 4] = b"RAR\x01";
const MAGIC: &[u8; 4] = b"RAR\x02";
/// Where the IPC stream starts in a value.
const HEADER_LEN: usize = 64;
const STREAM_CAPSULE: &CStr = c"arrow_array_stream";
const SCHEMA_CAPSULE: &CStr = c"arrow_schema";

/// Which pyarrow class a stored stream is given back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Table,
    RecordBatch,
    PolarsFrame,
    /// Stored as the one-column frame `to_frame()` makes.
    PolarsSeries,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Table => b'T',
            Kind::RecordBatch => b'B',
            Kind::PolarsFrame => b'P',
            Kind::PolarsSeries => b'S',
        }
    }

    fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            b'T' => Some(Kind::Table),
            b'B' => Some(Kind::RecordBatch),
            b'P' => Some(Kind::PolarsFrame),
            b'S' => Some(Kind::PolarsSeries),
            _ => None,
        }
    }
}

/// The kind of `obj` if its exact type is `pyarrow.Table` or
/// `pyarrow.RecordBatch`. Asks the type, never imports pyarrow: a process
/// that has not imported it cannot hold a table.
pub(crate) fn kind(obj: &Bound<'_, PyAny>) -> PyResult<Option<Kind>> {
    let ty = obj.get_type();
    let module: String = ty.getattr("__module__")?.extract().unwrap_or_default();
    if !matches!(
        module.as_str(),
        "pyarrow.lib" | "polars.dataframe.frame" | "polars.series.series"
    ) {
        return Ok(None);
    }
    let name: String = ty.getattr("__qualname__")?.extract().unwrap_or_default();
    Ok(match (module.as_str(), name.as_str()) {
        ("pyarrow.lib", "Table") => Some(Kind::Table),
        ("pyarrow.lib", "RecordBatch") => Some(Kind::RecordBatch),
        ("polars.dataframe.frame", "DataFrame") => Some(Kind::PolarsFrame),
        ("polars.series.series", "Series") => Some(Kind::PolarsSeries),
        _ => None,
    })
}

fn bad(what: &str) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!("corrupt arrow value: {what}"))
}

/// What holds the columns of a value of `kind`: the value, or the
/// one-column frame a polars Series makes.
fn stream_source<'py>(obj: &Bound<'py, PyAny>, kind: Kind) -> PyResult<Bound<'py, PyAny>> {
    match kind {
        Kind::PolarsSeries => obj.call_method0("to_frame"),
        Kind::Table | Kind::RecordBatch | Kind::PolarsFrame => Ok(obj.clone()),
    }
}

/// The value's header and its IPC stream, or `None` when it would not come
/// back exactly (a type or a piece of metadata that arrow-rs does not carry
/// through): such a value is left to pickle, which keeps it whole.
pub(crate) fn encode(obj: &Bound<'_, PyAny>, kind: Kind) -> PyResult<Option<(Vec<u8>, Vec<u8>)>> {
    let source = stream_source(obj, kind)?;
    let written = import(&source)?.and_then(|(schema, batches)| {
        // Imported batches share the exporter's buffers, so holding them
        // all is cheap; their size lets the output be allocated once:
        // growing a large Vec by doubling costs a copy and fresh pages at
        // every step.
        let size: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
        let mut writer = StreamWriter::try_new(Vec::with_capacity(size + 4096), &schema)?;
        for batch in &batches {
            writer.write(batch)?;
        }
        writer.into_inner()
    });
    let ipc = match written {
        Ok(ipc) => ipc,
        Err(err) => {
            tracing::debug!(error = %err, "arrow value not written as IPC");
            return Ok(None);
        }
    };
    let exact = match kind {
        Kind::PolarsFrame | Kind::PolarsSeries => polars_schema_round_trips(&source, &ipc)?,
        Kind::Table | Kind::RecordBatch => schema_round_trips(obj, &ipc)?,
    };
    if !exact {
        return Ok(None);
    }
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(kind.byte());
    header.resize(HEADER_LEN, 0);
    Ok(Some((header, ipc)))
}

/// Whether the schema a reader finds in `ipc` equals `obj`'s, metadata
/// included, as pyarrow compares them. Reads only the schema message, so it
/// is cheap; it catches what arrow-rs drops on the way (a flag, a type it
/// maps to another) before anything is stored.
fn schema_round_trips(obj: &Bound<'_, PyAny>, ipc: &[u8]) -> PyResult<bool> {
    let py = obj.py();
    let schema = match StreamReader::try_new(Cursor::new(ipc), None) {
        Ok(reader) => reader.schema(),
        Err(_) => return Ok(false),
    };
    let Ok(ffi) = FFI_ArrowSchema::try_from(schema.as_ref()) else {
        return Ok(false);
    };
    let capsule = PyCapsule::new_with_value(py, ffi, SCHEMA_CAPSULE)?;
    let back = py
        .import("pyarrow")?
        .getattr("Schema")?
        .call_method1("_import_from_c_capsule", (capsule,))?;
    let ours = obj.getattr("schema")?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("check_metadata", true)?;
    let equal = ours
        .call_method("equals", (back,), Some(&kwargs))?
        .is_truthy()?;
    if !equal {
        tracing::debug!("arrow schema does not survive IPC; value left to pickle");
    }
    Ok(equal)
}

/// Every message of the stream and every buffer of its batches lie inside
/// the bytes, buffers on the 64-byte boundaries our writer puts them on.
/// arrow-ipc checks the messages and validates the arrays it builds, but
/// slices buffers out of a body before that and panics (it does not fail)
/// when a corrupt offset or length points outside it.
fn check_layout(ipc: &[u8]) -> Result<(), String> {
    let truncated = || "truncated IPC stream".to_owned();
    let mut rest = ipc;
    while !rest.is_empty() {
        let (word, tail) = rest.split_at_checked(4).ok_or_else(truncated)?;
        // A continuation marker precedes the length since Arrow 0.15.
        let (word, tail) = if word == [0xff; 4] {
            tail.split_at_checked(4).ok_or_else(truncated)?
        } else {
            (word, tail)
        };
        let len = i32::from_le_bytes(word.try_into().expect("4 bytes"));
        if len == 0 {
            return Ok(()); // end of stream
        }
        let len = usize::try_from(len).map_err(|_| "message length".to_owned())?;
        let (meta, tail) = tail.split_at_checked(len).ok_or_else(truncated)?;
        let message = arrow_ipc::root_as_message(meta).map_err(|e| e.to_string())?;
        let body_len =
            usize::try_from(message.bodyLength()).map_err(|_| "body length".to_owned())?;
        let (_, tail) = tail.split_at_checked(body_len).ok_or_else(truncated)?;
        let batch = match message.header_type() {
            arrow_ipc::MessageHeader::RecordBatch => message.header_as_record_batch(),
            arrow_ipc::MessageHeader::DictionaryBatch => message
                .header_as_dictionary_batch()
                .and_then(|dict| dict.data()),
            _ => None,
        };
        for buffer in batch.and_then(|b| b.buffers()).into_iter().flatten() {
            let (Ok(offset), Ok(length)) = (
                usize::try_from(buffer.offset()),
                usize::try_from(buffer.length()),
            ) else {
                return Err("buffer bounds".to_owned());
            };
            let inside = offset
                .checked_add(length)
                .is_some_and(|end| end <= body_len);
            if !inside || offset % 64 != 0 {
                return Err("buffer bounds".to_owned());
            }
        }
        rest = tail;
    }
    Ok(())
}

thread_local! {
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `read`, turning a panic into an error. The process's panic hook
/// reports every panic as a bug in rote; a corrupt stored value is not one,
/// so the hook is wrapped (once) to stay silent on this thread meanwhile.
fn quiet_panics<T>(read: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static WRAP: std::sync::Once = std::sync::Once::new();
    WRAP.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(|quiet| quiet.get()) {
                previous(info);
            }
        }));
    });
    QUIET.with(|quiet| quiet.set(true));
    let result = catch_unwind(AssertUnwindSafe(read));
    QUIET.with(|quiet| quiet.set(false));
    result.unwrap_or_else(|payload| {
        let why = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("panic");
        Err(format!("unreadable IPC stream ({why})"))
    })
}

/// The batches of a pyarrow object, shared with pyarrow through the C stream
/// interface (no copy).
fn import(
    obj: &Bound<'_, PyAny>,
) -> PyResult<Result<(arrow_schema::SchemaRef, Vec<RecordBatch>), ArrowError>> {
    let py = obj.py();
    let capsule = obj
        .call_method1("__arrow_c_stream__", (py.None(),))?
        .cast_into::<PyCapsule>()?;
    let ptr = capsule.pointer_checked(Some(STREAM_CAPSULE))?;
    // SAFETY: the capsule named `arrow_array_stream` holds an
    // `ArrowArrayStream` (the C stream interface); `from_raw` moves it out
    // and marks the capsule's copy released, so the capsule's own destructor
    // leaves it alone.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(ptr.as_ptr().cast()) };
    Ok((|| {
        let reader = RecordBatchStreamReader::try_new(stream)?;
        let schema = reader.schema();
        let batches = reader.collect::<Result<Vec<_>, _>>()?;
        Ok((schema, batches))
    })())
}

/// What a pyarrow table or record batch holds, hashed so that equal content
/// gives equal digests however it is laid out: the schema (names, types,
/// nullability, metadata in key order), the row count, then each column with
/// its chunks joined and rebuilt from offset 0 (`MutableArrayData`), which
/// drops validity bitmaps that mark nothing null, re-bases offsets and
/// copies only the rows in use. Values under null slots are hashed as they
/// lie: two tables differing only there get different digests, a needless
/// miss but never a wrong hit. `None` when arrow-rs cannot take the value
/// apart; the caller then falls back to its pickle.
pub(crate) fn digest(obj: &Bound<'_, PyAny>, kind: Kind) -> PyResult<Option<[u8; 32]>> {
    let (schema, batches) = match import(&stream_source(obj, kind)?)? {
        Ok(imported) => imported,
        Err(err) => {
            tracing::debug!(error = %err, "arrow value not imported for its fingerprint");
            return Ok(None);
        }
    };
    let hashed = quiet_panics(|| {
        let mut h = blake3::Hasher::new();
        h.update(b"arrow v1\n");
        h.update(&[kind.byte()]);
        put_metadata(&mut h, schema.metadata());
        put_count(&mut h, schema.fields().len());
        for field in schema.fields() {
            put_field(&mut h, field);
        }
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        put_count(&mut h, rows);
        for column in 0..schema.fields().len() {
            let chunks: Vec<arrow_data::ArrayData> =
                batches.iter().map(|b| b.column(column).to_data()).collect();
            let mut joined =
                arrow_data::transform::MutableArrayData::new(chunks.iter().collect(), false, rows);
            for (i, chunk) in chunks.iter().enumerate() {
                joined
                    .try_extend(i, 0, chunk.len())
                    .map_err(|e| e.to_string())?;
            }
            put_array(&mut h, &joined.freeze());
        }
        Ok(*h.finalize().as_bytes())
    });
    match hashed {
        Ok(digest) => Ok(Some(digest)),
        Err(err) => {
            tracing::debug!(error = %err, "arrow value not digested");
            Ok(None)
        }
    }
}

fn put_count(h: &mut blake3::Hasher, n: usize) {
    h.update(&(n as u64).to_le_bytes());
}

fn put_str(h: &mut blake3::Hasher, s: &str) {
    put_count(h, s.len());
    h.update(s.as_bytes());
}

/// Metadata in key order (arrow-rs keeps it sorted).
fn put_metadata(h: &mut blake3::Hasher, metadata: &arrow_schema::Metadata) {
    put_count(h, metadata.len());
    for (k, v) in metadata {
        put_str(h, k);
        put_str(h, v);
    }
}

fn put_field(h: &mut blake3::Hasher, field: &arrow_schema::Field) {
    use arrow_schema::DataType as T;
    put_str(h, field.name());
    h.update(&[u8::from(field.is_nullable())]);
    put_metadata(h, field.metadata());
    let dt = field.data_type();
    // Nested types through their fields, hashed the same way; the rest by
    // their `Debug` text, which names the type and every parameter (unit,
    // time zone, width, ...).
    let children: Vec<&arrow_schema::Field> = match dt {
        T::List(f) | T::LargeList(f) | T::ListView(f) | T::LargeListView(f) | T::Map(f, _) => {
            vec![f]
        }
        T::FixedSizeList(f, _) => vec![f],
        T::Struct(fields) => fields.iter().map(|f| f.as_ref()).collect(),
        _ => Vec::new(),
    };
    let shape = match dt {
        T::List(_) => "List".to_owned(),
        T::LargeList(_) => "LargeList".to_owned(),
        T::ListView(_) => "ListView".to_owned(),
        T::LargeListView(_) => "LargeListView".to_owned(),
        T::Map(_, sorted) => format!("Map({sorted})"),
        T::FixedSizeList(_, n) => format!("FixedSizeList({n})"),
        T::Struct(_) => "Struct".to_owned(),
        other => format!("{other:?}"),
    };
    put_str(h, &shape);
    put_count(h, children.len());
    for child in children {
        put_field(h, child);
    }
}

fn put_array(h: &mut blake3::Hasher, data: &arrow_data::ArrayData) {
    put_count(h, data.len());
    put_count(h, data.offset());
    put_count(h, data.null_count());
    match data.nulls().filter(|n| n.null_count() > 0) {
        Some(nulls) => {
            h.update(&[1]);
            for valid in nulls.iter() {
                h.update(&[u8::from(valid)]);
            }
        }
        None => {
            h.update(&[0]);
        }
    }
    put_count(h, data.buffers().len());
    for buffer in data.buffers() {
        put_count(h, buffer.len());
        if buffer.len() >= 1 << 20 {
            h.update_rayon(buffer.as_slice());
        } else {
            h.update(buffer.as_slice());
        }
    }
    put_count(h, data.child_data().len());
    for child in data.child_data() {
        put_array(h, child);
    }
}

/// Whether a polars frame made from `ipc`'s schema has `obj`'s schema (what
/// polars calls its dtypes: an `Enum`'s categories, a time zone, a
/// decimal's scale), checked on a frame of no rows.
fn polars_schema_round_trips(obj: &Bound<'_, PyAny>, ipc: &[u8]) -> PyResult<bool> {
    let py = obj.py();
    let schema = match StreamReader::try_new(Cursor::new(ipc), None) {
        Ok(reader) => reader.schema(),
        Err(_) => return Ok(false),
    };
    let empty = match to_polars(py, schema, Vec::new()) {
        Ok(frame) => frame,
        Err(err) => {
            tracing::debug!(%err, "polars cannot read its frame back from Arrow; value left to pickle");
            return Ok(false);
        }
    };
    let equal = empty.getattr("schema")?.eq(obj.getattr("schema")?)?;
    if !equal {
        tracing::debug!("polars schema does not survive IPC; value left to pickle");
    }
    Ok(equal)
}

/// An object with `__arrow_c_stream__`, handing out one stream: how polars
/// (which takes any such object) receives batches without pyarrow.
#[pyclass(module = "rote", name = "_ArrowStream")]
struct StreamExport {
    stream: Option<Py<PyCapsule>>,
}

#[pymethods]
impl StreamExport {
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__(
        &mut self,
        requested_schema: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyCapsule>> {
        let _ = requested_schema; // the stream is what was stored
        self.stream
            .take()
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("stream already consumed"))
    }
}

fn stream_capsule<'py>(
    py: Python<'py>,
    schema: arrow_schema::SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Bound<'py, PyCapsule>> {
    let batches = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
    let stream = FFI_ArrowArrayStream::new(Box::new(batches));
    // Dropping the capsule drops the stream, which releases it unless the
    // importer has moved it out (and then releases it itself).
    PyCapsule::new_with_value(py, stream, STREAM_CAPSULE)
}

fn to_polars<'py>(
    py: Python<'py>,
    schema: arrow_schema::SchemaRef,
    batches: Vec<RecordBatch>,
) -> PyResult<Bound<'py, PyAny>> {
    let export = StreamExport {
        stream: Some(stream_capsule(py, schema, batches)?.unbind()),
    };
    py.import("polars")?
        .getattr("DataFrame")?
        .call1((Bound::new(py, export)?,))
}

/// The batches of the IPC stream `ipc`, held in `buffer`, all validated:
/// bytes that are not a stream we wrote give an error, never a crash.
/// Arrays are slices of `buffer` where their data is aligned (always, in
/// `RAR\x02` streams), so a buffer over a mapping gives arrays over the
/// mapping.
fn decode_batches(
    ipc: &[u8],
    mut buffer: arrow_buffer::Buffer,
) -> Result<(arrow_schema::SchemaRef, Vec<RecordBatch>), String> {
    check_layout(ipc)?;
    // What `check_layout` cannot see without the types (a length that is
    // not a whole number of values, say) still makes arrow-rs panic: that
    // panic must not take the interpreter down.
    quiet_panics(|| {
        let mut decoder = arrow_ipc::reader::StreamDecoder::new();
        let mut batches = Vec::new();
        while let Some(batch) = decoder.decode(&mut buffer).map_err(|e| e.to_string())? {
            batches.push(batch);
        }
        decoder.finish().map_err(|e| e.to_string())?;
        let schema = decoder
            .schema()
            .ok_or_else(|| "IPC stream without a schema".to_owned())?;
        Ok((schema, batches))
    })
}

/// A verified blob file mapped read-only: Arrow arrays are immutable, so
/// they can share the page cache's pages.
struct Mapped(memmap2::Mmap);

impl std::panic::RefUnwindSafe for Mapped {}

pub(crate) fn decode<'py>(
    py: Python<'py>,
    bytes: &[u8],
    file: Option<&std::fs::File>,
) -> PyResult<Bound<'py, PyAny>> {
    let (kind, ipc, mappable) = if let Some(rest) = bytes.strip_prefix(MAGIC_V1) {
        let (&kind, ipc) = rest.split_first().ok_or_else(|| bad("truncated"))?;
        (kind, ipc, false)
    } else if bytes.starts_with(MAGIC) {
        let kind = *bytes.get(MAGIC.len()).ok_or_else(|| bad("truncated"))?;
        let ipc = bytes.get(HEADER_LEN..).ok_or_else(|| bad("truncated"))?;
        (kind, ipc, true)
    } else {
        return Err(bad("no header"));
    };
    let buffer = match file.filter(|_| mappable) {
        Some(file) => {
            // SAFETY: blob files are never written or truncated in place
            // (see `decode` in lib.rs).
            let map = Arc::new(Mapped(unsafe { memmap2::Mmap::map(file) }?));
            if map.0.len() != bytes.len() {
                return Err(bad("the mapped file changed size"));
            }
            let start = map.0.as_ptr().wrapping_add(HEADER_LEN);
            let ptr = std::ptr::NonNull::new(start.cast_mut()).ok_or_else(|| bad("mapping"))?;
            // SAFETY: `ptr` points `ipc.len()` bytes into the mapping, which
            // the buffer's owner (`map`) keeps alive.
            unsafe { arrow_buffer::Buffer::from_custom_allocation(ptr, ipc.len(), map) }
        }
        // A copy, aligned wherever the stream sat in `bytes`.
        None => arrow_buffer::Buffer::from(ipc.to_vec()),
    };
    let (schema, batches) = decode_batches(ipc, buffer).map_err(|e| bad(&e))?;
    let kind = Kind::from_byte(kind).ok_or_else(|| bad("kind"))?;
    if kind == Kind::RecordBatch && batches.len() != 1 {
        return Err(bad("record batch count"));
    }
    match kind {
        Kind::PolarsFrame => return to_polars(py, schema, batches),
        Kind::PolarsSeries => {
            if schema.fields().len() != 1 {
                return Err(bad("series column count"));
            }
            return to_polars(py, schema, batches)?.call_method1("to_series", (0,));
        }
        Kind::Table | Kind::RecordBatch => {}
    }
    let capsule = stream_capsule(py, schema, batches)?;
    let reader = py
        .import("pyarrow")?
        .getattr("RecordBatchReader")?
        .call_method1("_import_from_c_capsule", (capsule,))?;
    match kind {
        Kind::RecordBatch => reader.call_method0("read_next_batch"),
        Kind::Table | Kind::PolarsFrame | Kind::PolarsSeries => reader.call_method0("read_all"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_bytes_round_trip() {
        for kind in [
            Kind::Table,
            Kind::RecordBatch,
            Kind::PolarsFrame,
            Kind::PolarsSeries,
        ] {
            assert_eq!(Kind::from_byte(kind.byte()), Some(kind));
        }
        assert_eq!(Kind::from_byte(b'x'), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for ipc in [
            &b""[..],
            b"\xff\xff\xff\xff\x10\x00\x00\x00garbage",
            &[0u8; 64],
        ] {
            let _ = decode_batches(ipc, arrow_buffer::Buffer::from(ipc.to_vec()));
        }
    }
}
