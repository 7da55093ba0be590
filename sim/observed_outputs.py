"""The model's value for each observation: what an observed metric is in a run's outputs.

An observation's `output` (set by `sim.observations.COMPARABLE`) names either a column of
the time series (read on the observation's day) or one of `OUTPUTS` below, which need more
than the totals:

- custody stocks by legal status, both sexes together (`incarcerated_<status>`: the sum of
  the time series' `incarcerated_<status>_male` and `_female`; observations count convicts
  in colonies, pre-trial detainees and defendants separately);
- per-regime counts from `Result.recruits` (one row per enlistment), cumulative to the
  observation's day: Wagner's recruits (contracts signed), Wagner recruits killed, and the
  share of Wagner recruits killed. Wagner means every regime whose id contains "wagner"
  (any case), e.g. `RU_WAGNER`.

`model_values(result, table)` gives the model's value of every row of a targets table
(`sim.calibration.Targets.table`: columns `output` and `day`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .model.taxonomy import SEXES, STATUSES


class OutputUnavailable(ValueError):
    """A run lacks what an output needs (a column or the recruits table)."""


@dataclass(frozen=True)
class Output:
    """How to compute one named output: `compute(result, days)` gives its value on each of
    the (valid) `days`; `needs` says which part of the result it reads."""

    description: str
    needs: str  # "timeseries" or "recruits"
    compute: Callable[[object, np.ndarray], np.ndarray]


def _column(result, name: str) -> np.ndarray:
    ts = result.timeseries
    if name not in ts.columns:
        raise OutputUnavailable(f"the run's time series has no column {name!r}")
    return ts[name].to_numpy(dtype=np.float64)


def _custody(status: str) -> Callable[[object, np.ndarray], np.ndarray]:
    def compute(result, days: np.ndarray) -> np.ndarray:
        return sum(_column(result, f"incarcerated_{status}_{sex}")[days] for sex in SEXES)

    return compute


def _recruits(result) -> pd.DataFrame:
    recruits = getattr(result, "recruits", None)
    if recruits is None:
        raise OutputUnavailable("the run has no recruits table (Result.recruits)")
    return recruits


def regime_rows(recruits: pd.DataFrame, family: str) -> pd.DataFrame:
    """The enlistments under regimes whose id contains `family` (any case).

    Args:
        recruits: `Result.recruits`.
        family: Part of a regime id, e.g. "wagner".

    Returns:
        The matching rows.
    """
    return recruits[recruits["regime"].astype(str).str.lower().str.contains(family.lower())]


def cumulative(event_days: np.ndarray, days: np.ndarray) -> np.ndarray:
    """How many events happened on or before each of `days` (event days < 0: never).

    Args:
        event_days: Day of each event, -1 when it did not happen within the horizon.
        days: The days asked for.

    Returns:
        One count per day asked for.
    """
    happened = np.sort(event_days[event_days >= 0])
    return np.searchsorted(happened, days, side="right").astype(np.float64)


def _signed(rows: pd.DataFrame) -> np.ndarray:
    return rows["contract_day"].to_numpy(dtype=np.int64)


def _killed(rows: pd.DataFrame) -> np.ndarray:
    killed = rows["outcome"].astype(str).to_numpy() == "killed"
    return np.where(killed, rows["exit_day"].to_numpy(dtype=np.int64), -1)


def _family_recruits(family: str):
    def compute(result, days):
        return cumulative(_signed(regime_rows(_recruits(result), family)), days)

    return compute


def _family_killed(family: str):
    def compute(result, days):
        return cumulative(_killed(regime_rows(_recruits(result), family)), days)

    return compute


def _family_killed_share(family: str):
    def compute(result, days):
        rows = regime_rows(_recruits(result), family)
        signed = cumulative(_signed(rows), days)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(signed > 0, cumulative(_killed(rows), days) / signed, np.nan)

    return compute


OUTPUTS: dict[str, Output] = {
    **{
        f"incarcerated_{status}": Output(
            f"{status} in custody (incarcerated), both sexes", "timeseries", _custody(status)
        )
        for status in STATUSES
    },
    "wagner_recruits": Output(
        "contracts signed under Wagner regimes, cumulative", "recruits", _family_recruits("wagner")
    ),
    "wagner_killed": Output(
        "Wagner recruits killed, cumulative", "recruits", _family_killed("wagner")
    ),
    "wagner_killed_share": Output(
        "Wagner recruits killed / Wagner recruits, cumulative",
        "recruits",
        _family_killed_share("wagner"),
    ),
}


def with_custody_by_status(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (a time series, or runs in long format) with the columns
    `incarcerated_<status>` (both sexes) added where its per-sex columns are present, so
    that tables and figures can read them like any column.

    Args:
        frame: Rows with `incarcerated_<status>_<sex>` columns.

    Returns:
        A copy with the sums added (the frame itself when there is nothing to add).
    """
    added = {
        f"incarcerated_{status}": sum(frame[f"incarcerated_{status}_{sex}"] for sex in SEXES)
        for status in STATUSES
        if all(f"incarcerated_{status}_{sex}" in frame.columns for sex in SEXES)
        and f"incarcerated_{status}" not in frame.columns
    }
    return frame.assign(**added) if added else frame


def is_known(output: str, timeseries_columns=()) -> bool:
    """Whether `output` is one of OUTPUTS or a column of the time series.

    Args:
        output: The output's name.
        timeseries_columns: The time series' columns.

    Returns:
        True when the model can give a value for it.
    """
    return output in OUTPUTS or output in set(timeseries_columns)


def needs(outputs) -> set[str]:
    """What parts of a result the outputs read ("timeseries", "recruits").

    Args:
        outputs: Output names.

    Returns:
        The parts.
    """
    return {OUTPUTS[o].needs if o in OUTPUTS else "timeseries" for o in outputs}


def model_values(result, targets_table: pd.DataFrame) -> np.ndarray:
    """The model's value for each row of a targets table, on the row's day.

    Args:
        result (sim.results.Result | pd.DataFrame): One run (its time series, and
            `recruits` for the per-regime outputs), or a time series alone (enough for
            every output that `needs` "timeseries").
        targets_table: Rows with `output` (a time series column or a key of OUTPUTS) and
            `day` (index from the scenario's start).

    Returns:
        One float per row; NaN for a day outside the run.

    Raises:
        OutputUnavailable: The run lacks a column or the recruits table an output needs.
    """
    if isinstance(result, pd.DataFrame):
        result = SimpleNamespace(timeseries=result, recruits=None)
    out = np.full(len(targets_table), np.nan)
    n_days = len(result.timeseries)
    days = targets_table["day"].to_numpy(dtype=np.int64)
    outputs = targets_table["output"].astype(str).to_numpy()
    for output in dict.fromkeys(outputs):
        rows = np.flatnonzero((outputs == output) & (days >= 0) & (days < n_days))
        if not len(rows):
            continue
        if output in OUTPUTS:
            out[rows] = OUTPUTS[output].compute(result, days[rows])
        else:
            out[rows] = _column(result, output)[days[rows]]
    return out
