"""Capacity-limited stages: first come first served by (arrival day, id), whole days."""

from __future__ import annotations

import numpy as np

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
