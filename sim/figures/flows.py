"""Where recruits come from and go: the flow funnel and recruits by offence."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .style import (
    COUNT_FORMAT,
    OFFENCE_GROUPS,
    RC,
    FigureInfo,
    _save,
)

FLOW_ROWS = (
    # label, column (or derived quantity) at the end of the run, stage, base of the %
    ("applications", "applications", 0, "applications"),
    ("rejected at screening", "rejected_screening", 1, "applications"),
    ("rejected at approval (court or administrative)", "rejected_court", 1, "applications"),
    ("custody ended while waiting", "_left_pipeline", 1, "applications"),
    ("still in screening or approval at the end", "_pending", 1, "applications"),
    ("released to army (contract signed)", "released_to_army", 0, "applications"),
    ("deployed (ever)", "deployed_total", 2, "recruits"),
    ("killed", "killed", 3, "recruits"),
    ("wounded, discharged", "wounded_discharged", 3, "recruits"),
    ("deserted", "deserted", 3, "recruits"),
    ("captured", "captured", 3, "recruits"),
    ("service completed (term, war end, award, age)", "service_completed", 3, "recruits"),
    ("still deployed at the end", "deployed", 3, "recruits"),
    ("still in training at the end", "training", 3, "recruits"),
)
STAGE_COLOURS = ("#0072B2", "#D55E00", "#56B4E9", "#009E73")


def flow_values(final: pd.DataFrame) -> pd.DataFrame:
    """Per run, the funnel's quantities from the last day of its time series."""
    f = final.copy()
    f["_pending"] = f["screening"] + f["awaiting_court"]
    f["_left_pipeline"] = (
        f["applications"]
        - f["rejected_screening"]
        - f["rejected_court"]
        - f["released_to_army"]
        - f["_pending"]
    )
    return f


def flow_figure(
    runs: pd.DataFrame,
    names: Sequence[str],
    labels: dict[str, str],
    out_dir: Path,
    stem: str = "flows",
) -> FigureInfo:
    """A funnel per scenario: applications -> rejections -> released to army -> deployed ->
    outcomes, as horizontal bars (means over replicates at the end of the run)."""
    names = list(names)
    last = runs.loc[runs.groupby(["scenario", "replicate"])["day"].idxmax()]
    with rc_context(RC):
        fig = Figure(figsize=(max(4.2 * len(names) + 3.2, 8), 6.4), layout="constrained")
        axes = fig.subplots(1, len(names), squeeze=False, sharey=True)[0]
        y = np.arange(len(FLOW_ROWS))[::-1]
        for ax, name in zip(axes, names, strict=True):
            f = flow_values(last[last["scenario"] == name])
            values = np.array(
                [float(f[key].mean()) if len(f) else 0.0 for _, key, _, _ in FLOW_ROWS]
            )
            colours = [STAGE_COLOURS[s] for _, _, s, _ in FLOW_ROWS]
            ax.barh(y, values, color=colours, height=0.72)
            bases = {"applications": values[0], "recruits": values[5]}
            for yy, v, (_, _, _, base) in zip(y, values, FLOW_ROWS, strict=True):
                share = f"{100 * v / bases[base]:.0f}% of {base}" if bases[base] > 0 else "n/a"
                ax.annotate(
                    f"{v:,.0f}" if yy == y[0] else f"{v:,.0f} ({share})",
                    (max(v, 0), yy),
                    xytext=(3, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                )
            ax.set_xlim(0, max(values.max(), 1) * 1.75)
            ax.xaxis.set_major_formatter(COUNT_FORMAT)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.grid(axis="y", visible=False)
            ax.set_xlabel("people (mean over replicates)")
            date = pd.Timestamp(last.loc[last["scenario"] == name, "date"].max())
            ax.set_title(f"{labels.get(name, name)}\nby {date:%Y-%m-%d}", fontsize=10)
        axes[0].set_yticks(y, [label for label, _, _, _ in FLOW_ROWS])
        for lab, (_, _, stage, _) in zip(axes[0].get_yticklabels(), FLOW_ROWS, strict=True):
            if stage == 0:
                lab.set_fontweight("bold")
        handles = [
            Patch(color=STAGE_COLOURS[0], label="entering the army (main path)"),
            Patch(color=STAGE_COLOURS[1], label="left the recruitment pipeline"),
            Patch(color=STAGE_COLOURS[2], label="deployed"),
            Patch(color=STAGE_COLOURS[3], label="where recruits are by the end"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        fig.suptitle(
            "From application to the front: where applicants and recruits end up",
            fontweight="bold",
        )
        caption = (
            "The recruitment funnel of each scenario at the end of its horizon (means over "
            "replicates; percentages are of applications down to the contract, then of "
            "recruits, i.e. people released to the army). The top of the funnel is "
            "applications: the pool of everyone ever eligible is not a model output (only "
            "the daily eligible stock is). Applications end rejected at screening, rejected "
            "at approval, released from custody while waiting, still pending, or released "
            "to the army; the recruits' outcomes below (killed, wounded and discharged, "
            "deserted, captured, service completed, still deployed, still in training) add "
            "up to the number released to the army."
        )
        return _save(fig, out_dir, stem, "Recruitment funnel", caption)


# --------------------------------------------------------------------------- (d) offences


def offence_shares(offences: pd.DataFrame) -> pd.DataFrame:
    """Mean share of each offence group among recruits, per scenario (rows) + `total`;
    an offence in no group of OFFENCE_GROUPS counts as "other"."""
    if not len(offences):
        return pd.DataFrame()
    per_run = offences.pivot_table(
        index=["scenario", "replicate"], columns="offence", values="recruits", aggfunc="sum"
    ).fillna(0)
    groups = pd.DataFrame(index=per_run.index)
    grouped = {m for _label, members, _colour in OFFENCE_GROUPS for m in members}
    ungrouped = [c for c in per_run.columns if c not in grouped]
    for i, (label, members, _) in enumerate(OFFENCE_GROUPS):
        # An offence in no group counts in the last one ("other"): never silently dropped.
        extra = ungrouped if i == len(OFFENCE_GROUPS) - 1 else []
        groups[label] = per_run[[m for m in members if m in per_run.columns] + extra].sum(axis=1)
    total = groups.sum(axis=1)
    shares = groups.div(total.where(total > 0), axis=0)
    out = shares.groupby(level="scenario", sort=False).mean()
    out["total"] = total.groupby(level="scenario", sort=False).mean()
    return out


def offences_figure(
    offences: pd.DataFrame,
    rows: Sequence[tuple[str, str]],
    out_dir: Path,
    *,
    separators: Sequence[int] = (),
    stem: str = "offences",
) -> FigureInfo | None:
    """Stacked bars: share of recruits by offence group, one bar per scenario (rows: list
    of (scenario name, label) from top to bottom)."""
    shares = offence_shares(offences)
    rows = [(n, lab) for n, lab in rows if n in shares.index]
    if not rows:
        return None
    reps = int(offences["replicate"].nunique())
    with rc_context(RC):
        fig = Figure(figsize=(11, 1.2 + 0.42 * len(rows) + 1.0), layout="constrained")
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1]
        left = np.zeros(len(rows))
        for label, _, colour in OFFENCE_GROUPS:
            v = np.array([shares.loc[n, label] for n, _ in rows], dtype=np.float64)
            v = np.nan_to_num(v)
            ax.barh(y, v, left=left, color=colour, label=label, height=0.75, edgecolor="white")
            for yy, lft, w in zip(y, left, v, strict=True):
                if w >= 0.06:
                    ax.text(
                        lft + w / 2, yy, f"{100 * w:.0f}%", ha="center", va="center", fontsize=7.5
                    )
            left += v
        for yy, (n, _) in zip(y, rows, strict=True):
            total = shares.loc[n, "total"]
            ax.text(1.01, yy, f"{total:,.0f}", va="center", fontsize=8)
            if not total > 0:
                ax.text(
                    0.01,
                    yy,
                    "no recruits: the rules cover nobody in this population",
                    va="center",
                    fontsize=8,
                    color="#444444",
                    style="italic",
                )
        ax.text(1.01, len(rows) - 0.35, "recruits", fontsize=8, fontweight="bold")
        for s in separators:
            ax.axhline(len(rows) - s - 0.5, color="#333333", linewidth=0.8)
        ax.set_yticks(y, [lab for _, lab in rows])
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{100 * x:.0f}%"))
        ax.set_xlabel("share of recruits (released to army)")
        ax.grid(axis="y", visible=False)
        fig.legend(
            *ax.get_legend_handles_labels(), loc="outside lower center", ncols=4, frameon=False
        )
        ax.set_title(
            "Who is recruited: offence categories among recruits", fontweight="bold", loc="left"
        )
        caption = (
            "Share of recruits (people released to the army) by offence category, per "
            "scenario; the number on the right is the mean number of recruits. Offence "
            f"categories are grouped into eight (offences.csv keeps all 17). Computed from "
            f"the first {reps} replicate(s) of every scenario, run again with the batch's "
            "seeds (the batch stores time series, not who the recruits were); the reruns "
            "reproduce the batch's released_to_army exactly."
        )
        return _save(fig, out_dir, stem, "Offences of recruits", caption)


# ---------------------------------------------------------------- paired differences
