"""Which serializer a value goes to, the pickle-5 fallback, and the values
that are refused with a stable reason."""

import collections
import dataclasses
import enum
import io
import socket
import threading

import pytest
import rote


def roundtrip(value):
    name, data = rote._dumps(value)
    return name, rote._loads(name, data)


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass
class Point:
    x: int
    y: float


Pair = collections.namedtuple("Pair", "a b")


@pytest.mark.parametrize(
    "value",
    [
        Pair(1, 2),
        collections.OrderedDict(a=1),
        collections.defaultdict(list, {"k": [1]}),
        Color.RED,
        Point(1, 2.5),
    ],
    ids=["namedtuple", "OrderedDict", "defaultdict", "enum", "dataclass"],
)
def test_subclasses_keep_their_exact_type(value):
    name, back = roundtrip(value)
    assert name == "pickle5"
    assert type(back) is type(value)
    assert back == value
    if isinstance(value, collections.defaultdict):
        assert back.default_factory is list


def test_local_class_goes_through_cloudpickle():
    class Local:
        def __init__(self):
            self.v = 3

    name, back = roundtrip(Local())
    assert name == "pickle5"
    assert back.v == 3


def test_out_of_band_buffers_come_back_writeable():
    np = pytest.importorskip("numpy")
    value = {"arr": np.arange(1000.0)[::2], "obj": object.__new__(Point)}
    name, back = roundtrip(value)
    assert name == "pickle5"
    assert back["arr"].flags.writeable
    np.testing.assert_array_equal(back["arr"], value["arr"])


def _gen():
    yield 1


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: _gen(), "unserializable return: generator"),
        (lambda: io.StringIO("x"), "unserializable return: open file"),
        (lambda: open(__file__), "unserializable return: open file"),  # noqa: SIM115
        (lambda: threading.Lock(), "unserializable return: lock"),
        (lambda: socket.socket(), "unserializable return: socket"),
        (lambda: io, "unserializable return: module"),
    ],
    ids=["generator", "stringio", "file", "lock", "socket", "module"],
)
def test_unstorable_values_are_refused_with_a_reason(make, reason):
    value = make()
    try:
        with pytest.raises(TypeError) as err:
            rote._dumps(value)
        assert str(err.value) == reason
    finally:
        if hasattr(value, "close"):
            value.close()


def test_corrupt_pickle_bytes_raise_not_crash():
    name, data = rote._dumps(Point(1, 2.0))
    with pytest.raises(ValueError, match="corrupt pickle5 value"):
        rote._loads(name, data[:10])
    with pytest.raises(ValueError, match="unknown serializer"):
        rote._loads("nope", data)
