"""First passage of a cumulative hazard (`sim.engines.first_passage`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engines.first_passage import first_day_at_least, stacked_rows


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
    stacked = None if n_rows == 1 else stacked_rows(cum)
    got = first_day_at_least(cum, rows, lo, need, stacked)
    np.testing.assert_array_equal(np.minimum(got, days), want)
    # With the end of each window: the same day for whoever applies in it, and a day at or
    # after the end for everyone else.
    within = first_day_at_least(cum, rows, lo, need, stacked, hi)
    applies = want < hi
    assert 0 < applies.sum() < n  # both kinds present, so both are checked
    np.testing.assert_array_equal(within[applies], want[applies])
    assert (within[~applies] >= hi[~applies]).all()
