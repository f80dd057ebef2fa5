"""The msgpack serializer: exact round trips of trees of builtin values, what
it leaves to pickle, deep nesting, and corrupt bytes."""

import collections
import copy
import datetime
import decimal
import enum
import math
import struct

import pytest
import rote
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def roundtrip(value):
    name, data = rote._dumps(value)
    return name, rote._loads(name, data)


def float_key(x):
    """A float by its bits: NaN equals NaN (payload included), -0.0 is not 0.0."""
    return struct.pack("<d", x)


def canonical(value):
    """A hashable, type-tagged form of a value, equal only for equal values of
    the same types (used for set members, whose order is arbitrary)."""
    kind = type(value)
    if kind is float:
        return ("float", float_key(value))
    if kind is complex:
        return ("complex", float_key(value.real), float_key(value.imag))
    if kind in (list, tuple):
        return (kind.__name__, tuple(canonical(v) for v in value))
    if kind is dict:
        return ("dict", tuple((canonical(k), canonical(v)) for k, v in value.items()))
    if kind in (set, frozenset):
        return (kind.__name__, frozenset(canonical(v) for v in value))
    if kind is bytearray:
        return ("bytearray", bytes(value))
    return (kind.__name__, value)


def assert_same(expected, actual, path="value"):
    """The same value, with the exact same type at every level; NaN matches
    NaN, -0.0 does not match 0.0, dicts keep their order."""
    assert type(actual) is type(expected), (
        f"{path}: {type(actual)} is not {type(expected)}"
    )
    kind = type(expected)
    if kind is float:
        if math.isnan(expected):
            assert math.isnan(actual), f"{path}: {actual!r} is not NaN"
        else:
            assert actual == expected, f"{path}: {actual!r} != {expected!r}"
            assert math.copysign(1, actual) == math.copysign(1, expected), (
                f"{path}: sign of zero"
            )
        assert float_key(actual) == float_key(expected), f"{path}: NaN payload"
    elif kind is complex:
        assert_same(expected.real, actual.real, f"{path}.real")
        assert_same(expected.imag, actual.imag, f"{path}.imag")
    elif kind in (list, tuple):
        assert len(actual) == len(expected), f"{path}: length"
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_same(e, a, f"{path}[{i}]")
    elif kind is dict:
        assert len(actual) == len(expected), f"{path}: length"
        for i, ((ek, ev), (ak, av)) in enumerate(
            zip(expected.items(), actual.items(), strict=True)
        ):
            assert_same(ek, ak, f"{path} key #{i}")
            assert_same(ev, av, f"{path}[{ek!r}]")
    elif kind in (set, frozenset):
        assert {canonical(v) for v in actual} == {canonical(v) for v in expected}, path
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def assert_msgpack_roundtrip(value):
    name, back = roundtrip(value)
    assert name == "msgpack"
    assert_same(value, back)


# -- property test ----------------------------------------------------------

floats = st.floats(allow_nan=True, allow_infinity=True)
ints = st.integers() | st.integers(min_value=-(2**300), max_value=2**300)
# Lone surrogates included: the default alphabet leaves them out.
texts = st.text(st.characters(exclude_categories=()))
# The values most likely to be mangled, drawn more often than chance would.
edges = st.sampled_from(
    [
        -0.0,
        float("nan"),
        -float("inf"),
        2**63,
        2**64,
        -(2**63) - 1,
        -(2**63),
        "\ud800",
        "",
        b"",
        True,
        1,
        1.0,
    ]
)
hashable_scalars = (
    edges | st.none() | st.booleans() | ints | floats | texts | st.binary()
)
hashables = st.recursive(
    hashable_scalars | st.complex_numbers(allow_nan=True, allow_infinity=True),
    lambda inner: (
        st.lists(inner, max_size=4).map(tuple) | st.frozensets(inner, max_size=4)
    ),
    max_leaves=8,
)
scalars = hashables | st.binary().map(bytearray)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6)
        | st.lists(children, max_size=6).map(tuple)
        | st.dictionaries(hashables, children, max_size=6)
        | st.sets(hashables, max_size=6)
        | st.frozensets(hashables, max_size=6)
    ),
    max_leaves=40,
)


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(values)
def test_random_trees_round_trip_with_exact_types(value):
    assert_msgpack_roundtrip(value)


# -- tricky values ----------------------------------------------------------

TRICKY = {
    "2**200": 2**200,
    "-2**200": -(2**200),
    "-2**63": -(2**63),
    "-2**63-1": -(2**63) - 1,
    "2**63": 2**63,
    "2**64-1": 2**64 - 1,
    "2**64": 2**64,
    "-1": -1,
    "-33": -33,
    "nan": float("nan"),
    "-nan": -float("nan"),
    "nan payload": struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0],
    "-0.0": -0.0,
    "inf": float("inf"),
    "-inf": float("-inf"),
    "complex": complex(float("nan"), -0.0),
    "lone surrogate": "\ud800",
    "surrogates inside": "a\udc80b\ud800",
    "non-ascii": "héllo wörld ✓ 🐍",
    "empty str": "",
    "long str": "x" * 100_000,
    "empty bytes": b"",
    "all bytes": bytes(range(256)),
    "empty bytearray": bytearray(),
    "bytearray": bytearray(b"\x00\xff"),
    "empty tuple": (),
    "empty list": [],
    "empty dict": {},
    "empty set": set(),
    "empty frozenset": frozenset(),
    "tuple key": {(1, 2): "x"},
    "frozenset key": {frozenset({1, (2, 3)}): [set()]},
    "unsorted keys": {"b": 1, "a": 2, "c": 3, 10: 4, 2: 5},
    "int key": {1: "a"},
    "bool key": {True: "a"},
    "float key": {1.0: "a"},
    "mixed keys": {0: "int", 0.5: "float", (0,): "tuple", None: "none", b"0": "bytes"},
    "nested": {
        "a": [1, (2, {3: frozenset({4.0})})],
        "b": {"c": {"d": [b"e", bytearray(b"f")]}},
    },
    "empty tuples": [(), (), frozenset(), frozenset()],
}


@pytest.mark.parametrize("value", TRICKY.values(), ids=TRICKY.keys())
def test_tricky_values_round_trip_with_exact_types(value):
    assert_msgpack_roundtrip(value)
    # A container met twice would go to pickle (see below): a copy.
    assert_msgpack_roundtrip([value, {"k": copy.deepcopy(value)}])


def test_int_and_bool_keys_keep_their_types():
    for key in (1, True, 1.0, 0, False, -0.0):
        _, back = roundtrip({key: "a"})
        (back_key,) = back
        assert type(back_key) is type(key)
        assert float_key(float(back_key)) == float_key(float(key))


def test_repeated_strings_come_back_equal_and_shared():
    # Enough distinct strings that back-references need 4-byte numbers,
    # each repeated far from its first occurrence.
    words = [f"w{i}" for i in range(70_000)]
    value = {
        "words": words,
        "again": words[::-1],
        "keys": [{w: w} for w in words[:1000]],
    }
    assert_msgpack_roundtrip(value)
    blobs = [bytes([i % 256]) * 40 for i in range(300)]
    assert_msgpack_roundtrip(blobs + blobs)
    name, back = roundtrip(["red", "green", "red"] * 3)
    assert name == "msgpack"
    assert back[0] is back[2]


# -- what goes to pickle ----------------------------------------------------


class L(list):
    pass


class D(dict):
    pass


class S(str):
    pass


class N(int):
    pass


class F(float):
    pass


class T(tuple):
    __slots__ = ()


class Level(enum.IntEnum):
    LOW = 1


Pair = collections.namedtuple("Pair", "a b")

SUBCLASSES = {
    "list": L([1, 2]),
    "dict": D(a=1),
    "str": S("s"),
    "int": N(3),
    "float": F(1.5),
    "tuple": T((1,)),
    "namedtuple": Pair(1, 2),
    "OrderedDict": collections.OrderedDict(a=1),
    "defaultdict": collections.defaultdict(list, {"k": [1]}),
    "IntEnum": Level.LOW,
}


@pytest.mark.parametrize("value", SUBCLASSES.values(), ids=SUBCLASSES.keys())
def test_subclasses_go_to_pickle_and_keep_their_type(value):
    for wrapped in (
        value,
        [1, {"k": (value,)}],
        {value: 1} if value.__hash__ else {1: value},
    ):
        name, back = roundtrip(wrapped)
        assert name == "pickle5"
        assert back == wrapped
    _, back = roundtrip([1, {"k": (value,)}])
    assert type(back[1]["k"][0]) is type(value)


def test_bool_is_not_an_int_subclass_here():
    name, back = roundtrip([True, False, 1, 0])
    assert name == "msgpack"
    assert [type(v) for v in back] == [bool, bool, int, int]


@pytest.mark.parametrize(
    "item",
    [decimal.Decimal("1.5"), datetime.date(2020, 1, 2), range(3), L(), Level.LOW],
    ids=["Decimal", "date", "range", "list subclass", "IntEnum"],
)
def test_one_unsupported_item_anywhere_sends_all_to_pickle(item):
    value = {"a": [1, 2, (3, {"b": [item]})]}
    name, back = roundtrip(value)
    assert name == "pickle5"
    assert back == value
    assert type(back["a"][2][1]["b"][0]) is type(item)


def test_cycles_go_to_pickle():
    a = [1]
    a.append(a)
    name, back = roundtrip(a)
    assert name == "pickle5"
    assert back[1] is back
    d = {}
    d["self"] = [d]
    name, back = roundtrip(d)
    assert name == "pickle5"
    assert back["self"][0] is back


def test_a_shared_container_goes_to_pickle_which_keeps_the_sharing():
    name, back = roundtrip([[0] * 3] * 3)
    assert name == "pickle5"
    assert back[0] is back[1] is back[2]
    shared = {"rows": [1, 2]}
    name, back = roundtrip({"train": shared, "all": [(shared,)]})
    assert name == "pickle5"
    assert back["train"] is back["all"][0][0]
    # Merely referenced from elsewhere is not shared within the value.
    name, _ = roundtrip({"train": shared, "test": [shared["rows"][:]]})
    assert name == "msgpack"
    # Doubling at every level: written out in full it would be 2**100 lists.
    a = []
    for _ in range(100):
        a = [a, a]
    name, _ = roundtrip(a)
    assert name == "pickle5"


def test_a_shared_tuple_is_copied_unless_shared_a_lot():
    pair = (1, "a")
    assert_msgpack_roundtrip([pair, {"k": pair}, {pair: frozenset({pair})}])
    name, back = roundtrip([pair] * 100_000)
    assert name == "pickle5"
    assert back[0] is back[1]
    t = ()
    for _ in range(100):
        t = (t, t)
    name, _ = roundtrip(t)
    assert name == "pickle5"


def test_a_cycle_through_a_tuple_goes_to_pickle():
    t = ([],)
    t[0].append(t)
    name, back = roundtrip(t)
    assert name == "pickle5"
    assert back[0][0] is back


# -- deep nesting -------------------------------------------------------------


def nest(depth, wrap):
    value = "leaf"
    for _ in range(depth):
        value = wrap(value)
    return value


def depth_of(value, unwrap):
    depth = 0
    while value != "leaf":
        value = unwrap(value)
        depth += 1
    return depth


@pytest.mark.parametrize(
    ("wrap", "unwrap"),
    [
        (lambda v: [v], lambda v: v[0]),
        (lambda v: (v,), lambda v: v[0]),
        (lambda v: {"k": v}, lambda v: v["k"]),
        (lambda v: [1, {"k": (v, 2.5)}], lambda v: v[1]["k"][0]),
    ],
    ids=["list", "tuple", "dict", "mixed"],
)
def test_deep_nesting_does_not_crash(wrap, unwrap):
    value = nest(10_000, wrap)
    name, data = rote._dumps(value)
    assert name == "msgpack"
    back = rote._loads(name, data)
    assert type(back) is type(value)
    assert depth_of(back, unwrap) == depth_of(value, unwrap)


# -- corrupt bytes ------------------------------------------------------------

CORRUPT = {
    "empty": b"",
    "reserved marker": b"\xc1",
    "float32": b"\xca\x00\x00\x00\x00",
    "truncated int": b"\xcd\x01",
    "truncated str": b"\xa5abc",
    "bad utf-8": b"\xa2\xff\xfe",
    "array longer than input": b"\xdd\xff\xff\xff\xff",
    "map longer than input": b"\xdf\xff\xff\xff\xff\x01",
    "unknown ext": b"\xd4\x63\x00",
    "tag without array": b"\xc7\x00\x05\x01",
    "tag with payload": b"\xd4\x05\x00\x90",
    "back-reference ahead": b"\xd4\x08\x00",
    "bad back-reference size": b"\xd7\x08\x00\x00\x00\x00\x00\x00\x00\x00",
    "bad complex size": b"\xd6\x02\x00\x00\x00\x00",
    "unhashable key": b"\x81\x90\x01",
    "unhashable member": b"\xc7\x00\x06\x91\x90",
    "trailing bytes": b"\x01\x02",
}


@pytest.mark.parametrize("data", CORRUPT.values(), ids=CORRUPT.keys())
def test_corrupt_bytes_raise_value_error(data):
    with pytest.raises(ValueError, match="corrupt msgpack value"):
        rote._loads("msgpack", data)


def test_every_truncation_raises_value_error():
    value = {
        "a": [1, -(2**70), 2.5, (None, True)],
        "b": {b"x", frozenset({"y"})},
        "c": [bytearray(b"z"), 1j, "a"],
    }
    name, data = rote._dumps(value)
    assert name == "msgpack"
    for end in range(len(data)):
        with pytest.raises(ValueError, match="corrupt msgpack value"):
            rote._loads(name, data[:end])


def test_pickle_bytes_are_not_msgpack():
    _, data = rote._dumps(L([1]))
    with pytest.raises(ValueError, match="corrupt msgpack value"):
        rote._loads("msgpack", data)


@settings(max_examples=1000, deadline=None, database=None)
@given(st.binary(max_size=64))
def test_random_bytes_raise_value_error_or_decode(data):
    try:
        rote._loads("msgpack", data)
    except ValueError as err:
        assert "corrupt msgpack value" in str(err)
