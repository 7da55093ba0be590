"""Capacity-limited stages: first come first served by (arrival day, id), whole days."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engines.queues import fifo_serve
from sim.model.taxonomy import NEVER


def serve(arrive, leave=None, ids=None, n_days=100, **capacity):
    arrive = np.array(arrive)
    leave = np.full(len(arrive), NEVER) if leave is None else np.array(leave)
    ids = np.arange(len(arrive)) if ids is None else np.array(ids)
    return list(fifo_serve(arrive, leave, ids, n_days, **capacity))


def test_without_limits_everyone_is_served_on_arrival_unless_gone_or_late():
    assert serve([3, 5, 7, 120], leave=[10, 5, NEVER, NEVER]) == [3, NEVER, 7, NEVER]


def test_a_daily_capacity_serves_in_order_of_arrival_then_id():
    assert serve([0, 0, 0, 1], per_day=2) == [0, 0, 1, 1]
    assert serve([1, 0], ids=[5, 9], per_day=1) == [1, 0]  # earlier arrival first
    assert serve([0, 0], ids=[9, 5], per_day=1) == [1, 0]  # then the smaller id


def test_people_who_leave_custody_before_their_turn_use_no_capacity():
    assert serve([0, 0, 0], leave=[NEVER, 1, NEVER], per_day=1) == [0, NEVER, 1]


def test_places_are_held_for_the_holding_time():
    hold = np.array([3, 3, 1])
    assert serve([0, 0, 0], places=1, hold_days=hold) == [0, 3, 6]
    assert serve([0, 0, 0], places=2, hold_days=hold) == [0, 0, 3]


def test_nobody_is_served_after_the_horizon():
    assert serve([0, 0, 0], n_days=2, per_day=1) == [0, 1, NEVER]
    assert serve([], per_day=1) == []


def _reference_fifo_serve(arrive, leave, ids, n_days, per_day=0, places=0, hold_days=None):
    """The first implementation, one `searchsorted` and window per day: the optimised
    `fifo_serve` must give the same days, bit for bit."""
    arrive = np.asarray(arrive, dtype=np.int64)
    served = np.full(len(arrive), NEVER, dtype=np.int32)
    if len(arrive) == 0:
        return served
    order = np.lexsort((ids, arrive))
    arr, lv = arrive[order], np.asarray(leave)[order]
    hold = None if hold_days is None else np.asarray(hold_days, dtype=np.int64)[order]
    freed = np.zeros(n_days + 1, dtype=np.int64)
    occupied, ptr, n, day = 0, 0, len(arr), int(arr[0])
    while ptr < n and day < n_days:
        if places:
            occupied -= int(freed[day])
        cap = per_day if per_day else n
        if places:
            cap = min(cap, places - occupied)
        end = int(np.searchsorted(arr, day, side="right"))
        if end == ptr:
            nxt = int(arr[ptr])
            if places:
                occupied -= int(freed[day + 1 : min(nxt, n_days)].sum())
            day = nxt
            continue
        if cap > 0:
            window = np.arange(ptr, end)
            alive = window[lv[window] > day]
            take = alive[:cap]
            served[order[take]] = day
            if places and len(take):
                ends = np.minimum(day + hold[take], n_days)
                freed += np.bincount(ends, minlength=n_days + 1)
                occupied += len(take)
            ptr = end if len(take) == len(alive) else int(take[-1]) + 1
        day += 1
    return served


@pytest.mark.parametrize("seed", range(40))
def test_fifo_serve_matches_the_reference_implementation(seed):
    rng = np.random.default_rng(seed)
    n, n_days = int(rng.integers(1, 400)), int(rng.integers(5, 300))
    arrive = rng.integers(0, n_days + 20, n)
    leave = np.where(rng.random(n) < 0.3, arrive + rng.integers(0, 60, n), NEVER)
    ids = rng.permutation(10 * n)[:n]
    hold = rng.integers(1, 40, n)
    for capacity in (
        {"per_day": int(rng.integers(1, 6))},
        {"places": int(rng.integers(1, 30)), "hold_days": hold},
        {"per_day": int(rng.integers(1, 6)), "places": int(rng.integers(1, 30)), "hold_days": hold},
    ):
        got = fifo_serve(arrive, leave, ids, n_days, **capacity)
        want = _reference_fifo_serve(arrive, leave, ids, n_days, **capacity)
        assert np.array_equal(got, want), capacity
        assert (got != NEVER).any() or not (arrive < n_days).any() or (leave <= arrive).all()


def test_places_without_holding_times_are_refused():
    with pytest.raises(ValueError, match="hold_days"):
        fifo_serve(np.array([0, 1]), np.full(2, NEVER), np.arange(2), 10, places=1)
