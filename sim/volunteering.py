"""How people respond to what a law offers: the volunteering model (law apart from behaviour).

A regime is law: what it offers a person who signs (custody avoided, the kind of release,
the length of service, pay and bonus, home leave) and what it exposes him to (the front-line
death hazard of the units it sends recruits to). A population is people: a baseline
propensity to volunteer and how strongly they respond to each term of the offer. The daily
hazard that person i applies under regime r on day d is

    h_i,r(d) = baseline_per_day * campaign(d) * appeal_r(d) * motivation_i * climate_f(i)
               * custody_factor_i,r

with, for response coefficients b >= 0 (behaviour, shared by countries unless data say
otherwise) and the law's terms (regime):

    custody_factor = ((1 + custody_avoided_years) / (1 + REF_CUSTODY_YEARS)) ** b_custody
    appeal(d)      = exp(b_release * (release_value - 1))
                     * ((1 + REF_SERVICE_YEARS) / (1 + service_years)) ** b_service
                     * ((pay + bonus / service_months) / REF_PAY) ** b_pay
                     * exp(b_leave * home_leave)
                     * exp(-b_risk * perceived_death_risk(d))

Every factor equals 1 at its reference (a law offering the references reduces to the
baseline) and moves the hazard in one direction only: more custody avoided, a better
release, a shorter service, more pay, home leave, or less risk never lower it. That is the
monotonicity the property tests check. The person factor depends only on the person and
the law (custody avoided is evaluated on the first day the person is eligible under the
law), and the appeal only on the law and the day, so the hazard stays a product of a
person term and a day term: the vector engine's first-passage search and the Mesa engine's
daily draws use the same numbers.

Pay is expressed as a multiple of the country's average monthly wage, so that one country's
pay scale, applied to the other's prisoners, means the same thing to them. Perceived risk
moves from the population's prior belief towards the law's true death risk over the
expected service as news comes back from the front (exponential learning with a lag).

Values of the reference points are conventions, not data. The release values are
assumptions (see `RELEASE_VALUE`); the coefficients' starting values and sources are in the
scenario files, and their calibration is the calibration issue's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.jit import kernel

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12

# Reference points at which each factor equals 1 (conventions).
REF_CUSTODY_YEARS = 1.0  # one year of custody avoided
REF_SERVICE_YEARS = 0.5  # a six-month contract (Wagner, Storm-Z)
REF_PAY = 1.0  # the average monthly wage

# What each kind of release is worth to the person, pardon = 1 (assumption: a pardon or an
# expunged record frees the person without conditions; a dismissed case leaves no
# conviction but was never a sentence; parole keeps a conviction and supervision and can be
# revoked; seed 000 and seed 002 describe parole as the Ukrainian terms).
RELEASE_VALUE = {
    "pardon": 1.0,
    "record_expunged": 1.0,
    "case_dismissed": 0.9,
    "parole": 0.6,
}


@dataclass(frozen=True)
class Response:
    """How strongly a population responds to each term of an offer (all >= 0; 0 = ignores it).

    Attributes:
        custody: elasticity of the hazard in (1 + years of custody avoided).
        release: weight of the release value (pardon 1, parole 0.6, ...).
        service: elasticity in (1 + expected years of service), entering with a minus sign.
        pay: elasticity in monthly pay (plus bonus spread over the service), in wages.
        leave: weight of home leave.
        risk: weight of the perceived probability of being killed during service.
        prior_death_risk: what people believe the death risk is before news comes back.
        risk_learning_days: time scale on which belief moves to the law's true risk.
        expected_war_years: how long people expect a service "until the war ends" to last.
    """

    custody: float = 0.0
    release: float = 0.0
    service: float = 0.0
    pay: float = 0.0
    leave: float = 0.0
    risk: float = 0.0
    prior_death_risk: float = 0.1
    risk_learning_days: float = 90.0
    expected_war_years: float = 2.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{f.name}: must be a finite number >= 0, got {value!r}")
        if self.prior_death_risk > 1:
            raise ValueError(f"prior_death_risk: must be in [0, 1], got {self.prior_death_risk}")
        if self.risk_learning_days <= 0:
            raise ValueError("risk_learning_days: must be > 0")
        if self.expected_war_years <= 0:
            raise ValueError("expected_war_years: must be > 0")


@dataclass(frozen=True)
class Offer:
    """The terms of a law as a person weighs them (one regime; scalars).

    Attributes:
        release_type: a key of RELEASE_VALUE.
        contract_days: length of a fixed contract, or None for service until the war ends.
        pay_wages: monthly pay as a multiple of the average monthly wage.
        bonus_wages: sign-up bonus as a multiple of the average monthly wage.
        home_leave: whether recruits get home leave.
        killed_per_day: the front-line death hazard of the units recruits serve in.
    """

    release_type: str
    contract_days: float | None
    pay_wages: float = REF_PAY
    bonus_wages: float = 0.0
    home_leave: bool = False
    killed_per_day: float = 0.0

    def __post_init__(self) -> None:
        if self.release_type not in RELEASE_VALUE:
            allowed = ", ".join(RELEASE_VALUE)
            raise ValueError(f"release_type: {self.release_type!r}; allowed: {allowed}")
        if self.contract_days is not None and self.contract_days <= 0:
            raise ValueError("contract_days: must be > 0 (or None: until the war ends)")
        for name in ("pay_wages", "bonus_wages", "killed_per_day"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")


def service_years(offer: Offer, response: Response) -> float:
    """Expected length of service: the contract, or the expected rest of the war.

    Args:
        offer: The law's terms.
        response: The population's response coefficients.

    Returns:
        The expected service, in years.
    """
    if offer.contract_days is None:
        return response.expected_war_years
    return offer.contract_days / DAYS_PER_YEAR


def custody_factor(custody_avoided_years, response: Response):
    """Person term: the pull of the custody a signature avoids (scalar or array).

    Args:
        custody_avoided_years (float | np.ndarray): remaining sentence for convicts;
            for suspects and defendants, the expected sentence. Infinite (life) is capped
            at 25 years.
        response: the population's response coefficients.
    Returns:
        A multiplier >= 0, 1 at one year avoided, non-decreasing in years avoided.
    """
    years = np.asarray(custody_avoided_years, dtype=np.float64)
    out = np.empty(years.shape, dtype=np.float64)
    _custody_factor_into(years.ravel(), 1.0 + REF_CUSTODY_YEARS, response.custody, out.ravel())
    return out if out.ndim else out[()]


@kernel
def _custody_factor_into(years, one_plus_ref, power, out):
    """`custody_factor` into `out`, one person at a time: NaN years count as 0, infinite
    (life) and longer as 25; then `((1 + years) / one_plus_ref) ** power`, with numpy's
    special exponents (square, square root, reciprocal, 1, 0) as numpy takes them, so that
    the values are numpy's `clip(nan_to_num(years, posinf=25), 0, 25)` to the bit."""
    for i in range(years.size):
        y = years[i]
        if y != y:
            y = 0.0
        y = min(max(y, 0.0), 25.0)
        x = (1.0 + y) / one_plus_ref
        if power == 2.0:
            out[i] = x * x
        elif power == 0.5:
            out[i] = np.sqrt(x)
        elif power == 1.0:
            out[i] = x
        elif power == -1.0:
            out[i] = 1.0 / x
        elif power == 0.0:
            out[i] = 1.0
        else:
            out[i] = x**power


def true_death_risk(offer: Offer, response: Response) -> float:
    """Probability of being killed over the expected service at the law's front-line hazard.

    Args:
        offer: The law's terms.
        response: The population's response coefficients.

    Returns:
        The probability.
    """
    return float(-np.expm1(-offer.killed_per_day * service_years(offer, response) * DAYS_PER_YEAR))


def perceived_death_risk(offer: Offer, response: Response, days_in_force) -> np.ndarray:
    """Belief about the death risk, `days_in_force` days after the law began (array).

    Args:
        offer: The law's terms.
        response: The population's response coefficients.
        days_in_force (float | np.ndarray): Days since the law began.

    Returns:
        The believed probability of being killed, one per day.
    """
    days = np.maximum(np.asarray(days_in_force, float), 0.0)
    learned = -np.expm1(-days / response.risk_learning_days)
    prior = response.prior_death_risk
    return prior + (true_death_risk(offer, response) - prior) * learned


def appeal(offer: Offer, response: Response, days_in_force) -> np.ndarray:
    """Day term: how attractive the law's offer is, per day since it began (array).

    Args:
        offer: the law's terms.
        response: the population's response coefficients.
        days_in_force (float | np.ndarray): days since the law began (the risk belief
            depends on it).
    Returns:
        Multipliers of the baseline hazard, one per day; 1 for an offer at the references
        with no risk response.
    """
    years = service_years(offer, response)
    months = years * 12.0
    pay = offer.pay_wages + offer.bonus_wages / months
    terms = (
        np.exp(response.release * (RELEASE_VALUE[offer.release_type] - 1.0))
        * ((1.0 + REF_SERVICE_YEARS) / (1.0 + years)) ** response.service
        * (pay / REF_PAY) ** response.pay
        * np.exp(response.leave * float(offer.home_leave))
    )
    risk = perceived_death_risk(offer, response, days_in_force)
    return terms * np.exp(-response.risk * risk)
