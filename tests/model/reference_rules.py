"""The eligibility rules as numpy code over whole arrays, as `sim.model.rules` stated them
until they became compiled per-person helpers (`rules._segment_of`, `rules._admitted`,
`rules._personal_window_of`): the oracle that tests/model/test_rules.py compares the
compiled rules with, bit for bit."""

from __future__ import annotations

import numpy as np

from sim.model.taxonomy import (
    CONVICTED,
    DAYS_PER_YEAR,
    DEFENDANT,
    NEVER,
    OFFENCE_CODE,
    PRETRIAL,
    SUSPECT,
)


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
