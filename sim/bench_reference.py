"""A bare event-driven probe of the recruitment pipeline, the yardstick of `bench --reference`.

Not a model: the smallest numpy program that does the same kind of work as the vector
engine (draw each person's custody end and application day, push applicants through
screening, a contract delay, training and competing deployment risks, then count daily
stocks) without the regime timeline, admissions, facilities, queues or output tables. The
ratio prisonflow / probe says how much the richer model costs over this floor.
"""

from __future__ import annotations

import numpy as np

N_STOCKS = 5  # incarcerated, applied, training, deployed, left


def probe(people: int, days: int, seed: int = 0) -> np.ndarray:
    """Run the probe once: daily stocks, shape (days, N_STOCKS).

    Args:
        people: Initial population (no admissions).
        days: Horizon in days.
        seed: Seed of the numpy generator.

    Returns:
        Number of people in each stock at the start of each day.
    """
    rng = np.random.default_rng(seed)
    never = np.int64(days)
    # Custody: sentence end, and a person's propensity to apply (lognormal).
    sentence_end = rng.exponential(3 * 365.0, people).astype(np.int64)
    propensity = rng.lognormal(-8.0, 1.0, people)
    # Application: first passage of a constant hazard, within the sentence.
    apply_day = (rng.exponential(1.0, people) / propensity).astype(np.int64)
    applied = np.flatnonzero(apply_day < np.minimum(sentence_end, never))
    start = apply_day[applied]
    # Screening passes 80%; contract after a court delay; 14 to 30 days of training.
    passed = rng.random(len(applied)) < 0.8
    start = start[passed]
    contract = start + rng.exponential(20.0, len(start)).astype(np.int64)
    deploy = contract + rng.integers(14, 31, len(start))
    # Deployment: killed, wounded or deserted, whichever comes first.
    hazards = np.array([1 / 300, 1 / 200, 1 / 900])
    times = rng.exponential(1.0, (len(start), len(hazards))) / hazards
    leave = deploy + times.min(axis=1).astype(np.int64)
    # Daily stocks from transition days: one bincount per boundary, one cumulative sum.
    bounds = [apply_day[applied][passed], contract, deploy, leave]
    delta = np.zeros((days + 1, N_STOCKS), dtype=np.int64)
    delta[0, 0] = people
    for k, day in enumerate(bounds):
        counts = np.bincount(np.minimum(day, never), minlength=days + 1)
        delta[:, k] -= counts
        delta[:, k + 1] += counts
    return np.cumsum(delta, axis=0)[:days]
