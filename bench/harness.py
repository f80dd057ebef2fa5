"""Benchmark harness for rote: alternating wall-clock timing of whole processes.

Library use::

    from harness import Command, measure, write_results

    results = measure([
        Command("python", ["python", "x.py"]),
        Command("rote", ["rote", "run", "x.py"], env={"VIRTUAL_ENV": "/venv"}),
    ])
    write_results("bench/results/x.json", "x", results, {"rote/python": 1.15})

Command line::

    python bench/harness.py machine
    python bench/harness.py compare --runs 20 --target rote/python=1.15 \\
        --out bench/results/x.json python='python x.py' rote='rote run x.py'

Rules this module enforces or makes easy:

* every command runs in a fresh process; commands are ALTERNATED
  (A, B, A, B, ...) so that machine drift hits all of them equally;
* at least ``MIN_RUNS`` timed runs per command, after 1-2 untimed warm-ups;
* results are compared as ratios against a peer measured in the same run,
  never as absolute times, and the machine is recorded next to them.

Stdlib only; Python 3.12+.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BenchError",
    "Command",
    "Result",
    "machine_info",
    "measure",
    "print_table",
    "ratio_ci",
    "ratios",
    "write_results",
]

DEFAULT_RUNS = 20
DEFAULT_WARMUP = 2
MIN_RUNS = 10
MAX_WARMUP = 2
# Environment variables whose values can change timings; recorded in results.
RELEVANT_ENV = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
)
_STDERR_LIMIT = 4000  # characters of a failing command's stderr to show

REPO_ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """A benchmark could not be run (bad arguments, failing command...)."""


@dataclass(frozen=True)
class Command:
    """One named command line.

    ``env`` holds overrides applied on top of the harness's own environment
    (a value of ``None`` removes the variable); ``cwd`` is the working
    directory (default: the harness's).
    """

    label: str
    argv: Sequence[str]
    env: Mapping[str, str | None] = field(default_factory=dict)
    cwd: str | os.PathLike[str] | None = None

    def full_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def to_dict(self) -> dict[str, object]:
        return {
            "argv": [str(a) for a in self.argv],
            "env": dict(self.env),
            "cwd": None if self.cwd is None else str(self.cwd),
        }


@dataclass
class Result:
    """Timed samples of one command (nanoseconds internally, seconds out)."""

    command: Command
    samples_ns: list[int] = field(default_factory=list)

    @property
    def samples(self) -> list[float]:
        return [ns / 1e9 for ns in self.samples_ns]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    @property
    def stdev(self) -> float:
        s = self.samples
        return statistics.stdev(s) if len(s) > 1 else 0.0

    @property
    def rel_stdev(self) -> float:
        """stdev / median: the run's noise level."""
        return self.stdev / self.median if self.median else 0.0

    def to_dict(self) -> dict[str, object]:
        d = self.command.to_dict()
        d.update(
            median_s=self.median,
            mean_s=self.mean,
            min_s=self.min,
            max_s=self.max,
            stdev_s=self.stdev,
            rel_stdev=self.rel_stdev,
            samples_s=self.samples,
            runs=len(self.samples_ns),
        )
        return d


# --------------------------------------------------------------------------
# Running


def _coerce_commands(
    pairs: Sequence[Command] | Mapping[str, Sequence[str]],
) -> list[Command]:
    if isinstance(pairs, Mapping):
        commands = [Command(label, list(argv)) for label, argv in pairs.items()]
    else:
        commands = list(pairs)
    if len(commands) < 2:
        raise BenchError("measure() needs at least two commands to compare")
    labels = [c.label for c in commands]
    if len(set(labels)) != len(labels):
        raise BenchError(f"duplicate command labels: {labels}")
    for c in commands:
        if not c.label or "/" in c.label:
            raise BenchError(f"bad label {c.label!r}: must be non-empty, no '/'")
        if not c.argv:
            raise BenchError(f"command {c.label!r} has an empty argv")
    return commands


def _failure(cmd: Command, what: str, rc: int, stderr: str | None) -> BenchError:
    msg = [
        f"benchmark command {cmd.label!r} failed with exit status {rc} ({what})",
        f"  argv: {shlex.join(str(a) for a in cmd.argv)}",
    ]
    if cmd.env:
        msg.append(f"  env overrides: {dict(cmd.env)}")
    if cmd.cwd is not None:
        msg.append(f"  cwd: {cmd.cwd}")
    if stderr is None:
        msg.append("  (stderr not available)")
    else:
        text = stderr.rstrip()
        if len(text) > _STDERR_LIMIT:
            text = "[...]\n" + text[-_STDERR_LIMIT:]
        msg.append("--- stderr ---")
        msg.append(text if text else "(empty)")
        msg.append("--- end stderr ---")
    return BenchError("\n".join(msg))


def _run(
    cmd: Command, env: dict[str, str], *, capture: bool, quiet: bool
) -> tuple[int, int, str | None]:
    """Run once; return (elapsed_ns, returncode, stderr-if-captured)."""
    if not quiet:
        out = err = None
    else:
        out = subprocess.DEVNULL
        err = subprocess.PIPE if capture else subprocess.DEVNULL
    argv = [str(a) for a in cmd.argv]
    try:
        t0 = time.perf_counter_ns()
        proc = subprocess.run(
            argv,
            env=env,
            cwd=cmd.cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            check=False,
        )
        t1 = time.perf_counter_ns()
    except OSError as e:
        raise BenchError(
            f"cannot run command {cmd.label!r} ({shlex.join(argv)}): {e}"
        ) from e
    stderr = None
    if proc.stderr is not None:
        stderr = proc.stderr.decode(errors="replace")
    return t1 - t0, proc.returncode, stderr


def measure(
    pairs: Sequence[Command] | Mapping[str, Sequence[str]],
    runs: int = DEFAULT_RUNS,
    warmup: int = DEFAULT_WARMUP,
    *,
    quiet: bool = True,
    progress: bool = True,
) -> dict[str, Result]:
    """Time two or more commands, alternating them run by run.

    Each command first gets ``warmup`` untimed runs (stderr captured so a
    broken command fails fast with its message), then ``runs`` timed rounds
    of A, B, ... in order. Every run is a fresh process with stdin, stdout and
    stderr on /dev/null (unless ``quiet`` is false: then output is inherited).
    Wall time is ``time.perf_counter_ns`` around ``subprocess.run``.

    A non-zero exit aborts with :class:`BenchError` showing the command's
    stderr (for a timed run it is re-run once with stderr captured, as timed
    runs do not capture).

    Returns ``{label: Result}`` in the order given.
    """
    commands = _coerce_commands(pairs)
    progress = progress and sys.stderr.isatty()
    if runs < MIN_RUNS:
        raise BenchError(
            f"runs={runs}: at least {MIN_RUNS} timed runs per command are required"
        )
    if not 1 <= warmup <= MAX_WARMUP:
        raise BenchError(f"warmup={warmup}: must be between 1 and {MAX_WARMUP}")
    envs = {c.label: c.full_env() for c in commands}
    results = {c.label: Result(c) for c in commands}

    for i in range(warmup):
        for c in commands:
            _, rc, stderr = _run(c, envs[c.label], capture=True, quiet=quiet)
            if rc != 0:
                raise _failure(c, f"warm-up run {i + 1}", rc, stderr)

    for i in range(runs):
        for c in commands:
            elapsed, rc, _ = _run(c, envs[c.label], capture=False, quiet=quiet)
            if rc != 0:
                _, rc2, stderr = _run(c, envs[c.label], capture=True, quiet=quiet)
                what = f"timed run {i + 1}/{runs}; stderr below is from an immediate re-run"
                if rc2 == 0:
                    what += ", which succeeded: the command is flaky"
                else:
                    what += f", which failed too (exit {rc2})"
                raise _failure(c, what, rc, stderr)
            results[c.label].samples_ns.append(elapsed)
        if progress:
            print(f"\r  round {i + 1}/{runs}", end="", file=sys.stderr, flush=True)
    if progress:
        print("\r" + " " * 30 + "\r", end="", file=sys.stderr, flush=True)
    return results


def ratios(results: Mapping[str, Result], baseline: str) -> dict[str, float]:
    """Each command's median divided by ``baseline``'s median.

    Keys are ``"<label>/<baseline>"``; the baseline itself is omitted.
    """
    if baseline not in results:
        raise BenchError(f"baseline {baseline!r} not among {list(results)}")
    base = results[baseline].median
    return {
        f"{label}/{baseline}": r.median / base
        for label, r in results.items()
        if label != baseline
    }


def ratio_ci(
    results: Mapping[str, Result],
    key: str,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap confidence interval of a ``"<label>/<baseline>"`` ratio of medians.

    Rounds are resampled with replacement, keeping each round's pair of
    samples together: alternating runs share the machine's drift, and the
    pairing cancels it. (Commands with unequal sample counts are resampled
    independently.) Deterministic for a given seed. Tells whether a ratio's
    distance from its target is more than noise.
    """
    label, _, baseline = key.partition("/")
    _ratio(results, key)  # validates the key
    a, b = results[label].samples_ns, results[baseline].samples_ns
    rng = random.Random(seed)
    boot = []
    for _ in range(resamples):
        if len(a) == len(b):
            idx = rng.choices(range(len(a)), k=len(a))
            ra, rb = [a[i] for i in idx], [b[i] for i in idx]
        else:
            ra, rb = rng.choices(a, k=len(a)), rng.choices(b, k=len(b))
        boot.append(statistics.median(ra) / statistics.median(rb))
    boot.sort()
    tail = (1 - level) / 2
    return boot[round(tail * (resamples - 1))], boot[
        round((1 - tail) * (resamples - 1))
    ]


def _ratio(results: Mapping[str, Result], key: str) -> float:
    label, sep, baseline = key.partition("/")
    if not sep or label not in results or baseline not in results:
        raise BenchError(
            f"ratio {key!r}: expected '<label>/<baseline>' with labels from {list(results)}"
        )
    return results[label].median / results[baseline].median


# --------------------------------------------------------------------------
# Machine description


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return None


def _cpu_model() -> str | None:
    text = _read("/proc/cpuinfo") or ""
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return platform.processor() or None


def _mem_total_bytes() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            try:
                kib = int(parts[1])
            except (IndexError, ValueError):
                return None
            return kib * 1024
    return None


def _os_pretty_name() -> str | None:
    for line in (_read("/etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            value = line.split("=", 1)[1].strip()
            try:
                parsed = shlex.split(value)
            except ValueError:
                return value
            return parsed[0] if parsed else value
    return None


def _git(*args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _git_info() -> dict[str, object]:
    commit = _git("rev-parse", "--verify", "--quiet", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit or None,
        "dirty": None if status is None else bool(status),
    }


_VERSION_SCRIPT = "import platform, sys\nprint(platform.python_implementation(), sys.version.replace('\\n', ' '))\n"


def interpreter_version(cmd: Command) -> str | None:
    """Ask an interpreter for its version by running a tiny script.

    ``cmd.argv`` is the prefix the script path is appended to, e.g.
    ``["python"]`` or ``["rote", "run"]``. Returns None if it fails.
    """
    with tempfile.TemporaryDirectory(prefix="rote-bench-ver-") as tmp:
        script = Path(tmp) / "version.py"
        script.write_text(_VERSION_SCRIPT)
        try:
            proc = subprocess.run(
                [*(str(a) for a in cmd.argv), str(script)],
                env=cmd.full_env(),
                cwd=cmd.cwd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def machine_info(interpreters: Iterable[Command] = ()) -> dict[str, object]:
    """Describe the machine a result was measured on (no hostname).

    ``interpreters``: commands whose argv, with a script path appended, runs
    a Python script; each one's version is recorded under its label.
    """
    cpus = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = cpus
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": cpus,
        "cpu_count_usable": usable,
        "mem_total_bytes": _mem_total_bytes(),
        "kernel": platform.release(),
        "os": _os_pretty_name(),
        "machine": platform.machine(),
        "harness_python": platform.python_version(),
        "python_versions": {c.label: interpreter_version(c) for c in interpreters},
        "git": _git_info(),
        "date_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "env": {name: os.environ.get(name) for name in RELEVANT_ENV},
    }


# --------------------------------------------------------------------------
# Output


def _fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f} s"
    return f"{seconds * 1e3:.1f} ms"


def print_table(
    name: str,
    results: Mapping[str, Result],
    targets: Mapping[str, float] | None = None,
    extra_ratios: Mapping[str, float] | None = None,
    file=None,
) -> None:
    """Print a compact human summary (default: to stderr)."""
    f = sys.stderr if file is None else file
    targets = targets or {}
    runs = sorted({len(r.samples_ns) for r in results.values()})
    print(f"== {name}: {'/'.join(map(str, runs))} runs each, alternating", file=f)
    width = max([5, *(len(label) for label in results)])
    cols = ("median", "mean", "min", "max", "stdev", "noise")
    print(f"  {'label':<{width}} " + " ".join(f"{c:>9}" for c in cols), file=f)
    for label, r in results.items():
        vals = [_fmt_s(v) for v in (r.median, r.mean, r.min, r.max, r.stdev)]
        vals.append(f"{r.rel_stdev * 100:.1f}%")
        print(f"  {label:<{width}} " + " ".join(f"{v:>9}" for v in vals), file=f)
    shown = dict(extra_ratios or {})
    for key in targets:
        shown[key] = _ratio(results, key)
    for key, value in shown.items():
        lo, hi = ratio_ci(results, key)
        line = f"  {key} = {value:.3f} [95% CI {lo:.3f}-{hi:.3f}]"
        if key in targets:
            ok = value <= targets[key]
            line += f"  (target <= {targets[key]:.2f}: {'met' if ok else 'MISSED'})"
        print(line, file=f)


def write_json(path: Path, doc: dict[str, object]) -> None:
    """Pretty, key-sorted JSON; temporary file + fsync + rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are meant to be read
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(
    path: str | os.PathLike[str],
    name: str,
    results: Mapping[str, Result],
    targets: Mapping[str, float] | None = None,
    *,
    machine: Mapping[str, object] | None = None,
    extra_ratios: Iterable[str] = (),
    warmup: int | None = None,
    quiet: bool = False,
) -> dict[str, object]:
    """Write results as pretty, key-sorted JSON, atomically; print a table.

    ``targets`` maps ``"<label>/<baseline>"`` to the maximum allowed ratio of
    medians. Ratios are reported for every target and for ``extra_ratios``.
    ``machine`` defaults to :func:`machine_info` (without interpreter
    versions). Returns the document written.
    """
    targets = dict(targets or {})
    keys = list(dict.fromkeys([*targets, *extra_ratios]))
    ratio_values = {key: _ratio(results, key) for key in keys}
    counts = {len(r.samples_ns) for r in results.values()}
    doc: dict[str, object] = {
        "benchmark": name,
        "machine": dict(machine) if machine is not None else machine_info(),
        "runs": counts.pop() if len(counts) == 1 else sorted(counts),
        "warmup": warmup,
        "order": "alternating",
        "commands": {label: r.to_dict() for label, r in results.items()},
        "ratios": ratio_values,
        "ratios_ci95": {key: list(ratio_ci(results, key)) for key in keys},
        "targets": {
            key: {"max": limit, "met": ratio_values[key] <= limit}
            for key, limit in targets.items()
        },
    }
    out = Path(path)
    write_json(out, doc)
    if not quiet:
        print_table(
            name,
            results,
            targets,
            {k: ratio_values[k] for k in keys if k not in targets},
        )
        print(f"  -> {out}", file=sys.stderr)
    return doc


# --------------------------------------------------------------------------
# CLI


def _parse_kv(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise BenchError(f"{what} {text!r}: expected KEY=VALUE")
    return key, value


def _cli_compare(args: argparse.Namespace) -> int:
    env = dict(_parse_kv(e, "--env") for e in args.env)
    commands = []
    for spec in args.commands:
        label, cmdline = _parse_kv(spec, "command")
        commands.append(Command(label, shlex.split(cmdline), env=env, cwd=args.cwd))
    targets = {}
    for spec in args.target:
        key, limit = _parse_kv(spec, "--target")
        try:
            targets[key] = float(limit)
        except ValueError:
            raise BenchError(f"--target {spec!r}: {limit!r} is not a number") from None
    baseline = args.baseline or commands[0].label
    labels = {c.label for c in commands}
    if baseline not in labels:
        raise BenchError(f"--baseline {baseline!r}: not among {sorted(labels)}")
    for key in targets:
        label, sep, base = key.partition("/")
        if not sep or base not in labels or label not in labels:
            raise BenchError(
                f"ratio {key!r}: expected '<label>/<baseline>' with labels from {sorted(labels)}"
            )
    results = measure(commands, runs=args.runs, warmup=args.warmup)
    extra = list(ratios(results, baseline))
    if args.out:
        write_results(
            args.out,
            args.name,
            results,
            targets,
            extra_ratios=extra,
            warmup=args.warmup,
        )
    else:
        shown = {k: _ratio(results, k) for k in extra if k not in targets}
        print_table(args.name, results, targets, shown)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("machine", help="print machine info as JSON")
    p = sub.add_parser("compare", help="time commands against each other, alternating")
    p.add_argument(
        "commands",
        nargs="+",
        metavar="LABEL=CMDLINE",
        help="command line, split like a shell",
    )
    p.add_argument(
        "--name", default="compare", help="benchmark name (default: compare)"
    )
    p.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        help=f"timed runs each (default {DEFAULT_RUNS})",
    )
    p.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP,
        help=f"warm-up runs each (default {DEFAULT_WARMUP})",
    )
    p.add_argument(
        "--baseline", help="label ratios are taken against (default: the first)"
    )
    p.add_argument(
        "--target", action="append", default=[], metavar="LABEL/BASELINE=MAX"
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="env override for all",
    )
    p.add_argument("--cwd", help="working directory for all commands")
    p.add_argument("--out", help="write JSON results here")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "machine":
            json.dump(machine_info(), sys.stdout, indent=2, sort_keys=True)
            print()
            return 0
        return _cli_compare(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
