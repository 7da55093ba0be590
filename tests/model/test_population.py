"""Joint attributes of the synthesized population (issue 12, part 1) and its warm-up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model import rules
from sim.model.distributions import Empirical, Exponential, Fixed, Gamma, Lognormal, Uniform
from sim.model.population import (
    Population,
    _advance,
    _draw,
    offence_profiles,
    stock_offence_shares,
    synthesize,
    warm_up_days,
)
from sim.model.taxonomy import CONVICTED, DEFENDANT, OFFENCE_CODE, OFFENCES, VIOLENT_OFFENCES

VIOLENT_CODES = [OFFENCE_CODE[o] for o in VIOLENT_OFFENCES]


@pytest.fixture(scope="module")
def ukraine():
    scenario = sim.load_scenario("ukraine_2024")
    return scenario, synthesize(scenario, 3, 40_000, 365)


@pytest.fixture(scope="module")
def russia():
    scenario = sim.load_scenario("russia_2022_2025")
    return scenario, synthesize(scenario, 3, 100_000, 365)


def _stock_convicts(pop):
    idx = np.arange(pop.n)
    return (idx < pop.n_initial) & (pop.status0 == CONVICTED)


def _median(pop, mask, offence):
    return float(np.median(pop.sentence_years[mask & (pop.offence == OFFENCE_CODE[offence])]))


U = (np.arange(100_000) + 0.5) / 100_000
U_SHUFFLED = np.random.default_rng(0).permutation(U)


@pytest.mark.parametrize(
    "dist",
    [
        Fixed(dist="fixed", value=3),
        Exponential(dist="exponential", mean=5),
        Gamma(dist="gamma", mean=120, sd=60),
        Lognormal(dist="lognormal", mean=4, sd=2),
        Uniform(dist="uniform", low=1, high=3),
        Empirical(dist="empirical", values=[1, 2, 5], weights=[1, 1, 1]),
    ],
)
def test_length_biased_mean_is_second_moment_over_mean(dist):
    x = dist.sample(U)
    assert dist.sample_length_biased(U).mean() == pytest.approx((x * x).mean() / x.mean(), 1e-3)
    # the residual of a stay under way averages half the length-biased duration
    assert dist.residual(U, U_SHUFFLED).mean() == pytest.approx(
        dist.sample_length_biased(U).mean() / 2, 1e-3
    )


def test_sentence_depends_on_offence(ukraine):
    _, pop = ukraine
    admitted = (pop.admit_day >= 0) & (pop.sentence_years > 0) & np.isfinite(pop.sentence_years)
    assert _median(pop, admitted, "murder_single") > 1.8 * _median(pop, admitted, "theft")
    # sourced medians of the imposed term (DSA 2022-23 fits): theft 3.83, murder_single 7.72
    assert _median(pop, admitted, "theft") == pytest.approx(3.83, rel=0.05)
    assert _median(pop, admitted, "murder_single") == pytest.approx(7.72, rel=0.05)


def test_stock_holds_longer_sentences_and_more_violence_than_admissions(russia):
    scenario, pop = russia
    stock = _stock_convicts(pop)
    admitted = (pop.admit_day >= 0) & (pop.sentence_years > 0) & np.isfinite(pop.sentence_years)
    assert np.median(pop.sentence_years[stock]) > 1.2 * np.median(pop.sentence_years[admitted])
    violent = np.isin(pop.offence, VIOLENT_CODES)
    assert violent[stock].mean() > violent[admitted].mean() + 0.05
    # the stock's offence mix is the sourced one (FSIN 2019: drugs 28%)
    drug = pop.offence[stock] == OFFENCE_CODE["drug"]
    assert drug.mean() == pytest.approx(scenario.population.offences["drug"].stock_share, abs=0.01)


def test_stock_shares_default_to_admissions_times_mean_sentence():
    scenario = sim.load_scenario("ukraine_2024")
    offences = {
        o: prof.model_copy(update={"stock_share": None})
        for o, prof in scenario.population.offences.items()
    }
    params = scenario.population.model_copy(update={"offences": offences})
    shares = stock_offence_shares(offence_profiles(params))
    theft, murder = offences["theft"], offences["murder_single"]
    assert shares["murder_single"] / shares["theft"] == pytest.approx(
        (murder.admission_share * murder.sentence_years.mean_value)
        / (theft.admission_share * theft.sentence_years.mean_value)
    )
    assert set(shares) <= set(OFFENCES)


def test_age_depends_on_offence_and_motivation_falls_with_age(ukraine):
    scenario, pop = ukraine
    admitted = pop.admit_day >= 0
    entry_age = pop.age0 + np.maximum(pop.admit_day, 0) / 365.25

    def median_age(offence):
        return float(np.median(entry_age[admitted & (pop.offence == OFFENCE_CODE[offence])]))

    assert median_age("robbery") < median_age("murder_single") - 5  # 29.6 vs 40.6 (DSA)
    beta = scenario.population.motivation_age_per_year
    assert beta > 0
    slope = np.polyfit(entry_age[admitted], np.log(pop.motivation[admitted]), 1)[0]
    assert slope == pytest.approx(-beta, abs=0.01)


def test_female_share_follows_the_sources(ukraine, russia):
    assert 1 - ukraine[1].male.mean() == pytest.approx(0.05, abs=0.01)  # 4.9% (2021)
    _, pop = russia
    stock = _stock_convicts(pop)
    assert 1 - pop.male[stock].mean() == pytest.approx(0.078, abs=0.01)  # FSIN 7.8-8.0%
    drug = stock & (pop.offence == OFFENCE_CODE["drug"])
    assert 1 - pop.male[drug].mean() == pytest.approx(0.112, abs=0.015)  # 13.4k of 120k


def test_warm_up_keeps_who_is_inside_on_the_start_date():
    scenario = sim.load_scenario("russia_defendants_2024")
    warm = warm_up_days(scenario)
    assert warm == (scenario.scenario.start_date - scenario.scenario.warm_up_from).days > 800
    before = _draw(scenario.population, 5, 20_000, warm + 30)
    after = _advance(before, warm)
    inside = (before.admit_day < warm) & (before.sentence_end > warm)
    assert after.n_initial == int(inside.sum())
    assert after.n == int(inside.sum() + (before.admit_day >= warm).sum())
    assert np.all(after.admit_day[: after.n_initial] == -1)
    assert np.all(after.admit_day[after.n_initial :] >= 0)
    assert np.all(after.sentence_end > 0)
    custody_only = scenario.model_copy(
        update={"scenario": scenario.scenario.model_copy(update={"warm_up_with": None})}
    )
    np.testing.assert_array_equal(synthesize(custody_only, 5, 20_000, 30).offence, after.offence)


def test_warm_up_with_the_chain_leaves_out_whoever_applied_before_the_start():
    """A regime alone meets the pool it meets in the chain: the defendants in custody on its
    start date who have not applied under the chain's earlier regimes."""
    alone = sim.load_scenario("russia_defendants_2024")
    assert alone.scenario.warm_up_with == "russia_2022_2025"
    chain = sim.load_scenario("russia_2022_2025")
    start = chain.day_of(alone.scenario.start_date)
    size = 20_000
    people = sim.run(chain, seed=4, population=size, record_people=True).people
    applied_before = people["application_day"].between(0, start - 1).to_numpy()
    assert applied_before.sum() > 500  # the earlier regimes did recruit
    whole = synthesize(chain, 4, size)
    lo, hi = rules.status_segment(whole, DEFENDANT)
    in_chain = (lo <= start) & (hi > start) & ~applied_before[np.argsort(people["id"].to_numpy())]
    pop = synthesize(alone, 4, size)
    lo, hi = rules.status_segment(pop, DEFENDANT)
    assert int(((lo <= 0) & (hi > 0)).sum()) == int(in_chain.sum())
    # without the chain's regimes the pool is larger by those who applied
    custody_only = alone.model_copy(
        update={"scenario": alone.scenario.model_copy(update={"warm_up_with": None})}
    )
    assert synthesize(custody_only, 4, size).n_initial > pop.n_initial


def test_life_sentences_pile_up_in_the_stock_not_in_admissions(ukraine):
    scenario, pop = ukraine
    life = np.isinf(pop.sentence_years)
    stock = _stock_convicts(pop)
    sentenced = (pop.admit_day >= 0) & (pop.sentence_years > 0)
    assert life[stock].mean() == pytest.approx(scenario.population.life_sentence_share, abs=0.005)
    p = scenario.population.admission_life_sentence_share
    assert life[sentenced].mean() == pytest.approx(p, abs=0.002)
    assert p < scenario.population.life_sentence_share / 10


@pytest.mark.parametrize("block_people", [999, 1 << 14])
def test_blocks_are_the_rows_of_the_whole_population(block_people):
    """Drawn a block of ids at a time, the people are the same, row for row: each draw
    depends only on the seed and the person's id."""
    from dataclasses import fields

    from sim.model.population import blocks

    scenario = sim.load_scenario("russia_2022_2025")
    whole = synthesize(scenario, 7, 20_000, 200)
    parts = list(blocks(scenario, 7, 20_000, 200, block_people=block_people))
    assert len(parts) == -(-whole.n // block_people) > 1
    joined = Population.concat(parts, parts[0].facility_climate)
    assert joined.n_initial == whole.n_initial
    np.testing.assert_array_equal(joined.ids, np.arange(whole.n))
    for f in fields(whole):
        if f.name not in ("person_id", "n_initial"):
            np.testing.assert_array_equal(getattr(joined, f.name), getattr(whole, f.name))


def test_a_run_and_its_baseline_draw_the_people_once_when_reused(monkeypatch):
    """Inside `reused()`, the no-recruitment baseline gets the people its run drew (its
    `[population]` differs only in behaviour), with the same outputs as drawn afresh;
    outside it, each run draws them."""
    import sim.model.population as population
    from sim.counterfactual import no_recruitment
    from sim.model.population import reused

    draws = []
    real_draw = population._draw_range
    monkeypatch.setattr(
        population, "_draw_range", lambda *a, **k: draws.append(1) or real_draw(*a, **k)
    )
    scenario = sim.load_scenario("ukraine_2024")

    def pair():
        run = sim.run(scenario, seed=5, population=3000, days=200)
        base = sim.run(no_recruitment(scenario), seed=5, population=3000, days=200)
        return run, base

    fresh = pair()
    assert len(draws) == 2
    with reused():
        kept = pair()
        other_seed = sim.run(scenario, seed=6, population=3000, days=200)
    assert len(draws) == 2 + 1 + 1  # the pair once, another seed afresh
    assert other_seed.summary != kept[0].summary
    for a, b in zip(fresh, kept, strict=True):
        pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
        pd.testing.assert_frame_equal(a.recruits, b.recruits)


@pytest.mark.parametrize(
    ("n", "block_people", "multiple_of", "sizes"),
    [
        (10, None, 2, [10]),
        (0, 4, 2, [0]),
        (10, 4, 1, [3, 3, 4]),
        (700_000, 1 << 18, 1, [233_333, 233_333, 233_334]),
        (700_000, 1 << 18, 2, [175_000] * 4),  # a multiple of the threads, equal sizes
        (50_000, 1 << 18, 2, [50_000]),  # too few people to cut for a second thread
        (70_000, 1 << 18, 4, [35_000, 35_000]),  # as many as keep MIN_SPLIT_PEOPLE each
    ],
)
def test_block_bounds_cover_every_row_once_in_blocks_of_at_most_the_size(
    n, block_people, multiple_of, sizes
):
    from sim.model.population import block_bounds

    bounds = block_bounds(n, block_people, multiple_of)
    assert [last - first for first, last in bounds] == sizes
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(bounds[:-1], bounds[1:], strict=True))


def test_concat_consuming_the_parts_joins_the_same_rows_and_empties_the_parts():
    """With `consume`, each column of the parts is let go once joined (and `consume` called
    after each): the joined rows are those of a join that keeps the parts."""
    from dataclasses import fields

    from sim.model.population import blocks

    scenario = sim.load_scenario("russia_2022_2025")
    kept = list(blocks(scenario, 7, 20_000, 200, block_people=3000))
    used = list(blocks(scenario, 7, 20_000, 200, block_people=3000))
    calls = []
    whole = Population.concat(kept, kept[0].facility_climate)
    joined = Population.concat(used, used[0].facility_climate, consume=lambda: calls.append(1))
    assert joined.n == whole.n > 3000 and joined.n_initial == whole.n_initial
    for f in fields(whole):
        np.testing.assert_array_equal(getattr(joined, f.name), getattr(whole, f.name))
    skip = ("n_initial", "facility_climate")
    columns = [f.name for f in fields(Population) if f.name not in skip]
    assert len(calls) == len(columns)
    assert all(getattr(p, name).size == 0 for p in used for name in columns)
    assert all(p.n > 0 for p in kept)  # parts are left alone without `consume`


def test_let_go_empties_columns_without_holding_their_memory(ukraine):
    _, drawn = ukraine
    pop = drawn.take(slice(0, 5000))  # views of the drawn table's columns
    n = pop.n
    pop.let_go("admit_day", "sentence_end", "person_id")
    assert pop.admit_day.size == pop.sentence_end.size == pop.ids.size == 0
    assert pop.admit_day.dtype == np.int32 and pop.ids.dtype == np.int64
    assert pop.admit_day.base is None  # not a view of the drawn column
    assert pop.n == n  # the number of people is that of status0
    assert drawn.admit_day.size > n  # the table the columns were taken from is intact
