"""The law's eligibility windows, stated for one person and compiled: who holds a status in
custody when (`status_segment`), whom a regime's fixed exclusions rule out
(`not_excluded`), what a person's own limits leave (`personal_window`, `age_day`), and
all of them at once over a block of people (`eligibility_window`); for people back in
custody, the status on their case's path (`status_interval`), when a regime takes them
again (`reapply_from`), and their windows (`later_window`).

Part of `sim.model.rules` (which re-exports these names; both engines call them from
there). Each rule is a helper for one person (`sim.jit.helper`), compiled into the kernels
that apply it to arrays, so the numpy functions here, a Mesa agent's scalar call and the
one-pass `eligibility_window` all run the same statement of the law.
"""

from __future__ import annotations

import numpy as np

from ..jit import helper, kernel
from ..scenario import Regime
from .population import Population
from .taxonomy import CONVICTED, DAYS_PER_YEAR, DEFENDANT, NEVER, OFFENCE_CODE, PRETRIAL, SUSPECT


def age_day(age0, age_years: float):
    """First day on which people aged `age0` at day 0 are at least `age_years` old."""
    age0 = np.asarray(age0, dtype=np.float64)
    out = np.empty(age0.shape, dtype=np.int32)
    _age_days_into(age0.ravel(), float(age_years), out.reshape(-1))
    return out


@helper(inline=True)
def _age_day_of(age0, age_years):
    """`age_day` for one person (`age0` a float, in years)."""
    return np.int32(np.ceil((age_years - np.float64(age0)) * DAYS_PER_YEAR))


@kernel
def _age_days_into(age0, age_years, out):
    """`age_day` of each of `age0` into `out`."""
    for i in range(age0.size):
        out[i] = _age_day_of(age0[i], age_years)


def status_segment(pop: Population, status: int) -> tuple[np.ndarray, np.ndarray]:
    """Days [lo, hi) during which each person is in custody with `status` (lo >= hi: never);
    the intervals over which `status_on` is `status` while custody lasts."""
    lo, hi = np.empty(pop.n, dtype=np.int32), np.empty(pop.n, dtype=np.int32)
    _segments_into(status, _case_path(pop), lo, hi)
    return lo, hi


def _case_path(pop: Population) -> tuple[np.ndarray, ...]:
    """The columns a person's custody and legal status follow from, for the kernels:
    status on entry, admission day, investigation end, trial end, sentence end."""
    return pop.status0, pop.admit_day, pop.investigation_end, pop.trial_end, pop.sentence_end


@helper(inline=True)
def _segment_of(status, status0, start, investigation_end, trial_end, sentence_end):
    """`status_segment` of one person: (lo, hi), custody from day `start`."""
    if status == SUSPECT:
        lo = start if status0 == SUSPECT else NEVER
        hi = investigation_end
    elif status == DEFENDANT:
        in_case = status0 == SUSPECT or status0 == DEFENDANT
        lo = max(start, investigation_end) if in_case else NEVER
        hi = trial_end
    elif status == PRETRIAL:
        lo = start if status0 == PRETRIAL else NEVER
        hi = trial_end
    else:
        lo = max(start, trial_end)
        hi = sentence_end
    return lo, min(hi, sentence_end)


@kernel
def _segments_into(status, case, lo, hi):
    """`status_segment` person by person into `lo`, `hi` (custody from admission or day 0)."""
    status0, admit_day, investigation_end, trial_end, sentence_end = case
    for i in range(status0.size):
        lo[i], hi[i] = _segment_of(
            status,
            status0[i],
            max(admit_day[i], 0),
            investigation_end[i],
            trial_end[i],
            sentence_end[i],
        )


def exclusions(regime: Regime) -> tuple[np.ndarray, bool, bool, bool, bool]:
    """A regime's fixed exclusions as numbers for the compiled rules: whether each offence
    code is excluded, and whether former officials, life sentences, men and women are
    admitted."""
    excluded = np.zeros(len(OFFENCE_CODE), dtype=np.bool_)  # by offence code
    excluded[[OFFENCE_CODE[o] for o in regime.excluded_offences]] = True
    either = not ({"male", "female"} - set(regime.sexes))
    return (
        excluded,
        bool(regime.admits_former_officials),
        bool(regime.admits_life_sentences),
        either or "male" in regime.sexes,
        either or "female" in regime.sexes,
    )


def not_excluded(regime: Regime, offence, former_official, sentence_end, male):
    """Whom no fixed exclusion of the regime rules out: offence, former high office, life
    sentence (`sentence_end` NEVER), sex."""
    arrays = np.broadcast_arrays(offence, former_official, sentence_end, male)
    out = np.empty(arrays[0].shape, dtype=bool)
    flat = [np.ascontiguousarray(a).reshape(-1) for a in arrays]
    _not_excluded_into(*exclusions(regime), *flat, out.reshape(-1))
    return out


@helper(inline=True)
def _admitted(excluded, officials, life, men, women, offence, former_official, sentence_end, male):
    """`not_excluded` for one person, the regime's `exclusions` given."""
    if excluded[offence]:
        return False
    if former_official and not officials:
        return False
    if sentence_end == NEVER and not life:
        return False
    return men if male else women


@kernel
def _not_excluded_into(excluded, officials, life, men, women, offence, former, end, male, out):
    """`not_excluded` person by person into `out`."""
    for i in range(out.size):
        out[i] = _admitted(
            excluded, officials, life, men, women, offence[i], former[i], end[i], male[i]
        )


def _slots(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Room for up to `n` windows: rows (int64), first and last days (int32)."""
    return np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)


def _filled(count: int, slots: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `count` windows a kernel wrote into `slots`, as arrays of their own."""
    rows, lo, hi = (a[:count].copy() for a in slots)
    return rows, lo, hi


def _traits(pop: Population) -> tuple[np.ndarray, ...]:
    """The columns the exclusions and personal limits read, for the kernels: offence,
    former official, male, age at day 0."""
    return pop.offence, pop.former_official, pop.male, pop.age0


def _limits(regime: Regime, status: int) -> tuple[float, float, int]:
    """A regime's personal limits for `status`, for the kernels: youngest and oldest age
    (years), most days of sentence left (-1: no limit)."""
    return (
        float(regime.min_age_years),
        float(regime.max_age_years),
        _remaining_limit(regime, status),
    )


def _remaining_limit(regime: Regime, status: int) -> int:
    """Most days of sentence left that `regime` admits for `status` (-1: no limit)."""
    if status == CONVICTED and regime.max_remaining_sentence_days is not None:
        return int(regime.max_remaining_sentence_days)
    return -1


def personal_window(regime: Regime, status: int, sentence_end, age0):
    """Days [lo, hi) that a person's own limits leave for applying under the regime: old
    enough and not too old, and for convicts no more than the limit left to serve."""
    end, age = np.broadcast_arrays(sentence_end, np.asarray(age0, dtype=np.float64))
    lo, hi = np.empty(end.shape, dtype=np.int64), np.empty(end.shape, dtype=np.int64)
    _personal_windows_into(
        *_limits(regime, status),
        np.ascontiguousarray(end).reshape(-1),
        np.ascontiguousarray(age).reshape(-1),
        lo.reshape(-1),
        hi.reshape(-1),
    )
    return lo, hi


@helper(inline=True)
def _personal_window_of(min_age, max_age, remaining_limit, sentence_end, age0):
    """`personal_window` of one person (`remaining_limit` -1: none)."""
    lo = _age_day_of(age0, min_age)
    hi = _age_day_of(age0, max_age)
    if remaining_limit >= 0:
        lo = max(lo, sentence_end - remaining_limit)
    return lo, hi


@kernel
def _personal_windows_into(min_age, max_age, remaining_limit, sentence_end, age0, lo, hi):
    """`personal_window` person by person into `lo`, `hi`."""
    for i in range(lo.size):
        lo[i], hi[i] = _personal_window_of(
            min_age, max_age, remaining_limit, sentence_end[i], age0[i]
        )


def eligibility_window(
    regime: Regime,
    status: int,
    pop: Population,
    start_day: int,
    end_day: int,
    among: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People eligible under `regime` while holding `status`, and their [lo, hi) days:
    in custody with the status (`status_segment`), not excluded (`not_excluded`), within
    their own limits (`personal_window`), while the regime is in force.

    `start_day`/`end_day` bound the regime's period in force (clipped to the horizon);
    `among` optionally restricts the candidates (a boolean mask, e.g. not yet applied).
    One compiled pass over the people, the same rules person by person.

    Returns:
        Row numbers of the eligible (int64, increasing), and their first and last days
        (int32; [lo, hi), lo < hi).
    """
    idx, lo, hi = slots = _slots(pop.n)
    count = _windows_into(
        status,
        _case_path(pop),
        _traits(pop),
        np.ones(1, dtype=bool) if among is None else among,
        among is not None,
        exclusions(regime),
        _limits(regime, status),
        int(start_day),
        int(end_day),
        idx,
        lo,
        hi,
    )
    return _filled(count, slots)


@kernel
def _windows_into(
    status, case, traits, among, use_among, excluded, limits, start_day, end_day, idx, lo, hi
):
    """`eligibility_window` person by person: the eligible's rows and days into `idx`,
    `lo`, `hi`; returns how many."""
    status0, admit_day, investigation_end, trial_end, sentence_end = case
    offence, former_official, male, age0 = traits
    count = 0
    for i in range(status0.size):
        if use_among and not among[i]:
            continue
        end = sentence_end[i]
        seg_lo, seg_hi = _segment_of(
            status, status0[i], max(admit_day[i], 0), investigation_end[i], trial_end[i], end
        )
        if not _meets(seg_lo, seg_hi, start_day, end_day):
            continue
        first, last = _window_left(
            excluded, limits, offence[i], former_official[i], male[i], age0[i], end,
            seg_lo, seg_hi, start_day, end_day,
        )  # fmt: skip
        if first < last:
            idx[count], lo[count], hi[count] = i, first, last
            count += 1
    return count


@helper(inline=True)
def _meets(first, last, start_day, end_day):
    """Whether days [first, last) (a status held in custody) are some days at all and
    meet a regime's period in force [start_day, end_day): if not, the person has no window
    and the rest of the rules need not be read (`_window_left` would find none)."""
    return first < last and first < end_day and last > start_day


@helper(inline=True)
def _window_left(
    excluded, limits, offence, former_official, male, age0, end, first, last, start_day, end_day
):
    """What a regime leaves of a person's days [first, last) with a status: nothing if a
    fixed exclusion rules them out (`_admitted`, custody ending on `end`), else the days
    within its period in force [start_day, end_day) and their own limits
    (`_personal_window_of`). Returns (first, last); first >= last: no window."""
    offences, officials, life, men, women = excluded
    min_age, max_age, remaining_limit = limits
    if not _admitted(offences, officials, life, men, women, offence, former_official, end, male):
        return np.int64(0), np.int64(0)
    own_lo, own_hi = _personal_window_of(min_age, max_age, remaining_limit, end, age0)
    return np.int64(max(max(first, start_day), own_lo)), np.int64(min(min(last, end_day), own_hi))


# ---------------------------------------------------------------------- later rounds


def status_interval(pop: Population, ids: np.ndarray, status: int):
    """Days [lo, hi) during which people `ids` hold `status` by their case's path, whether
    in custody or not (`status_on` over all days; lo >= hi: never)."""
    ids = np.asarray(ids, dtype=np.int64)
    lo, hi = np.empty(len(ids), dtype=np.int64), np.empty(len(ids), dtype=np.int64)
    _intervals_into(status, _case_path(pop), ids, lo, hi)
    return lo, hi


@helper(inline=True)
def _interval_of(status, status0, investigation_end, trial_end):
    """`status_interval` of one person: (lo, hi), int64."""
    before = np.int64(-NEVER)
    never = np.int64(NEVER)
    if status == SUSPECT:
        lo = before if status0 == SUSPECT else never
        hi = np.int64(investigation_end)
    elif status == DEFENDANT:
        in_case = status0 == SUSPECT or status0 == DEFENDANT
        lo = (np.int64(investigation_end) if status0 == SUSPECT else before) if in_case else never
        hi = np.int64(trial_end)
    elif status == PRETRIAL:
        lo = before if status0 == PRETRIAL else never
        hi = np.int64(trial_end)
    else:
        lo = max(np.int64(trial_end), before)
        hi = never
    return lo, hi


@kernel
def _intervals_into(status, case, ids, lo, hi):
    """`status_interval` of people `ids` into `lo`, `hi`."""
    status0, _admit_day, investigation_end, trial_end, _sentence_end = case
    for i in range(ids.size):
        p = ids[i]
        lo[i], hi[i] = _interval_of(status, status0[p], investigation_end[p], trial_end[p])


def _reapply_terms(regime: Regime) -> tuple[int, bool]:
    """The numbers `_reapply_from_of` takes from a regime: the wait after a refusal (-1:
    no re-application) and whether former recruits are admitted."""
    wait = regime.reapply_wait_days
    return (-1 if wait is None else int(wait)), bool(regime.admits_former_recruits)


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
    former, refused = np.broadcast_arrays(
        np.asarray(former_recruit, dtype=bool), np.asarray(refused_day, dtype=np.int64)
    )
    out = np.empty(former.shape, dtype=np.int64)
    flat = [np.ascontiguousarray(a).reshape(-1) for a in (former, refused)]
    _reapply_from_into(*_reapply_terms(regime), *flat, out.reshape(-1))
    return out


@helper(inline=True)
def _reapply_from_of(wait, admits_former, former_recruit, refused_day):
    """`reapply_from` of one person (`wait` -1: the regime takes no re-application)."""
    refused = refused_day < NEVER
    if refused and wait < 0:
        return np.int64(NEVER)
    if former_recruit and not admits_former:
        return np.int64(NEVER)
    if refused:
        return np.int64(refused_day + wait)
    return np.int64(0)


@kernel
def _reapply_from_into(wait, admits_former, former_recruit, refused_day, out):
    """`reapply_from` person by person into `out`."""
    for i in range(out.size):
        out[i] = _reapply_from_of(wait, admits_former, former_recruit[i], refused_day[i])


def later_window(
    regime: Regime,
    status: int,
    pop: Population,
    spell: tuple[np.ndarray, np.ndarray, np.ndarray],
    start_day: int,
    end_day: int,
    former_recruits: np.ndarray,
    refused_day: np.ndarray,
    among: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`eligibility_window` for people back in custody (a spell [lo, hi) of custody after an
    earlier application): who may apply again under `regime` with `status`, and when.

    Former recruits only if the regime admits them; after a refusal only if the regime
    takes re-applications, no sooner than its wait (`reapply_wait_days`). One compiled
    pass over the spell, the rules person by person.

    Args:
        regime: The regime in force.
        status: Legal status code.
        pop: The population.
        spell: (people, first day back in custody, day custody ends).
        start_day, end_day: The regime's period in force, clipped to the horizon.
        former_recruits: Whether each person signed a contract before.
        refused_day: Day of each person's last refusal (NEVER: not refused).
        among: Optionally, which of the spell's people are candidates (a boolean mask,
            e.g. not yet applied in this round).

    Returns:
        Positions in the spell arrays of those eligible, and their [lo, hi) days.
    """
    ids, spell_lo, spell_hi = (np.asarray(a, dtype=np.int64) for a in spell)
    pos, lo, hi = slots = _slots(len(ids))
    count = _later_windows_into(
        status,
        _case_path(pop),
        _traits(pop),
        (ids, spell_lo, spell_hi),
        np.asarray(former_recruits, dtype=bool),
        np.asarray(refused_day, dtype=np.int64),
        np.ones(1, dtype=bool) if among is None else among,
        among is not None,
        _reapply_terms(regime),
        exclusions(regime),
        _limits(regime, status),
        int(start_day),
        int(end_day),
        pos,
        lo,
        hi,
    )
    return _filled(count, slots)


@kernel
def _later_windows_into(
    status, case, traits, spell, former, refused, among, use_among, reapply, excluded, limits,
    start_day, end_day, pos, lo, hi,
):  # fmt: skip
    """`later_window` person by person: the eligible's positions and days into `pos`, `lo`,
    `hi`; returns how many."""
    status0, _admit_day, investigation_end, trial_end, _sentence_end = case
    offence, former_official, male, age0 = traits
    ids, spell_lo, spell_hi = spell
    wait, admits_former = reapply
    count = 0
    for i in range(ids.size):
        if use_among and not among[i]:
            continue
        p = ids[i]
        first, last = _interval_of(status, status0[p], investigation_end[p], trial_end[p])
        first, last = max(first, spell_lo[i]), min(last, spell_hi[i])
        if not _meets(first, last, start_day, end_day):
            continue
        earliest = _reapply_from_of(wait, admits_former, former[i], refused[i])
        if earliest >= NEVER:
            continue
        first = max(first, earliest)
        first, last = _window_left(
            excluded, limits, offence[p], former_official[p], male[p], age0[p], spell_hi[i],
            first, last, start_day, end_day,
        )  # fmt: skip
        if first < last:
            pos[count], lo[count], hi[count] = i, first, last
            count += 1
    return count
