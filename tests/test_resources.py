"""The memory guard (sim.resources): estimate before running, refuse what cannot fit."""

from __future__ import annotations

import pytest

import sim
import sim.resources as res


def test_estimate_counts_admissions_over_the_horizon(russia):
    people = res.people_in_run(russia, 1_000_000, 1096)
    admitted = russia.population.admissions_per_day * 1_000_000 / russia.population.initial_size
    assert people == 1_000_000 + int(admitted * 1096)
    assert 1_900_000 < people < 2_100_000  # about 2 x 10^6 (422 admissions a day, issue 13)
    assert res.estimate_bytes(russia, "vector", 1_000_000, 1096) == 50 * people
    assert res.estimate_bytes(russia, "agents", 1_000, 10) > 20 * res.estimate_bytes(
        russia, "vector", 1_000, 10
    )


def test_available_memory_is_read_from_the_machine():
    have = res.available_bytes()
    assert have is not None and 2**20 < have < 2**50


def test_runs_that_cannot_fit_are_refused_before_they_start(russia, monkeypatch):
    monkeypatch.setattr(res, "available_bytes", lambda: 40 * 2**20)  # 40 MiB left
    with pytest.raises(res.ResourceError) as info:
        sim.run(russia, population=1_000_000, days=30)
    assert info.value.key == "population" and "force" in info.value.message
    assert "\n" not in str(info.value)
    assert isinstance(info.value, sim.ScenarioError)  # the CLI's exit 2, one line
    assert sim.run(russia, population=1_000, days=30).n_agents > 1_000  # small runs fit
    assert sim.run(russia, population=1_000_000, days=5, force=True).n_agents >= 1_000_000


def test_unknown_available_memory_does_not_block(russia, monkeypatch):
    monkeypatch.setattr(res, "available_bytes", lambda: None)
    res.check_memory(russia, "vector", 10**12, 1000)
