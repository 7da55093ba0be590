"""The `prisonflow` command, run in-process: runs write their files atomically into a
directory that never held anything else (bad input: tests/test_bad_inputs.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

import sim
import sim.cli
from sim.scenario import bundled_scenarios
from sim.taxonomy import FLOW_COLUMNS, STOCK_COLUMNS

UKRAINE_TOML = bundled_scenarios()["ukraine_2024"].read_text()
RUN_FILES = {"manifest.json", "timeseries.parquet", "summary.csv", "by_group.parquet"}
OWN_FILES = RUN_FILES | {".prisonflow"}  # the marker: what the tool wrote there


# --------------------------------------------------------------------------- happy path


def test_run_writes_exactly_its_files(tmp_path, prisonflow):
    out_dir = tmp_path / "ua"
    args = ["run", "ukraine_2024", "--population", "1000", "--days", "60", "--seed", "4"]
    code, out, err = prisonflow(*args, "--out", str(out_dir))
    assert code == 0, err
    assert "Traceback" not in out + err
    assert {p.name for p in out_dir.iterdir()} == OWN_FILES
    marker = json.loads((out_dir / ".prisonflow").read_text())
    assert marker == {"prisonflow": "run", "files": sorted(RUN_FILES)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ua"]
    assert "ukraine_2024" in out

    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["seed"] == 4
    assert manifest["engine"] == "vector"
    assert manifest["scenario_name"] == "ukraine_2024"
    limit = sim.load_scenario("ukraine_2024").regimes["UA_2024"].max_remaining_sentence_days
    assert manifest["scenario"]["regimes"]["UA_2024"]["max_remaining_sentence_days"] == limit
    assert manifest["argv"][1:] == [*args, "--out", str(out_dir)]
    assert manifest["python"].count(".") == 2
    for lib in ("numpy", "pandas", "pydantic", "pyarrow", "mesa"):
        assert manifest["libraries"][lib], lib

    ts = pd.read_parquet(out_dir / "timeseries.parquet")
    assert len(ts) == 60
    for col in ("date", *STOCK_COLUMNS, *FLOW_COLUMNS):
        assert col in ts.columns, col
    summary = pd.read_csv(out_dir / "summary.csv")
    assert len(summary) == 1
    for col in ("scenario", *FLOW_COLUMNS, "peak_deployed", "killed_per_1000_recruits"):
        assert col in summary.columns, col
    assert summary["applications"].iloc[0] == ts["applications"].iloc[-1]


def test_run_record_people_writes_the_event_table(tmp_path, prisonflow):
    out_dir = tmp_path / "ua"
    args = ["run", "ukraine_2024", "--population", "2000", "--days", "90", "--record-people"]
    code, out, err = prisonflow(*args, "--out", str(out_dir))
    assert code == 0, err
    assert "people.parquet" in out
    people = pd.read_parquet(out_dir / "people.parquet")
    direct = sim.run("ukraine_2024", population=2000, days=90, record_people=True).people
    pd.testing.assert_frame_equal(people, direct.reset_index(drop=True))
    assert len(people) > 0
    marker = json.loads((out_dir / ".prisonflow").read_text())
    assert "people.parquet" in marker["files"]
    code, _out, err = prisonflow("run", "ukraine_2024", "--engine", "agents", "--record-people")
    assert code == 2 and "--record-people" in err and err.count("\n") == 1


def test_set_changes_the_output(tmp_path, prisonflow):
    base = ["run", "ukraine_2024", "--population", "1000", "--days", "60"]
    assert prisonflow(*base, "--out", str(tmp_path / "a"))[0] == 0
    override = ["--set", "regimes.UA_2024.approval_capacity_per_day=5"]
    assert prisonflow(*base, *override, "--out", str(tmp_path / "b"))[0] == 0
    a = pd.read_parquet(tmp_path / "a" / "timeseries.parquet")
    b = pd.read_parquet(tmp_path / "b" / "timeseries.parquet")
    assert not a.equals(b)
    assert a["applications"].iloc[-1] == b["applications"].iloc[-1]  # same people apply
    assert b["awaiting_court"].max() > a["awaiting_court"].max()  # but queue for the court
    assert (b["released_to_army"] <= a["released_to_army"]).all()
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["scenario"]["regimes"]["UA_2024"]["approval_capacity_per_day"] == 5


def small_run(out_dir, *extra: str) -> list[str]:
    return [
        "run",
        "ukraine_2024",
        "--population",
        "500",
        "--days",
        "30",
        "--out",
        str(out_dir),
        *extra,
    ]


def test_run_replaces_its_own_output_only_with_overwrite(tmp_path, prisonflow):
    out_dir = tmp_path / "run"
    assert prisonflow(*small_run(out_dir, "--seed", "1"))[0] == 0
    first = (out_dir / "summary.csv").read_text()
    code, _out, err = prisonflow(*small_run(out_dir, "--seed", "2"))
    assert code == 2 and "--overwrite" in err
    assert (out_dir / "summary.csv").read_text() == first  # untouched
    code, _out, err = prisonflow(*small_run(out_dir, "--seed", "2", "--overwrite"))
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} == OWN_FILES
    assert (out_dir / "summary.csv").read_text() != first
    assert json.loads((out_dir / "manifest.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no .old or .tmp left


def test_overwrite_never_deletes_a_file_the_tool_did_not_write(tmp_path, prisonflow):
    out_dir = tmp_path / "run"
    assert prisonflow(*small_run(out_dir))[0] == 0
    (out_dir / "thesis.docx").write_text("chapter 1")  # the user adds a file later
    code, _out, err = prisonflow(*small_run(out_dir, "--overwrite"))
    assert code == 2 and "thesis.docx" in err
    assert (out_dir / "thesis.docx").read_text() == "chapter 1"
    assert {p.name for p in out_dir.iterdir()} == OWN_FILES | {"thesis.docx"}


def test_run_writes_into_an_empty_directory(tmp_path, prisonflow):
    out_dir = tmp_path / "made-by-hand"
    out_dir.mkdir()
    code, _out, err = prisonflow(*small_run(out_dir))
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} == OWN_FILES


def test_run_output_from_before_markers_counts_as_own(tmp_path, prisonflow):
    out_dir = tmp_path / "run"
    assert prisonflow(*small_run(out_dir))[0] == 0
    (out_dir / ".prisonflow").unlink()  # as written by prisonflow 0.1.0,
    (out_dir / "by_group.parquet").unlink()  # which wrote three files
    assert prisonflow(*small_run(out_dir))[0] == 2
    code, _out, err = prisonflow(*small_run(out_dir, "--overwrite"))
    assert code == 0, err


def test_failed_run_leaves_an_existing_directory_alone(tmp_path, prisonflow):
    out_dir = tmp_path / "run"
    assert prisonflow(*small_run(out_dir))[0] == 0
    before = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    args = small_run(out_dir, "--set", "population.male_share=2", "--overwrite")
    code, _out, err = prisonflow(*args)
    assert code == 2
    assert "population.male_share" in err
    assert {p.name: p.read_bytes() for p in out_dir.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_default_output_paths_differ_in_everything_that_distinguishes_runs(
    tmp_path, monkeypatch, prisonflow
):
    monkeypatch.chdir(tmp_path)
    base = ["run", "ukraine_2024", "--population", "500", "--days", "30"]
    variants = [
        [],
        ["--set", "regimes.UA_2024.approval_capacity_per_day=5"],
        ["--set", "regimes.UA_2024.approval_capacity_per_day=6"],
        ["--seed", "1"],
        ["--engine", "agents"],
        ["--days", "20"],
    ]
    for extra in variants:
        code, _out, err = prisonflow(*base, *extra)
        assert code == 0, (extra, err)
    runs = sorted(p.name for p in (tmp_path / "results" / "runs").iterdir())
    assert len(runs) == len(variants), runs
    assert all(
        re.fullmatch(r"ukraine_2024-(vector|agents)-seed\d-pop500-days\d+-[0-9a-f]{8}", r)
        for r in runs
    )
    # The same run again finds its own directory and asks for --overwrite.
    code, _out, err = prisonflow(*base)
    assert code == 2 and "--overwrite" in err


def test_a_scenario_name_cannot_escape_results(tmp_path, monkeypatch, prisonflow):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "escaped.toml"
    path.write_text(UKRAINE_TOML.replace('name = "ukraine_2024"', 'name = "../../escaped"'))
    code, _out, err = prisonflow("run", str(path), "--population", "500", "--days", "30")
    assert code == 2 and "scenario.name" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["escaped.toml"]


def test_extend_runs_past_the_end_with_a_warning(tmp_path, prisonflow):
    out_dir = tmp_path / "long"
    code, _out, err = prisonflow(*small_run(out_dir), "--days", "520", "--extend")
    assert code == 0, err
    assert err.startswith("prisonflow: warning: --extend") and len(err.splitlines()) == 1
    ts = pd.read_parquet(out_dir / "timeseries.parquet")
    assert len(ts) == 520 and str(ts["date"].iloc[-1].date()) == "2025-10-19"


def test_force_lets_a_run_past_the_memory_estimate(tmp_path, monkeypatch, prisonflow):
    import sim.resources

    monkeypatch.setattr(sim.resources, "available_bytes", lambda: 1000)
    code, _out, err = prisonflow(*small_run(tmp_path / "a"))
    assert code == 2 and "--force" in err and "population" in err
    assert not (tmp_path / "a").exists()
    code, _out, err = prisonflow(*small_run(tmp_path / "b", "--force"))
    assert code == 0, err


def test_interrupted_run_exits_130_and_writes_nothing(tmp_path, monkeypatch, prisonflow):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim, "run", interrupted)
    code, _out, err = prisonflow(*small_run(tmp_path / "run"))
    assert code == 130 and err == "prisonflow: interrupted; nothing written\n"
    assert list(tmp_path.iterdir()) == []


def test_validate_keeps_its_output_unless_overwrite(tmp_path, prisonflow):
    args = ["validate", "ukraine_2024", "--replicates", "2", "--population", "500"]
    out_dir = tmp_path / "val"
    assert prisonflow(*args, "--out", str(out_dir))[0] == 0
    assert (out_dir / "validation.csv").is_file() and (out_dir / ".prisonflow").is_file()
    code, _out, err = prisonflow(*args, "--out", str(out_dir))
    assert code == 2 and "--overwrite" in err
    code, _out, err = prisonflow(*args, "--out", str(out_dir), "--overwrite")
    assert code == 0, err


def test_scenarios_lists_every_bundled_name(prisonflow):
    code, out, err = prisonflow("scenarios")
    assert code == 0, err
    for name in bundled_scenarios():
        assert name in out
    assert "russia_population" not in out


def test_scenarios_without_any_is_an_error(tmp_path, monkeypatch, prisonflow):
    """A broken installation (no data shipped) says so instead of printing an empty table."""
    monkeypatch.setenv("PRISONFLOW_SCENARIOS", str(tmp_path))
    code, out, err = prisonflow("scenarios")
    assert code == 2 and len(err.splitlines()) == 1
    assert str(tmp_path) in err and "no bundled scenarios" in err


def test_version(prisonflow):
    code, out, _err = prisonflow("--version")
    assert code == 0
    assert sim.__version__ in out


def test_python_dash_m_help():
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("run", "scenarios"):
        assert command in proc.stdout
