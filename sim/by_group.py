"""Outputs by group: who is recruited and what becomes of them, per regime and per group.

One tidy long table per run (`by_group.parquet`), built from `Result.recruits` (one row per
enlistment, both engines), with columns

    regime   regime id, or "all" (every regime together)
    group    all, offence, offence_class, age_band, sentence_band, status, sex, enlistment
    value    the group's category (see `GROUPS`; "all" for the group all)
    metric   recruits, deployed, killed, wounded_discharged, deserted, captured,
             service_completed (and any other deployment outcome the engine records, e.g.
             executed), returned_to_custody, still_serving
    count    number of enlistments (int64)

Every enlistment with a contract within the horizon is a recruit; the other metrics count
those recruits by what happened to them within the horizon (`outcome`, deployment and
return to custody). Within a regime and metric, the counts of every group sum to the
group `all`; the regime `all` sums the regimes. Bands (at the contract for age, at the
application for the custody left):

- age_band: 18-24 (everyone under 25), 25-34, 35-44, 45-54, 55+ years;
- sentence_band: custody left < 1, 1-3, 3-5, 5-10, 10+ years, life, or `unsentenced`
  (not yet sentenced, or custody left unknown);
- enlistment: 1 (first contract of that person), 2, 3+.

`intervals` aggregates the per-run tables of a batch over replicates (median, 5th and
95th percentile of counts and of shares within the group).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .model.taxonomy import DAYS_PER_YEAR, OFFENCES, SEXES, STATUSES, VIOLENT_OFFENCES

COLUMNS = ("regime", "group", "value", "metric", "count")
ALL = "all"
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
AGE_EDGES_YEARS = (25.0, 35.0, 45.0, 55.0)  # upper edges of all bands but the last
SENTENCE_BANDS = ("<1", "1-3", "3-5", "5-10", "10+", "life", "unsentenced")
SENTENCE_EDGES_YEARS = (1.0, 3.0, 5.0, 10.0)
ENLISTMENTS = ("1", "2", "3+")
OFFENCE_CLASSES = ("violent", "non_violent")
GROUPS = {
    ALL: (ALL,),
    "offence": OFFENCES,
    "offence_class": OFFENCE_CLASSES,
    "age_band": AGE_BANDS,
    "sentence_band": SENTENCE_BANDS,
    "status": STATUSES,
    "sex": SEXES,
    "enlistment": ENLISTMENTS,
}
# Deployment outcomes always present (zero when nobody had them); others the engine
# records (e.g. executed, missing) are added after them.
OUTCOMES = ("killed", "wounded_discharged", "deserted", "captured", "service_completed")
METRICS = ("recruits", "deployed", *OUTCOMES, "returned_to_custody", "still_serving")
# Group shares shown in reports ("who is recruited").
SHARE_GROUPS = ("offence", "offence_class", "age_band", "sentence_band", "status")
QUANTILES = {"p05": 0.05, "median": 0.5, "p95": 0.95}


def _codes(series: pd.Series, values: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Each entry's position in `values`, extended by the entries not in it (sorted)."""
    found, uniques = pd.factorize(series.to_numpy(dtype=object), sort=False)
    if (found < 0).any():  # missing entries: spelled out, as the other values are
        found, uniques = pd.factorize(series.astype(str), sort=False)
    uniques = [str(u) for u in uniques]
    values = list(values) + sorted(set(uniques) - set(values))
    position = {v: i for i, v in enumerate(values)}
    lookup = np.array([position[u] for u in uniques] or [0], dtype=np.int64)
    return lookup[found], values


def codes(recruits: pd.DataFrame) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Each enlistment's category in every group, as positions in the group's values.

    Args:
        recruits: `Result.recruits` (CONTRACT columns).

    Returns:
        Per group: one code per row of `recruits`, and the values the codes index (GROUPS,
        plus any other value found, e.g. an offence outside the taxonomy).
    """
    n = len(recruits)
    age = recruits["age_years"].to_numpy(dtype=np.float64)
    sentence = recruits["sentence_years"].to_numpy(dtype=np.float64)
    left_days = recruits["remaining_sentence_days"].to_numpy(dtype=np.float64)
    band = np.searchsorted(SENTENCE_EDGES_YEARS, left_days / DAYS_PER_YEAR, side="right")
    band = np.where(left_days < 0, SENTENCE_BANDS.index("unsentenced"), band)
    band = np.where(np.isinf(sentence), SENTENCE_BANDS.index("life"), band)
    enlistment = recruits["enlistment"].to_numpy(dtype=np.int64)
    violent = recruits["offence"].isin(list(VIOLENT_OFFENCES)).to_numpy()
    return {
        ALL: (np.zeros(n, dtype=np.int64), [ALL]),
        "offence": _codes(recruits["offence"], OFFENCES),
        "offence_class": (np.where(violent, 0, 1), list(OFFENCE_CLASSES)),
        "age_band": (np.searchsorted(AGE_EDGES_YEARS, age, side="right"), list(AGE_BANDS)),
        "sentence_band": (band.astype(np.int64), list(SENTENCE_BANDS)),
        "status": _codes(recruits["status"], STATUSES),
        "sex": (np.where(recruits["male"].to_numpy(dtype=bool), 0, 1), list(SEXES)),
        "enlistment": (np.clip(enlistment, 1, 3) - 1, list(ENLISTMENTS)),
    }


def labels(recruits: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each enlistment's category in every group, by name (`codes` spelled out).

    Args:
        recruits: `Result.recruits`.

    Returns:
        Per group, one label per row of `recruits`.
    """
    return {g: np.asarray(v, dtype=object)[c] for g, (c, v) in codes(recruits).items()}


def indicators(recruits: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per metric, 1 for each enlistment it counts (see the module docstring).

    Args:
        recruits: `Result.recruits`.

    Returns:
        Per metric, an int64 array with one entry per row.
    """
    signed = recruits["contract_day"].to_numpy() >= 0
    outcome, names = _codes(recruits["outcome"].fillna(""), ["", *OUTCOMES])
    present = {names[c] for c in np.unique(outcome[signed])}
    others = sorted(present - {"", *OUTCOMES})
    out = {
        "recruits": signed,
        "deployed": signed & (recruits["deploy_day"].to_numpy() >= 0),
        **{o: signed & (outcome == names.index(o)) for o in (*OUTCOMES, *others)},
        "returned_to_custody": signed & (recruits["returned_to_custody_day"].to_numpy() >= 0),
        "still_serving": signed & (outcome == 0),
    }
    return {k: v.astype(np.int64) for k, v in out.items()}


def table(recruits: pd.DataFrame, regimes: Sequence[str] = ()) -> pd.DataFrame:
    """The by-group table of one run (module docstring), zero where nobody counts.

    Args:
        recruits: `Result.recruits`.
        regimes: Regime ids shown even without recruits (e.g. the scenario's).

    Returns:
        Columns `COLUMNS`; regimes in the order given, then any others, then "all".
    """
    regime_code, regime_ids = _codes(recruits["regime"], list(map(str, regimes)))
    ind = indicators(recruits)
    metrics = list(ind)
    n_regimes, n_metrics = len(regime_ids), len(metrics)
    # Each (row, metric) an enlistment counts in, as one key per group: one integer count.
    row, metric = np.nonzero(np.stack([ind[m] for m in metrics], axis=-1))
    columns: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}
    for group, (code, values) in codes(recruits).items():
        size = n_regimes * len(values) * n_metrics
        key = (regime_code[row] * len(values) + code[row]) * n_metrics + metric
        cells = np.bincount(key, minlength=size).reshape(n_regimes, len(values), n_metrics)
        cells = np.concatenate([cells, cells.sum(axis=0, keepdims=True)]).astype(np.int64)
        r, v, m = np.meshgrid(
            np.arange(n_regimes + 1),
            np.arange(len(values)),
            np.arange(n_metrics),
            indexing="ij",
        )
        columns["regime"].append(np.asarray([*regime_ids, ALL], dtype=object)[r.ravel()])
        columns["group"].append(np.full(cells.size, group, dtype=object))
        columns["value"].append(np.asarray(values, dtype=object)[v.ravel()])
        columns["metric"].append(np.asarray(metrics, dtype=object)[m.ravel()])
        columns["count"].append(cells.ravel())
    return pd.DataFrame({c: np.concatenate(parts) for c, parts in columns.items()})


def of_result(result, regimes: Sequence[str] = ()) -> pd.DataFrame | None:
    """The by-group table of a `Result` (None when the engine gave no recruits table).

    Args:
        result (sim.results.Result): The run's result.
        regimes: Regime ids shown even without recruits.

    Returns:
        The table, or None.
    """
    recruits = getattr(result, "recruits", None)
    return None if recruits is None else table(recruits, regimes)


KEYS = ("regime", "group", "value", "metric")


def with_shares(per_run: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Add `share`: each count over its group's total (the group `all` of the same run,
    regime and metric); NaN where that total is zero.

    Args:
        per_run: By-group rows of one or more runs.
        by: Columns naming a run (e.g. point, replicate).

    Returns:
        A copy with a `share` column.
    """
    cols = [*by, "regime", "metric"]
    totals = per_run.loc[per_run["group"] == ALL, [*cols, "count"]]
    out = per_run.merge(totals.rename(columns={"count": "_total"}), on=cols, how="left")
    total = out.pop("_total").to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(total > 0, out["count"] / total, np.nan)
    return out


def intervals(per_run: pd.DataFrame, by: Sequence[str] = ("point", "scenario")) -> pd.DataFrame:
    """Per `by` (a design point) and table key: over the replicates, n, the mean, median,
    5th and 95th percentile of the count, and the median, 5th and 95th percentile of the
    share within the group (NaN shares, where the group total is zero, are left out). A
    key missing from a replicate's table counts zero there.

    Args:
        per_run: By-group rows of the runs that finished, with `by` and `replicate` columns.
        by: Columns naming a design point.

    Returns:
        One row per point and key: `by`, KEYS, n, count_mean, count_median, count_p05,
        count_p95, share_median, share_p05, share_p95.
    """
    by = list(by)
    cols = [
        *by,
        *KEYS,
        "n",
        "count_mean",
        *(f"count_{q}" for q in QUANTILES),
        *(f"share_{q}" for q in QUANTILES),
    ]
    if not len(per_run):
        return pd.DataFrame(columns=cols)
    wide = per_run.pivot_table(
        index=[*by, *KEYS], columns="replicate", values="count", aggfunc="sum", sort=False
    )
    # a replicate that finished but lacks a key (an outcome it never saw) counts zero there
    ran = per_run.groupby(by, sort=False)["replicate"].unique()
    parts = []
    for point, sub in wide.groupby(level=list(range(len(by))), sort=False):
        reps = ran.loc[point]
        parts.append(sub[list(reps)].fillna(0).stack().rename("count").reset_index())
    full = with_shares(pd.concat(parts, ignore_index=True), [*by, "replicate"])
    grouped = full.groupby([*by, *KEYS], sort=False)
    out = grouped["count"].agg(n="size", count_mean="mean").reset_index()
    for name, q in QUANTILES.items():
        out[f"count_{name}"] = grouped["count"].quantile(q).to_numpy()
        out[f"share_{name}"] = grouped["share"].quantile(q).to_numpy()
    return out[cols]


def shares(summary_table: pd.DataFrame, metric: str = "recruits") -> pd.DataFrame:
    """Rows of an `intervals` table that a report shows as "who is recruited": the regime
    `all`, `metric`, the groups of SHARE_GROUPS.

    Args:
        summary_table: An `intervals` table.
        metric: The metric shown.

    Returns:
        The selected rows.
    """
    t = summary_table
    keep = (t["regime"] == ALL) & (t["metric"] == metric) & t["group"].isin(SHARE_GROUPS)
    return t[keep].reset_index(drop=True)
