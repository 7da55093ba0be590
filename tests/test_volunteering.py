"""The volunteering model: neutral at its references, monotone in every term of the offer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.volunteering import (
    REF_CUSTODY_YEARS,
    RELEASE_VALUE,
    Offer,
    Response,
    appeal,
    custody_factor,
    perceived_death_risk,
    true_death_risk,
)

coef = st.floats(0.0, 3.0)
responses = st.builds(
    Response,
    custody=coef,
    release=coef,
    service=coef,
    pay=coef,
    leave=coef,
    risk=st.floats(0.0, 10.0),
    prior_death_risk=st.floats(0.0, 1.0),
    risk_learning_days=st.floats(1.0, 1000.0),
    expected_war_years=st.floats(0.1, 10.0),
)
offers = st.builds(
    Offer,
    release_type=st.sampled_from(sorted(RELEASE_VALUE)),
    contract_days=st.one_of(st.none(), st.floats(1.0, 3650.0)),
    pay_wages=st.floats(0.1, 10.0),
    bonus_wages=st.floats(0.0, 20.0),
    home_leave=st.booleans(),
    killed_per_day=st.floats(0.0, 0.02),
)
DAYS = np.arange(0, 720, 7)


def test_neutral_at_the_references():
    """A population that ignores every term applies at its baseline, whatever the law."""
    offer = Offer("parole", None, pay_wages=3.0, bonus_wages=5.0, killed_per_day=0.01)
    assert np.all(appeal(offer, Response(), DAYS) == 1.0)
    assert np.all(custody_factor(np.array([0.0, 1.0, 30.0, np.inf]), Response()) == 1.0)
    reference = Offer("pardon", 0.5 * 365.25)
    assert np.allclose(appeal(reference, Response(custody=1, release=1, service=1, pay=1), DAYS), 1)


@given(responses, st.floats(0, 30), st.floats(0, 30))
def test_more_custody_avoided_never_lowers_the_hazard(response, a, b):
    lo, hi = sorted((a, b))
    assert custody_factor(hi, response) >= custody_factor(lo, response)


def _improvements(offer: Offer) -> list[Offer]:
    """The same offer with one term improved."""
    better = []
    values = sorted(RELEASE_VALUE.items(), key=lambda kv: kv[1])
    for name, value in values:
        if value > RELEASE_VALUE[offer.release_type]:
            better.append(dataclasses.replace(offer, release_type=name))
    if offer.contract_days is not None:
        better.append(dataclasses.replace(offer, contract_days=offer.contract_days / 2))
    better.append(dataclasses.replace(offer, pay_wages=offer.pay_wages * 1.5))
    better.append(dataclasses.replace(offer, bonus_wages=offer.bonus_wages + 1.0))
    better.append(dataclasses.replace(offer, home_leave=True))
    better.append(dataclasses.replace(offer, killed_per_day=offer.killed_per_day / 2))
    return better


@settings(max_examples=200)
@given(responses, offers)
def test_improving_one_term_never_lowers_the_appeal(response, offer):
    base = appeal(offer, response, DAYS)
    for better in _improvements(offer):
        # A relative tolerance for rounding in the products of powers.
        assert np.all(appeal(better, response, DAYS) >= base * (1 - 1e-12)), better


def test_a_shorter_contract_helps_even_against_a_war_that_may_end_soon():
    """Fixed six months beats 'until the war ends' whenever the war is expected to last
    longer; the comparison is the expected length of service."""
    response = Response(service=1.0)
    six_months = Offer("pardon", 182.6)
    until_war_end = Offer("pardon", None)
    assert appeal(six_months, response, DAYS)[0] > appeal(until_war_end, response, DAYS)[0]


@given(responses, offers)
def test_belief_moves_from_prior_to_truth(response, offer):
    risk = perceived_death_risk(offer, response, DAYS)
    truth, prior = true_death_risk(offer, response), response.prior_death_risk
    assert risk[0] == pytest.approx(prior)
    assert np.all((risk >= min(prior, truth) - 1e-12) & (risk <= max(prior, truth) + 1e-12))
    assert np.all(np.diff(np.abs(risk - truth)) <= 1e-12)  # never moves away from the truth


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"custody": -0.1}, "custody: must be a finite number >= 0"),
        ({"risk": float("nan")}, "risk: must be a finite number >= 0"),
        ({"prior_death_risk": 1.5}, "prior_death_risk: must be in"),
        ({"risk_learning_days": 0.0}, "risk_learning_days: must be > 0"),
    ],
)
def test_bad_response_values_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Response(**kwargs)


def test_bad_offer_values_are_named():
    with pytest.raises(ValueError, match="release_type: 'amnesty'; allowed: pardon"):
        Offer("amnesty", None)
    with pytest.raises(ValueError, match="contract_days: must be > 0"):
        Offer("pardon", 0)
    with pytest.raises(ValueError, match="pay_wages: must be a finite number >= 0"):
        Offer("pardon", None, pay_wages=-1)


@pytest.mark.parametrize("power", [0.0, 0.5, 1.0, 2.0, 0.556322, 0.17, 1.3])
def test_custody_factor_is_numpys_formula_to_the_bit(power):
    """The compiled custody factor against the numpy expression it replaced, at numpy's
    special exponents (square, square root, 1, 0) and others, with NaN, infinite, negative
    and over-25-year custody among the years."""
    rng = np.random.default_rng(7)
    years = np.concatenate(
        [
            rng.gamma(1.0, 3.0, 50_000),
            rng.uniform(-5.0, 40.0, 20_000),
            rng.uniform(0, 25, 20_000).astype(np.float32),
            [np.nan, np.inf, -np.inf, 0.0, -0.0, 25.0, 1e-300],
        ]
    )
    response = dataclasses.replace(Response(), custody=power)
    clipped = np.clip(np.nan_to_num(years, posinf=25.0), 0, 25)
    expected = ((1.0 + clipped) / (1.0 + REF_CUSTODY_YEARS)) ** power
    got = custody_factor(years, response)
    assert got.dtype == np.float64 and got.shape == years.shape
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))
    one = custody_factor(years[3], response)
    assert isinstance(one, np.float64) and one == expected[3]
