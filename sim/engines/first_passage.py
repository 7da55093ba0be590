"""First passage of a cumulative hazard: the day each person's need is met.

The vector engine draws each person's need (a unit exponential over their person factor)
and finds the first day on which the cumulative application hazard since their window
opened reaches it, for many people at once (`first_day_at_least`).
"""

from __future__ import annotations

import numpy as np

ROW_SEARCH_MIN_PER_ROW = 64  # people per facility row from which each row is searched alone


def stacked_rows(cum: np.ndarray) -> np.ndarray:
    """The rows of a per-facility table stacked into one increasing sequence: row r shifted
    by r times more than any row's total (`first_day_at_least`)."""
    offset = float(cum[:, -1].max()) + 1.0
    return cum + offset * np.arange(cum.shape[0])[:, None]


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

    With a table per facility, the rows are stacked into one increasing sequence (row r
    shifted by r times more than any row's total) and each target shifted alike, so one
    comparison rule serves every row. Many people: they are grouped by row (a radix sort
    of the row numbers) and each group is searched within its own row, which stays in
    cache; few people: one search over the stacked rows, needles sorted.
    """
    if cum.shape[0] == 1:
        target = cum[0, lo] + need
    else:
        assert rows is not None, "a table per facility needs each person's row"
        offset = float(cum[:, -1].max()) + 1.0
        stacked = stacked_rows(cum) if stacked is None else stacked
        target = cum[rows, lo] + need + offset * rows
    if hi is None:
        return _search(cum, stacked, rows, target)
    # The day found is before hi exactly when the table at hi has reached the target.
    met = (cum[0, hi] if stacked is None or rows is None else stacked[rows, hi]) >= target
    day = np.asarray(hi, dtype=np.int64).copy()
    sub = np.flatnonzero(met)
    day[sub] = _search(cum, stacked, None if rows is None else rows[sub], target[sub])
    return day


def _search(cum, stacked, rows, target) -> np.ndarray:
    """`first_day_at_least` for the targets (shifted by row in a per-facility table)."""
    if cum.shape[0] == 1:
        return np.searchsorted(cum[0], target, side="left").astype(np.int64) - 1
    n_rows, width = cum.shape
    if len(rows) < ROW_SEARCH_MIN_PER_ROW * n_rows:
        flat = stacked.ravel()
        order = np.argsort(target)  # sorted needles keep the binary searches in cache
        pos = np.empty(len(target), dtype=np.int64)
        pos[order] = np.searchsorted(flat, target[order], side="left")
        # A target beyond its row lands in a later row: report the horizon instead.
        return np.minimum(pos - rows.astype(np.int64) * width, width) - 1
    # Many people: grouped by row (a radix sort of the row numbers), each group searched
    # within its own row, which stays in cache.
    order = np.argsort(rows.astype(np.uint16 if n_rows <= 1 << 16 else np.int64), kind="stable")
    bounds = np.searchsorted(rows[order], np.arange(n_rows + 1)).tolist()
    grouped = target[order]
    del target
    pos = np.empty(len(grouped), dtype=np.int64)
    for r in range(n_rows):
        a, b = bounds[r], bounds[r + 1]
        if a < b:
            pos[a:b] = np.searchsorted(stacked[r], grouped[a:b], side="left")
    del grouped
    pos -= 1
    day = np.empty(len(pos), dtype=np.int64)
    day[order] = pos
    return day
