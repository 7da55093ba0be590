"""Threads of one run's block pass (`sim.engines.threads`)."""

from __future__ import annotations

import threading
import time

import pytest

from sim.engines import threads


def test_in_order_gives_the_results_in_the_items_order_whatever_finishes_first():
    def slow_first(i: int) -> int:
        time.sleep(0.02 if i % 3 == 0 else 0.0)  # early items finish last
        return i * i

    for n_threads in (1, 2, 5):
        assert list(threads.in_order(slow_first, range(12), n_threads)) == [
            i * i for i in range(12)
        ]


def test_in_order_uses_threads_and_holds_at_most_one_result_more_than_threads():
    """The work runs outside the calling thread, and at most `threads + 1` items are under
    way or waiting beyond the one the caller holds (memory follows the threads, not the
    items)."""
    lock = threading.Lock()
    started: list[int] = []
    where: set[str] = set()

    def work(i: int) -> int:
        with lock:
            started.append(i)
            where.add(threading.current_thread().name)
        return i

    given = 0
    for i in threads.in_order(work, range(20), 2):
        given += 1
        time.sleep(0.005)  # the threads get ahead while the caller is busy
        with lock:
            assert len(started) - given <= 3, (i, len(started), given)
    assert given == 20
    assert where and all(name.startswith("prisonflow-block") for name in where)


def test_in_order_with_one_thread_starts_none():
    where = set()

    def work(i: int) -> int:
        where.add(threading.current_thread().name)
        return i

    assert list(threads.in_order(work, range(4), 1)) == [0, 1, 2, 3]
    assert where == {threading.current_thread().name}


def test_an_error_in_a_thread_is_raised_when_its_result_is_due():
    def work(i: int) -> int:
        if i == 3:
            raise RuntimeError("block 3")
        return i

    got = []
    with pytest.raises(RuntimeError, match="block 3"):
        for value in threads.in_order(work, range(8), 2):
            got.append(value)
    assert got == [0, 1, 2]


def test_run_threads_default_explicit_and_inside_experiments():
    assert threads.run_threads(3) == 3
    assert 1 <= threads.run_threads(None) <= threads.MAX_DEFAULT_THREADS
    with threads.one_per_run():
        assert threads.run_threads(None) == 1
        assert threads.run_threads(2) == 2  # asked for: given
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        threads.run_threads(0)


def test_experiment_runs_take_one_thread(monkeypatch, tmp_path):
    """A batch's runs (and their no-recruitment baselines) sift people in one thread each:
    workers, not threads, are the parallelism of experiments."""
    import sim
    from sim.engines import vector

    monkeypatch.setattr(threads, "usable_cores", lambda: 4)  # a default of more than one
    asked = []
    simulate = vector.simulate

    def spy(*args, **kwargs):
        asked.append(threads.run_threads(kwargs.get("threads")))
        return simulate(*args, **kwargs)

    monkeypatch.setattr(vector, "simulate", spy)
    sim.batch("ukraine_2024", replicates=2, population=2000, days=60, workers=1, out=tmp_path / "b")
    assert asked and set(asked) == {1}
