"""Figures for batches, sweeps and comparisons (matplotlib, Agg canvas; PNG and SVG).

Each function takes tables (DataFrames from an experiment directory), draws one figure and
writes `<stem>.png` and `<stem>.svg` atomically into a directory; it returns a `FigureInfo`
with the caption that says what the figure shows. Figures use matplotlib's object API with
its Agg canvas (no pyplot, no global backend), the Okabe-Ito colour-blind-safe palette, and
line styles or markers as a second cue wherever colour alone would carry meaning.
"""

from .effects import paired_figure, sensitivity_figure, waterfall_figure
from .flows import (
    FLOW_ROWS,
    STAGE_COLOURS,
    flow_figure,
    flow_values,
    offence_shares,
    offences_figure,
)
from .style import (
    COUNT_FORMAT,
    GREY,
    LINESTYLES,
    OFFENCE_GROUPS,
    OUTPUT_LABELS,
    PALETTE,
    QUALIFIER_MARKERS,
    QUALIFIER_WORDS,
    RC,
    STOCKS,
    FigureInfo,
    _date_axis,
    n_replicates,
)
from .timeseries import counterfactual_figure, observations_figure, stocks_figure

__all__ = [
    "COUNT_FORMAT",
    "FLOW_ROWS",
    "GREY",
    "LINESTYLES",
    "OFFENCE_GROUPS",
    "OUTPUT_LABELS",
    "PALETTE",
    "QUALIFIER_MARKERS",
    "QUALIFIER_WORDS",
    "RC",
    "STAGE_COLOURS",
    "STOCKS",
    "FigureInfo",
    "_date_axis",
    "counterfactual_figure",
    "flow_figure",
    "flow_values",
    "n_replicates",
    "observations_figure",
    "offence_shares",
    "offences_figure",
    "paired_figure",
    "sensitivity_figure",
    "stocks_figure",
    "waterfall_figure",
]
