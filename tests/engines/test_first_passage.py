"""First passage of a cumulative hazard (`sim.engines.first_passage`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engines.first_passage import first_day_at_least


def brute_force(cum: np.ndarray, rows, lo, need) -> np.ndarray:
    """The first day d >= lo with cum[row, d+1] - cum[row, lo] >= need, one person at a
    time (the horizon, width - 1, when there is none)."""
    width = cum.shape[1]
    out = np.empty(len(lo), dtype=np.int64)
    for i in range(len(lo)):
        row = 0 if rows is None else rows[i]
        days = [d for d in range(lo[i], width - 1) if cum[row, d + 1] - cum[row, lo[i]] >= need[i]]
        out[i] = days[0] if days else width - 1
    return out


@pytest.mark.parametrize("n_rows", [1, 7])
@pytest.mark.parametrize("people_per_row", [3, 200])
def test_first_day_is_the_first_day_the_need_is_met(n_rows, people_per_row):
    rng = np.random.default_rng(n_rows * 1000 + people_per_row)
    days = 60
    rates = rng.exponential(0.02, (n_rows, days)) * (rng.random((n_rows, days)) < 0.7)
    cum = np.zeros((n_rows, days + 1))
    np.cumsum(rates, axis=1, out=cum[:, 1:])
    n = max(n_rows * people_per_row, 30)
    rows = None if n_rows == 1 else rng.integers(0, n_rows, n)
    lo = rng.integers(0, days, n)
    hi = np.minimum(lo + rng.integers(1, days, n), days)
    need = rng.exponential(1.0, n) * rng.choice([0.05, 1.0], n)
    want = brute_force(cum, rows, lo, need)
    got = first_day_at_least(cum, rows, lo, need)
    np.testing.assert_array_equal(np.minimum(got, days), want)
    # With the end of each window: the same day for whoever applies in it, and a day at or
    # after the end for everyone else.
    within = first_day_at_least(cum, rows, lo, need, hi)
    applies = want < hi
    assert 0 < applies.sum() < n  # both kinds present, so both are checked
    np.testing.assert_array_equal(within[applies], want[applies])
    assert (within[~applies] >= hi[~applies]).all()
    if rows is not None:  # the same table as distinct rows and each row's among them
        distinct, row_of = np.unique(cum, axis=0, return_inverse=True)
        shared = first_day_at_least(distinct, rows, lo, need, hi, row_of.reshape(-1))
        np.testing.assert_array_equal(shared, within)


def test_facilities_sharing_a_row_give_the_days_of_the_full_stacked_table():
    """A table given as its distinct rows and each facility's row among them gives, to the
    last bit, the days of the full table stacked (`cum[row_of] + offset * facility`, the
    form searched before rows were shared), ties and rounding included."""
    rng = np.random.default_rng(11)
    days, n_distinct, n_facilities, n = 300, 5, 40, 20_000
    rates = rng.exponential(0.01, (n_distinct, days)) * (rng.random((n_distinct, days)) < 0.3)
    distinct = np.zeros((n_distinct, days + 1))
    np.cumsum(rates, axis=1, out=distinct[:, 1:])
    row_of = rng.integers(0, n_distinct, n_facilities)
    full = distinct[row_of]
    offset = float(full[:, -1].max()) + 1.0
    stacked = full + offset * np.arange(n_facilities)[:, None]
    rows = rng.integers(0, n_facilities, n)
    lo = rng.integers(0, days, n)
    # needs that land exactly on table differences, to exercise ties
    need = np.where(
        rng.random(n) < 0.5,
        full[rows, np.minimum(lo + rng.integers(0, 50, n), days)] - full[rows, lo],
        rng.exponential(0.3, n),
    )
    target = full[rows, lo] + need + offset * rows
    want = np.array(
        [np.searchsorted(stacked[r], t, side="left") - 1 for r, t in zip(rows, target, strict=True)]
    )
    got = first_day_at_least(distinct, rows, lo, need, row_of=row_of)
    np.testing.assert_array_equal(got, want)
