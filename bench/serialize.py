"""Serialization benchmark: rote's value codec against pickle protocol 5.

Runs INSIDE rote (it needs the built-in ``rote`` module)::

    VIRTUAL_ENV=VENV rote bench/serialize.py [--quick] [--rounds N] [--out PATH]

For each payload, in one process, rounds alternate rote and pickle (which
goes first alternates too), and each side is timed with
``time.perf_counter_ns``:

* save: ``rote._write_value(v, path)`` (what the cache does with a return
  value: encode, write the parts to a temp file straight from the value's
  buffers, rename) / ``pickle.dumps(v, protocol=5)`` written to a file, in a
  temporary directory under the repository's ``target/`` (a real disk, not a
  tmpfs; no fsync: the page cache takes it); each save makes a new file, the
  previous one is removed untimed;
* load: ``rote._read_value(...)`` (what a hit does: size and checksum
  verified, files of 1 MiB and more mapped, large arrays built on a private
  copy-on-write mapping) / the page-cached file read and ``pickle.loads``,
  then ONE full pass over the value (``arr.sum()``,
  ``df.sum(numeric_only=True)``, iterating a list or a dict's items).

``pickle5-oob`` (``buffer_callback``; the pickle and its buffers written as
one file, read back into one bytearray that the buffers are views of) is
measured in the same rounds as a third side, where the payload has any
out-of-band buffer. Then ``rote._fingerprint`` of a 1 GB float64 array is
timed alternately with ``np.copyto`` of 1 GB (memory bandwidth measured the
same way, reported as read + write GB/s).

Targets (from the issue): rote/pickle ratio of medians <= 1.10 for save and
load of every payload; load of ndarrays of >= 8 MB at least 1.5x faster than
pickle (ratio <= 0.667); fingerprint >= 2 GB/s. A missed target is recorded
as ``"met": false`` and the exit status is still 0.
"""

from __future__ import annotations

import os

# Before numpy is imported: one BLAS thread, as in every benchmark here.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import gc
import importlib.metadata
import pickle
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    REPO_ROOT,
    BenchError,
    Command,
    Result,
    machine_info,
    ratio_ci,
    write_json,
)

RESULTS_DIR = REPO_ROOT / "bench" / "results"
ROUNDS = 21
QUICK_ROUNDS = 5
FP_ROUNDS = 9
QUICK_FP_ROUNDS = 3
FP_BYTES = 1 << 30  # 1 GiB of float64

MAX_RATIO = 1.10  # rote/pickle, save and load, every payload
NDARRAY_LOAD_MAX = 1 / 1.5  # load of ndarrays of >= 8 MB
NDARRAY_MIN_BYTES = 8_000_000
FINGERPRINT_MIN_GBPS = 2.0

PACKAGES = ("numpy", "pandas", "polars", "pyarrow")
SIDES = ("rote", "pickle5", "pickle5-oob")


def _require_rote():
    try:
        import rote  # the built-in module; only inside a rote process
    except ImportError:
        raise BenchError(
            "no `rote` module: run this inside rote, e.g. "
            "`VIRTUAL_ENV=VENV target/py3.X/release/rote bench/serialize.py`"
        ) from None
    for name in ("_write_value", "_read_value", "_fingerprint"):
        if not hasattr(rote, name):
            raise BenchError(f"this rote has no rote.{name}")
    return rote


# --------------------------------------------------------------------------
# Payloads: (name, build, one full pass over a loaded value)


def _pass_ndarray(a):
    return a.sum()


def _pass_pandas(df):
    return df.sum(numeric_only=True)


def _pass_polars(df):
    import polars.selectors as cs

    return df.select(cs.numeric().sum())


def _pass_pyarrow(table):
    import pyarrow as pa
    import pyarrow.compute as pc

    return [
        pc.sum(col)
        for col in table.columns
        if pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
    ]


def _pass_dict(d):
    n = 0
    for k, v in d.items():
        n += len(k) + v
    return n


def _pass_list(xs):
    n = 0
    for x in xs:
        n += x
    return n


def _pass_list_of_dicts(xs):
    n = 0
    for d in xs:
        for _k, _v in d.items():
            n += 1
    return n


def _ndarray_f64():
    import numpy as np

    return np.random.default_rng(1).standard_normal(1_000_000)


def _ndarray_f32():
    import numpy as np

    return np.random.default_rng(2).standard_normal(3_000_000, dtype=np.float32)


N_ROWS = 1_000_000
CATS = ["red", "green", "blue", "cyan", "magenta"]


def _frame_columns():
    import numpy as np

    rng = np.random.default_rng(3)
    return {
        "f": rng.standard_normal(N_ROWS),
        "i": rng.integers(0, 1 << 40, N_ROWS, dtype=np.int64),
        "b": rng.random(N_ROWS) < 0.5,
        "c": rng.integers(0, len(CATS), N_ROWS),
        "t": np.datetime64("2020-01-01T00:00:00", "ns")
        + rng.integers(0, 10**17, N_ROWS).astype("timedelta64[ns]"),
        "s": [f"item-{i}" for i in range(N_ROWS)],
    }


def _pandas_frame():
    import pandas as pd

    cols = _frame_columns()
    cols["c"] = pd.Categorical.from_codes(cols["c"], CATS)
    return pd.DataFrame(cols)


def _polars_frame():
    import polars as pl

    cols = _frame_columns()
    return pl.DataFrame(
        {
            "f": cols["f"],
            "i": cols["i"],
            "b": cols["b"],
            "c": pl.Series([CATS[k] for k in cols["c"]], dtype=pl.Categorical),
            "t": pl.Series(cols["t"]),
            "s": pl.Series(cols["s"], dtype=pl.String),
        }
    )


def _pyarrow_table():
    import pyarrow as pa

    cols = _frame_columns()
    return pa.table(
        {
            "f": cols["f"],
            "i": cols["i"],
            "b": cols["b"],
            "c": pa.array([CATS[k] for k in cols["c"]]).dictionary_encode(),
            "t": cols["t"],
            "s": pa.array(cols["s"]),
        }
    )


def _dict_str_int():
    return {f"key-{i}": i for i in range(100_000)}


def _list_ints():
    return list(range(1_000_000))


def _list_small_dicts():
    return [{"id": i, "name": f"user-{i}", "score": i * 0.5} for i in range(10_000)]


PAYLOADS: list[tuple[str, Callable[[], object], Callable[[object], object]]] = [
    ("ndarray-f64-1M", _ndarray_f64, _pass_ndarray),
    ("ndarray-f32-3M", _ndarray_f32, _pass_ndarray),
    ("pandas-1M-rows", _pandas_frame, _pass_pandas),
    ("polars-1M-rows", _polars_frame, _pass_polars),
    ("pyarrow-1M-rows", _pyarrow_table, _pass_pyarrow),
    ("dict-100k-str-int", _dict_str_int, _pass_dict),
    ("list-1M-ints", _list_ints, _pass_list),
    ("list-10k-small-dicts", _list_small_dicts, _pass_list_of_dicts),
]


# --------------------------------------------------------------------------
# The three sides: save(value, path) -> what load needs; load(path, that) ->
# value


def _write(path: Path, *chunks) -> int:
    n = 0
    with open(path, "wb") as f:
        for c in chunks:
            n += f.write(c)
    return n


def _make_sides(rote):
    def save_rote(v, path):
        return rote._write_value(v, path)

    def load_rote(path, saved):
        serializer, size, checksum = saved
        return rote._read_value(serializer, path, size, checksum)

    def save_pickle(v, path):
        return _write(path, pickle.dumps(v, protocol=5))

    def load_pickle(path, _saved):
        with open(path, "rb") as f:
            data = f.read()
        return pickle.loads(data)

    # One file: u64 count, u64 lengths (pickle first, then each buffer), data.
    def save_oob(v, path):
        bufs = []
        head = pickle.dumps(v, protocol=5, buffer_callback=bufs.append)
        raws = [b.raw() for b in bufs]
        lengths = [len(head), *(r.nbytes for r in raws)]
        header = struct.pack(f"<Q{len(lengths)}Q", len(lengths), *lengths)
        return _write(path, header, head, *raws)

    def load_oob(path, _saved):
        size = os.path.getsize(path)
        buf = bytearray(size)
        with open(path, "rb", buffering=0) as f:
            view = memoryview(buf)
            got = 0
            while got < size:
                n = f.readinto(view[got:])
                if not n:
                    raise BenchError(f"{path}: short read")
                got += n
        (count,) = struct.unpack_from("<Q", buf, 0)
        lengths = struct.unpack_from(f"<{count}Q", buf, 8)
        pos = 8 + 8 * count
        parts = []
        for n in lengths:
            parts.append(view[pos : pos + n])
            pos += n
        return pickle.loads(parts[0], buffers=parts[1:])

    return {
        "rote": (save_rote, load_rote),
        "pickle5": (save_pickle, load_pickle),
        "pickle5-oob": (save_oob, load_oob),
    }


def _oob_buffers(v) -> int:
    bufs = []
    pickle.dumps(v, protocol=5, buffer_callback=bufs.append)
    return len(bufs)


def _timed(fn, *args) -> tuple[int, object]:
    gc.collect()
    t0 = time.perf_counter_ns()
    out = fn(*args)
    t1 = time.perf_counter_ns()
    return t1 - t0, out


def _summary(ns: list[int]) -> dict[str, object]:
    r = Result(Command("x", []), list(ns))
    return {
        "median_s": r.median,
        "mean_s": r.mean,
        "min_s": r.min,
        "max_s": r.max,
        "stdev_s": r.stdev,
        "rel_stdev": r.rel_stdev,
        "samples_s": r.samples,
    }


def _ratio(samples: dict[str, list[int]], a: str, b: str) -> dict[str, object]:
    results = {k: Result(Command(k, []), list(v)) for k, v in samples.items()}
    key = f"{a}/{b}"
    lo, hi = ratio_ci(results, key)
    return {
        "value": results[a].median / results[b].median,
        "ci95": [lo, hi],
    }


def bench_payload(rote, sides, tmp: Path, name, build, check, rounds: int):
    value = build()
    serializer, _size, _sum = rote._write_value(value, tmp / f"{name}.probe")
    (tmp / f"{name}.probe").unlink()
    nbytes_in = getattr(value, "nbytes", None)
    oob = _oob_buffers(value)
    active = ["rote", "pickle5"] + (["pickle5-oob"] if oob else [])
    paths = {s: tmp / f"{name}.{s}" for s in active}
    saved = {}
    # Untimed warm-up: write each file once, load it once (and check it).
    for s in active:
        save, load = sides[s]
        saved[s] = save(value, paths[s])
        loaded = load(paths[s], saved[s])
        check(loaded)
        del loaded
    sizes = {s: p.stat().st_size for s, p in paths.items()}

    save_ns = {s: [] for s in active}
    load_ns = {s: [] for s in active}
    for i in range(rounds):
        order = active if i % 2 == 0 else active[::-1]
        for s in order:
            save, _ = sides[s]
            # Each save makes a new file, as the cache does (it never
            # overwrites a blob); the old one goes untimed.
            paths[s].unlink()
            ns, saved[s] = _timed(save, value, paths[s])
            save_ns[s].append(ns)
        for s in order:
            _, load = sides[s]

            def load_and_pass(s=s, load=load):
                v = load(paths[s], saved[s])
                check(v)
                return v

            ns, loaded = _timed(load_and_pass)
            del loaded
            load_ns[s].append(ns)
        print(
            f"\r  {name}: round {i + 1}/{rounds}", end="", file=sys.stderr, flush=True
        )
    print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    for p in paths.values():
        p.unlink(missing_ok=True)

    doc = {
        "rote_serializer": serializer,
        "value_nbytes": nbytes_in,
        "file_bytes": sizes,
        "oob_buffers": oob,
        "save": {s: _summary(v) for s, v in save_ns.items()},
        "load": {s: _summary(v) for s, v in load_ns.items()},
        "ratios": {
            "save rote/pickle5": _ratio(save_ns, "rote", "pickle5"),
            "load rote/pickle5": _ratio(load_ns, "rote", "pickle5"),
        },
    }
    if oob:
        doc["ratios"]["save rote/pickle5-oob"] = _ratio(save_ns, "rote", "pickle5-oob")
        doc["ratios"]["load rote/pickle5-oob"] = _ratio(load_ns, "rote", "pickle5-oob")
    del value
    gc.collect()
    return doc


def bench_fingerprint(rote, rounds: int) -> dict[str, object]:
    import numpy as np

    n = FP_BYTES // 8
    a = np.random.default_rng(4).standard_normal(n)
    dst = np.empty_like(a)
    np.copyto(dst, a)  # touch every page of dst
    first = rote._fingerprint(a)
    if len(first) != 32:
        raise BenchError(f"rote._fingerprint returned {len(first)} bytes, not 32")
    fp_ns, copy_ns = [], []
    for i in range(rounds):
        pair = [("fp", fp_ns), ("copy", copy_ns)]
        for what, into in pair if i % 2 == 0 else pair[::-1]:
            t0 = time.perf_counter_ns()
            if what == "fp":
                fp = rote._fingerprint(a)
            else:
                np.copyto(dst, a)
            into.append(time.perf_counter_ns() - t0)
        if fp != first:
            raise BenchError("rote._fingerprint is not deterministic")
        print(
            f"\r  fingerprint: round {i + 1}/{rounds}",
            end="",
            file=sys.stderr,
            flush=True,
        )
    print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    fp_s = _summary(fp_ns)
    copy_s = _summary(copy_ns)
    fp_gbps = a.nbytes / fp_s["median_s"] / 1e9
    copy_rw_gbps = 2 * a.nbytes / copy_s["median_s"] / 1e9
    return {
        "array_bytes": a.nbytes,
        "fingerprint": fp_s,
        "copyto": copy_s,
        "fingerprint_gb_per_s": fp_gbps,
        "copyto_read_write_gb_per_s": copy_rw_gbps,
        "copyto_source_gb_per_s": a.nbytes / copy_s["median_s"] / 1e9,
        "fingerprint_over_copyto_read_write": fp_gbps / copy_rw_gbps,
    }


def _package_versions() -> dict[str, str | None]:
    out = {}
    for n in PACKAGES:
        try:
            out[n] = importlib.metadata.version(n)
        except importlib.metadata.PackageNotFoundError:
            out[n] = None
    return out


def _fmt_s(s: float) -> str:
    return f"{s:.3f} s" if s >= 1 else f"{s * 1e3:.2f} ms"


def _print_table(doc) -> None:
    f = sys.stderr
    print(
        f"== serialize: {doc['rounds']} rounds, alternating (Python {doc['python']})",
        file=f,
    )
    print(
        f"  {'payload':<21} {'rote uses':<10} {'save rote':>10} {'pickle5':>10} {'ratio':>6}"
        f" {'load rote':>10} {'pickle5':>10} {'ratio':>6} {'ld/oob':>7}",
        file=f,
    )
    for name, p in doc["payloads"].items():
        sv, ld, r = p["save"], p["load"], p["ratios"]
        oob = r.get("load rote/pickle5-oob", {}).get("value")
        print(
            f"  {name:<21} {p['rote_serializer']:<10}"
            f" {_fmt_s(sv['rote']['median_s']):>10} {_fmt_s(sv['pickle5']['median_s']):>10}"
            f" {r['save rote/pickle5']['value']:>6.2f}"
            f" {_fmt_s(ld['rote']['median_s']):>10} {_fmt_s(ld['pickle5']['median_s']):>10}"
            f" {r['load rote/pickle5']['value']:>6.2f}"
            f" {'-' if oob is None else f'{oob:.2f}':>7}",
            file=f,
        )
    fp = doc["fingerprint"]
    print(
        f"  fingerprint {fp['fingerprint_gb_per_s']:.2f} GB/s;"
        f" np.copyto {fp['copyto_read_write_gb_per_s']:.2f} GB/s read+write",
        file=f,
    )
    missed = [k for k, t in doc["targets"].items() if not t["met"]]
    print(
        f"  targets: {len(doc['targets']) - len(missed)}/{len(doc['targets'])} met"
        + (f"; MISSED: {', '.join(missed)}" if missed else ""),
        file=f,
    )


def run(args: argparse.Namespace) -> int:
    rote = _require_rote()
    import numpy as np

    pyver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    out = Path(args.out) if args.out else RESULTS_DIR / f"serialize-{pyver}.json"
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    fp_rounds = args.fp_rounds or (QUICK_FP_ROUNDS if args.quick else FP_ROUNDS)
    if rounds < 1 or fp_rounds < 1:
        raise BenchError("--rounds and --fp-rounds must be >= 1")
    selected = PAYLOADS
    if args.only:
        names = {n for n, _, _ in PAYLOADS}
        unknown = set(args.only) - names
        if unknown:
            raise BenchError(
                f"unknown payload(s) {sorted(unknown)}; known: {sorted(names)}"
            )
        selected = [p for p in PAYLOADS if p[0] in args.only]

    packages = _package_versions()
    work = REPO_ROOT / "target" / "serialize-bench"
    work.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    machine["python_versions"] = {
        "rote": f"CPython {sys.version.replace(chr(10), ' ')}"
    }
    machine["packages"] = packages
    machine["venv"] = os.environ.get("VIRTUAL_ENV")
    machine["rote_executable"] = sys.executable
    machine["filesystem_dir"] = str(work)

    sides = _make_sides(rote)
    payloads: dict[str, object] = {}
    skipped: dict[str, str] = {}
    tmp = Path(tempfile.mkdtemp(prefix="run-", dir=work))
    try:
        for name, build, check in selected:
            if name.startswith("polars") and packages["polars"] is None:
                skipped[name] = "polars is not installed in this venv"
                print(f"  {name}: skipped (no polars)", file=sys.stderr)
                continue
            print(f"measuring {name}", file=sys.stderr)
            payloads[name] = bench_payload(rote, sides, tmp, name, build, check, rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("measuring fingerprint of 1 GiB vs np.copyto", file=sys.stderr)
    fingerprint = bench_fingerprint(rote, fp_rounds)

    targets: dict[str, dict[str, object]] = {}
    for name, p in payloads.items():
        for op in ("save", "load"):
            r = p["ratios"][f"{op} rote/pickle5"]["value"]
            targets[f"{name} {op} rote/pickle5"] = {
                "max": MAX_RATIO,
                "met": r <= MAX_RATIO,
            }
        if name.startswith("ndarray") and (p["value_nbytes"] or 0) >= NDARRAY_MIN_BYTES:
            r = p["ratios"]["load rote/pickle5"]["value"]
            targets[f"{name} load rote/pickle5 (>= 1.5x faster)"] = {
                "max": round(NDARRAY_LOAD_MAX, 3),
                "met": r <= NDARRAY_LOAD_MAX,
            }
    targets["fingerprint GB/s"] = {
        "min": FINGERPRINT_MIN_GBPS,
        "met": fingerprint["fingerprint_gb_per_s"] >= FINGERPRINT_MIN_GBPS,
    }

    doc = {
        "benchmark": "serialize",
        "python": pyver,
        "rounds": rounds,
        "fingerprint_rounds": fp_rounds,
        "warmup": 1,
        "order": "alternating",
        "numpy_config": {
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")
        },
        "numpy": np.__version__,
        "machine": machine,
        "payloads": payloads,
        "skipped": skipped,
        "fingerprint": fingerprint,
        "targets": targets,
    }
    write_json(out, doc)
    _print_table(doc)
    print(f"  -> {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_ROUNDS} rounds ({QUICK_FP_ROUNDS} for the fingerprint)",
    )
    parser.add_argument(
        "--rounds", type=int, help=f"rounds per payload (default {ROUNDS})"
    )
    parser.add_argument(
        "--fp-rounds", type=int, help=f"fingerprint rounds (default {FP_ROUNDS})"
    )
    parser.add_argument(
        "--only", action="append", metavar="PAYLOAD", help="measure only this payload"
    )
    parser.add_argument(
        "--out", help="JSON output (default bench/results/serialize-<major.minor>.json)"
    )
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
