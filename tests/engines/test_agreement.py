"""The vector engine agrees with the Mesa engine (the day-by-day reading of the law).

Default suite: Ukraine, 12 replicates per engine, 1,000 people, 200 days, and the checks
that a changed rule in one engine is detected at that size. Marked slow: Ukraine at 30
replicates, 2,000 people and a year, and every bundled scenario
(`python -m pytest -m slow tests/engines/test_agreement.py`).
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
import pytest

import sim
from sim.engines.agreement import check_engines, compare_flows, final_flows, final_groups
from sim.scenario import validate_raw

ALPHA = 0.01
SMALL = {"replicates": 12, "population": 1000, "days": 200}
FULL = {"replicates": 30, "population": 2000, "days": 365}


@functools.cache
def _runs(engine: str, name: str, size: str, overrides: tuple) -> tuple[sim.Result, ...]:
    """The runs of one engine on one scenario, one per seed 0, 1, ...; kept, so that the
    flows and the by-group tables of the same setting come from the same runs."""
    scn = sim.load_scenario(name, dict(overrides) or None)
    n = SMALL if size == "small" else FULL
    days = min(n["days"], scn.n_days)
    return tuple(
        sim.run(scn, engine=engine, seed=s, population=n["population"], days=days)
        for s in range(n["replicates"])
    )


def _read(outputs, engine: str, name: str, size: str = "small", **overrides) -> pd.DataFrame:
    """`final_flows` or `final_groups` of the kept runs (the same arguments as a fresh run)."""
    runs = _runs(engine, name, size, tuple(sorted(overrides.items())))
    scn = sim.load_scenario(name, overrides or None)
    n = SMALL if size == "small" else FULL
    days = min(n["days"], scn.n_days)

    def kept(_scenario, *, seed, population, days):
        return runs[seed]

    return outputs(kept, scn, range(n["replicates"]), n["population"], days)


def _flows(engine: str, name: str, size: str = "small", **overrides) -> pd.DataFrame:
    return _read(final_flows, engine, name, size, **overrides)


def _report(agreement) -> str:
    return agreement.table.to_string(index=False)


def test_engines_agree_ukraine_small():
    agreement = compare_flows(_flows("vector", "ukraine_2024"), _flows("agents", "ukraine_2024"))
    assert agreement.agrees, _report(agreement)


@pytest.mark.slow
def test_engines_agree_ukraine_full():
    vector, agents = (_flows(e, "ukraine_2024", "full") for e in ("vector", "agents"))
    agreement = compare_flows(vector, agents, ALPHA)
    assert agreement.agrees, _report(agreement)


def two_laws() -> sim.Scenario:
    """Ukraine's law for 60 days, then a law offering more (pardon, six months, pay, a
    bonus until day 100, home leave) on a deadlier front, to people who weigh the risk."""
    scn = sim.load_scenario("ukraine_2024")
    ua = scn.regimes["UA_2024"]
    start = scn.scenario.start_date
    switch = start + dt.timedelta(days=60)
    later = {
        "label": "a later, more generous law",
        "start_date": switch,
        "release_type": "pardon",
        "contract": "fixed",
        "contract_days": 183,
        "pay_wages": 4.0,
        "signup_bonus_wages": 3.0,
        "signup_bonus_end_date": start + dt.timedelta(days=100),
        "home_leave": True,
        "killed_per_day": 0.001,
    }
    data = scn.to_dict()
    data["scenario"]["name"] = "two_laws"
    data["population"]["volunteering"]["risk"] = 1.0
    data["regimes"] = {
        "UA_2024": ua.model_copy(update={"end_date": switch}).model_dump(),
        "UA_LATER": ua.model_copy(update=later).model_dump(),
    }
    return validate_raw(data, "two_laws")


@pytest.mark.parametrize("size", ["small", pytest.param("full", marks=pytest.mark.slow)])
def test_engines_agree_when_incentives_differ_between_regimes(size):
    n = SMALL if size == "small" else FULL
    scn = two_laws()
    agreement = check_engines(scn, n["replicates"], n["population"], n["days"], ALPHA)
    assert agreement.agrees, _report(agreement)
    applied = agreement.table.set_index("flow").loc["applications"]
    assert applied["mean_a"] > 0 and applied["mean_b"] > 0


def test_check_fails_when_one_engine_changes_a_rule():
    """Killing three times as many recruits in the vector engine alone must be detected
    (about 3 killed per run at this size: a smaller change is within chance)."""
    factor = 3.0
    base = sim.load_scenario("ukraine_2024").regimes["UA_2024"].killed_per_day
    changed = _flows("vector", "ukraine_2024", **{"regimes.UA_2024.killed_per_day": base * factor})
    agreement = compare_flows(changed, _flows("agents", "ukraine_2024"), ALPHA)
    assert not agreement.agrees
    assert "killed" in agreement.disagreeing(), _report(agreement)


def test_check_fails_when_eligibility_differs():
    """A remaining-sentence limit of 2 years in one engine only must be detected."""
    limit = {"regimes.UA_2024.max_remaining_sentence_days": 730}
    changed = _flows("vector", "ukraine_2024", **limit)
    agreement = compare_flows(changed, _flows("agents", "ukraine_2024"), ALPHA)
    assert "applications" in agreement.disagreeing(), _report(agreement)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(sim.bundled_scenarios()))
def test_engines_agree_every_scenario(name):
    scn = sim.load_scenario(name)
    agreement = check_engines(scn, FULL["replicates"], FULL["population"], FULL["days"], ALPHA)
    print(f"\n{name}\n{_report(agreement)}")
    assert agreement.agrees, _report(agreement)


# Every loop at work in Ukraine: refusals and re-applications after a month, veterans and
# caught deserters back in custody who may sign again, wounded back to duty, deserters back
# to their unit.
LOOPS = {
    "regimes.UA_2024.psych_reject_prob": 0.3,
    "regimes.UA_2024.reapply_wait_days": 30,
    "regimes.UA_2024.admits_former_recruits": True,
    "regimes.UA_2024.deserted_per_day": 0.003,
    "regimes.UA_2024.awol_returned_per_day": 0.02,
    "regimes.UA_2024.awol_caught_per_day": 0.02,
    "regimes.UA_2024.wounded_returned_per_day": 0.003,
    "regimes.UA_2024.wounded_discharged_per_day": 0.005,  # veterans who may reoffend
    "population.reoffend_per_day": 0.003,
}


def test_engines_agree_on_the_loops():
    vector, agents = (_flows(e, "ukraine_2024", **LOOPS) for e in ("vector", "agents"))
    agreement = compare_flows(vector, agents, ALPHA)
    assert agreement.agrees, _report(agreement)
    table = agreement.table.set_index("flow")
    for flow in ("reapplications", "returned_to_duty", "returned_to_unit", "reoffended"):
        assert table.loc[flow, "mean_a"] > 0 and table.loc[flow, "mean_b"] > 0, flow
    for column in ("incarcerated_convicted_male", "incarcerated_pretrial_male"):
        assert table.loc[column, "mean_a"] > 0, column


def test_check_fails_when_the_reapplication_wait_differs():
    """A wait of 150 days instead of 30 in one engine only must be detected."""
    longer = {**LOOPS, "regimes.UA_2024.reapply_wait_days": 150}
    agreement = compare_flows(
        _flows("vector", "ukraine_2024", **longer), _flows("agents", "ukraine_2024", **LOOPS)
    )
    assert "reapplications" in agreement.disagreeing(), _report(agreement)


def _groups(engine: str, name: str, **overrides) -> pd.DataFrame:
    return _read(final_groups, engine, name, **overrides)


def test_engines_agree_on_who_is_recruited():
    """The by-group outputs (who is recruited, who is killed or deserts) agree, loops on."""
    vector, agents = (_groups(e, "ukraine_2024", **LOOPS) for e in ("vector", "agents"))
    vector, agents = vector.align(agents, join="outer", axis=1, fill_value=0.0)
    agreement = compare_flows(vector, agents, ALPHA)
    assert agreement.agrees, _report(agreement)
    table = agreement.table.set_index("flow")
    for column in ("recruits:offence_class=violent", "recruits:age_band=25-34"):
        assert table.loc[column, "mean_a"] > 0 and table.loc[column, "mean_b"] > 0, column


def test_check_fails_when_who_is_recruited_differs():
    """A 1-year remaining-sentence limit in one engine only shows in the sentence bands."""
    limit = {"regimes.UA_2024.max_remaining_sentence_days": 365}
    changed, agents = _groups("vector", "ukraine_2024", **limit), _groups("agents", "ukraine_2024")
    changed, agents = changed.align(agents, join="outer", axis=1, fill_value=0.0)
    agreement = compare_flows(changed, agents, ALPHA)
    assert any(f.startswith("recruits:sentence_band=") for f in agreement.disagreeing()), _report(
        agreement
    )
