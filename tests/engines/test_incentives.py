"""The volunteering model responds to the law in the right direction, in both engines.

For the same people and seeds, widening eligibility (more statuses or offences, a longer
remaining-sentence limit) or improving one term of the offer (pardon over parole, a
shorter contract, a higher bonus or pay, home leave) never lowers applications; lowering
the front-line hazard never raises the killed count when people do not respond to risk.

Vector engine: pathwise, under common random numbers (every draw is indexed by person and
named by decision, so only what the change reaches moves). Mesa engine: its daily draws
are not paired, so the check is on what fixes the expected count: each agent's daily
hazard (person factor x the law's day term) is never lower and its eligibility window
never narrower; one strong change is also checked on means over seeds.

Why the killed-count property needs `risk = 0`: with a risk response, a safer front makes
signing more attractive, more people apply, and more recruits can be killed although each
one is safer; the property then holds per recruit, not in total. The bundled starting value
of `population.volunteering.risk` is 0 (scenarios/base/volunteering.toml).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.engines.mesa_model import PrisonFlowModel
from sim.model.taxonomy import STATUS_CODE

UA = "regimes.UA_2024"
SIZE = {"population": 1500, "days": 150}
EXCLUDED = sim.load_scenario("ukraine_2024").regimes["UA_2024"].excluded_offences
RESPONSE = {  # responsive people, so that every term of the offer matters
    "population.volunteering.pay": 0.5,
    "population.volunteering.service": 0.8,
    "population.volunteering.release": 1.0,
    "population.volunteering.leave": 0.3,
    "population.volunteering.risk": 0.0,  # no risk response unless a test sets one
}


@st.composite
def widenings(draw) -> tuple[dict, dict]:
    """(narrow, wide) overrides of ukraine_2024: the wide law admits everyone the narrow does."""
    kind = draw(st.sampled_from(["statuses", "offences", "remaining"]))
    if kind == "statuses":
        return {}, {f"{UA}.statuses": ["convicted", "pretrial"]}
    if kind == "offences":
        kept = draw(st.lists(st.sampled_from(EXCLUDED), unique=True))
        return {}, {f"{UA}.excluded_offences": kept}
    short = draw(st.integers(0, 1500))
    longer = draw(st.none() | st.integers(short, 5000))
    return {f"{UA}.max_remaining_sentence_days": short}, {
        f"{UA}.max_remaining_sentence_days": longer
    }


@st.composite
def improvements(draw) -> tuple[dict, dict]:
    """(worse, better) overrides of ukraine_2024 differing in one term of the offer."""
    kind = draw(st.sampled_from(["release", "contract", "bonus", "pay", "leave"]))
    if kind == "release":
        worse = draw(st.sampled_from(["parole", "case_dismissed"]))
        better = draw(st.sampled_from(["pardon", "record_expunged", "case_dismissed"]))
        if better == worse:
            better = "pardon"
        return {f"{UA}.release_type": worse}, {f"{UA}.release_type": better}
    if kind == "contract":
        long_days = draw(st.integers(30, 2000))
        worse = draw(
            st.sampled_from([{f"{UA}.contract": "fixed", f"{UA}.contract_days": long_days}, {}])
        )
        # Service until the war ends is expected to last expected_war_years (2 years).
        limit = long_days if worse else 730
        short = draw(st.integers(1, limit))
        return worse, {f"{UA}.contract": "fixed", f"{UA}.contract_days": short}
    if kind == "bonus":
        low = draw(st.floats(0, 5))
        return {f"{UA}.signup_bonus_wages": low}, {
            f"{UA}.signup_bonus_wages": low + draw(st.floats(0.01, 5))
        }
    if kind == "pay":
        low = draw(st.floats(0.1, 4))
        return {f"{UA}.pay_wages": low}, {f"{UA}.pay_wages": low + draw(st.floats(0.01, 4))}
    return {f"{UA}.home_leave": False}, {f"{UA}.home_leave": True}


def _vector(overrides: dict, seed: int) -> dict:
    scn = sim.load_scenario("ukraine_2024", {**RESPONSE, **overrides})
    return sim.run(scn, seed=seed, **SIZE).summary


PROPERTY = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(change=widenings() | improvements(), seed=st.integers(0, 3))
def test_vector_wider_law_or_better_offer_never_lowers_applications(change, seed):
    narrow, wide = change
    risk = {"population.volunteering.risk": 1.0}  # a risk response cannot break this one
    before = _vector({**risk, **narrow}, seed)["applications"]
    after = _vector({**risk, **wide}, seed)["applications"]
    assert after >= before, (narrow, wide, before, after)


@PROPERTY
@given(high=st.floats(1e-4, 0.01), cut=st.floats(0.0, 1.0), seed=st.integers(0, 3))
def test_vector_safer_front_never_raises_killed(high, cut, seed):
    before = _vector({f"{UA}.killed_per_day": high}, seed)
    after = _vector({f"{UA}.killed_per_day": high * cut}, seed)
    assert after["killed"] <= before["killed"]
    assert after["applications"] == before["applications"]  # no risk response


def test_with_a_risk_response_a_safer_front_draws_more_applicants():
    """Why the killed-count property is stated without a risk response (documented above)."""
    risky = {"population.volunteering.risk": 3.0, f"{UA}.killed_per_day": 0.003}
    safer = {**risky, f"{UA}.killed_per_day": 0.0003}
    assert _vector(safer, 0)["applications"] > _vector(risky, 0)["applications"]


# --------------------------------------------------------------------------- Mesa engine


def _mesa(overrides: dict, seed: int = 0) -> PrisonFlowModel:
    scn = sim.load_scenario("ukraine_2024", {**RESPONSE, **overrides})
    return PrisonFlowModel(scn, seed=seed, population=300, days=120)


def _hazards(model: PrisonFlowModel, status: str) -> np.ndarray:
    """Each agent's daily hazard under the (single) regime if eligible on its first day in
    the window (0 otherwise): what fixes the Mesa engine's expected applications."""
    code = STATUS_CODE[status]
    rates = model.application_rate(0, code)
    out = np.zeros((len(model.active), model.n_days))
    for i, agent in enumerate(sorted(model.active, key=lambda a: a.pid)):
        lo, hi = agent.window(0, code)
        lo, hi = max(lo, 0), min(hi, model.n_days, agent.sentence_end)
        if lo < hi:
            row = rates[agent.facility if rates.shape[0] > 1 else 0, lo:hi]
            out[i, lo:hi] = agent.person_factor(0, code, lo) * row
    return out


@settings(max_examples=8, deadline=None)
@given(change=widenings() | improvements())
def test_mesa_wider_law_or_better_offer_never_lowers_any_hazard(change):
    narrow, wide = change
    for status in ("convicted", "pretrial"):
        before, after = _hazards(_mesa(narrow), status), _hazards(_mesa(wide), status)
        assert (after >= before * (1 - 1e-12)).all()


def test_mesa_means_move_with_a_strong_incentive():
    """Pardon over parole (x1.49 with release = 1), home leave (x1.35): more applications
    on average over seeds, beyond chance (the check can fail: tested on equal laws)."""
    worse = {f"{UA}.release_type": "parole"}
    better = {f"{UA}.release_type": "pardon", f"{UA}.home_leave": True}

    def mean_applications(overrides):
        scn = sim.load_scenario("ukraine_2024", {**RESPONSE, **overrides})
        runs = [sim.run(scn, engine="agents", seed=s, population=500, days=60) for s in range(6)]
        return np.array([r.summary["applications"] for r in runs])

    base, improved = mean_applications(worse), mean_applications(better)
    diff = improved - base
    assert diff.mean() > 2 * diff.std(ddof=1) / np.sqrt(len(diff)), (base, improved)


@pytest.mark.parametrize("engine", sim.ENGINES)
def test_the_offer_changes_applications_in_both_engines(engine):
    """A test of the tests: the terms of the offer do reach the engines."""
    scn = sim.load_scenario("ukraine_2024", {**RESPONSE, f"{UA}.home_leave": True})
    ref = sim.load_scenario("ukraine_2024", RESPONSE)
    a = sim.run(scn, engine=engine, seed=1, population=800, days=60).summary["applications"]
    b = sim.run(ref, engine=engine, seed=1, population=800, days=60).summary["applications"]
    assert a != b
