"""Synthetic population: everyone in custody at the start plus everyone admitted later.

People are stored as a struct of arrays with small dtypes (the Starsim layout). The whole
custody path is drawn once, on entry: when a suspect's investigation ends, when a case
comes to court and ends (conviction or acquittal), and when the sentence ends. Day 0 is
the scenario's start date; `NEVER` marks an event that does not happen.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.special import ndtri

from ..scenario import Scenario
from .distributions import Empirical, categorical
from .random import Streams
from .taxonomy import CONVICTED, DAYS_PER_YEAR, NEVER, OFFENCES, STATUSES, SUSPECT


@dataclass
class Population:
    """People as parallel arrays; index = agent id."""

    n_initial: int
    admit_day: np.ndarray  # int32; -1 for people already in custody at day 0
    status0: np.ndarray  # uint8; legal status on entry (taxonomy.STATUSES)
    investigation_end: np.ndarray  # int32; suspect -> defendant (suspects only)
    trial_end: np.ndarray  # int32; day the case ends (conviction or acquittal)
    sentence_end: np.ndarray  # int32; day custody ends; NEVER for life sentences
    sentence_years: np.ndarray  # float32; sentence imposed (0 if acquitted, inf if life)
    offence: np.ndarray  # uint8; taxonomy.OFFENCES
    male: np.ndarray  # bool
    age0: np.ndarray  # float32; age in years at day 0 (may be < 18 for later admissions)
    former_official: np.ndarray  # bool
    infectious: np.ndarray  # bool; HIV, TB or hepatitis carrier
    fitness: np.ndarray  # float32 in (0, 1); medical fitness score
    motivation: np.ndarray  # float32; individual propensity to volunteer, mean 1
    facility: np.ndarray  # int32; colony or detention centre
    facility_climate: np.ndarray  # float32 per facility; shared propensity (peers), mean 1

    @property
    def n(self) -> int:
        """Number of people."""
        return len(self.admit_day)

    @property
    def custody_start(self) -> np.ndarray:
        """Day each person's custody starts in the simulation (0 for those already inside)."""
        return np.maximum(self.admit_day, 0)

    def nbytes(self) -> int:
        """Memory held by the population's arrays.

        Returns:
            Number of bytes.
        """
        return sum(
            getattr(self, f.name).nbytes
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        )

    def subset(self, idx: np.ndarray) -> dict:
        """Attributes of some agents as a dict of arrays (for inspection and tests)."""
        return {
            f.name: getattr(self, f.name)[idx]
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray) and f.name != "facility_climate"
        }


def _years_to_days(years: np.ndarray) -> np.ndarray:
    return np.rint(np.maximum(years, 0.0) * np.float32(DAYS_PER_YEAR)).astype(np.int32)


def synthesize(
    scenario: Scenario, seed: int, size: int | None = None, n_days: int | None = None
) -> Population:
    """Draw the initial stock (`size`, default the scenario's) and all admissions."""
    p = scenario.population
    n_days = scenario.n_days if n_days is None else n_days
    n0 = p.initial_size if size is None else int(size)
    streams = Streams(seed)
    # Admissions scale with the population so a scaled-down run keeps the same turnover.
    rate = p.admissions_per_day * n0 / p.initial_size
    daily = streams.generator("population.admissions").poisson(rate, n_days)
    admit_day = np.concatenate(
        [np.full(n0, -1, np.int32), np.repeat(np.arange(n_days, dtype=np.int32), daily)]
    )
    n = len(admit_day)
    start = np.maximum(admit_day, 0)
    stock, inflow = slice(0, n0), slice(n0, n)  # initial stock first, then admissions

    def u(name: str, where: slice | np.ndarray = slice(0, n)) -> np.ndarray:
        """Uniforms for people selected by a slice or an index array (ids made on the fly)."""
        ids = (
            np.arange(where.start, where.stop, dtype=np.uint64)
            if isinstance(where, slice)
            else where.astype(np.uint64)
        )
        return streams.uniform(f"population.{name}", ids)

    status0 = np.empty(n, dtype=np.uint8)
    status0[stock] = categorical(u("status", stock), p.status_shares, STATUSES)
    status0[inflow] = categorical(u("status", inflow), p.admission_status_shares, STATUSES)
    offence = categorical(u("offence"), p.offence_shares, OFFENCES)
    convicted = status0 == CONVICTED

    # Convicts in the stock at day 0 over-represent long sentences (length-biased
    # sampling) and have served a uniform share of their sentence. Everyone else gets
    # the sentence distribution of admissions (served later, after the case ends).
    sentence_years = p.sentence_years.sample(u("sentence")).astype(np.float32)
    serving = np.flatnonzero(convicted[stock])
    if isinstance(p.sentence_years, Empirical):
        sentence_years[serving] = p.sentence_years.sample(
            u("sentence", serving), length_biased=True
        )
    remaining_years = sentence_years.copy()
    remaining_years[serving] *= 1.0 - u("served", serving)

    # Case progress: suspect -> defendant -> convicted, or pretrial -> convicted. People
    # mid-case at day 0 have a uniform share of the current stage left.
    suspects = np.flatnonzero(status0 == SUSPECT)
    left = np.where(suspects < n0, u("case_residual", suspects), 1.0)
    investigation_end = start.copy()
    investigation_end[suspects] += np.rint(
        left * p.investigation_days.days(u("investigation", suspects))
    ).astype(np.int32)
    in_case = np.flatnonzero(~convicted)
    mid_trial = (in_case < n0) & (status0[in_case] != SUSPECT)
    left = np.where(mid_trial, u("case_residual", in_case), 1.0)
    trial_end = start.copy()
    trial_end[in_case] = investigation_end[in_case] + np.rint(
        left * p.trial_days.days(u("trial", in_case))
    ).astype(np.int32)
    del left, suspects, in_case, mid_trial, serving

    life = u("life") < p.life_sentence_share
    acquitted = ~convicted & (u("acquittal") < p.acquittal_share)
    sentence_end = trial_end + _years_to_days(remaining_years)
    del remaining_years
    sentence_end[acquitted] = trial_end[acquitted]
    sentence_end[life & ~acquitted] = NEVER
    sentence_years[acquitted] = 0.0
    sentence_years[life & ~acquitted] = np.inf
    del life, acquitted, convicted

    age_entry = np.clip(p.age_years.sample(u("age")), p.min_age_years, p.max_age_years)
    age0 = (age_entry - start / DAYS_PER_YEAR).astype(np.float32)

    sigma = p.motivation_sigma
    motivation = np.exp(sigma * ndtri(u("motivation")) - sigma * sigma / 2).astype(np.float32)
    facility = (u("facility") * p.facilities).astype(np.int32)
    np.minimum(facility, p.facilities - 1, out=facility)
    cs = p.facility_climate_sigma
    climate = np.exp(
        cs * ndtri(streams.uniform("population.facility_climate", np.arange(p.facilities)))
        - cs * cs / 2
    ).astype(np.float32)

    return Population(
        n_initial=n0,
        admit_day=admit_day,
        status0=status0,
        investigation_end=investigation_end,
        trial_end=trial_end,
        sentence_end=sentence_end,
        sentence_years=sentence_years,
        offence=offence,
        male=u("sex") < p.male_share,
        age0=age0,
        former_official=u("former_official") < p.former_official_share,
        infectious=u("infectious") < p.infectious_carrier_share,
        fitness=u("fitness").astype(np.float32),
        motivation=motivation,
        facility=facility,
        facility_climate=climate,
    )
