"""Model values of observations (sim.observed_outputs) and the mapping of every observed
metric (sim.observations)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from synthetic import recruits_frame

from sim import observations, observed_outputs
from sim.model.taxonomy import EXTRA_STOCK_COLUMNS, FLOW_COLUMNS, SEXES, STATUSES, STOCK_COLUMNS
from sim.observed_outputs import OUTPUTS, OutputUnavailable, cumulative, model_values

# CONTRACT item 2: custody stocks by legal status and sex are time series columns
CUSTODY_COLUMNS = tuple(f"incarcerated_{st}_{sex}" for st in STATUSES for sex in SEXES)
TIMESERIES_COLUMNS = {*STOCK_COLUMNS, *EXTRA_STOCK_COLUMNS, *FLOW_COLUMNS, *CUSTODY_COLUMNS}


def fake_result(days=400, regimes=("RU_WAGNER", "RU_STORMZ"), seed=0, n=600):
    rng = np.random.default_rng(seed)
    ts = pd.DataFrame({"day": np.arange(days)})
    for c in CUSTODY_COLUMNS:
        ts[c] = rng.integers(0, 1000, days)
    ts["released_to_army"] = np.arange(days) * 3
    return SimpleNamespace(timeseries=ts, recruits=recruits_frame(n, regimes, seed, days))


def targets(*rows):
    return pd.DataFrame(rows, columns=["output", "day"])


def test_every_comparable_metric_has_a_model_output():
    for metric, output in observations.COMPARABLE.items():
        assert observed_outputs.is_known(output, TIMESERIES_COLUMNS), (metric, output)
    assert not set(observations.COMPARABLE) & set(observations.NOT_COMPARABLE)
    assert set(observations.NOT_FITTED) <= set(observations.COMPARABLE)


def test_the_bundled_observations_all_map():
    """Every metric of the bundled file loads, and the new Russian rows are compared."""
    obs = observations.load_observations()
    ru = obs[obs["country"] == "RU"].set_index("metric")["output"]
    for metric in (
        "wagner_recruits",
        "wagner_killed",
        "wagner_killed_share",
        "convicts_in_colonies_male",
        "convicts_in_colonies",
        "prisoner_recruits_total",
        "defendants_pool",
    ):
        assert ru.loc[[metric]].notna().all(), metric
    fitted = obs.set_index("metric")["fitted"]
    assert not fitted.loc[["defendants_pool"]].any()  # an input: compared, not fitted
    assert fitted.loc[["wagner_killed_share"]].all()


def test_custody_by_status_sums_both_sexes():
    r = fake_result()
    got = model_values(r, targets(("incarcerated_convicted", 10), ("incarcerated_defendant", 0)))
    ts = r.timeseries
    assert got[0] == ts["incarcerated_convicted_male"][10] + ts["incarcerated_convicted_female"][10]
    assert got[1] == ts["incarcerated_defendant_male"][0] + ts["incarcerated_defendant_female"][0]
    male = model_values(r, targets(("incarcerated_convicted_male", 7)))
    assert male[0] == ts["incarcerated_convicted_male"][7]


def test_wagner_counts_are_cumulative_and_per_regime():
    r = fake_result()
    rec = r.recruits
    wagner = rec[rec["regime"] == "RU_WAGNER"]
    day = 150
    got = model_values(
        r,
        targets(
            ("wagner_recruits", day),
            ("wagner_killed", day),
            ("wagner_killed_share", day),
            ("released_to_army", day),
        ),
    )
    signed = ((wagner["contract_day"] >= 0) & (wagner["contract_day"] <= day)).sum()
    killed = ((wagner["outcome"] == "killed") & (wagner["exit_day"] <= day)).sum()
    assert got[0] == signed and 0 < signed < (rec["contract_day"] >= 0).sum()
    assert got[1] == killed > 0
    assert got[2] == pytest.approx(killed / signed)
    assert got[3] == r.timeseries["released_to_army"][day]


def test_days_outside_the_run_are_nan():
    r = fake_result(days=50)
    got = model_values(r, targets(("wagner_recruits", 50), ("incarcerated_convicted", -1)))
    assert np.isnan(got).all()


def test_missing_parts_are_told():
    r = fake_result()
    with pytest.raises(OutputUnavailable, match="recruits"):
        model_values(SimpleNamespace(timeseries=r.timeseries), targets(("wagner_killed", 3)))
    with pytest.raises(OutputUnavailable, match="no_such"):
        model_values(r, targets(("no_such", 3)))


def test_cumulative():
    days = np.array([0, 5, 10])
    assert list(cumulative(np.array([-1, 0, 5, 5, 11]), days)) == [1, 3, 3]


def test_needs():
    assert observed_outputs.needs(["applications", "incarcerated_pretrial"]) == {"timeseries"}
    assert "recruits" in observed_outputs.needs(["wagner_killed"])
    assert {o.needs for o in OUTPUTS.values()} == {"timeseries", "recruits"}


def test_a_time_series_alone_serves_the_timeseries_outputs():
    r = fake_result()
    t = targets(("incarcerated_convicted", 4), ("released_to_army", 9))
    assert list(model_values(r.timeseries, t)) == list(model_values(r, t))
    with pytest.raises(OutputUnavailable, match="recruits"):
        model_values(r.timeseries, targets(("wagner_recruits", 3)))


def test_real_run_of_the_russian_timeline(russia):
    """On a real run: Wagner counts are below the all-regime totals once other regimes
    recruit, and custody by status sums to the incarcerated stock."""
    import sim

    result = sim.run(russia, seed=2, population=4000, days=900)
    last = len(result.timeseries) - 1
    t = targets(
        ("wagner_recruits", last),
        ("released_to_army", last),
        ("wagner_killed", last),
        ("killed", last),
        *((f"incarcerated_{s}", last) for s in STATUSES),
        ("incarcerated", last),
    )
    v = model_values(result, t)
    assert 0 < v[0] < v[1] and v[2] <= v[3]
    assert v[4:8].sum() == v[8]


def test_with_custody_by_status_adds_the_sums():
    r = fake_result(days=5)
    got = observed_outputs.with_custody_by_status(r.timeseries)
    for status in STATUSES:
        expected = sum(r.timeseries[f"incarcerated_{status}_{sex}"] for sex in SEXES)
        assert (got[f"incarcerated_{status}"] == expected).all()
    bare = pd.DataFrame({"day": [0]})
    assert observed_outputs.with_custody_by_status(bare) is bare


def test_observation_fit_compares_custody_by_status(russia):
    """The fit table of batch and compare reports shows the custody rows (defendants in
    October 2024, convicts in colonies in October 2023)."""
    import sim
    from sim.reporting.views import observation_fit

    runs = pd.concat(
        [
            sim.run(russia, seed=s, population=3000).timeseries.assign(
                scenario=russia.name, replicate=s
            )
            for s in (0, 1)
        ],
        ignore_index=True,
    )
    fit = observation_fit(observed_outputs.with_custody_by_status(runs), {russia.name: russia})
    by_metric = fit.set_index("metric")
    for metric in ("defendants_pool", "convicts_in_colonies", "convicts_in_colonies_male"):
        assert by_metric.loc[[metric], "model_median"].notna().all(), metric
    assert "wagner_killed" not in set(fit["metric"])  # needs the recruits table
