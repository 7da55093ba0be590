"""House style of the figures: palette, line styles, rc settings, labels, saving."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter

from ..results import write_atomic

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
        """Tick labels: years on 1 January ticks, otherwise month (and day if not the 1st).

        Args:
            values: Tick positions as matplotlib dates.

        Returns:
            The labels.
        """
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
    """Number of replicates of a scenario in a runs table.

    Args:
        runs: The runs table.
        name: The scenario's name.

    Returns:
        Number of distinct replicates.
    """
    return int(runs.loc[runs["scenario"] == name, "replicate"].nunique())


# --------------------------------------------------------------------------- (a) stocks
