"""Eligibility and screening rules (BRIEF 2.1, 2.2) on hand-built people."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.engines.mesa_agents import PersonAgent
from sim.model import rules
from sim.model.population import Population
from sim.model.random import Streams
from sim.model.rules import eligibility_window, not_excluded, screening_rejected, status_segment
from sim.model.taxonomy import (
    CONVICTED,
    DAYS_PER_YEAR,
    DEFENDANT,
    NEVER,
    OFFENCE_CODE,
    OFFENCES,
    PRETRIAL,
    STATUS_CODE,
    STATUSES,
    SUSPECT,
)

HORIZON = 20_000  # regime in force from day 0 to far beyond any sentence in these tests

DEFAULTS = {
    "admit_day": -1,  # in custody at day 0
    "status0": "convicted",
    "investigation_end": 0,
    "trial_end": 0,
    "sentence_end": 500,
    "sentence_years": 5.0,
    "offence": "theft",
    "male": True,
    "age0": 30.0,
    "former_official": False,
    "infectious": False,
    "fitness": 0.5,
    "motivation": 1.0,
    "facility": 0,
}


def admitted(regime, pop: Population) -> np.ndarray:
    """The law's fixed exclusions applied to everyone in `pop`."""
    return not_excluded(regime, pop.offence, pop.former_official, pop.sentence_end, pop.male)


def people(**overrides) -> Population:
    """A population of one person per position: attributes default to an eligible-looking
    adult male convict (theft, 500 days left); any attribute may be a scalar or a list.
    Statuses and offences may be given by name."""
    values = {**DEFAULTS, **overrides}
    n = max((len(v) for v in values.values() if isinstance(v, list | tuple)), default=1)

    def column(name, dtype):
        v = values[name]
        v = list(v) if isinstance(v, list | tuple) else [v] * n
        assert len(v) == n, name
        if name == "status0":
            v = [STATUS_CODE[x] if isinstance(x, str) else x for x in v]
        if name == "offence":
            v = [OFFENCE_CODE[x] if isinstance(x, str) else x for x in v]
        return np.array(v, dtype=dtype)

    return Population(
        n_initial=n,
        admit_day=column("admit_day", np.int32),
        status0=column("status0", np.uint8),
        investigation_end=column("investigation_end", np.int32),
        trial_end=column("trial_end", np.int32),
        sentence_end=column("sentence_end", np.int32),
        sentence_years=column("sentence_years", np.float32),
        offence=column("offence", np.uint8),
        male=column("male", bool),
        age0=column("age0", np.float32),
        former_official=column("former_official", bool),
        infectious=column("infectious", bool),
        fitness=column("fitness", np.float32),
        motivation=column("motivation", np.float32),
        facility=column("facility", np.int32),
        facility_climate=np.ones(1, dtype=np.float32),
    )


def windows(regime, pop: Population, start: int = 0, end: int = HORIZON) -> list[list]:
    """Per person, the [lo, hi) windows of eligibility under `regime` (statuses it covers)."""
    out: list[list] = [[] for _ in range(pop.n)]
    for name in regime.statuses:
        idx, lo, hi = eligibility_window(regime, STATUS_CODE[name], pop, start, end)
        assert np.all(lo < hi)
        for i, a, b in zip(idx, lo, hi, strict=True):
            out[i].append((int(a), int(b)))
    return out


def eligible(regime, pop: Population, day: int, start: int = 0, end: int = HORIZON) -> list:
    """Per person: eligible under `regime` on `day`?"""
    return [any(a <= day < b for a, b in w) for w in windows(regime, pop, start, end)]


def first_day(regime, pop: Population) -> list:
    """Per person: first eligible day (None if never)."""
    return [min((a for a, _b in w), default=None) for w in windows(regime, pop)]


@pytest.fixture(scope="module")
def ua():
    return sim.load_scenario("ukraine_2024").regimes["UA_2024"]


@pytest.fixture(scope="module")
def ru_defendants():
    return sim.load_scenario("russia_defendants_2024").regimes["RU_DEFENDANTS"]


@pytest.fixture(scope="module")
def ru_64fz():
    return sim.load_scenario("russia_64fz_2024").regimes["RU_64FZ"]


@pytest.fixture(scope="module")
def wagner():
    return sim.load_scenario("russia_wagner_2022").regimes["RU_WAGNER"]


def test_people_helper():
    pop = people(offence=["theft", "drug"], age0=[20, 40])
    assert pop.n == 2
    assert list(pop.offence) == [OFFENCE_CODE["theft"], OFFENCE_CODE["drug"]]
    assert list(pop.status0) == [CONVICTED, CONVICTED]
    assert list(pop.age0) == [20, 40]
    assert list(pop.custody_start) == [0, 0]


# --------------------------------------------------------------------------- UA-2024


def test_ua_covers_convicts_only(ua):
    assert ua.statuses == ["convicted"]


def test_ua_three_year_limit_boundaries(ua):
    limit = ua.max_remaining_sentence_days
    assert limit == pytest.approx(3 * DAYS_PER_YEAR, abs=1)  # "no more than 3 years left"
    pop = people(sentence_end=[limit - 1, limit, limit + 1, limit + 30])
    assert eligible(ua, pop, 0) == [True, True, False, False]
    assert eligible(ua, pop, 1) == [True, True, True, False]
    assert first_day(ua, pop) == [0, 0, 1, 30]
    # Eligible until the day before the sentence ends.
    assert eligible(ua, pop, limit - 2) == [True, True, True, True]
    assert eligible(ua, pop, limit - 1) == [False, True, True, True]
    assert eligible(ua, pop, limit) == [False, False, True, True]
    assert windows(ua, pop)[2] == [(1, limit + 1)]


def test_ua_limit_counts_from_conviction_for_pretrial(ua):
    # Pre-trial until day 100; then convicted with 2,000 or 500 days to serve.
    limit = ua.max_remaining_sentence_days
    pop = people(status0="pretrial", trial_end=100, sentence_end=[2000, 600])
    assert first_day(ua, pop) == [2000 - limit, 100]


def test_ua_pretrial_detainees_not_eligible(ua):
    pop = people(status0="pretrial", trial_end=[300, 300], sentence_end=[300, 700])
    # While on remand: never; the first is acquitted (custody ends at trial end).
    for day in (0, 150, 299):
        assert eligible(ua, pop, day) == [False, False]
    assert windows(ua, pop) == [[], [(300, 700)]]


@pytest.mark.parametrize(
    "offence",
    [
        "state_security",
        "treason_espionage",
        "murder_aggravated",
        "sexual",
        "sexual_minor",
        "terrorism",
        "fatal_drunk_driving",
        "corruption_grave",
    ],
)
def test_ua_excluded_offences(ua, offence):
    assert offence in ua.excluded_offences
    pop = people(offence=[offence, "theft"])
    assert list(admitted(ua, pop)) == [False, True]
    assert eligible(ua, pop, 0) == [False, True]


@pytest.mark.parametrize(
    "offence", ["theft", "fraud", "drug", "robbery", "assault", "murder_single", "other"]
)
def test_ua_eligible_offences(ua, offence):
    assert eligible(ua, people(offence=offence), 0) == [True]


def test_ua_single_murder_eligible_aggravated_not(ua):
    pop = people(offence=["murder_single", "murder_aggravated"])
    assert eligible(ua, pop, 0) == [True, False]


def test_ua_life_sentence_excluded(ua):
    pop = people(sentence_end=[NEVER, 500], sentence_years=[np.inf, 5.0])
    assert list(admitted(ua, pop)) == [False, True]
    assert eligible(ua, pop, 0) == [False, True]
    no_limit = ua.model_copy(update={"max_remaining_sentence_days": None})
    assert eligible(no_limit, pop, 0) == [False, True]  # excluded as such, not by the limit


def test_ua_former_officials_excluded(ua):
    pop = people(former_official=[True, False])
    assert list(admitted(ua, pop)) == [False, True]
    assert eligible(ua, pop, 0) == [False, True]


def test_ua_women_eligible(ua):
    assert eligible(ua, people(male=[False, True]), 0) == [True, True]


def test_ua_age_limits(ua):
    assert (ua.min_age_years, ua.max_age_years) == (18, 60)
    pop = people(age0=[17.5, 18.0, 30.0, 59.5, 60.0, 65.0], sentence_end=1000)
    assert eligible(ua, pop, 0) == [False, True, True, True, False, False]
    half_year = int(np.ceil(0.5 * DAYS_PER_YEAR))
    # Turns 18 half a year in; turns 60 half a year in (eligible up to the day before).
    assert windows(ua, pop) == [
        [(half_year, 1000)],
        [(0, 1000)],
        [(0, 1000)],
        [(0, half_year)],
        [],
        [],
    ]


def test_ua_window_clipped_to_the_regime_and_to_custody(ua):
    pop = people(admit_day=[-1, 50], trial_end=[0, 50], sentence_end=[500, 400])
    assert windows(ua, pop, start=100, end=300) == [[(100, 300)], [(100, 300)]]
    assert windows(ua, pop) == [[(0, 500)], [(50, 400)]]


# --------------------------------------------------------------------------- Russia


def test_ru_defendants_statuses(ru_defendants):
    assert ru_defendants.statuses == ["defendant"]
    pop = people(
        status0=["defendant", "convicted", "suspect", "pretrial"],
        investigation_end=[0, 0, 100, 0],
        trial_end=[300, 0, 300, 300],
        sentence_end=[2000, 2000, 2000, 2000],
    )
    assert eligible(ru_defendants, pop, 0) == [True, False, False, False]
    # The suspect becomes a defendant when the investigation ends; at trial end, convicted.
    assert eligible(ru_defendants, pop, 100) == [True, False, True, False]
    assert eligible(ru_defendants, pop, 300) == [False, False, False, False]
    assert windows(ru_defendants, pop) == [[(0, 300)], [], [(100, 300)], []]


@pytest.mark.parametrize(
    ("offence", "ok"),
    [
        ("treason_espionage", False),
        ("terrorism", False),
        ("sexual", False),
        ("sexual_minor", False),
        ("drug", True),
        ("murder_single", True),
        ("murder_aggravated", True),
        ("theft", True),
    ],
)
def test_ru_defendants_exclusions(ru_defendants, offence, ok):
    pop = people(status0="defendant", trial_end=300, sentence_end=2000, offence=offence)
    assert eligible(ru_defendants, pop, 0) == [ok]


def test_ru_64fz_statuses(ru_64fz):
    assert ru_64fz.statuses == ["suspect"]
    pop = people(
        status0=["suspect", "defendant", "convicted"],
        investigation_end=[100, 0, 0],
        trial_end=[300, 300, 0],
        sentence_end=2000,
    )
    assert eligible(ru_64fz, pop, 0) == [True, False, False]
    assert eligible(ru_64fz, pop, 100) == [False, False, False]  # now a defendant
    assert windows(ru_64fz, pop) == [[(0, 100)], [], []]


@pytest.mark.parametrize(
    ("offence", "ok"),
    [
        ("sexual_minor", False),
        ("terrorism", False),
        ("public_security", False),
        ("treason_espionage", False),
        ("state_security", False),
        ("smuggling", False),
        ("sexual", True),  # adult sexual offences are not excluded by 64-FZ
        ("murder_aggravated", True),
        ("drug", True),
    ],
)
def test_ru_64fz_exclusions(ru_64fz, offence, ok):
    pop = people(
        status0="suspect", investigation_end=100, trial_end=300, sentence_end=2000, offence=offence
    )
    assert eligible(ru_64fz, pop, 0) == [ok]


def test_ru_64fz_no_remaining_sentence_limit_for_suspects(ru_64fz):
    limited = ru_64fz.model_copy(update={"max_remaining_sentence_days": 10})
    pop = people(status0="suspect", investigation_end=100, trial_end=300, sentence_end=5000)
    assert eligible(limited, pop, 0) == [True]  # the limit applies to convicts only


@pytest.mark.parametrize("offence", OFFENCES)
def test_wagner_takes_every_offence(wagner, offence):
    assert eligible(wagner, people(offence=offence), 0) == [True]


def test_wagner_takes_life_sentences_and_former_officials(wagner):
    pop = people(sentence_end=[NEVER, 500], former_official=[False, True])
    assert eligible(wagner, pop, 0) == [True, True]
    assert eligible(wagner, pop, 5000) == [True, False]


def test_wagner_men_only(wagner):
    assert wagner.sexes == ["male"]
    pop = people(male=[True, False])
    assert list(admitted(wagner, pop)) == [True, False]
    assert eligible(wagner, pop, 0) == [True, False]


def test_wagner_age_band(wagner):
    assert (wagner.min_age_years, wagner.max_age_years) == (22, 50)
    pop = people(age0=[21.0, 22.0, 49.0, 50.0, 55.0], sentence_end=5000)
    assert eligible(wagner, pop, 0) == [False, True, True, False, False]
    year = int(np.ceil(DAYS_PER_YEAR))
    assert first_day(wagner, pop)[:3] == [year, 0, 0]


def test_wagner_window_bounded_by_its_dates():
    scn = sim.load_scenario("russia_2022_2025")
    regime = scn.regimes["RU_WAGNER"]
    start, end = scn.day_of(regime.start_date), scn.day_of(regime.end_date)
    assert (start, end) == (0, 215)
    pop = people(sentence_end=5000)
    assert windows(regime, pop, start, end) == [[(0, 215)]]


# --------------------------------------------------------------------------- screening


def _screen(regime, pop: Population, u=1.0):
    ones = np.full(pop.n, u)
    return list(screening_rejected(regime, pop.infectious, pop.fitness, ones, ones, ones))


def test_infectious_carriers_rejected_in_ukraine_not_by_wagner(ua, wagner):
    assert ua.excludes_infectious_carriers and not wagner.excludes_infectious_carriers
    pop = people(infectious=[True, False])
    assert _screen(ua, pop) == [True, False]
    assert _screen(wagner, pop) == [False, False]


def test_fitness_below_minimum_rejected(ua, wagner):
    for regime in (ua, wagner):
        m = regime.min_fitness
        assert m > 0
        pop = people(fitness=[m / 2, np.float32(m) * 1.001, 0.9])
        assert _screen(regime, pop) == [True, False, False]


def test_chance_rejections(ua, wagner):
    pop = people(fitness=0.9)
    u_psych = np.array([ua.psych_reject_prob / 2])
    never = np.ones(1)
    assert list(screening_rejected(ua, pop.infectious, pop.fitness, u_psych, never, never)) == [
        True
    ]
    u_cmd = np.array([ua.commander_refusal_prob / 2])
    assert list(screening_rejected(ua, pop.infectious, pop.fitness, never, never, u_cmd)) == [True]
    u_poly = np.array([wagner.polygraph_reject_prob / 2])
    assert list(screening_rejected(wagner, pop.infectious, pop.fitness, never, u_poly, never)) == [
        True
    ]
    assert ua.polygraph_reject_prob == 0
    assert list(screening_rejected(ua, pop.infectious, pop.fitness, never, u_poly, never)) == [
        False
    ]


# --------------------------------------------------------------------------- status


def test_suspect_status_progression():
    pop = people(
        status0=["suspect", "suspect", "pretrial", "defendant"],
        admit_day=[-1, 10, -1, -1],
        investigation_end=[50, 60, 0, 0],
        trial_end=[200, 210, 120, 90],
        sentence_end=[1000, 210, 800, 700],  # the second is acquitted at trial end
    )
    seg = {s: list(zip(*map(list, status_segment(pop, s)), strict=True)) for s in range(4)}
    assert seg[SUSPECT][0] == (0, 50)
    assert seg[DEFENDANT][0] == (50, 200)
    assert seg[CONVICTED][0] == (200, 1000)
    assert seg[SUSPECT][1] == (10, 60)
    assert seg[DEFENDANT][1] == (60, 210)
    assert seg[CONVICTED][1][0] >= seg[CONVICTED][1][1]  # acquitted: never convicted
    assert seg[PRETRIAL][2] == (0, 120)
    assert seg[CONVICTED][2] == (120, 800)
    assert seg[DEFENDANT][3] == (0, 90)
    assert seg[CONVICTED][3] == (90, 700)
    # Nobody holds a status they never had, and segments never overlap.
    for i in range(pop.n):
        spans = sorted((lo, hi) for s in range(4) for lo, hi in [seg[s][i]] if lo < hi)
        for (_a, b), (c, _d) in zip(spans, spans[1:], strict=False):
            assert b <= c
    assert seg[PRETRIAL][0][0] >= seg[PRETRIAL][0][1]
    assert seg[SUSPECT][2][0] >= seg[SUSPECT][2][1]


# --------------------------------------------------------------------------- Mesa agreement

AGREEMENT_POP = {
    "status0": ["convicted"] * 12 + ["pretrial", "pretrial", "suspect", "suspect", "defendant"],
    "admit_day": [-1] * 11 + [40] + [-1, 30, -1, 20, -1],
    "investigation_end": [0] * 14 + [100, 80, 0],
    "trial_end": [0] * 11 + [40] + [300, 250, 300, 260, 200],
    "sentence_end": [1095, 1096, 1097, 1500, NEVER, 800, 800, 800, 800, 800, 800, 900]
    + [2000, 250, 1500, 900, 1800],
    "offence": ["theft", "drug", "murder_single", "theft", "murder_aggravated", "sexual_minor"]
    + ["sexual", "smuggling", "theft", "theft", "theft", "terrorism"]
    + ["public_security", "theft", "sexual", "theft", "murder_aggravated"],
    "male": [True] * 8 + [False] + [True] * 8,
    "age0": [30.0, 17.5, 21.5, 49.7, 40.0, 30.0, 59.8, 35.0, 30.0, 30.0, 45.0, 22.0]
    + [19.0, 50.0, 25.0, 59.5, 33.0],
    "former_official": [False] * 9 + [True] + [False] * 7,
}
AGREEMENT_DAYS = (0, 1, 19, 20, 40, 99, 100, 150, 182, 250, 299, 300, 404, 405, 699, 799, 1096)


@pytest.mark.parametrize(
    ("scenario", "rid"),
    [
        ("ukraine_2024", "UA_2024"),
        ("russia_wagner_2022", "RU_WAGNER"),
        ("russia_stormz_2023", "RU_STORMZ"),
        ("russia_64fz_2024", "RU_64FZ"),
        ("russia_defendants_2024", "RU_DEFENDANTS"),
    ],
)
def test_mesa_agent_agrees_with_vector_rules(scenario, rid):
    import mesa

    regime = sim.load_scenario(scenario).regimes[rid]
    pop = people(**AGREEMENT_POP)

    class Stub(mesa.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.pop = pop
            self.spans = [(rid, regime, 0, HORIZON)]

    model = Stub()
    agents = [PersonAgent(model, i) for i in range(pop.n)]
    start = pop.custody_start
    mismatches = []
    for day in AGREEMENT_DAYS:
        vector = eligible(regime, pop, day)
        for i, agent in enumerate(agents):
            if day < start[i]:
                continue  # not admitted yet: the Mesa model has no agent for them
            if agent.is_eligible(0, agent.legal_status(day), day) != vector[i]:
                mismatches.append((i, day, vector[i], STATUSES[agent.legal_status(day)]))
    assert not mismatches
    # The hand-built people do exercise both answers under every regime.
    answers = {v for day in AGREEMENT_DAYS for v in eligible(regime, pop, day)}
    assert answers == {True, False}


# --------------------------------------------------------------------------- one law, two engines
# Each rule takes scalars (a Mesa agent) or arrays (the vector engine) and must give the
# same answer either way.


def test_status_on_matches_the_status_segments_and_scalars_match_arrays():
    pop = people(
        status0=["suspect", "suspect", "pretrial", "defendant", "convicted"],
        admit_day=[-1, 10, -1, -1, -1],
        investigation_end=[50, 60, 0, 0, 0],
        trial_end=[200, 210, 120, 90, 0],
        sentence_end=[1000, 210, 800, 700, 400],
    )
    segments = [status_segment(pop, s) for s in range(4)]
    for day in (0, 9, 10, 49, 50, 59, 60, 89, 90, 119, 120, 199, 200, 209, 399, 699):
        by_array = rules.status_on(pop.status0, pop.investigation_end, pop.trial_end, day)
        for i in range(pop.n):
            one = rules.status_on(
                int(pop.status0[i]), int(pop.investigation_end[i]), int(pop.trial_end[i]), day
            )
            assert one == by_array[i]
            if pop.custody_start[i] <= day < pop.sentence_end[i]:
                held = [s for s, (lo, hi) in enumerate(segments) if lo[i] <= day < hi[i]]
                assert held == [by_array[i]], (i, day)


def test_status_path_holds_the_status_on_every_day():
    """`status_path`'s three segments cover every day once, with `status_on`'s status
    (what custody by legal status and sex is counted from)."""
    rng = np.random.default_rng(7)
    n = 400
    status0 = rng.integers(0, 4, n).astype(np.uint8)
    investigation_end = rng.integers(-50, 300, n)
    trial_end = investigation_end + rng.integers(0, 300, n)
    path = rules.status_path(status0, investigation_end, trial_end)
    for day in range(-60, 620, 7):
        want = rules.status_on(status0, investigation_end, trial_end, day)
        hits = np.zeros(n, dtype=int)
        got = np.full(n, -1)
        for status, lo, hi in path:
            inside = (lo <= day) & (day < hi)
            hits += inside
            got = np.where(inside, status, got)
        assert (hits == 1).all() and np.array_equal(got, want), day


def test_not_excluded_and_personal_window_scalars_match_arrays(ua, wagner):
    pop = people(**AGREEMENT_POP)
    for regime in (ua, wagner):
        ok = admitted(regime, pop)
        for status in range(4):
            lo, hi = rules.personal_window(regime, status, pop.sentence_end, pop.age0)
            for i in range(pop.n):
                args = (int(pop.offence[i]), bool(pop.former_official[i]))
                one = rules.not_excluded(regime, *args, int(pop.sentence_end[i]), bool(pop.male[i]))
                assert bool(one) == ok[i]
                own = rules.personal_window(
                    regime, status, int(pop.sentence_end[i]), float(pop.age0[i])
                )
                assert own == (lo[i], hi[i])


def test_a_campaign_acts_only_while_it_runs_with_visits_on_each_facility_phase():
    scn = sim.load_scenario("russia_wagner_2022")
    tours = scn.population.campaigns["WAGNER_TOURS"]
    start, end = 10, 10 + 200
    days = np.arange(0, 300)
    phase = np.array([0, 5])
    f = rules.campaign_factor(tours, start, end, days, phase)
    assert f.shape == (2, 300)
    assert (f[:, days < start] == 1).all() and (f[:, days >= end] == 1).all()
    ramp = rules.campaign_factor(tours, start, end, days)[0]
    assert ramp[start] < ramp[start + 100] <= tours.intensity  # builds up linearly
    interval = tours.visit_interval_days
    visits = np.flatnonzero(f[1, start:end] != ramp[start:end])
    assert list(visits) == list(range(5, end - start, interval))


def test_daily_rates_take_the_bonus_away_on_its_end_date_and_reach_only_their_statuses():
    scn = sim.load_scenario("russia_2022_2025")
    spans = rules.regime_spans(scn)
    stormv = next(sp for sp in spans if sp[0] == "RU_STORMV")
    phases: dict = {}
    rates = rules.daily_rates(scn, stormv, CONVICTED, scn.n_days, phases)[0]
    bonus_end = scn.day_of(stormv[1].signup_bonus_end_date)
    assert rates[bonus_end - 1] > rates[bonus_end] > 0
    # The suspects' campaign does not reach convicts; it does reach suspects.
    suspects_day = scn.day_of(scn.population.campaigns["SUSPECTS_DRIVE"].start_date)
    for_suspects = rules.daily_rates(scn, stormv, SUSPECT, scn.n_days, phases)[0]
    assert for_suspects[suspects_day + 100] > rates[suspects_day + 100]
    launch = stormv[2]  # the convicts' drive starts with a wave that suspects do not see
    assert for_suspects[launch] * 2.9 < rates[launch] < for_suspects[launch] * 3.1


def test_daily_rates_by_distinct_row_are_each_facilitys_own_to_the_last_bit():
    """Facilities that share visit days share a computed row: the rates handed to each
    facility equal those computed for that facility alone, bit for bit, and there are
    fewer distinct rows than facilities (so the sharing is exercised)."""
    scn = sim.load_scenario("russia_wagner_2022")
    params = scn.population
    spans = rules.regime_spans(scn)
    streams = Streams(3)
    phases = rules.visit_phases(
        params, lambda name, n: streams.uniform(name, np.arange(n, dtype=np.uint64))
    )
    assert phases, "the scenario has recruiter visits"
    n_days = 400
    for span in spans:
        distinct, row_of = rules.distinct_daily_rates(scn, span, CONVICTED, n_days, phases)
        assert row_of is not None and len(distinct) < params.facilities == len(row_of)
        full = rules.daily_rates(scn, span, CONVICTED, n_days, phases)
        for facility in (0, 1, params.facilities - 1):
            alone = {cid: p[facility : facility + 1] for cid, p in phases.items()}
            own = rules.daily_rates(scn, span, CONVICTED, n_days, alone)
            np.testing.assert_array_equal(full[facility], own[0])


def test_person_factor_grows_with_the_custody_a_signature_avoids():
    params = sim.load_scenario("ukraine_2024").population
    end = np.array([400, 800, NEVER])
    years = rules.custody_avoided_years(CONVICTED, end, np.zeros(3), 35)
    assert list(years[:2] * 365.25) == pytest.approx([365, 765]) and np.isinf(years[2])
    factor = rules.person_factor(params, np.ones(3), 1.0, years)
    assert factor[0] < factor[1] < factor[2]
    # For people not yet convicted, the sentence the case brings.
    assert rules.custody_avoided_years(SUSPECT, end, np.array([3.0]), 35)[0] == 3.0


def _span(regime, start, end=NEVER, rid="R"):
    return (rid, regime, start, end)


def test_service_end_by_terms_war_end_and_age(wagner):
    fixed = wagner  # six months, then pardon
    contract = np.array([100, 100, 100])
    age0 = np.array([30.0, 64.6, 30.0])
    war_end = np.array([NEVER, NEVER, 150])
    ends = [rules.service_end_under(fixed, contract[i], age0[i], war_end[i]) for i in range(3)]
    assert ends[0] == 100 + fixed.contract_days
    assert 100 < ends[1] == rules.age_day(64.6, fixed.max_service_age_years) < ends[0]  # age
    assert ends[2] == 150  # the war ends first
    # Service cannot end before the contract (war over before signing).
    assert rules.service_end_under(fixed, 200, 30.0, 150) == 200


def test_a_later_regime_overrides_running_contracts_for_its_statuses(wagner):
    until_war_end = wagner.model_copy(
        update={"contract": "until_war_end", "overrides_existing_contracts": True}
    )
    spans = [_span(wagner, 0, 300, "A"), _span(until_war_end, 300, NEVER, "B")]
    assert rules.overriding_regimes(spans, 0) == [spans[1]]
    contract = np.array([0, 250, 310, 250])  # running, running, after the change, ...
    status = np.array([CONVICTED, CONVICTED, CONVICTED, PRETRIAL])  # ... not covered
    end = rules.service_end(spans, 0, contract, np.full(4, 30.0), 5000, status)
    fixed_end = contract + wagner.contract_days
    assert list(end) == [fixed_end[0], 5000, fixed_end[2], fixed_end[3]]
    # Contracts already over when the later regime starts keep their end.
    assert fixed_end[0] < 300
    # One person at a time gives the same answers.
    one = [
        rules.service_end(spans, 0, int(c), 30.0, 5000, int(s))
        for c, s in zip(contract, status, strict=True)
    ]
    assert one == list(end)


def test_deserter_custody_is_the_unserved_sentence_plus_added_time():
    days = rules.deserter_custody_days(np.array([900, 100, NEVER]), np.array([300, 300, 300]), 50)
    assert list(days) == [650, 50, NEVER + 50]  # served out at contract: added time only
    assert list(rules.custody_end(np.array([1000, 1000, 1000]), days)) == [1650, 1050, NEVER]
    assert rules.custody_end(1000, rules.deserter_custody_days(900, 300, 50)) == 1650


def test_the_calendar_hands_each_status_to_the_regime_in_force():
    scn = sim.load_scenario("russia_2022_2025")
    spans = rules.regime_spans(scn)
    ids = [sp[0] for sp in spans]
    assert ids == ["RU_WAGNER", "RU_STORMZ", "RU_STORMV", "RU_64FZ", "RU_DEFENDANTS"]
    starts = {rid: start for rid, _regime, start, _end in spans}

    def in_force(day):
        return {STATUSES[s]: ids[r] for s, r in rules.regimes_in_force(spans, day).items()}

    assert in_force(0) == {"convicted": "RU_WAGNER"}
    assert in_force(starts["RU_STORMZ"] - 1) == {"convicted": "RU_WAGNER"}
    assert in_force(starts["RU_STORMZ"]) == {"convicted": "RU_STORMZ"}
    assert in_force(starts["RU_64FZ"]) == {"convicted": "RU_STORMV", "suspect": "RU_64FZ"}
    assert in_force(starts["RU_DEFENDANTS"])["defendant"] == "RU_DEFENDANTS"


def test_a_regime_takes_back_the_refused_only_with_a_wait_and_former_recruits_if_it_admits_them():
    regime = sim.load_scenario("ukraine_2024").regimes["UA_2024"]
    neither = regime.model_copy(update={"reapply_wait_days": None, "admits_former_recruits": False})
    assert not rules.takes_back(neither)
    waits = neither.model_copy(update={"reapply_wait_days": 90})
    assert rules.takes_back(waits) and not rules.takes_back(waits, refused=False)
    admits = neither.model_copy(update={"admits_former_recruits": True})
    assert rules.takes_back(admits) and not rules.takes_back(admits, former=False)
