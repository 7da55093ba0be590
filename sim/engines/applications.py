"""Vector engine, who applies and when: application days in each eligibility window.

Helpers of `sim.engines.vector`'s `apply` (a block of people at a time) and `reapply`
(people back in custody): the eligibility window from the law (`sim.model.rules`), the
person term of the hazard, and the first passage of the cumulative hazard
(`sim.engines.first_passage`); the eligible stock is counted per window. Also the
ordinary custody path of a block (`count_custody`) and the hazard tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..model import rules
from ..model.population import Population
from ..model.random import Streams
from ..model.taxonomy import INCARCERATED, NEVER, RELEASED, STATUSES
from .first_passage import first_day_at_least

if TYPE_CHECKING:
    from .ledger import Ledger
    from .vector import Run


def count_custody(ledger: Ledger, block: Population, applies: np.ndarray) -> None:
    """The ordinary custody path of a block of people, into `ledger`: admissions, custody
    from day 0 or admission, and release at sentence end for those who never apply (the
    applicants' custody ends where the pipeline says)."""
    admitted = block.admit_day[block.admit_day >= 0]
    ledger.count(admitted, "admissions")
    never = np.flatnonzero(~applies)
    release = block.sentence_end[never]
    ledger.move(release, INCARCERATED, RELEASED, "sentence_releases", grouped=True)
    end = np.where(applies, NEVER, block.sentence_end)
    ledger.stay(block, block.custody_start, end)


def schedule(
    run: Run,
    pop: Population,
    draws: Streams,
    status: int,
    r_idx: int,
    app_day: np.ndarray,
    app_regime: np.ndarray,
    eligible_delta: np.ndarray,
) -> None:
    """Application days of people of `pop` (a block) eligible under one regime while
    holding one status.

    Updates `app_day`, `app_regime` (per row of `pop`) and the eligible-stock deltas
    `eligible_delta` (by day; the block's own, so blocks can be worked in threads). People
    who applied in an earlier window are no longer candidates.
    """
    n_days = run.n_days
    rid, _regime, start, end = span = run.spans[r_idx]
    idx, lo, hi = rules.eligibility_window(
        span[1], status, pop, start, min(end, n_days), among=app_day == NEVER
    )
    if len(idx) == 0:
        return
    name = f"apply.{rid}.{STATUSES[status]}"
    day = _first_application_day(
        run, pop, draws, name, r_idx, status, idx, pop.sentence_end[idx], lo, hi, eligible_delta
    )
    applied = day < hi
    app_day[idx[applied]] = day[applied]
    app_regime[idx[applied]] = r_idx


def open_regimes(run: Run, spell) -> list[int]:
    """Positions in `run.spans` of the regimes that may take back some of the people of
    `spell` (in force while they are back; re-applications or former recruits)."""
    _ids, day_back, _end, former, refused = spell
    was_refused, first_back = (refused < NEVER).any(), int(day_back.min())
    return [
        r_idx
        for r_idx, (_rid, regime, start, stop) in enumerate(run.spans)
        if stop > first_back
        and start < run.n_days
        and rules.takes_back(regime, refused=was_refused, former=former.any())
    ]


def schedule_again(run: Run, status: int, r_idx: int, spell, app_day, app_regime) -> None:
    """Application days of people back in custody (`spell`: people, day back, custody end,
    former recruit, day refused) under one regime while holding one status; updates
    `app_day`, `app_regime` (per spell row) and the eligible-stock deltas. Draws come from
    round-specific streams."""
    pop, n_days = run.pop, run.n_days
    ids, day_back, end, former, refused = spell
    rid, regime, start, stop_day = run.spans[r_idx]
    pos, lo, hi = rules.later_window(
        regime,
        status,
        pop,
        (ids, day_back, end),
        start,
        min(stop_day, n_days),
        former,
        refused,
        among=app_day == NEVER,
    )
    if len(pos) == 0:
        return
    name = f"apply.{rid}.{STATUSES[status]}.r{run.round}"
    day = _first_application_day(
        run, pop, run.streams, name, r_idx, status, ids[pos], end[pos], lo, hi, run.eligible_delta
    )
    applied = day < hi
    app_day[pos[applied]] = day[applied]
    app_regime[pos[applied]] = r_idx


def _first_application_day(
    run: Run,
    pop: Population,
    draws: Streams,
    name: str,
    r_idx: int,
    status: int,
    idx,
    custody_end,
    lo,
    hi,
    eligible_delta: np.ndarray,
) -> np.ndarray:
    """Day each person `idx` of `pop`, eligible over days [lo, hi) under a regime with a
    status, applies (a day >= hi: not in the window), drawing from the stream `name`; and
    the window counted in the eligible stock's changes by day `eligible_delta` (until the
    application, if any)."""
    n_days = run.n_days
    cum, row_of = run.hazard(r_idx, status)
    if cum[:, -1].any():
        climate = pop.facility_climate[pop.facility[idx]]
        years = rules.custody_avoided_years(status, custody_end, pop.sentence_years[idx], lo)
        person = rules.person_factor(run.scenario.population, pop.motivation[idx], climate, years)
        with np.errstate(divide="ignore"):
            need = draws.exponential(name, idx)
            need /= person
        del person, climate, years
        rows = None if row_of is None else pop.facility[idx]
        day = first_day_at_least(cum, rows, lo, need, hi, row_of)
    else:  # no hazard under this law: nobody applies (every need is above 0)
        day = hi.astype(np.int64)
    eligible_delta += np.bincount(lo, minlength=n_days + 1)[: n_days + 1]
    eligible_delta -= np.bincount(np.minimum(np.minimum(day, hi), n_days), minlength=n_days + 1)
    return day


def application_hazard(
    run: Run, span: rules.Span, status: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cumulative application hazard at the start of each day, at person factor 1: the
    law's day term (`rules.daily_rates`) summed over days, as its distinct rows, shape
    (R, D+1), and each facility's row among them (None: one row for every facility).
    Facilities visited by recruiters on the same days share a row."""
    n_days, streams = run.n_days, Streams(run.seed)

    def uniform(name: str, n: int) -> np.ndarray:
        """Uniform draws for `n` people from the named random stream."""
        return streams.uniform(name, np.arange(n, dtype=np.uint64))

    phases = rules.visit_phases(run.scenario.population, uniform)
    rates, row_of = rules.distinct_daily_rates(run.scenario, span, status, n_days, phases)
    cum = np.zeros((rates.shape[0], n_days + 1), dtype=np.float64)
    np.cumsum(rates, axis=1, out=cum[:, 1:])
    return cum, row_of
