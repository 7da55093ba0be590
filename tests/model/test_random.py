"""Common random numbers: draws depend on (seed, decision, agent id) only."""

from __future__ import annotations

import numpy as np
from scipy import stats

import sim
from sim.model.random import Streams
from sim.model.taxonomy import OFFENCE_CODE


def test_uniforms_are_uniform_and_streams_independent():
    s = Streams(42)
    ids = np.arange(200_000)
    u = s.uniform("a", ids)
    v = s.uniform("b", ids)
    assert 0 < u.min() and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


def test_draw_depends_only_on_seed_decision_and_id():
    s = Streams(7)
    full = s.uniform("x", np.arange(1000))
    part = s.uniform("x", np.array([999, 3, 500]))
    assert np.array_equal(part, full[[999, 3, 500]])
    assert not np.array_equal(Streams(8).uniform("x", np.arange(10)), full[:10])


def test_rule_change_touches_only_the_people_it_concerns():
    """Excluding drug offenders under Wagner changes the paths of drug offenders only."""
    base = sim.load_scenario("russia_wagner_2022")
    variant = sim.load_scenario(
        "russia_wagner_2022", {"regimes.RU_WAGNER.excluded_offences": ["drug"]}
    )
    a = sim.run(base, seed=5, population=30_000, record_people=True).people
    b = sim.run(variant, seed=5, population=30_000, record_people=True).people
    cols = ["application_day", "contract_day", "deploy_day", "exit_day", "outcome"]
    changed = (a[cols] != b[cols]).any(axis=1)
    drug = a["offence"] == OFFENCE_CODE["drug"]
    assert changed.sum() > 100  # the rule matters
    assert not (changed & ~drug).any()  # and touches nobody else
    assert (b.loc[drug, "application_day"] == -1).all()
