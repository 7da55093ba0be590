"""Tables built from result frames: the statistics tables of comparison.csv, matrix.csv,
offences.csv and observation_fit.csv (`describe`, `offence_composition`,
`observation_fit`), and the console tables of `prisonflow run` and `prisonflow compare`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from ..experiments.stats import interval_table
from ..experiments.tasks import OFFENCE_COLUMNS
from ..scenario import Scenario
from ..taxonomy import OFFENCES
from .labels import EFFECT_LABELS, HEADLINE, KEY_METRICS, METRIC_LABELS, fmt, fmt_diff


def summary_table(title: str, summaries: dict[str, dict]) -> Table:
    """The headline metrics of one or more runs, one column per run."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name in summaries:
        table.add_column(name, justify="right")
    rows = [*HEADLINE, *effect_rows(summaries.values())]
    for key, label in rows:
        table.add_row(label, *(fmt(key, s[key]) for s in summaries.values()))
    return table


def effect_rows(summaries) -> list[tuple[str, str]]:
    """(metric, label) of the no-recruitment effect metrics that every summary has."""
    summaries = list(summaries)
    return [(m, lab) for m, lab in EFFECT_LABELS.items() if all(m in s for s in summaries)]


def describe(summary: pd.DataFrame, names: Sequence[str], metrics=KEY_METRICS) -> pd.DataFrame:
    """Per scenario and metric: n, mean, median, p2_5, p97_5 over the finished replicates
    (`sim.experiments.stats`, the statistics of intervals.csv under these names)."""
    table = interval_table(summary, ["scenario"], [(n,) for n in names], metrics)
    return table.rename(columns={"low": "p2_5", "high": "p97_5"})


def observation_fit(
    runs: pd.DataFrame,
    scenarios: dict[str, Scenario],
    observations: str | os.PathLike | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Model median and 90% interval (5th-95th percentile over replicates) on each
    comparable observation's date (`model_date` when given), for each scenario of the
    observation's country; `inside` follows `sim.calibration.inside` (at_least: the
    interval reaches the value; up_to: it reaches down to it; about: it overlaps +/-10%;
    exact: it contains it). Only outputs that are columns of `runs` are compared (add
    custody by legal status with `sim.observed_outputs.with_custody_by_status`)."""
    from ..calibration import Targets, inside
    from ..observations import for_country, load_observations

    obs = (
        observations if isinstance(observations, pd.DataFrame) else load_observations(observations)
    )

    cols = [
        "scenario",
        "country",
        "date",
        "model_date",
        "metric",
        "output",
        "value",
        "qualifier",
        "kind",
        "source",
        "note",
        "n",
        "model_median",
        "model_p05",
        "model_p95",
        "inside",
    ]
    frames = []
    for name, scn in scenarios.items():
        sub = runs[runs["scenario"] == name]
        if not len(sub):
            continue
        t = Targets.from_observations(for_country(obs, scn.scenario.country), scn).table
        if not len(t):
            continue
        t = t[t["output"].isin(sub.columns)].copy()
        last_day = int(sub["day"].max())
        t = t[t["day"] <= last_day]
        if not len(t):
            continue
        n, med, lo, hi = [], [], [], []
        for row in t.itertuples():
            v = sub.loc[sub["day"] == row.day, row.output].to_numpy(dtype=np.float64)
            n.append(len(v))
            med.append(float(np.median(v)) if len(v) else math.nan)
            lo.append(float(np.quantile(v, 0.05)) if len(v) else math.nan)
            hi.append(float(np.quantile(v, 0.95)) if len(v) else math.nan)
        t["scenario"] = name
        t["n"], t["model_median"], t["model_p05"], t["model_p95"] = n, med, lo, hi
        t["inside"] = inside(t)
        for c in ("note", "model_date"):
            if c not in t:
                t[c] = None
        frames.append(t[cols])
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)


def offence_composition(
    summary: pd.DataFrame,
    *,
    replicates: int | None = None,
    by_group: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Recruits by offence category per point and replicate (the first `replicates`; all
    when None), read from the batch's by-group tables (`by_group`: its by_group.parquet;
    regime all, group offence, metric recruits) where a run has one, else from its summary
    (`recruits_offence_<offence>`): nothing is run again. `matches_batch`: the counts add
    up to the run's released_to_army."""
    ok = summary[summary["status"] == "ok"]
    if replicates is not None:
        ok = ok[ok["replicate"] < replicates]
    from_groups: dict[tuple[int, int], dict[str, float]] = {}
    if by_group is not None and len(by_group):
        keep = (
            (by_group["regime"] == "all")
            & (by_group["group"] == "offence")
            & (by_group["metric"] == "recruits")
        )
        for (point, rep), sub in by_group[keep].groupby(["point", "replicate"]):
            from_groups[(int(point), int(rep))] = dict(zip(sub["value"], sub["count"], strict=True))
    rows = []
    for r in ok.sort_values(["point", "replicate"]).itertuples(index=False):
        row = r._asdict()
        stored = from_groups.get((int(row["point"]), int(row["replicate"])))
        if stored is not None:
            counts = [stored.get(o, 0) for o in OFFENCES]
        else:
            counts = [row.get(c, math.nan) for c in OFFENCE_COLUMNS]
        if any(c != c for c in counts):  # a part stored before offences were recorded
            continue
        matches = sum(counts) == row["released_to_army"]
        for offence, count in zip(OFFENCES, counts, strict=True):
            rows.append(
                {
                    "point": int(row["point"]),
                    "scenario": row["scenario"],
                    "replicate": int(row["replicate"]),
                    "seed": int(row["seed"]),
                    "offence": offence,
                    "recruits": int(count),
                    "matches_batch": bool(matches),
                }
            )
    cols = ["point", "scenario", "replicate", "seed", "offence", "recruits", "matches_batch"]
    return pd.DataFrame(rows, columns=cols)


def comparison_table(result: Any):
    """Rich table comparing scenarios: median and 95% range of each metric.

    Args:
        result: A loaded comparison result.

    Returns:
        The table, ready to print.
    """
    comp = result.comparison
    names = list(dict.fromkeys(comp["scenario"]))
    reps = result.manifest["replicates"]
    table = Table(
        title=f"comparison: median [2.5th, 97.5th percentile] over {reps} replicates",
        title_justify="left",
    )
    table.add_column("metric", no_wrap=True)
    for n in names:
        table.add_column(n, justify="right")
    by = comp.set_index(["scenario", "metric"])
    effects = [m for m in EFFECT_LABELS if all((n, m) in by.index for n in names)]
    for m in (*KEY_METRICS, *effects):
        cells = []
        for n in names:
            r = by.loc[(n, m)]
            cells.append(f"{fmt(m, r['median'])} [{fmt(m, r['p2_5'])}, {fmt(m, r['p97_5'])}]")
        table.add_row(METRIC_LABELS[m], *cells)
    return table


MATRIX_METRICS = ("released_to_army", "killed", "share_violent_among_recruits")


def matrix_table(result: Any):
    """Rich table of the counterfactual matrix: mean of each metric per policy and population.

    Args:
        result: A loaded comparison result with a matrix.

    Returns:
        The table, ready to print.
    """
    mx = result.matrix
    pops = list(dict.fromkeys(mx["population"]))
    table = Table(
        title="counterfactual matrix: each policy's rules on each population (mean over "
        "replicates)",
        title_justify="left",
    )
    table.add_column("policy", no_wrap=True)
    for pop in pops:
        for i, m in enumerate(MATRIX_METRICS):
            table.add_column((f"{pop}\n" if i == 0 else "\n") + METRIC_LABELS[m], justify="right")
    by = mx.set_index(["policy", "population", "metric"])
    for pol in dict.fromkeys(mx["policy"]):
        cells = [fmt(m, by.loc[(pol, pop, m), "mean"]) for pop in pops for m in MATRIX_METRICS]
        table.add_row(pol, *cells)
    return table


PAIRED_METRICS = ("released_to_army", "killed", "prison_population_change_pct")


def paired_table(result: Any):
    """Rich table of paired differences from each population's own rules.

    Args:
        result: A loaded comparison result with paired differences.

    Returns:
        The table, ready to print.
    """
    pd_ = result.paired
    table = Table(
        title="paired differences from each population's own rules: mean [95% t-interval]",
        title_justify="left",
    )
    table.add_column("population", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    for m in PAIRED_METRICS:
        table.add_column(METRIC_LABELS[m], justify="right")
    by = pd_.set_index(["population", "policy", "metric"])
    pops = list(dict.fromkeys(pd_["population"]))
    for j, pop in enumerate(pops):
        pols = list(dict.fromkeys(pd_.loc[pd_["population"] == pop, "policy"]))
        for i, pol in enumerate(pols):
            cells = []
            for m in PAIRED_METRICS:
                r = by.loc[(pop, pol, m)]
                cells.append(
                    f"{fmt_diff(m, r['mean_diff'])} "
                    f"[{fmt_diff(m, r['t_low'])}, {fmt_diff(m, r['t_high'])}]"
                )
            table.add_row(
                pop if i == 0 else "",
                pol,
                *cells,
                end_section=i == len(pols) - 1 and j < len(pops) - 1,
            )
    return table
