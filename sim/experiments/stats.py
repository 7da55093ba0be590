"""Interval statistics over replicates, one definition for batch and compare tables.

Per group (a design point, a scenario) and metric: the number of finished replicates with
a value, their mean, median, and 2.5th and 97.5th percentiles (the 95% interval of the
replicates). `sim.experiments.intervals` names the percentiles `low`/`high` (intervals.csv),
`sim.compare.describe` names them `p2_5`/`p97_5` (comparison.csv, matrix.csv).

Paired differences (`paired_stats`, `paired_differences`): one rule against another on the
same seeds, replicate by replicate, with a t-interval, percentiles and, for contrast, the
Welch interval of the same runs treated as unpaired (paired_differences.csv).
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


def paired_stats(policy: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """Paired difference policy - reference over replicates (aligned arrays; NaN pairs are
    dropped): mean, sd, 95% t-interval of the mean, 2.5-97.5 percentiles of the
    differences, and the Welch 95% interval of the same runs treated as unpaired."""
    from scipy import stats

    a = np.asarray(policy, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    d = a - b
    n = len(d)
    out = {
        "n": n,
        "reference_mean": float(b.mean()) if n else math.nan,
        "policy_mean": float(a.mean()) if n else math.nan,
        "mean_diff": float(d.mean()) if n else math.nan,
        "sd_diff": math.nan,
        "t_low": math.nan,
        "t_high": math.nan,
        "p2_5": math.nan,
        "p97_5": math.nan,
        "unpaired_low": math.nan,
        "unpaired_high": math.nan,
    }
    if not n:
        return out
    out["p2_5"], _, out["p97_5"] = percentiles(d)
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    half = 0.0 if sd == 0 else float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    out.update(sd_diff=sd, t_low=out["mean_diff"] - half, t_high=out["mean_diff"] + half)
    va, vb = float(a.var(ddof=1)) / n, float(b.var(ddof=1)) / n
    se = math.sqrt(va + vb)
    if se == 0:
        uhalf = 0.0
    else:
        df = (va + vb) ** 2 / ((va**2 + vb**2) / (n - 1))
        uhalf = float(stats.t.ppf(0.975, df)) * se
    out.update(unpaired_low=out["mean_diff"] - uhalf, unpaired_high=out["mean_diff"] + uhalf)
    return out


def paired_differences(
    summary: pd.DataFrame, pairs: Sequence[dict], metrics: Sequence[str]
) -> pd.DataFrame:
    """`pairs`: dicts with population, reference, policy, scenario (the cell). Replicates
    are matched by replicate number (hence seed); only replicates where both runs finished
    count."""
    ok = summary[summary["status"] == "ok"]
    rows = []
    for pair in pairs:
        ref = ok[ok["scenario"] == pair["reference"]].set_index("replicate")
        cell = ok[ok["scenario"] == pair["scenario"]].set_index("replicate")
        reps = ref.index.intersection(cell.index).sort_values()
        for m in metrics:
            s = paired_stats(
                cell.loc[reps, m].to_numpy(dtype=np.float64),
                ref.loc[reps, m].to_numpy(dtype=np.float64),
            )
            rows.append({**pair, "metric": m, **s})
    cols = ["population", "reference", "policy", "scenario", "metric"]
    return pd.DataFrame(rows, columns=[*cols, *paired_stats(np.ones(2), np.ones(2))])
