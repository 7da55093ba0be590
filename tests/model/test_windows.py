"""The eligibility windows (`sim.model.windows`): the compiled per-person rules give, bit for
bit, what their numpy statement (tests/model/reference_rules.py) gives, for every bundled
regime and variants that switch each exclusion and limit."""

from __future__ import annotations

import numpy as np
import pytest
import reference_rules as ref
from test_rules import AGREEMENT_POP, people

import sim
from sim.model import rules
from sim.model.population import synthesize
from sim.model.rules import eligibility_window, not_excluded, status_segment
from sim.model.taxonomy import NEVER


def _regime_variants():
    """Every bundled regime, and variants that switch each exclusion and limit."""
    import itertools

    seen = []
    for name in ("ukraine_2024", "russia_2022_2025", "russia_wagner_2022"):
        seen += list(sim.load_scenario(name).regimes.values())
    base = seen[0]
    for offences, officials, life, sexes, limit in itertools.product(
        ([], ["murder_aggravated", "sexual_minor"]),
        (True, False),
        (True, False),
        (["male"], ["female"], ["male", "female"], []),
        (None, 0, 400),
    ):
        seen.append(
            base.model_copy(
                update=dict(
                    excluded_offences=offences,
                    admits_former_officials=officials,
                    admits_life_sentences=life,
                    sexes=sexes,
                    max_remaining_sentence_days=limit,
                )
            )
        )
    return seen


@pytest.mark.parametrize("name", ["ukraine_2024", "russia_2022_2025"])
def test_compiled_windows_match_the_numpy_statement_bit_for_bit(name):
    scenario = sim.load_scenario(name)
    drawn = synthesize(scenario, 4, 6000, 400)
    pops = [drawn, people(**AGREEMENT_POP)]
    among = np.random.default_rng(1).random(drawn.n) < 0.7
    checked = 0
    for regime in _regime_variants():
        for pop in pops:
            for status in range(4):
                for got, want in [
                    (status_segment(pop, status), ref.status_segment(pop, status)),
                    (
                        rules.personal_window(regime, status, pop.sentence_end, pop.age0),
                        ref.personal_window(regime, status, pop.sentence_end, pop.age0),
                    ),
                ]:
                    assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
                args = (pop.offence, pop.former_official, pop.sentence_end, pop.male)
                assert np.array_equal(not_excluded(regime, *args), ref.not_excluded(regime, *args))
                for start, end, mask in [(0, 400, None), (37, 250, among), (-5, 3, None)]:
                    if mask is not None and len(mask) != pop.n:
                        continue
                    got = eligibility_window(regime, status, pop, start, end, among=mask)
                    want = ref.eligibility_window(regime, status, pop, start, end, among=mask)
                    for g, w in zip(got, want, strict=True):
                        assert g.dtype == w.dtype and np.array_equal(g, w)
                    checked += len(got[0])
    assert checked > 10_000  # the windows were not all empty


@pytest.mark.parametrize("name", ["ukraine_2024", "russia_2022_2025"])
def test_compiled_later_windows_match_the_numpy_statement_bit_for_bit(name):
    """People back in custody: the status on their case's path, the regime's terms for
    refusals and former recruits, its exclusions and limits, person by person."""
    scenario = sim.load_scenario(name)
    pop = synthesize(scenario, 5, 5000, 400)
    rng = np.random.default_rng(2)
    n = 3000
    ids = rng.integers(0, pop.n, n).astype(np.int64)
    day_back = rng.integers(-30, 350, n).astype(np.int64)
    end = np.where(rng.random(n) < 0.1, int(NEVER), day_back + rng.integers(0, 900, n))
    former = rng.random(n) < 0.3
    refused = np.where(rng.random(n) < 0.4, day_back, int(NEVER)).astype(np.int64)
    spell = (ids, day_back, end.astype(np.int64))
    among = rng.random(n) < 0.6
    checked = 0
    for base in _regime_variants():
        for wait, formers in [(None, True), (0, False), (45, True), (200, False)]:
            regime = base.model_copy(
                update=dict(reapply_wait_days=wait, admits_former_recruits=formers)
            )
            got = rules.reapply_from(regime, former, refused)
            assert np.array_equal(got, ref.reapply_from(regime, former, refused))
            for status in range(4):
                got = rules.status_interval(pop, ids, status)
                want = ref.status_interval(pop, ids, status)
                assert all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
                for start, stop in [(0, 400), (60, 200)]:
                    args = (regime, status, pop, spell, start, stop, former, refused)
                    got = rules.later_window(*args)
                    want = ref.later_window(*args)
                    for g, w in zip(got, want, strict=True):
                        assert g.dtype == w.dtype and np.array_equal(g, w)
                    checked += len(got[0])
                    # candidates restricted by a mask: as if the others were not in the spell
                    got = rules.later_window(*args, among=among)
                    sub = np.flatnonzero(among)
                    cut = (ids[sub], day_back[sub], end[sub].astype(np.int64))
                    pos, lo, hi = ref.later_window(
                        regime, status, pop, cut, start, stop, former[sub], refused[sub]
                    )
                    for g, w in zip(got, (sub[pos], lo, hi), strict=True):
                        assert np.array_equal(g, w)
    assert checked > 10_000  # the windows were not all empty
