"""Interval statistics over replicates, one definition for batch and compare tables.

Per group (a design point, a scenario) and metric: the number of finished replicates with
a value, their mean, median, and 2.5th and 97.5th percentiles (the 95% interval of the
replicates). `sim.experiments.intervals` names the percentiles `low`/`high` (intervals.csv),
`sim.compare.describe` names them `p2_5`/`p97_5` (comparison.csv, matrix.csv).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

STAT_COLUMNS = ("n", "mean", "median", "low", "high")


def percentiles(v: np.ndarray) -> tuple[float, float, float]:
    """(2.5th percentile, median, 97.5th percentile) of `v`; NaN when it is empty."""
    if not len(v):
        return (math.nan,) * 3
    return float(np.percentile(v, 2.5)), float(np.median(v)), float(np.percentile(v, 97.5))


def describe_values(values: np.ndarray) -> dict[str, float]:
    """n, mean, median, low (2.5th) and high (97.5th percentile) of the non-NaN values."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    low, median, high = percentiles(v)
    return {
        "n": len(v),
        "mean": float(v.mean()) if len(v) else math.nan,
        "median": median,
        "low": low,
        "high": high,
    }


def interval_table(
    summary: pd.DataFrame, by: Sequence[str], groups: Iterable[tuple], metrics: Sequence[str]
) -> pd.DataFrame:
    """One row per group (values of the `by` columns) and metric with `STAT_COLUMNS`,
    over the runs with status 'ok'."""
    ok = summary[summary["status"] == "ok"]
    rows = []
    for group in groups:
        mask = np.ones(len(ok), dtype=bool)
        for col, value in zip(by, group, strict=True):
            mask &= ok[col].to_numpy() == value
        sub = ok[mask]
        for m in metrics:
            v = sub[m].to_numpy(dtype=np.float64) if m in sub else np.array([])
            rows.append({**dict(zip(by, group, strict=True)), "metric": m, **describe_values(v)})
    return pd.DataFrame(rows, columns=[*by, "metric", *STAT_COLUMNS])
