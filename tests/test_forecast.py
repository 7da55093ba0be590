"""Validation out of sample (sim.forecast): calibrate before a date, score the forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.forecast import fit_until, interval_score, scores

KILLED = "regimes.UA_2024.killed_per_day"
SCREENING = "regimes.UA_2024.screening_days.mean"
TRUTH = {KILLED: 0.0006, SCREENING: 11.0}  # defaults: 0.0004 and 8
SIZE, DAYS = 5000, 120
# Deployed from the contract on (no unit formation delay), so that deaths come within DAYS.
FORMATION = "regimes.UA_2024.formation_days"
NO_FORMATION = {FORMATION: {"dist": "fixed", "value": 0}}
OUTPUTS = {
    "applications": "applications",
    "released_to_army": "released_to_army",
    "killed": "killed",
}  # metric -> output


def test_interval_score_by_hand():
    # inside: the width; below: width + 20 x shortfall; above: width + 20 x excess
    assert interval_score([10, 10, 10], [20, 20, 20], [15, 5, 22]).tolist() == [10, 110, 50]


def small_scenario(values: dict) -> sim.Scenario:
    """Ukraine at 5,000 people; every uncertain value but the two fitted is held fixed."""
    base = sim.load_scenario("ukraine_2024")
    node = base.to_dict()
    fixed = {}
    for key in base.priors:
        if key not in TRUTH and not key.startswith(FORMATION):
            v = node
            for part in key.split("."):
                v = v[part]
            fixed[key] = v
    overrides = {**fixed, **NO_FORMATION, **values, "population.initial_size": SIZE}
    return sim.load_scenario("ukraine_2024", overrides)


def synthetic_file(tmp_path, seed: int) -> str:
    """Observations from one run with the true values ('exact', so coverage is strict)."""
    ts = sim.run(small_scenario(TRUTH), seed=seed, days=DAYS).timeseries
    rows = [
        {
            "country": "UA",
            "date": f"{ts['date'].iloc[d]:%Y-%m-%d}",
            "metric": metric,
            "value": ts[output].iloc[d],
            "kind": "observed",
            "qualifier": "exact",
            "source": "synthetic",
        }
        for d in (10, 25, 40, 55, 70, 85, 100, 119)
        for metric, output in OUTPUTS.items()
        if ts[output].iloc[d] > 0
    ]
    path = tmp_path / f"synthetic_{seed}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def run_check(tmp_path, seed: int, particles: int, rounds: int):
    scn = small_scenario({})
    until = scn.scenario.start_date + pd.Timedelta(days=60)
    obs = synthetic_file(tmp_path, seed)
    table, estimates = fit_until(
        scn,
        until,
        obs,
        keys=list(TRUTH),
        particles=particles,
        rounds=rounds,
        replicates=40,
        seed=seed,
    )
    return table, estimates.set_index("parameter")


def test_fit_until_recovers_the_truth_and_covers_held_out_observations(tmp_path):
    table, est = run_check(tmp_path, seed=101, particles=100, rounds=3)
    for key, true in TRUTH.items():
        assert est.loc[key, "p05"] <= true <= est.loc[key, "p95"], (key, est.loc[key])
    held = table[~table["used_in_fit"]]
    assert len(held) >= 10 and table["used_in_fit"].sum() >= 8
    # one synthetic history: its held-out points are correlated, so the check is loose
    assert held["inside"].mean() >= 0.6, held[["date", "metric", "value", "model_p05", "model_p95"]]
    s = scores(table).set_index("rows")
    assert s.loc["out of sample", "n"] == len(held)


def test_fit_until_without_observations_before_the_date_is_bad_input(tmp_path):
    scn = small_scenario({})
    obs = synthetic_file(tmp_path, 1)
    with pytest.raises(sim.ScenarioError, match="--fit-until: no fitted observation"):
        fit_until(scn, scn.scenario.start_date, obs, keys=list(TRUTH))


@pytest.mark.slow
def test_held_out_coverage_is_near_nominal_over_several_histories(tmp_path):
    inside, recovered = [], []
    for seed in range(5):
        table, est = run_check(tmp_path, seed=200 + seed, particles=150, rounds=4)
        inside += table.loc[~table["used_in_fit"], "inside"].tolist()
        recovered += [est.loc[k, "p05"] <= v <= est.loc[k, "p95"] for k, v in TRUTH.items()]
    assert 0.75 <= np.mean(inside) <= 1.0, np.mean(inside)
    assert np.mean(recovered) >= 0.8
