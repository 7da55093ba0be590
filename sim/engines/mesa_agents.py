"""Mesa engine, the person: one agent per person, living the recruitment pipeline day by day.

The day-by-day reading of what `sim.engines.vector` computes as event days. The rules
(who is eligible, the screening verdict, the end of service, custody after desertion) are
the law's, `sim.model.rules`, called here for one person; what stays here is the person's
day: which state they are in and what may happen to them today. Everything an agent does
alone lives here; what agents share (the hearing queue, training places, the calendar of
regimes) lives in `sim.engines.mesa_model`. Daily chances come from constant hazards
(p = 1 - exp(-rate)), so the two engines agree in distribution although they draw
different random numbers.
"""

from __future__ import annotations

import math

import mesa

from ..model import rules
from ..model.taxonomy import (
    AWAITING_COURT,
    AWOL,
    DEAD,
    DEPLOYED,
    FLOW_CODE,
    INCARCERATED,
    NEVER,
    OUTCOMES,
    PRISONERS_OF_WAR,
    RELEASED,
    SCREENING,
    TRAINING,
    VETERANS,
    WOUNDED_RETURNED,
)
from ..scenario import Regime

NEVER_DAY = int(NEVER)
# States nobody leaves: the model stops stepping agents that reach them.
ABSORBING = frozenset({RELEASED, DEAD, PRISONERS_OF_WAR})
# Custody states that end when the sentence does (release takes precedence over all else).
IN_CUSTODY = frozenset({INCARCERATED, SCREENING, AWAITING_COURT})
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
        self.applied = False  # has applied before
        self.refused_day = NEVER_DAY  # day of the last refusal (since the last contract)
        self.enlistments = 0  # contracts signed
        self.treated_until = 0  # wounded, back to duty on this day
        self._person: dict[tuple[int, int], float] = {}
        self._windows: dict[tuple[int, int, int], tuple[int, int]] = {}
        # The pipeline, filled in as the person goes through it.
        self.r_idx = -1  # position of the application regime in model.spans (once applied)
        self.regime: Regime | None = None  # the application regime
        self.app_day = self.app_status = -1  # day and legal status at application
        self.screen_end = 0
        self.screen_rejected = False
        self.health_rejected = False
        self.phase: str | None = None
        self.ruling_day = self.train_days = self.formation_days = 0
        self.contract_day = self.deploy_day = self.service_end = NEVER_DAY
        self.record: dict | None = None  # this enlistment's row of the recruits table

    # ------------------------------------------------------------------ the law, for one person

    def legal_status(self, day: int) -> int:
        """Legal status on `day`: the case moves suspect -> defendant -> convicted."""
        return int(rules.status_on(self.status0, self.investigation_end, self.trial_end, day))

    def window(self, r_idx: int, status: int) -> tuple[int, int]:
        """Days [lo, hi) on which the law lets this person apply under regime `r_idx` while
        holding `status` (empty if the regime does not cover the status or excludes them)."""
        key = (r_idx, status, self.sentence_end)
        if key not in self._windows:
            regime = self.model.spans[r_idx][1]
            lo = hi = 0
            if rules.covers(regime, status) and rules.not_excluded(
                regime, self.offence, self.former_official, self.sentence_end, self.male
            ):
                lo, hi = rules.personal_window(regime, status, self.sentence_end, self.age0)
            self._windows[key] = (int(lo), int(hi))
        return self._windows[key]

    def is_eligible(self, r_idx: int, status: int, day: int) -> bool:
        """May this person, holding `status`, apply on `day` under regime `r_idx` (in force
        for that status today)?"""
        if self.state != INCARCERATED or day >= self.sentence_end:
            return False
        if self.applied and not self.may_apply_again(self.model.spans[r_idx][1], day):
            return False
        lo, hi = self.window(r_idx, status)
        return lo <= day < hi

    @property
    def comes_back(self) -> bool:
        """Back in custody after a refusal or a contract (a candidate of the loops)."""
        return self.refused_day < NEVER_DAY or self.enlistments > 0

    def may_apply_again(self, regime: Regime, day: int) -> bool:
        """After an earlier application: former recruits only if the regime admits them;
        after a refusal only if it takes re-applications, once its wait is over
        (`rules.reapply_from`, as in the vector engine)."""
        if not self.comes_back:
            return False
        earliest = rules.reapply_from(regime, self.enlistments > 0, self.refused_day)
        return bool(earliest < NEVER_DAY) and day >= int(earliest)

    def _back_in_custody(self, state_flows: tuple[str, ...], day: int, refused: bool) -> None:
        """Back in custody: the person term of the hazard of applying is evaluated afresh
        on the first day the person may apply again."""
        self._person.clear()
        self.refused_day = day if refused else NEVER_DAY
        self._move(INCARCERATED, *state_flows)

    def person_factor(self, r_idx: int, status: int, day: int) -> float:
        """Person term of the hazard of applying under regime `r_idx` with `status`, fixed
        on the first day the person is found eligible (`day`), as in the vector engine."""
        key = (r_idx, status)
        if key not in self._person:
            params = self.model.params
            years = rules.custody_avoided_years(status, self.sentence_end, self.sentence_years, day)
            value = rules.person_factor(params, self.motivation, self.climate, years)
            self._person[key] = float(value)
        return self._person[key]

    # ------------------------------------------------------------------ transitions

    def _move(self, state: int, *flows: str) -> None:
        """Change state and count the flows, keeping the model's stocks current; an exit
        from service goes into the recruits table."""
        if self.state in (TRAINING, DEPLOYED) and state != DEPLOYED and self.record is not None:
            self.record["exit_day"] = self.model.day
            self.record["outcome"] = flows[0]
        elif self.state in (AWOL, VETERANS) and state == INCARCERATED and self.record:
            self.record["returned_to_custody_day"] = self.model.day
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
        if self.applied:
            self.model.flows_today[FLOW_CODE["reapplications"]] += 1
        self.applied = True
        self.r_idx, self.regime = r_idx, regime
        self.app_day, self.app_status = day, self.legal_status(day)
        self._move(SCREENING, "applications")
        self.screen_end = day + int(regime.screening_days.days(rng.random(1), 1)[0])
        u_psych, u_poly, u_cmd = rng.random(3)
        self.health_rejected = bool(rules.health_rejected(regime, self.infectious, self.fitness))
        self.screen_rejected = bool(
            rules.screening_rejected(regime, self.infectious, self.fitness, u_psych, u_poly, u_cmd)
        )

    def hear(self, day: int) -> None:
        """The approval hearing: refusal sends the person back; approval starts the ruling."""
        regime = self.regime
        assert regime is not None, "only applicants are heard"
        rng = self.model.rng
        if rng.random() < regime.approval_refusal_prob:
            self.phase = None
            self._back_in_custody(("rejected_court",), day, refused=True)
            return
        self.phase = APPROVED
        self.ruling_day = day + int(regime.approval_days.days(rng.random(1))[0])
        self.train_days = int(regime.training_days.days(rng.random(1), 1)[0])
        self.formation_days = 0  # no draw without a delay (the other draws stay the same)
        if regime.formation_days.mean_value > 0:
            self.formation_days = int(regime.formation_days.days(rng.random(1))[0])
        self.model.wait_for_place(self)

    def back_to_custody(self) -> None:
        """Approved, but no contract is signed after the war's end: back to custody."""
        self.phase = None
        self._move(INCARCERATED)

    def sign_contract(self, day: int) -> None:
        """Released to the army: training starts today; the end of service is fixed now."""
        self.phase = None
        self.contract_day = day
        self.deploy_day = day + self.train_days + self.formation_days
        self.refused_day = NEVER_DAY
        self.enlistments += 1
        if self.enlistments > 1:
            self.model.flows_today[FLOW_CODE["reenlisted"]] += 1
        self.service_end = self.contracted_service_end()
        self._move(TRAINING, "released_to_army")
        self.model.recruit_offences.append(self.offence)
        self.record = self.model.enlist(self, day)
        self.live(day)  # service may already be over (age limit reached, war over)

    def contracted_service_end(self) -> int:
        """Service end under the application regime, changed by later regimes that override
        running contracts for the status the person applied with."""
        spans, demobilised = self.model.spans, self.model.demobilised
        end = rules.service_end(
            spans, self.r_idx, self.contract_day, self.age0, demobilised, self.app_status
        )
        return int(end)

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
                    self._back_in_custody(("rejected_screening", *health), day, refused=True)
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
            if day < self.treated_until:
                return  # wounded, in treatment
            assert regime is not None
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
                if k == WOUNDED_RETURNED:
                    treatment = regime.treatment_days.days(rng.random(1))[0]
                    self.treated_until = day + int(treatment)
        elif state == AWOL:
            assert regime is not None
            self._at_large(day, regime)
        elif state == VETERANS:
            params = self.model.params
            if rng.random() < chance(params.reoffend_per_day):
                sentence = int(params.reoffence_sentence_days.days(rng.random(1))[0])
                self.sentence_end = int(rules.custody_end(day, sentence))
                self._back_in_custody(("reoffended", "returned_to_custody"), day, refused=False)

    def _at_large(self, day: int, regime: Regime) -> None:
        """A deserter today: back to the unit, or caught (executed where the regime does
        so, else custody by the law's arithmetic), at competing daily hazards."""
        rng = self.model.rng
        caught, back = regime.awol_caught_per_day, regime.awol_returned_per_day
        if not rng.random() < chance(caught + back):
            return
        if back > 0 and rng.random() * (caught + back) < back:
            self._move(DEPLOYED, "returned_to_unit")
            if self.record is not None:  # the service goes on
                self.record["exit_day"], self.record["outcome"] = -1, ""
            return
        if regime.deserter_execution_prob > 0 and rng.random() < regime.deserter_execution_prob:
            self._move(DEAD, "executed")
            if self.record is not None:
                self.record["outcome"] = "executed"
            return
        added = int(regime.awol_added_sentence_days.days(rng.random(1))[0])
        custody_days = rules.deserter_custody_days(self.sentence_end, self.contract_day, added)
        self.sentence_end = int(rules.custody_end(day, custody_days))
        self._back_in_custody(("returned_to_custody",), day, refused=False)
