"""The vector engine agrees with the Mesa engine (the executable specification).

Default suite: Ukraine, 30 replicates per engine, 2,000 people, first year. The full set
(every bundled scenario) is marked slow: `python -m pytest -m slow tests/test_agreement.py`.
"""

from __future__ import annotations

import functools

import pandas as pd
import pytest

import sim
from sim.agreement import check_engines, compare_flows, final_flows

REPLICATES, POPULATION, DAYS, ALPHA = 30, 2000, 365, 0.01


@functools.cache
def _agents_flows(name: str) -> pd.DataFrame:
    scn = sim.load_scenario(name)
    run = functools.partial(sim.run, engine="agents")
    return final_flows(run, scn, range(REPLICATES), POPULATION, min(DAYS, scn.n_days))


@functools.cache
def _vector_flows(name: str, **overrides) -> pd.DataFrame:
    scn = sim.load_scenario(name, overrides or None)
    return final_flows(sim.run, scn, range(REPLICATES), POPULATION, min(DAYS, scn.n_days))


def _report(agreement) -> str:
    return agreement.table.to_string(index=False)


def test_engines_agree_ukraine():
    agreement = compare_flows(_vector_flows("ukraine_2024"), _agents_flows("ukraine_2024"))
    assert agreement.agrees, _report(agreement)


def test_check_fails_when_one_engine_changes_a_rule():
    """Killing 50% more recruits in the vector engine alone must be detected."""
    factor = 1.5
    base = sim.load_scenario("ukraine_2024").regimes["UA_2024"].killed_per_day
    changed = _vector_flows("ukraine_2024", **{"regimes.UA_2024.killed_per_day": base * factor})
    agreement = compare_flows(changed, _agents_flows("ukraine_2024"), ALPHA)
    assert not agreement.agrees
    assert "killed" in agreement.disagreeing(), _report(agreement)


def test_check_fails_when_eligibility_differs():
    """A remaining-sentence limit of 2 years in one engine only must be detected."""
    changed = _vector_flows("ukraine_2024", **{"regimes.UA_2024.max_remaining_sentence_days": 730})
    agreement = compare_flows(changed, _agents_flows("ukraine_2024"), ALPHA)
    assert "applications" in agreement.disagreeing(), _report(agreement)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(sim.bundled_scenarios()))
def test_engines_agree_every_scenario(name):
    agreement = check_engines(sim.load_scenario(name), REPLICATES, POPULATION, DAYS, ALPHA)
    print(f"\n{name}\n{_report(agreement)}")
    assert agreement.agrees, _report(agreement)
