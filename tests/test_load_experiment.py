"""`sim.load_experiment` reads a batch, a sweep and a comparison back: the tables equal what
the run returned, and `.plot()` draws the report's figures (issue 15)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import sim
from sim import compare as cmp
from sim.scenario import ScenarioError

SWEEP_SPEC = """
scenario = "ukraine_2024"
method = "grid"
replicates = 2
entropy = 5
population = 400
days = 60
outputs = ["released_to_army", "killed"]

[parameters."regimes.UA_2024.approval_capacity_per_day"]
values = [5, 50]
"""


def same(loaded: pd.DataFrame, returned: pd.DataFrame) -> None:
    # CSV tables come back with pandas' own dtypes (e.g. int64 for whole floats).
    assert_frame_equal(
        loaded.reset_index(drop=True), returned.reset_index(drop=True), check_dtype=False
    )


def test_batch_round_trip_and_plot(tmp_path):
    out = tmp_path / "b"
    ran = sim.batch(
        ["ukraine_2024", "russia_wagner_2022"],
        replicates=2,
        population=300,
        days=45,
        workers=1,
        entropy=1,
        out=out,
    )
    got = sim.load_experiment(out)
    assert got.kind == "batch" and got.manifest == json.loads((out / "manifest.json").read_text())
    same(got.runs, ran.runs)
    same(got.summary, ran.summary)
    same(got.intervals, ran.intervals)
    assert got.failures.empty
    with pytest.raises(AttributeError, match="no table 'indices'"):
        _ = got.indices
    figures = got.plot(tmp_path / "figs")
    assert [f.stem for f in figures][:2] == ["stocks", "flows"]
    assert all(f.png.stat().st_size > 1000 and f.png.parent == tmp_path / "figs" for f in figures)
    assert not (out / "figures").exists()  # the experiment directory is left as it was


def test_sweep_round_trip_and_plot(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SWEEP_SPEC)
    out = tmp_path / "s"
    ran = sim.sweep(spec, out=out, workers=1)
    got = sim.load_experiment(out)
    assert got.kind == "sweep"
    same(got.runs, ran.runs)
    same(got.summary, ran.summary)
    same(got.indices, ran.indices)
    same(got.point_means, ran.point_means)
    assert [f.stem for f in got.plot(tmp_path / "figs")] == ["sensitivity"]


def test_compare_round_trip_and_plot(tmp_path):
    out = tmp_path / "c"
    ran = cmp.compare(
        ["ukraine_2024"],
        policies=["ukraine_2024", "russia_wagner_2022"],
        populations=["ukraine_2024"],
        replicates=2,
        population=300,
        days=45,
        workers=1,
        entropy=2,
        out=out,
        report=False,
    )
    got = sim.load_experiment(out)
    assert got.kind == "compare" and got.batch.kind == "batch"
    same(got.comparison, ran.comparison)
    same(got.matrix, ran.matrix)
    same(got.paired_differences, ran.paired)
    same(got.offences, ran.offences)
    same(got.runs, ran.batch.runs)
    same(got.summary, ran.batch.summary)
    stems = {f.stem for f in got.plot(tmp_path / "figs")}
    assert {"stocks", "flows", "counterfactual_flows", "paired_differences"} <= stems


def test_load_experiment_refuses_what_is_not_one(tmp_path):
    with pytest.raises(ScenarioError, match="not a directory"):
        sim.load_experiment(tmp_path / "missing")
    with pytest.raises(ScenarioError, match="manifest.json"):
        sim.load_experiment(tmp_path)


def test_batch_record_people_writes_one_table_per_run(tmp_path, prisonflow):
    out = tmp_path / "b"
    args = ["batch", "ukraine_2024", "--replicates", "2", "--population", "2000", "--days", "90"]
    code, stdout, err = prisonflow(
        *args, "--workers", "1", "--fixed-parameters", "--record-people", "--out", str(out)
    )
    assert code == 0, err
    assert "people/" in stdout
    assert sorted(p.name for p in (out / "people").iterdir()) == [
        "p00000-r0000.parquet",
        "p00000-r0001.parquet",
    ]
    got = sim.load_experiment(out)
    seeds = got.manifest["seeds"]
    for replicate, seed in enumerate(seeds):
        direct = sim.run("ukraine_2024", seed=seed, population=2000, days=90, record_people=True)
        mine = got.people[got.people["replicate"] == replicate].drop(columns=["point", "replicate"])
        assert_frame_equal(mine.reset_index(drop=True), direct.people.reset_index(drop=True))
    assert len(got.people) > 0
    code, _out, err = prisonflow(*args, "--engine", "agents", "--record-people")
    assert code == 2 and "record_people" in err and err.count("\n") == 1
