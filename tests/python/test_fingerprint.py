"""Fingerprints: the same in every process and under every hash seed for
equal values, different when type, content, shape, dtype or iteration order
differ, independent of memory layout, and refused where they could not be
trusted (functions, which only the memoization runtime can digest; sets
inside pickled objects; unpicklables)."""

import collections
import copy
import dataclasses
import datetime
import decimal
import fractions
import functools
import json
import os
import pathlib
import struct
import subprocess
import sys
import threading

import pytest
import rote

np = pytest.importorskip("numpy")
hypothesis = pytest.importorskip("hypothesis")
nps = pytest.importorskip("hypothesis.extra.numpy")
st = hypothesis.strategies


def fp(value):
    return rote._fingerprint(value).hex()


def refusal(value):
    with pytest.raises(TypeError) as err:
        rote._fingerprint(value)
    return str(err.value)


# Evaluated here and in fresh processes: values with no set of str in them
# (sets of small ints iterate the same under every hash seed).
VALUES = """[
    None, True, False, 0, -1, 2**63 - 1, 2**63, -(2**200), 1.5, -0.0, float("nan"),
    complex(1, -2), "", "héllo wörld", "\\ud800 lone surrogate", b"\\x00\\xff",
    bytearray(b"ab"), [1, [2, (3,)]], (), ((),), {"b": 1, "a": [1.0, {"x": None}]},
    {1, 2, 3, 100}, frozenset({5, 6}), {"nested": {"deep": [{"k": (1, 2)}] * 3}},
    np.arange(12).reshape(3, 4), np.arange(6.0)[::2], np.asfortranarray(np.ones((2, 3))),
    np.array(["a", "bc"]), np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", ">f8")]),
    np.array(["2020-01-01", "NaT"], dtype="M8[D]"), np.float32(1.5), np.int64(3),
    np.datetime64("2021-06-01T12:00"), np.array(7), np.array([1, "x"], dtype=object),
    decimal.Decimal("1.10"), fractions.Fraction(1, 3), datetime.datetime(2020, 1, 2, 3, 4),
    pathlib.PurePosixPath("/a/b"), collections.OrderedDict(z=1, a=2), range(3, 10, 2),
    "x" * 100_000, list(range(1000)), {str(i): i for i in range(200)},
]"""

CHILD = f"""
import collections, datetime, decimal, fractions, json, pathlib, sys
import numpy as np
import rote
values = {VALUES}
words = {{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}}
print(json.dumps({{
    "values": [rote._fingerprint(v).hex() for v in values],
    "words": [rote._fingerprint(words).hex(), list(words)],
}}))
"""


def run_child(seed):
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout)


def test_equal_across_processes_and_hash_seeds():
    first, second = run_child(1), run_child(2)
    modules = [collections, datetime, decimal, fractions, json, pathlib, sys]
    namespace = {"np": np, **{m.__name__: m for m in modules}}
    here = [fp(v) for v in eval(VALUES, namespace)]
    assert first["values"] == second["values"]
    assert first["values"] == here
    assert len(set(here)) == len(here)


def test_sets_of_str_follow_their_iteration_order():
    # Iteration order is part of a set's identity; for str it depends on the
    # hash seed, so fingerprints agree exactly when the orders do.
    runs = [run_child(seed)["words"] for seed in (1, 2, 3)]
    for fp_a, order_a in runs:
        for fp_b, order_b in runs:
            assert (fp_a == fp_b) == (order_a == order_b)


def test_equal_values_built_separately_are_equal():
    def build():
        return {
            "a": [1, 2.5, "x", (None, b"y")],
            "b": np.linspace(0, 1, 11),
            "c": {3, 4},
        }

    assert fp(build()) == fp(build())
    shared = [1, 2]
    assert fp([shared, shared]) == fp([[1, 2], [1, 2]])


def distinct(*values):
    prints = [fp(v) for v in values]
    assert len(set(prints)) == len(prints), list(zip(values, prints, strict=True))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_types_differ():
    distinct(
        1, 1.0, True, np.int64(1), np.float64(1.0), np.bool_(True), "1", b"1", 1 + 0j
    )
    distinct(
        0, 0.0, -0.0, False, None, "", b"", bytearray(), (), [], {}, set(), frozenset()
    )
    distinct((1,), [1], {1}, frozenset({1}), {1: None}, np.array([1]))
    distinct(b"ab", bytearray(b"ab"), "ab", np.bytes_(b"ab"), np.str_("ab"))
    distinct(np.float32(1.5), np.float64(1.5), np.longdouble(1.5), 1.5)
    distinct(
        np.arange(3),
        np.array(np.arange(3), dtype=np.int32),
        [0, 1, 2],
        np.matrix([0, 1, 2]),
    )


def test_content_differs():
    distinct([1, 2, 3], [1, 2, 4], [1, 2], [1, 2, 3, 0])
    arr = np.arange(1000.0)
    changed = arr.copy()
    changed[500] = -1
    distinct(arr, changed)
    distinct(2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64, -(2**64), 2**1000)
    distinct(float("nan"), -float("nan"), float("inf"), 5e-324)
    distinct("a\ud800", "a\udc00", "a\ud800\udc00", "a\U00010000")


def test_nesting_is_unambiguous():
    distinct([[1], 2], [1, [2]], [[1, 2]], [1, 2])
    distinct(["ab", "c"], ["a", "bc"], ["abc"], [b"ab", "c"])
    distinct([[], []], [[[]]], [[], [], []])
    distinct({"a": "b", "c": "d"}, {"a": "bc", "": "d"}, [("a", "b"), ("c", "d")])
    distinct({1: [2]}, {1: (2,)}, {(1,): 2})


def test_dict_order_counts():
    assert {"a": 1, "b": 2} == {"b": 2, "a": 1}
    distinct({"a": 1, "b": 2}, {"b": 2, "a": 1})


def test_set_iteration_order_counts():
    first, second = {1, 9}, {9, 1}  # 1 and 9 collide in an 8-slot table
    assert first == second and list(first) != list(second)
    distinct(first, second)
    same = {9, 1}
    assert fp(same) == fp(second)


def test_dtype_shape_and_byte_order_count():
    values = np.arange(6)
    distinct(
        values.astype(np.int64),
        values.astype(np.int32),
        values.astype(np.uint64),
        values.astype(">i8"),
        values.astype(np.float64),
        values.reshape(2, 3),
        values.reshape(3, 2),
        values.reshape(1, 6),
        values.reshape(6, 1),
    )
    distinct(
        np.array("2020-01-01", dtype="M8[D]"), np.array("2020-01-01", dtype="M8[s]")
    )
    distinct(np.datetime64("2020-01-01", "D"), np.datetime64("2020-01-01", "s"))
    distinct(np.timedelta64(1, "s"), np.timedelta64(1000, "ms"), np.int64(1))
    distinct(np.array(5), np.array([5]), np.int64(5))
    distinct(np.zeros((0, 3)), np.zeros((3, 0)), np.zeros(0))
    distinct(
        np.array(["ab"], dtype="<U2"), np.array(["ab"], dtype="<U3"), np.array([b"ab"])
    )


def test_memory_layout_does_not_count():
    arr = np.arange(60.0).reshape(3, 4, 5)
    views = [
        arr,
        np.asfortranarray(arr),
        arr.transpose(2, 1, 0).copy().transpose(2, 1, 0),
        np.ascontiguousarray(arr[::-1])[::-1],
    ]
    assert len({fp(v) for v in views}) == 1
    view = arr[:, ::2, 1:]
    assert not view.flags.c_contiguous
    assert fp(view) == fp(view.copy())
    assert fp(arr[::-1]) == fp(arr[::-1].copy())
    read_only = arr.copy()
    read_only.flags.writeable = False
    assert fp(read_only) == fp(arr)


def test_large_strided_view_is_hashed_in_slabs():
    base = np.random.default_rng(3).random((3000, 2000))  # 48 MB, view > 16 MB slabs
    view = base[:, ::2]
    assert fp(view) == fp(np.ascontiguousarray(view))
    assert fp(view) != fp(base[:, 1::2])


def test_struct_padding_does_not_count():
    dtype = np.dtype([("a", "u1"), ("b", "<f8")], align=True)
    first, second = np.zeros(3, dtype=dtype), np.zeros(3, dtype=dtype)
    second.view(np.uint8).reshape(3, 16)[:, 1:8] = 0xAB  # padding only
    assert first.tobytes() != second.tobytes()
    assert fp(first) == fp(second)
    second["b"][1] = 1.0
    assert fp(first) != fp(second)


@pytest.mark.skipif(
    np.dtype(np.longdouble).itemsize != 16 or np.finfo(np.longdouble).nmant != 63,
    reason="x87 extended precision only",
)
def test_long_double_padding_does_not_count():
    first = np.array([1.5, -2.25], dtype=np.longdouble)
    second = first.copy()
    second.view(np.uint8).reshape(2, 16)[:, 10:] = 0xCD
    assert first.tobytes() != second.tobytes()
    assert np.array_equal(first, second)
    assert fp(first) == fp(second)
    assert fp(first.astype(">f16")) != fp(first)


def test_deep_and_shared_structures():
    deep = []
    for _ in range(200_000):
        deep = [deep]
    assert fp(deep) != fp([deep])
    shared = []
    for _ in range(300):  # 2**300 paths: hashed once per distinct object
        shared = [shared, shared]
    assert len(fp(shared)) == 64


def test_numpy_scalars_and_arrays_round_trip_with_the_same_fingerprint():
    for value in [np.arange(10.0)[::3], np.asfortranarray(np.eye(3)), np.float32(2.5)]:
        name, data = rote._dumps(value)
        assert fp(rote._loads(name, data)) == fp(value)


@dataclasses.dataclass
class Point:
    x: int
    y: float


@dataclasses.dataclass
class Tagged:
    name: str
    tags: set


class Slotted:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


def test_other_objects_by_pickle():
    assert fp(Point(1, 2.0)) == fp(Point(1, 2.0))
    distinct(Point(1, 2.0), Point(1, 2.5), Point(2, 2.0), (1, 2.0))
    assert fp(Slotted([1, 2])) == fp(Slotted([1, 2]))
    distinct(Slotted([1, 2]), Slotted([2, 1]))


def _gen():
    yield 1


@pytest.mark.parametrize(
    "value",
    [
        lambda: 0,
        _gen,
        len,
        [].append,
        "abc".upper,
        Point(1, 2.0).__repr__,
        functools.partial(int, base=2),
        str.upper,
        [1, {"k": (lambda: 0)}],
    ],
    ids=[
        "lambda",
        "def",
        "builtin",
        "builtin_method",
        "str_method",
        "bound",
        "partial",
        "descr",
        "nested",
    ],
)
def test_functions_are_refused(value):
    assert refusal(value) == "unfingerprintable argument: function"


def test_objects_holding_sets_are_refused():
    assert refusal(Tagged("x", {"a", "b"})) == "unfingerprintable argument: Tagged"
    assert refusal(Tagged("x", {1})) == "unfingerprintable argument: Tagged"
    assert refusal(Slotted(frozenset())) == "unfingerprintable argument: Slotted"
    assert (
        refusal([Point(1, 2.0), Slotted([{1}])])
        == "unfingerprintable argument: Slotted"
    )
    holder = collections.OrderedDict(s={"a"})
    assert refusal(holder) == "unfingerprintable argument: OrderedDict"
    assert (
        refusal(np.array([{1}], dtype=object)) == "unfingerprintable argument: ndarray"
    )


def test_unpicklable_and_recursive_values_are_refused():
    class Local:
        pass

    assert refusal(threading.Lock()) == "unfingerprintable argument: lock"
    assert refusal(_gen()) == "unfingerprintable argument: generator"
    assert (
        refusal(Local())
        == "unfingerprintable argument: test_unpicklable_and_recursive_values_are_refused.<locals>.Local"
    )
    loop = []
    loop.append(loop)
    assert refusal(loop) == "unfingerprintable argument: recursive list"
    table = {}
    table["self"] = [table]
    assert refusal(table) == "unfingerprintable argument: recursive dict"


# Values whose strict key (type and bits, recursively) decides equality.
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.complex_numbers(allow_nan=True),
    st.text(st.characters(exclude_categories=())),  # surrogates included
    st.binary(),
    st.binary().map(bytearray),
)
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(
            st.one_of(st.text(max_size=3), st.integers()), children, max_size=4
        ),
    ),
    max_leaves=20,
)


def strict(value):
    """A key that is equal exactly when two values are equal in the
    fingerprint's sense."""
    kind = type(value).__name__
    if isinstance(value, float):
        return (kind, struct.pack("<d", value))
    if isinstance(value, complex):
        return (kind, struct.pack("<dd", value.real, value.imag))
    if isinstance(value, list | tuple):
        return (kind, tuple(strict(v) for v in value))
    if isinstance(value, dict):
        return (kind, tuple((strict(k), strict(v)) for k, v in value.items()))
    if isinstance(value, str):
        return (kind, value.encode("utf-8", "surrogatepass"))
    return (kind, bytes(value) if isinstance(value, bytearray) else value)


@hypothesis.settings(database=None, deadline=None, max_examples=300)
@hypothesis.given(trees, trees)
def test_fingerprints_match_exactly_when_values_do(first, second):
    assert fp(first) == fp(copy.deepcopy(first))
    assert (fp(first) == fp(second)) == (strict(first) == strict(second))


@hypothesis.settings(database=None, deadline=None, max_examples=200)
@hypothesis.given(
    nps.arrays(
        st.one_of(
            nps.scalar_dtypes(), nps.byte_string_dtypes(), nps.unicode_string_dtypes()
        ),
        nps.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
    )
)
def test_array_fingerprints_ignore_layout(arr):
    expected = fp(arr)
    assert fp(arr.copy(order="F")) == expected
    assert fp(arr.copy()) == expected
    if arr.ndim:
        assert fp(np.repeat(arr, 2, axis=0)[::2]) == expected
    name, data = rote._dumps(arr)
    assert fp(rote._loads(name, data)) == expected


# ---------------------------------------------------------------------------
# pyarrow tables and record batches: by content, not by layout


def _arrow_table(pa):
    n = 1000
    return pa.table(
        {
            "i": pa.array(range(n), type=pa.int64()),
            "s": pa.array([None if k % 7 == 0 else f"s{k}" for k in range(n)]),
            "f": pa.array([k / 3 for k in range(n)]),
            "l": pa.array([[k, k + 1] if k % 5 else None for k in range(n)]),
            "st": pa.array([{"a": k, "b": str(k)} for k in range(n)]),
            "d": pa.array([f"c{k % 3}" for k in range(n)]).dictionary_encode(),
            "t": pa.array(range(n), type=pa.timestamp("ns", tz="UTC")),
        },
        metadata={"origin": "test"},
    )


def _with_all_valid_bitmap(pa, arr):
    """`arr` (no nulls) rebuilt with a validity bitmap that marks none null,
    as readers such as parquet's produce."""
    valid = pa.py_buffer(b"\xff" * ((len(arr) + 7) // 8))
    return pa.Array.from_buffers(arr.type, len(arr), [valid, *arr.buffers()[1:]], -1)


def test_arrow_tables_fingerprint_by_content_not_layout():
    pa = pytest.importorskip("pyarrow")
    t = _arrow_table(pa)
    base = fp(t)
    assert fp(_arrow_table(pa)) == base
    # Another chunking of the same rows.
    rechunked = pa.Table.from_batches(t.to_batches(max_chunksize=97), schema=t.schema)
    assert rechunked.column(0).num_chunks > 1
    assert fp(rechunked) == base
    assert fp(rechunked.combine_chunks()) == base
    # A slice equals the same rows built afresh (but for the dictionary
    # column, which pyarrow too tells apart: built afresh, its dictionary
    # comes in another order).
    part = t.drop_columns(["d"]).slice(100, 250)
    fresh = pa.Table.from_pylist(part.to_pylist(), schema=part.schema)
    assert fresh.equals(part)
    assert fp(part) == fp(fresh)
    # A validity bitmap that marks nothing null is no content.
    i = t.column("i").combine_chunks()
    bitmap = _with_all_valid_bitmap(pa, i)
    assert bitmap.buffers()[0] is not None and i.buffers()[0] is None
    assert fp(t.set_column(0, "i", bitmap)) == base
    # A round trip through the cache's own codec keeps the fingerprint.
    name, data = rote._dumps(t)
    assert name == "arrow"
    assert fp(rote._loads(name, data)) == base


def test_arrow_fingerprints_see_every_difference():
    pa = pytest.importorskip("pyarrow")
    t = _arrow_table(pa)
    base = fp(t)
    i = t.column("i").to_pylist()
    changed = {
        "value": t.set_column(0, "i", pa.array([*i[:-1], -1], type=pa.int64())),
        "null": t.set_column(0, "i", pa.array([None, *i[1:]], type=pa.int64())),
        "type": t.set_column(0, "i", pa.array(i, type=pa.int32())),
        "name": t.rename_columns(["j", *t.column_names[1:]]),
        "order": t.select([*t.column_names[1:], "i"]),
        "metadata": t.replace_schema_metadata({"origin": "other"}),
        "no metadata": t.replace_schema_metadata(None),
        "rows": t.slice(0, 999),
        "tz": t.set_column(
            6, "t", t.column("t").cast(pa.timestamp("ns", tz="Europe/Paris"))
        ),
        "nullable": t.cast(t.schema.set(0, t.schema.field(0).with_nullable(False))),
        "batch": t.combine_chunks().to_batches()[0],
    }
    digests = {name: fp(v) for name, v in changed.items()}
    assert base not in digests.values(), digests
    assert len(set(digests.values())) == len(digests)
    assert (
        fp(pa.record_batch(t.to_batches()[0].columns, schema=t.schema))
        == digests["batch"]
    )
