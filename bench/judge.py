"""Purity judge benchmark: what watching a call costs when it does nothing
impure.

    python bench/judge.py --rote PATH_TO_ROTE --python PATH_TO_VENV_PYTHON \\
        [--runs N] [--out bench/results/judge-<pyver>.json]

Two measurements, each in fresh processes, rote and python alternating:

1. **hot loop**: a pure-Python loop of 3M ``math.sqrt`` calls inside a
   function that ``rote run`` makes a candidate (``--min-duration 1000``:
   judged on every run, never stored, so every run executes it), timed in
   the process around the call (module level is not a candidate), against
   the same script under plain python. Target: rote/python < 1.30. rote
   watches no CALL event here: sys.monitoring CALL is enabled only on code
   objects that name a clock or the process id (bench/results says which
   mechanism), and the audit hook and the C-library layer see nothing in a
   loop that makes no system call.
2. **pipeline**: bench/memo/pipeline.py (200k-row CSV) under ``rote run
   --min-duration 1000`` (the four stages are candidates, keyed, looked up,
   watched and judged, never stored) against ``rote run --disable`` (the
   same process with no caching at all): the judge's cost with its keying.
   Target: < 1.05.

Exit status 0 even when a target is missed (``"met": false``), 2 on a failed
check (the loop must print the same total under both).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import BenchError, Command, measure, print_table, ratio_ci, write_json
from memo import CSV_ROWS, MEMO_DIR, _capture, peer_setup

HOT_MAX = 1.30
PIPELINE_MAX = 1.05
RUNS = 12
PACKAGES = ("numpy", "pandas")

HOT = """
import math
import sys
import time


def hot(n):
    total = 0.0
    for i in range(n):
        total += math.sqrt(i)
    return total


t0 = time.perf_counter_ns()
total = hot(int(sys.argv[1]))
elapsed = time.perf_counter_ns() - t0
print(elapsed, round(total, 3))
"""
HOT_N = 3_000_000


def _hot_once(
    label: str, cmd: list[str], cwd: Path, env: dict[str, str]
) -> tuple[int, str]:
    out = _capture(
        Command(label, [*cmd, "hot.py", str(HOT_N)], env, cwd), "hot loop", 600
    )
    elapsed, total = out.split()
    return int(elapsed), total


def bench_hot(setup, runs: int) -> dict[str, object]:
    d = setup.tmp / "hot"
    d.mkdir()
    (d / "hot.py").write_text(HOT)
    sides = {
        "python": ([str(setup.python)], setup.common_env),
        "rote": (
            [
                str(setup.rote),
                "run",
                "--cache-dir",
                str(d / "cache"),
                "--min-duration",
                "1000",
            ],
            setup.rote_env,
        ),
    }
    samples: dict[str, list[int]] = {s: [] for s in sides}
    totals = set()
    print(
        f"measuring the hot loop ({runs} processes each)", file=sys.stderr, flush=True
    )
    for i in range(runs + 1):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))
        for side in order:
            cmd, env = sides[side]
            ns, total = _hot_once(side, cmd, d, env)
            totals.add(total)
            if i > 0:  # the first round warms the page cache
                samples[side].append(ns)
    if len(totals) != 1:
        raise BenchError(f"hot loop totals differ between rote and python: {totals}")
    ratios = [r / p for r, p in zip(samples["rote"], samples["python"])]
    med = statistics.median(samples["rote"]) / statistics.median(samples["python"])
    rng_ratios = sorted(ratios)
    return {
        "n": HOT_N,
        "ns": samples,
        "ratio": med,
        "paired_ratios": ratios,
        "range": [rng_ratios[0], rng_ratios[-1]],
    }


def bench_pipeline(setup, runs: int):
    sys.path.insert(0, str(MEMO_DIR))
    import make_data

    d = setup.tmp / "pipeline"
    d.mkdir()
    data = d / "data.csv"
    make_data.write_csv(data, CSV_ROWS)
    (d / "pipeline.py").write_text((MEMO_DIR / "pipeline.py").read_text())
    script = ["pipeline.py", str(data), "report.txt"]
    base = [str(setup.rote), "run", "--cache-dir", str(d / "cache")]
    commands = [
        Command(
            "rote-judged", [*base, "--min-duration", "1000", *script], setup.rote_env, d
        ),
        Command("rote-disabled", [*base, "--disable", *script], setup.rote_env, d),
    ]
    print(f"measuring the pipeline ({runs} runs each)", file=sys.stderr, flush=True)
    return measure(commands, runs, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rote", required=True)
    parser.add_argument("--python", required=True, help="the venv's python")
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    try:
        with peer_setup(args, PACKAGES, "judge") as setup:
            hot = bench_hot(setup, args.runs)
            results = bench_pipeline(setup, args.runs)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    key = "rote-judged/rote-disabled"
    pipe_ratio = results["rote-judged"].median / results["rote-disabled"].median
    pipe_ci = list(ratio_ci(results, key))
    targets = {
        "hot loop rote/python": {
            "max": HOT_MAX,
            "value": hot["ratio"],
            "range": hot["range"],
            "met": hot["ratio"] < HOT_MAX,
        },
        key: {
            "max": PIPELINE_MAX,
            "value": pipe_ratio,
            "ci95": pipe_ci,
            "met": pipe_ratio < PIPELINE_MAX,
            "decided": pipe_ci[1] < PIPELINE_MAX or pipe_ci[0] >= PIPELINE_MAX,
        },
    }
    doc = {
        "benchmark": "judge",
        "python": setup.pyver,
        "machine": setup.machine,
        "wall_time_s": round(time.monotonic() - setup.started, 1),
        "loadavg_at_end": list(os.getloadavg()),
        "mechanism": (
            "no sys.monitoring event in the loop: CALL is enabled only on project "
            "code objects naming perf_counter/monotonic/process_time/getpid/..., "
            "and a site calling anything else is disabled after its first event; "
            "clock and randomness reads by compiled code come from the C-library "
            "layer (one relaxed load per intercepted call when idle); files, "
            "processes, network and dynamic code from the audit hook; global "
            "random state compared at entry and exit"
        ),
        "hot_loop": hot,
        "pipeline": {
            "commands": {label: r.to_dict() for label, r in results.items()},
            "ratio": pipe_ratio,
            "ci95": pipe_ci,
        },
        "targets": targets,
    }
    out = setup.out
    write_json(out, doc)
    print(
        f"hot loop: rote/python {hot['ratio']:.3f} (range {hot['range'][0]:.3f}"
        f"-{hot['range'][1]:.3f}), target < {HOT_MAX}",
        file=sys.stderr,
    )
    # print_table prints the ratio, its interval and the verdict.
    print_table("judge: pipeline, judged vs disabled", results, {key: PIPELINE_MAX})
    print(f"  -> {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
