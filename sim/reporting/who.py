"""Who is recruited under each policy: shares of recruits by offence class, age band,
remaining sentence and legal status, from the batch's by-group tables (`sim.by_group`):
the table `who_is_recruited.csv` of a comparison and its report section."""

from __future__ import annotations

import pandas as pd

from .. import by_group
from .blocks import H, P, Table

COLUMNS = (
    "scenario",
    "label",
    "policy",
    "population",
    "group",
    "value",
    "n",
    "count_median",
    "share_median",
    "share_p05",
    "share_p95",
)
# Groups the report shows, with their headings (offences in detail are in offences.csv
# and the offences figure).
REPORT_GROUPS = {
    "offence_class": "violent and non-violent offences",
    "age_band": "age at contract, years",
    "sentence_band": "custody left at application, years",
    "status": "legal status at application",
}


def who_is_recruited(intervals: pd.DataFrame | None, points: list[dict]) -> pd.DataFrame:
    """Shares of all recruits (every regime together) by group, for each point of a
    comparison, in the order of `points`.

    Args:
        intervals: The batch's `by_group_intervals.csv` (None or empty: no by-group tables).
        points: The comparison's points (manifest `points`: name, label, policy, population).

    Returns:
        Columns COLUMNS; empty when there are no by-group tables.
    """
    if intervals is None or not len(intervals):
        return pd.DataFrame(columns=list(COLUMNS))
    rows = by_group.shares(intervals)
    info = pd.DataFrame(points).rename(columns={"name": "scenario"})
    info = info[["scenario", "label", "policy", "population"]]
    out = info.merge(rows, on="scenario", how="inner", sort=False)
    return out[list(COLUMNS)].reset_index(drop=True)


def _pct(v: float) -> str:
    return "n/a" if v != v else f"{100 * v:.0f}%"


def who_blocks(table: pd.DataFrame | None, reps) -> list:
    """Report section "Who is recruited under each policy": per group, one row per compared
    scenario or matrix cell, the median share of recruits in each category with the
    5th-95th percentile over replicates. Categories nobody falls in are left out.

    Args:
        table: `who_is_recruited.csv` (None or empty: no section).
        reps: Number of replicates (for the text).

    Returns:
        The report blocks.
    """
    if table is None or not len(table):
        return []
    blocks: list = [
        H(
            2,
            "Who is recruited under each policy"
            if table["policy"].notna().any()
            else "Who is recruited",
        ),
        P(
            "Share of recruits (contracts signed, every regime together) in each category: "
            f"the median over {reps} replicates, with the 5th-95th percentile in brackets. "
            "Bands: age at contract; custody left at application (life sentences apart; "
            "unsentenced: pre-trial detainees, suspects and defendants). who_is_recruited.csv "
            "has these shares and offences in detail; batch/by_group_intervals.csv has every "
            "regime, group and outcome (killed, deserted, returned to custody, ...)."
        ),
    ]
    points = list(dict.fromkeys(zip(table["scenario"], table["label"], strict=True)))
    for group, heading in REPORT_GROUPS.items():
        sub = table[table["group"] == group]
        shown = sub.groupby("value", sort=False)["share_p95"].max()
        values = [v for v in by_group.GROUPS[group] if shown.get(v, 0) > 0]
        values += [v for v in shown.index if v not in values and shown[v] > 0]
        if not values:
            continue
        by = sub.set_index(["scenario", "value"])
        rows = []
        for name, label in points:
            cells = []
            for v in values:
                if (name, v) not in by.index:
                    cells.append("n/a")
                    continue
                r = by.loc[(name, v)]
                if r["share_median"] != r["share_median"]:  # no recruits in any replicate
                    cells.append("no recruits")
                    continue
                cells.append(
                    f"{_pct(r['share_median'])} ({_pct(r['share_p05'])}-{_pct(r['share_p95'])})"
                )
            rows.append([label or name, *cells])
        blocks.append(Table(["rules → prisons", *values], rows, caption=heading))
    return blocks
