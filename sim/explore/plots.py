"""The explorer's figures, in sim.figures' house style (Okabe-Ito palette, object API, no
pyplot): stocks and flows over time with bands, the funnel, and who is recruited.

`result_figure(result)` draws the main stocks and flows of one run (what `Result.plot()`
returns); `timeseries_figure` does the same for replicates, with the population's own law
for comparison. Figures have fixed margins, not constrained layout: the explorer redraws
them on every change, and the layout engine would about double the time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..figures import (
    COUNT_FORMAT,
    LINESTYLES,
    OFFENCE_GROUPS,
    PALETTE,
    RC,
    STAGE_COLOURS,
    _date_axis,
)
from ..results import Result
from .views import HIGH_PCT, LAW, LOW_PCT, OWN, Bands, bands

# Panels of the time-series figure: title, legend place and (column, label) drawn in it.
# Fixed legend places: matplotlib's "best" costs a second on these long lines.
PANELS = (
    (
        "In custody (stock)",
        "center right",
        (("in_custody", "in custody"), ("eligible", "eligible")),
    ),
    ("In the army (stock)", "upper left", (("training", "in training"), ("deployed", "deployed"))),
    (
        "Recruitment (cumulative)",
        "upper left",
        (("applications", "applications"), ("released_to_army", "released to army")),
    ),
    (
        "Outcomes of recruits (cumulative)",
        "upper left",
        (
            ("killed", "killed"),
            ("wounded_discharged", "wounded, discharged"),
            ("deserted", "deserted"),
            ("service_completed", "service completed"),
            ("returned_to_custody", "returned to custody"),
        ),
    ),
)


def timeseries_figure(
    law: Bands,
    own: Bands | None = None,
    *,
    title: str = "Stocks and flows over time",
    size: tuple[float, float] = (10.5, 6.4),
) -> Figure:
    """Main stocks and cumulative flows per day: median and 5-95% band over the replicates
    of `law` (see views.bands), with the median under the population's own law (`own`) as
    a thin pale line of the same colour."""
    with rc_context(RC):
        fig = Figure(figsize=size)
        fig.subplots_adjust(left=0.06, right=0.985, top=0.9, bottom=0.13, hspace=0.5, wspace=0.14)
        axes = fig.subplots(2, 2).ravel()
        for ax, (panel, where, columns) in zip(axes, PANELS, strict=True):
            for k, (col, label) in enumerate(columns):
                colour, style = PALETTE[k % len(PALETTE)], LINESTYLES[k % len(LINESTYLES)]
                if law.replicates > 1:
                    ax.fill_between(
                        law.dates, law.low[col], law.high[col], color=colour, alpha=0.25, lw=0
                    )
                ax.plot(law.dates, law.median[col], color=colour, ls=style, lw=1.8, label=label)
                if own is not None:
                    ax.plot(own.dates, own.median[col], color=colour, ls=style, lw=0.9, alpha=0.5)
            ax.set_title(panel, loc="left")
            ax.yaxis.set_major_formatter(COUNT_FORMAT)
            ax.set_ylim(bottom=0)
            _date_axis(ax)
            ax.legend(loc=where, frameon=False, fontsize=8)
        handles: list[Any] = []
        if law.replicates > 1:
            label = f"{LOW_PCT}-{HIGH_PCT}% over {law.replicates} runs"
            handles.append(Patch(color="#333333", alpha=0.25, label=label))
        if own is not None:
            label = "median, population's own law"
            handles.append(Line2D([], [], color="#333333", lw=0.9, alpha=0.5, label=label))
        if handles:
            fig.legend(handles=handles, loc="lower center", ncols=2, frameon=False)
        fig.suptitle(title, fontweight="bold")
        return fig


def result_figure(result: Result) -> Figure:
    """The main stocks and flows of one run (people per day)."""
    title = f"{result.scenario} (seed {result.seed}, {result.engine})"
    return timeseries_figure(bands([result]), title=title)


def funnel_figure(funnel: pd.DataFrame, size: tuple[float, float] = (7.2, 4.6)) -> Figure:
    """The funnel (views.funnel): bars are medians under the law with 5-95% whiskers; ticks
    mark the medians under the population's own law."""
    with rc_context(RC):
        fig = Figure(figsize=size)
        fig.subplots_adjust(left=0.45, right=0.97, top=0.92, bottom=0.2)
        ax = fig.subplots()
        y = np.arange(len(funnel))[::-1]
        colours = [STAGE_COLOURS[level] for level in funnel["level"]]
        err = np.vstack([funnel["median"] - funnel["p05"], funnel["p95"] - funnel["median"]])
        ax.barh(y, funnel["median"], color=colours, height=0.7, xerr=np.clip(err, 0, None))
        ax.plot(funnel["own_median"], y, "|", color="#000000", markersize=14, mew=2)
        ax.set_yticks(y, funnel["stage"], fontsize=8)
        ax.xaxis.set_major_formatter(COUNT_FORMAT)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("people by the end of the horizon")
        handles = [
            Patch(color="#777777", label="this law: median, 5-95% whiskers"),
            Line2D([], [], marker="|", ls="none", color="#000000", mew=2, label="own law"),
        ]
        fig.legend(handles=handles, loc="lower center", ncols=2, frameon=False)
        ax.set_title("Recruitment funnel", loc="left", fontweight="bold")
        return fig


def offences_figure(offences: pd.DataFrame, size: tuple[float, float] = (6.2, 2.7)) -> Figure:
    """Who is recruited (views.offences): share of recruits by offence group, one stacked
    bar per law; the number on the right is the mean number of recruits."""
    arms = [a for a in (LAW, OWN) if a in offences.columns]
    with rc_context(RC):
        fig = Figure(figsize=size)
        fig.subplots_adjust(left=0.13, right=0.9, top=0.87, bottom=0.38)
        ax = fig.subplots()
        y = np.arange(len(arms))[::-1]
        left = np.zeros(len(arms))
        for label, _members, colour in OFFENCE_GROUPS:
            v = np.nan_to_num(offences.loc[label, arms].to_numpy(dtype=np.float64))
            ax.barh(y, v, left=left, color=colour, label=label, height=0.7, edgecolor="white")
            for yy, lft, w in zip(y, left, v, strict=True):
                if w >= 0.08:
                    ax.text(
                        lft + w / 2, yy, f"{100 * w:.0f}%", ha="center", va="center", fontsize=7
                    )
            left += v
        for yy, arm in zip(y, arms, strict=True):
            total = offences.loc["total", arm]
            ax.text(1.01, yy, f"{total:,.0f}", va="center", fontsize=8)
            if not total > 0:
                note = "no recruits: the rules cover nobody in this population"
                ax.text(0.01, yy, note, va="center", fontsize=8, style="italic", color="#444444")
        ax.set_yticks(y, ["this law" if a == LAW else a for a in arms])
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{100 * x:.0f}%"))
        ax.grid(axis="y", visible=False)
        ax.set_title("Who is recruited (offence of recruits)", loc="left", fontweight="bold")
        fig.legend(
            *ax.get_legend_handles_labels(),
            loc="lower center",
            ncols=3,
            frameon=False,
            fontsize=7,
        )
        return fig
