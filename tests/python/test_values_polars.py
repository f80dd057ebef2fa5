"""polars frames and series stored as Arrow IPC: the same dtypes (what
polars calls its schema), names, values and class back, through the bytes path and through a
mapped blob; frames whose dtypes Arrow cannot carry exactly stay on pickle;
fingerprints follow content, not chunking."""

import datetime
import decimal

import pytest
import rote

pl = pytest.importorskip("polars")


def roundtrip(value):
    name, data = rote._dumps(value)
    return name, rote._loads(name, data)


def many_types_frame():
    return pl.DataFrame(
        {
            "i8": pl.Series([1, None, -3, 4], dtype=pl.Int8),
            "u64": pl.Series([0, 2**64 - 1, None, 3], dtype=pl.UInt64),
            "f32": pl.Series([1.5, None, -0.0, float("nan")], dtype=pl.Float32),
            "f64": pl.Series([1.5, float("inf"), None, -0.0]),
            "b": [True, False, None, True],
            "s": ["a", "", None, "ünï"],
            "bin": [b"\x00", b"", None, b"xyz"],
            "cat": pl.Series(["x", "y", None, "x"], dtype=pl.Categorical),
            "enum": pl.Series(["lo", "hi", "lo", None], dtype=pl.Enum(["lo", "hi"])),
            "dec": pl.Series(
                [
                    decimal.Decimal("1.23"),
                    None,
                    decimal.Decimal("-9.99"),
                    decimal.Decimal(0),
                ],
                dtype=pl.Decimal(10, 2),
            ),
            "date": [datetime.date(2020, 1, 1), None, datetime.date(1970, 1, 1)] * 1
            + [None],
            "dt": pl.Series([0, 1, None, 3], dtype=pl.Datetime("us")),
            "dt_tz": pl.Series(
                [0, 1, None, 3], dtype=pl.Datetime("ns", "Europe/Paris")
            ),
            "dur": pl.Series([0, -1, None, 3], dtype=pl.Duration("ms")),
            "time": [datetime.time(1, 2), None, datetime.time(0), datetime.time(23)],
            "list": [[1, 2], [], None, [None]],
            "struct": [{"x": 1, "y": "a"}, None, {"x": None, "y": "c"}, {"x": 5}],
        }
    )


def assert_same_frame(back, df):
    assert type(back) is pl.DataFrame
    assert back.schema == df.schema
    assert back.equals(df, null_equal=True)


def test_frames_of_many_types_round_trip():
    df = many_types_frame()
    name, back = roundtrip(df)
    assert name == "arrow"
    assert_same_frame(back, df)


def test_empty_and_chunked_frames_round_trip():
    df = many_types_frame()
    for value in (df.head(0), pl.concat([df, df, df], rechunk=False), pl.DataFrame()):
        _, back = roundtrip(value)
        assert_same_frame(back, value)


def test_frames_load_from_a_mapped_blob(tmp_path):
    n = 300_000
    df = pl.DataFrame(
        {
            "i": range(n),
            "s": [f"row-{k}" for k in range(n)],
            "c": pl.Series(
                [("a", "b", "c")[k % 3] for k in range(n)], dtype=pl.Categorical
            ),
        }
    )
    path = tmp_path / "blob"
    name, size, checksum = rote._write_value(df, path)
    assert name == "arrow" and size >= 1 << 20
    back = rote._read_value(name, path, size, checksum)
    path.unlink()
    assert_same_frame(back, df)


def test_frames_arrow_cannot_carry_stay_on_pickle():
    # A Null column does not cross arrow-rs's C data interface.
    df = pl.DataFrame({"i": [1, 2], "n": pl.Series([None, None], dtype=pl.Null)})
    name, back = roundtrip(df)
    assert name == "pickle5"
    assert_same_frame(back, df)
    s = pl.Series("n", [None, None], dtype=pl.Null)
    name, back = roundtrip(s)
    assert name == "pickle5" and back.equals(s) and back.dtype == pl.Null
    # Neither Arrow nor pickle can hold Python objects.
    objects = pl.DataFrame({"o": pl.Series([object(), None], dtype=pl.Object)})
    with pytest.raises(TypeError, match="unserializable return: DataFrame"):
        rote._dumps(objects)


def test_series_round_trip_with_their_name_and_dtype():
    df = many_types_frame()
    for column in df.columns:
        s = df[column]
        name, back = roundtrip(s)
        assert name == "arrow", column
        assert type(back) is pl.Series
        assert (back.name, back.dtype) == (s.name, s.dtype)
        assert back.equals(s, null_equal=True)
    unnamed = pl.Series([1.5, None])
    name, back = roundtrip(unnamed)
    assert name == "arrow" and back.name == "" and back.equals(unnamed)
    assert rote._fingerprint(df["s"]) != rote._fingerprint(df.select("s"))


def test_fingerprints_follow_content_not_chunking():
    df = many_types_frame()
    chunked = pl.concat([df.head(2), df.tail(2)], rechunk=False)
    assert chunked.n_chunks() > 1
    fp = rote._fingerprint
    assert fp(chunked) == fp(df)
    assert fp(df.with_columns(pl.col("i8") + 1)) != fp(df)
    assert fp(df.rename({"i8": "j8"})) != fp(df)
    assert fp(df.to_arrow()) != fp(df)  # a pyarrow table is another type
