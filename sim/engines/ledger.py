"""The vector engine's records: transitions and flows by day, and the per-person log.

People's paths are computed as event days; the ledger collects each transition (day,
from-state, to-state) and each flow event (day, flow) and turns them into daily stocks
(`bincount` of transition days, then a cumulative sum) and daily flow counts.
"""

from __future__ import annotations

import numpy as np

from ..model.population import Population
from ..model.taxonomy import FLOW_CODE, FLOW_COLUMNS, NEVER, STATES, STATUSES

N_STATES = len(STATES)
N_FLOWS = len(FLOW_COLUMNS)


class Ledger:
    """Collects transitions (day, from-state, to-state) and flow events (day, flow)."""

    def __init__(self, n_days: int):
        self.n_days = n_days
        self.moves: list[tuple[np.ndarray, int | np.ndarray, int | np.ndarray]] = []
        self.flows: list[tuple[np.ndarray, int]] = []

    def move(self, day, frm, to, flow: str | None = None) -> None:
        """Record transitions between states, and the flow they count as, if any.

        Args:
            day: Day (or array of days) of the moves.
            frm: State left (one, or one per move).
            to: State entered (one, or one per move).
            flow: Name of the flow the moves count as, or None.
        """
        day = np.asarray(day)
        self.moves.append((day, frm, to))
        if flow is not None:
            self.flows.append((day, FLOW_CODE[flow]))

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
    )

    def __init__(self, n: int):
        self.contract_day = np.full(n, NEVER, dtype=np.int32)
        self.deploy_day = np.full(n, NEVER, dtype=np.int32)
        self.exit_day = np.full(n, NEVER, dtype=np.int32)
        self.outcome = np.full(n, -1, dtype=np.int8)

    def table(self, pop: Population, app_day, app_regime, regime_ids, n_days: int):
        """The people table: one row per person with their event days and outcome.

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
