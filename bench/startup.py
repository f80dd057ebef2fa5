"""Startup benchmark: `rote run X` against `python X` for a trivial script.

    python bench/startup.py --rote PATH_TO_ROTE --python PATH_TO_VENV_PYTHON \\
        [--runs N] [--warmup N] [--out bench/results/startup-<pyver>.json]

Two pairs, each measured alternating (python, rote, python, rote, ...):

* empty:   `python empty.py`   vs `rote run empty.py`    target rote/python <= 1.15
* imports: `python imports.py` vs `rote run imports.py`  target rote/python <= 1.05
  (imports.py is `import numpy, pandas`)

Both sides get OPENBLAS_NUM_THREADS=1; rote gets VIRTUAL_ENV set to the venv
that --python belongs to (rote picks its venv from VIRTUAL_ENV). The exit
status is 0 even when a target is missed: the JSON says `"met": false`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import (
    DEFAULT_RUNS,
    DEFAULT_WARMUP,
    BenchError,
    Command,
    machine_info,
    measure,
    write_results,
)

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"

SCRIPTS = {
    "empty": "",
    "imports": "import numpy, pandas\n",
}
TARGETS = {
    "empty": 1.15,
    "imports": 1.05,
}
PACKAGES = ("numpy", "pandas")


def _query(python: Path, code: str) -> str:
    try:
        proc = subprocess.run(
            [str(python), "-c", code],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError(f"cannot run {python}: {e}") from e
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


def run(args: argparse.Namespace) -> int:
    # Keep the venv's python as given: resolving symlinks would leave the venv.
    python = Path(args.python).absolute()
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
    missing = [n for n, v in packages.items() if v is None]
    if missing:
        raise BenchError(
            f"venv {venv} lacks {', '.join(missing)}: install them (pip install {' '.join(missing)})"
        )
    out = Path(args.out) if args.out else RESULTS_DIR / f"startup-{pyver}.json"

    common_env = {"OPENBLAS_NUM_THREADS": "1"}
    rote_env = {**common_env, "VIRTUAL_ENV": str(venv)}

    with tempfile.TemporaryDirectory(prefix="rote-bench-startup-") as tmp:
        for stem, text in SCRIPTS.items():
            (Path(tmp) / f"{stem}.py").write_text(text)

        machine = machine_info(
            [
                Command("python", [str(python)], env=common_env, cwd=tmp),
                Command("rote", [str(rote), "run"], env=rote_env, cwd=tmp),
            ]
        )
        machine["packages"] = packages
        machine["venv"] = str(venv)
        versions = machine["python_versions"]
        if versions.get("python") != versions.get("rote"):
            print(
                f"warning: interpreters differ: python={versions.get('python')!r} rote={versions.get('rote')!r}",
                file=sys.stderr,
            )

        results = {}
        targets = {}
        for stem in SCRIPTS:
            py_label, rote_label = f"python-{stem}", f"rote-{stem}"
            print(
                f"measuring {stem}: python {stem}.py vs rote run {stem}.py",
                file=sys.stderr,
            )
            results.update(
                measure(
                    [
                        Command(
                            py_label,
                            [str(python), f"{stem}.py"],
                            env=common_env,
                            cwd=tmp,
                        ),
                        Command(
                            rote_label,
                            [str(rote), "run", f"{stem}.py"],
                            env=rote_env,
                            cwd=tmp,
                        ),
                    ],
                    runs=args.runs,
                    warmup=args.warmup,
                )
            )
            targets[f"{rote_label}/{py_label}"] = TARGETS[stem]

    write_results(out, "startup", results, targets, machine=machine, warmup=args.warmup)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rote", required=True, help="path to the rote executable")
    parser.add_argument(
        "--python", required=True, help="path to the venv's python (VENV/bin/python)"
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=DEFAULT_RUNS,
        help=f"timed runs each (default {DEFAULT_RUNS})",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP,
        help=f"untimed warm-up runs each (default {DEFAULT_WARMUP})",
    )
    parser.add_argument(
        "--out", help="JSON output (default bench/results/startup-<major.minor>.json)"
    )
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
