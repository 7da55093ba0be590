"""The experiment directory (issue 9): output never replaces what the tool did not create;
an earlier experiment is resumed or, with --overwrite, replaced; a relative path works."""

from __future__ import annotations

import os
import shutil

import pytest
from test_experiments import cli

import sim
from sim import experiments as ex
from sim.experiments.tasks import run_task

SMALL = ["batch", "ukraine_2024", "--replicates", "2", "--population", "300", "--days", "40"]


def run_small(monkeypatch, capsys, out, *extra):
    return cli(
        monkeypatch, capsys, *SMALL, "--workers", "1", "--entropy", "1", "--out", out, *extra
    )


def test_an_earlier_experiment_is_refused_without_resume_or_overwrite(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "b"
    assert run_small(monkeypatch, capsys, str(out))[0] == 0
    (out / "report.md").write_text("# my report")  # built there by `prisonflow report`
    (out / "thesis.docx").write_text("not the tool's")
    (out / "figures").mkdir()
    (out / "figures" / "stocks.png").write_bytes(b"made by prisonflow report")
    (out / "figures" / "my_plot.pdf").write_bytes(b"made by the user")
    before = (out / "summary.parquet").read_bytes()
    code, _, err = run_small(monkeypatch, capsys, str(out))
    assert code == 2 and err.count("\n") == 1
    assert "holds an earlier batch experiment" in err and "--overwrite" in err
    assert (out / "report.md").read_text() == "# my report"
    assert (out / "summary.parquet").read_bytes() == before
    code, _, err = run_small(monkeypatch, capsys, str(out), "--overwrite")
    assert code == 0, err
    assert not (out / "report.md").exists()  # the tool's own output was replaced ...
    assert (out / "thesis.docx").read_text() == "not the tool's"  # ... nothing else
    assert [p.name for p in (out / "figures").iterdir()] == ["my_plot.pdf"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_directory_that_is_not_an_experiment_is_never_used(
    tmp_path, monkeypatch, capsys, overwrite
):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("keep me")
    extra = ["--overwrite"] if overwrite else []
    code, _, err = run_small(monkeypatch, capsys, str(mine), *extra)
    assert code == 2 and err.count("\n") == 1 and "not an experiment directory" in err
    assert [p.name for p in mine.iterdir()] == ["thesis.docx"]
    afile = tmp_path / "afile"
    afile.write_text("keep me too")
    code, _, err = run_small(monkeypatch, capsys, str(afile), *extra)
    assert code == 2 and "not a directory" in err and afile.read_text() == "keep me too"


def test_an_unwritable_place_is_bad_input(tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("")
        out = blocker / "sub"  # below a file: cannot be created, even by root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        out = locked / "sub"
    code, _, err = run_small(monkeypatch, capsys, str(out))
    assert code == 2 and err.count("\n") == 1 and "cannot create the directory" in err


def test_workers_get_the_resolved_scenario_not_a_path(tmp_path, monkeypatch):
    """A task runs wherever it lands: in another directory, after the file is gone."""
    (tmp_path / "mine").mkdir()
    shutil.copy(sim.bundled_scenarios()["ukraine_2024"], tmp_path / "mine" / "ua.toml")
    monkeypatch.chdir(tmp_path)
    experiment = ex.Batch(
        ["mine/ua.toml"],
        replicates=1,
        overrides={},
        engine="vector",
        population=200,
        days=20,
        fixed_parameters=True,
    )
    task = experiment.plan(1, [5]).tasks[0]
    assert isinstance(task.scenario, dict)
    shutil.rmtree(tmp_path / "mine")
    monkeypatch.chdir(tmp_path.parent)
    out = run_task(task)
    assert out["status"] == "ok", out.get("error")
    expected = sim.run("ukraine_2024", seed=5, population=200, days=20).summary
    assert {k: out["summary"][k] for k in expected} == expected  # + the no-recruitment effect


def test_recruits_by_offence_are_stored_with_each_run(tmp_path):
    res = sim.batch(
        "ukraine_2024",
        replicates=2,
        population=2000,
        days=200,
        workers=1,
        entropy=3,
        out=tmp_path / "b",
        fixed_parameters=True,
    )
    counts = res.summary[list(ex.OFFENCE_COLUMNS)]
    assert (counts.sum(axis=1) == res.summary["released_to_army"]).all()
    assert counts.to_numpy().sum() > 0
    direct = sim.run("ukraine_2024", seed=int(res.summary["seed"][0]), population=2000, days=200)
    assert counts.iloc[0].tolist() == [
        direct.recruits_by_offence[c.removeprefix("recruits_offence_")] for c in ex.OFFENCE_COLUMNS
    ]


def test_compare_refuses_an_earlier_comparison_resumes_and_overwrites(tmp_path):
    from pandas.testing import assert_frame_equal

    from sim import compare as cmp

    kwargs = dict(
        policies=["ukraine_2024"],
        populations=["ukraine_2024"],
        replicates=2,
        population=300,
        days=30,
        workers=1,
        entropy=2,
        report=False,
        out=tmp_path / "c",
    )
    first = cmp.compare(["ukraine_2024"], **kwargs)
    (tmp_path / "c" / "notes.txt").write_text("mine")
    with pytest.raises(sim.ScenarioError, match="holds an earlier compare experiment"):
        cmp.compare(["ukraine_2024"], **kwargs)
    resumed = cmp.compare(["ukraine_2024"], resume=True, **kwargs)
    assert resumed.n_resumed == len(resumed.batch.summary) == 4
    again = cmp.compare(["ukraine_2024"], overwrite=True, **kwargs)
    assert again.n_resumed == 0
    for table in ("comparison", "matrix", "paired", "offences"):
        assert_frame_equal(getattr(first, table), getattr(again, table))
        assert_frame_equal(getattr(first, table), getattr(resumed, table))
    assert (tmp_path / "c" / "notes.txt").read_text() == "mine"
    assert first.offences["matches_batch"].all() and len(first.offences)
