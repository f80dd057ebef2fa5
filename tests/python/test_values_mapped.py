"""Values read as the cache reads them on a hit (`rote._write_value` then
`rote._read_value`: size and checksum verified, files of 1 MiB and more
mapped): large arrays come back as plain, writeable, aligned ndarrays built
on a private mapping of the blob, each load independent of the others and
of the file; a damaged file is refused; pickles in the older layout still
load."""

import pickle
import struct

import pytest
import rote

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

MAP_MIN = 1 << 20


def write_read(value, path):
    name, size, checksum = rote._write_value(value, path)
    assert path.stat().st_size == size
    return name, lambda: rote._read_value(name, path, size, checksum)


def assert_same(back, arr):
    # Like numpy.save and pickle: a strided view comes back contiguous.
    if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        arr = np.ascontiguousarray(arr)
    assert type(back) is np.ndarray
    assert back.dtype == arr.dtype and back.dtype.str == arr.dtype.str
    assert back.shape == arr.shape
    assert back.flags.c_contiguous == arr.flags.c_contiguous
    assert back.flags.f_contiguous == arr.flags.f_contiguous
    assert back.flags.writeable and back.flags.aligned
    assert back.tobytes(order="A") == arr.tobytes(order="A")
    assert repr(back) == repr(arr)


ARRAYS = {
    "c-float64": lambda: np.arange(400_000, dtype=np.float64).reshape(800, 500),
    "fortran": lambda: np.asfortranarray(
        np.arange(300_000, dtype=np.int32).reshape(600, 500)
    ),
    "strided": lambda: np.arange(1_000_000, dtype=np.float32)[::2],
    "big-endian": lambda: np.arange(300_000, dtype=">i8"),
    "structured": lambda: np.zeros(
        100_000, dtype=[("i", "<i4"), ("f", ">f8"), ("s", "S3")]
    ),
    "3-d": lambda: np.random.default_rng(1).random((64, 64, 64)),
    "datetime": lambda: np.arange(200_000).astype("datetime64[ns]"),
}


@pytest.mark.parametrize("make", ARRAYS.values(), ids=ARRAYS.keys())
def test_large_arrays_round_trip_through_a_mapping(make, tmp_path):
    arr = make()
    path = tmp_path / "blob"
    name, load = write_read(arr, path)
    assert name == "npy"
    assert path.stat().st_size >= MAP_MIN
    back = load()
    assert_same(back, arr)
    # The file is what numpy.save would have written.
    assert_same(np.load(path), arr)


def test_each_load_is_independent_and_the_file_untouched(tmp_path):
    arr = np.arange(500_000, dtype=np.int64)
    path = tmp_path / "blob"
    _, load = write_read(arr, path)
    before = path.read_bytes()
    a, b = load(), load()
    a[:] = -1
    a.sort()
    assert (b == arr).all()
    assert (load() == arr).all()
    assert path.read_bytes() == before
    # The value outlives everything that made it.
    del b
    path.unlink()
    assert (a == -1).all()


def test_damaged_files_are_refused(tmp_path):
    arr = np.arange(500_000, dtype=np.int64)
    path = tmp_path / "blob"
    _, load = write_read(arr, path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(OSError, match="checksum"):
        load()
    path.write_bytes(bytes(data[:-8]))
    with pytest.raises(OSError, match="bytes"):
        load()


def frame(n):
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "i": np.arange(n),
            "f": rng.random(n),
            "cat": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "s": pd.array([f"r{k % 97}" for k in range(n)], dtype="string"),
            "t": pd.date_range("2020-01-01", periods=n, freq="s", tz="Europe/Paris"),
        },
        index=pd.RangeIndex(n, name="row"),
    )


def test_pickled_frames_load_on_aligned_writeable_views(tmp_path):
    df = frame(200_000)
    path = tmp_path / "blob"
    name, load = write_read(df, path)
    assert name == "pickle5"
    assert path.stat().st_size >= MAP_MIN
    back = load()
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert list(back.dtypes) == list(df.dtypes)
    for block in back._mgr.blocks:
        values = getattr(block.values, "_ndarray", block.values)
        if isinstance(values, np.ndarray):
            assert values.flags.writeable and values.flags.aligned
    other = load()
    back.iloc[0, 0] = 12345
    assert other.iloc[0, 0] == 0
    assert load().iloc[0, 0] == 0


def test_small_values_are_read_not_mapped(tmp_path):
    arr = np.arange(10, dtype=np.int16)
    path = tmp_path / "blob"
    _, load = write_read(arr, path)
    back = load()
    assert_same(back, arr)
    assert back.base is None


def test_pickles_in_the_first_layout_still_load():
    arr = np.arange(1000, dtype=np.float64)
    value = {"x": arr, "y": [1, 2]}
    buffers = []
    stream = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw().tobytes() for b in buffers]
    data = b"RP5\x01" + struct.pack("<I", len(raws))
    for part in [stream, *raws]:
        data += struct.pack("<Q", len(part)) + part
    back = rote._loads("pickle5", data)
    assert back["y"] == [1, 2]
    assert (back["x"] == arr).all() and back["x"].flags.writeable
    with pytest.raises(ValueError, match="corrupt pickle5 value"):
        rote._loads("pickle5", data[:-1])


def arrow_table(pa, n):
    return pa.table(
        {
            "i": pa.array(range(n), type=pa.int64()),
            "s": pa.array([None if k % 7 == 0 else f"s{k}" for k in range(n)]),
            "l": pa.array([[k, k + 1] for k in range(n)]),
            "d": pa.array([f"c{k % 3}" for k in range(n)]).dictionary_encode(),
        },
        metadata={"origin": "test"},
    )


def test_arrow_tables_load_from_the_mapping(tmp_path):
    pa = pytest.importorskip("pyarrow")
    table = arrow_table(pa, 100_000)
    path = tmp_path / "blob"
    name, load = write_read(table, path)
    assert name == "arrow"
    assert path.stat().st_size >= MAP_MIN
    back = load()
    assert type(back) is pa.Table
    assert back.equals(table) and back.schema.metadata == table.schema.metadata
    assert rote._fingerprint(back) == rote._fingerprint(table)
    # The arrays outlive the file's name.
    path.unlink()
    assert back.column("s").to_pylist() == table.column("s").to_pylist()
    batch = table.combine_chunks().to_batches()[0]
    name, load = write_read(batch, tmp_path / "batch")
    assert type(load()) is pa.RecordBatch and load().equals(batch)


def test_arrow_values_in_the_first_layout_still_load():
    pa = pytest.importorskip("pyarrow")
    table = arrow_table(pa, 1000)
    name, data = rote._dumps(table)
    assert data[:4] == b"RAR\x02" and data[5:64] == bytes(59)
    first = b"RAR\x01" + data[4:5] + data[64:]
    assert rote._loads(name, first).equals(table)
    with pytest.raises(ValueError, match="corrupt arrow value"):
        rote._loads(name, first[:-9])
