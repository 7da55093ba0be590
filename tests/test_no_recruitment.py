"""The no-recruitment baseline (sim.counterfactual.no_recruitment) and the recruitment
effect on the prison population that run, batch and compare report against it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.counterfactual import (
    EFFECT_METRICS,
    counterfactual,
    effect_metrics,
    no_recruitment,
    recruitment_effect,
)

SMALL = {"population": 3000, "days": 240}


def test_nobody_applies(ukraine):
    base = no_recruitment(ukraine)
    assert base.name == "ukraine_2024_no_recruitment"
    assert base.population.volunteering.baseline_per_day == 0
    assert ukraine.population.volunteering.baseline_per_day > 0  # the original is untouched
    ts = sim.run(base, seed=2, **SMALL).timeseries
    for col in ("applications", "released_to_army", "deployed_total", "killed"):
        assert ts[col].iloc[-1] == 0, col
    # the scenario itself recruits at this size, so the check above can fail
    assert sim.run(ukraine, seed=2, **SMALL).summary["released_to_army"] > 0


def test_same_custody_events_with_and_without_recruitment(ukraine):
    """Same seed: admissions are the same draws; only recruitment differs."""
    with_ = sim.run(ukraine, seed=4, **SMALL).timeseries
    without = sim.run(no_recruitment(ukraine), seed=4, **SMALL).timeseries
    assert (with_["admissions"] == without["admissions"]).all()
    assert (with_["in_custody"] <= without["in_custody"]).all()
    assert (with_["in_custody"] < without["in_custody"]).any()


def test_baseline_does_not_depend_on_the_law(ukraine, russia):
    """Without recruitment the regimes do nothing: Russia's rules on Ukraine's prisons give
    the same custody as Ukraine's own (so every cell of a population shares one baseline)."""
    cell = counterfactual(russia, ukraine)
    own = sim.run(no_recruitment(ukraine), seed=7, **SMALL).timeseries
    other = sim.run(no_recruitment(cell), seed=7, **SMALL).timeseries
    assert (own["in_custody"] == other["in_custody"]).all()


def test_effect_metrics_arithmetic():
    with_ = pd.DataFrame({"in_custody": [100, 90, 80]})
    without = pd.DataFrame({"in_custody": [100, 101, 100]})
    got = effect_metrics(with_, without)
    assert set(got) == set(EFFECT_METRICS)
    assert got["in_custody_no_recruitment"] == 100
    assert got["prison_population_effect_pct"] == pytest.approx(-20.0)
    empty = effect_metrics(with_, pd.DataFrame({"in_custody": [0]}))
    assert math.isnan(empty["prison_population_effect_pct"])


def test_recruitment_effect_runs_the_baseline_with_the_same_seed(ukraine):
    result = sim.run(ukraine, seed=5, **SMALL)
    got = recruitment_effect(ukraine, result, seed=5, **SMALL)
    base = sim.run(no_recruitment(ukraine), seed=5, **SMALL).timeseries["in_custody"].iloc[-1]
    custody = result.timeseries["in_custody"].iloc[-1]
    assert got["in_custody_no_recruitment"] == base
    assert got["prison_population_effect_pct"] == pytest.approx(100 * (custody - base) / base)
    assert got["prison_population_effect_pct"] < 0


def test_run_command_reports_the_effect(tmp_path, prisonflow, ukraine):
    out_dir = tmp_path / "ua"
    args = ["run", "ukraine_2024", "--population", "3000", "--days", "240", "--seed", "5"]
    code, out, err = prisonflow(*args, "--out", str(out_dir))
    assert code == 0, err
    assert "prison population vs no recruitment" in out
    summary = pd.read_csv(out_dir / "summary.csv").iloc[0]
    result = sim.run(ukraine, seed=5, **SMALL)
    expected = recruitment_effect(ukraine, result, seed=5, **SMALL)
    for m in EFFECT_METRICS:
        assert summary[m] == pytest.approx(expected[m]), m
    # the existing metric is kept as it was
    assert summary["prison_population_change_pct"] == pytest.approx(
        result.summary["prison_population_change_pct"]
    )


def test_batch_reports_the_effect_per_replicate(tmp_path, ukraine):
    res = sim.batch(
        "ukraine_2024",
        replicates=2,
        workers=1,
        entropy=3,
        out=tmp_path / "b",
        fixed_parameters=True,
        **SMALL,
    )
    s = res.summary
    for row in s.itertuples():
        run = sim.run(ukraine, seed=int(row.seed), **SMALL)
        expected = recruitment_effect(ukraine, run, seed=int(row.seed), **SMALL)
        assert row.prison_population_effect_pct == pytest.approx(
            expected["prison_population_effect_pct"]
        )
    iv = res.intervals.set_index("metric")
    v = s["prison_population_effect_pct"].to_numpy()
    assert iv.loc["prison_population_effect_pct", "median"] == pytest.approx(np.median(v))
    assert iv.loc["in_custody_no_recruitment", "n"] == 2
