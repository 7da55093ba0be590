"""The vector engine's records: transitions and flows by day, and the per-person log.

People's paths are computed as event days; the ledger collects each transition (day,
from-state, to-state) and each flow event (day, flow) and turns them into daily stocks
(`bincount` of transition days, then a cumulative sum) and daily flow counts. Moves into
and out of custody (`incarcerated`) also keep who moved, so that the incarcerated stock can
be split by legal status and sex (`custody_groups`).
"""

from __future__ import annotations

import numpy as np

from ..model.population import Population
from ..model.rules import status_on
from ..model.taxonomy import (
    CUSTODY_GROUP_COLUMNS,
    FLOW_CODE,
    FLOW_COLUMNS,
    INCARCERATED,
    NEVER,
    SEXES,
    STATES,
    STATUSES,
)

N_STATES = len(STATES)
N_FLOWS = len(FLOW_COLUMNS)


class Ledger:
    """Collects transitions (day, from-state, to-state) and flow events (day, flow)."""

    def __init__(self, n_days: int):
        self.n_days = n_days
        self.moves: list[tuple[np.ndarray, int | np.ndarray, int | np.ndarray]] = []
        self.flows: list[tuple[np.ndarray, int]] = []
        # Entries into (+1) and exits from (-1) `incarcerated`: (days, people, sign).
        self.custody: list[tuple[np.ndarray, np.ndarray, int]] = []

    def move(self, day, frm, to, flow: str | None = None, ids=None) -> None:
        """Record transitions between states, and the flow they count as, if any.

        Args:
            day: Day (or array of days) of the moves.
            frm: State left (one, or one per move).
            to: State entered (one, or one per move).
            flow: Name of the flow the moves count as, or None.
            ids: Who moves (population rows), required for moves into or out of
                `incarcerated` (one state each, then).
        """
        day = np.asarray(day)
        self.moves.append((day, frm, to))
        if flow is not None:
            self.flows.append((day, FLOW_CODE[flow]))
        touches = np.any(np.asarray(frm) == INCARCERATED) or np.any(np.asarray(to) == INCARCERATED)
        if touches:
            if ids is None or np.ndim(frm) or np.ndim(to):
                raise ValueError("moves into or out of incarcerated need `ids` and one state each")
            ids = np.asarray(ids)
            self.custody.append((day, ids, 1 if to == INCARCERATED else -1))

    def arrive(self, day, ids) -> None:
        """People entering custody from outside the model (admissions; day 0 for those
        already inside), for `custody_groups` (the stocks count them separately)."""
        self.custody.append((np.asarray(day), np.asarray(ids), 1))

    def custody_groups(self, pop: Population) -> np.ndarray:
        """End-of-day incarcerated stock by legal status and sex, from the recorded entries
        and exits: +1 for the status held on the day of entry, then at each later change
        of status (`rules.status_on`) -1 for the old one and +1 for the new; the reverse
        for an exit (which cancels the entry's later changes).

        Args:
            pop: The population (legal path and sex of each person).

        Returns:
            Array of shape (n_days, len(CUSTODY_GROUP_COLUMNS)).
        """
        n, width = self.n_days, len(CUSTODY_GROUP_COLUMNS)
        delta = np.zeros(n * width, dtype=np.int64)

        def add(day, status, male, sign: int) -> None:
            key = day * width + status.astype(np.int64) * len(SEXES) + (~male)
            delta[:] += sign * np.bincount(key, minlength=n * width)

        for day, ids, sign in self.custody:
            keep = day < n
            day, ids = day[keep].astype(np.int64), ids[keep]
            s0, inv = pop.status0[ids], pop.investigation_end[ids].astype(np.int64)
            trial, male = pop.trial_end[ids].astype(np.int64), pop.male[ids]
            add(day, status_on(s0, inv, trial, day), male, sign)
            for change, other in ((inv, None), (trial, inv)):
                later = (change > day) & (change < n)
                if other is not None:
                    later &= change != other  # one change of status on that day
                c = change[later]
                before = status_on(s0[later], inv[later], trial[later], c - 1)
                after = status_on(s0[later], inv[later], trial[later], c)
                moved = before != after
                add(c[moved], before[moved], male[later][moved], -sign)
                add(c[moved], after[moved], male[later][moved], sign)
        return np.cumsum(delta.reshape(n, width), axis=0)

    def stocks(self, initial: np.ndarray) -> np.ndarray:
        """Daily stock of each state, from the initial stocks and the recorded moves.

        Args:
            initial: Number of people in each state on day 0.

        Returns:
            Array of shape (n_days, states); moves past the horizon are ignored.
        """
        n, size = self.n_days, self.n_days * N_STATES
        delta = np.zeros(size, dtype=np.int64)
        for day, frm, to in self.moves:
            keep = day < n
            d = day[keep].astype(np.int64) * N_STATES
            to_i, fr_i = np.asarray(to), np.asarray(frm)  # a state each, or one per move
            to_i = to_i[keep] if to_i.ndim else to_i
            fr_i = fr_i[keep] if fr_i.ndim else fr_i
            delta += np.bincount(d + to_i, minlength=size)
            delta -= np.bincount(d + fr_i, minlength=size)
        return initial[None, :] + np.cumsum(delta.reshape(n, N_STATES), axis=0)

    def count(self, day, flow: str) -> None:
        """A flow event that moves nobody between states (or a second flow of a move)."""
        self.flows.append((np.asarray(day), FLOW_CODE[flow]))

    def flow_counts(self) -> np.ndarray:
        """Daily count of each flow from the recorded flow events.

        Returns:
            Array of shape (n_days, flows); events past the horizon are ignored.
        """
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
        "executed",
    )
    SERVICE_END = 5  # position of "service_end" in OUTCOME_NAMES

    def __init__(self, n: int):
        self.contract_day = np.full(n, NEVER, dtype=np.int32)
        self.deploy_day = np.full(n, NEVER, dtype=np.int32)
        self.exit_day = np.full(n, NEVER, dtype=np.int32)
        self.outcome = np.full(n, -1, dtype=np.int8)

    def table(self, pop: Population, app_day, app_regime, regime_ids, n_days: int):
        """The people table: one row per person with their event days and outcome (of the
        first application and contract; every contract is in `Result.recruits`).

        Args:
            pop: The synthesized population.
            app_day: Day each person applied.
            app_regime: Index of the regime each person applied under.
            regime_ids: Regime ids, by index.
            n_days: Horizon; days past it are written as -1.

        Returns:
            The people table.
        """
        import pandas as pd

        def day(x):
            """Days within the horizon, -1 otherwise (never, or past the end)."""
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
