"""Figures for batches, sweeps and comparisons (matplotlib, Agg canvas; PNG and SVG).

Each function takes tables (DataFrames from an experiment directory), draws one figure and
writes `<stem>.png` and `<stem>.svg` atomically into a directory; it returns a `FigureInfo`
with the caption that says what the figure shows. Figures use matplotlib's object API with
its Agg canvas (no pyplot, no global backend), the Okabe-Ito colour-blind-safe palette, and
line styles or markers as a second cue wherever colour alone would carry meaning.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, FuncFormatter, MaxNLocator

from .results import write_atomic

# Okabe & Ito (2008), colour-blind safe; yellow last (weak on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
LINESTYLES: tuple[Any, ...] = (
    "-",
    "--",
    "-.",
    ":",
    (0, (5, 1, 1, 1)),
    (0, (3, 1, 1, 1, 1, 1)),
    (0, (1, 1)),
)
GREY = "#777777"
RC: dict[Any, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "svg.hashsalt": "prisonflow",
    "savefig.dpi": 130,
}
STOCKS = (
    ("eligible", "eligible for recruitment"),
    ("deployed", "deployed at the front"),
    ("in_custody", "in custody (prisons and pre-trial)"),
)
OFFENCE_GROUPS = (
    ("property (theft, fraud)", ("theft", "fraud"), "#56B4E9"),
    ("drugs", ("drug",), "#009E73"),
    ("robbery, assault", ("robbery", "assault"), "#F0E442"),
    ("murder (single)", ("murder_single",), "#E69F00"),
    ("aggravated murder", ("murder_aggravated",), "#D55E00"),
    ("sexual (incl. minors)", ("sexual", "sexual_minor"), "#CC79A7"),
    (
        "state security, terrorism",
        ("state_security", "treason_espionage", "terrorism", "public_security"),
        "#0072B2",
    ),
    ("other", ("smuggling", "fatal_drunk_driving", "corruption_grave", "other"), "#999999"),
)
QUALIFIER_MARKERS = {"at_least": "^", "up_to": "v", "about": "o", "exact": "s"}
QUALIFIER_WORDS = {
    "at_least": "at least",
    "up_to": "up to",
    "about": "about (±10%)",
    "exact": "exact",
}
OUTPUT_LABELS = {
    "applications": "applications (cumulative)",
    "released_to_army": "released to army (cumulative)",
    "rejected_health": "rejected on health grounds (cumulative)",
    "rejected_screening": "rejected at screening (cumulative)",
    "service_completed": "service completed (cumulative)",
    "eligible": "eligible (stock)",
}


@dataclass(frozen=True)
class FigureInfo:
    stem: str
    title: str
    caption: str
    png: Path
    svg: Path


# --------------------------------------------------------------------------- helpers


def _save(fig: Figure, out_dir: Path, stem: str, title: str, caption: str) -> FigureInfo:
    out_dir = Path(out_dir)
    paths = {}
    for fmt in ("png", "svg"):
        if fmt == "svg":  # the layout is settled by the first save: keep it, do not redo it
            fig.set_layout_engine("none")
        buf = io.BytesIO()
        meta = {"Date": None} if fmt == "svg" else {"Software": "prisonflow (matplotlib)"}
        fig.savefig(buf, format=fmt, metadata=meta, facecolor="white")
        paths[fmt] = out_dir / f"{stem}.{fmt}"
        write_atomic(paths[fmt], lambda tmp, data=buf.getvalue(): Path(tmp).write_bytes(data))
    return FigureInfo(stem, title, caption, paths["png"], paths["svg"])


def _count(x, _pos=None) -> str:
    a = abs(x)
    if a >= 1e6:
        return f"{x / 1e6:.1f}M".replace(".0M", "M")
    if a >= 1e4:
        return f"{x / 1e3:.0f}k"
    if a >= 1e3:
        return f"{x / 1e3:.1f}k".replace(".0k", "k")
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.2g}"


COUNT_FORMAT = FuncFormatter(_count)


class DateLabels(Formatter):
    """Month names, with the year under the first visible tick and under each January
    (years alone when every tick is a new year): every axis says which year it shows."""

    def format_ticks(self, values):
        view = sorted(self.axis.get_view_interval()) if self.axis is not None else None
        dates = [mdates.num2date(v) for v in values]
        inside = [view is None or view[0] - 1e-9 <= v <= view[1] + 1e-9 for v in values]
        first = next((i for i, ok in enumerate(inside) if ok), 0)
        if dates and all(d.month == 1 and d.day == 1 for d in dates):
            return [f"{d:%Y}" for d in dates]
        out = []
        for i, d in enumerate(dates):
            text = f"{d:%b}" if d.day == 1 else f"{d.day} {d:%b}"
            if i == first or (d.month == 1 and d.day == 1):
                text += f"\n{d:%Y}"
            out.append(text)
        return out

    def __call__(self, x, pos=None):
        return self.format_ticks([x])[0]


def _date_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7))
    ax.xaxis.set_major_formatter(DateLabels())


def _bands(
    runs: pd.DataFrame, name: str, column: str, lo: float = 2.5, hi: float = 97.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Dates, median, low and high percentile of `column` over replicates, per day."""
    sub = runs.loc[runs["scenario"] == name, ["replicate", "day", "date", column]]
    if not len(sub):
        empty = np.array([])
        return empty, empty, empty, empty
    wide = sub.pivot_table(index="day", columns="replicate", values=column, aggfunc="first")
    dates = sub.drop_duplicates("day").set_index("day")["date"].reindex(wide.index)
    arr = wide.to_numpy(dtype=np.float64)
    # np.nanpercentile works row by row in Python: use it only when a value is missing.
    pct = np.nanpercentile if np.isnan(arr).any() else np.percentile
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, mid, high = pct(arr, [lo, 50, hi], axis=1)
    return pd.to_datetime(dates).to_numpy(), mid, low, high


def _wrap(text: str, width: int = 28) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def n_replicates(runs: pd.DataFrame, name: str) -> int:
    return int(runs.loc[runs["scenario"] == name, "replicate"].nunique())


# --------------------------------------------------------------------------- (a) stocks


def stocks_figure(
    runs: pd.DataFrame,
    names: Sequence[str],
    labels: dict[str, str],
    out_dir: Path,
    *,
    regimes: dict[str, list[tuple[str, pd.Timestamp]]] | None = None,
    stem: str = "stocks",
) -> FigureInfo:
    """Small multiples: rows = stocks (eligible, deployed, in custody), columns = scenarios;
    median line and 2.5-97.5% band over replicates; dotted lines where a regime starts."""
    names = list(names)
    regimes = regimes or {}
    with rc_context(RC):
        fig = Figure(figsize=(max(4.6 * len(names), 6.5), 8.2), layout="constrained")
        axes = np.atleast_2d(fig.subplots(len(STOCKS), len(names), squeeze=False))
        for j, name in enumerate(names):
            colour = PALETTE[j % len(PALETTE)]
            for i, (col, what) in enumerate(STOCKS):
                ax = axes[i, j]
                d, med, lo, hi = _bands(runs, name, col)
                if len(d):
                    ax.fill_between(d, lo, hi, color=colour, alpha=0.25, linewidth=0)
                    ax.plot(d, med, color=colour, linewidth=1.8)
                for rid, start in regimes.get(name, []):
                    if len(d) and d[0] <= np.datetime64(start) <= d[-1]:
                        ax.axvline(start, color=GREY, linestyle=":", linewidth=1)
                        if i == 0:
                            ax.annotate(
                                rid,
                                (start, 0),
                                xycoords=("data", "axes fraction"),
                                xytext=(2, 3),
                                textcoords="offset points",
                                rotation=90,
                                va="bottom",
                                ha="left",
                                fontsize=7.5,
                                color="#444444",
                            )
                ax.yaxis.set_major_formatter(COUNT_FORMAT)
                ax.set_ylim(bottom=0)
                _date_axis(ax)
                if j == 0:
                    ax.set_ylabel(f"{_wrap(what, 22)}\n(people)")
                if i == 0:
                    ax.set_title(f"{labels.get(name, name)}\n({name})", fontsize=10)
        handles = [
            Line2D([], [], color="#333333", linewidth=1.8, label="median over replicates"),
            Patch(color="#333333", alpha=0.25, label="2.5th-97.5th percentile"),
            Line2D([], [], color=GREY, linestyle=":", label="a regime comes into force"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        fig.suptitle("People eligible, deployed and in custody over time", fontweight="bold")
        reps = ", ".join(str(n_replicates(runs, n)) for n in names)
        caption = (
            "Daily stocks per scenario (columns): people eligible under the rules in force, "
            "people deployed at the front, and people in custody (prisons, colonies and "
            "pre-trial detention). Lines are medians and bands the 2.5th-97.5th "
            f"percentiles over replicates ({reps} per scenario); each column has its own "
            "scale and dates. Dotted lines mark the day a regime comes into force."
        )
        return _save(fig, out_dir, stem, "Stocks over time", caption)


# ------------------------------------------------------------- (a2) counterfactual lines


def counterfactual_figure(
    runs: pd.DataFrame,
    cells: pd.DataFrame,
    references: dict[str, str],
    pop_labels: dict[str, str],
    policy_labels: dict[str, str],
    out_dir: Path,
    stem: str = "counterfactual_flows",
) -> FigureInfo:
    """Per population (columns): cumulative released to army and the deployed stock under
    each policy's rules (cells: DataFrame with name, policy, population)."""
    pops = list(dict.fromkeys(cells["population"]))
    policies = list(dict.fromkeys(cells["policy"]))
    rows = (
        ("released_to_army", "released to army\n(cumulative, people)"),
        ("deployed", "deployed at the front\n(people)"),
    )
    with rc_context(RC):
        fig = Figure(figsize=(max(5.2 * len(pops), 6.5), 7.4), layout="constrained")
        axes = fig.subplots(len(rows), len(pops), squeeze=False)
        for j, pop in enumerate(pops):
            for i, (col, ylabel) in enumerate(rows):
                ax = axes[i, j]
                ref = references.get(pop)
                if ref is not None:
                    d, med, lo, hi = _bands(runs, ref, col)
                    if len(d):
                        ax.plot(d, med, color="#000000", linewidth=2.6, alpha=0.35, zorder=1)
                for k, pol in enumerate(policies):
                    sub = cells[(cells["population"] == pop) & (cells["policy"] == pol)]
                    if not len(sub):
                        continue
                    d, med, lo, hi = _bands(runs, sub["name"].iloc[0], col)
                    if not len(d):
                        continue
                    c = PALETTE[k % len(PALETTE)]
                    ax.fill_between(d, lo, hi, color=c, alpha=0.12, linewidth=0)
                    ax.plot(d, med, color=c, linestyle=LINESTYLES[k % len(LINESTYLES)], lw=1.5)
                ax.yaxis.set_major_formatter(COUNT_FORMAT)
                ax.set_ylim(bottom=0)
                _date_axis(ax)
                if j == 0:
                    ax.set_ylabel(ylabel)
                if i == 0:
                    ax.set_title(pop_labels.get(pop, pop))
        handles = [
            Line2D(
                [],
                [],
                color=PALETTE[k % len(PALETTE)],
                linestyle=LINESTYLES[k % len(LINESTYLES)],
                linewidth=1.5,
                label=f"{policy_labels.get(p, p)} rules",
            )
            for k, p in enumerate(policies)
        ]
        handles.append(
            Line2D([], [], color="#000000", alpha=0.35, linewidth=2.6, label="own rules on dates")
        )
        fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        fig.suptitle(
            "Counterfactuals: each country's rules applied to each country's prisons",
            fontweight="bold",
        )
        caption = (
            "For each population (columns), the cumulative number released to the army (top) "
            "and the number deployed (bottom) under each policy's rules, with the policy's "
            "timeline shifted to start on the population's first day. Lines are medians, "
            "bands 2.5th-97.5th percentiles over replicates; the thick grey line is the "
            "population's own scenario (the reference of the paired differences)."
        )
        return _save(fig, out_dir, stem, "Counterfactual flows", caption)


# --------------------------------------------------------------- (b) observations


def observations_figure(
    runs: pd.DataFrame,
    fit: pd.DataFrame,
    labels: dict[str, str],
    out_dir: Path,
    *,
    scaled: bool = False,
    stem: str = "observations",
) -> FigureInfo | None:
    """Model (median, 90% band) against the observed points, one panel per scenario and
    output, zoomed on the period the observations cover."""
    if fit is None or not len(fit):
        return None
    fit = fit.copy()
    fit["date"] = pd.to_datetime(fit["date"])
    fit["model_date"] = pd.to_datetime(fit["model_date"], errors="coerce")
    panels = list(dict.fromkeys(zip(fit["scenario"], fit["output"], strict=True)))
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    with rc_context(RC):
        fig = Figure(figsize=(4.6 * ncols, 3.7 * nrows + 1.1), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes[len(panels) :]:
            ax.set_visible(False)
        for ax, (name, output) in zip(axes, panels, strict=False):
            pts = fit[(fit["scenario"] == name) & (fit["output"] == output)]
            when = pts["model_date"].fillna(pts["date"])
            d, med, lo, hi = _bands(runs, name, output, 5, 95)
            if len(d):
                first = pd.Timestamp(d[0])
                last = max(when.max(), pts["date"].max())
                end = last + max((last - first) * 0.25, pd.Timedelta(days=10))
                keep = d <= np.datetime64(end)
                ax.fill_between(d[keep], lo[keep], hi[keep], color=PALETTE[0], alpha=0.25, lw=0)
                ax.plot(d[keep], med[keep], color=PALETTE[0], linewidth=1.8)
                ax.set_xlim(first, end)
            for row, w in zip(pts.itertuples(), when, strict=True):
                marker = QUALIFIER_MARKERS.get(row.qualifier, "o")
                colour = PALETTE[1] if row.inside else "#000000"
                filled = row.kind == "observed"
                ax.plot(
                    [w],
                    [row.value],
                    marker=marker,
                    markersize=8,
                    linestyle="none",
                    markeredgecolor=colour,
                    markerfacecolor=colour if filled else "white",
                    markeredgewidth=1.6,
                    zorder=5,
                )
                if row.qualifier == "about":
                    ax.plot([w, w], [0.9 * row.value, 1.1 * row.value], color=colour, lw=1.2)
                if w != row.date:  # read on model_date; show the report date faintly
                    ax.annotate(
                        f"reported {row.date:%Y-%m-%d}",
                        (w, row.value),
                        xytext=(-6, 8),
                        textcoords="offset points",
                        fontsize=7.5,
                        ha="right",
                        color="#444444",
                    )
            ax.yaxis.set_major_formatter(COUNT_FORMAT)
            ax.set_ylim(bottom=0)
            _date_axis(ax)
            ax.set_ylabel("people")
            metrics = ", ".join(dict.fromkeys(pts["metric"]))
            ax.set_title(
                f"{labels.get(name, name)}: {OUTPUT_LABELS.get(output, output)}\n"
                f"observed: {metrics}",
                fontsize=9.5,
            )
        handles = [
            Line2D([], [], color=PALETTE[0], linewidth=1.8, label="model median"),
            Patch(color=PALETTE[0], alpha=0.25, label="model 90% interval (5th-95th pct.)"),
        ]
        for q in ("at_least", "about", "up_to", "exact"):
            if (fit["qualifier"] == q).any():
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker=QUALIFIER_MARKERS[q],
                        linestyle="none",
                        color="#555555",
                        markersize=7,
                        label=f"observed: {QUALIFIER_WORDS[q]}",
                    )
                )
        handles += [
            Line2D([], [], marker="o", ls="none", color=PALETTE[1], label="consistent with model"),
            Line2D([], [], marker="o", ls="none", color="#000000", label="not consistent"),
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                markerfacecolor="white",
                markeredgecolor="#555555",
                label="hollow: estimate or claim",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        title = "Model against observed data"
        if scaled:
            title += " (runs at a reduced population: counts not comparable)"
        fig.suptitle(title, fontweight="bold")
        caption = (
            "Cumulative flows (and the eligible stock) in the model against the dated "
            "observations in scenarios/observations/observations_public.csv, zoomed on the "
            "period they cover. Marker shape gives the qualifier (upward triangle: at least; "
            "downward: up to; circle with a ±10% bar: about; square: exact); filled markers "
            "are observations, hollow ones estimates or claims; orange markers are consistent "
            "with the model's 90% interval, black ones are not. A claim reported after "
            "recruitment stopped is read on the day it stopped (model_date)."
        )
        return _save(fig, out_dir, stem, "Fit to observations", caption)


# --------------------------------------------------------------------------- (c) flows


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


def paired_figure(
    paired: pd.DataFrame,
    metrics: Sequence[tuple[str, str]],
    pop_labels: dict[str, str],
    policy_labels: dict[str, str],
    out_dir: Path,
    stem: str = "paired_differences",
) -> FigureInfo | None:
    """Forest plot: per population (rows) and metric (columns), each policy's paired mean
    difference from the population's own rules with its 95% t-interval (thick) and the
    2.5-97.5 percentiles of the per-replicate differences (thin)."""
    if paired is None or not len(paired):
        return None
    pops = list(dict.fromkeys(paired["population"]))
    with rc_context(RC):
        fig = Figure(
            figsize=(4.1 * len(metrics) + 2.4, 0.42 * paired["policy"].nunique() * len(pops) + 2.6),
            layout="constrained",
        )
        axes = fig.subplots(len(pops), len(metrics), squeeze=False)
        for i, pop in enumerate(pops):
            sub = paired[paired["population"] == pop]
            pols = list(dict.fromkeys(sub["policy"]))
            y = np.arange(len(pols))[::-1]
            for j, (metric, xlabel) in enumerate(metrics):
                ax = axes[i, j]
                m = sub[sub["metric"] == metric].set_index("policy").reindex(pols)
                scale = 100.0 if metric.startswith("share_") else 1.0
                for k, (yy, pol) in enumerate(zip(y, pols, strict=True)):
                    r = m.loc[pol]
                    c = PALETTE[k % len(PALETTE)]
                    ax.plot(
                        [r["p2_5"] * scale, r["p97_5"] * scale], [yy, yy], color=c, lw=1, alpha=0.7
                    )
                    ax.plot([r["t_low"] * scale, r["t_high"] * scale], [yy, yy], color=c, lw=4.5)
                    ax.plot(
                        [r["mean_diff"] * scale],
                        [yy],
                        marker="o",
                        color="white",
                        markeredgecolor=c,
                        markersize=5,
                    )
                ax.axvline(0, color="#333333", linewidth=0.9)
                ax.set_yticks(y, [policy_labels.get(p, p) for p in pols] if j == 0 else [])
                ax.grid(axis="y", visible=False)
                if scale == 1.0 and not metric.endswith("_pct"):
                    ax.xaxis.set_major_formatter(COUNT_FORMAT)
                ax.xaxis.set_major_locator(MaxNLocator(5))
                ax.set_xlabel(xlabel)
                if i == 0:
                    ax.set_title(xlabel.split(" (")[0])
                if j == 0:
                    ax.set_ylabel(_wrap(pop_labels.get(pop, pop), 30))
        handles = [
            Line2D([], [], color="#555555", lw=4.5, label="95% t-interval of the mean difference"),
            Line2D(
                [], [], color="#555555", lw=1, label="2.5th-97.5th pct. of replicate differences"
            ),
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                color="white",
                markeredgecolor="#555555",
                label="mean paired difference",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        fig.suptitle(
            "What changes if a population lives under another country's rules "
            "(policy minus own rules, same seeds)",
            fontweight="bold",
        )
        caption = (
            "Paired differences between each policy's rules and the population's own rules "
            "(rows: populations), replicate by replicate with common random numbers. Thick "
            "bars are 95% t-intervals of the mean difference; thin lines the 2.5th-97.5th "
            "percentiles of the per-replicate differences. A policy that is the population's "
            "own rules (Ukraine's law on Ukraine's prisons) shows zero: the pairing check."
        )
        return _save(fig, out_dir, stem, "Paired differences", caption)


# --------------------------------------------------------------------------- (e) sweeps


def _short_param(key: str) -> str:
    parts = key.split(".")
    if parts[0] == "regimes" and len(parts) > 2:
        return ".".join(parts[2:])
    if parts[0] in ("population", "scenario") and len(parts) > 1:
        return ".".join(parts[1:])
    return key


def sensitivity_figure(
    indices: pd.DataFrame, method: str, out_dir: Path, *, title: str = "", stem: str = "sensitivity"
) -> FigureInfo | None:
    """Sobol: S1 and ST bars with 95% confidence half-widths per output; Morris: mu* against
    sigma per output (mu* confidence as horizontal bars); grid/LHS: Spearman bars."""
    idx = indices[indices["parameter"] != "(noise)"]
    if not len(idx):
        return None
    outputs = list(dict.fromkeys(idx["output"]))
    params = list(dict.fromkeys(idx["parameter"]))
    ncols = min(3, len(outputs))
    nrows = -(-len(outputs) // ncols)
    noise = indices[indices["index"] == "noise_share"].set_index("output")["value"]
    with rc_context(RC):
        fig = Figure(
            figsize=(
                4.8 * ncols + (1.8 if method != "morris" else 0),
                0.5 * len(params) * nrows + 2.2 * nrows + 1.0,
            ),
            layout="constrained",
        )
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes[len(outputs) :]:
            ax.set_visible(False)
        for n, (ax, output) in enumerate(zip(axes, outputs, strict=False)):
            sub = idx[idx["output"] == output]
            nz = noise.get(output, np.nan)
            noise_text = "" if nz != nz else f" (replicate noise {100 * nz:.0f}%)"
            ax.set_title(f"{output}{noise_text}", fontsize=9.5)
            if method == "morris":
                mu = sub[sub["index"] == "mu_star"].set_index("parameter").reindex(params)
                sg = sub[sub["index"] == "sigma"].set_index("parameter").reindex(params)
                xs = np.nan_to_num(mu["value"].to_numpy(float))
                ys = np.nan_to_num(sg["value"].to_numpy(float))
                span_x, span_y = max(xs.max(), 1e-12), max(ys.max(), 1e-12)
                placed: list[tuple[float, float]] = []
                for k, p in enumerate(params):
                    c = PALETTE[k % len(PALETTE)]
                    x, yv, conf = xs[k], ys[k], mu.loc[p, "conf"]
                    ax.errorbar(
                        [x],
                        [yv],
                        xerr=[[conf]] if conf == conf else None,
                        marker="os^Dvp<>"[k % 8],
                        color=c,
                        markersize=7,
                        capsize=3,
                        ls="none",
                    )
                    # Points that (nearly) coincide get their labels stacked, not overprinted.
                    near = sum(
                        abs(x - px) / span_x < 0.15 and abs(yv - py) / span_y < 0.08
                        for px, py in placed
                    )
                    placed.append((x, yv))
                    ax.annotate(
                        _short_param(p),
                        (x, yv),
                        xytext=(5, 4 + 11 * near),
                        textcoords="offset points",
                        fontsize=7.5,
                        color=c,
                    )
                lim = np.nanmax(np.r_[mu["value"].to_numpy(float), sg["value"].to_numpy(float), 0])
                if lim > 0:
                    ax.plot([0, lim], [0, lim], color=GREY, ls=":", lw=1)
                ax.set_xlabel("mu* (mean |elementary effect|, output units)")
                ax.set_ylabel("sigma (spread of effects)")
                ax.set_xlim(left=0)
                ax.set_ylim(bottom=0)
            else:
                names = ("S1", "ST") if method == "sobol" else ("spearman",)
                y = np.arange(len(params))[::-1]
                h = 0.8 / len(names)
                for k, name in enumerate(names):
                    r = sub[sub["index"] == name].set_index("parameter").reindex(params)
                    conf = r["conf"].to_numpy(float)
                    ax.barh(
                        y + (len(names) - 1 - 2 * k) * h / 2,
                        r["value"].to_numpy(float),
                        height=h,
                        xerr=np.where(np.isnan(conf), 0, conf),
                        color=PALETTE[k],
                        capsize=3,
                        error_kw={"elinewidth": 1, "ecolor": "#333333"},
                        label={"S1": "S1 (first order)", "ST": "ST (total)"}.get(
                            name, "Spearman rho"
                        ),
                    )
                ax.axvline(0, color="#333333", lw=0.8)
                ax.set_yticks(y, [_short_param(p) for p in params] if n % ncols == 0 else [])
                ax.grid(axis="y", visible=False)
                ax.set_xlabel(
                    "share of output variance" if method == "sobol" else "rank correlation"
                )
                if method != "sobol":
                    ax.set_xlim(-1.05, 1.05)
        if method != "morris":
            handles, labs = axes[0].get_legend_handles_labels()
            fig.legend(handles, labs, loc="outside lower center", ncols=2, frameon=False)
        what = {"sobol": "Sobol indices", "morris": "Morris screening"}.get(
            method, "Spearman rank correlations"
        )
        fig.suptitle(f"Sensitivity: {what}" + (f" - {title}" if title else ""), fontweight="bold")
        captions = {
            "sobol": "Sobol first-order (S1) and total (ST) indices per output, with 95% "
            "confidence half-widths (SALib bootstrap): the share of the output's variance due "
            "to each parameter alone (S1) and with its interactions (ST).",
            "morris": "Morris screening per output: mu* (mean absolute elementary effect, "
            "with its 95% confidence half-width) against sigma (spread of the effects: "
            "non-linearity or interactions). Points far right matter most; points above the "
            "dotted diagonal act mostly through interactions or non-linearly.",
        }
        caption = captions.get(
            method,
            "Spearman rank correlation of each parameter with each output across design "
            "points, with Fisher-z 95% half-widths.",
        )
        caption += (
            " Replicates are averaged per design point; each panel's title gives the share "
            "of the output's variance that is replicate noise."
        )
        return _save(fig, out_dir, stem, "Sensitivity", caption)


# ------------------------------------------------------------------- decomposition


def waterfall_figure(
    table: pd.DataFrame,
    metrics: Sequence[tuple[str, str]],
    out_dir: Path,
    *,
    stem: str = "decomposition",
) -> FigureInfo:
    """Waterfall per metric (panels): policy A's value, each rule group's Shapley
    contribution (mean, with its 95% interval) stacked from it, and policy B's value.
    `table`: decomposition.csv (kind endpoint/group/total, term, label, mean, low, high)."""
    a_name = str(table["policy_a"].iloc[0])
    b_name = str(table["policy_b"].iloc[0])
    ncols = min(2, len(metrics))
    nrows = -(-len(metrics) // ncols)
    with rc_context(RC):
        fig = Figure(figsize=(6.2 * ncols, 3.4 * nrows + 1.0), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)
        for ax, (metric, xlabel) in zip(axes, metrics, strict=False):
            sub = table[table["metric"] == metric].set_index("term")
            groups = sub[sub["kind"] == "group"]
            labels = [f"{a_name} law", *groups["label"], f"{b_name} law"]
            y = np.arange(len(labels))[::-1]
            level = float(sub.loc["A", "mean"])
            ax.barh(y[0], level, color=GREY, height=0.65)
            for yy, (_term, g) in zip(y[1:-1], groups.iterrows(), strict=True):
                step = float(g["mean"])
                colour = PALETTE[0] if step >= 0 else PALETTE[1]
                ax.barh(yy, step, left=level, color=colour, height=0.65)
                if g["low"] == g["low"]:
                    ax.errorbar(
                        [level + step],
                        [yy],
                        xerr=[[step - g["low"]], [g["high"] - step]],
                        color="#333333",
                        capsize=2.5,
                        lw=0.9,
                    )
                ax.plot([level, level], [yy + 0.45, yy - 0.45], color="#333333", lw=0.6)
                right = max(
                    level, level + step, level + (g["high"] if g["high"] == g["high"] else 0)
                )
                text = f"{step:+.1f}" if metric.endswith("_pct") else f"{step:+,.0f}"
                ax.annotate(
                    text,
                    (right, yy),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7.5,
                )
                level += step
            ax.barh(y[-1], float(sub.loc["B", "mean"]), color=GREY, height=0.65, hatch="//")
            ax.axvline(0, color="#333333", lw=0.8)
            ax.set_yticks(y, [_wrap(t, 30) for t in labels])
            ax.grid(axis="y", visible=False)
            if not metric.endswith("_pct"):
                ax.xaxis.set_major_formatter(COUNT_FORMAT)
            ax.set_xlabel(xlabel)
            ax.set_title(xlabel.split(" (")[0])
        handles = [
            Patch(color=PALETTE[0], label="rule group raises the metric"),
            Patch(color=PALETTE[1], label="rule group lowers it"),
            Patch(facecolor=GREY, label=f"{a_name} law (start)"),
            Patch(facecolor=GREY, hatch="//", label=f"{b_name} law (end)"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        population = table["population"].iloc[0]
        fig.suptitle(
            f"Which rule makes the difference: {a_name} to {b_name} law on {population}'s "
            "population",
            fontweight="bold",
        )
        reps = int(table["replicates"].iloc[0])
        n_coalitions = 2 ** table.loc[table["kind"] == "group", "term"].nunique()
        caption = (
            f"Starting from the outcome under {a_name}'s law (top bar), each rule group's "
            f"Shapley contribution moves the outcome towards the outcome under {b_name}'s "
            "law (bottom bar, hatched): blue steps raise the metric, vermillion steps lower "
            "it, and the signed numbers give the steps. Contributions are means over "
            f"{reps} replicates with 95% t-intervals (whiskers), averaged over every order "
            "in which the groups could be switched; they add up to the difference between "
            "the two end bars. Both laws are in force over the population's whole horizon, "
            f"with common random numbers across all {n_coalitions} combinations of rule groups."
        )
        return _save(fig, out_dir, stem, "Rule-by-rule decomposition", caption)
