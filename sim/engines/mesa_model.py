"""Mesa engine, the world: a day-by-day model of custody and the recruitment pipeline.

The day-by-day reading of what `sim.engines.vector` computes in bulk: the law
(`sim.model.rules`) applied per agent and per day, so that each rule can be read where it
applies. The model keeps the calendar (which regime is in force for which legal status),
the shared queues (court hearings with a daily capacity, training places held for the
training period) and the records; each `PersonAgent` keeps its own path. Both engines
start from the same synthetic population; the statistical tests compare their outputs in
distribution.

A day runs in this order: (1) admissions; (2) every agent's own processes (release at
sentence end first, then screening verdicts, training, deployment, desertion, reoffending);
(3) the approval queue; (4) rulings taking effect, training places and contracts;
(5) applications. Stocks are recorded at the end of the day, flows on the day they happen.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import defaultdict
from collections.abc import Callable

import mesa
import numpy as np
from mesa import DataCollector
from mesa.agent import AgentSet

from ..model import rules
from ..model.population import synthesize
from ..model.taxonomy import (
    CONVICTED,
    CUSTODY_GROUP_COLUMNS,
    DAYS_PER_YEAR,
    FLOW_COLUMNS,
    NEVER,
    OFFENCES,
    SEXES,
    STATES,
    STATUSES,
)
from ..results import Result, build_timeseries, offence_counts, recruits_frame, summarize
from ..scenario import Scenario
from .mesa_agents import ABSORBING, AWAITING_COURT, INCARCERATED, PersonAgent, chance

N_STATES = len(STATES)
N_FLOWS = len(FLOW_COLUMNS)
DAILY = tuple(f"{flow}_today" for flow in FLOW_COLUMNS)  # DataCollector names of daily flows


def _reporter(record: str, i: int | None = None) -> Callable[[mesa.Model], int]:
    """A DataCollector reporter: the model's `record` (its item `i` for a list)."""

    def report(model: mesa.Model) -> int:
        """Read the recorded value from the model."""
        value = getattr(model, record)
        return value if i is None else value[i]

    return report


class PrisonFlowModel(mesa.Model):
    """Custody, regimes and recruitment for one scenario, stepped one day at a time."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int = 0,
        population: int | None = None,
        days: int | None = None,
    ):
        super().__init__(seed=seed)
        self.scenario = scenario
        self.params = scenario.population
        self.n_days = scenario.n_days if days is None else int(days)
        self.pop = synthesize(scenario, seed, population, self.n_days)
        self.spans = rules.regime_spans(scenario)
        self.war_end, self.demobilised = rules.war_days(scenario)
        self.day = 0

        # Recruiter visits: every `interval` days per facility, from a random phase.
        self.visit_phase = rules.visit_phases(self.params, lambda _name, n: self.rng.random(n))
        self._rates: dict[tuple[int, int], np.ndarray] = {}
        # Shared queues per application regime.
        self.hearings: list[list] = [[] for _ in self.spans]  # (arrival, pid, agent)
        self.placements: list[list] = [[] for _ in self.spans]  # (ruling day, pid, agent)
        self.in_training = [0] * len(self.spans)  # places held today
        # Per regime: day -> places freed that day.
        self.vacated: list[defaultdict[int, int]] = [defaultdict(int) for _ in self.spans]

        # Records: stocks now, flows today, eligible at the end of today.
        self.stock = [0] * N_STATES
        self.flows_today = [0] * N_FLOWS
        self.eligible_today = 0
        self.custody_today = [0] * len(CUSTODY_GROUP_COLUMNS)
        self.recruit_offences: list[int] = []
        self.recruits: list[dict] = []  # rows of the recruits table
        self.absorbed = 0  # agents absorbed since `active` was last pruned

        admit = self.pop.admit_day
        self.first_admitted = np.searchsorted(admit, np.arange(self.n_days + 1), side="left")
        self.active = AgentSet([], random=self.random)  # agents not yet absorbed
        for pid in range(self.pop.n_initial):
            self._admit(pid)

        reporters = {name: _reporter("stock", i) for i, name in enumerate(STATES)}
        reporters["eligible"] = _reporter("eligible_today")
        reporters |= {n: _reporter("custody_today", i) for i, n in enumerate(CUSTODY_GROUP_COLUMNS)}
        reporters |= {name: _reporter("flows_today", i) for i, name in enumerate(DAILY)}
        self.datacollector = DataCollector(model_reporters=reporters)

    # ------------------------------------------------------------------ calendar

    def application_rate(self, r_idx: int, status: int) -> np.ndarray:
        """Daily application hazard at person factor 1 under regime `r_idx` for `status`,
        shape (facilities or 1, days): the law's day term, `rules.daily_rates`."""
        key = (r_idx, status)
        if key not in self._rates:
            span = self.spans[r_idx]
            self._rates[key] = rules.daily_rates(
                self.scenario, span, status, self.n_days, self.visit_phase
            )
        return self._rates[key]

    # ------------------------------------------------------------------ the day

    def _admit(self, pid: int) -> None:
        agent = PersonAgent(self, pid)
        self.stock[INCARCERATED] += 1
        if self.pop.admit_day[pid] >= 0:
            self.flows_today[FLOW_COLUMNS.index("admissions")] += 1
        self.active.add(agent)

    def step(self) -> None:
        """One day."""
        day = self.day
        self.flows_today = [0] * N_FLOWS
        for pid in range(self.first_admitted[day], self.first_admitted[day + 1]):
            self._admit(int(pid))
        self.active.do("step")
        self._hold_hearings(day)
        self._sign_contracts(day)
        self._take_applications(day)
        self.datacollector.collect(self)
        # Absorbed agents do nothing when stepped; drop them from time to time.
        if 20 * self.absorbed > len(self.active):
            self.active = self.active.select(lambda a: a.state not in ABSORBING)
            self.absorbed = 0
        self.day += 1

    def join_hearing(self, agent: PersonAgent, day: int) -> None:
        """Queue an applicant for a hearing in their regime, ordered by day then id.

        Args:
            agent: The applicant.
            day: Day of the hearing.
        """
        heapq.heappush(self.hearings[agent.r_idx], (day, agent.pid, agent))

    def wait_for_place(self, agent: PersonAgent) -> None:
        """Queue an approved applicant for a place in their regime, ordered by ruling day.

        Args:
            agent: The approved applicant.
        """
        heapq.heappush(self.placements[agent.r_idx], (agent.ruling_day, agent.pid, agent))

    def _hold_hearings(self, day: int) -> None:
        """Serve each regime's approval queue in order of arrival, up to its daily capacity
        (0 = everyone waiting). People released meanwhile have left the queue."""
        for r_idx, queue in enumerate(self.hearings):
            capacity = self.spans[r_idx][1].approval_capacity_per_day or math.inf
            heard = 0
            while queue and heard < capacity and queue[0][0] <= day:
                agent = heapq.heappop(queue)[2]
                if agent.state == AWAITING_COURT:
                    agent.hear(day)
                    heard += 1

    def _sign_contracts(self, day: int) -> None:
        """Approved people whose ruling has taken effect take free training places in order
        of ruling day (all of them if places are unlimited) and sign the contract."""
        for r_idx, queue in enumerate(self.placements):
            places = self.spans[r_idx][1].training_places
            self.in_training[r_idx] -= self.vacated[r_idx].pop(day, 0)
            while day >= self.war_end and queue and queue[0][0] <= day:
                agent = heapq.heappop(queue)[2]  # no contract after the war: back to custody
                if agent.state == AWAITING_COURT:
                    agent.back_to_custody()
            while queue and queue[0][0] <= day:
                if places and self.in_training[r_idx] >= places:
                    break
                agent = heapq.heappop(queue)[2]
                if agent.state != AWAITING_COURT:
                    continue
                self.in_training[r_idx] += 1
                self.vacated[r_idx][day + agent.train_days] += 1
                agent.sign_contract(day)

    def _take_applications(self, day: int) -> None:
        """Eligible people apply with probability 1 - exp(-person factor * day term); those
        still eligible afterwards are counted."""
        in_force = rules.regimes_in_force(self.spans, day)
        status_today = rules.status_on(
            self.pop.status0, self.pop.investigation_end, self.pop.trial_end, day
        ).tolist()
        candidates = []
        custody = [0] * len(CUSTODY_GROUP_COLUMNS)  # incarcerated by status and sex
        for agent in self.active:
            if agent.state != INCARCERATED:
                continue
            status = status_today[agent.pid]
            group = status * len(SEXES) + (not agent.male)
            custody[group] += 1
            if agent.applied and not agent.comes_back:
                continue
            r_idx = in_force.get(status)
            if r_idx is not None and agent.is_eligible(r_idx, status, day):
                candidates.append((agent, r_idx, status, group))
        eligible = 0
        draws = self.rng.random(len(candidates))
        for (agent, r_idx, status, group), u in zip(candidates, draws, strict=True):
            rates = self.application_rate(r_idx, status)
            row = agent.facility if rates.shape[0] > 1 else 0
            hazard = agent.person_factor(r_idx, status, day) * rates[row, day]
            if u < chance(hazard):
                agent.apply(r_idx, day)
                custody[group] -= 1
            else:
                eligible += 1
        self.eligible_today = eligible
        self.custody_today = custody

    def enlist(self, agent: PersonAgent, day: int) -> dict:
        """A new row of the recruits table for `agent`, signing a contract on `day`; the
        agent fills in how the service ends.

        Returns:
            The row (days past the horizon stay NEVER until the table is built).
        """
        sentenced = agent.app_status == CONVICTED and agent.sentence_end < NEVER
        row = {
            "person": agent.pid,
            "regime": self.spans[agent.r_idx][0],
            "enlistment": agent.enlistments,
            "status": STATUSES[agent.app_status],
            "offence": OFFENCES[agent.offence],
            "male": agent.male,
            "age_years": agent.age0 + day / DAYS_PER_YEAR,
            "sentence_years": agent.sentence_years,
            "remaining_sentence_days": agent.sentence_end - agent.app_day if sentenced else -1,
            "application_day": agent.app_day,
            "contract_day": day,
            "deploy_day": agent.deploy_day if agent.deploy_day < agent.service_end else -1,
            "exit_day": -1,
            "outcome": "",
            "returned_to_custody_day": -1,
        }
        self.recruits.append(row)
        return row

    # ------------------------------------------------------------------ outputs

    def result(self, seed: int, timings: dict[str, float]) -> Result:
        """The canonical time series and summary from the collected daily records."""
        df = self.datacollector.get_model_vars_dataframe()
        stocks = df[list(STATES)].to_numpy(dtype=np.int64)
        flows = df[list(DAILY)].to_numpy(dtype=np.int64)
        eligible = df["eligible"].to_numpy(dtype=np.int64)
        custody = df[list(CUSTODY_GROUP_COLUMNS)].to_numpy(dtype=np.int64)
        start = self.scenario.scenario.start_date
        ts = build_timeseries(start, stocks, eligible, flows, custody)
        by_offence = offence_counts(np.asarray(self.recruit_offences, dtype=np.uint8))
        return Result(
            scenario=self.scenario.name,
            engine="agents",
            seed=seed,
            timeseries=ts,
            summary=summarize(ts, by_offence, self.pop.n_initial),
            recruits_by_offence=by_offence,
            timings=timings,
            n_agents=self.pop.n,
            recruits=self.recruits_table(),
        )

    def recruits_table(self):
        """The recruits table (`sim.results.RECRUIT_COLUMNS`): one row per contract."""
        if not self.recruits:
            return recruits_frame()
        table = {k: [row[k] for row in self.recruits] for k in self.recruits[0]}
        deploy = np.asarray(table["deploy_day"])
        table["deploy_day"] = np.where(deploy < self.n_days, deploy, -1)
        return recruits_frame(table)


def simulate(
    scenario: Scenario, seed: int = 0, population: int | None = None, days: int | None = None
) -> Result:
    """Run the Mesa engine once."""
    t0 = time.perf_counter()
    model = PrisonFlowModel(scenario, seed=seed, population=population, days=days)
    timings = {"population": time.perf_counter() - t0}
    lap = time.perf_counter()
    for _ in range(model.n_days):
        model.step()
    timings["simulation"] = time.perf_counter() - lap
    lap = time.perf_counter()
    result = model.result(seed, timings)
    timings["output"] = time.perf_counter() - lap
    timings["total"] = time.perf_counter() - t0
    return result
