"""First passage of a cumulative hazard: the day each person's need is met.

The vector engine draws each person's need (a unit exponential over their person factor)
and finds the first day on which the cumulative application hazard since their window
opened reaches it, for many people at once (`first_day_at_least`, one compiled pass).
"""

from __future__ import annotations

import numpy as np

from sim.jit import kernel


def _row_offset(cum: np.ndarray) -> float:
    """The shift between consecutive rows of the stacked table: more than any row's total."""
    return float(cum[:, -1].max()) + 1.0


def first_day_at_least(
    cum: np.ndarray,
    rows: np.ndarray | None,
    lo: np.ndarray,
    need: np.ndarray,
    hi: np.ndarray | None = None,
    row_of: np.ndarray | None = None,
) -> np.ndarray:
    """First day d >= lo with G[row, d+1] - G[row, lo] >= need, where G[r] is the row
    `row_of[r]` of `cum` (row r itself without `row_of`); a day >= the horizon when there is
    none, or with `hi`, a day >= hi when there is none before it (only those people are
    searched: most people's need is never met).

    A table of several rows is compared in its stacked form: row r of G shifted by r times
    more than any row's total, each target shifted alike, computed as each entry is read.
    That fixes the rounding of every comparison whatever the order people are searched in,
    and facilities that share a row of `cum` share its memory.

    Args:
        cum: Cumulative hazard at the start of each day: its distinct rows (or one row).
        rows: Each person's row of G, e.g. their facility (None: one row for everyone).
        lo: First day of each person's window.
        need: Each person's need (hazard to accumulate).
        hi: End of each person's window (exclusive), or None for the horizon.
        row_of: Each row of G's row of `cum` (None: G is `cum`).

    Returns:
        One day per person, int64.
    """
    n = len(need)
    day = np.empty(n, dtype=np.int64)
    lo = np.asarray(lo)
    end = np.full(n, cum.shape[1] - 1, dtype=np.int64) if hi is None else np.asarray(hi)
    no_rows = np.zeros(0, dtype=np.int32)
    if rows is None:
        _first_days(cum, no_rows, no_rows, lo, need, 0.0, end, hi is None, day)
        return day
    row_of = no_rows if row_of is None else row_of
    _first_days(cum, row_of, rows, lo, need, _row_offset(cum), end, hi is None, day)
    return day


@kernel
def _first_days(cum, row_of, rows, lo, need, offset, hi, search_all, day):
    """`first_day_at_least` person by person into `day`: the target in the stacked row,
    the pre-check at the window's end, then a binary search for the first entry at least
    the target (numpy's `searchsorted(side="left")`, NaN last). Row r of the stacked
    table is `cum[row_of[r]] + offset * r` (one row, not shifted, without `rows`)."""
    width = cum.shape[1]
    stacked = rows.size > 0
    for i in range(need.size):
        r = rows[i] if stacked else 0
        row = cum[row_of[r]] if row_of.size else cum[r]
        shift = offset * r
        target = row[lo[i]] + need[i]
        if stacked:
            target = target + shift
        if search_all:
            top = width
        elif (row[hi[i]] + shift if stacked else row[hi[i]]) >= target:
            top = hi[i] + 1  # the first entry at least the target is at most hi
        else:
            day[i] = hi[i]
            continue
        if target != target:  # NaN: after every entry
            day[i] = width - 1
            continue
        a, b = 0, top
        if stacked:
            while a < b:
                mid = (a + b) >> 1
                if row[mid] + shift < target:
                    a = mid + 1
                else:
                    b = mid
        else:
            while a < b:
                mid = (a + b) >> 1
                if row[mid] < target:
                    a = mid + 1
                else:
                    b = mid
        day[i] = a - 1
