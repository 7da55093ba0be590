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
# Posterior-predictive runs: each parameter draw runs with this many seeds (replicates
# 2k and 2k+1 share draw k), so that noise and parameter variance can be told apart.
SEEDS_PER_DRAW = 2
HEADLINE_METRICS = (
    "applications",
    "released_to_army",
    "deployed_total",
    "killed",
    "killed_per_1000_recruits",
    "prison_population_change_pct",
)
SHARE_COLUMNS = (
    "draws",
    "total_var",
    "noise_var",
    "parameter_var",
    "parameter_share",
    "noise_share",
)


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


def variance_split(values: np.ndarray, draws: np.ndarray) -> dict[str, float]:
    """Law of total variance on a nested design (several seeds per parameter draw):
    Var(Y) = E[Var(Y | parameters)] + Var(E[Y | parameters]). The noise term is the pooled
    within-draw variance, the parameter term the rest of the total (at least 0)."""
    v = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(v)
    v, draws = v[keep], np.asarray(draws)[keep]
    out = dict.fromkeys(SHARE_COLUMNS, math.nan)
    groups = [v[draws == d] for d in np.unique(draws)]
    groups = [g for g in groups if len(g) >= 2]
    out["draws"] = len(groups)
    if len(v) < 2 or not groups:
        return out
    total = float(v.var(ddof=1))
    dof = sum(len(g) - 1 for g in groups)
    noise = float(sum(((g - g.mean()) ** 2).sum() for g in groups) / dof)
    parameter = max(total - noise, 0.0)
    out.update(total_var=total, noise_var=noise, parameter_var=parameter)
    if total > 0:
        out.update(parameter_share=parameter / total, noise_share=min(noise / total, 1.0))
    return out


def variance_shares(
    summary: pd.DataFrame,
    metrics: Sequence[str] = HEADLINE_METRICS,
    seeds_per_draw: int = SEEDS_PER_DRAW,
) -> pd.DataFrame:
    """Per scenario and headline metric: the share of the variance over replicates that
    comes from parameters and from stochastic noise (`variance_split`)."""
    ok = summary[summary["status"] == "ok"]
    rows = []
    for (point, name), sub in ok.groupby(["point", "scenario"], sort=True):
        draws = sub["replicate"].to_numpy() // seeds_per_draw
        for m in metrics:
            if m in sub:
                split = variance_split(sub[m].to_numpy(dtype=np.float64), draws)
                rows.append({"point": point, "scenario": name, "metric": m, **split})
    return pd.DataFrame(rows, columns=["point", "scenario", "metric", *SHARE_COLUMNS])
