"""pyarrow tables and record batches stored as Arrow IPC: exact round trips
(schema, metadata and values), the same class back, corrupt bytes refused
with ValueError; and pandas frames, which stay on pickle."""

import datetime
import decimal
import random

import pytest
import rote

pa = pytest.importorskip("pyarrow")


def roundtrip(value):
    name, data = rote._dumps(value)
    return name, rote._loads(name, data)


def many_types_table():
    n = 5
    return pa.table(
        {
            "i8": pa.array([1, None, -3, 4, 5], pa.int8()),
            "u64": pa.array([0, 2**64 - 1, None, 3, 4], pa.uint64()),
            "f32": pa.array([1.5, 2.5, None, -0.0, 3.25], pa.float32()),
            "f64": pa.array([1.5, float("inf"), None, -0.0, 3.25]),
            "b": pa.array([True, False, None, True, False]),
            "s": pa.array(["a", "", None, "ünï", "e" * 100]),
            "ls": pa.array(["a", "b", None, "c", "d"], pa.large_string()),
            "bin": pa.array([b"\x00", b"", None, b"xyz", b"\xff"]),
            "lbin": pa.array([b"\x00", b"", None, b"xyz", b"\xff"], pa.large_binary()),
            "fsb": pa.array([b"ab", b"cd", None, b"ef", b"gh"], pa.binary(2)),
            "dec": pa.array(
                [decimal.Decimal("1.23"), None, decimal.Decimal("-9.99"), 0, 1],
                pa.decimal128(10, 2),
            ),
            "date": pa.array(
                [datetime.date(2020, 1, 1), None, datetime.date(1970, 1, 1)] * 2
            )[:n],
            "ts_utc": pa.array([0, 1, None, 3, 4], pa.timestamp("ns", tz="UTC")),
            "ts_tz": pa.array(
                [0, 1, None, 3, 4], pa.timestamp("us", tz="Europe/Paris")
            ),
            "ts": pa.array([0, 1, None, 3, 4], pa.timestamp("s")),
            "dur": pa.array([0, -1, None, 3, 4], pa.duration("ms")),
            "t64": pa.array([0, 1, None, 3, 4], pa.time64("ns")),
            "list": pa.array([[1, 2], [], None, [None], [5]], pa.list_(pa.int64())),
            "llist": pa.array(
                [["a"], [], None, [None], ["b", "c"]], pa.large_list(pa.string())
            ),
            "fsl": pa.array(
                [[1, 2], [3, 4], None, [5, None], [7, 8]], pa.list_(pa.int32(), 2)
            ),
            "struct": pa.array(
                [{"x": 1, "y": "a"}, None, {"x": None, "y": "c"}, {}, {"x": 5}],
                pa.struct([("x", pa.int64()), ("y", pa.string())]),
            ),
            "nested": pa.array(
                [[{"k": [1]}], None, [], [{"k": None}], [{"k": [2, 3]}]],
                pa.list_(pa.struct([("k", pa.list_(pa.int16()))])),
            ),
            "map": pa.array(
                [[("a", 1)], None, [], [("b", None)], [("c", 3), ("d", 4)]],
                pa.map_(pa.string(), pa.int64()),
            ),
            "dict": pa.array(["x", "y", None, "x", "z"]).dictionary_encode(),
            "dict_ordered": pa.DictionaryArray.from_arrays(
                pa.array([0, 1, None, 1, 0], pa.int8()),
                pa.array(["lo", "hi"]),
                ordered=True,
            ),
            "null": pa.nulls(n),
        }
    )


def assert_same_table(back, table):
    assert type(back) is type(table)
    assert back.schema.equals(table.schema, check_metadata=True)
    assert back.equals(table, check_metadata=True)


def test_table_with_many_types_round_trips():
    table = many_types_table()
    name, back = roundtrip(table)
    assert name == "arrow"
    assert_same_table(back, table)


def newer_types():
    np = pytest.importorskip("numpy")
    arrays = {
        "f16": pa.array(np.array([1, 2, 0.5], dtype=np.float16), pa.float16()),
        "string_view": pa.array(["a", None, "c" * 20], pa.string_view()),
        "binary_view": pa.array([b"a", None, b"c" * 20], pa.binary_view()),
        "list_view": pa.array([[1], None, [2, 3]], pa.list_view(pa.int32())),
        "ree": pa.RunEndEncodedArray.from_arrays([2, 3], pa.array(["a", "b"])),
        "dense_union": pa.UnionArray.from_dense(
            pa.array([0, 1, 0], pa.int8()),
            pa.array([0, 0, 1], pa.int32()),
            [pa.array([1, 2]), pa.array(["x"])],
        ),
        "sparse_union": pa.UnionArray.from_sparse(
            pa.array([0, 1, 0], pa.int8()),
            [pa.array([1, 2, 3]), pa.array(["x", "y", "z"])],
        ),
        "interval": pa.array(
            [pa.MonthDayNano([1, 2, 3]), None, pa.MonthDayNano([0, 0, 0])],
            pa.month_day_nano_interval(),
        ),
        "dec256": pa.array([1, None, 2], pa.decimal256(50, 0)),
        "date64": pa.array([0, None, 86400000], pa.date64()),
        "time32": pa.array([0, None, 1], pa.time32("ms")),
        "tensor": pa.FixedShapeTensorArray.from_numpy_ndarray(
            np.arange(12, dtype=np.int32).reshape(3, 2, 2)
        ),
        "nested_dict": pa.array(
            [["a"], None, ["b", "a"]],
            pa.list_(pa.dictionary(pa.int16(), pa.string())),
        ),
    }
    return pa.table(arrays)


def test_newer_and_extension_types_round_trip():
    table = newer_types()
    name, back = roundtrip(table)
    assert name == "arrow"
    assert_same_table(back, table)


def test_nan_and_signed_zero_keep_their_bits():
    # Table.equals says NaN != NaN: compare the value buffers instead.
    table = pa.table({"f": pa.array([float("nan"), -0.0, 0.0, None])})
    back = roundtrip(table)[1]
    assert back.schema.equals(table.schema, check_metadata=True)
    ours, theirs = table["f"].combine_chunks(), back["f"].combine_chunks()
    assert ours.is_null().equals(theirs.is_null())
    assert ours.buffers()[1].to_pybytes() == theirs.buffers()[1].to_pybytes()


def test_record_batch_comes_back_as_a_record_batch():
    batch = many_types_table().to_batches()[0]
    name, back = roundtrip(batch)
    assert name == "arrow"
    assert_same_table(back, batch)


def test_schema_and_field_metadata_are_kept():
    field = pa.field("a", pa.int64(), metadata={b"unit": b"m"})
    schema = pa.schema([field], metadata={b"pandas": b'{"x": 1}', b"k": b"v"})
    table = pa.table({"a": [1, 2, 3]}, schema=schema)
    name, back = roundtrip(table)
    assert name == "arrow"
    assert_same_table(back, table)
    assert back.schema.metadata == {b"pandas": b'{"x": 1}', b"k": b"v"}
    assert back.schema.field("a").metadata == {b"unit": b"m"}


def test_non_nullable_fields_are_kept():
    schema = pa.schema([pa.field("a", pa.int32(), nullable=False)])
    table = pa.table({"a": pa.array([1, 2], pa.int32())}, schema=schema)
    assert_same_table(roundtrip(table)[1], table)


def test_several_chunks_and_dictionaries_per_chunk():
    chunks = [
        pa.record_batch({"d": pa.array(["a", "b"]).dictionary_encode()}),
        pa.record_batch({"d": pa.array(["c", "a", "c"]).dictionary_encode()}),
    ]
    table = pa.Table.from_batches(chunks)
    name, back = roundtrip(table)
    assert name == "arrow"
    assert_same_table(back, table)
    assert back.num_rows == 5


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"a": pa.array([], pa.int64()), "s": pa.array([], pa.string())}),
        pa.table({}),
        pa.Table.from_batches([], schema=pa.schema([("a", pa.float64())])),
        pa.Table.from_batches([pa.record_batch({"a": [1, 2, 3]}).select([])]),
    ],
    ids=["empty", "no-columns", "no-batches", "rows-without-columns"],
)
def test_empty_tables(table):
    name, back = roundtrip(table)
    assert name == "arrow"
    assert_same_table(back, table)
    assert back.num_rows == table.num_rows


def test_record_batch_without_columns_keeps_its_rows():
    batch = pa.record_batch({"a": [1, 2, 3]}).select([])
    assert batch.num_rows == 3
    name, back = roundtrip(batch)
    assert name == "arrow"
    assert_same_table(back, batch)
    assert back.num_rows == 3


def test_slices_round_trip():
    table = many_types_table().slice(1, 3)
    assert_same_table(roundtrip(table)[1], table)


def test_large_table_round_trips():
    n = 200_000
    table = pa.table(
        {"i": pa.array(range(n)), "s": pa.array([str(i) for i in range(n)])}
    )
    name, back = roundtrip(table)
    assert name == "arrow"
    assert_same_table(back, table)


def test_other_pyarrow_objects_are_not_arrow():
    assert rote._dumps(pa.array([1, 2]))[0] == "pickle5"
    assert rote._dumps(pa.schema([("a", pa.int8())]))[0] == "pickle5"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"RAR\x01",
        b"RAR\x01X",
        b"RAR\x01T",
        b"RAR\x01Tgarbage",
        b"RAR\x01T" + b"\xff" * 64,
        b"RAR\x01T" + b"\x00" * 64,
        b"nope",
    ],
)
def test_corrupt_bytes_raise_value_error(data):
    with pytest.raises(ValueError):
        rote._loads("arrow", data)


def test_truncated_and_flipped_streams_raise_value_error_or_load():
    _, data = rote._dumps(many_types_table())
    for cut in range(5, len(data), max(1, len(data) // 97)):
        with pytest.raises(ValueError):
            rote._loads("arrow", data[:cut])
    for i in range(5, len(data), max(1, len(data) // 211)):
        flipped = bytearray(data)
        flipped[i] ^= 0xFF
        try:
            rote._loads("arrow", bytes(flipped))
        except ValueError:
            pass


@pytest.mark.parametrize("make", [many_types_table, newer_types])
def test_random_corruption_is_a_value_error_or_a_valid_table(make):
    # Found by fuzzing: corrupt buffer offsets made arrow-rs panic.
    rnd = random.Random(7)
    _, data = rote._dumps(make())
    for _ in range(600):
        broken = bytearray(data)
        for _ in range(rnd.randint(1, 4)):
            broken[rnd.randrange(5, len(broken))] = rnd.randrange(256)
        try:
            back = rote._loads("arrow", bytes(broken))
        except ValueError:
            continue
        # Structurally sound; values may still be out of their type's
        # domain (a decimal past its precision), which pyarrow allows.
        back.validate()


def test_batch_header_with_two_batches_is_refused():
    table = pa.Table.from_batches(
        [pa.record_batch({"a": [1]}), pa.record_batch({"a": [2]})]
    )
    _, data = rote._dumps(table)
    with pytest.raises(ValueError):
        rote._loads("arrow", data[:4] + b"B" + data[5:])


def pandas_frames():
    pd = pytest.importorskip("pandas")
    plain = pd.DataFrame(
        {"a": [1, 2, 3], "b": pd.Categorical(["x", "y", "x"], ordered=True)},
        index=pd.Index([10, 20, 30], name="idx"),
    )
    plain.attrs["source"] = "test"
    typed = pd.DataFrame(
        {
            "ts": pd.date_range("2020-01-01", periods=3, tz="Europe/Paris"),
            "td": pd.to_timedelta([1, 2, 3], unit="s"),
            "Int": pd.array([1, None, 3], dtype="Int64"),
            "s": pd.array(["a", None, "c"], dtype="string"),
            "mixed": [1, "two", 3.0],
        },
        index=pd.MultiIndex.from_tuples(
            [(1, "a"), (1, "b"), (2, "a")], names=["k", "l"]
        ),
    )
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    return [plain, typed, dup]


@pytest.mark.parametrize("which", range(3))
def test_pandas_frames_stay_on_pickle(which):
    # Measured: from_pandas + IPC + to_pandas is several times slower than
    # pickle protocol 5 (see rote-values' arrow.rs), so frames are pickled.
    pd = pytest.importorskip("pandas")
    df = pandas_frames()[which]
    name, back = roundtrip(df)
    assert name == "pickle5"
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert back.dtypes.equals(df.dtypes)
    assert back.attrs == df.attrs
