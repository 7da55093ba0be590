"""The vector engine's records: transitions and flows by day, and the per-person log.

People's paths are computed as event days; the ledger collects each transition (day,
from-state, to-state) and each flow event (day, flow) and turns them into daily stocks
(`bincount` of transition days, then a cumulative sum) and daily flow counts. Moves into
and out of custody (`incarcerated`) also keep who moved, so that the incarcerated stock can
be split by legal status and sex (`custody_groups`).
"""

from __future__ import annotations

import numpy as np

from ..jit import kernel
from ..model.population import Population
from ..model.rules import status_path
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
_N_GROUPS, _N_SEXES = len(CUSTODY_GROUP_COLUMNS), len(SEXES)


FLUSH_EVENTS = 1 << 20  # events held before they are added into the daily counts
FLUSH_CUSTODY_MOVES = 1 << 18  # custody moves held, and moves recorded at once (~100 B each)


class Ledger:
    """Daily transitions between states, flow events and custody by group.

    Events are held as bincount keys and added up every `FLUSH_EVENTS` (so memory follows
    days, not people, and many small records cost one count); custody moves of the run's
    people (`Ledger.pop`) likewise, into the custody counts by group.
    """

    def __init__(self, n_days: int, pop: Population | None = None):
        """Args:
        n_days: Horizon; events on or after it are ignored.
        pop: The table of people that `ids` of later moves refer to (`Ledger.pop`).
        """
        self.n_days = n_days
        self.pop = pop
        self._state_delta = np.zeros(n_days * N_STATES, dtype=np.int64)
        self._flow_counts = np.zeros(n_days * N_FLOWS, dtype=np.int64)
        self._custody_delta = np.zeros(n_days * len(CUSTODY_GROUP_COLUMNS), dtype=np.int64)
        # bincount keys not yet added: states entered, states left, flows
        self._keys: tuple[list[np.ndarray], ...] = ([], [], [])
        self._n_keys = 0
        self._custody_moves: list[tuple[np.ndarray, np.ndarray, int]] = []  # of `pop`
        self._n_custody_moves = 0

    def add(self, other: Ledger) -> None:
        """Add the records of `other` (same horizon, no custody moves held: a block's
        ledger of `stay`s and grouped moves) into this one. Counts are whole numbers, so
        the sum is the same in any order.

        Args:
            other: The ledger added; it is left flushed.
        """
        assert other.n_days == self.n_days and not other._custody_moves
        other._flush()
        self._state_delta += other._state_delta
        self._flow_counts += other._flow_counts
        self._custody_delta += other._custody_delta

    def _hold(self, kind: int, keys: np.ndarray) -> None:
        """Hold bincount keys of one kind (0 entered, 1 left, 2 flows) until a flush."""
        self._keys[kind].append(keys)
        self._n_keys += len(keys)
        if self._n_keys >= FLUSH_EVENTS:
            self._flush()

    def _flush(self) -> None:
        """Add the held keys into the daily counts."""
        targets = (self._state_delta, self._state_delta, self._flow_counts)
        for kind, (held, target) in enumerate(zip(self._keys, targets, strict=True)):
            if held:
                keys = held[0] if len(held) == 1 else np.concatenate(held)
                counts = np.bincount(keys, minlength=len(target))
                if kind == 1:
                    target -= counts
                else:
                    target += counts
                held.clear()
        self._n_keys = 0

    def move(self, day, frm, to, flow: str | None = None, ids=None, grouped=False) -> None:
        """Record transitions between states, and the flow they count as, if any.

        Args:
            day: Day (or array of days) of the moves.
            frm: State left (one, or one per move).
            to: State entered (one, or one per move).
            flow: Name of the flow the moves count as, or None.
            ids: Who moves (rows of `Ledger.pop`), required for moves into or out of
                `incarcerated` (one state each, then).
            grouped: The moves' custody by group is counted already (`stay`).
        """
        day = np.asarray(day).reshape(-1)
        to_i, fr_i = np.asarray(to), np.asarray(frm)  # a state each, or one per move
        one_each = to_i.ndim == 0 and fr_i.ndim == 0
        if one_each:
            touches = INCARCERATED in (int(fr_i), int(to_i))
        else:
            touches = bool(np.any(fr_i == INCARCERATED) or np.any(to_i == INCARCERATED))
        if touches and not grouped and (ids is None or not one_each):
            raise ValueError("moves into or out of incarcerated need `ids` and one state each")
        if len(day) == 0:  # nobody moves: nothing to record
            return
        if len(day) > FLUSH_CUSTODY_MOVES:  # a large move in pieces: their temporaries only
            who = None if ids is None else np.asarray(ids)
            for first in range(0, len(day), FLUSH_CUSTODY_MOVES):
                p = slice(first, first + FLUSH_CUSTODY_MOVES)
                fr, t = fr_i[p] if fr_i.ndim else frm, to_i[p] if to_i.ndim else to
                self.move(day[p], fr, t, flow, None if who is None else who[p], grouped)
            return
        keep = day < self.n_days
        d = day[keep].astype(np.int64) * N_STATES
        self._hold(0, d + (to_i[keep] if to_i.ndim else to_i))
        self._hold(1, d + (fr_i[keep] if fr_i.ndim else fr_i))
        if flow is not None:
            self.count(day, flow)
        if touches and not grouped:
            self._custody_move(day, np.asarray(ids), 1 if to == INCARCERATED else -1)

    def arrive(self, day, ids) -> None:
        """People (rows of `Ledger.pop`) entering custody from outside the model, for
        `custody_groups` (the stocks count them separately)."""
        self._custody_move(np.asarray(day).reshape(-1), np.asarray(ids), 1)

    def _custody_move(self, day: np.ndarray, ids: np.ndarray, sign: int) -> None:
        """Hold custody moves of the run's people, added into the counts by group every
        `FLUSH_CUSTODY_MOVES` moves (once `Ledger.pop` is known)."""
        self._custody_moves.append((np.broadcast_to(day, ids.shape), ids, sign))
        self._n_custody_moves += len(ids)
        if self._n_custody_moves >= FLUSH_CUSTODY_MOVES and self.pop is not None:
            self._flush_custody()

    def _flush_custody(self) -> None:
        """Add the held custody moves into the counts by group (entries, then exits),
        `FLUSH_CUSTODY_MOVES` at a time (one move of many people included)."""
        step = FLUSH_CUSTODY_MOVES
        for sign in (1, -1):
            moves = [(day, ids) for day, ids, s in self._custody_moves if s == sign]
            if moves:
                days, ids = (np.concatenate(x) for x in zip(*moves, strict=True))
                for first in range(0, len(ids), step):
                    part = slice(first, first + step)
                    self._custody(days[part], ids[part], sign)
        self._custody_moves.clear()
        self._n_custody_moves = 0

    def stay(self, pop: Population, start: np.ndarray, end: np.ndarray) -> None:
        """Custody of everyone in `pop` over days [start, end) (`end` NEVER: until an exit
        recorded later), by legal status and sex: the same counts as an entry on `start`
        and an exit on `end`, in one pass.

        Args:
            pop: The people (a block).
            start: Day each enters custody.
            end: Day each leaves it (NEVER: not yet known).
        """
        self._count_path(pop.status0, pop.investigation_end, pop.trial_end, pop.male, start, end, 1)

    def _custody(self, day: np.ndarray, ids: np.ndarray, sign: int) -> None:
        """Entries into (+1) or exits from (-1) custody of people `ids` of `Ledger.pop` on
        `day`: the rest of the case's path, from that day on, added or taken off."""
        pop = self.pop
        assert pop is not None, "custody moves need the table of people (Ledger.pop)"
        path = pop.status0[ids], pop.investigation_end[ids], pop.trial_end[ids], pop.male[ids]
        self._count_path(*path, np.broadcast_to(day, ids.shape), np.int64(NEVER), sign)

    def _count_path(self, status0, investigation_end, trial_end, male, start, end, sign: int):
        """Add `sign` x each segment of the case's path (`rules.status_path`) over the part
        of it within [start, end), to the incarcerated stock by legal status and sex."""
        shape = np.shape(status0)

        def each(x) -> np.ndarray:
            """One value per person (a scalar repeated without a copy)."""
            return np.broadcast_to(np.asarray(x), shape)

        start, end, male = each(start), each(end), np.asarray(male, dtype=bool)
        for status, lo, hi in status_path(status0, investigation_end, trial_end):
            _add_segments(
                self._custody_delta, each(status), each(lo), each(hi), start, end, male, sign
            )

    def custody_groups(self) -> np.ndarray:
        """End-of-day incarcerated stock by legal status and sex, from the recorded entries
        and exits.

        Returns:
            Array of shape (n_days, len(CUSTODY_GROUP_COLUMNS)).
        """
        width = len(CUSTODY_GROUP_COLUMNS)
        self._flush_custody()
        return np.cumsum(self._custody_delta.reshape(self.n_days, width), axis=0)

    def stocks(self, initial: np.ndarray) -> np.ndarray:
        """Daily stock of each state, from the initial stocks and the recorded moves.

        Args:
            initial: Number of people in each state on day 0.

        Returns:
            Array of shape (n_days, states); moves past the horizon are ignored.
        """
        self._flush()
        return initial[None, :] + np.cumsum(
            self._state_delta.reshape(self.n_days, N_STATES), axis=0
        )

    def count(self, day, flow: str) -> None:
        """A flow event that moves nobody between states (or a second flow of a move)."""
        day = np.asarray(day).reshape(-1)
        if len(day):
            self._hold(2, day[day < self.n_days].astype(np.int64) * N_FLOWS + FLOW_CODE[flow])

    def flow_counts(self) -> np.ndarray:
        """Daily count of each flow from the recorded flow events.

        Returns:
            Array of shape (n_days, flows); events past the horizon are ignored.
        """
        self._flush()
        return self._flow_counts.reshape(self.n_days, N_FLOWS).copy()


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

    BLOCK_COLUMNS = ("admit_day", "status0", "offence", "application_day", "regime")

    def __init__(self) -> None:
        self._blocks: list[tuple[np.ndarray, ...]] = []  # everyone's, block by block
        self.events(0)

    def add_block(self, pop: Population, app_day: np.ndarray, app_regime: np.ndarray) -> None:
        """Keep what the table shows of everyone in a block of people: entry, status,
        offence, application day and regime (`app_regime`, -1 for none)."""
        self._blocks.append((pop.admit_day, pop.status0, pop.offence, app_day, app_regime))

    def events(self, n: int) -> None:
        """Event days and outcome for `n` applicants (rows of the run's table of people),
        NEVER and -1 until the stages fill them in."""
        self.contract_day = np.full(n, NEVER, dtype=np.int32)
        self.deploy_day = np.full(n, NEVER, dtype=np.int32)
        self.exit_day = np.full(n, NEVER, dtype=np.int32)
        self.outcome = np.full(n, -1, dtype=np.int8)

    def table(self, applicant_ids: np.ndarray, regime_ids, n_days: int):
        """The people table: one row per person with their event days and outcome (of the
        first application and contract; every contract is in `Result.recruits`).

        Args:
            applicant_ids: Person id of each applicant row (whose events are recorded).
            regime_ids: Regime ids, by index.
            n_days: Horizon; days past it are written as -1.

        Returns:
            The people table.
        """
        import pandas as pd

        admit_day, status0, offence, app_day, app_regime = (
            np.concatenate(column) for column in zip(*self._blocks, strict=True)
        )
        n = len(admit_day)

        def day(x):
            """Days within the horizon, -1 otherwise (never, or past the end)."""
            return np.where(x < n_days, x, -1).astype(np.int32)

        def everyone(x, empty):
            """An applicants' column for everyone (`empty` for the others)."""
            out = np.full(n, empty, dtype=x.dtype)
            out[applicant_ids] = x
            return out

        names = np.array(["", *self.OUTCOME_NAMES], dtype=object)
        regimes = np.array(["", *regime_ids], dtype=object)
        return pd.DataFrame(
            {
                "id": np.arange(n, dtype=np.int64),
                "admit_day": admit_day,
                "status0": np.array(STATUSES, dtype=object)[status0],
                "offence": offence,
                "application_day": day(app_day),
                "regime": regimes[np.where(app_day < n_days, app_regime + 1, 0)],
                "contract_day": day(everyone(self.contract_day, NEVER)),
                "deploy_day": day(everyone(self.deploy_day, NEVER)),
                "exit_day": day(everyone(self.exit_day, NEVER)),
                "outcome": names[everyone(self.outcome, -1) + 1],
            }
        )


@kernel
def _add_segments(delta, status, lo, hi, start, end, male, sign):
    """Into `delta` (days x custody groups, flattened): `sign` on the first day and
    -`sign` on the day after the last of each person's segment [lo, hi) clipped to
    [start, end), in the column of its status and the person's sex; days past the table
    are left out (an empty segment enters and leaves on one day: no count)."""
    width, n_sexes = _N_GROUPS, _N_SEXES
    n_days = delta.size // width
    for i in range(status.size):
        first = max(lo[i], start[i])
        after = max(min(hi[i], end[i]), first)
        key = status[i] * n_sexes + (0 if male[i] else 1)
        if first < n_days:
            delta[first * width + key] += sign
        if after < n_days:
            delta[after * width + key] -= sign
