"""Synthetic population: everyone in custody at the start plus everyone admitted later.

People are stored as a struct of arrays with small dtypes (the Starsim layout). The whole
custody path is drawn once, on entry: when a suspect's investigation ends, when a case
comes to court and ends (conviction or acquittal), and when the sentence ends. Day 0 is
the scenario's start date; `NEVER` marks an event that does not happen.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields

import numpy as np
from scipy.special import ndtri

from ..schema import OffenceProfile, Scenario
from ..schema import Population as PopulationParams
from .distributions import Distribution, categorical
from .random import Streams
from .taxonomy import CONVICTED, DAYS_PER_YEAR, NEVER, OFFENCE_CODE, OFFENCES, STATUSES, SUSPECT


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
    # int64; each row's person id (the id its random draws are indexed by); None: the row
    person_id: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of people."""
        return len(self.status0)

    @property
    def ids(self) -> np.ndarray:
        """Person id of each row (int64)."""
        if self.person_id is None:
            return np.arange(self.n, dtype=np.int64)
        return self.person_id

    def take(self, rows: np.ndarray | slice) -> Population:
        """The people in `rows` (a boolean mask, row numbers, or a slice: then views, not
        copies), as a population of their own that keeps their person ids."""
        if isinstance(rows, np.ndarray) and rows.dtype == bool:
            rows = np.flatnonzero(rows)
        out = {
            f.name: getattr(self, f.name)[rows]
            for f in fields(self)
            if f.name not in ("facility_climate", "person_id", "n_initial")
        }
        ids = self.ids[rows]
        return Population(
            n_initial=int(np.count_nonzero(out["admit_day"] < 0)),
            facility_climate=self.facility_climate,
            person_id=ids,
            **out,
        )

    @classmethod
    def concat(
        cls,
        parts: list[Population],
        facility_climate: np.ndarray,
        consume: Callable[[], object] | None = None,
    ) -> Population:
        """One population of the rows of `parts`, in order. With `consume`, the parts are
        used up: each of their columns is let go (`let_go`) once joined, and `consume`
        called after each column (to give the memory back), so that the join holds one
        column twice at most, not every column."""
        assert parts, "at least one part (possibly empty) gives the dtypes"
        n_initial = sum(p.n_initial for p in parts)
        skip = ("facility_climate", "n_initial", "person_id")
        out = {}
        for name in ["person_id", *(f.name for f in fields(cls) if f.name not in skip)]:
            out[name] = np.concatenate(
                [p.ids if name == "person_id" else getattr(p, name) for p in parts]
            )
            if consume is not None:
                for p in parts:
                    p.let_go(name)
                consume()
        return cls(n_initial=n_initial, facility_climate=facility_climate, **out)

    def let_go(self, *names: str) -> None:
        """Empty the columns `names`, whose memory then goes: for an engine done with
        them (a column read afterwards by mistake is empty, not stale). The number of
        people (`n`) is that of `status0`."""
        for name in names:
            value = getattr(self, name)
            if name == "person_id" and value is None:
                value = self.ids
            setattr(self, name, value[:0].copy())  # a copy: a view would hold the memory

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


def offence_profiles(p: PopulationParams) -> dict[str, OffenceProfile]:
    """Per-offence attributes in OFFENCES order, each with its own or the population's
    distributions; from `[population.offences]` or, failing that, `offence_shares`."""
    if p.offences:
        given = p.offences
    else:
        given = {o: OffenceProfile(admission_share=w) for o, w in p.offence_shares.items()}
    return {
        o: OffenceProfile(
            admission_share=prof.admission_share,
            stock_share=prof.stock_share,
            sentence_years=prof.sentence_years or p.sentence_years,
            age_years=prof.age_years or p.age_years,
            male_share=p.male_share if prof.male_share is None else prof.male_share,
        )
        for o in OFFENCES
        if (prof := given.get(o)) is not None
    }


def stock_offence_shares(profiles: dict[str, OffenceProfile]) -> dict[str, float]:
    """Offence shares among convicts in custody at the start: as given, or in steady state
    admissions times the mean sentence (long sentences pile up in the stock)."""
    if any(prof.stock_share is not None for prof in profiles.values()):
        return {o: float(prof.stock_share or 0.0) for o, prof in profiles.items()}
    return {
        o: prof.admission_share * prof.sentence_years.mean_value  # type: ignore[union-attr]
        for o, prof in profiles.items()
    }


def warm_up_days(scenario: Scenario) -> int:
    """Days of custody simulated before the start date (`[scenario] warm_up_from`)."""
    meta = scenario.scenario
    return 0 if meta.warm_up_from is None else (meta.start_date - meta.warm_up_from).days


def synthesize(
    scenario: Scenario, seed: int, size: int | None = None, n_days: int | None = None
) -> Population:
    """Draw the initial stock (`size`, default the scenario's) and all admissions.

    With a warm-up (`[scenario] warm_up_from`), the stock is drawn on that date and custody
    runs (admissions, cases, releases) to the start date: day 0 then holds whoever is still
    inside, as in a timeline chained from the earlier date; with `warm_up_with`, whoever
    applied under that scenario's regimes meanwhile is left out.

    Args:
        scenario: The scenario.
        seed: Seed of the run's random streams.
        size: Initial stock (on the warm-up date if any); admissions scale with it.
        n_days: Days after the start date to admit people for (default the scenario's).

    Returns:
        The population; index = agent id, the initial stock first.
    """
    n_days = scenario.n_days if n_days is None else n_days
    warm = warm_up_days(scenario)
    pop = _draw(scenario.population, seed, size, n_days + warm)
    if not warm:
        return pop
    applied = _applied_during_warm_up(scenario, seed, pop, warm)
    return _advance(pop, warm, drop=applied)


# Set inside `reused()`: the last population `blocks` drew there, and what it depends on.
_reuse: dict | None = None


@contextlib.contextmanager
def reused(max_people: int = 1 << 22) -> Iterator[None]:
    """Within this block, `block_makers` (and `blocks`) keep the last population drawn
    (up to `max_people` people, about 50 bytes each) and give it again to a run that
    would draw the same people: same seed, size, days and block size, and the same
    `[population]` apart from `volunteering` and `campaigns`, which the draw does not
    read. A population is given again only once all its blocks were drawn. So a run and its
    no-recruitment baseline (the same people under no law) draw them once. Files with a
    warm-up are drawn each time (who applied during it depends on the behaviour).

    Args:
        max_people: The largest population kept.
    """
    global _reuse
    outer, _reuse = _reuse, {"max_people": max_people}
    try:
        yield
    finally:
        _reuse = outer


def blocks(
    scenario: Scenario,
    seed: int,
    size: int | None = None,
    n_days: int | None = None,
    block_people: int | None = 1 << 18,
) -> Iterator[Population]:
    """`synthesize`'s population in blocks of consecutive person ids, so that an engine can
    draw, sift and drop people a block at a time and hold only those it needs.

    Args:
        scenario, seed, size, n_days: As for `synthesize`.
        block_people: People per block (None: one block). A warm-up gives one block.

    Returns:
        An iterator of populations (at least one, possibly empty), ids in order; rows of a
        block other than the first carry their person ids (`Population.ids`).
    """
    for make in block_makers(scenario, seed, size, n_days, block_people):
        yield make()


def block_makers(
    scenario: Scenario,
    seed: int,
    size: int | None = None,
    n_days: int | None = None,
    block_people: int | None = 1 << 18,
    blocks_multiple_of: int = 1,
) -> list[Callable[[], Population]]:
    """`blocks`, each as a function that draws its block when called: in any order and
    from any thread (a person's draws depend only on seed and id), so that an engine can
    draw several blocks at once.

    Args:
        scenario, seed, size, n_days, block_people: As for `blocks`.
        blocks_multiple_of: Cut the people into a multiple of this many blocks of equal
            size where they are enough (`block_bounds`): one per thread working them.

    Returns:
        One function per block, in the order of the blocks' ids.
    """
    n_days = scenario.n_days if n_days is None else n_days
    if warm_up_days(scenario):
        return [functools.partial(synthesize, scenario, seed, size, n_days)]
    p = scenario.population
    if _reuse is None:
        return _draw_makers(p, seed, size, n_days, block_people, blocks_multiple_of)[0]
    reuse = _reuse
    drawn_by = p.model_dump_json(exclude={"volunteering", "campaigns"})
    key = (int(seed), size, n_days, block_people, blocks_multiple_of, drawn_by)
    kept = reuse.get("blocks")
    if reuse.get("key") == key and kept is not None and all(b is not None for b in kept):
        return [functools.partial(_given, block) for block in kept]
    reuse.pop("key", None)
    reuse.pop("blocks", None)
    makers, n_total = _draw_makers(p, seed, size, n_days, block_people, blocks_multiple_of)
    if n_total > reuse["max_people"]:
        return makers
    slots: list[Population | None] = [None] * len(makers)
    reuse.update(key=key, blocks=slots)  # complete once every block has been drawn
    return [functools.partial(_kept, slots, i, make) for i, make in enumerate(makers)]


def _given(block: Population) -> Population:
    """A block drawn before (`reused`)."""
    return block


def _kept(slots: list, i: int, make: Callable[[], Population]) -> Population:
    """Block `i` drawn by `make`, and kept in `slots[i]` for a later run (`reused`)."""
    slots[i] = block = make()
    return block


def _applied_during_warm_up(scenario: Scenario, seed: int, pop: Population, days: int):
    """Ids of people who apply under the regimes of `[scenario] warm_up_with` during the
    warm-up (None without one): who applies when that scenario's regimes act on the people
    of `pop` in custody during the warm-up, from `warm_up_from` for `days` days, with the
    same seed (the vector engine's `apply` stage: its applicants are those who apply)."""
    meta = scenario.scenario
    if meta.warm_up_with is None:
        return None
    from ..engines import vector  # the engines import this module
    from ..scenario import ScenarioError, load_scenario

    try:
        chain = load_scenario(meta.warm_up_with)
    except ScenarioError as exc:
        where = scenario.source_file or scenario.name
        raise ScenarioError(where, "scenario.warm_up_with", exc.message) from None
    chain = chain.model_copy(
        update={
            "population": scenario.population,
            "scenario": chain.scenario.model_copy(
                update={"start_date": meta.warm_up_from, "warm_up_from": None}
            ),
        }
    )
    run = vector.Run.start(chain, seed, pop.n_initial, days, record_people=False)
    # Those admitted during the warm-up: the first ids (the stock, then by admission day).
    run.people = pop.take(slice(0, int(np.count_nonzero(pop.admit_day < days))))
    vector.apply(run)
    return run.pop.ids


def _advance(pop: Population, days: int, drop: np.ndarray | None = None) -> Population:
    """The population `days` later: people gone by then (and the ids in `drop`) left out,
    the rest (in custody on the new day 0, or admitted later) renumbered in the same order,
    days and ages shifted."""
    keep = (pop.admit_day >= days) | ((pop.admit_day < days) & (pop.sentence_end > days))
    if drop is not None:
        keep[drop] = False
    out = {}
    for f in fields(pop):
        value = getattr(pop, f.name)
        if isinstance(value, np.ndarray) and f.name != "facility_climate":
            out[f.name] = value[keep]
    admit = out["admit_day"]
    inside = admit < days
    admit[inside] = -1
    admit[~inside] -= days
    for name in ("investigation_end", "trial_end", "sentence_end"):
        v = out[name]
        v[v < NEVER] -= days
    out["age0"] += np.float32(days / DAYS_PER_YEAR)
    return Population(n_initial=int(inside.sum()), facility_climate=pop.facility_climate, **out)


def _draw(p: PopulationParams, seed: int, size: int | None, n_days: int) -> Population:
    """The population on the day its stock is drawn (day 0), with admissions for `n_days`."""
    (make,), _n_total = _draw_makers(p, seed, size, n_days, block_people=None)
    return make()


def block_bounds(n: int, block_people: int | None, multiple_of: int = 1) -> list[tuple[int, int]]:
    """Consecutive ranges [first, last) of `n` rows in blocks of at most `block_people`
    (None: one block; always at least one block). With `multiple_of` > 1, the number of
    blocks is rounded up to a multiple of it, as long as each block keeps at least
    `MIN_SPLIT_PEOPLE` rows, and the blocks are of equal size (to a row): threads working
    them then finish together.

    Args:
        n: Number of rows.
        block_people: Most rows a block.
        multiple_of: Number of blocks to round up to a multiple of (threads).

    Returns:
        The blocks' (first, last) rows, in order.
    """
    if block_people is None or n <= 0:
        return [(0, max(n, 0))]
    count = -(-n // int(block_people))
    if multiple_of > 1:
        rounded = -(-count // multiple_of) * multiple_of
        count = max(count, min(rounded, n // MIN_SPLIT_PEOPLE))
    edges = [n * k // count for k in range(count + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


# The fewest people a block is cut down to so that threads have a block each.
MIN_SPLIT_PEOPLE = 1 << 15


def _draw_makers(
    p: PopulationParams,
    seed: int,
    size: int | None,
    n_days: int,
    block_people: int | None,
    blocks_multiple_of: int = 1,
) -> tuple[list[Callable[[], Population]], int]:
    """`_draw`'s population in blocks (`block_bounds`) of consecutive person ids, each as
    a function that draws it, and the number of people. Each person's draws depend only
    on seed and id, so the blocks are the rows of the whole population, in order,
    whenever and wherever each is drawn."""
    n0 = p.initial_size if size is None else int(size)
    streams = Streams(seed)
    # Admissions scale with the population so a scaled-down run keeps the same turnover.
    rate = p.admissions_per_day * n0 / p.initial_size
    admitted_by_day = np.cumsum(streams.generator("population.admissions").poisson(rate, n_days))
    n_total = n0 + (int(admitted_by_day[-1]) if n_days else 0)
    cs = p.facility_climate_sigma
    climate = np.exp(
        cs * ndtri(streams.uniform("population.facility_climate", np.arange(p.facilities)))
        - cs * cs / 2
    ).astype(np.float32)
    makers: list[Callable[[], Population]] = [
        functools.partial(_draw_range, p, streams, n0, admitted_by_day, first, last, climate)
        for first, last in block_bounds(n_total, block_people, blocks_multiple_of)
    ]
    return makers, n_total


def _draw_range(
    p: PopulationParams,
    streams: Streams,
    n0: int,
    admitted_by_day: np.ndarray,
    first: int,
    last: int,
    climate: np.ndarray,
) -> Population:
    """People with ids [first, last): ids below `n0` are the stock at day 0, the rest are
    admitted, `admitted_by_day[d]` of them by the end of day d."""
    ids = np.arange(first, last, dtype=np.int64)
    admit_day = np.full(len(ids), -1, dtype=np.int32)
    later = ids >= n0
    admit_day[later] = np.searchsorted(admitted_by_day, ids[later] - n0, side="right")
    del later
    n = len(ids)
    n_stock = int(np.count_nonzero(admit_day < 0))  # the stock's ids come first
    start = np.maximum(admit_day, 0)
    stock, inflow = slice(0, n_stock), slice(n_stock, n)

    def u(name: str, where: slice | np.ndarray = slice(0, n)) -> np.ndarray:
        """Uniforms for people selected by a slice or an array of positions in the block."""
        return streams.uniform(f"population.{name}", ids[where])

    status0 = np.empty(n, dtype=np.uint8)
    status0[stock] = categorical(u("status", stock), p.status_shares, STATUSES)
    status0[inflow] = categorical(u("status", inflow), p.admission_status_shares, STATUSES)
    convicted = status0 == CONVICTED
    serving = np.flatnonzero(convicted[stock])  # convicts in the stock at day 0

    # Offence, then what depends on it. Convicts in the stock have the stock's offence mix
    # and a length-biased sentence (long stays are over-represented among people found
    # inside); everyone else the admissions' mix and sentences.
    profiles = offence_profiles(p)
    names = tuple(profiles)
    codes = np.array([OFFENCE_CODE[o] for o in names], dtype=np.uint8)
    u_offence = u("offence")
    offence = codes[
        categorical(u_offence, {o: v.admission_share for o, v in profiles.items()}, names)
    ]
    offence[serving] = codes[categorical(u_offence[serving], stock_offence_shares(profiles), names)]
    del u_offence
    # People sorted by offence, and within it those in the stock serving a sentence last (a
    # stable radix sort): each offence's people, and each of its two sentence
    # distributions' people, are then one slice of the sorted draws.
    group = offence.astype(np.int16) * 2
    group[serving] += 1
    order = np.argsort(group, kind="stable")
    group = group[order]
    u_sentence, u_age, u_sex = (u(name, order) for name in ("sentence", "age", "sex"))
    sorted_sentence = np.empty(n, dtype=np.float32)
    sorted_age = np.empty(n, dtype=np.float64)
    sorted_male = np.empty(n, dtype=bool)
    for name, code in zip(names, codes.astype(np.int16), strict=True):
        prof = profiles[name]
        assert prof.sentence_years is not None and prof.age_years is not None  # resolved
        lo, mid, hi = np.searchsorted(group, (2 * code, 2 * code + 1, 2 * code + 2)).tolist()
        sorted_sentence[lo:mid] = prof.sentence_years.sample(u_sentence[lo:mid])
        sorted_sentence[mid:hi] = prof.sentence_years.sample_length_biased(u_sentence[mid:hi])
        sorted_age[lo:hi] = prof.age_years.sample(u_age[lo:hi])
        sorted_male[lo:hi] = u_sex[lo:hi] < prof.male_share
    sentence_years = np.empty(n, dtype=np.float32)
    age_entry = np.empty(n, dtype=np.float64)
    male = np.empty(n, dtype=bool)
    sentence_years[order] = sorted_sentence
    age_entry[order] = sorted_age
    male[order] = sorted_male
    del order, group, u_sentence, u_age, u_sex, sorted_sentence, sorted_age, sorted_male
    # Custody after conviction: the part of the imposed sentence actually served; convicts
    # in the stock have already served a uniform share of it.
    remaining_years = sentence_years * np.float32(p.time_served_fraction)
    served_years = np.zeros(n, dtype=np.float32)
    served_years[serving] = remaining_years[serving] * u("served", serving)
    remaining_years -= served_years

    # Case progress: suspect -> defendant -> convicted, or pretrial -> convicted. People
    # mid-case at day 0 have the residual of a stage under way (length-biased duration,
    # uniform share passed), as in steady state; later stages are fresh.
    suspects = np.flatnonzero(status0 == SUSPECT)
    investigation_end = start.copy()
    investigation_end[suspects] += _stage_days(
        p.investigation_days, u, "investigation", suspects, suspects < n_stock
    )
    in_case = np.flatnonzero(~convicted)
    mid_trial = (in_case < n_stock) & (status0[in_case] != SUSPECT)
    trial_end = start.copy()
    trial_end[in_case] = investigation_end[in_case] + _stage_days(
        p.trial_days, u, "trial", in_case, mid_trial
    )
    del suspects, in_case, mid_trial

    # Life sentences: their share among convicts in the stock, where they pile up, and among
    # the sentences still to come (admissions, people in the stock not yet convicted).
    life_share = np.full(
        n,
        p.life_sentence_share
        if p.admission_life_sentence_share is None
        else p.admission_life_sentence_share,
    )
    life_share[serving] = p.life_sentence_share
    life = u("life") < life_share
    del life_share
    acquitted = ~convicted & (u("acquittal") < p.acquittal_share)
    sentence_end = trial_end + _years_to_days(remaining_years)
    del remaining_years
    sentence_end[acquitted] = trial_end[acquitted]
    sentence_end[life & ~acquitted] = NEVER
    sentence_years[acquitted] = 0.0
    sentence_years[life & ~acquitted] = np.inf
    del life, acquitted, convicted

    # Age at entry into custody by offence; people in the stock have aged since.
    age_entry = np.clip(age_entry, p.min_age_years, p.max_age_years)
    age0 = (age_entry + served_years - start / DAYS_PER_YEAR).astype(np.float32)

    sigma = p.motivation_sigma
    log_motivation = sigma * ndtri(u("motivation")) - sigma * sigma / 2
    log_motivation -= p.motivation_age_per_year * (age_entry - p.motivation_reference_age_years)
    motivation = np.exp(log_motivation).astype(np.float32)
    del age_entry, log_motivation
    facility = (u("facility") * p.facilities).astype(np.int32)
    np.minimum(facility, p.facilities - 1, out=facility)

    return Population(
        n_initial=n_stock,
        admit_day=admit_day,
        status0=status0,
        investigation_end=investigation_end,
        trial_end=trial_end,
        sentence_end=sentence_end,
        sentence_years=sentence_years,
        offence=offence,
        male=male,
        age0=age0,
        former_official=u("former_official") < p.former_official_share,
        infectious=u("infectious") < p.infectious_carrier_share,
        fitness=u("fitness").astype(np.float32),
        motivation=motivation,
        facility=facility,
        facility_climate=climate,
        person_id=None if first == 0 else ids,
    )


def _stage_days(dist: Distribution, u, name: str, who: np.ndarray, under_way: np.ndarray):
    """Days of a case stage for people `who`: the residual of a stage already under way at
    day 0 (`under_way`), a fresh duration otherwise (each drawn only for its people)."""
    u_len = u(name, who)
    days = np.empty(len(who), dtype=np.float64)
    going, fresh = np.flatnonzero(under_way), np.flatnonzero(~under_way)
    days[going] = dist.residual(u_len[going], u(f"{name}_elapsed", who[going]))
    days[fresh] = dist.sample(u_len[fresh])
    return np.rint(np.maximum(days, 0.0)).astype(np.int32)
