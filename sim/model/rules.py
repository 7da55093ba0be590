"""The law, stated once for both engines: who may apply, who passes, when service ends.

A regime is law (BRIEF 3): who is eligible, screening, contract terms, what signing is
worth. The population's behaviour (`sim.volunteering`: baseline, response, campaigns)
meets the law in `daily_rates` and `person_factor`, the one place both engines take the
hazard of applying from. Each rule here is a
numpy function of people's attributes that takes scalars or arrays, so the vector engine
applies it to everyone at once and a Mesa agent to itself; neither engine restates it.
The rules of the eligibility windows (custody with a status, fixed exclusions, personal
limits, re-application terms) are stated for one person, as helpers compiled into
kernels, in `sim.model.windows` (re-exported here): their numpy functions run them person
by person, and `eligibility_window` and `later_window` run them all in one pass.
What stays in the engines is dynamics: event-day arithmetic in `sim.engines.vector`, day
steps in `sim.engines.mesa_model`. The results keep the dtype of the attributes passed in
(the vector engine passes the population's float32 arrays, an agent Python floats).

Days count from the scenario's start (day 0); `NEVER` is a day that does not come.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import volunteering as vol
from ..scenario import Campaign, Regime, Scenario
from ..scenario import Population as PopulationParams
from .taxonomy import (
    CONVICTED,
    DAYS_PER_YEAR,
    DEFENDANT,
    NEVER,
    PRETRIAL,
    STATUS_CODE,
    STATUSES,
    SUSPECT,
)
from .windows import age_day as age_day
from .windows import eligibility_window as eligibility_window
from .windows import exclusions as exclusions
from .windows import later_window as later_window
from .windows import not_excluded as not_excluded
from .windows import personal_window as personal_window
from .windows import reapply_from as reapply_from
from .windows import status_interval as status_interval
from .windows import status_segment as status_segment

# (regime id, regime, first day in force, first day no longer in force)
Span = tuple[str, Regime, int, int]

# The order in which one person can hold statuses; windows are processed in this order.
STATUS_ORDER = (SUSPECT, DEFENDANT, PRETRIAL, CONVICTED)


# ---------------------------------------------------------------------- calendar


def war_days(scenario: Scenario) -> tuple[int, int]:
    """(war end, demobilisation) as days: no contract is signed from the first; service
    "until the war ends" ends on the second (war end + `demobilisation_delay_days`)."""
    war_end = scenario.day_of(scenario.scenario.war_end_date)
    if war_end is None:
        return int(NEVER), int(NEVER)
    return war_end, war_end + scenario.scenario.demobilisation_delay_days


def regime_spans(scenario: Scenario) -> list[Span]:
    """(id, regime, first day in force, first day no longer in force) in date order; no
    regime is in force on or after the war's end."""
    war_end, _demob = war_days(scenario)
    spans: list[Span] = []
    for rid, r in scenario.regimes.items():
        start, end = scenario.day_of(r.start_date), scenario.day_of(r.end_date)
        assert start is not None  # a regime always has a start date
        spans.append((rid, r, start, min(int(NEVER) if end is None else end, war_end)))
    return sorted(spans, key=lambda s: (s[2], s[0]))


def regimes_in_force(spans: list[Span], day: int) -> dict[int, int]:
    """Legal status code -> position in `spans` of the regime in force for it on `day`
    (scenarios do not let two regimes for one status overlap)."""
    out = {}
    for r_idx, (_rid, regime, start, end) in enumerate(spans):
        if start <= day < end:
            for status in regime.statuses:
                out[STATUS_CODE[status]] = r_idx
    return out


def covers(regime: Regime, status: int) -> bool:
    """Does `regime` apply to people holding legal status `status` (a code)?"""
    return STATUSES[status] in regime.statuses


# ---------------------------------------------------------------------- legal status


def status_on(status0, investigation_end, trial_end, day):
    """Legal status code on `day`: the case moves suspect -> defendant -> convicted, or
    pretrial -> convicted, as the investigation and the trial end."""
    status0 = np.asarray(status0)
    in_case = day < trial_end
    out = np.where(in_case & (status0 == PRETRIAL), PRETRIAL, CONVICTED)
    out = np.where(in_case & ((status0 == SUSPECT) | (status0 == DEFENDANT)), DEFENDANT, out)
    out = np.where((day < investigation_end) & (status0 == SUSPECT), SUSPECT, out)
    return out.astype(np.uint8)


def status_path(status0, investigation_end, trial_end):
    """A case's path as three segments of days, each (status, from, to): the status held
    on entry until the investigation ends (suspects) or the trial does (everyone else); a
    defendant from then to the trial's end (suspects only; empty for everyone else);
    convicted from the trial's end on. `status_on` on any day is the status of the segment
    that holds it.

    Returns:
        Three (status codes, first day, day after the last) triples of integer arrays (the
        dtypes given) or scalars; the first segment starts and the last ends outside every
        horizon.
    """
    status0 = np.asarray(status0)
    trial_end = np.asarray(trial_end)
    first_end = np.where(status0 == SUSPECT, investigation_end, trial_end)
    return (
        (status0, -NEVER, first_end),
        (DEFENDANT, first_end, trial_end),
        (CONVICTED, trial_end, NEVER),
    )


# ---------------------------------------------------------------------- eligibility


def takes_back(regime: Regime, refused: bool = True, former: bool = True) -> bool:
    """Whether `regime` takes anyone in a later round: people refused before (it takes
    re-applications: a `reapply_wait_days`) or former recruits (`admits_former_recruits`),
    among those present (`refused`, `former`: whether there are any)."""
    return bool(
        (refused and regime.reapply_wait_days is not None)
        or (former and regime.admits_former_recruits)
    )


# ---------------------------------------------------------------------- volunteering


def response(params: PopulationParams) -> vol.Response:
    """The population's response coefficients (`[population.volunteering]`)."""
    return _response(params.volunteering)


@functools.lru_cache(maxsize=64)
def _response(volunteering) -> vol.Response:
    """`response` of one (frozen, so hashable) `[population.volunteering]` table: made once,
    as every window of every run asks for it (an immutable dataclass, safe to share)."""
    return vol.Response(**volunteering.model_dump(exclude={"baseline_per_day"}))


def offer(regime: Regime, with_bonus: bool = True) -> vol.Offer:
    """What the regime offers a person who signs (with or without the sign-up bonus)."""
    return vol.Offer(
        release_type=regime.release_type,
        contract_days=regime.contract_days if regime.contract == "fixed" else None,
        pay_wages=regime.pay_wages,
        bonus_wages=regime.signup_bonus_wages if with_bonus else 0.0,
        home_leave=regime.home_leave,
        killed_per_day=regime.killed_per_day,
    )


def custody_avoided_years(status: int, sentence_end, sentence_years, day):
    """Custody a signature on `day` avoids: the rest of the sentence for convicts (life:
    infinite, capped by the model), the sentence the case will bring for the others."""
    if status == CONVICTED:
        end = np.asarray(sentence_end, dtype=np.float64)
        left = (end - np.maximum(day, 0)) / DAYS_PER_YEAR
        return np.where(end >= NEVER, np.inf, left)
    return np.asarray(sentence_years, dtype=np.float64)


def person_factor(params: PopulationParams, motivation, climate, custody_years):
    """Person term of the hazard of applying: motivation, the facility's climate (peers)
    and the pull of the custody avoided, evaluated on the first day the person is eligible
    under the regime (so the hazard stays a person term times a day term)."""
    pull = vol.custody_factor(custody_years, response(params))
    return np.asarray(motivation).astype(np.float64) * climate * pull


def visit_phases(params: PopulationParams, uniform) -> dict[str, np.ndarray]:
    """Per campaign with recruiter visits, each facility's first visit day after the
    campaign starts; `uniform(name, n)` gives the engine's n uniforms for a named draw."""
    return {
        cid: np.floor(uniform(f"visits.{cid}", params.facilities) * c.visit_interval_days).astype(
            np.int64
        )
        for cid, c in params.campaigns.items()
        if c.visit_interval_days and c.visit_multiplier != 1
    }


def campaign_factor(c: Campaign, start: int, end: int, days, phase=None):
    """Multiplier of the hazard from one campaign on `days` (1 outside [start, end)): its
    intensity, a publicity wave decaying from the start, a linear ramp-up and recruiter
    visits every interval from each facility's `phase` (rows: facilities)."""
    days = np.asarray(days, dtype=np.int64)
    since = (days - start).astype(np.float64)
    f = c.intensity * (1.0 + c.boost * np.exp(-np.maximum(since, 0) / c.decay_days))
    if c.ramp_up_days > 0:
        f = f * np.clip((since + 1) / c.ramp_up_days, 0.0, 1.0)
    f = f[None, :]
    if phase is not None:
        # A visit on days start + phase + k x interval, k >= 0: compared by remainders,
        # (days - start) % interval == phase % interval, rather than per facility and day.
        phase = np.asarray(phase, dtype=np.int64)
        since_start = days - start
        visit = (since_start % c.visit_interval_days)[None, :] == (phase % c.visit_interval_days)[
            :, None
        ]
        visit &= since_start[None, :] >= phase[:, None]
        f = f * np.where(visit, c.visit_multiplier, 1.0)
    return np.where((days >= start) & (days < end), f, 1.0)


def daily_rates(scenario: Scenario, span: Span, status: int, n_days: int, phases) -> np.ndarray:
    """Day term of the hazard of applying under one regime for people holding `status`,
    shape (facilities or 1, n_days): baseline x campaigns reaching the status x the
    appeal of the regime's offer (sign-up bonus until its end date; perceived risk learned
    since the regime's start). Both engines take the hazard from here."""
    rates, row_of = distinct_daily_rates(scenario, span, status, n_days, phases)
    return rates if row_of is None else rates[row_of]


def distinct_daily_rates(
    scenario: Scenario, span: Span, status: int, n_days: int, phases
) -> tuple[np.ndarray, np.ndarray | None]:
    """`daily_rates` as its distinct rows and each facility's row among them (None: one row
    for all). Facilities with the same visit days share a row, computed once with the same
    arithmetic, so `rates[row_of]` is `daily_rates` to the last bit."""
    params = scenario.population
    _rid, regime, start, _end = span
    days = np.arange(n_days)
    reaching = [cid for cid, c in params.campaigns.items() if STATUSES[status] in c.statuses]
    visiting = [cid for cid in reaching if cid in phases]
    row_of = None
    if visiting:
        distinct, row_of = np.unique(
            np.stack([phases[cid] for cid in visiting], axis=1), axis=0, return_inverse=True
        )
        row_of = row_of.reshape(-1)
        phases = {cid: distinct[:, k] for k, cid in enumerate(visiting)}
    rates = np.full((1, n_days), params.volunteering.baseline_per_day)
    for cid in reaching:
        c = params.campaigns[cid]
        c_start = (c.start_date - scenario.scenario.start_date).days
        c_end = scenario.day_of(c.end_date)
        c_end = int(NEVER) if c_end is None else c_end
        rates = rates * campaign_factor(c, c_start, c_end, days, phases.get(cid))
    resp = response(params)
    appeal = vol.appeal(offer(regime), resp, days - start)
    bonus_end = scenario.day_of(regime.signup_bonus_end_date)
    if bonus_end is not None and regime.signup_bonus_wages > 0:
        without = vol.appeal(offer(regime, with_bonus=False), resp, days - start)
        appeal = np.where(days < bonus_end, appeal, without)
    return rates * appeal[None, :], row_of


# ---------------------------------------------------------------------- screening


def health_rejected(regime: Regime, infectious, fitness):
    """Who fails the medical part of screening (infection carriers, low fitness)."""
    rejected = fitness < regime.min_fitness
    if regime.excludes_infectious_carriers:
        rejected |= infectious
    return rejected


def screening_rejected(regime: Regime, infectious, fitness, u_psych, u_poly, u_cmd):
    """Who fails screening: health (infection, fitness), psychological, polygraph, commander;
    the `u_*` are the uniforms each person draws for the three checks."""
    rejected = health_rejected(regime, infectious, fitness)
    rejected |= u_psych < regime.psych_reject_prob
    rejected |= u_poly < regime.polygraph_reject_prob
    rejected |= u_cmd < regime.commander_refusal_prob
    return rejected


# ---------------------------------------------------------------------- service


def service_end_under(regime: Regime, contract_day, age0, war_end: int):
    """Service end by the terms of `regime`: fixed term, war end (demobilisation, see
    `war_days`) or age limit, whichever comes first, but not before the contract."""
    end = np.minimum(war_end, NEVER)
    if regime.contract == "fixed":
        end = np.minimum(end, contract_day + regime.contract_days)
    end = np.minimum(end, age_day(age0, regime.max_service_age_years))
    return np.maximum(end, contract_day)


def overriding_regimes(spans: list[Span], r_idx: int) -> list[Span]:
    """Regimes after `spans[r_idx]` that change the terms of contracts already running."""
    return [sp for sp in spans[r_idx + 1 :] if sp[1].overrides_existing_contracts]


def service_end(spans: list[Span], r_idx: int, contract_day, age0, war_end: int, app_status):
    """Service end of contracts signed under `spans[r_idx]`, changed by later regimes that
    override running contracts for the legal status held at application (`app_status`
    is needed only when `overriding_regimes` is not empty)."""
    end = service_end_under(spans[r_idx][1], contract_day, age0, war_end)
    for _rid, later, start, _end in overriding_regimes(spans, r_idx):
        covered = np.isin(app_status, [STATUS_CODE[s] for s in later.statuses])
        running = covered & (contract_day < start) & (end > start)
        new_end = np.maximum(service_end_under(later, contract_day, age0, war_end), start)
        end = np.where(running, new_end, end)
    return end


# ---------------------------------------------------------------------- custody afterwards


def custody_end(day, custody_days):
    """Last day of custody that starts on `day` and lasts `custody_days` (capped at NEVER)."""
    return np.minimum(day + custody_days, NEVER)


def deserter_custody_days(sentence_end, contract_day, added_days):
    """Custody of a deserter caught: the sentence unserved at the contract (life stays
    life) plus the time added for desertion."""
    remaining = np.where(sentence_end >= NEVER, NEVER, np.maximum(sentence_end - contract_day, 0))
    return remaining + added_days
