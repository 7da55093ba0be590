"""The vector engine's ledger: daily stocks from transition days, daily flow counts."""

from __future__ import annotations

import numpy as np

from sim.engines.ledger import N_STATES, Ledger
from sim.model.taxonomy import FLOW_CODE, INCARCERATED, RELEASED, SCREENING, STATES


def test_stocks_follow_transitions_and_ignore_days_beyond_the_horizon():
    ledger = Ledger(n_days=4)
    ledger.move(np.array([1, 1, 2]), INCARCERATED, SCREENING, "applications")
    ledger.move(np.array([3, 9]), SCREENING, np.array([RELEASED, INCARCERATED]))
    initial = np.zeros(N_STATES, dtype=np.int64)
    initial[INCARCERATED] = 5
    stocks = ledger.stocks(initial)
    assert stocks.shape == (4, len(STATES))
    assert list(stocks[:, INCARCERATED]) == [5, 3, 2, 2]
    assert list(stocks[:, SCREENING]) == [0, 2, 3, 2]
    assert list(stocks[:, RELEASED]) == [0, 0, 0, 1]
    assert (stocks.sum(axis=1) == 5).all()


def test_flows_are_counted_on_their_day():
    ledger = Ledger(n_days=3)
    ledger.move(np.array([0, 2, 2, 7]), INCARCERATED, SCREENING, "applications")
    ledger.count(np.array([1]), "rejected_health")
    counts = ledger.flow_counts()
    assert list(counts[:, FLOW_CODE["applications"]]) == [1, 0, 2]
    assert list(counts[:, FLOW_CODE["rejected_health"]]) == [0, 1, 0]
    assert counts.sum() == 4
