"""Field-trial analysis: how do weather, soil and fertiliser dose drive yield?

A typical four-stage research script:

    load      read the raw CSV, normalise labels, drop duplicates and sensor
              glitches, fill gaps from neighbouring measurements
    features  build the design matrix: calendar terms, site indicators,
              readings with squares and interactions, trailing site weather
    fit       ridge regression via the normal equations, penalty chosen by
              cross-validation, standard errors from a bootstrap
    report    write a coefficient table to out/report.txt, print a summary

Each stage is a plain function of its arguments, so under ``rote run`` the
slow ones are memoized: edit ``report`` and re-run, and only ``report`` runs.

    python make_data.py             # once: writes data/measurements.csv
    python analyze.py               # or: rote run analyze.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent

READINGS = ("temperature_c", "humidity_pct", "rainfall_mm", "wind_ms", "soil_ph")
TARGET = "yield_t_ha"
PHYSICAL_RANGE = (  # reading, lowest and highest plausible value
    ("temperature_c", -60.0, 60.0),
    ("humidity_pct", 0.0, 100.0),
    ("rainfall_mm", 0.0, 500.0),
    ("wind_ms", 0.0, 80.0),
    ("soil_ph", 0.0, 14.0),
    (TARGET, 0.0, 30.0),
)


def load(path: Path) -> pd.DataFrame:
    """Read and clean the raw measurements, one row per plot measurement."""
    df = pd.read_csv(
        path, dtype={c: "float64" for c in (*READINGS, "dose_kg_ha", TARGET)}
    )
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
    df["site"] = df["site"].str.strip().str.lower().astype("category")
    df = df.drop_duplicates().sort_values(["site", "date"], kind="stable")
    df = df.reset_index(drop=True)

    # Sensor glitches: a reading outside its physical range, or outside
    # wide Tukey fences (quartiles -/+ 5 IQR) of the neighbouring
    # measurements at the same site (a centred window of about a month), is
    # discarded.  The fences are computed twice, the second time from the
    # readings that survived the first, and every gap is then filled with
    # the window's median.  A yield outside its range is a data-entry error:
    # the row is dropped.
    for col, lo, hi in PHYSICAL_RANGE:
        values = df[col].where(df[col].between(lo, hi))
        if col == TARGET:
            df[col] = values
            continue
        for _ in range(2):
            window = values.groupby(df["site"], observed=True, sort=True).rolling(
                401, center=True, min_periods=25
            )
            q1, med, q3 = (
                window.quantile(q).reset_index(level=0, drop=True)
                for q in (0.25, 0.5, 0.75)
            )
            fence = 5.0 * (q3 - q1)
            values = values.mask((values < q1 - fence) | (values > q3 + fence))
        df[col] = values.fillna(med)

    df = df.dropna(subset=[*READINGS, TARGET])
    return df.reset_index(drop=True)


def features(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Design matrix ``X``, response ``y`` and the column names of ``X``."""
    cols: dict[str, np.ndarray] = {}

    # Calendar: a linear trend and three seasonal harmonics.
    elapsed = df["date"] - df["date"].min()
    cols["trend_years"] = elapsed.dt.days.to_numpy(dtype=float) / 365.25
    day = df["date"].dt.day_of_year.to_numpy() - 1
    for k in (1, 2, 3):
        angle = 2.0 * np.pi * k * day / 365.25
        cols[f"season_sin{k}"] = np.sin(angle)
        cols[f"season_cos{k}"] = np.cos(angle)

    # Site indicators (first site is the baseline).
    sites = list(df["site"].cat.categories)
    site_codes = df["site"].cat.codes.to_numpy()
    for i, site in enumerate(sites[1:], start=1):
        cols[f"site[{site}]"] = (site_codes == i).astype(float)

    # Readings, their squares and all pairwise interactions.
    base = {
        "temperature": df["temperature_c"].to_numpy(),
        "humidity": df["humidity_pct"].to_numpy(),
        "log_rain": np.log1p(df["rainfall_mm"].clip(lower=0.0).to_numpy()),
        "wind": df["wind_ms"].to_numpy(),
        "soil_ph": df["soil_ph"].to_numpy(),
        "dose": df["dose_kg_ha"].to_numpy(),
    }
    cols.update(base)
    names = list(base)
    for i, a in enumerate(names):
        cols[f"{a}^2"] = base[a] ** 2
        for b in names[i + 1 :]:
            cols[f"{a}*{b}"] = base[a] * base[b]

    # Anomalies: each temperature and humidity reading against the site's
    # climatology for that time of year (its mean by day of year over all
    # years, smoothed by a circular 31-day moving average).
    for col in ("temperature_c", "humidity_pct"):
        clim = (
            df.groupby([df["site"], day], observed=True)[col]
            .mean()
            .unstack()
            .reindex(index=sites, columns=range(366))
        )
        clim = clim.T.fillna(clim.mean(axis=1)).T.to_numpy()
        padded = np.concatenate([clim[:, -15:], clim, clim[:, :15]], axis=1)
        csum = np.cumsum(np.pad(padded, ((0, 0), (1, 0))), axis=1)
        smooth = (csum[:, 31:] - csum[:, :-31]) / 31.0
        cols[f"{col.split('_')[0]}_anomaly"] = (
            df[col].to_numpy() - smooth[site_codes, day]
        )

    # Trailing site weather at the same site over the previous 3, 7, 14, 30
    # and 90 days, excluding the day itself: the mean of temperature,
    # humidity and their anomalies, the median of the skewed rainfall and
    # wind readings, and the spread of temperature.  The first day at a site
    # falls back to its own reading.  ``df`` is sorted by site and date,
    # which is also the order of the grouped rolling result.
    trailing = pd.DataFrame(
        {
            "site": df["site"],
            "date": df["date"],
            "temperature": df["temperature_c"],
            "humidity": df["humidity_pct"],
            "rainfall": df["rainfall_mm"],
            "wind": df["wind_ms"],
            "temperature_anomaly": cols["temperature_anomaly"],
            "humidity_anomaly": cols["humidity_anomaly"],
        }
    )
    by_site = trailing.groupby("site", observed=True, sort=True)
    for col in trailing.columns[2:]:
        centre = "median" if col in ("rainfall", "wind") else "mean"
        stats = [centre, "std"] if col == "temperature" else [centre]
        own = trailing[col].to_numpy()
        for days in (3, 7, 14, 30, 90):
            window = by_site.rolling(f"{days}D", on="date", closed="left")[col]
            rolled = window.agg(stats)
            typical = rolled[centre].to_numpy()
            cols[f"{col}_{centre}{days}d"] = np.where(np.isnan(typical), own, typical)
            if "std" in stats:
                cols[f"{col}_sd{days}d"] = np.nan_to_num(rolled["std"].to_numpy())

    # Daily site weather, known by the morning of the measurement day:
    # growing degree days since 1 January (daily means above 5 degC), and
    # the number of frost days (a reading below 0 degC) and hot days (above
    # 28 degC) in the previous 30 and 90 days.
    daily = (
        df.groupby(["site", "date"], observed=True, sort=True)["temperature_c"]
        .agg(["mean", "min", "max"])
        .reset_index()
    )
    warmth = (daily["mean"] - 5.0).clip(lower=0.0)
    year = [daily["site"], daily["date"].dt.year]
    daily["growing_degree_days"] = (
        warmth.groupby(year, observed=True).cumsum() - warmth
    ) / 100.0
    daily["frost"] = (daily["min"] < 0.0).astype(float)
    daily["hot"] = (daily["max"] > 28.0).astype(float)
    by_site_day = daily.groupby("site", observed=True, sort=True)
    extremes = ["growing_degree_days"]
    for kind in ("frost", "hot"):
        for days in (30, 90):
            window = by_site_day.rolling(f"{days}D", on="date", closed="left")
            count = window[kind].sum().to_numpy()
            daily[f"{kind}_days{days}d"] = np.nan_to_num(count)
            extremes.append(f"{kind}_days{days}d")
    merged = df[["site", "date"]].merge(
        daily[["site", "date", *extremes]],
        on=["site", "date"],
        how="left",
        validate="many_to_one",
    )
    for name in extremes:
        cols[name] = merged[name].to_numpy(dtype=float)

    # Dose response may differ by site.
    for i, site in enumerate(sites[1:], start=1):
        cols[f"dose*site[{site}]"] = base["dose"] * (site_codes == i)

    names = sorted(cols)
    X = np.column_stack([cols[n] for n in names])
    # Winsorise every column at its 0.1st and 99.9th percentiles, so that a
    # handful of extreme rows cannot dominate the fit.
    lo, hi = np.quantile(X, [0.001, 0.999], axis=0)
    X = np.clip(X, lo, hi)
    y = df[TARGET].to_numpy(dtype=float)
    return X, y, names


def _ridge(gram: np.ndarray, xty: np.ndarray, alpha: float) -> np.ndarray:
    return np.linalg.solve(gram + alpha * np.eye(len(gram)), xty)


def fit(
    X: np.ndarray,
    y: np.ndarray,
    *,
    alphas: tuple[float, ...] = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2),
    folds: int = 5,
    n_boot: int = 6,
    seed: int = 7,
) -> dict:
    """Ridge regression on standardised features.

    Minimises ``mean((y - Z b)**2) + alpha * |b|**2`` where ``Z`` is ``X``
    with every column scaled to mean 0 and standard deviation 1, so each
    coefficient is the effect of one standard deviation of its feature.
    ``alpha`` is chosen by ``folds``-fold cross-validation; standard errors
    come from a small bootstrap, ``n_boot`` resamples of the rows.
    """
    rng = np.random.default_rng(seed)
    n, p = X.shape
    sd = X.std(axis=0)
    sd[sd == 0.0] = 1.0
    Z = X - X.mean(axis=0)
    Z /= sd
    yc = y - y.mean()

    # Cross-validation: the training Gram matrix of each fold is the full
    # one minus the held-out rows' contribution (all folds keep the full
    # sample's centring, which with this many rows changes nothing).
    gram, xty = Z.T @ Z, Z.T @ yc
    fold_of = rng.permutation(n) % folds
    sse = np.zeros(len(alphas))
    for k in range(folds):
        held = fold_of == k
        Zk, yk = Z[held], yc[held]
        g_train, b_train = gram - Zk.T @ Zk, xty - Zk.T @ yk
        for j, alpha in enumerate(alphas):
            resid = yk - Zk @ _ridge(g_train, b_train, alpha * (n - held.sum()))
            sse[j] += resid @ resid
    best = int(np.argmin(sse))
    alpha = alphas[best]
    cv_rmse = float(np.sqrt(sse[best] / n))

    coef = _ridge(gram, xty, alpha * n)
    resid = yc - Z @ coef
    r2 = 1.0 - float(resid @ resid) / float(yc @ yc)

    # Bootstrap: refit on resampled rows, each resample centred on its own
    # means, and take the spread of the coefficients.
    boots = np.empty((n_boot, p))
    for r in range(n_boot):
        idx = rng.integers(0, n, n)
        Zr, yr = Z[idx], y[idx]
        m, ym = Zr.mean(axis=0), yr.mean()
        g_r = Zr.T @ Zr - n * np.outer(m, m)
        b_r = Zr.T @ yr - n * ym * m
        boots[r] = _ridge(g_r, b_r, alpha * n)
    se = boots.std(axis=0, ddof=1)

    return {
        "coef": coef,
        "se": se,
        "intercept": float(y.mean()),
        "alpha": float(alpha),
        "cv_rmse": cv_rmse,
        "r2": r2,
        "n": int(n),
        "n_boot": int(n_boot),
    }


def _num(x: float, spec: str) -> str:
    """Format ``x`` by ``spec``, never as a negative zero."""
    text = format(float(x), spec)
    if "-" in text and not text.strip("+- ").replace("0", "").replace(".", ""):
        text = text.replace("-", "+" if "+" in spec else " ")
    return text


def report(model: dict, names: list[str], path: Path) -> None:
    """Write the coefficient table to ``path`` and print a short summary."""
    coef, se = model["coef"], model["se"]
    t = np.divide(coef, se, out=np.zeros_like(coef), where=se > 0)
    order = sorted(range(len(names)), key=lambda i: (-round(abs(t[i]), 4), names[i]))

    width = max(len(n) for n in names)
    lines = [
        "Yield model: ridge regression on standardised features",
        "(coefficients in t/ha per standard deviation of the feature)",
        "",
        f"observations      {model['n']:>10,}",
        f"features          {len(names):>10}",
        f"ridge alpha       {model['alpha']:>10.0e}",
        f"cv rmse (t/ha)    {model['cv_rmse']:>10.4f}",
        f"in-sample R^2     {model['r2']:>10.4f}",
        f"bootstrap reps    {model['n_boot']:>10}",
        f"intercept (t/ha)  {model['intercept']:>10.4f}",
        "",
        f"{'feature':<{width}}  {'coef':>9}  {'se':>9}  {'t':>8}  {'95% interval':>20}",
        "-" * (width + 54),
    ]
    for i in order:
        lo, hi = coef[i] - 1.96 * se[i], coef[i] + 1.96 * se[i]
        lines.append(
            f"{names[i]:<{width}}  {_num(coef[i], '>9.4f')}  {_num(se[i], '>9.4f')}"
            f"  {_num(t[i], '>8.2f')}  [{_num(lo, '>8.4f')}, {_num(hi, '>8.4f')}]"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    print(
        f"model: {model['n']:,} rows x {len(names)} features, "
        f"R^2 {model['r2']:.3f}, CV RMSE {model['cv_rmse']:.3f} t/ha"
    )
    weather = [i for i in order if not names[i].startswith(("site[", "dose*site["))]
    print("strongest weather, soil and dose effects:")
    for i in weather[:5]:
        print(
            f"  {names[i]:<{width}}  {_num(coef[i], '+.3f')} +/- {_num(se[i], '.3f')}"
        )


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the field-trial yield model.")
    parser.add_argument(
        "--data",
        type=Path,
        default=HERE / "data" / "measurements.csv",
        help="input CSV (default: data/measurements.csv, made by make_data.py)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "out",
        help="output directory (default: out/ next to this script)",
    )
    args = parser.parse_args(argv)

    if not args.data.exists():
        print(f"{args.data} not found; run make_data.py first", file=sys.stderr)
        return 2

    df = load(args.data)
    print(f"loaded {len(df):,} measurements from {df['site'].nunique()} sites")
    X, y, names = features(df)
    print(f"built {X.shape[1]} features")
    model = fit(X, y)
    report(model, names, args.out / "report.txt")
    print(f"full table: {_shown(args.out / 'report.txt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
