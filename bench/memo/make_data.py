"""Deterministic CSV for the memo benchmark's pipeline (stdlib only).

    python bench/memo/make_data.py OUT.csv [--rows N] [--seed S]

A made-up field study: one row per visit of a subject to a site, with six
measurements, a dose, a condition and a binary outcome drawn from a logistic
model of them. Same seed and row count, same bytes, on any Python >= 3.12
(``random.Random`` with an int seed is stable across versions).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
from pathlib import Path

ROWS = 200_000
SEED = 0
SUBJECTS = 2_000
SITES = [
    "aarhus", "basel", "cork", "delft", "essen", "faro",
    "graz", "haarlem", "innsbruck", "jena", "kiel", "lund",
]  # fmt: skip
CONDITIONS = ["control", "treatment"]
START = dt.date(2019, 1, 1)
DAYS = 4 * 365
HEADER = "visit,subject,site,date,condition,x1,x2,x3,x4,x5,x6,dose,outcome\n"


def write_csv(path: str | Path, rows: int = ROWS, seed: int = SEED) -> int:
    """Write the CSV; return its size in bytes."""
    rng = random.Random(seed)
    subject_site = [rng.randrange(len(SITES)) for _ in range(SUBJECTS)]
    subject_bias = [rng.gauss(0.0, 0.5) for _ in range(SUBJECTS)]
    weights = [0.8, -0.5, 0.3, 0.0, 1.1, -0.9]
    lines = [HEADER]
    for visit in range(rows):
        s = rng.randrange(SUBJECTS)
        cond = rng.randrange(2)
        xs = [rng.gauss(0.0, 1.0) for _ in range(6)]
        dose = rng.uniform(0.0, 10.0) if cond else 0.0
        z = (
            subject_bias[s]
            + 0.15 * dose
            - 0.6
            + sum(w * x for w, x in zip(weights, xs))
        )
        outcome = 1 if rng.random() < 1.0 / (1.0 + math.exp(-z)) else 0
        day = START + dt.timedelta(days=rng.randrange(DAYS))
        lines.append(
            f"{visit},{s},{SITES[subject_site[s]]},{day.isoformat()},{CONDITIONS[cond]},"
            + ",".join(f"{x:.5f}" for x in xs)
            + f",{dose:.3f},{outcome}\n"
        )
    text = "".join(lines)
    Path(path).write_text(text, encoding="ascii")
    return len(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="CSV file to write")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"default {ROWS}")
    parser.add_argument("--seed", type=int, default=SEED, help=f"default {SEED}")
    args = parser.parse_args(argv)
    n = write_csv(args.out, args.rows, args.seed)
    print(f"{args.out}: {args.rows} rows, {n} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
