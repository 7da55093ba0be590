"""Figures over time: stocks, counterfactual stocks, model against observations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .style import (
    COUNT_FORMAT,
    GREY,
    LINESTYLES,
    OUTPUT_LABELS,
    PALETTE,
    QUALIFIER_MARKERS,
    QUALIFIER_WORDS,
    RC,
    STOCKS,
    FigureInfo,
    _bands,
    _date_axis,
    _save,
    _wrap,
    n_replicates,
)


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
