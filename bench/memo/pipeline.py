"""A paper-shaped analysis script: the memo benchmark's edit-rerun workload.

    python pipeline.py DATA.csv REPORT.txt

parse the CSV (pandas) -> aggregate per-subject and per-site features (pandas)
-> fit a logistic regression by gradient descent (numpy) -> write a report.
The first three stages are the slow, pure ones; ``report`` writes a file, and
is the stage the benchmark edits between runs (it rewrites the "revision N"
literal in it). ``pipeline_joblib.py`` runs the same stages under
joblib.Memory. All code runs under ``__main__`` or in the four stage
functions, so that rote wraps exactly these four.
"""

import sys

import numpy as np
import pandas as pd

MEASURES = ["x1", "x2", "x3", "x4", "x5", "x6"]


def parse(path):
    return pd.read_csv(
        path,
        parse_dates=["date"],
        dtype={"site": "category", "condition": "category"},
    )


def aggregate(visits):
    x = visits[MEASURES]
    by_subject = x.groupby(visits["subject"])
    by_site = x.groupby(visits["site"], observed=True)
    features = pd.DataFrame(index=visits.index)
    for col in MEASURES:
        features[col] = (x[col] - by_site[col].transform("mean")) / by_site[
            col
        ].transform("std")
        features[f"{col}_subject_mean"] = by_subject[col].transform("mean")
        features[f"{col}_subject_rank"] = by_subject[col].rank(pct=True)
    month = visits["date"].dt.to_period("M")
    features["visits_in_month"] = visits.groupby(
        [visits["subject"], month]
    ).visit.transform("count")
    features["site_month_dose"] = visits.groupby(
        [visits["site"], month], observed=True
    ).dose.transform("median")
    features["dose"] = visits["dose"]
    features["treated"] = (visits["condition"] == "treatment").astype(float)
    features["outcome"] = visits["outcome"].astype(float)
    return features


def train(features, iterations=120, rate=0.5, l2=1e-3):
    columns = [c for c in features.columns if c != "outcome"]
    x = features[columns].to_numpy(dtype=np.float64)
    y = features["outcome"].to_numpy(dtype=np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    x = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    w = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        w -= rate * (x.T @ (p - y) / len(y) + l2 * w)
    p = np.clip(1.0 / (1.0 + np.exp(-(x @ w))), 1e-12, 1 - 1e-12)
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return {
        "columns": columns,
        "mean": mean,
        "scale": scale,
        "weights": w,
        "loss": loss,
    }


def report(features, model, out_path):
    x = features[model["columns"]].to_numpy(dtype=np.float64)
    z = (
        model["weights"][0]
        + ((x - model["mean"]) / model["scale"]) @ model["weights"][1:]
    )
    accuracy = float(np.mean((z > 0) == (features["outcome"].to_numpy() > 0.5)))
    lines = [
        f"Cohort report, revision 0: {len(features)} visits",
        f"log-loss {model['loss']:.4f}, accuracy {accuracy:.4f}",
        "",
        "weights (standardized features):",
    ]
    order = np.argsort(-np.abs(model["weights"][1:]))
    for i in order:
        lines.append(f"  {model['columns'][i]:<22} {model['weights'][1 + i]:+.4f}")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return accuracy


if __name__ == "__main__":
    data_path, report_path = sys.argv[1], sys.argv[2]
    visits = parse(data_path)
    features = aggregate(visits)
    model = train(features)
    report(features, model, report_path)
