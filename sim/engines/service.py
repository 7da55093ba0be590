"""Vector engine, service and after: deployment spells, deserters and veterans.

Stages of `sim.engines.vector` for the people who signed a contract (a `Cohort`). A
deployment is a chain of spells: each spell ends at the first of the competing daily
hazards (`taxonomy.DEPLOYMENT_HAZARDS`) or at the end of service. Two outcomes bring a
person back into a new spell of the same service: wounded who return to duty after
treatment, and deserters who come back to their unit before they are caught. Deserters
caught go to custody (or, where the regime executes them, die); veterans may reoffend.
Everyone back in custody becomes a candidate of the next round of applications
(`Run.back`). Spell `e` of round `r` draws from streams named with `.r{r}.e{e}` (none for
the first spell of the first round, so those draws are the same as with one pass).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..model import rules
from ..model.random import Streams
from ..model.taxonomy import (
    AWARD,
    AWOL,
    DEAD,
    DEPLOYED,
    DEPLOYMENT_HAZARDS,
    INCARCERATED,
    NEVER,
    OUTCOMES,
    VETERANS,
    WOUNDED_RETURNED,
)

if TYPE_CHECKING:
    from .vector import Cohort, Run

# Deployment outcomes (positions in OUTCOMES) after which people are at large or civilians.
DESERTED = next(k for k, (state, _flow) in enumerate(OUTCOMES) if state == AWOL)
VETERAN_OUTCOMES = [k for k, (state, _flow) in enumerate(OUTCOMES) if state == VETERANS]
EXECUTED = len(OUTCOMES)  # outcome of a deserter caught and executed (not a hazard)
# Name of each outcome in the recruits table, by position (service ended: AWARD's name).
OUTCOME_NAMES = np.array([*(flow for _state, flow in OUTCOMES), "executed"], dtype=object)
_READ_NO_MORE = np.zeros(0, dtype=np.int32)  # a cohort's array let go once done with
MAX_SPELLS = 100  # a guard; each further spell needs another return to the unit
# People whose per-person temporaries (draws, event days) a stage holds at once: each
# person's path is their own, and the pieces are taken in order, so that the people back
# in custody (`Run.back`) come in the same order whatever the size.
PIECE_PEOPLE = 1 << 16


def pieces(n: int) -> Iterator[slice]:
    """Consecutive slices of `PIECE_PEOPLE` (all `n` at once if it is 0 or None)."""
    step = PIECE_PEOPLE or n
    for first in range(0, n, max(step, 1)):
        yield slice(first, first + step)


def deploy(run: Run) -> None:
    """Competing daily hazards while deployed, each outcome on its own stream; service
    ending by its terms first means completion; the treated wounded and the deserters
    who come back start a new spell."""
    for c in run.current:
        c.exit_day = np.where(c.early, c.service_end, NEVER).astype(np.int32)  # < 2 NEVER
        c.outcome = np.full(len(c.ids), -1, dtype=np.int8)
        c.returned = np.full(len(c.ids), NEVER, dtype=np.int32)
        c.ends = c.early.copy()
        pos = np.flatnonzero(~c.early)
        start = c.deploy[pos]
        for spell in range(MAX_SPELLS):
            if not len(pos):
                break
            sfx = c.suffix(spell)
            again = [_spell(run, c, pos[p], start[p], sfx) for p in pieces(len(pos))]
            pos, start = (np.concatenate(x) for x in zip(*again, strict=True))
        c.service_end = _READ_NO_MORE  # by `aftermath` or the recruits table
        if run.log is not None and c.round == 1:
            _log(run, c)


def _spell(run: Run, c: Cohort, pos: np.ndarray, start: np.ndarray, sfx: str):
    """One spell of deployment for cohort members `pos` starting on `start`; returns who
    starts another spell, and when."""
    ledger, streams, regime = run.ledger, run.streams, c.regime
    a, hazards = c.ids[pos], regime.hazards_per_day
    # The first of the hazards (the lowest position on ties, as argmin), one at a time.
    t_min, first = np.full(len(a), np.inf), np.zeros(len(a), dtype=np.intp)
    for k, (name, h) in enumerate(zip(DEPLOYMENT_HAZARDS, hazards, strict=True)):
        if h > 0:
            with np.errstate(over="ignore"):
                t = streams.exponential(f"deploy.{name}{sfx}", a) / h
            sooner = t < t_min
            t_min[sooner], first[sooner] = t[sooner], k
    wait = np.floor(np.minimum(t_min, NEVER)).astype(np.int64)
    event_day = np.where(np.isfinite(t_min), start + wait, NEVER)
    end_day = np.maximum(c.service_end[pos], start)  # a deserter back late completes then
    ends = end_day <= event_day
    ledger.move(end_day[ends], DEPLOYED, VETERANS, "service_completed")
    exit_day = np.where(ends, end_day, event_day)
    outcome = np.where(ends, -1, first)
    for k, (state, flow) in enumerate(OUTCOMES):
        ledger.move(exit_day[outcome == k], DEPLOYED, state, flow)
    c.ends[pos], c.exit_day[pos], c.outcome[pos] = ends, exit_day, outcome

    again = np.full(len(pos), NEVER, dtype=np.int64)
    treated = outcome == WOUNDED_RETURNED
    u_treat = streams.uniform(f"treatment_days.{c.rid}{sfx}", a[treated])
    again[treated] = exit_day[treated] + regime.treatment_days.days(u_treat)
    # Service ending during treatment discharges the treated then (completion), as it does
    # anyone deployed; they are not sent back.
    over = treated & (again >= c.service_end[pos])
    ledger.move(c.service_end[pos[over]], DEPLOYED, VETERANS, "service_completed")
    c.ends[pos[over]], c.exit_day[pos[over]] = True, c.service_end[pos[over]]
    c.outcome[pos[over]] = -1
    again[over] = NEVER
    treated &= ~over
    deserted = outcome == DESERTED
    again[deserted] = _deserters(run, c, pos[deserted], exit_day[deserted], sfx)
    more = again < run.n_days
    still = treated & ~more  # in treatment at the horizon: still serving
    c.exit_day[pos[still]], c.outcome[pos[still]] = NEVER, -1
    return pos[more], again[more]


def _deserters(run: Run, c: Cohort, pos: np.ndarray, day: np.ndarray, sfx: str) -> np.ndarray:
    """Deserters of cohort members `pos` (deserted on `day`): back to the unit, or caught
    first (custody by the law's arithmetic, or executed). Returns the day each is back in
    the unit (NEVER: not before being caught, or never)."""
    streams, ledger, regime = run.streams, run.ledger, c.regime
    x = c.ids[pos]
    caught = after(day, regime.awol_caught_per_day, streams, f"awol.caught{sfx}", x)
    back = after(day, regime.awol_returned_per_day, streams, f"awol.returned{sfx}", x)
    returns = back < caught
    ledger.move(back[returns], AWOL, DEPLOYED, "returned_to_unit")
    caught_first = ~returns & (caught < NEVER)
    executed = np.zeros(len(x), dtype=bool)
    if regime.deserter_execution_prob > 0:
        u_exec = streams.uniform(f"awol.executed{sfx}", x)
        executed = caught_first & (u_exec < regime.deserter_execution_prob)
    ledger.move(caught[executed], AWOL, DEAD, "executed")
    c.outcome[pos[executed & (caught < run.n_days)]] = EXECUTED  # else still at large
    jailed = caught_first & ~executed
    u_added = streams.uniform(f"awol.added.{c.rid}{sfx}", x)
    added = regime.awol_added_sentence_days.days(u_added)
    ledger.move(caught[jailed], AWOL, INCARCERATED, "returned_to_custody", x[jailed])
    contract = c.contract[pos].astype(np.int64)  # the arithmetic in int64, as ever
    days = rules.deserter_custody_days(c.sentence_end[pos], contract, added)
    end = rules.custody_end(caught, days)
    run.back(x[jailed], caught[jailed], end[jailed], c.enlisted[pos[jailed]] + 1)
    c.returned[pos[jailed]] = caught[jailed]
    return np.where(returns, back, NEVER)


def aftermath(run: Run) -> None:
    """Veterans may reoffend and return to custody (then candidates of the next round)."""
    streams, ledger, params = run.streams, run.ledger, run.scenario.population
    for c in run.current:
        sfx = c.suffix(0)
        all_vets = np.flatnonzero(np.isin(c.outcome, VETERAN_OUTCOMES) | c.ends)
        for p in pieces(len(all_vets)):
            vets = all_vets[p]
            x = c.ids[vets]
            rate = params.reoffend_per_day
            reoffend = after(c.exit_day[vets], rate, streams, f"reoffend{sfx}", x)
            back = reoffend < NEVER
            ledger.move(reoffend[back], VETERANS, INCARCERATED, "reoffended", x[back])
            ledger.count(reoffend[back], "returned_to_custody")
            u_sentence = streams.uniform(f"reoffend.sentence{sfx}", x)
            end = rules.custody_end(reoffend, params.reoffence_sentence_days.days(u_sentence))
            run.back(x[back], reoffend[back], end[back], c.enlisted[vets][back] + 1)
            c.returned[vets] = reoffend


def outcome_codes(c: Cohort) -> np.ndarray:
    """Position in `OUTCOME_NAMES` of the outcome that ended each member's service (ended
    by its terms: AWARD, whose flow name is `service_completed`); -1: still serving."""
    return np.where(c.ends, AWARD, c.outcome)


def _log(run: Run, c: Cohort) -> None:
    """Event days of the people table (first round only: one row per person)."""
    log, a, n_days = run.log, c.ids, run.n_days
    assert log is not None
    log.deploy_day[a] = np.where(c.early, NEVER, c.deploy)
    log.exit_day[a] = np.minimum(c.exit_day, NEVER)
    outcome = np.where(c.ends, log.SERVICE_END, c.outcome)
    log.outcome[a] = np.where((c.exit_day < n_days) & (outcome >= 0), outcome, -1)


def after(start: np.ndarray, rate: float, streams: Streams, name: str, ids) -> np.ndarray:
    """Day of a later event at a constant daily hazard (NEVER if the hazard is zero)."""
    if rate <= 0 or len(ids) == 0:
        return np.full(len(ids), NEVER, dtype=np.int64)
    t = np.floor(streams.exponential(name, ids) / rate)
    return np.minimum(start + np.minimum(t, NEVER), NEVER).astype(np.int64)
