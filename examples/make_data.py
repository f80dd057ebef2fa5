"""Generate the demo input for ``analyze.py``: ``data/measurements.csv``.

The repository ships no data; this script synthesises a field-trial data set
deterministically (fixed seed, fixed float formatting), so every checkout gets
a byte-identical CSV.  Each row is one plot measurement: the day it was taken,
the site, a handful of weather and soil readings, the fertiliser dose applied
and the resulting yield.  Like real field data it is a little messy: site
labels are inconsistently spelled, some readings are missing, a few are
sensor glitches, a few yields were entered in the wrong unit and some rows
were exported twice.

The file is written under a temporary name and renamed into place, so an
existing ``measurements.csv`` is always complete; in that case the script does
nothing (pass ``--force`` to regenerate).

    python make_data.py            # -> data/measurements.csv (~200k rows)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_PATH = HERE / "data" / "measurements.csv"

COLUMNS = [
    "date",
    "site",
    "temperature_c",
    "humidity_pct",
    "rainfall_mm",
    "wind_ms",
    "soil_ph",
    "dose_kg_ha",
    "yield_t_ha",
]

SITES = [
    "aberdeen",
    "bergen",
    "cordoba",
    "davos",
    "eindhoven",
    "faro",
    "gdansk",
    "hamar",
    "innsbruck",
    "jena",
    "kaunas",
    "lyon",
]


def is_complete(path: Path) -> bool:
    """True if ``path`` holds a finished CSV with the expected header."""
    try:
        with path.open("rb") as f:
            header = f.readline().decode("utf-8", "replace").strip()
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return False
            f.seek(-1, os.SEEK_END)
            last = f.read(1)
    except OSError:
        return False
    return header == ",".join(COLUMNS) and last == b"\n"


def generate(n_rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-01", "2023-12-31", freq="D")
    n_days, n_sites = len(days), len(SITES)

    # Per-site climate: a mean temperature, a seasonal amplitude and a latent
    # AR(1) "weather regime" shared by all plots at the site on that day.
    site_temp = rng.normal(11.0, 4.0, n_sites)
    site_amp = rng.uniform(5.0, 11.0, n_sites)
    site_yield = rng.normal(0.0, 0.6, n_sites)
    site_ph = rng.uniform(5.6, 7.4, n_sites)
    regime = np.zeros((n_days, n_sites))
    shocks = rng.normal(0.0, 1.0, (n_days, n_sites))
    for t in range(1, n_days):
        regime[t] = 0.93 * regime[t - 1] + 0.37 * shocks[t]

    day = rng.integers(0, n_days, n_rows)
    site = rng.integers(0, n_sites, n_rows)
    doy = days.day_of_year.to_numpy()[day]
    season = np.cos(2.0 * np.pi * (doy - 200) / 365.25)
    reg = regime[day, site]

    temperature = site_temp[site] + site_amp[site] * season + 2.0 * reg
    temperature += rng.normal(0.0, 1.5, n_rows)
    humidity = np.clip(72.0 - 1.1 * reg * 4.0 + rng.normal(0.0, 9.0, n_rows), 5, 100)
    rainfall = rng.gamma(0.6, 4.0, n_rows) * (humidity / 70.0) ** 2
    wind = rng.weibull(2.0, n_rows) * 4.5
    soil_ph = site_ph[site] + rng.normal(0.0, 0.25, n_rows)
    dose = rng.choice([0, 40, 80, 120, 160], n_rows)

    # Yield: site effect, a concave dose response that depends on temperature
    # and soil pH, a lagged weather effect (via the regime), noise.
    t_opt = -(((temperature - 17.0) / 13.0) ** 2)
    response = (
        6.0
        + site_yield[site]
        + 1.2 * t_opt
        + 0.018 * dose
        - 0.00006 * dose**2
        + 0.0009 * dose * (temperature - 12.0) / 5.0
        - 0.35 * (soil_ph - 6.5) ** 2
        + 0.04 * np.sqrt(rainfall)
        - 0.05 * wind
        + 0.45 * reg
        + 0.25 * season
    )
    response += rng.normal(0.0, 0.55, n_rows)
    response = np.maximum(response, 0.05)

    df = pd.DataFrame(
        {
            "date": days[day].strftime("%Y-%m-%d"),
            "site": np.asarray(SITES, dtype=object)[site],
            "temperature_c": temperature,
            "humidity_pct": humidity,
            "rainfall_mm": rainfall,
            "wind_ms": wind,
            "soil_ph": soil_ph,
            "dose_kg_ha": dose,
            "yield_t_ha": response,
        }
    )

    # Messiness: inconsistent site spellings, missing readings, glitches,
    # yields in the wrong unit and duplicated exports.
    upper = rng.random(n_rows) < 0.05
    df.loc[upper, "site"] = df.loc[upper, "site"].str.upper()
    padded = rng.random(n_rows) < 0.03
    df.loc[padded, "site"] = " " + df.loc[padded, "site"] + " "
    for col in ["temperature_c", "humidity_pct", "rainfall_mm", "wind_ms", "soil_ph"]:
        df.loc[rng.random(n_rows) < 0.01, col] = np.nan
        glitch = rng.random(n_rows) < 0.002
        df.loc[glitch, col] = df.loc[glitch, col] * rng.choice(
            [-10.0, 10.0], glitch.sum()
        )
    typo = rng.random(n_rows) < 0.001  # yield entered in kg/ha, not t/ha
    df.loc[typo, "yield_t_ha"] = df.loc[typo, "yield_t_ha"] * 1000.0
    dup = rng.choice(n_rows, n_rows // 200, replace=False)
    df = pd.concat([df, df.iloc[dup]], ignore_index=True)

    order = np.lexsort((rng.random(len(df)), df["date"].to_numpy()))
    return df.iloc[order].reset_index(drop=True)[COLUMNS]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="CSV to write")
    parser.add_argument(
        "--rows", type=int, default=200_000, help="rows before duplicates"
    )
    parser.add_argument("--seed", type=int, default=20240517)
    parser.add_argument(
        "--force", action="store_true", help="regenerate even if present"
    )
    args = parser.parse_args()

    out: Path = args.out
    if not args.force and is_complete(out):
        print(f"{out} exists, nothing to do")
        return 0

    df = generate(args.rows, args.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        df.to_csv(tmp, index=False, float_format="%.4f", lineterminator="\n")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"wrote {len(df):,} rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
