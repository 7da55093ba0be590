"""Conservation of people and flow identities, over random scenarios (hypothesis).

Every person who ever exists is in exactly one state every day; stocks are never negative;
cumulative flows never decrease; and the stock-flow identities below hold exactly, because
each state is entered and left only through the flows named here:

- recruits (released_to_army) and deserters back in their unit (returned_to_unit) are in
  training, deployed, or left through exactly one of killed, wounded_discharged,
  deserted, captured, service_completed (the wounded back to duty never left);
- dead == killed + executed, prisoners_of_war == captured, released == sentence_releases;
- veterans == wounded_discharged + service_completed - reoffended;
- awol == deserted - (returned_to_custody - reoffended) - returned_to_unit - executed;
- applicants are screening, awaiting court, rejected, recruited, or released at sentence end;
- re-applications and re-enlistments are parts of applications and recruits.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.model.taxonomy import CUSTODY_GROUP_COLUMNS, FLOW_COLUMNS, STATES, STOCK_COLUMNS
from sim.results import RECRUIT_COLUMNS

UA_HAZARDS = ("killed_per_day", "wounded_discharged_per_day", "deserted_per_day")
# Zero, or a daily hazard from one in a billion to 1%. (Hazards below ~1e-300 make the
# vector engine's exponential draws overflow to inf, which it handles, with a warning.)
HAZARD = st.just(0.0) | st.floats(1e-9, 0.01)

# Russian runs start on one of these dates so that short horizons see regime changes
# (Wagner -> Storm-Z, Storm-Z -> Storm-V, 64-FZ and defendants starting).
RU_STARTS = (
    dt.date(2022, 7, 1),
    dt.date(2023, 1, 1),
    dt.date(2023, 7, 1),
    dt.date(2024, 3, 1),
    dt.date(2024, 9, 1),
)


@st.composite
def ukraine_overrides(draw, horizon: int) -> tuple[str, dict]:
    ua = "regimes.UA_2024"
    start = sim.load_scenario("ukraine_2024").scenario.start_date
    o = {
        f"{ua}.approval_capacity_per_day": draw(st.integers(0, 200)),
        f"{ua}.max_remaining_sentence_days": draw(st.none() | st.integers(100, 4000)),
        "population.campaigns.UA_LAUNCH.boost": draw(st.floats(0, 200)),
        f"{ua}.signup_bonus_wages": draw(st.floats(0, 5)),
        f"{ua}.home_leave": draw(st.booleans()),
        f"{ua}.training_places": draw(st.integers(0, 50)),
        "population.reoffend_per_day": draw(HAZARD),
        f"{ua}.awol_caught_per_day": draw(HAZARD),
        f"{ua}.reapply_wait_days": draw(st.none() | st.integers(0, 200)),
        f"{ua}.admits_former_recruits": draw(st.booleans()),
        f"{ua}.wounded_returned_per_day": draw(HAZARD),
        f"{ua}.treatment_days": {"dist": "uniform", "low": 0, "high": draw(st.integers(0, 90))},
        f"{ua}.awol_returned_per_day": draw(HAZARD),
        f"{ua}.formation_days": {"dist": "fixed", "value": draw(st.integers(0, 60))},
    }
    for h in UA_HAZARDS:
        o[f"{ua}.{h}"] = draw(HAZARD)
    if draw(st.booleans()):
        o["scenario.war_end_date"] = start + dt.timedelta(days=draw(st.integers(1, 2 * horizon)))
    return "ukraine_2024", o


@st.composite
def russia_overrides(draw, horizon: int) -> tuple[str, dict]:
    start = draw(st.sampled_from(RU_STARTS))
    o: dict = {"scenario.start_date": start}
    o["regimes.RU_DEFENDANTS.approval_capacity_per_day"] = draw(st.integers(0, 200))
    o["regimes.RU_STORMV.max_remaining_sentence_days"] = draw(st.none() | st.integers(100, 4000))
    o["regimes.RU_STORMV.overrides_existing_contracts"] = draw(st.booleans())
    o["regimes.RU_STORMZ.training_places"] = draw(st.integers(0, 50))
    o["population.campaigns.STORMZ_DRIVE.boost"] = draw(st.floats(0, 200))
    o["population.campaigns.SUSPECTS_DRIVE.boost"] = draw(st.floats(0, 200))
    o["population.volunteering.risk"] = draw(st.floats(0, 3))
    o["scenario.demobilisation_delay_days"] = draw(st.integers(0, 200))
    o["population.reoffend_per_day"] = draw(HAZARD)
    o["regimes.RU_WAGNER.deserter_execution_prob"] = draw(st.floats(0, 1))
    o["regimes.RU_WAGNER.awol_caught_per_day"] = draw(HAZARD)
    for rid in ("RU_STORMZ", "RU_STORMV", "RU_64FZ", "RU_DEFENDANTS"):
        o[f"regimes.{rid}.admits_former_recruits"] = draw(st.booleans())
        o[f"regimes.{rid}.reapply_wait_days"] = draw(st.none() | st.integers(0, 200))
    for rid in ("RU_WAGNER", "RU_STORMZ", "RU_STORMV", "RU_64FZ"):
        for h in (*UA_HAZARDS, "captured_per_day"):
            if draw(st.booleans()):
                o[f"regimes.{rid}.{h}"] = draw(HAZARD)
    if draw(st.booleans()):
        o["scenario.war_end_date"] = start + dt.timedelta(days=draw(st.integers(1, 2 * horizon)))
    return "russia_2022_2025", o


@st.composite
def runs(draw, populations=(300, 3000), horizons=(60, 400)):
    days = draw(st.integers(*horizons))
    population = draw(st.integers(*populations))
    name, overrides = draw(st.one_of(ukraine_overrides(days), russia_overrides(days)))
    seed = draw(st.integers(0, 2**31 - 1))
    return name, overrides, seed, population, days


def check_accounting(ts: pd.DataFrame, population: int, days: int) -> None:
    """Every invariant of the module docstring, at every day."""
    assert len(ts) == days
    c = {name: ts[name].to_numpy(dtype=np.int64) for name in ts.columns if name != "date"}

    # Conservation: the exclusive states hold everyone admitted so far.
    total = sum(c[s] for s in STATES)
    assert np.array_equal(total, population + c["admissions"]), "people created or lost"
    for name in (*STATES, *STOCK_COLUMNS, "in_custody"):
        assert (c[name] >= 0).all(), f"negative stock {name} on day {np.argmin(c[name])}"
    for name in FLOW_COLUMNS:
        assert (np.diff(c[name]) >= 0).all(), f"cumulative {name} decreases"
        assert c[name][0] >= 0
    assert np.array_equal(c["in_custody"], c["incarcerated"] + c["screening"] + c["awaiting_court"])

    # States entered and left only through named flows.
    assert np.array_equal(c["dead"], c["killed"] + c["executed"])
    assert np.array_equal(c["prisoners_of_war"], c["captured"])
    assert np.array_equal(c["released"], c["sentence_releases"])
    assert np.array_equal(
        c["veterans"], c["wounded_discharged"] + c["service_completed"] - c["reoffended"]
    )
    caught = c["returned_to_custody"] - c["reoffended"]
    assert (caught >= 0).all()
    assert np.array_equal(c["awol"], c["deserted"] - caught - c["returned_to_unit"] - c["executed"])

    # Recruits: in training, deployed, or gone through exactly one exit.
    exits = c["killed"] + c["wounded_discharged"] + c["deserted"] + c["captured"]
    assert np.array_equal(
        c["released_to_army"] + c["returned_to_unit"],
        c["training"] + c["deployed"] + exits + c["service_completed"],
    )
    assert (c["deployed_total"] + c["training"] <= c["released_to_army"]).all()
    assert (exits + c["deployed"] <= c["deployed_total"] + c["returned_to_unit"]).all()
    assert (c["reapplications"] <= c["applications"]).all()
    assert (c["reenlisted"] <= c["released_to_army"]).all()

    # Applicants: in the pipeline, rejected, recruited, or released at sentence end.
    outcomes = c["rejected_screening"] + c["rejected_court"] + c["released_to_army"]
    assert (c["screening"] + c["awaiting_court"] + outcomes <= c["applications"]).all()
    assert (c["released_to_army"] <= c["applications"] - c["rejected_screening"]).all()

    # The eligible pool is a part of the incarcerated who have not applied.
    assert (c["eligible"] <= c["incarcerated"]).all()

    # The incarcerated by legal status and sex add up to the incarcerated.
    groups = sum(c[name] for name in CUSTODY_GROUP_COLUMNS)
    assert np.array_equal(groups, c["incarcerated"]), "custody groups do not add up"
    for name in CUSTODY_GROUP_COLUMNS:
        assert (c[name] >= 0).all(), f"negative stock {name}"


def check_recruits(recruits: pd.DataFrame, summary: dict) -> None:
    """One row per contract, each exit counted once under its flow."""
    assert list(recruits.columns) == list(RECRUIT_COLUMNS)
    assert list(recruits.dtypes.astype(str)) == list(RECRUIT_COLUMNS.values())
    assert len(recruits) == summary["released_to_army"]
    n = recruits["outcome"].value_counts()
    for flow in ("killed", "wounded_discharged", "captured", "executed"):
        assert n.get(flow, 0) == summary[flow], flow
    back = summary["returned_to_unit"] + summary["executed"]
    assert n.get("deserted", 0) + back == summary["deserted"]
    assert (recruits["enlistment"] > 1).sum() == summary["reenlisted"]
    assert (recruits["returned_to_custody_day"] >= 0).sum() == summary["returned_to_custody"]
    started = recruits["contract_day"]
    assert (started >= recruits["application_day"]).all()
    deployed = recruits["deploy_day"] >= 0
    assert (recruits["deploy_day"][deployed] >= started[deployed]).all()
    exited = recruits["exit_day"] >= 0
    assert (recruits["exit_day"][exited] >= started[exited]).all()
    assert ((recruits["outcome"] != "") == exited).all()


def run_and_check(engine: str, name: str, overrides: dict, seed, population, days) -> None:
    scenario = sim.load_scenario(name, overrides)
    result = sim.run(scenario, engine=engine, seed=seed, population=population, days=days)
    assert result.engine == engine
    check_accounting(result.timeseries, population, days)
    check_recruits(result.recruits, result.summary)
    s = result.summary
    for flow in FLOW_COLUMNS:
        assert s[flow] == result.timeseries[flow].iloc[-1]
    assert s["peak_deployed"] == result.timeseries["deployed"].max()
    war_end = scenario.day_of(scenario.scenario.war_end_date)
    if war_end is not None and 0 < war_end < days:  # nobody recruited after the war
        recruits = result.timeseries["released_to_army"].to_numpy()
        assert (recruits[war_end:] == recruits[war_end - 1]).all()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(runs())
def test_vector_engine_conserves_people(run):
    run_and_check("vector", *run)


def test_agents_engine_conserves_people_example():
    run_and_check("agents", "russia_2022_2025", {"scenario.start_date": RU_STARTS[2]}, 1, 200, 60)


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(runs(populations=(200, 200), horizons=(60, 60)))
def test_agents_engine_conserves_people(run):
    run_and_check("agents", *run)


@pytest.mark.parametrize("engine", sim.ENGINES)
def test_war_over_before_contract(engine):
    """The war ends on day 1: people apply on day 0, pass screening and approval, but no
    contract is signed after the war's end; they go back to custody and the stocks still
    add up (found by the property test above when contracts were still signed then)."""
    scenario = sim.load_scenario("ukraine_2024", {"scenario.war_end_date": dt.date(2024, 5, 19)})
    result = sim.run(scenario, engine=engine, seed=0, population=300, days=60)
    ts = result.timeseries
    assert ts["applications"].iloc[-1] > 0
    assert ts["released_to_army"].iloc[-1] == 0
    assert ts["awaiting_court"].iloc[-1] == ts["screening"].iloc[-1] == 0
    check_accounting(ts, 300, 60)
