"""Memoization benchmark: rote against joblib.Memory and plain python.

    python bench/memo.py --rote PATH_TO_ROTE --python PATH_TO_VENV_PYTHON \\
        [--procs N] [--calls N] [--plain-calls N] [--runs N] [--warmup N] \\
        [--out bench/results/memo-<pyver>.json]

Three measurements (scripts and data generator in bench/memo/):

1. **hits**: the per-call cost of a cache hit, for five workloads
   (bench/memo/hits.py), median of many calls in one process, for
   ``rote run`` (top-level functions, ``rote.configure(min_duration=0)``),
   ``joblib.Memory(...).cache(f)`` and a plain call (the compute a hit
   saves). ``--procs`` processes per tool, alternating tools, each with a
   fresh cache; samples are pooled. Target: the geometric mean over the five
   workloads of joblib/rote (ratio of medians) >= 10.
2. **edit-rerun** on a paper-shaped pipeline (bench/memo/pipeline.py: parse a
   200k-row CSV, aggregate, train, write a report): before every rote and
   joblib run the report stage's source is edited (a "revision N" literal),
   so it misses while the three upstream stages hit. Fresh processes,
   alternating with plain python and the floor ``python -c "import numpy,
   pandas"``. Targets: rote-warm <= joblib-warm; rote-warm <= 1.15 x floor.
3. **cold-run overhead**: rote's first run (empty cache, stores the three
   stages) against plain python, in the same alternation. Target <= 1.10.

Every measured process gets OPENBLAS_NUM_THREADS=1. The benchmark checks,
loudly, that it measured what it claims: ``rote status --json`` after the
runs must show every hit call as a hit (hits: each workload stored once, then
CALLS hits; pipeline: parse/aggregate/train hit, report missed), and the
joblib pipeline's stored outputs must be untouched by the warm runs. A
missed target is ``"met": false`` and the exit status is still 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    DEFAULT_RUNS,
    DEFAULT_WARMUP,
    MAX_WARMUP,
    MIN_RUNS,
    BenchError,
    Command,
    Result,
    _failure,
    _run,
    machine_info,
    print_table,
    ratio_ci,
    write_json,
)

BENCH_DIR = Path(__file__).resolve().parent
MEMO_DIR = BENCH_DIR / "memo"
RESULTS_DIR = BENCH_DIR / "results"

PROCS = 3
CALLS = 200
PLAIN_CALLS = 9
WORKLOADS = {
    "leibniz-2M": "leibniz",
    "basel-2M": "basel",
    "qr-400": "qr",
    "bag-of-words-200k": "bag_of_words",
    "inverse-200": "inverse",
}
HIT_TOOLS = ("rote", "joblib", "plain")

HITS_MIN_SPEEDUP = 10.0  # geomean of joblib/rote per-call hit cost
TARGETS = {
    "rote-warm/joblib-warm": 1.0,
    "rote-warm/floor": 1.15,
    "rote-cold/python": 1.10,
}
EXTRA_RATIOS = ("joblib-warm/floor", "rote-warm/python", "joblib-warm/python")
UPSTREAM = ("parse", "aggregate", "train")
EDITED = "report"
REVISION = re.compile(r"revision \d+")
PACKAGES = ("numpy", "pandas", "joblib", "pyarrow")
CSV_ROWS = 200_000


# --------------------------------------------------------------------------
# Helpers


def _query(python: Path, code: str) -> str:
    proc = subprocess.run(
        [str(python), "-c", code],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise BenchError(
            f"{python} -c {code!r} failed (exit {proc.returncode}):\n{proc.stderr.rstrip()}"
        )
    return proc.stdout.strip()


def _package_versions(python: Path) -> dict[str, str | None]:
    code = (
        "import importlib.metadata as m, json\n"
        "def v(n):\n"
        "    try:\n"
        "        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        f"print(json.dumps({{n: v(n) for n in {list(PACKAGES)!r}}}))\n"
    )
    return json.loads(_query(python, code))


@dataclass
class Setup:
    """What a rote-versus-python benchmark run starts from."""

    python: Path
    rote: Path
    venv: Path
    pyver: str
    out: Path
    tmp: Path
    common_env: dict[str, str]
    rote_env: dict[str, str]
    machine: dict
    started: float


@contextlib.contextmanager
def peer_setup(
    args: argparse.Namespace, needed: tuple[str, ...], benchmark: str
) -> Iterator[Setup]:
    """Checks `--rote` and `--python` (a venv's python holding `needed`),
    records the machine, and yields a temporary directory to work in."""
    python = Path(args.python).absolute()  # a venv's python: do not resolve symlinks
    rote = Path(args.rote).absolute()
    if not os.access(rote, os.X_OK) or rote.is_dir():
        raise BenchError(f"--rote {args.rote}: not an executable file (build it first)")
    if not os.access(python, os.X_OK) or python.is_dir():
        raise BenchError(f"--python {args.python}: not an executable file")
    venv = python.parent.parent
    if not (venv / "pyvenv.cfg").is_file():
        raise BenchError(
            f"--python {args.python}: not a venv's python (no {venv / 'pyvenv.cfg'})"
        )
    pyver = _query(python, "import sys; print('%d.%d' % sys.version_info[:2])")
    packages = _package_versions(python)
    missing = [n for n in needed if packages.get(n) is None]
    if missing:
        raise BenchError(
            f"venv {venv} lacks {', '.join(missing)}: pip install {' '.join(missing)}"
        )
    out = Path(args.out) if args.out else RESULTS_DIR / f"{benchmark}-{pyver}.json"
    common_env = {"OPENBLAS_NUM_THREADS": "1"}
    rote_env = {**common_env, "VIRTUAL_ENV": str(venv)}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"rote-bench-{benchmark}-") as tmp_name:
        tmp = Path(tmp_name)
        machine = machine_info(
            [
                Command("python", [str(python)], env=common_env, cwd=tmp),
                Command(
                    "rote",
                    [str(rote), "run"],
                    env={**rote_env, "ROTE_CACHE_DIR": str(tmp / "version-cache")},
                    cwd=tmp,
                ),
            ]
        )
        machine["packages"] = packages
        machine["venv"] = str(venv)
        machine["rote_executable"] = str(rote)
        machine["loadavg_at_start"] = list(os.getloadavg())
        versions = machine["python_versions"]
        if versions.get("python") != versions.get("rote"):
            print(
                f"warning: interpreters differ: python={versions.get('python')!r}"
                f" rote={versions.get('rote')!r}",
                file=sys.stderr,
            )
        yield Setup(
            python, rote, venv, pyver, out, tmp, common_env, rote_env, machine, started
        )


def _capture(cmd: Command, what: str, timeout: float = 900) -> str:
    """Run once, untimed; return stdout; BenchError with stderr on failure."""
    try:
        proc = subprocess.run(
            [str(a) for a in cmd.argv],
            env=cmd.full_env(),
            cwd=cmd.cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"cannot run {cmd.label!r} ({what}): {e}") from e
    if proc.returncode != 0:
        raise _failure(cmd, what, proc.returncode, proc.stderr)
    return proc.stdout


def _rote_status(rote: Path, cache_dir: Path, env: dict[str, str]) -> dict:
    cmd = Command(
        "rote-status",
        [str(rote), "status", "--json"],
        env={**env, "ROTE_CACHE_DIR": str(cache_dir)},
        cwd=cache_dir.parent,
    )
    out = _capture(cmd, "rote status --json")
    try:
        return json.loads(out)
    except json.JSONDecodeError as e:
        raise BenchError(f"rote status --json printed no JSON ({e}):\n{out}") from e


def _functions(status: dict) -> dict[str, dict]:
    last = status.get("last_run") or {}
    return last.get("functions") or {}


def _expect_counts(
    status: dict, expected: dict[str, dict[str, int]], when: str
) -> None:
    """Fail unless last_run.functions has exactly these counts per function."""
    funcs = _functions(status)
    wrong = []
    for name, want in expected.items():
        got = funcs.get(f"__main__.{name}")
        if got is None:
            wrong.append(f"  __main__.{name}: absent from last_run.functions")
            continue
        bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if bad:
            detail = ", ".join(f"{k}={g} (want {w})" for k, (g, w) in bad.items())
            wrong.append(f"  __main__.{name}: {detail}; reasons {got.get('reasons')}")
    if wrong:
        raise BenchError(
            f"rote did not cache as the benchmark requires ({when}):\n"
            + "\n".join(wrong)
            + "\nrote status --json:\n"
            + json.dumps(status, indent=2, sort_keys=True)
        )


def _summary(ns: list[int]) -> dict[str, object]:
    qs = statistics.quantiles(ns, n=10) if len(ns) >= 2 else [ns[0]] * 9
    return {
        "median_s": statistics.median(ns) / 1e9,
        "mean_s": statistics.fmean(ns) / 1e9,
        "min_s": min(ns) / 1e9,
        "max_s": max(ns) / 1e9,
        "p10_s": qs[0] / 1e9,
        "p90_s": qs[8] / 1e9,
        "samples": len(ns),
    }


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


# --------------------------------------------------------------------------
# 1. Per-call hit cost


def bench_hits(
    rote: Path,
    python: Path,
    tmp: Path,
    rote_env: dict[str, str],
    common_env: dict[str, str],
    procs: int,
    calls: int,
    plain_calls: int,
) -> dict[str, object]:
    script = tmp / "hits.py"
    shutil.copyfile(MEMO_DIR / "hits.py", script)
    samples = {t: {w: [] for w in WORKLOADS} for t in HIT_TOOLS}
    first = {t: {w: [] for w in WORKLOADS} for t in HIT_TOOLS}
    proc_medians = {t: {w: [] for w in WORKLOADS} for t in HIT_TOOLS}
    for p in range(procs):
        order = HIT_TOOLS if p % 2 == 0 else HIT_TOOLS[::-1]
        for tool in order:
            cache = tmp / f"hits-{tool}-cache"
            shutil.rmtree(cache, ignore_errors=True)
            n = plain_calls if tool == "plain" else calls
            if tool == "rote":
                cmd = Command(
                    "rote",
                    [
                        str(rote),
                        "run",
                        "--cache-dir",
                        str(cache),
                        script.name,
                        "rote",
                        str(n),
                    ],
                    env=rote_env,
                    cwd=tmp,
                )
            elif tool == "joblib":
                cmd = Command(
                    "joblib",
                    [str(python), script.name, "joblib", str(n), str(cache)],
                    env=common_env,
                    cwd=tmp,
                )
            else:
                cmd = Command(
                    "plain",
                    [str(python), script.name, "plain", str(n)],
                    env=common_env,
                    cwd=tmp,
                )
            print(
                f"  hits: process {p + 1}/{procs}: {tool}", file=sys.stderr, flush=True
            )
            out = _capture(cmd, f"hits process {p + 1}")
            lines = [ln for ln in out.splitlines() if ln.startswith('{"tool"')]
            if len(lines) != 1:
                raise BenchError(f"hits.py under {tool} printed no JSON line:\n{out}")
            doc = json.loads(lines[0])
            if tool == "rote":
                status = _rote_status(rote, cache, rote_env)
                _expect_counts(
                    status,
                    {
                        f: {"misses": 1, "stored": 1, "hits": n}
                        for f in WORKLOADS.values()
                    },
                    f"hits process {p + 1}: each workload stored once, then {n} hits",
                )
            elif tool == "joblib":
                stored = list(cache.rglob("output.pkl"))
                if len(stored) != len(WORKLOADS):
                    raise BenchError(
                        f"joblib stored {len(stored)} outputs, not {len(WORKLOADS)}: {stored}"
                    )
            for w in WORKLOADS:
                got = doc["workloads"][w]
                samples[tool][w].extend(got["samples_ns"])
                first[tool][w].append(got["first_ns"])
                proc_medians[tool][w].append(statistics.median(got["samples_ns"]) / 1e9)
            shutil.rmtree(cache, ignore_errors=True)

    workloads: dict[str, object] = {}
    speedups = []
    for w in WORKLOADS:
        med = {t: statistics.median(samples[t][w]) for t in HIT_TOOLS}
        speedups.append(med["joblib"] / med["rote"])
        workloads[w] = {
            **{
                t: {
                    **_summary(samples[t][w]),
                    "process_medians_s": proc_medians[t][w],
                    "first_call_s": [ns / 1e9 for ns in first[t][w]],
                }
                for t in HIT_TOOLS
            },
            "ratios": {
                "joblib/rote": med["joblib"] / med["rote"],
                "plain/rote": med["plain"] / med["rote"],
                "plain/joblib": med["plain"] / med["joblib"],
            },
        }
    geomean = math.exp(statistics.fmean(math.log(s) for s in speedups))
    return {
        "procs_per_tool": procs,
        "calls_per_process": {"rote": calls, "joblib": calls, "plain": plain_calls},
        "order": "tools alternate process by process; within a process, workloads in turn",
        "workloads": workloads,
        "geomean joblib/rote": geomean,
    }


def print_hits(hits: dict[str, object], file=None) -> None:
    f = sys.stderr if file is None else file
    calls = hits["calls_per_process"]
    print(
        f"== memo hits: per-call median, {hits['procs_per_tool']} processes per tool,"
        f" {calls['rote']} hit calls each ({calls['plain']} plain)",
        file=f,
    )
    print(
        f"  {'workload':<18} {'rote':>10} {'joblib':>10} {'plain':>10} {'joblib/rote':>12}",
        file=f,
    )
    for w, d in hits["workloads"].items():
        print(
            f"  {w:<18} {_fmt(d['rote']['median_s']):>10} {_fmt(d['joblib']['median_s']):>10}"
            f" {_fmt(d['plain']['median_s']):>10} {d['ratios']['joblib/rote']:>11.1f}x",
            file=f,
        )
    g = hits["geomean joblib/rote"]
    ok = g >= HITS_MIN_SPEEDUP
    print(
        f"  geomean joblib/rote = {g:.2f}x  (target >= {HITS_MIN_SPEEDUP:.0f}x:"
        f" {'met' if ok else 'MISSED'})",
        file=f,
    )


# --------------------------------------------------------------------------
# 2 + 3. Edit-rerun and cold run of the pipeline


def _edit_report(script: Path, revision: int) -> None:
    """Rewrite the report stage's "revision N" literal (its only occurrence)."""
    text = script.read_text(encoding="utf-8")
    new, count = REVISION.subn(f"revision {revision}", text)
    if count != 1:
        raise BenchError(f"{script}: {count} 'revision N' literals, expected exactly 1")
    script.write_text(new, encoding="utf-8")


def _joblib_outputs(cache: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(p.relative_to(cache)): (st.st_ino, st.st_size, st.st_mtime_ns)
        for p in sorted(cache.rglob("output.pkl"))
        for st in [p.stat()]
    }


def measure_with_setup(
    commands: list[Command],
    setups: dict[str, object],
    runs: int,
    warmup: int,
) -> dict[str, Result]:
    """harness.measure, plus an untimed ``setups[label]()`` before every run.

    Alternating rounds of fresh processes, warm-ups first, stdout and stderr
    on /dev/null during timed runs, wall time from ``perf_counter_ns`` around
    ``subprocess.run`` (harness's ``_run``); the setup runs outside it.
    """
    if runs < MIN_RUNS:
        raise BenchError(f"runs={runs}: at least {MIN_RUNS} timed runs are required")
    if not 1 <= warmup <= MAX_WARMUP:
        raise BenchError(f"warmup={warmup}: must be between 1 and {MAX_WARMUP}")
    envs = {c.label: c.full_env() for c in commands}
    results = {c.label: Result(c) for c in commands}
    progress = sys.stderr.isatty()
    for i in range(warmup):
        for c in commands:
            if c.label in setups:
                setups[c.label]()
            _, rc, stderr = _run(c, envs[c.label], capture=True, quiet=True)
            if rc != 0:
                raise _failure(c, f"warm-up run {i + 1}", rc, stderr)
    for i in range(runs):
        for c in commands:
            if c.label in setups:
                setups[c.label]()
            elapsed, rc, _ = _run(c, envs[c.label], capture=False, quiet=True)
            if rc != 0:
                if c.label in setups:
                    setups[c.label]()
                _, _, stderr = _run(c, envs[c.label], capture=True, quiet=True)
                raise _failure(
                    c,
                    f"timed run {i + 1}/{runs}; stderr from an immediate re-run",
                    rc,
                    stderr,
                )
            results[c.label].samples_ns.append(elapsed)
        if progress:
            print(f"\r  round {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    if progress:
        print("\r" + " " * 30 + "\r", end="", file=sys.stderr, flush=True)
    return results


def bench_pipeline(
    rote: Path,
    python: Path,
    tmp: Path,
    rote_env: dict[str, str],
    common_env: dict[str, str],
    runs: int,
    warmup: int,
) -> tuple[dict[str, Result], dict[str, object]]:
    sys.path.insert(0, str(MEMO_DIR))
    import make_data

    data = tmp / "data.csv"
    print(f"  writing {CSV_ROWS} rows to {data}", file=sys.stderr, flush=True)
    csv_bytes = make_data.write_csv(data, CSV_ROWS)
    dirs = {}
    for side in ("plain", "rote", "joblib", "cold"):
        d = dirs[side] = tmp / side
        d.mkdir()
        shutil.copyfile(MEMO_DIR / "pipeline.py", d / "pipeline.py")
    shutil.copyfile(
        MEMO_DIR / "pipeline_joblib.py", dirs["joblib"] / "pipeline_joblib.py"
    )
    caches = {s: dirs[s] / "cache" for s in ("rote", "joblib", "cold")}

    def rote_cmd(label: str, side: str) -> Command:
        return Command(
            label,
            [
                str(rote),
                "run",
                "--cache-dir",
                str(caches[side]),
                "--min-duration",
                "0",
                "pipeline.py",
                str(data),
                "report.txt",
            ],
            env=rote_env,
            cwd=dirs[side],
        )

    commands = [
        Command(
            "python",
            [str(python), "pipeline.py", str(data), "report.txt"],
            env=common_env,
            cwd=dirs["plain"],
        ),
        Command(
            "floor",
            [str(python), "-c", "import numpy, pandas"],
            env=common_env,
            cwd=tmp,
        ),
        rote_cmd("rote-warm", "rote"),
        Command(
            "joblib-warm",
            [
                str(python),
                "pipeline_joblib.py",
                str(data),
                "report.txt",
                str(caches["joblib"]),
            ],
            env=common_env,
            cwd=dirs["joblib"],
        ),
        rote_cmd("rote-cold", "cold"),
    ]
    by_label = {c.label: c for c in commands}
    revision = {"rote": 0, "joblib": 0}

    def edit(side: str):
        def setup() -> None:
            revision[side] += 1
            _edit_report(dirs[side] / "pipeline.py", revision[side])

        return setup

    def wipe_cold() -> None:
        shutil.rmtree(caches["cold"], ignore_errors=True)

    # Prime the two warm caches (untimed), and check what rote stored.
    print("  priming the rote and joblib caches", file=sys.stderr, flush=True)
    _capture(by_label["rote-warm"], "priming run (cold)")
    _expect_counts(
        _rote_status(rote, caches["rote"], rote_env),
        {
            **{s: {"hits": 0, "misses": 1, "stored": 1} for s in UPSTREAM},
            EDITED: {"hits": 0, "misses": 1},
        },
        "priming run: the three upstream stages stored",
    )
    _capture(by_label["joblib-warm"], "priming run (cold)")
    primed = _joblib_outputs(caches["joblib"])
    if len(primed) != len(UPSTREAM):
        raise BenchError(
            f"joblib stored {len(primed)} outputs, not {len(UPSTREAM)}: {primed}"
        )

    print(
        f"measuring the pipeline: {', '.join(by_label)} ({runs} runs each, alternating)",
        file=sys.stderr,
        flush=True,
    )
    results = measure_with_setup(
        commands,
        {
            "rote-warm": edit("rote"),
            "joblib-warm": edit("joblib"),
            "rote-cold": wipe_cold,
        },
        runs,
        warmup,
    )

    # What was measured: the last warm runs hit upstream and ran the edited stage.
    warm_expect = {
        **{s: {"hits": 1, "misses": 0} for s in UPSTREAM},
        EDITED: {"hits": 0, "misses": 1},
    }
    status = _rote_status(rote, caches["rote"], rote_env)
    _expect_counts(status, warm_expect, "last warm run: upstream hits, report missed")
    _expect_counts(
        _rote_status(rote, caches["cold"], rote_env),
        {s: {"hits": 0, "misses": 1, "stored": 1} for s in UPSTREAM},
        "last cold run: upstream stored",
    )
    after = _joblib_outputs(caches["joblib"])
    if after != primed:
        raise BenchError(
            f"joblib recomputed a stage during the warm runs: outputs {primed} became {after}"
        )
    for side in ("rote", "joblib"):
        report = (dirs[side] / "report.txt").read_text(encoding="utf-8")
        if f"revision {revision[side]}:" not in report:
            raise BenchError(
                f"{side}'s last report does not carry the last edit (revision {revision[side]})"
            )
    plain_report = (dirs["plain"] / "report.txt").read_text(encoding="utf-8")
    for side in ("rote", "joblib", "cold"):
        other = (dirs[side] / "report.txt").read_text(encoding="utf-8")
        if REVISION.sub("", other) != REVISION.sub("", plain_report):
            raise BenchError(f"{side}'s report differs from plain python's")

    info = {
        "csv_rows": CSV_ROWS,
        "csv_bytes": csv_bytes,
        "edits": revision,
        "last_warm_run_functions": _functions(status),
        "checks": [
            "rote status after priming: parse/aggregate/train stored",
            "rote status after the last warm run: parse/aggregate/train 1 hit, 0 misses; report 1 miss",
            "rote status after the last cold run: parse/aggregate/train stored",
            "joblib's three output.pkl files unchanged (inode, size, mtime) by the warm runs",
            "the last rote and joblib reports carry the last edit; all reports equal python's but for it",
        ],
    }
    return results, info


# --------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    if args.procs < 1 or args.calls < 5 or args.plain_calls < 3:
        raise BenchError("need --procs >= 1, --calls >= 5, --plain-calls >= 3")
    with peer_setup(args, PACKAGES, "memo") as setup:
        python, rote, tmp = setup.python, setup.rote, setup.tmp
        common_env, rote_env = setup.common_env, setup.rote_env
        print("measuring per-call hit cost", file=sys.stderr, flush=True)
        hits_dir = tmp / "hits"
        hits_dir.mkdir()
        hits = bench_hits(
            rote,
            python,
            hits_dir,
            rote_env,
            common_env,
            args.procs,
            args.calls,
            args.plain_calls,
        )
        pipe_dir = tmp / "pipeline"
        pipe_dir.mkdir()
        results, pipeline_info = bench_pipeline(
            rote, python, pipe_dir, rote_env, common_env, args.runs, args.warmup
        )

    keys = [*TARGETS, *EXTRA_RATIOS]
    ratio_values = {}
    for key in keys:
        label, _, base = key.partition("/")
        ratio_values[key] = results[label].median / results[base].median
    g = hits["geomean joblib/rote"]
    targets = {
        "hits geomean joblib/rote": {
            "min": HITS_MIN_SPEEDUP,
            "met": g >= HITS_MIN_SPEEDUP,
        },
        **{
            k: {"max": limit, "met": ratio_values[k] <= limit}
            for k, limit in TARGETS.items()
        },
    }
    doc = {
        "benchmark": "memo",
        "python": setup.pyver,
        "machine": setup.machine,
        "wall_time_s": round(time.monotonic() - setup.started, 1),
        "loadavg_at_end": list(os.getloadavg()),
        "hits": hits,
        "pipeline": {
            **pipeline_info,
            "runs": args.runs,
            "warmup": args.warmup,
            "order": "alternating",
            "commands": {label: r.to_dict() for label, r in results.items()},
            "ratios": ratio_values,
            "ratios_ci95": {key: list(ratio_ci(results, key)) for key in keys},
        },
        "targets": targets,
    }
    write_json(setup.out, doc)
    print_hits(hits)
    print_table(
        "memo pipeline (edit-rerun, cold run)",
        results,
        TARGETS,
        {k: ratio_values[k] for k in EXTRA_RATIOS},
    )
    missed = [k for k, t in targets.items() if not t["met"]]
    print(
        f"  targets: {len(targets) - len(missed)}/{len(targets)} met"
        + (f"; MISSED: {', '.join(missed)}" if missed else ""),
        file=sys.stderr,
    )
    print(f"  -> {setup.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rote", required=True, help="path to the rote executable")
    parser.add_argument(
        "--python",
        required=True,
        help="the venv's python (VENV/bin/python) with numpy, pandas, joblib, pyarrow",
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=PROCS,
        help=f"hits: processes per tool (default {PROCS})",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=CALLS,
        help=f"hits: hit calls per process (default {CALLS})",
    )
    parser.add_argument(
        "--plain-calls",
        type=int,
        default=PLAIN_CALLS,
        help=f"hits: uncached calls per plain process (default {PLAIN_CALLS})",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        help=f"pipeline: timed runs each (default {DEFAULT_RUNS})",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP,
        help=f"pipeline: untimed warm-up runs each (default {DEFAULT_WARMUP})",
    )
    parser.add_argument(
        "--out", help="JSON output (default bench/results/memo-<major.minor>.json)"
    )
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
