"""First passage of a cumulative hazard: the day each person's need is met.

The vector engine draws each person's need (a unit exponential over their person factor)
and finds the first day on which the cumulative application hazard since their window
opened reaches it, for many people at once (`first_day_at_least`, one compiled pass).
"""

from __future__ import annotations

import numpy as np

from sim.jit import kernel


def stacked_rows(cum: np.ndarray) -> np.ndarray:
    """The rows of a per-facility table stacked into one increasing sequence: row r shifted
    by r times more than any row's total (`first_day_at_least`)."""
    return cum + _row_offset(cum) * np.arange(cum.shape[0])[:, None]


def _row_offset(cum: np.ndarray) -> float:
    """The shift between consecutive rows of the stacked table: more than any row's total."""
    return float(cum[:, -1].max()) + 1.0


def first_day_at_least(
    cum: np.ndarray,
    rows: np.ndarray | None,
    lo: np.ndarray,
    need: np.ndarray,
    stacked: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> np.ndarray:
    """First day d >= lo with cum[row, d+1] - cum[row, lo] >= need (rows of a 2-D table);
    a day >= the horizon when there is none, or with `hi`, a day >= hi when there is none
    before it (only those people are searched: most people's need is never met).

    A table per facility is compared in its stacked form (`stacked_rows`: row r shifted by
    r times more than any row's total, each target shifted alike), which fixes the rounding
    of every comparison whatever the order people are searched in.

    Args:
        cum: Cumulative hazard at the start of each day, one row per facility (or one row).
        rows: Each person's row (None for a single row).
        lo: First day of each person's window.
        need: Each person's need (hazard to accumulate).
        stacked: `stacked_rows(cum)`, if already computed.
        hi: End of each person's window (exclusive), or None for the horizon.

    Returns:
        One day per person, int64.
    """
    n = len(need)
    day = np.empty(n, dtype=np.int64)
    lo = np.asarray(lo)
    end = np.full(n, cum.shape[1] - 1, dtype=np.int64) if hi is None else np.asarray(hi)
    if cum.shape[0] == 1:
        _first_days(cum, cum, np.zeros(0, dtype=np.int32), lo, need, 0.0, end, hi is None, day)
        return day
    assert rows is not None, "a table per facility needs each person's row"
    stacked = stacked_rows(cum) if stacked is None else stacked
    _first_days(cum, stacked, rows, lo, need, _row_offset(cum), end, hi is None, day)
    return day


@kernel
def _first_days(cum, stacked, rows, lo, need, offset, hi, search_all, day):
    """`first_day_at_least` person by person into `day`: the target in the stacked row,
    the pre-check at the window's end, then a binary search for the first entry at least
    the target (numpy's `searchsorted(side="left")`, NaN last)."""
    width = cum.shape[1]
    for i in range(need.size):
        r = rows[i] if rows.size else 0
        target = cum[r, lo[i]] + need[i]
        if rows.size:
            target = target + offset * r
        row = stacked[r]
        if search_all:
            top = width
        elif row[hi[i]] >= target:
            top = hi[i] + 1  # the first entry at least the target is at most hi
        else:
            day[i] = hi[i]
            continue
        if target != target:  # NaN: after every entry
            day[i] = width - 1
            continue
        a, b = 0, top
        while a < b:
            mid = (a + b) >> 1
            if row[mid] < target:
                a = mid + 1
            else:
                b = mid
        day[i] = a - 1
