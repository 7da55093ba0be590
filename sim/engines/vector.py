"""Vectorised engine: every person's path computed as event days, stage by stage.

The pipeline runs in rounds instead of stepping days. `simulate` runs the ordered `STAGES`
over one `Run` (applicants, random streams, ledger, regime spans, horizon, log): one pass
over the people a block at a time for eligibility windows, application days (first
passage of a cumulative hazard) and the ordinary custody path of those who never apply,
keeping only the applicants; then screening, approval, training, deployment spells (competing risks;
`sim.engines.service`), and what happens afterwards. People who come back to custody (a
refusal, a deserter caught, a veteran who reoffends) are the candidates of the next round
(`ROUND_STAGES`, starting with `reapply`), until nobody is left to decide on; round r > 1
draws from streams named with `.r{r}`, so round 1 draws what a single pass always drew.
A new mechanism is a new stage. Each stage is a handful of numpy operations over the
people who reach it; durations are drawn once on entry; daily stocks come from the
`Ledger`. Cost follows the number of events, not people x days. Random draws come from
`sim.model.random.Streams`, one stream per decision (indexed by person), so runs pair
under common random numbers and the order of the stages' draws is free. Queues with a
daily capacity serve each round's cohort on its own (a simplification: the Mesa engine
shares one queue).
Who applies and when, window by window, is `sim.engines.applications`.
The rules themselves (who is eligible, screening verdicts, service terms) are the law's,
`sim.model.rules`; this module holds only the event-day arithmetic.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import numpy as np

from ..model import rules
from ..model.population import Population, block_bounds, block_makers
from ..model.random import PeopleStreams
from ..model.taxonomy import (
    AWAITING_COURT,
    DEPLOYED,
    FLOW_CODE,
    INCARCERATED,
    NEVER,
    RELEASED,
    SCREENING,
    TRAINING,
    VETERANS,
)
from ..results import Result, build_timeseries, offence_counts, summarize
from ..scenario import Regime, Scenario
from . import applications
from .ledger import N_STATES, Ledger, PeopleLog
from .memory import FreedMemory
from .queues import fifo_serve
from .recruit_table import RecruitParts, row_dtype
from .service import aftermath, deploy, pieces
from .threads import in_order, run_threads

BLOCK_PEOPLE = 1 << 18  # people drawn and sifted at once by `apply`
MAX_ROUNDS = 50  # a guard; each further round needs another refusal or return to custody


UNSET = np.zeros(0, dtype=np.int64)  # a cohort's array not decided yet: no memory held


def _unset() -> np.ndarray:
    return UNSET


@dataclass
class Cohort:
    """The applicants under one regime, moving through the pipeline together.

    Each stage keeps those who go on (`keep`) and fills in the days it decides (`UNSET`
    until then, so that no memory is held for what is not decided yet); `day` is when each
    person reaches the next stage.
    """

    r_idx: int
    rid: str
    regime: Regime
    ids: np.ndarray  # rows of `Run.pop` (int32 where that holds them: `row_dtype`)
    sentence_end: np.ndarray  # int32 (at most NEVER); custody ends (release takes precedence)
    day: np.ndarray  # int64
    round: int = 1  # 1: first applications; then re-applications (`reapply`)
    # int8; contracts signed before (empty: none, the first round)
    enlisted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    applied: np.ndarray = field(init=False)  # int32; application day
    # Decided by `train` (int32 once decided):
    train_days: np.ndarray = field(init=False, default_factory=_unset)  # int32; until `train` ends
    contract: np.ndarray = field(init=False, default_factory=_unset)  # released to the army
    service_end: np.ndarray = field(init=False, default_factory=_unset)  # by the law's terms
    deploy: np.ndarray = field(init=False, default_factory=_unset)  # training over; NEVER: early
    early: np.ndarray = field(init=False, default_factory=_unset)  # service over in training
    # Decided by `service.deploy` (and `aftermath`):
    exit_day: np.ndarray = field(init=False, default_factory=_unset)  # int32; leaves deployment
    outcome: np.ndarray = field(init=False, default_factory=_unset)  # int8; OUTCOMES; -1: ended
    ends: np.ndarray = field(init=False, default_factory=_unset)  # service ended by its terms
    # int32 (at most NEVER); back in custody after service
    returned: np.ndarray = field(init=False, default_factory=_unset)

    def __post_init__(self) -> None:
        self.applied = self.day.astype(np.int32)  # within the horizon
        self.sentence_end = np.asarray(self.sentence_end, dtype=np.int32)
        if self.enlisted.size == 0:
            self.enlisted = np.zeros(len(self.ids), dtype=np.int8)

    def suffix(self, spell: int = 0) -> str:
        """Suffix of the random streams of this round's `spell`-th deployment ("" for the
        first of round 1, so that a single pass draws exactly what it always drew)."""
        return "" if self.round == 1 and spell == 0 else f".r{self.round}.e{spell}"

    def stream(self, name: str) -> str:
        """Name of a per-round random stream (`name` itself in round 1)."""
        return name if self.round == 1 else f"{name}.r{self.round}"

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the people selected by `mask` in every per-person array decided."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray) and value is not UNSET:
                setattr(self, f.name, value[mask])


@dataclass
class Run:
    """What the stages of one run share: the people, their draws, the records, the law.

    The people in `pop` are the applicants only (rows keep their person ids, by which they
    draw from `streams`); everyone else is drawn, sifted and counted a block at a time by
    `apply` and leaves only counts behind.
    """

    scenario: Scenario
    seed: int
    population: int | None  # initial population size (None: the scenario's)
    ledger: Ledger
    spans: list[rules.Span]
    n_days: int  # horizon
    war_end: int  # no contract signed from this day
    demobilised: int  # service "until the war ends" ends on this day
    log: PeopleLog | None
    eligible_delta: np.ndarray  # int64; changes of the eligible stock by day
    pop: Population = field(init=False)  # the applicants (set by `apply`)
    streams: PeopleStreams = field(init=False)  # draws of the rows of `pop`
    n_people: int = 0  # everyone drawn
    n_initial: int = 0  # of whom in custody at day 0
    # Time the block pass spent drawing people, and on the rest (`apply`; in all threads)
    population_seconds: float = 0.0
    apply_seconds: float = 0.0
    people: Population | None = None  # drawn already (ids in order): `apply` takes these
    current: list[Cohort] = field(default_factory=list)  # this round's cohorts
    # Filed contracts of the rounds before (`file_recruits`): the recruits table's columns
    recruit_parts: RecruitParts = field(default_factory=RecruitParts)
    round: int = 1
    # People back in custody after an application: (people, day back, custody end,
    # contracts signed, day refused or NEVER), candidates of the next round.
    pending: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    hazards: dict[tuple[int, int], tuple] = field(default_factory=dict)
    hazards_lock: threading.Lock = field(default_factory=threading.Lock)
    threads: int = 1  # threads of the block pass (`apply`)
    # gives freed memory back between stages, in runs large enough to gain from it
    release: FreedMemory = field(default_factory=lambda: FreedMemory(0))
    recruits_offence: list[np.ndarray] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        scenario: Scenario,
        seed: int,
        population: int | None,
        days: int | None,
        record_people: bool,
        threads: int = 1,
    ) -> Run:
        """Set up a run: the law's periods, the horizon and empty records (the people are
        drawn by `apply`).

        Args:
            scenario: The scenario to run.
            seed: Seed of the run's random streams.
            population: Initial population size, or None for the scenario's.
            days: Number of days, or None for the scenario's horizon.
            record_people: Keep per-person event days for the people table.
            threads: Threads of the block pass (`apply`).

        Returns:
            The run, ready to step.
        """
        n_days = scenario.n_days if days is None else int(days)
        war_end, demobilised = rules.war_days(scenario)
        release = FreedMemory(
            scenario.population.initial_size if population is None else population
        )
        return cls(
            scenario=scenario,
            seed=int(seed),
            population=population,
            ledger=Ledger(n_days),
            spans=rules.regime_spans(scenario),
            n_days=n_days,
            war_end=war_end,
            demobilised=demobilised,
            log=PeopleLog() if record_people else None,
            eligible_delta=np.zeros(n_days + 1, dtype=np.int64),
            threads=threads,
            release=release,
            recruit_parts=RecruitParts(release),
        )

    def back(self, ids, day, end, enlisted, refused=None) -> None:
        """People back in custody on `day` until `end` after an application (refused on
        `day` if `refused`) or a contract: candidates of the next round (`reapply`)."""
        if len(ids) == 0:
            return
        # Held in int32 (rows, and days at most NEVER); `reapply` widens them again. Not
        # refused: NEVER for each, held as one value (a broadcast view: no memory).
        day = np.asarray(day, dtype=np.int32)
        refused_day = day if refused else np.broadcast_to(NEVER, day.shape)
        self.pending.append(
            (
                np.asarray(ids, dtype=np.int32),
                day,
                np.asarray(end, dtype=np.int32),
                np.asarray(enlisted, dtype=np.int8),
                refused_day,
            )
        )

    def hazard(self, r_idx: int, status: int) -> tuple[np.ndarray, np.ndarray | None]:
        """`application_hazard` of a regime and status (its distinct rows, and each
        facility's row), computed once per run."""
        key = (r_idx, status)
        with self.hazards_lock:  # blocks sifted in threads ask for the same tables
            if key not in self.hazards:
                self.hazards[key] = applications.application_hazard(self, self.spans[r_idx], status)
            return self.hazards[key]

    def result(self, seed: int, timings: dict[str, float]) -> Result:
        """The canonical time series and summary from the ledger."""
        pop, n_days = self.pop, self.n_days
        initial = np.zeros(N_STATES, dtype=np.int64)
        initial[INCARCERATED] = self.n_initial
        stocks = self.ledger.stocks(initial)
        flows = self.ledger.flow_counts()
        # Admissions come from outside the model: the ledger counts them as a flow only.
        stocks[:, INCARCERATED] += np.cumsum(flows[:, FLOW_CODE["admissions"]])
        eligible = np.cumsum(self.eligible_delta[:n_days])
        recruits = self.recruits_offence
        offences = np.concatenate(recruits) if recruits else np.zeros(0, np.uint8)
        start = self.scenario.scenario.start_date
        by_offence = offence_counts(offences)
        groups = self.ledger.custody_groups()
        ts = build_timeseries(start, stocks, eligible, flows, groups)
        people = None
        if self.log is not None:
            ids = [sp[0] for sp in self.spans]
            people = self.log.table(pop.ids, ids, n_days)
        # The recruits' columns read from the applicants, then the applicants and the
        # hazard tables are let go before the recruits table is joined (the run's peak).
        self.recruit_parts.look_up(pop)
        del self.pop, self.streams, pop
        self.ledger.pop = None
        self.hazards.clear()
        self.release()
        return Result(
            people=people,
            scenario=self.scenario.name,
            engine="vector",
            seed=seed,
            timeseries=ts,
            summary=summarize(ts, by_offence, self.n_initial),
            recruits_by_offence=by_offence,
            timings=timings,
            n_agents=self.n_people,
            recruits=self.recruit_parts.frame([sp[0] for sp in self.spans]),
        )

    def file_recruits(self) -> None:
        """File this round's contracts as parts of the recruits table's columns
        (`RecruitParts.file`) and let the cohorts go: a round's cohorts are final once its
        stages have run."""
        while self.current:  # one cohort at a time, each let go once filed
            self.recruit_parts.file(self.pop, self.current.pop(0), self.n_days)
            self.release()


# ---------------------------------------------------------------------- stages


def apply(run: Run) -> None:
    """The pass over the people, a block of consecutive ids at a time (`sift`, in
    `run.threads` threads): draw them, their eligibility windows and application days,
    everyone's custody and the release at sentence end of those who never apply. Then,
    block by block in order, add the blocks' counts into the run's and keep only the
    applicants (`Run.pop`), joined a column at a time. Then one cohort of applicants per
    application regime; the applicants' custody ends are theirs from then on."""
    kept: list[Population] = []
    app_days, app_regimes = [], []
    for sifted in in_order(functools.partial(sift, run), _blocks(run), run.threads):
        lap = time.perf_counter()
        app_day, app_regime = sifted.app_day, sifted.app_regime
        run.population_seconds += sifted.drawing_seconds
        run.apply_seconds += sifted.sifting_seconds
        run.eligible_delta += sifted.eligible_delta
        run.ledger.add(sifted.ledger)
        run.n_people += sifted.n
        run.n_initial += sifted.n_initial
        if run.log is not None and sifted.block is not None:
            run.log.add_block(sifted.block, app_day, app_regime)
        applies = app_day < run.n_days
        kept.append(sifted.applicants)
        app_days.append(app_day[applies])
        app_regimes.append(app_regime[applies])
        del sifted, app_day, app_regime
        run.apply_seconds += time.perf_counter() - lap
    lap = time.perf_counter()
    run.release()  # the blocks' temporaries (in the threads' arenas too)
    climate = kept[0].facility_climate
    run.pop = pop = Population.concat(kept, climate, consume=run.release)
    run.streams = PeopleStreams(run.seed, pop.ids)
    run.ledger.pop = pop
    app_day, app_regime = np.concatenate(app_days), np.concatenate(app_regimes)
    del kept, app_days, app_regimes
    for key in [key for key in run.hazards if not rules.takes_back(run.spans[key[0]][1])]:
        del run.hazards[key]
    if run.log is not None:
        run.log.events(pop.n)
    for r_idx, (rid, regime, _start, _end) in enumerate(run.spans):
        a = np.flatnonzero(app_regime == r_idx).astype(row_dtype(pop.n))
        if len(a):
            applied = app_day[a].astype(np.int64)
            sent = pop.sentence_end[a]
            run.current.append(Cohort(r_idx, rid, regime, a, sent, applied))
    del app_day, app_regime
    pop.let_go("admit_day", "sentence_end")  # not read after `apply`
    run.release()
    run.apply_seconds += time.perf_counter() - lap


@dataclass
class Sifted:
    """One block of people after `sift`."""

    block: Population | None  # the people (None unless `Run.log` records them)
    n: int  # people in the block
    n_initial: int  # of whom in custody at day 0
    app_day: np.ndarray  # int32 per row; NEVER: no application
    app_regime: np.ndarray  # int8 per row; position in `Run.spans`, -1: none
    eligible_delta: np.ndarray  # int64; the block's changes of the eligible stock by day
    ledger: Ledger  # the block's custody (`applications.count_custody`)
    applicants: Population  # the block's people who apply
    drawing_seconds: float  # time spent drawing the block
    sifting_seconds: float  # time spent on it after drawing


def sift(run: Run, make: Callable[[], Population]) -> Sifted:
    """Draw a block of people (`make`), find who applies when (eligibility windows status
    by status, regime by regime: `applications.schedule`), count the block's custody in
    a ledger of its own and take its applicants. It reads the run and changes nothing in
    it, so blocks can be sifted in any order and in threads."""
    lap = time.perf_counter()
    block = make()
    drawing_seconds = time.perf_counter() - lap
    app_day = np.full(block.n, NEVER, dtype=np.int32)
    app_regime = np.full(block.n, -1, dtype=np.int8)
    eligible_delta = np.zeros_like(run.eligible_delta)
    draws = PeopleStreams(run.seed, block.ids)
    for status in rules.STATUS_ORDER:
        for r_idx, (_rid, regime, _start, _end) in enumerate(run.spans):
            if rules.covers(regime, status):
                applications.schedule(
                    run, block, draws, status, r_idx, app_day, app_regime, eligible_delta
                )
    applies = app_day < run.n_days
    ledger = Ledger(run.n_days)
    applications.count_custody(ledger, block, applies)
    applicants = block.take(applies)
    sifting_seconds = time.perf_counter() - lap - drawing_seconds
    return Sifted(
        block if run.log is not None else None,
        block.n,
        block.n_initial,
        app_day,
        app_regime,
        eligible_delta,
        ledger,
        applicants,
        drawing_seconds,
        sifting_seconds,
    )


def _blocks(run: Run) -> list[Callable[[], Population]]:
    """The run's people a block at a time, as functions giving each block: drawn
    (`population.block_makers`), or cut from `Run.people`."""
    if run.people is None:
        return block_makers(
            run.scenario, run.seed, run.population, run.n_days, BLOCK_PEOPLE, run.threads
        )
    return [
        functools.partial(run.people.take, slice(first, last))
        for first, last in block_bounds(run.people.n, BLOCK_PEOPLE, run.threads)
    ]


def screen(run: Run) -> None:
    """Screening: a duration, then the law's verdict; custody ending first means release."""
    pop, streams, ledger = run.pop, run.streams, run.ledger
    for c in run.current:
        a, regime, sent = c.ids, c.regime, c.sentence_end
        ledger.move(c.day, INCARCERATED, SCREENING, "applications", a)
        if c.round > 1:
            ledger.count(c.day, "reapplications")
        screen_end = np.empty(len(a), dtype=np.int64)
        rejected, health = np.empty(len(a), dtype=bool), np.empty(len(a), dtype=bool)
        for p in pieces(len(a)):  # the draws a piece at a time
            x = a[p]
            u_days = streams.uniform(c.stream(f"screen_days.{c.rid}"), x)
            screen_end[p] = c.day[p] + regime.screening_days.days(u_days, 1)
            rejected[p] = rules.screening_rejected(
                regime,
                pop.infectious[x],
                pop.fitness[x],
                streams.uniform(c.stream("screen.psych"), x),
                streams.uniform(c.stream("screen.polygraph"), x),
                streams.uniform(c.stream("screen.commander"), x),
            )
            health[p] = rules.health_rejected(regime, pop.infectious[x], pop.fitness[x])
        left = sent <= screen_end
        ledger.move(sent[left], SCREENING, RELEASED, "sentence_releases")
        rej = ~left & rejected
        ledger.move(screen_end[rej], SCREENING, INCARCERATED, "rejected_screening", a[rej])
        health &= rej
        ledger.count(screen_end[health], "rejected_health")
        run.back(a[rej], screen_end[rej], sent[rej], c.enlisted[rej], refused=True)
        c.day = screen_end
        c.keep(~left & ~rejected)
        ledger.move(c.day, SCREENING, AWAITING_COURT)


def approve(run: Run) -> None:
    """Approval: a hearing queue with daily capacity (or an administrative decision), then
    the ruling takes effect."""
    streams, ledger = run.streams, run.ledger
    for c in run.current:
        a, regime, sent = c.ids, c.regime, c.sentence_end
        capacity = regime.approval_capacity_per_day
        hearing = fifo_serve(c.day, sent, a, run.n_days, per_day=capacity).astype(np.int64)
        left = sent <= hearing
        ledger.move(sent[left], AWAITING_COURT, RELEASED, "sentence_releases")
        u_refusal = streams.uniform(c.stream("approval.refusal"), a)
        refused = ~left & (u_refusal < regime.approval_refusal_prob)
        ledger.move(hearing[refused], AWAITING_COURT, INCARCERATED, "rejected_court", a[refused])
        run.back(a[refused], hearing[refused], sent[refused], c.enlisted[refused], refused=True)
        c.day = hearing
        c.keep(~left & ~refused)
        u_in_force = streams.uniform(c.stream(f"in_force.{c.rid}"), c.ids)
        c.day = c.day + regime.approval_days.days(u_in_force)


def train(run: Run) -> None:
    """A training place (if places are limited), then the contract: released to the army,
    with the end of service fixed by the law; training until deployment. No contract is
    signed on or after the war's end: those approved go back to custody on the later of
    the war's end and their ruling taking effect."""
    pop, ledger = run.pop, run.ledger
    for c in run.current:
        a, regime, sent = c.ids, c.regime, c.sentence_end
        u_days = run.streams.uniform(c.stream(f"train_days.{c.rid}"), a)
        c.train_days = regime.training_days.days(u_days, 1)
        places = regime.training_places
        contract = fifo_serve(
            c.day, sent, a, run.n_days, places=places, hold_days=c.train_days
        ).astype(np.int64)
        stop = contract >= run.war_end
        leave_day = np.where(stop, np.maximum(c.day, run.war_end), contract)
        left = sent <= leave_day
        ledger.move(sent[left], AWAITING_COURT, RELEASED, "sentence_releases")
        back = ~left & stop
        ledger.move(leave_day[back], AWAITING_COURT, INCARCERATED, ids=a[back])
        ledger.move(sent[back], INCARCERATED, RELEASED, "sentence_releases", a[back])
        c.contract = contract
        c.keep(~left & ~stop & (contract < run.n_days))
        a, contract = c.ids, c.contract
        ledger.move(contract, AWAITING_COURT, TRAINING, "released_to_army")
        ledger.count(contract[c.enlisted > 0], "reenlisted")
        run.recruits_offence.append(pop.offence[a])
        if run.log is not None and c.round == 1:
            run.log.contract_day[a] = contract

        # Held in int32, exactly: contracts are within the horizon, service ends at most
        # NEVER, deployments (before the end of service) below it; those who never deploy
        # (`early`) are NEVER. Worked out a piece at a time.
        overriding = rules.overriding_regimes(run.spans, c.r_idx)
        name = c.stream(f"formation_days.{c.rid}")
        c.service_end, c.deploy = np.empty(len(a), np.int32), np.empty(len(a), np.int32)
        c.early = np.empty(len(a), dtype=bool)
        for p in pieces(len(a)):
            x = a[p]
            app_status = None  # the status at application matters only if terms change
            if overriding:
                status = pop.status0[x], pop.investigation_end[x], pop.trial_end[x]
                app_status = rules.status_on(*status, c.applied[p])
            age0 = pop.age0[x]
            end = rules.service_end(
                run.spans, c.r_idx, contract[p], age0, run.demobilised, app_status
            )
            u_formation = run.streams.uniform(name, x)
            deploy = contract[p] + c.train_days[p] + regime.formation_days.days(u_formation)
            c.early[p] = end <= deploy
            c.service_end[p], c.deploy[p] = end, np.minimum(deploy, NEVER)
        ledger.move(c.service_end[c.early], TRAINING, VETERANS, "service_completed")
        ledger.move(c.deploy[~c.early], TRAINING, DEPLOYED, "deployed_total")
        c.contract = c.contract.astype(np.int32)
        c.day, c.train_days = c.deploy, UNSET  # the next stage starts then; training is done


def reapply(run: Run) -> None:
    """The next round: people back in custody (refused, caught deserters, reoffenders) may
    apply again under the regime then in force, if it takes them (`rules.later_window`);
    those who do not are released when their custody ends. Each person's decision is
    their own, so the people back are sifted as they came back, a piece at a time
    (`service.pieces`: the windows' temporaries follow the piece, not everyone back), each
    let go once sifted; only those who apply are kept, in order, for the cohorts."""
    pending, run.pending, run.current, ledger = run.pending, [], [], run.ledger
    run.round += 1
    sift = run.round <= MAX_ROUNDS and any(rules.takes_back(sp[1]) for sp in run.spans)
    kept: list[tuple[np.ndarray, ...]] = []  # (regime, rows, custody end, day, contracts)
    while pending:
        ids, day_back, end, enlisted, refused = pending.pop(0)
        for part in pieces(len(ids)):
            app_day = np.full(len(ids[part]), NEVER, dtype=np.int32)  # < horizon: applied
            app_regime = np.full(len(app_day), -1, dtype=np.int8)
            if sift:
                spell = (
                    ids[part].astype(np.int64),
                    day_back[part].astype(np.int64),
                    end[part].astype(np.int64),
                    enlisted[part] > 0,
                    refused[part].astype(np.int64),
                )
                open_to = applications.open_regimes(run, spell)
                for status in rules.STATUS_ORDER:  # in this order, as in round 1
                    for r_idx in open_to:
                        if rules.covers(run.spans[r_idx][1], status):
                            applications.schedule_again(
                                run, status, r_idx, spell, app_day, app_regime
                            )
            stays, rows, ends = app_day >= run.n_days, ids[part], end[part]
            ledger.move(ends[stays], INCARCERATED, RELEASED, "sentence_releases", rows[stays])
            columns = (app_regime, rows, ends, app_day, enlisted[part])
            kept.append(tuple(x[~stays] for x in columns))
        del ids, day_back, end, enlisted, refused
    run.release()  # the people back, sifted
    if not kept:
        return
    regimes, ids, end, app_day, enlisted = (np.concatenate(x) for x in zip(*kept, strict=True))
    del kept
    for r_idx, (rid, regime, _start, _end) in enumerate(run.spans):
        a = np.flatnonzero(regimes == r_idx)
        if len(a):
            rows, applied = ids[a], app_day[a].astype(np.int64)
            cohort = Cohort(r_idx, rid, regime, rows, end[a], applied, run.round, enlisted[a])
            run.current.append(cohort)


Stage = Callable[[Run], None]
STAGES: tuple[Stage, ...] = (apply, screen, approve, train, deploy, aftermath)
ROUND_STAGES: tuple[Stage, ...] = (reapply, screen, approve, train, deploy, aftermath)


def simulate(
    scenario: Scenario,
    seed: int = 0,
    population: int | None = None,
    days: int | None = None,
    record_people: bool = False,
    threads: int | None = None,
) -> Result:
    """Run the vectorised engine once: the `STAGES` in order over one `Run`.

    `record_people` adds a per-person table of events; `threads` is the number of threads
    of the block pass (`sim.engines.threads.run_threads`; the outputs are the same for
    any number). `timings` has one entry per stage: wall time, except `population` and
    `apply`, the block pass's time drawing people and on the rest, summed over threads.
    """
    t0 = time.perf_counter()
    run = Run.start(scenario, seed, population, days, record_people, run_threads(threads))
    # What earlier work freed (a previous run's result, say) goes back first: the block
    # pass's threads allocate in arenas of their own, which cannot reuse it.
    run.release()
    timings = {"population": 0.0}
    for stage in STAGES:  # each stage's freed memory given back before the next's
        lap = time.perf_counter()
        stage(run)
        run.release()
        timings[stage.__name__] = time.perf_counter() - lap
    timings["population"] = run.population_seconds
    timings["apply"] = run.apply_seconds
    lap = time.perf_counter()
    run.file_recruits()
    while run.pending:  # rounds of people coming back, until nobody is left to decide on
        for stage in ROUND_STAGES:
            stage(run)
            run.release()
        run.file_recruits()
    timings["rounds"] = time.perf_counter() - lap
    lap = time.perf_counter()
    result = run.result(seed, timings)
    timings["output"] = time.perf_counter() - lap
    timings["total"] = time.perf_counter() - t0
    return result


# ---------------------------------------------------------------------- event-day helpers
