"""The eligibility rules (first and later rounds) as numpy code over whole arrays, as
`sim.model.rules` stated them until they became compiled per-person helpers
(`sim.model.windows`): the oracle that tests/model/test_windows.py compares the
compiled rules with, bit for bit."""

from __future__ import annotations

import numpy as np

from sim.model.population import Population
from sim.model.taxonomy import (
    CONVICTED,
    DAYS_PER_YEAR,
    DEFENDANT,
    NEVER,
    OFFENCE_CODE,
    PRETRIAL,
    SUSPECT,
)
from sim.scenario import Regime


def age_day(age0, age_years):
    age0 = np.asarray(age0, dtype=np.float64)
    return np.ceil((age_years - age0) * DAYS_PER_YEAR).astype(np.int32)


def status_segment(pop, status):
    start = np.maximum(pop.admit_day, 0)
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


def not_excluded(regime, offence, former_official, sentence_end, male):
    ok = np.ones(np.shape(offence), dtype=bool)
    if regime.excluded_offences:
        excluded = np.zeros(len(OFFENCE_CODE), dtype=bool)
        excluded[[OFFENCE_CODE[o] for o in regime.excluded_offences]] = True
        ok &= ~excluded[offence]
    if not regime.admits_former_officials:
        ok &= ~np.asarray(former_official, dtype=bool)
    if not regime.admits_life_sentences:
        ok &= np.asarray(sentence_end) != NEVER
    if {"male", "female"} - set(regime.sexes):
        ok &= np.where(male, "male" in regime.sexes, "female" in regime.sexes)
    return ok


def personal_window(regime, status, sentence_end, age0):
    lo = age_day(age0, regime.min_age_years)
    hi = age_day(age0, regime.max_age_years)
    if status == CONVICTED and regime.max_remaining_sentence_days is not None:
        lo = np.maximum(lo, np.asarray(sentence_end) - regime.max_remaining_sentence_days)
    return lo, hi


def eligibility_window(regime, status, pop, start_day, end_day, among=None):
    seg_lo, seg_hi = status_segment(pop, status)
    ok = (seg_lo < end_day) & (seg_hi > start_day) & (seg_lo < seg_hi)
    if among is not None:
        ok &= among
    ok &= not_excluded(regime, pop.offence, pop.former_official, pop.sentence_end, pop.male)
    idx = np.flatnonzero(ok)
    own_lo, own_hi = personal_window(regime, status, pop.sentence_end[idx], pop.age0[idx])
    lo = np.maximum(np.maximum(seg_lo[idx], start_day), own_lo)
    hi = np.minimum(np.minimum(seg_hi[idx], end_day), own_hi)
    keep = lo < hi
    return idx[keep], lo[keep].astype(np.int32), hi[keep].astype(np.int32)


def status_interval(pop: Population, ids: np.ndarray, status: int):
    """Days [lo, hi) during which people `ids` hold `status` by their case's path, whether
    in custody or not (`status_on` over all days; lo >= hi: never)."""
    s0, inv, trial = pop.status0[ids], pop.investigation_end[ids], pop.trial_end[ids]
    before = np.full(len(ids), -int(NEVER), dtype=np.int64)
    if status == SUSPECT:
        lo, hi = np.where(s0 == SUSPECT, before, NEVER), inv
    elif status == DEFENDANT:
        in_case = (s0 == SUSPECT) | (s0 == DEFENDANT)
        lo = np.where(in_case, np.where(s0 == SUSPECT, inv, before), NEVER)
        hi = trial
    elif status == PRETRIAL:
        lo, hi = np.where(s0 == PRETRIAL, before, NEVER), trial
    else:
        lo, hi = np.maximum(trial, before), np.full(len(ids), NEVER, dtype=np.int64)
    return lo.astype(np.int64), hi.astype(np.int64)


def reapply_from(regime: Regime, former_recruit, refused_day):
    """Earliest day someone back in custody may apply again under `regime` (NEVER: not at
    all): former recruits only if the regime admits them; after a refusal only if it takes
    re-applications, once its wait (`reapply_wait_days`) is over. Scalars or arrays.

    Args:
        regime: The regime in force.
        former_recruit: Whether the person signed a contract before.
        refused_day: Day of the person's last refusal (NEVER: not refused).

    Returns:
        The earliest day (int64), 0 when only the eligibility window limits it.
    """
    refused_day = np.asarray(refused_day, dtype=np.int64)
    refused = refused_day < NEVER
    wait = regime.reapply_wait_days
    earliest = np.where(refused, refused_day + (0 if wait is None else wait), 0)
    barred = refused if wait is None else np.zeros_like(refused)
    if not regime.admits_former_recruits:
        barred = barred | np.asarray(former_recruit, dtype=bool)
    return np.where(barred, np.int64(NEVER), earliest)


def later_window(
    regime: Regime,
    status: int,
    pop: Population,
    spell: tuple[np.ndarray, np.ndarray, np.ndarray],
    start_day: int,
    end_day: int,
    former_recruits: np.ndarray,
    refused_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`eligibility_window` for people back in custody (a spell [lo, hi) of custody after an
    earlier application): who may apply again under `regime` with `status`, and when.

    Former recruits only if the regime admits them; after a refusal only if the regime
    takes re-applications, no sooner than its wait (`reapply_wait_days`).

    Args:
        regime: The regime in force.
        status: Legal status code.
        pop: The population.
        spell: (people, first day back in custody, day custody ends).
        start_day, end_day: The regime's period in force, clipped to the horizon.
        former_recruits: Whether each person signed a contract before.
        refused_day: Day of each person's last refusal (NEVER: not refused).

    Returns:
        Positions in the spell arrays of those eligible, and their [lo, hi) days.
    """
    ids, spell_lo, spell_hi = spell
    lo, hi = status_interval(pop, ids, status)
    lo, hi = np.maximum(lo, spell_lo), np.minimum(hi, spell_hi)
    ok = (lo < end_day) & (hi > start_day) & (lo < hi)
    earliest = reapply_from(regime, former_recruits, refused_day)
    ok &= earliest < NEVER
    lo = np.maximum(lo, earliest)
    ok &= not_excluded(regime, pop.offence[ids], pop.former_official[ids], spell_hi, pop.male[ids])
    idx = np.flatnonzero(ok)
    own_lo, own_hi = personal_window(regime, status, spell_hi[idx], pop.age0[ids[idx]])
    lo = np.maximum(np.maximum(lo[idx], start_day), own_lo)
    hi = np.minimum(np.minimum(hi[idx], end_day), own_hi)
    keep = lo < hi
    return idx[keep], lo[keep].astype(np.int32), hi[keep].astype(np.int32)
