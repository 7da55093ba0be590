"""Giving freed memory back to the system (`sim.engines.memory`)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engines import memory


def _resident_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


@pytest.mark.skipif(memory._trim() is None, reason="no malloc_trim (not glibc on Linux)")
def test_freed_heap_memory_goes_back_to_the_system():
    """Arrays below the mmap threshold come from the heap; freed beneath one still held,
    they stay resident until `release_freed_memory` gives their pages back."""
    memory.release_freed_memory()
    arrays = [np.ones(8 * 1024, dtype=np.float64) for _ in range(1024)]  # 64 KiB each
    held = arrays.pop()  # above the others on the heap: freeing them cannot shrink it
    del arrays
    before = _resident_bytes()
    assert memory.release_freed_memory()
    after = _resident_bytes()
    assert before - after > 32 * 2**20  # most of the 64 MiB freed
    assert held.sum() == 8 * 1024  # the array still held is intact


def test_where_the_c_library_cannot_it_does_nothing(monkeypatch):
    monkeypatch.setattr(memory, "_trim", lambda: None)
    assert memory.release_freed_memory() is False


def test_it_reports_what_the_c_library_says(monkeypatch):
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 0  # nothing given back

    monkeypatch.setattr(memory, "_trim", lambda: trim)
    assert memory.release_freed_memory() is False
    assert calls == [0]  # trims everything: no padding kept at the top of the heap


def test_only_large_runs_give_memory_back(monkeypatch):
    """A run gives freed memory back between stages only from RELEASE_FROM_PEOPLE initial
    people: for a small run the calls cost more than the memory is worth."""
    import sim

    calls = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: calls.append(1) or True)
    assert not memory.FreedMemory(memory.RELEASE_FROM_PEOPLE - 1)() and not calls
    assert memory.FreedMemory(memory.RELEASE_FROM_PEOPLE)() and len(calls) == 1
    calls.clear()
    sim.run("ukraine_2024", seed=1, population=3000)
    assert not calls  # a small run: none
    monkeypatch.setattr(memory, "RELEASE_FROM_PEOPLE", 1000)
    sim.run("ukraine_2024", seed=1, population=3000)
    assert len(calls) > 5  # between stages, cohorts and rounds


def test_a_large_run_gives_back_what_was_freed_before_it_draws_anyone(monkeypatch):
    """The block pass's threads allocate in arenas of their own, which cannot reuse what
    the main thread freed earlier (a previous run's result): a large run gives that back
    before it draws its first block, not only after its first stage."""
    import sim
    from sim.model import population

    events: list[str] = []
    monkeypatch.setattr(memory, "RELEASE_FROM_PEOPLE", 1000)
    monkeypatch.setattr(memory, "release_freed_memory", lambda: events.append("release") or True)
    draw = population._draw_range

    def drawing(*args, **kwargs):
        events.append("draw")
        return draw(*args, **kwargs)

    monkeypatch.setattr(population, "_draw_range", drawing)
    sim.run("ukraine_2024", seed=1, population=3000, threads=1)
    assert "draw" in events
    assert events[0] == "release"
