"""Mesa engine, the person: one agent per person, living the recruitment pipeline day by day.

This is the readable statement of the rules that `sim.vector` computes as event days: who
is eligible on a given day, the daily chance to apply, screening, the court, training,
deployment, desertion and what happens to veterans. Everything an agent does alone lives
here; what agents share (the hearing queue, training places, the calendar of regimes) lives
in `sim.model`. Daily chances come from constant hazards (p = 1 - exp(-rate)), so the two
engines agree in distribution although they draw different random numbers.
"""

from __future__ import annotations

import math

import mesa

from .population import DAYS_PER_YEAR, NEVER
from .rules import sentence_factor
from .scenario import Regime
from .taxonomy import (
    AWAITING_COURT,
    AWOL,
    CONVICTED,
    DEAD,
    DEFENDANT,
    DEPLOYED,
    FLOW_CODE,
    INCARCERATED,
    OFFENCES,
    PRETRIAL,
    PRISONERS_OF_WAR,
    RELEASED,
    SCREENING,
    STATUSES,
    SUSPECT,
    TRAINING,
    VETERANS,
)

NEVER_DAY = int(NEVER)
# States nobody leaves: the model stops stepping agents that reach them.
ABSORBING = frozenset({RELEASED, DEAD, PRISONERS_OF_WAR})
# Custody states that end when the sentence does (release takes precedence over all else).
IN_CUSTODY = frozenset({INCARCERATED, SCREENING, AWAITING_COURT})
# Deployment outcomes, in DEPLOYMENT_HAZARDS order: (state entered, flow counted).
OUTCOMES = (
    (DEAD, "killed"),
    (VETERANS, "wounded_discharged"),
    (AWOL, "deserted"),
    (PRISONERS_OF_WAR, "captured"),
    (VETERANS, "service_completed"),
)
# Sub-phases of awaiting_court.
HEARING = "hearing"  # in the approval queue
APPROVED = "approved"  # approved; waiting for the ruling to take effect and a training place


def chance(rate: float) -> float:
    """Probability of at least one event in a day at a constant daily hazard."""
    return -math.expm1(-rate)


class PersonAgent(mesa.Agent):
    """A person in custody at the start or admitted later; `pid` is the population row."""

    def __init__(self, model, pid: int):
        super().__init__(model)
        pop = model.pop
        self.pid = pid
        self.status0 = int(pop.status0[pid])
        self.investigation_end = int(pop.investigation_end[pid])
        self.trial_end = int(pop.trial_end[pid])
        self.sentence_end = int(pop.sentence_end[pid])
        self.sentence_years = float(pop.sentence_years[pid])
        self.offence = int(pop.offence[pid])
        self.male = bool(pop.male[pid])
        self.age0 = float(pop.age0[pid])
        self.former_official = bool(pop.former_official[pid])
        self.infectious = bool(pop.infectious[pid])
        self.fitness = float(pop.fitness[pid])
        self.motivation = float(pop.motivation[pid])
        self.facility = int(pop.facility[pid])
        self.climate = float(pop.facility_climate[self.facility])
        self.state = INCARCERATED
        self.applied = False  # applies at most once in a lifetime
        self._propensity: dict[int, float] = {}
        # The pipeline, filled in as the person goes through it.
        self.r_idx: int | None = None  # position of the application regime in model.spans
        self.regime: Regime | None = None
        self.app_day = self.app_status = None
        self.screen_end = 0
        self.screen_rejected = False
        self.health_rejected = False
        self.phase: str | None = None
        self.ruling_day = self.train_days = 0
        self.contract_day = self.deploy_day = self.service_end = NEVER_DAY

    # ------------------------------------------------------------------ rules of eligibility

    def legal_status(self, day: int) -> int:
        """Legal status on `day`: the case moves suspect -> defendant -> convicted."""
        if self.status0 == SUSPECT and day < self.investigation_end:
            return SUSPECT
        if self.status0 in (SUSPECT, DEFENDANT) and day < self.trial_end:
            return DEFENDANT
        if self.status0 == PRETRIAL and day < self.trial_end:
            return PRETRIAL
        return CONVICTED

    def age_day(self, years: float) -> int:
        """First day on which the person is at least `years` old."""
        return math.ceil((years - self.age0) * DAYS_PER_YEAR)

    def is_eligible(self, regime: Regime, day: int) -> bool:
        """May this person apply under `regime` (in force today) on `day`?"""
        if self.state != INCARCERATED or self.applied or day >= self.sentence_end:
            return False
        status = self.legal_status(day)
        if STATUSES[status] not in regime.statuses:
            return False
        if OFFENCES[self.offence] in regime.excluded_offences:
            return False
        if self.former_official and not regime.admits_former_officials:
            return False
        if self.sentence_end == NEVER_DAY and not regime.admits_life_sentences:
            return False
        if ("male" if self.male else "female") not in regime.sexes:
            return False
        limit = regime.max_remaining_sentence_days
        if status == CONVICTED and limit is not None and self.sentence_end - day > limit:
            return False
        return self.age_day(regime.min_age_years) <= day < self.age_day(regime.max_age_years)

    def propensity(self, r_idx: int) -> float:
        """Personal multiplier of the regime's application rate (motivation, peers, sentence)."""
        if r_idx not in self._propensity:
            regime = self.model.spans[r_idx][1]
            factor = float(sentence_factor(regime, self.sentence_years))
            self._propensity[r_idx] = self.motivation * self.climate * factor
        return self._propensity[r_idx]

    # ------------------------------------------------------------------ transitions

    def _move(self, state: int, *flows: str) -> None:
        """Change state and count the flows, keeping the model's stocks current."""
        stock = self.model.stock
        stock[self.state] -= 1
        stock[state] += 1
        self.state = state
        if state in ABSORBING:
            self.model.absorbed += 1
        for flow in flows:
            self.model.flows_today[FLOW_CODE[flow]] += 1

    def apply(self, r_idx: int, day: int) -> None:
        """Apply under regime `r_idx`: screening starts, its length and verdict are drawn."""
        regime = self.model.spans[r_idx][1]
        rng = self.model.rng
        self.applied = True
        self.r_idx, self.regime = r_idx, regime
        self.app_day, self.app_status = day, self.legal_status(day)
        self._move(SCREENING, "applications")
        self.screen_end = day + int(regime.screening_days.days(rng.random(1), 1)[0])
        u_psych, u_poly, u_cmd = rng.random(3)
        self.health_rejected = self.fitness < regime.min_fitness or (
            self.infectious and regime.excludes_infectious_carriers
        )
        self.screen_rejected = (
            self.health_rejected
            or u_psych < regime.psych_reject_prob
            or u_poly < regime.polygraph_reject_prob
            or u_cmd < regime.commander_refusal_prob
        )

    def hear(self, day: int) -> None:
        """The approval hearing: refusal sends the person back; approval starts the ruling."""
        regime = self.regime
        rng = self.model.rng
        if rng.random() < regime.approval_refusal_prob:
            self.phase = None
            self._move(INCARCERATED, "rejected_court")
            return
        self.phase = APPROVED
        self.ruling_day = day + int(regime.approval_days.days(rng.random(1))[0])
        self.train_days = int(regime.training_days.days(rng.random(1), 1)[0])
        self.model.wait_for_place(self)

    def sign_contract(self, day: int) -> None:
        """Released to the army: training starts today; the end of service is fixed now."""
        self.phase = None
        self.contract_day = day
        self.deploy_day = day + self.train_days
        self.service_end = self.contracted_service_end()
        self._move(TRAINING, "released_to_army")
        self.model.recruit_offences.append(self.offence)
        self.live(day)  # service may already be over (age limit reached, war over)

    def service_end_under(self, regime: Regime, contract_day: int) -> int:
        """Service end by the terms of `regime`: fixed term, war end or age limit, whichever
        comes first, but not before the contract (war over or age reached before signing)."""
        end = self.model.war_end
        if regime.contract == "fixed":
            end = min(end, contract_day + regime.contract_days)
        end = min(end, self.age_day(regime.max_service_age_years))
        return max(end, contract_day)

    def contracted_service_end(self) -> int:
        """Service end under the application regime, changed by later regimes that override
        running contracts for the status the person applied with."""
        end = self.service_end_under(self.regime, self.contract_day)
        for _rid, later, start, _end in self.model.spans[self.r_idx + 1 :]:
            if not later.overrides_existing_contracts:
                continue
            if STATUSES[self.app_status] not in later.statuses:
                continue
            if self.contract_day < start < end:
                end = max(self.service_end_under(later, self.contract_day), start)
        return end

    # ------------------------------------------------------------------ the day

    def step(self) -> None:
        """Today's individual processes (everything but queues and applications)."""
        self.live(self.model.day)

    def live(self, day: int) -> None:
        """Advance until nothing more happens today: one state may lead to another."""
        while True:
            before = self.state
            self._advance(day)
            if self.state == before or self.state in ABSORBING:
                return

    def _advance(self, day: int) -> None:
        """At most one transition out of the current state on `day`."""
        state = self.state
        rng = self.model.rng
        regime = self.regime
        if state in IN_CUSTODY:
            if self.sentence_end <= day:
                self.phase = None  # leaves any queue
                self._move(RELEASED, "sentence_releases")
            elif state == SCREENING and day >= self.screen_end:
                if self.screen_rejected:
                    health = ("rejected_health",) if self.health_rejected else ()
                    self._move(INCARCERATED, "rejected_screening", *health)
                else:
                    self.phase = HEARING
                    self._move(AWAITING_COURT)
                    self.model.join_hearing(self, day)
        elif state == TRAINING:
            if day >= self.service_end:
                self._move(VETERANS, "service_completed")
            elif day >= self.deploy_day:
                self._move(DEPLOYED, "deployed_total")
        elif state == DEPLOYED:
            if day >= self.service_end:
                self._move(VETERANS, "service_completed")
                return
            hazards = regime.hazards_per_day
            total = sum(hazards)
            if total > 0 and rng.random() < chance(total):
                x = rng.random() * total
                k = max(i for i, h in enumerate(hazards) if h > 0)  # guards rounding
                for i, h in enumerate(hazards):
                    if h > 0 and x < h:
                        k = i
                        break
                    x -= h
                self._move(*OUTCOMES[k])
        elif state == AWOL:
            if rng.random() < chance(regime.awol_caught_per_day):
                # Unserved custody at the contract plus time added for desertion.
                if self.sentence_end == NEVER_DAY:
                    remaining = NEVER_DAY
                else:
                    remaining = max(self.sentence_end - self.contract_day, 0)
                added = int(regime.awol_added_sentence_days.days(rng.random(1))[0])
                self.sentence_end = min(day + remaining + added, NEVER_DAY)
                self._move(INCARCERATED, "returned_to_custody")
        elif state == VETERANS:
            params = self.model.params
            if rng.random() < chance(params.reoffend_per_day):
                sentence = int(params.reoffence_sentence_days.days(rng.random(1))[0])
                self.sentence_end = min(day + sentence, NEVER_DAY)
                self._move(INCARCERATED, "reoffended", "returned_to_custody")
