"""Vector engine, the recruits table: one row per contract, filed cohort by cohort.

A round's cohorts are final once its stages have run (`Run.file_recruits`): each is then
filed as parts of the table's columns (`RecruitParts.file`) and let go. A part holds what
the cohort decided, in the narrowest dtype that holds it (32 bytes a row); what the
applicants' table (`Run.pop`) says of a recruit (person id, offence, sex, sentence, age) is
looked up once, for every row at the end (`RecruitParts.look_up`), each column of the
applicants' table let go as soon as it is read. The table is then joined a column at a time
(`RecruitParts.frame`), each column's parts let go as it is joined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING

import numpy as np

from ..model import rules
from ..model.population import Population
from ..model.taxonomy import CONVICTED, DAYS_PER_YEAR, NEVER, OFFENCES, STATUSES
from ..results import RECRUIT_COLUMNS, recruits_frame
from . import service
from .memory import release_freed_memory

if TYPE_CHECKING:
    import pandas as pd

    from .vector import Cohort

# Columns of the parts, and of the applicants' table read at the end for each recruit.
PART_COLUMNS = (
    "row",  # of the applicants' table (`Run.pop`); int32 where that holds them
    "regime",  # int8; position in `Run.spans`
    "enlistment",
    "status",  # uint8; taxonomy.STATUSES
    "remaining_sentence_days",
    "application_day",
    "contract_day",
    "deploy_day",
    "exit_day",
    "outcome",  # int8; position in service.OUTCOME_NAMES, -1: still serving
    "returned_to_custody_day",
)
# Recruits table column: the applicants' table column it is read from.
LOOKED_UP = {
    "person": "person_id",
    "offence": "offence",
    "male": "male",
    "sentence_years": "sentence_years",
    "age_years": "age0",
}
USED = {*LOOKED_UP.values(), "facility_climate", "n_initial"}


_LET_GO = np.zeros(0, dtype=np.int8)  # what a filed cohort's arrays are left as


def row_dtype(n: int) -> type[np.signedinteger]:
    """The narrowest of int32 and int64 that holds the row numbers of `n` rows."""
    return np.int32 if n <= np.iinfo(np.int32).max else np.int64


class RecruitParts:
    """The recruits table's columns, filed cohort by cohort (`file`), looked up in the
    applicants' table (`look_up`), then joined (`frame`)."""

    def __init__(self, release: Callable[[], bool] = release_freed_memory) -> None:
        self.release = release  # gives freed memory back (`memory.FreedMemory` of a run)
        self.parts: list[dict[str, np.ndarray]] = []
        self.looked_up: dict[str, np.ndarray] = {}  # whole columns, from `look_up`

    def file(self, pop: Population, c: Cohort, n_days: int) -> None:
        """File the contracts of cohort `c` (its people are rows of `pop`), the days it
        decided within the horizon `n_days` (-1 otherwise: never, or past the end). The
        cohort is used up: each of its arrays is let go once read, so that the cohort and
        its part are not held whole at once."""

        def take(*names: str) -> list[np.ndarray]:
            """The cohort's arrays `names`, let go from the cohort."""
            values = [getattr(c, name) for name in names]
            for name in names:
                setattr(c, name, _LET_GO)
            return values

        def day(x: np.ndarray) -> np.ndarray:
            return np.where(x < n_days, x, -1).astype(np.int32, copy=False)

        take("service_end", "day")  # read no more (`day` is `deploy` after `train`)
        part: dict[str, np.ndarray] = {}
        (a,) = take("ids")
        part["row"] = a.astype(row_dtype(pop.n), copy=False)
        part["regime"] = np.full(len(a), c.r_idx, dtype=np.int8)
        (enlisted,) = take("enlisted")
        part["enlistment"] = enlisted + 1
        del enlisted
        applied, sentence_end = take("applied", "sentence_end")
        status = np.empty(len(a), dtype=np.uint8)
        for p in service.pieces(len(a)):  # the status's temporaries a piece at a time
            x = a[p]
            status[p] = rules.status_on(
                pop.status0[x], pop.investigation_end[x], pop.trial_end[x], applied[p]
            )
        del a
        sentenced = (status == CONVICTED) & (sentence_end < NEVER)
        part["status"] = status
        remaining = np.where(sentenced, sentence_end - applied, -1)
        part["remaining_sentence_days"] = remaining.astype(np.int32)
        del sentenced, sentence_end, remaining
        part["application_day"] = day(applied)
        del applied
        (contract,) = take("contract")
        part["contract_day"] = day(contract)  # all within the horizon (`train`)
        del contract
        early, deploy = take("early", "deploy")
        part["deploy_day"] = day(np.where(early, NEVER, deploy))
        del early, deploy
        outcome = np.where(c.exit_day < n_days, service.outcome_codes(c), -1)
        take("outcome", "ends")
        (exit_day,) = take("exit_day")
        part["exit_day"] = day(exit_day)
        del exit_day
        part["outcome"] = outcome.astype(np.int8)
        del outcome
        (returned,) = take("returned")
        part["returned_to_custody_day"] = day(returned)
        del returned
        self.parts.append({name: part[name] for name in PART_COLUMNS})

    def _join(self, name: str) -> np.ndarray:
        """Column `name` of every part, joined; the parts' pieces let go."""
        return np.concatenate([part.pop(name) for part in self.parts])

    def look_up(self, pop: Population) -> None:
        """Read what the applicants' table `pop` says of each recruit, a column at a
        time, emptying each column of `pop` once read (`pop` is of no further use)."""
        if not self.parts:
            return
        rows = self._join("row")
        pop.let_go(*(f.name for f in fields(pop) if f.name not in USED))
        self.release()
        for name, source in LOOKED_UP.items():
            self.looked_up[name] = (pop.ids if name == "person" else getattr(pop, source))[rows]
            pop.let_go(source)
            self.release()
        # Age at the contract: the contract days are all within the horizon.
        contract = self._join("contract_day")
        age0 = self.looked_up["age_years"]
        self.looked_up["age_years"] = (age0 + contract / DAYS_PER_YEAR).astype(np.float32)
        self.looked_up["contract_day"] = contract

    def frame(self, regime_ids: list[str]) -> pd.DataFrame:
        """The recruits table (`sim.results.RECRUIT_COLUMNS`), names looked up from codes;
        the parts are let go a column at a time (`look_up` first)."""
        if not self.parts:
            return recruits_frame()
        assert self.looked_up, "`look_up` reads the applicants' columns first"
        names = {
            "regime": regime_ids,
            "status": STATUSES,
            "offence": OFFENCES,
            # "": still serving at the horizon (position -1)
            "outcome": [*service.OUTCOME_NAMES, ""],
        }
        columns = {}
        for name in RECRUIT_COLUMNS:
            column = self.looked_up.pop(name) if name in self.looked_up else self._join(name)
            if name in names:
                column = np.array(names[name], dtype=object)[column]
            columns[name] = column
            self.release()
        self.parts = []
        return recruits_frame(columns)
