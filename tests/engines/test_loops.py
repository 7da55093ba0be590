"""People who come back (issue 12): re-application after a refusal, re-enlistment of people
returned to custody, wounded back to duty, deserters back to their unit or executed, and
the unit formation delay before the first deployment. Both engines."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.model import rules
from sim.model.population import synthesize
from sim.model.taxonomy import CONVICTED, NEVER

UA = "regimes.UA_2024"
WAIT_DAYS = 91
# Many refusals, so that re-applications are frequent at a small size.
REFUSING = {f"{UA}.psych_reject_prob": 0.4, f"{UA}.reapply_wait_days": WAIT_DAYS}
# Storm-Z (kept in force for the year): six months, then pardon; veterans reoffend often
# and the law takes them back.
STORMZ = "regimes.RU_STORMZ"
COMING_BACK = {
    f"{STORMZ}.end_date": dt.date(2024, 1, 31),
    "population.reoffend_per_day": 0.01,
    "population.reoffence_sentence_days": {"dist": "fixed", "value": 2000},
    f"{STORMZ}.admits_former_recruits": True,
    f"{STORMZ}.killed_per_day": 0.0,
}


def _run(name: str, overrides: dict, engine: str, population: int = 1000, days: int = 300):
    scn = sim.load_scenario(name, overrides)
    return sim.run(scn, engine=engine, seed=3, population=population, days=days)


def _first_day(ts, column: str) -> int:
    days = np.flatnonzero(ts[column].to_numpy() > 0)
    return int(days[0]) if len(days) else -1


def test_the_law_makes_a_refused_applicant_wait():
    scn = sim.load_scenario("ukraine_2024", REFUSING)
    regime = scn.regimes["UA_2024"]
    pop = synthesize(scn, 0, 500, 400)
    ids = np.arange(pop.n)
    refused = np.full(pop.n, 10, dtype=np.int64)
    spell = (ids, refused, pop.sentence_end.astype(np.int64))
    former = np.zeros(pop.n, dtype=bool)
    pos, lo, _hi = rules.later_window(regime, CONVICTED, pop, spell, 0, 400, former, refused)
    assert len(pos) > 0
    assert (lo >= 10 + WAIT_DAYS).all()
    no_wait = regime.model_copy(update={"reapply_wait_days": 0})
    _pos, lo0, _hi = rules.later_window(no_wait, CONVICTED, pop, spell, 0, 400, former, refused)
    assert (lo0 < 10 + WAIT_DAYS).any()  # the wait is what holds them back
    never = regime.model_copy(update={"reapply_wait_days": None})
    pos, _lo, _hi = rules.later_window(never, CONVICTED, pop, spell, 0, 400, former, refused)
    assert len(pos) == 0
    not_refused = np.full(pop.n, NEVER, dtype=np.int64)
    spell = (ids, refused, pop.sentence_end.astype(np.int64))
    pos, _lo, _hi = rules.later_window(regime, CONVICTED, pop, spell, 0, 400, ~former, not_refused)
    assert len(pos) == 0  # former recruits only where the law admits them


@pytest.mark.parametrize("engine", sim.ENGINES)
def test_a_refused_applicant_reapplies_no_sooner_than_the_wait(engine):
    ts = _run("ukraine_2024", REFUSING, engine).timeseries
    first_refusal = _first_day(ts, "rejected_screening")
    first_reapplication = _first_day(ts, "reapplications")
    assert 0 <= first_refusal
    assert first_reapplication >= first_refusal + WAIT_DAYS
    assert ts["reapplications"].iloc[-1] > 0
    no_law = {**REFUSING, f"{UA}.reapply_wait_days": None}
    assert _run("ukraine_2024", no_law, engine).timeseries["reapplications"].iloc[-1] == 0


@pytest.mark.parametrize("engine", sim.ENGINES)
def test_a_veteran_returned_to_custody_enlists_again(engine):
    result = _run("russia_stormz_2023", COMING_BACK, engine, population=1500, days=360)
    recruits, summary = result.recruits, result.summary
    again = recruits[recruits["enlistment"] == 2]
    assert len(again) > 0
    # The second enlistments appear in the summary under their canonical name.
    assert summary["reenlisted"] == len(again) == (recruits["enlistment"] > 1).sum()
    first = recruits[recruits["enlistment"] == 1].set_index("person")
    back = first.loc[again["person"], "returned_to_custody_day"].to_numpy()
    assert (back >= 0).all()
    assert (again["application_day"].to_numpy() >= back).all()
    before = first.loc[again["person"], "outcome"]
    assert before.isin(["service_completed", "wounded_discharged", "deserted"]).all()
    assert (before == "service_completed").any()  # veterans among them
    closed = {**COMING_BACK, f"{STORMZ}.admits_former_recruits": False}
    closed_run = _run("russia_stormz_2023", closed, engine, population=1500, days=360)
    assert closed_run.summary["reenlisted"] == 0
    assert (closed_run.recruits["enlistment"] == 1).all()


@pytest.mark.parametrize("engine", sim.ENGINES)
def test_wounded_return_to_duty_and_deserters_to_their_unit(engine):
    back = {
        f"{UA}.wounded_returned_per_day": 0.01,
        f"{UA}.deserted_per_day": 0.01,
        f"{UA}.awol_returned_per_day": 0.05,
    }
    summary = _run("ukraine_2024", back, engine, days=200).summary
    assert summary["returned_to_duty"] > 0 and summary["returned_to_unit"] > 0
    none = {f"{UA}.wounded_returned_per_day": 0.0, f"{UA}.awol_returned_per_day": 0.0}
    summary = _run("ukraine_2024", none, engine, days=200).summary
    assert summary["returned_to_duty"] == summary["returned_to_unit"] == 0


@pytest.mark.parametrize("engine", sim.ENGINES)
def test_wagner_executes_caught_deserters(engine):
    wagner = "regimes.RU_WAGNER"
    harsh = {
        f"{wagner}.deserted_per_day": 0.01,
        f"{wagner}.awol_caught_per_day": 0.2,
        f"{wagner}.deserter_execution_prob": 1.0,
        "population.reoffend_per_day": 0.0,
    }
    result = _run("russia_wagner_2022", harsh, engine, days=200)
    s = result.summary
    assert s["executed"] > 0
    assert s["returned_to_custody"] == 0  # every deserter caught is executed
    assert (result.recruits["outcome"] == "executed").sum() == s["executed"]
    ts = result.timeseries
    assert (ts["dead"] == ts["killed"] + ts["executed"]).all()


def test_ukraine_first_deployments_come_in_august_2024():
    """Training plus the unit formation delay (BRIEF 2.1: first combat deployments in
    August 2024); without the delay they came in June."""
    scn = sim.load_scenario("ukraine_2024")
    for delay, month in ((None, 8), ({"dist": "fixed", "value": 0}, 6)):
        s = (
            scn
            if delay is None
            else sim.load_scenario("ukraine_2024", {f"{UA}.formation_days": delay})
        )
        ts = sim.run(s, seed=0, days=120).timeseries
        first = ts.loc[ts["deployed_total"] > 0, "date"].iloc[0].date()
        assert first.month == month and first.year == 2024, first


@pytest.mark.parametrize("engine", sim.ENGINES)
def test_formation_delay_separates_contract_and_deployment(engine):
    result = _run("ukraine_2024", {}, engine, population=1500, days=200)
    recruits = result.recruits
    deployed = recruits[recruits["deploy_day"] >= 0]
    assert len(deployed) > 0
    low = sim.load_scenario("ukraine_2024").regimes["UA_2024"].formation_days.low
    assert (deployed["deploy_day"] - deployed["contract_day"] >= low + 1).all()
    assert dt.date(2024, 5, 18) + dt.timedelta(days=int(deployed["deploy_day"].min())) >= dt.date(
        2024, 7, 1
    )
