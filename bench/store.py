"""Cache-store benchmark: lookup, insert and file-check latency of rote-store.

    python bench/store.py [--out bench/results/store.json] [--lookups N] \\
        [--inserts N] [--file-mib N] [--file-rounds N] [--checksum-rounds N]

Runs `cargo run --release --locked -p rote-store --example store_bench`
(rote-store has no Python in it: no interpreter is found or linked), which
works in a temporary directory under target/store-bench (the repository's
filesystem, not a tmpfs) and prints one JSON object; this script adds the
machine, the filesystem and the targets, and writes it atomically.

Target (ratio of medians, measured alternating in one process):

* lookup at 100,000 entries / lookup at 100 entries <= 1.5

The exit status is 0 even when the target is missed: the JSON says
`"met": false`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from harness import REPO_ROOT, BenchError, machine_info, write_json

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = REPO_ROOT / "target" / "store-bench"

LOOKUP_RATIO = "lookup-large/lookup-small"
TARGETS = {LOOKUP_RATIO: 1.5}


def _cargo_argv(args: argparse.Namespace) -> list[str]:
    return [
        args.cargo,
        "run",
        "--release",
        "--locked",
        "-p",
        "rote-store",
        "--example",
        "store_bench",
        "--",
        "--dir",
        str(WORK_DIR),
        "--lookups",
        str(args.lookups),
        "--inserts",
        str(args.inserts),
        "--file-mib",
        str(args.file_mib),
        "--file-rounds",
        str(args.file_rounds),
        "--checksum-rounds",
        str(args.checksum_rounds),
    ]


def _run_bench(argv: list[str]) -> dict[str, object]:
    """Run the example; cargo's and the example's stderr go to ours."""
    try:
        proc = subprocess.run(
            argv,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            check=False,
        )
    except OSError as e:
        raise BenchError(f"cannot run {argv[0]}: {e}") from e
    if proc.returncode != 0:
        raise BenchError(
            f"store_bench failed with exit status {proc.returncode} (its stderr is above)"
        )
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise BenchError(f"store_bench printed no JSON object: {e}") from e
    if not isinstance(doc, dict) or not {"lookup", "insert", "file_digest"} <= set(doc):
        raise BenchError("store_bench's JSON lacks lookup, insert or file_digest")
    return doc


def _version(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def _filesystem(path: Path) -> dict[str, str | None]:
    """The mount `path` is on: its mount point, type and device."""
    best = ("", None, None)
    try:
        lines = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        lines = []
    target = str(path.resolve())
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        # Spaces and the like are octal-escaped (\040) in /proc/self/mounts.
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), parts[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[0]):
            best = (point, parts[2], parts[0])
    return {"mount_point": best[0] or None, "type": best[1], "device": best[2]}


def _ratios(bench: dict) -> dict[str, float]:
    lookup, insert, files = bench["lookup"], bench["insert"], bench["file_digest"]
    return {
        LOOKUP_RATIO: lookup["ratio_median"],
        "lookup-large-p90/lookup-small-p90": lookup["ratio_p90"],
        "insert-large/insert-small": insert["fsync_on"]["ratio_median"],
        "insert-large-nofsync/insert-small-nofsync": insert["fsync_off"][
            "ratio_median"
        ],
        "insert-small/insert-small-nofsync": insert["fsync_on_over_off_small"],
        "insert-large/insert-large-nofsync": insert["fsync_on_over_off_large"],
        "file-rehash/file-trusted": files["speedup"],
        "file-rehash-cold/file-trusted": files["speedup_cold"],
        "blake3/xxh3": bench["checksum"]["blake3_over_xxh3"],
    }


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def print_table(doc: dict, file=None) -> None:
    """A compact human summary (default: to stderr)."""
    f = sys.stderr if file is None else file
    bench = doc["results"]
    config = bench["config"]
    small, large = config["small_entries"], config["large_entries"]
    rows = [
        (f"lookup, {small} entries", bench["lookup"]["small"]),
        (f"lookup, {large} entries", bench["lookup"]["large"]),
    ]
    for mode in ("fsync_on", "fsync_off"):
        label = mode.replace("_", " ")
        rows.append(
            (f"insert, {small} entries, {label}", bench["insert"][mode]["small"])
        )
        rows.append(
            (f"insert, {large} entries, {label}", bench["insert"][mode]["large"])
        )
    files = bench["file_digest"]
    mib = files["file_bytes"] >> 20
    rows += [
        (f"file_digest {mib} MiB, trusted", files["trusted"]),
        (f"file_digest {mib} MiB, re-hash", files["rehash_store"]),
        (f"file_digest {mib} MiB, re-hash cold", files["rehash_store_cold"]),
        (f"blake3 of {mib} MiB file", files["rehash_blake3_direct"]),
    ]
    width = max(len(label) for label, _ in rows)
    print("== store: alternating within each group", file=f)
    print(f"  {'measure':<{width}} {'median':>9} {'p90':>9} {'n':>6}", file=f)
    for label, stats in rows:
        print(
            f"  {label:<{width}} {_fmt(stats['median_s']):>9}"
            f" {_fmt(stats['p90_s']):>9} {stats['n']:>6}",
            file=f,
        )
    c = bench["checksum"]
    print(
        f"  checksum GB/s: xxh3 {c['xxh3_64_gb_per_s']:.1f}, blake3"
        f" {c['blake3_gb_per_s']:.1f} (rayon {c['blake3_rayon_gb_per_s']:.1f})",
        file=f,
    )
    for key, value in doc["ratios"].items():
        line = f"  {key} = {value:.3f}"
        if key in doc["targets"]:
            target = doc["targets"][key]
            line += f"  (target <= {target['max']:.2f}: {'met' if target['met'] else 'MISSED'})"
        print(line, file=f)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else RESULTS_DIR / "store.json"
    argv = _cargo_argv(args)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    filesystem = _filesystem(WORK_DIR)
    if filesystem["type"] in ("tmpfs", "ramfs"):
        print(
            f"warning: {WORK_DIR} is on a {filesystem['type']}: fsync costs nothing there",
            file=sys.stderr,
        )
    print(f"running: {' '.join(argv)}", file=sys.stderr)
    bench = _run_bench(argv)

    machine = machine_info()
    machine["filesystem"] = filesystem
    machine["rustc"] = _version(["rustc", "--version"])
    ratios = _ratios(bench)
    doc: dict[str, object] = {
        "benchmark": "store",
        "machine": machine,
        "command": {"argv": argv, "cwd": str(REPO_ROOT)},
        "order": "alternating",
        "results": bench,
        "ratios": ratios,
        "targets": {
            key: {"max": limit, "met": ratios[key] <= limit}
            for key, limit in TARGETS.items()
        },
    }
    write_json(out, doc)
    print_table(doc)
    print(f"  -> {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lookups",
        type=int,
        default=20_000,
        help="timed lookups per store (default 20000, at least 10000)",
    )
    parser.add_argument(
        "--inserts",
        type=int,
        default=250,
        help="timed inserts per store and fsync mode (default 250, at least 200)",
    )
    parser.add_argument(
        "--file-mib",
        type=int,
        default=100,
        help="size of the hashed file and checksum buffer (default 100)",
    )
    parser.add_argument(
        "--file-rounds",
        type=int,
        default=20,
        help="file_digest rounds (default 20, at least 20)",
    )
    parser.add_argument(
        "--checksum-rounds",
        type=int,
        default=20,
        help="checksum rounds (default 20, at least 5)",
    )
    parser.add_argument("--cargo", default="cargo", help="cargo to build with")
    parser.add_argument("--out", help="JSON output (default bench/results/store.json)")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
