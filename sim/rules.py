"""Eligibility rules of a regime, as vectorised interval arithmetic over people.

A person is eligible under a regime on day d when the regime is in force for the legal
status the person holds on d, no exclusion applies (offence, former office, life sentence,
sex), the remaining sentence is within the regime's limit, and the age is within limits.
For each person this is one interval of days [lo, hi) per (status, regime) pair, which the
vector engine uses to schedule applications; the Mesa engine states the same rules per day.
"""

from __future__ import annotations

import numpy as np

from .population import DAYS_PER_YEAR, NEVER, Population
from .scenario import Regime
from .taxonomy import CONVICTED, DEFENDANT, OFFENCE_CODE, PRETRIAL, SEXES, SUSPECT

# The order in which one person can hold statuses; windows are processed in this order.
STATUS_ORDER = (SUSPECT, DEFENDANT, PRETRIAL, CONVICTED)


def status_segment(pop: Population, status: int) -> tuple[np.ndarray, np.ndarray]:
    """Days [lo, hi) during which each person is in custody with `status` (lo >= hi: never)."""
    start = pop.custody_start
    if status == SUSPECT:
        lo = np.where(pop.status0 == SUSPECT, start, NEVER)
        hi = pop.investigation_end
    elif status == DEFENDANT:
        in_case = (pop.status0 == SUSPECT) | (pop.status0 == DEFENDANT)
        lo = np.where(in_case, np.maximum(start, pop.investigation_end), NEVER)
        hi = pop.trial_end
    elif status == PRETRIAL:
        lo = np.where(pop.status0 == PRETRIAL, start, NEVER)
        hi = pop.trial_end
    else:
        lo = np.maximum(start, pop.trial_end)
        hi = pop.sentence_end
    return lo.astype(np.int32), np.minimum(hi, pop.sentence_end).astype(np.int32)


def not_excluded(regime: Regime, pop: Population) -> np.ndarray:
    """People whom no fixed exclusion of the regime rules out (offence, office, life, sex)."""
    ok = np.ones(pop.n, dtype=bool)
    if regime.excluded_offences:
        codes = np.array([OFFENCE_CODE[o] for o in regime.excluded_offences], dtype=np.uint8)
        ok &= ~np.isin(pop.offence, codes)
    if not regime.admits_former_officials:
        ok &= ~pop.former_official
    if not regime.admits_life_sentences:
        ok &= pop.sentence_end != NEVER
    if set(regime.sexes) != set(SEXES):
        ok &= pop.male if regime.sexes == ["male"] else ~pop.male
    return ok


def age_day(age0: np.ndarray, age_years: float) -> np.ndarray:
    """First day on which people aged `age0` at day 0 are at least `age_years` old."""
    return np.ceil((age_years - age0.astype(np.float64)) * DAYS_PER_YEAR).astype(np.int32)


def eligibility_window(
    regime: Regime,
    status: int,
    pop: Population,
    start_day: int,
    end_day: int,
    among: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People eligible under `regime` while holding `status`, and their [lo, hi) days.

    `start_day`/`end_day` bound the regime's period in force (clipped to the horizon);
    `among` optionally restricts the candidates (a boolean mask, e.g. not yet applied).
    """
    seg_lo, seg_hi = status_segment(pop, status)
    ok = (seg_lo < end_day) & (seg_hi > start_day) & (seg_lo < seg_hi)
    if among is not None:
        ok &= among
    ok &= not_excluded(regime, pop)
    idx = np.flatnonzero(ok)
    lo = np.maximum(seg_lo[idx], start_day)
    hi = np.minimum(seg_hi[idx], end_day)
    if status == CONVICTED and regime.max_remaining_sentence_days is not None:
        # Eligible once no more than the limit is left to serve.
        lo = np.maximum(lo, pop.sentence_end[idx] - regime.max_remaining_sentence_days)
    age0 = pop.age0[idx]
    lo = np.maximum(lo, age_day(age0, regime.min_age_years))
    hi = np.minimum(hi, age_day(age0, regime.max_age_years))
    keep = lo < hi
    return idx[keep], lo[keep].astype(np.int32), hi[keep].astype(np.int32)


def health_rejected(regime: Regime, infectious: np.ndarray, fitness: np.ndarray) -> np.ndarray:
    """Who fails the medical part of screening (infection carriers, low fitness)."""
    rejected = fitness < regime.min_fitness
    if regime.excludes_infectious_carriers:
        rejected |= infectious
    return rejected


def screening_rejected(
    regime: Regime, infectious: np.ndarray, fitness: np.ndarray, u_psych, u_poly, u_cmd
) -> np.ndarray:
    """Who fails screening: health (infection, fitness), psychological, polygraph, commander."""
    rejected = health_rejected(regime, infectious, fitness)
    rejected |= u_psych < regime.psych_reject_prob
    rejected |= u_poly < regime.polygraph_reject_prob
    rejected |= u_cmd < regime.commander_refusal_prob
    return rejected


def sentence_factor(regime: Regime, sentence_years: np.ndarray) -> np.ndarray:
    """Propensity multiplier from the sentence imposed (longer sentence, stronger pull)."""
    years = np.clip(np.nan_to_num(sentence_years, posinf=25.0), 0.25, 25.0)
    return (years / 5.0) ** regime.sentence_elasticity
