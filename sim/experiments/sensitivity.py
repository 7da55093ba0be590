"""Sensitivity analysis of a sweep: point means, replicate noise and each method's indices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .designs import Design, method_of
from .spec import SweepSpec

INDEX_COLUMNS = ["output", "parameter", "index", "value", "conf"]


def noise_share(summary: pd.DataFrame, output: str) -> float:
    """Mean within-point variance over total variance: the share of replicate noise.

    Both are population variances (ddof=0) over the finished runs, so that total =
    within + between (law of total variance) and the share lies in [0, 1]; with sample
    variances a seed effect common to all points (common random numbers) can push the
    ratio above 1. NaN with one replicate per point or a constant output.

    Args:
        summary: The experiment's summary, one row per run.
        output: The output column.

    Returns:
        The share.
    """
    ok = summary[summary["status"] == "ok"]
    v = ok[[output, "point"]].dropna()
    x = v[output].to_numpy(dtype=np.float64)
    if len(x) < 2 or v.groupby("point").size().max() < 2:
        return float("nan")
    total = float(np.mean((x - x.mean()) ** 2))
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    point_mean = v.groupby("point")[output].transform("mean").to_numpy(dtype=np.float64)
    return float(np.mean((x - point_mean) ** 2) / total)


def point_means(spec: SweepSpec, design: Design, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per design point: parameter values, finished runs, mean of each output.

    Args:
        spec: The sweep spec.
        design: The design.
        summary: The experiment's summary, one row per run.

    Returns:
        The point means.
    """
    ok = summary[summary["status"] == "ok"]
    out = pd.DataFrame({"point": np.arange(len(design.points), dtype=np.int64)})
    for p in spec.parameters:
        out[p.key] = [pt[p.key] for pt in design.points]
    counts = ok.groupby("point").size()
    out["n_ok"] = out["point"].map(counts).fillna(0).astype(np.int64)
    means = ok.groupby("point")[list(spec.outputs)].mean()
    for o in spec.outputs:
        out[o] = out["point"].map(means[o]).astype(np.float64)
    return out


def analyze(spec: SweepSpec, design: Design, summary: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity indices per output, tidy: output, parameter, index, value, conf.

    Replicates are averaged per design point first; then the method's indices (Sobol: S1
    and ST, SALib bootstrap half-widths; Morris: mu_star with mu_star_conf, sigma, mu;
    grid and LHS: Spearman rank correlation, Fisher-z half-width). Every output also gets
    `noise_share` (parameter "(noise)"). An output that is missing at some point (failed
    runs) or constant gets NaN indices.

    Args:
        spec: The sweep spec.
        design: The design.
        summary: The experiment's summary, one row per run.

    Returns:
        The indices table.
    """
    pm = point_means(spec, design, summary)
    method = method_of(spec)
    rows: list[dict] = []
    for output in spec.outputs:
        rows += method.analyse(spec, design, pm, output)
        rows.append(
            {
                "output": output,
                "parameter": "(noise)",
                "index": "noise_share",
                "value": noise_share(summary, output),
                "conf": float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)
