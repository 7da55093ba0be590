"""Custody holds its input stocks without recruitment (issue 13, part 4).

Stocks by legal status are counted from the synthesized population: each person is in
custody with a status over the days `rules.status_segment` gives (the intervals on which
`rules.status_on` is that status, from custody start to sentence end). Nobody recruits
(`population.volunteering.baseline_per_day = 0`), so these are the whole custody paths.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.model import rules
from sim.model.population import synthesize
from sim.model.taxonomy import STATUS_CODE

NO_RECRUITMENT = {"population.volunteering.baseline_per_day": 0.0}
TOLERANCE = 0.10  # issue 13: within 10% of the input stock over the horizon


def stock_by_day(pop, status: str, n_days: int) -> np.ndarray:
    """People in custody holding `status` on each day 0..n_days-1."""
    lo, hi = rules.status_segment(pop, STATUS_CODE[status])
    lo, hi = np.clip(lo, 0, n_days), np.clip(hi, 0, n_days)
    ok = lo < hi
    change = np.bincount(lo[ok], minlength=n_days + 1) - np.bincount(hi[ok], minlength=n_days + 1)
    return np.cumsum(change)[:n_days]


def input_stock(scenario, status: str, size: int) -> float:
    return scenario.population.status_shares[status] * size


def worst_drift(name: str, status: str, size: int, seed: int = 1) -> float:
    """Largest relative departure of a status's custody stock from its input stock."""
    scenario = sim.load_scenario(name, NO_RECRUITMENT)
    pop = synthesize(scenario, seed, size)
    stock = stock_by_day(pop, status, scenario.n_days)
    target = input_stock(scenario, status, size)
    return float(np.max(np.abs(stock / target - 1.0)))


@pytest.mark.parametrize(
    ("name", "status", "size"),
    [
        ("russia_2022_2025", "defendant", 200_000),
        ("russia_2022_2025", "convicted", 200_000),
        ("russia_2022_2025", "suspect", 200_000),
        ("russia_defendants_2024", "defendant", 200_000),  # after its warm-up from 2022-07-01
        ("ukraine_2024", "convicted", 47_500),
        ("ukraine_2024", "pretrial", 47_500),
    ],
)
def test_custody_stays_within_10_percent_of_its_input_without_recruitment(name, status, size):
    assert worst_drift(name, status, size) < TOLERANCE


def test_the_check_sees_a_drift():
    """The check above fails when admissions do not match durations (as before the fix)."""
    scenario = sim.load_scenario(
        "russia_2022_2025", {**NO_RECRUITMENT, "population.trial_days.mean": 150.0}
    )
    pop = synthesize(scenario, 1, 100_000)
    stock = stock_by_day(pop, "defendant", scenario.n_days)
    assert stock[-1] < 0.8 * input_stock(scenario, "defendant", 100_000)


def test_engine_custody_matches_the_population_arrays():
    """With nobody recruited, the engine's incarcerated stock is the arrays' custody total."""
    scenario = sim.load_scenario("ukraine_2024", NO_RECRUITMENT)
    result = sim.run(scenario, seed=2, population=5_000, days=200)
    pop = synthesize(scenario, 2, 5_000, 200)
    total = sum(stock_by_day(pop, s, 200) for s in ("convicted", "pretrial"))
    assert result.summary["released_to_army"] == 0
    np.testing.assert_array_equal(result.timeseries["incarcerated"].to_numpy()[:200], total)
