"""The vector engine's ledger: daily stocks from transition days, daily flow counts."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.engines.ledger import N_STATES, Ledger
from sim.model.taxonomy import (
    AWOL,
    CONVICTED,
    CUSTODY_GROUP_COLUMNS,
    FLOW_CODE,
    INCARCERATED,
    RELEASED,
    SCREENING,
    STATES,
    SUSPECT,
)


def convicted_men(n: int) -> SimpleNamespace:
    """A table of `n` convicted men (what custody by group needs of the people who move)."""
    return SimpleNamespace(
        status0=np.full(n, CONVICTED, dtype=np.uint8),
        investigation_end=np.full(n, -1, dtype=np.int32),
        trial_end=np.full(n, -1, dtype=np.int32),
        male=np.ones(n, dtype=bool),
    )


def test_stocks_follow_transitions_and_ignore_days_beyond_the_horizon():
    ledger = Ledger(n_days=4, pop=convicted_men(3))
    ledger.move(np.array([1, 1, 2]), INCARCERATED, SCREENING, "applications", [0, 1, 2])
    ledger.move(np.array([3, 9]), SCREENING, np.array([RELEASED, AWOL]))
    initial = np.zeros(N_STATES, dtype=np.int64)
    initial[INCARCERATED] = 5
    stocks = ledger.stocks(initial)
    assert stocks.shape == (4, len(STATES))
    assert list(stocks[:, INCARCERATED]) == [5, 3, 2, 2]
    assert list(stocks[:, SCREENING]) == [0, 2, 3, 2]
    assert list(stocks[:, RELEASED]) == [0, 0, 0, 1]
    assert (stocks.sum(axis=1) == 5).all()


def test_flows_are_counted_on_their_day():
    ledger = Ledger(n_days=3, pop=convicted_men(4))
    ledger.move(np.array([0, 2, 2, 7]), INCARCERATED, SCREENING, "applications", [0, 1, 2, 3])
    ledger.count(np.array([1]), "rejected_health")
    counts = ledger.flow_counts()
    assert list(counts[:, FLOW_CODE["applications"]]) == [1, 0, 2]
    assert list(counts[:, FLOW_CODE["rejected_health"]]) == [0, 1, 0]
    assert counts.sum() == 4


def test_moves_into_or_out_of_custody_need_who_moves():
    with pytest.raises(ValueError, match="ids"):
        Ledger(n_days=3).move(np.array([1]), INCARCERATED, SCREENING)
    with pytest.raises(ValueError, match="ids"):  # even when nobody moves this time
        Ledger(n_days=3).move(np.zeros(0, dtype=np.int64), SCREENING, INCARCERATED)


def test_a_move_of_nobody_records_nothing():
    ledger = Ledger(n_days=3)
    ledger.move(np.zeros(0, dtype=np.int64), INCARCERATED, SCREENING, "applications", [])
    ledger.count(np.zeros(0, dtype=np.int64), "rejected_health")
    assert not ledger.flow_counts().any() and not ledger.stocks(np.zeros(N_STATES)).any()


def test_custody_groups_follow_entries_exits_and_changes_of_status():
    """A suspect (investigation ends day 2, trial day 4) in custody from day 0, out on day
    3 (applies), back on day 5: suspect, defendant, then convicted after the trial; a
    convicted woman inside throughout."""
    pop = SimpleNamespace(
        status0=np.array([SUSPECT, CONVICTED], dtype=np.uint8),
        investigation_end=np.array([2, -1], dtype=np.int32),
        trial_end=np.array([4, -1], dtype=np.int32),
        male=np.array([True, False]),
    )
    ledger = Ledger(n_days=7, pop=pop)
    ledger.arrive(np.array([0, 0]), np.array([0, 1]))
    ledger.move(np.array([3]), INCARCERATED, SCREENING, "applications", [0])
    ledger.move(np.array([5]), SCREENING, INCARCERATED, "rejected_screening", [0])
    groups = ledger.custody_groups()
    col = {name: i for i, name in enumerate(CUSTODY_GROUP_COLUMNS)}
    assert list(groups[:, col["incarcerated_suspect_male"]]) == [1, 1, 0, 0, 0, 0, 0]
    assert list(groups[:, col["incarcerated_defendant_male"]]) == [0, 0, 1, 0, 0, 0, 0]
    assert list(groups[:, col["incarcerated_convicted_male"]]) == [0, 0, 0, 0, 0, 1, 1]
    assert list(groups[:, col["incarcerated_convicted_female"]]) == [1] * 7
    assert groups.sum() == 5 + 7  # person-days in custody: the man 5, the woman 7


@pytest.mark.parametrize(("flush_moves", "held_at_end"), [(1, 0), (2, 1), (3, 0), (1 << 18, 6)])
def test_custody_moves_added_as_they_come_count_the_same(monkeypatch, flush_moves, held_at_end):
    """Held custody moves are added into the counts every `FLUSH_CUSTODY_MOVES` (memory
    follows the days, not the moves): the counts by group are the same whenever they are
    added, and nothing is held once that many moves are in."""
    from sim.engines import ledger as ledger_module

    monkeypatch.setattr(ledger_module, "FLUSH_CUSTODY_MOVES", flush_moves)
    pop = SimpleNamespace(
        status0=np.array([SUSPECT, CONVICTED, CONVICTED], dtype=np.uint8),
        investigation_end=np.array([2, -1, -1], dtype=np.int32),
        trial_end=np.array([4, -1, -1], dtype=np.int32),
        male=np.array([True, False, True]),
    )
    ledger = Ledger(n_days=7, pop=pop)
    ledger.arrive(np.array([0, 0, 1]), np.array([0, 1, 2]))
    ledger.move(np.array([3, 2]), INCARCERATED, SCREENING, "applications", [0, 2])
    ledger.move(np.array([5]), SCREENING, INCARCERATED, "rejected_screening", [0])
    held = sum(len(ids) for _day, ids, _sign in ledger._custody_moves)
    assert held == held_at_end  # moves come in threes, twos and ones
    groups = ledger.custody_groups()
    col = {name: i for i, name in enumerate(CUSTODY_GROUP_COLUMNS)}
    assert list(groups[:, col["incarcerated_suspect_male"]]) == [1, 1, 0, 0, 0, 0, 0]
    assert list(groups[:, col["incarcerated_convicted_male"]]) == [0, 1, 0, 0, 0, 1, 1]
    assert list(groups[:, col["incarcerated_convicted_female"]]) == [1] * 7


def test_a_large_move_recorded_in_pieces_counts_the_same(monkeypatch):
    """A move of more people than `FLUSH_CUSTODY_MOVES` is recorded a piece at a time (one
    state each, or a state per person): stocks, flows and custody by group unchanged."""
    from sim.engines import ledger as ledger_module

    def record() -> tuple[np.ndarray, ...]:
        ledger = Ledger(n_days=6, pop=convicted_men(5))
        ledger.arrive(np.zeros(5, dtype=np.int64), np.arange(5))
        ledger.move(np.array([0, 1, 1, 3, 9]), INCARCERATED, SCREENING, "applications", range(5))
        ledger.move(np.array([2, 2, 4, 5, 9]), SCREENING, np.array([RELEASED, AWOL] * 2 + [AWOL]))
        initial = np.zeros(N_STATES, dtype=np.int64)
        initial[INCARCERATED] = 5
        return ledger.stocks(initial), ledger.flow_counts(), ledger.custody_groups()

    whole = record()
    split = []
    real_move = Ledger.move

    def spy(self, day, *args, **kwargs):
        split.append(len(np.asarray(day).reshape(-1)))
        return real_move(self, day, *args, **kwargs)

    monkeypatch.setattr(ledger_module, "FLUSH_CUSTODY_MOVES", 2)
    monkeypatch.setattr(Ledger, "move", spy)
    for got, want in zip(record(), whole, strict=True):
        assert np.array_equal(got, want)
    assert split == [5, 2, 2, 1] * 2  # each move of five in pieces of two
    men = CUSTODY_GROUP_COLUMNS.index("incarcerated_convicted_male")
    assert list(whole[2][:, men]) == [4, 2, 2, 1, 1, 1]  # inside at the end of each day


def test_ledgers_of_blocks_added_count_as_one_ledger():
    """Blocks of people counted in ledgers of their own (as threads sift them), then added
    into the run's, give the stocks, flows and custody by group of one ledger."""
    rng = np.random.default_rng(4)
    n, n_days = 300, 40
    pop = SimpleNamespace(
        status0=rng.choice([SUSPECT, CONVICTED], n).astype(np.uint8),
        investigation_end=rng.integers(0, 30, n).astype(np.int32),
        trial_end=rng.integers(30, 60, n).astype(np.int32),
        male=rng.random(n) < 0.9,
        admit_day=rng.integers(-1, 45, n).astype(np.int32),
    )
    start = np.maximum(pop.admit_day, 0)
    end = rng.integers(0, 80, n)
    release = rng.integers(0, 50, n)

    def record(ledger: Ledger, rows: slice) -> None:
        part = SimpleNamespace(**{k: v[rows] for k, v in vars(pop).items()})
        ledger.count(part.admit_day[part.admit_day >= 0], "admissions")
        ledger.move(release[rows], INCARCERATED, RELEASED, "sentence_releases", grouped=True)
        ledger.stay(part, start[rows], end[rows])

    one = Ledger(n_days)
    record(one, slice(0, n))
    run = Ledger(n_days)
    for first in (200, 0, 100):  # any order
        block = Ledger(n_days)
        record(block, slice(first, first + 100))
        run.add(block)
    initial = np.zeros(N_STATES, dtype=np.int64)
    assert (run.stocks(initial) == one.stocks(initial)).all()
    assert (run.flow_counts() == one.flow_counts()).all()
    assert (run.custody_groups() == one.custody_groups()).all()
    assert one.custody_groups().any() and one.flow_counts().any()
