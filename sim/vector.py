"""Vectorised engine: every person's path computed as event days, stage by stage.

No stage feeds back into an earlier one, so the engine walks the pipeline once over the
whole horizon instead of stepping days: eligibility windows, then application days (first
passage of a cumulative hazard), screening, the approval queue, training, deployment
outcomes (competing risks), and what happens afterwards. Each stage is a handful of numpy
operations over the people who reach it; durations are drawn once on entry; daily stocks
come from `bincount` of transition days and a cumulative sum. Cost follows the number of
events, not people x days. Random draws come from `sim.random.Streams`, one stream per
decision, so runs pair under common random numbers.
"""

from __future__ import annotations

import time

import numpy as np

from .population import NEVER, Population, synthesize
from .queues import fifo_serve
from .random import Streams
from .results import Result, build_timeseries, offence_counts, summarize
from .rules import (
    STATUS_ORDER,
    age_day,
    eligibility_window,
    health_rejected,
    screening_rejected,
    sentence_factor,
)
from .scenario import Regime, Scenario
from .taxonomy import (
    AWAITING_COURT,
    AWOL,
    CONVICTED,
    DEAD,
    DEFENDANT,
    DEPLOYED,
    DEPLOYMENT_HAZARDS,
    FLOW_CODE,
    FLOW_COLUMNS,
    INCARCERATED,
    PRETRIAL,
    PRISONERS_OF_WAR,
    RELEASED,
    SCREENING,
    STATES,
    STATUSES,
    SUSPECT,
    TRAINING,
    VETERANS,
)

N_STATES = len(STATES)
N_FLOWS = len(FLOW_COLUMNS)
# Deployment outcome -> (state entered, flow counted), in DEPLOYMENT_HAZARDS order.
OUTCOMES = (
    (DEAD, "killed"),
    (VETERANS, "wounded_discharged"),
    (AWOL, "deserted"),
    (PRISONERS_OF_WAR, "captured"),
    (VETERANS, "service_completed"),
)


class Ledger:
    """Collects transitions (day, from-state, to-state) and flow events (day, flow)."""

    def __init__(self, n_days: int):
        self.n_days = n_days
        self.moves: list[tuple[np.ndarray, int | np.ndarray, int | np.ndarray]] = []
        self.flows: list[tuple[np.ndarray, int]] = []

    def move(self, day, frm, to, flow: str | None = None) -> None:
        day = np.asarray(day)
        self.moves.append((day, frm, to))
        if flow is not None:
            self.flows.append((day, FLOW_CODE[flow]))

    def stocks(self, initial: np.ndarray) -> np.ndarray:
        n, size = self.n_days, self.n_days * N_STATES
        delta = np.zeros(size, dtype=np.int64)
        for day, frm, to in self.moves:
            keep = day < n
            d = day[keep].astype(np.int64) * N_STATES
            to_i = to if np.isscalar(to) else np.asarray(to)[keep]
            fr_i = frm if np.isscalar(frm) else np.asarray(frm)[keep]
            delta += np.bincount(d + to_i, minlength=size)
            delta -= np.bincount(d + fr_i, minlength=size)
        return initial[None, :] + np.cumsum(delta.reshape(n, N_STATES), axis=0)

    def count(self, day, flow: str) -> None:
        """A flow event that moves nobody between states (or a second flow of a move)."""
        self.flows.append((np.asarray(day), FLOW_CODE[flow]))

    def flow_counts(self) -> np.ndarray:
        n, size = self.n_days, self.n_days * N_FLOWS
        counts = np.zeros(size, dtype=np.int64)
        for day, code in self.flows:
            d = day[day < n].astype(np.int64)
            counts += np.bincount(d * N_FLOWS + code, minlength=size)
        return counts.reshape(n, N_FLOWS)


class PeopleLog:
    """Per-person event days, kept only when asked for (a flat record, as in Ciw)."""

    OUTCOME_NAMES = (
        "killed",
        "wounded_discharged",
        "deserted",
        "captured",
        "award_release",
        "service_end",
    )

    def __init__(self, n: int):
        self.contract_day = np.full(n, NEVER, dtype=np.int32)
        self.deploy_day = np.full(n, NEVER, dtype=np.int32)
        self.exit_day = np.full(n, NEVER, dtype=np.int32)
        self.outcome = np.full(n, -1, dtype=np.int8)

    def table(self, pop: Population, app_day, app_regime, regime_ids, n_days: int):
        import pandas as pd

        def day(x):
            return np.where(x < n_days, x, -1).astype(np.int32)

        names = np.array(["", *self.OUTCOME_NAMES], dtype=object)
        regimes = np.array(["", *regime_ids], dtype=object)
        return pd.DataFrame(
            {
                "id": np.arange(pop.n, dtype=np.int64),
                "admit_day": pop.admit_day,
                "status0": np.array(STATUSES, dtype=object)[pop.status0],
                "offence": pop.offence,
                "application_day": day(app_day),
                "regime": regimes[np.where(app_day < n_days, app_regime + 1, 0)],
                "contract_day": day(self.contract_day),
                "deploy_day": day(self.deploy_day),
                "exit_day": day(self.exit_day),
                "outcome": names[self.outcome + 1],
            }
        )


def _first_day_at_least(
    cum: np.ndarray, rows: np.ndarray | None, lo: np.ndarray, need: np.ndarray
) -> np.ndarray:
    """First day d >= lo with cum[row, d+1] - cum[row, lo] >= need (rows of a 2-D table)."""
    if cum.shape[0] == 1:
        target = cum[0, lo] + need
        return np.searchsorted(cum[0], target, side="left").astype(np.int64) - 1
    width = cum.shape[1]
    offset = float(cum[:, -1].max()) + 1.0
    flat = (cum + offset * np.arange(cum.shape[0])[:, None]).ravel()
    target = cum[rows, lo] + need + offset * rows
    order = np.argsort(target)  # sorted needles keep the binary searches in cache
    pos = np.empty(len(target), dtype=np.int64)
    pos[order] = np.searchsorted(flat, target[order], side="left")
    return pos - rows.astype(np.int64) * width - 1


def application_hazard(
    regime: Regime, start_day: int, n_days: int, n_facilities: int, streams: Streams, rid: str
) -> np.ndarray:
    """Cumulative application hazard per facility at the start of each day, shape (F|1, D+1).

    Daily hazard at motivation 1: the regime's base rate, raised by a launch wave that
    decays after the regime starts, scaled up linearly over `ramp_up_days` when set,
    multiplied on recruiter-visit days in a facility.
    """
    days = np.arange(n_days, dtype=np.float64)
    since = days - start_day
    rate = regime.applications_per_day * (
        1.0 + regime.launch_boost * np.exp(-np.maximum(since, 0) / regime.launch_decay_days)
    )
    if regime.ramp_up_days > 0:
        rate *= np.clip((since + 1) / regime.ramp_up_days, 0.0, 1.0)
    rate[since < 0] = 0.0
    interval = regime.recruiter_visit_interval_days
    if interval and regime.recruiter_visit_multiplier != 1.0:
        fac = np.arange(n_facilities, dtype=np.uint64)
        phase = np.floor(streams.uniform(f"visits.{rid}", fac) * interval).astype(np.int64)
        offset = since[None, :].astype(np.int64) - phase[:, None]
        visit = (offset >= 0) & (offset % interval == 0)
        rates = rate[None, :] * np.where(visit, regime.recruiter_visit_multiplier, 1.0)
    else:
        rates = rate[None, :]
    cum = np.zeros((rates.shape[0], n_days + 1), dtype=np.float64)
    np.cumsum(rates, axis=1, out=cum[:, 1:])
    return cum


def regime_spans(scenario: Scenario) -> list[tuple[str, Regime, int, int]]:
    """(id, regime, first day in force, first day no longer in force) in date order."""
    spans = []
    for rid, r in scenario.regimes.items():
        end = scenario.day_of(r.end_date)
        spans.append((rid, r, scenario.day_of(r.start_date), NEVER if end is None else end))
    return sorted(spans, key=lambda s: (s[2], s[0]))


def _status_on(pop: Population, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Legal status code of people `idx` on `day`."""
    s0 = pop.status0[idx]
    out = np.full(len(idx), CONVICTED, dtype=np.uint8)
    in_case = day < pop.trial_end[idx]
    out[in_case & (s0 == PRETRIAL)] = PRETRIAL
    out[in_case & ((s0 == SUSPECT) | (s0 == DEFENDANT))] = DEFENDANT
    out[(day < pop.investigation_end[idx]) & (s0 == SUSPECT)] = SUSPECT
    return out


def _schedule_applications(
    pop: Population,
    streams: Streams,
    status: int,
    r_idx: int,
    rid: str,
    regime: Regime,
    start: int,
    end: int,
    app_day: np.ndarray,
    app_regime: np.ndarray,
    eligible_delta: np.ndarray,
) -> None:
    """Application days of people eligible under one regime while holding one status.

    Updates `app_day`, `app_regime` and the eligible-stock deltas in place. People who
    applied in an earlier window are no longer candidates.
    """
    n_days = len(eligible_delta) - 1
    idx, lo, hi = eligibility_window(regime, status, pop, start, end, among=app_day == NEVER)
    if len(idx) == 0:
        return
    propensity = (
        pop.motivation[idx].astype(np.float64)
        * pop.facility_climate[pop.facility[idx]]
        * sentence_factor(regime, pop.sentence_years[idx])
    )
    with np.errstate(divide="ignore"):
        need = streams.exponential(f"apply.{rid}.{STATUSES[status]}", idx)
        need /= propensity
    del propensity
    cum = application_hazard(regime, start, n_days, len(pop.facility_climate), streams, rid)
    rows = pop.facility[idx] if cum.shape[0] > 1 else None
    day = _first_day_at_least(cum, rows, lo, need)
    del need, rows
    applied = day < hi
    app_day[idx[applied]] = day[applied]
    app_regime[idx[applied]] = r_idx
    stop = np.where(applied, day, hi)
    eligible_delta += np.bincount(lo, minlength=n_days + 1)[: n_days + 1]
    eligible_delta -= np.bincount(np.minimum(stop, n_days), minlength=n_days + 1)


def simulate(
    scenario: Scenario,
    seed: int = 0,
    population: int | None = None,
    days: int | None = None,
    record_people: bool = False,
) -> Result:
    """Run the vectorised engine once; `record_people` adds a per-person table of events."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    n_days = scenario.n_days if days is None else int(days)
    pop = synthesize(scenario, seed, population, n_days)
    streams = Streams(seed)
    timings["population"] = time.perf_counter() - t0
    lap = time.perf_counter()

    spans = regime_spans(scenario)
    war_end = scenario.day_of(scenario.scenario.war_end_date)
    war_end = NEVER if war_end is None else war_end
    ledger = Ledger(n_days)

    # --- eligibility and applications --------------------------------------------
    app_day = np.full(pop.n, NEVER, dtype=np.int32)
    app_regime = np.full(pop.n, -1, dtype=np.int8)
    eligible_delta = np.zeros(n_days + 1, dtype=np.int64)
    for status in STATUS_ORDER:
        for r_idx, (rid, regime, start, end) in enumerate(spans):
            if STATUSES[status] in regime.statuses:
                _schedule_applications(
                    pop,
                    streams,
                    status,
                    r_idx,
                    rid,
                    regime,
                    start,
                    min(end, n_days),
                    app_day,
                    app_regime,
                    eligible_delta,
                )
    timings["applications"] = time.perf_counter() - lap
    lap = time.perf_counter()

    # --- ordinary custody path ----------------------------------------------------
    admitted = pop.admit_day >= 0
    ledger.count(pop.admit_day[admitted], "admissions")
    never_applied = app_day >= n_days
    ledger.move(pop.sentence_end[never_applied], INCARCERATED, RELEASED, "sentence_releases")

    # --- the recruitment pipeline, per application regime -------------------------
    recruits_offence = []
    log = PeopleLog(pop.n) if record_people else None
    for r_idx, (rid, regime, _start, _end) in enumerate(spans):
        a = np.flatnonzero(app_regime == r_idx)
        a = a[app_day[a] < n_days]
        if len(a):
            _pipeline(
                regime,
                rid,
                r_idx,
                spans,
                a,
                pop,
                scenario.population,
                app_day,
                streams,
                ledger,
                n_days,
                war_end,
                recruits_offence,
                log,
            )
    timings["pipeline"] = time.perf_counter() - lap
    lap = time.perf_counter()

    initial = np.zeros(N_STATES, dtype=np.int64)
    initial[INCARCERATED] = pop.n_initial
    stocks = ledger.stocks(initial)
    arrivals = np.bincount(pop.admit_day[admitted], minlength=n_days)[:n_days]
    stocks[:, INCARCERATED] += np.cumsum(arrivals)
    eligible = np.cumsum(eligible_delta[:n_days])
    recruits = np.concatenate(recruits_offence) if recruits_offence else np.zeros(0, np.uint8)
    ts = build_timeseries(scenario.scenario.start_date, stocks, eligible, ledger.flow_counts())
    by_offence = offence_counts(recruits)
    summary = summarize(ts, by_offence, pop.n_initial)
    timings["output"] = time.perf_counter() - lap
    timings["total"] = time.perf_counter() - t0
    people = None
    if log is not None:
        people = log.table(pop, app_day, app_regime, [sp[0] for sp in spans], n_days)
    return Result(
        people=people,
        scenario=scenario.name,
        engine="vector",
        seed=seed,
        timeseries=ts,
        summary=summary,
        recruits_by_offence=by_offence,
        timings=timings,
        n_agents=pop.n,
    )


def _pipeline(
    regime: Regime,
    rid: str,
    r_idx: int,
    spans,
    a: np.ndarray,
    pop: Population,
    params,
    app_day: np.ndarray,
    streams: Streams,
    ledger: Ledger,
    n_days: int,
    war_end: int,
    recruits_offence: list,
    log: PeopleLog | None = None,
) -> None:
    """Screening, approval, training, deployment and aftermath for applicants `a`."""
    applied = app_day[a].astype(np.int64)
    sent = pop.sentence_end[a].astype(np.int64)
    ledger.move(applied, INCARCERATED, SCREENING, "applications")

    # Screening: a duration, then a verdict; custody ending first means release.
    screen_end = applied + regime.screening_days.days(streams.uniform(f"screen_days.{rid}", a), 1)
    rejected = screening_rejected(
        regime,
        pop.infectious[a],
        pop.fitness[a],
        streams.uniform("screen.psych", a),
        streams.uniform("screen.polygraph", a),
        streams.uniform("screen.commander", a),
    )
    left = sent <= screen_end
    ledger.move(sent[left], SCREENING, RELEASED, "sentence_releases")
    rej = ~left & rejected
    ledger.move(screen_end[rej], SCREENING, INCARCERATED, "rejected_screening")
    health = rej & health_rejected(regime, pop.infectious[a], pop.fitness[a])
    ledger.count(screen_end[health], "rejected_health")
    ledger.move(sent[rej], INCARCERATED, RELEASED, "sentence_releases")
    go = ~left & ~rejected
    a, applied, sent, arrive = a[go], applied[go], sent[go], screen_end[go]
    ledger.move(arrive, SCREENING, AWAITING_COURT)

    # Approval: a hearing queue with daily capacity (or an administrative decision).
    hearing = fifo_serve(arrive, sent, a, n_days, per_day=regime.approval_capacity_per_day)
    hearing = hearing.astype(np.int64)
    left = sent <= hearing
    ledger.move(sent[left], AWAITING_COURT, RELEASED, "sentence_releases")
    refused = ~left & (streams.uniform("approval.refusal", a) < regime.approval_refusal_prob)
    ledger.move(hearing[refused], AWAITING_COURT, INCARCERATED, "rejected_court")
    ledger.move(sent[refused], INCARCERATED, RELEASED, "sentence_releases")
    ok = ~left & ~refused
    a, sent = a[ok], sent[ok]
    in_force = hearing[ok] + regime.approval_days.days(streams.uniform(f"in_force.{rid}", a))
    train_days = regime.training_days.days(streams.uniform(f"train_days.{rid}", a), 1)

    # A training place (if places are limited), then the contract: released to the army.
    contract = fifo_serve(
        in_force, sent, a, n_days, places=regime.training_places, hold_days=train_days
    ).astype(np.int64)
    left = sent <= contract
    ledger.move(sent[left], AWAITING_COURT, RELEASED, "sentence_releases")
    go = ~left & (contract < n_days)
    a, sent, contract, train_days = a[go], sent[go], contract[go], train_days[go]
    ledger.move(contract, AWAITING_COURT, TRAINING, "released_to_army")
    recruits_offence.append(pop.offence[a])
    if log is not None:
        log.contract_day[a] = contract

    # Service ends by contract term, war end, age, or (for later regimes) changed terms.
    service_end = _service_end(regime, contract, pop, a, war_end)
    service_end = _override_terms(spans, r_idx, pop, a, app_day[a], contract, service_end, war_end)
    deploy = contract + train_days
    early = service_end <= deploy  # service over before training ends
    ledger.move(service_end[early], TRAINING, VETERANS, "service_completed")
    ledger.move(deploy[~early], TRAINING, DEPLOYED, "deployed_total")

    # Competing daily hazards while deployed; each outcome keeps its own stream.
    hazards = regime.hazards_per_day
    times = np.full((len(hazards), len(a)), np.inf)
    for k, (name, h) in enumerate(zip(DEPLOYMENT_HAZARDS, hazards, strict=True)):
        if h > 0:
            with np.errstate(over="ignore"):
                times[k] = streams.exponential(f"deploy.{name}", a) / h
    first = np.argmin(times, axis=0)
    t_min = times[first, np.arange(len(a))]
    event_day = np.where(
        np.isfinite(t_min), deploy + np.floor(np.minimum(t_min, NEVER)).astype(np.int64), NEVER
    )
    ends = early | (service_end <= event_day)
    ledger.move(service_end[ends & ~early], DEPLOYED, VETERANS, "service_completed")
    exit_day = np.where(ends, service_end, event_day)
    outcome = np.where(ends, -1, first)
    if log is not None:
        log.deploy_day[a] = np.where(early, NEVER, deploy)
        log.exit_day[a] = np.minimum(exit_day, NEVER)
        log.outcome[a] = np.where(exit_day < n_days, np.where(ends, len(OUTCOMES), first), -1)
    for k, (state, flow) in enumerate(OUTCOMES):
        m = outcome == k
        ledger.move(exit_day[m], DEPLOYED, state, flow)

    # Afterwards: deserters may be caught (unserved sentence plus added time);
    # veterans may reoffend and return to custody.
    deserted = outcome == 2
    x = a[deserted]
    caught = _after(exit_day[deserted], regime.awol_caught_per_day, streams, "awol.caught", x)
    added = regime.awol_added_sentence_days.days(streams.uniform(f"awol.added.{rid}", x))
    remaining = np.where(
        sent[deserted] >= NEVER, NEVER, np.maximum(sent[deserted] - contract[deserted], 0)
    )
    back = caught < NEVER
    ledger.move(caught[back], AWOL, INCARCERATED, "returned_to_custody")
    new_end = np.minimum(caught + remaining + added, NEVER)
    ledger.move(new_end[back], INCARCERATED, RELEASED, "sentence_releases")

    vets = (outcome == 1) | (outcome == 4) | ends
    x = a[vets]
    reoffend = _after(exit_day[vets], params.reoffend_per_day, streams, "reoffend", x)
    back = reoffend < NEVER
    ledger.move(reoffend[back], VETERANS, INCARCERATED, "reoffended")
    ledger.count(reoffend[back], "returned_to_custody")
    new_sentence = params.reoffence_sentence_days.days(streams.uniform("reoffend.sentence", x))
    ledger.move(
        np.minimum(reoffend + new_sentence, NEVER)[back],
        INCARCERATED,
        RELEASED,
        "sentence_releases",
    )


def _after(start: np.ndarray, rate: float, streams: Streams, name: str, ids) -> np.ndarray:
    """Day of a later event at a constant daily hazard (NEVER if the hazard is zero)."""
    if rate <= 0 or len(ids) == 0:
        return np.full(len(ids), NEVER, dtype=np.int64)
    t = np.floor(streams.exponential(name, ids) / rate)
    return np.minimum(start + np.minimum(t, NEVER), NEVER).astype(np.int64)


def _service_end(regime: Regime, contract, pop: Population, a, war_end: int) -> np.ndarray:
    end = np.full(len(a), min(war_end, NEVER), dtype=np.int64)
    if regime.contract == "fixed":
        end = np.minimum(end, contract + regime.contract_days)
    age_out = age_day(pop.age0[a], regime.max_service_age_years)
    # Service cannot end before it starts (war over or age reached before signing).
    return np.maximum(np.minimum(end, age_out), contract)


def _override_terms(spans, r_idx, pop, a, applied, contract, service_end, war_end):
    """Later regimes that change the terms of contracts already running."""
    later = [sp for sp in spans[r_idx + 1 :] if sp[1].overrides_existing_contracts]
    if not later:
        return service_end
    status = _status_on(pop, a, applied)
    for _rid, regime, start, _end in later:
        covered = np.isin(status, [STATUSES.index(s) for s in regime.statuses])
        running = covered & (contract < start) & (service_end > start)
        if running.any():
            new_end = _service_end(regime, contract[running], pop, a[running], war_end)
            service_end = service_end.copy()
            service_end[running] = np.maximum(new_end, start)
    return service_end
