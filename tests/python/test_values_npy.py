"""Plain numpy arrays stored as `.npy`: exact round trips (dtype, shape,
memory order, repr), files `numpy.load` reads, corrupt input refused with a
ValueError, and everything that is not a plain array left to pickle."""

import io
import os
import subprocess
import sys
import warnings

import pytest
import rote

np = pytest.importorskip("numpy")
hypothesis = pytest.importorskip("hypothesis")
nps = pytest.importorskip("hypothesis.extra.numpy")
st = hypothesis.strategies


def roundtrip(value):
    name, data = rote._dumps(value)
    return name, data, rote._loads(name, data)


def saved(arr, **kwargs):
    """What numpy.save writes for `arr`."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Format 2.0/3.0 headers come with a compatibility warning.
        warnings.simplefilter("ignore", UserWarning)
        np.save(buffer, arr, **kwargs)
    return buffer.getvalue()


def assert_same_array(back, arr, *, raw=True):
    assert type(back) is np.ndarray
    assert back.dtype == arr.dtype
    assert repr(back.dtype) == repr(arr.dtype)
    assert back.dtype.str == arr.dtype.str
    assert back.shape == arr.shape
    if raw:
        assert back.tobytes(order="C") == arr.tobytes(order="C")
    assert repr(back) == repr(arr)
    assert equal(back, arr)


def equal(a, b):
    """np.array_equal with NaN equal to NaN, field by field if need be."""
    if a.dtype.names:
        return all(equal(a[name], b[name]) for name in a.dtype.names)
    return np.array_equal(a, b, equal_nan=a.dtype.kind in "fcmM")


def _structured():
    dtype = np.dtype([("i", "<i4"), ("f", ">f8"), ("s", "S2"), ("u", "<U3")])
    return np.array([(1, 2.5, b"ab", "xyz"), (-7, np.nan, b"", "ü")], dtype=dtype)


def _nested():
    dtype = np.dtype([("pos", "<f4", (3,)), ("meta", [("id", "<u8"), ("ok", "?")])])
    arr = np.zeros(4, dtype=dtype)
    arr["pos"] = np.arange(12, dtype="f4").reshape(4, 3)
    arr["meta"]["id"] = [1, 2, 2**63, 2**64 - 1]
    arr["meta"]["ok"][::2] = True
    return arr


def _read_only():
    arr = np.arange(5)
    arr.flags.writeable = False
    return arr


CASES = {
    "empty": lambda: np.array([], dtype=np.float64),
    "empty_2d": lambda: np.zeros((0, 3), dtype=np.int16),
    "empty_fortran": lambda: np.zeros((3, 0, 2), order="F"),
    "zero_d": lambda: np.array(3.5),
    "zero_d_structured": lambda: np.array((1, 2.0), dtype=[("a", "<i4"), ("b", "<f8")]),
    "fortran": lambda: np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "fortran_3d": lambda: np.asfortranarray(
        np.arange(24, dtype=np.int8).reshape(2, 3, 4)
    ),
    "big_endian_f8": lambda: np.arange(5, dtype=">f8") / 3,
    "big_endian_i2": lambda: np.arange(-3, 3, dtype=">i2"),
    "structured": _structured,
    "nested_structured": _nested,
    "titles": lambda: np.zeros(2, dtype=[(("Title", "t"), "<i4")]),
    "offsets": lambda: np.zeros(
        2, dtype={"names": ["a"], "formats": ["<i4"], "offsets": [4], "itemsize": 12}
    ),
    "datetime_nat": lambda: np.array(
        ["2020-01-01T00:00:00.123456789", "NaT", "1969-12-31"], dtype="M8[ns]"
    ),
    "datetime_days": lambda: np.arange("2020-01", "2020-03", dtype="M8[D]"),
    "timedelta": lambda: np.array(
        [np.timedelta64(1, "s"), np.timedelta64(-2, "s"), np.timedelta64("NaT", "ms")],
        dtype="m8[ms]",
    ),
    "unicode": lambda: np.array(["a", "hello", "ü€", ""], dtype="<U5"),
    "unicode_big_endian": lambda: np.array(["ab", "c"], dtype=">U2"),
    "bytes": lambda: np.array([b"ab", b"xyz", b"", b"\x00\xff"], dtype="S3"),
    "void": lambda: np.array([b"\x01\x02\x03\x04"] * 3, dtype="V4"),
    "bool": lambda: np.array([[True, False], [False, True]]),
    "complex128": lambda: np.array(
        [1 + 2j, complex(np.nan, 1), complex(-0.0, -np.inf)]
    ),
    "complex64": lambda: np.arange(6, dtype=np.complex64).reshape(2, 3) * 1j,
    "floats_special": lambda: np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324]),
    "float16": lambda: np.linspace(-2, 2, 7, dtype=np.float16),
    "longdouble": lambda: np.array([1.5, -np.inf], dtype=np.longdouble) / 7,
    "int_extremes": lambda: np.array(
        [np.iinfo(np.int64).min, -1, np.iinfo(np.int64).max]
    ),
    "uint64": lambda: np.array([0, 2**64 - 1], dtype=np.uint64),
    "slice": lambda: np.arange(20.0).reshape(4, 5)[::2, 1::2],
    "reversed": lambda: np.arange(10)[::-1],
    "transposed_3d": lambda: np.arange(24).reshape(2, 3, 4).transpose(1, 0, 2),
    "read_only": _read_only,
    "huge_3d": lambda: np.random.default_rng(7).standard_normal((32, 512, 512)),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    return CASES[request.param]()


def test_round_trip_is_exact(case):
    name, _, back = roundtrip(case)
    assert name == "npy"
    assert_same_array(back, case)
    assert back.flags.writeable
    assert back.flags.owndata
    if case.flags.c_contiguous:
        assert back.flags.c_contiguous
    elif case.flags.f_contiguous:
        assert back.flags.f_contiguous
        assert not back.flags.c_contiguous
    else:
        # Any other layout is stored (and comes back) in C order.
        assert back.flags.c_contiguous


def test_numpy_reads_it_and_writes_the_same_bytes(case):
    name, data = rote._dumps(case)
    assert name == "npy"
    assert data == saved(case)
    # numpy.load leaves padding bytes between fields uninitialized.
    assert_same_array(np.load(io.BytesIO(data)), case, raw=False)


def test_long_headers_use_format_2():
    dtype = np.dtype([(f"field_{i:05d}", "<f8") for i in range(3000)])
    arr = np.zeros(2, dtype=dtype)
    arr["field_01234"] = [1.5, 2.5]
    name, data, back = roundtrip(arr)
    assert name == "npy"
    assert data[6:8] == b"\x02\x00"
    assert data == saved(arr)
    assert_same_array(back, arr)
    assert_same_array(np.load(io.BytesIO(data), max_header_size=2**20), arr)


def test_non_latin1_field_names_use_format_3():
    arr = np.array([(1, 2.0)], dtype=[("π", "<i4"), ("名前", "<f8")])
    name, data, back = roundtrip(arr)
    assert name == "npy"
    assert data[6:8] == b"\x03\x00"
    assert data == saved(arr)
    assert_same_array(back, arr)
    assert_same_array(np.load(io.BytesIO(data)), arr)


def test_data_starts_on_a_64_byte_boundary():
    _, data = rote._dumps(np.arange(3))
    header_len = int.from_bytes(data[8:10], "little")
    assert (10 + header_len) % 64 == 0
    assert data[10 + header_len - 1 : 10 + header_len] == b"\n"


@st.composite
def layouts(draw, arrays):
    arr = draw(arrays)
    layout = draw(st.sampled_from(["C", "F", "strided", "reversed"]))
    if layout == "F":
        return np.asfortranarray(arr)
    if layout == "strided" and arr.ndim:
        return np.repeat(arr, 2, axis=0)[::2]
    if layout == "reversed" and arr.ndim:
        return arr[::-1]
    return arr


def _dtypes():
    scalar = st.one_of(
        nps.scalar_dtypes(),
        nps.byte_string_dtypes(max_len=4),
        nps.unicode_string_dtypes(max_len=4),
    )
    return st.one_of(
        scalar,
        nps.array_dtypes(scalar, max_size=4, allow_subarrays=True),
    )


@hypothesis.settings(database=None, deadline=None, max_examples=300)
@hypothesis.given(
    layouts(
        nps.arrays(
            _dtypes(), nps.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
        )
    )
)
def test_round_trip_random_arrays(arr):
    name, data, back = roundtrip(arr)
    if name != "npy":
        # Dtypes whose descr does not give them back exactly go to pickle.
        assert name == "pickle5"
    else:
        assert np.load(io.BytesIO(data)).tobytes() == arr.tobytes()
    assert type(back) is np.ndarray
    assert back.dtype == arr.dtype
    assert repr(back.dtype) == repr(arr.dtype)
    assert back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()
    assert back.flags.writeable


def test_simple_dtypes_always_take_npy():
    for code in ["?", *"bBhHiIlLqQefdgFDG", "S3", "U3", "V3", "M8[us]", "m8[D]"]:
        for order in "<>=|":
            arr = np.zeros(3, dtype=np.dtype(order + code))
            assert rote._dumps(arr)[0] == "npy", arr.dtype


def _memmap(tmp_path):
    arr = np.memmap(tmp_path / "m.dat", dtype="<f8", mode="w+", shape=(3,))
    arr[:] = [1.0, 2.0, 3.0]
    return arr


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize(
    "make",
    [
        lambda tmp: np.matrix([[1, 2], [3, 4]]),
        lambda tmp: np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False]),
        _memmap,
        lambda tmp: np.rec.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
        lambda tmp: np.array([1, "a", None], dtype=object),
        lambda tmp: np.zeros(2, dtype=[("a", "<i4"), ("o", "O")]),
        lambda tmp: np.zeros(2, dtype=np.dtype("<f8", metadata={"unit": "m"})),
        lambda tmp: np.zeros(
            2, dtype=np.dtype([("a", "u1"), ("b", "<f8")], align=True)
        ),
        lambda tmp: np.array(["x", "yz"], dtype=np.dtypes.StringDType()),
        lambda tmp: np.zeros(
            2, dtype={"names": ["a", "b"], "formats": ["<i4", "<i4"], "offsets": [4, 0]}
        ),
    ],
    ids=[
        "matrix",
        "masked",
        "memmap",
        "recarray",
        "object",
        "object_field",
        "metadata",
        "aligned",
        "stringdtype",
        "out_of_order_fields",
    ],
)
def test_what_is_not_plain_goes_to_pickle_and_keeps_its_type(make, tmp_path):
    value = make(tmp_path)
    name, _, back = roundtrip(value)
    assert name == "pickle5"
    assert type(back) is type(value)
    assert back.dtype == value.dtype
    assert repr(back.dtype) == repr(value.dtype)
    assert back.dtype.metadata == value.dtype.metadata
    assert repr(back) == repr(value)
    if isinstance(value, np.ma.MaskedArray):
        assert np.array_equal(back.mask, value.mask)


@pytest.mark.parametrize(
    "value",
    [
        np.float32(1.5),
        np.float64(2.5),
        np.int64(3),
        np.uint8(255),
        np.bool_(True),
        np.complex64(1 + 2j),
        np.datetime64("2020-01-01T12:00", "m"),
        np.datetime64("NaT", "ns"),
        np.timedelta64(5, "D"),
        np.str_("abc"),
        np.bytes_(b"ab"),
        np.longdouble(1) / 3,
    ],
    ids=repr,
)
def test_numpy_scalars_keep_their_type(value):
    name, _, back = roundtrip(value)
    assert name == "pickle5"
    assert type(back) is type(value)
    assert repr(back) == repr(value)
    assert np.array_equal(
        np.asarray(back), np.asarray(value), equal_nan=value.dtype.kind in "mM"
    )


def test_plain_values_do_not_import_numpy():
    code = (
        "import sys, rote\n"
        "assert 'numpy' not in sys.modules\n"
        "for v in ([1, 2.0], {'a': (b'x', None)}, object(), 3):\n"
        "    rote._loads(*rote._dumps(v))\n"
        "    rote._fingerprint(v)\n"
        "print('numpy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    assert out.stdout.strip() == "False"


def _good():
    return rote._dumps(np.arange(6, dtype="<i4").reshape(2, 3))[1]


def _with_header(text, data=b"\x00" * 24):
    text = text.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    header = text + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


CORRUPT = {
    "empty": b"",
    "magic": b"\x93NUMPZ" + _good()[6:],
    "version": _good()[:6] + b"\x04\x00" + _good()[8:],
    "truncated_magic": _good()[:7],
    "truncated_length": _good()[:9],
    "truncated_header": _good()[:40],
    "truncated_data": _good()[:-1],
    "extra_data": _good() + b"\x00",
    "not_a_dict": _with_header("[1, 2]"),
    "missing_key": _with_header("{'descr': '<i4', 'shape': (6,), }"),
    "extra_key": _with_header(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), 'x': 1, }"
    ),
    "code": _with_header(
        "{'descr': __import__('os').getcwd(), 'fortran_order': False, 'shape': (6,), }"
    ),
    "syntax": _with_header("{'descr': '<i4', 'fortran_order': False, 'shape': (6,"),
    "object_dtype": _with_header(
        "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"
    ),
    "object_field": _with_header(
        "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (3,), }"
    ),
    "bad_descr": _with_header(
        "{'descr': '<q9', 'fortran_order': False, 'shape': (6,), }"
    ),
    "negative_shape": _with_header(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (-6,), }"
    ),
    "list_shape": _with_header(
        "{'descr': '<i4', 'fortran_order': False, 'shape': [6], }"
    ),
    "float_shape": _with_header(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (6.0,), }"
    ),
    "int_order": _with_header("{'descr': '<i4', 'fortran_order': 0, 'shape': (6,), }"),
    "overflowing_shape": _with_header(
        f"{{'descr': '<i4', 'fortran_order': False, 'shape': ({2**62}, {2**62}), }}"
    ),
    "too_many_empty_items": _with_header(
        f"{{'descr': [], 'fortran_order': False, 'shape': ({2**63}, {2**63}), }}", b""
    ),
    "dimension_over_intp": _with_header(
        f"{{'descr': [], 'fortran_order': False, 'shape': ({2**63},), }}", b""
    ),
    "huge_shape": _with_header(
        f"{{'descr': '<i4', 'fortran_order': False, 'shape': ({10**30},), }}"
    ),
    "huge_subarray": _with_header(
        f"{{'descr': [('a', '<i4', ({2**40}, {2**40}))], 'fortran_order': False, 'shape': (3,), }}"
    ),
    "wrong_size": _with_header(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }"
    ),
    "bad_utf8": b"\x93NUMPY\x03\x00"
    + (64 - 12).to_bytes(4, "little")
    + b"\xff" * 51
    + b"\n",
}


@pytest.mark.parametrize("data", list(CORRUPT.values()), ids=list(CORRUPT))
def test_corrupt_input_raises_value_error(data):
    with pytest.raises(ValueError, match="corrupt npy value"):
        rote._loads("npy", data)


@hypothesis.settings(database=None, deadline=None, max_examples=300)
@hypothesis.given(st.data())
def test_damaged_bytes_never_crash(data):
    good = rote._dumps(np.array([(1, 2.5)], dtype=[("a", "<i4"), ("b", ">f8")]))[1]
    damaged = bytearray(good)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    damaged = bytes(damaged[: data.draw(st.integers(0, len(damaged)))])
    try:
        back = rote._loads("npy", damaged)
    except ValueError as err:
        assert "corrupt npy value" in str(err)
    else:
        assert type(back) is np.ndarray
