"""The `prisonflow` command, run in-process: bad input exits 2 with one line, runs write
their three files atomically."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli

import sim
import sim.cli
from sim.scenario import bundled_scenarios
from sim.taxonomy import FLOW_COLUMNS, STOCK_COLUMNS

UKRAINE_TOML = bundled_scenarios()["ukraine_2024"].read_text()
RUN_FILES = {"manifest.json", "timeseries.parquet", "summary.csv"}


# --------------------------------------------------------------------------- bad input


def _section(lines: list[str], section: str) -> tuple[int, int]:
    """Line range (header, end) of `[section]` in a TOML text split into lines."""
    head = lines.index(f"[{section}]\n")
    end = next(
        (i for i in range(head + 1, len(lines)) if lines[i].startswith("[")),
        len(lines),
    )
    return head, end


def set_key(section: str, key: str, value: str):
    """A mutation: set `key` in `[section]` to the TOML text `value` (whatever it was)."""

    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        head, end = _section(lines, section)
        hits = [i for i in range(head + 1, end) if re.match(rf"{key}\s*=", lines[i])]
        assert len(hits) == 1, (section, key)
        lines[hits[0]] = f"{key} = {value}\n"
        return "".join(lines)

    return mutate


def add_line(section: str, line: str):
    """A mutation: add `line` at the top of `[section]`."""

    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        head, _end = _section(lines, section)
        lines.insert(head + 1, line + "\n")
        return "".join(lines)

    return mutate


def drop_key(section: str, key: str):
    def mutate(text: str) -> str:
        lines = text.splitlines(keepends=True)
        head, end = _section(lines, section)
        hits = [i for i in range(head + 1, end) if re.match(rf"{key}\s*=", lines[i])]
        assert len(hits) == 1, (section, key)
        del lines[hits[0]]
        return "".join(lines)

    return mutate


def rename_section(old: str, new: str):
    def mutate(text: str) -> str:
        assert text.count(f"\n[{old}]\n") == 1
        return text.replace(f"\n[{old}]\n", f"\n[{new}]\n")

    return mutate


def append(extra: str):
    return lambda text: text + extra


def before_sources(extra: str):
    def mutate(text: str) -> str:
        assert text.count("\n[sources]\n") == 1
        return text.replace("\n[sources]\n", extra + "\n[sources]\n")

    return mutate


OVERLAPPING_REGIME = """
[regimes.UA_LATER]
label = "a second Ukrainian regime for convicts"
start_date = 2025-01-01
statuses = ["convicted"]
applications_per_day = 0.0004
screening_days = { dist = "fixed", value = 5 }
approval = "court"
approval_days = { dist = "fixed", value = 1 }
training_days = { dist = "fixed", value = 30 }
contract = "until_war_end"
release_type = "parole"
killed_per_day = 0.0004
wounded_discharged_per_day = 0.0004
deserted_per_day = 0.0006
captured_per_day = 0.00005
awol_caught_per_day = 0.004
awol_added_sentence_days = { dist = "fixed", value = 1826 }
"""

UA = "regimes.UA_2024"
POP = "population"
SCN = "scenario"
EXCLUDED = (
    '["piracy", "state_security", "treason_espionage", "murder_aggravated", "sexual", '
    '"sexual_minor", "terrorism", "fatal_drunk_driving", "corruption_grave"]'
)
OFFENCE_SHARES = (
    "{ piracy = 0.0, theft = 0.30, fraud = 0.04, drug = 0.12, robbery = 0.12, assault = 0.09, "
    "murder_single = 0.10, murder_aggravated = 0.04, sexual = 0.02, sexual_minor = 0.01, "
    "state_security = 0.03, treason_espionage = 0.01, terrorism = 0.005, "
    "public_security = 0.01, smuggling = 0.005, fatal_drunk_driving = 0.01, "
    "corruption_grave = 0.005, other = 0.085 }"
)

# id -> (mutation of the Ukrainian text, dotted key the error line must name)
BAD_SCENARIOS = {
    "unknown-top-level-key": (append("\n[extras]\nfoo = 1\n"), "extras"),
    "unknown-scenario-key": (add_line(SCN, 'countri = "UA"'), "scenario.countri"),
    "unknown-population-key": (add_line(POP, "initial_sizes = 3"), "population.initial_sizes"),
    "unknown-regime-key": (add_line(UA, "launch_bost = 1.0"), f"{UA}.launch_bost"),
    "string-for-number": (
        set_key(UA, "approval_capacity_per_day", '"many"'),
        f"{UA}.approval_capacity_per_day",
    ),
    "string-for-date": (set_key(SCN, "start_date", '"soon"'), "scenario.start_date"),
    "number-for-list": (set_key(UA, "statuses", "3"), f"{UA}.statuses"),
    "probability-above-one": (set_key(UA, "psych_reject_prob", "1.5"), f"{UA}.psych_reject_prob"),
    "negative-share": (
        set_key(POP, "life_sentence_share", "-0.1"),
        "population.life_sentence_share",
    ),
    "hazard-above-one": (set_key(UA, "killed_per_day", "2"), f"{UA}.killed_per_day"),
    "negative-duration-mean": (
        set_key(UA, "training_days", '{ dist = "gamma", mean = -50, sd = 12 }'),
        f"{UA}.training_days",
    ),
    "negative-remaining-limit": (
        set_key(UA, "max_remaining_sentence_days", "-1"),
        f"{UA}.max_remaining_sentence_days",
    ),
    "uniform-high-below-low": (
        set_key(UA, "approval_days", '{ dist = "uniform", low = 3, high = 1 }'),
        f"{UA}.approval_days",
    ),
    "unknown-distribution-kind": (
        set_key(UA, "training_days", '{ dist = "weibull", mean = 50, sd = 12 }'),
        f"{UA}.training_days",
    ),
    "distribution-without-kind": (
        set_key(UA, "training_days", "{ mean = 50, sd = 12 }"),
        f"{UA}.training_days",
    ),
    "regime-ends-before-it-starts": (add_line(UA, "end_date = 2024-01-01"), f"{UA}.end_date"),
    "scenario-ends-before-it-starts": (
        set_key(SCN, "end_date", "2024-01-01"),
        "scenario.end_date",
    ),
    "overlapping-regimes": (before_sources(OVERLAPPING_REGIME), "regimes.UA_LATER.start_date"),
    "unknown-excluded-offence": (
        set_key(UA, "excluded_offences", EXCLUDED),
        f"{UA}.excluded_offences",
    ),
    "unknown-status": (set_key(UA, "statuses", '["convicted", "prisoner"]'), f"{UA}.statuses"),
    "unknown-status-share": (
        set_key(POP, "status_shares", "{ convicted = 0.58, remand = 0.42 }"),
        "population.status_shares.remand",
    ),
    "shares-do-not-sum-to-one": (
        set_key(POP, "status_shares", "{ convicted = 0.5, pretrial = 0.42 }"),
        "population.status_shares",
    ),
    "unknown-offence-category": (
        set_key(POP, "offence_shares", OFFENCE_SHARES),
        "population.offence_shares.piracy",
    ),
    "max-age-below-min-age": (set_key(UA, "max_age_years", "16"), f"{UA}.max_age_years"),
    "fixed-contract-without-days": (set_key(UA, "contract", '"fixed"'), f"{UA}.contract_days"),
    "source-cites-missing-key": (
        append(f'"{UA}.bonus_rubles" = "a citation for nothing"\n'),
        f"sources.{UA}.bonus_rubles",
    ),
    "missing-required-key": (drop_key(UA, "killed_per_day"), f"{UA}.killed_per_day"),
    "missing-population-table": (rename_section(POP, "populace"), "population"),
    "unknown-base": (add_line(SCN, 'extends = "ukraine_1991"'), "scenario.extends"),
}


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "out"


def assert_clean_failure(code, out, err, tmp_path, out_dir, *needles):
    assert code == 2, (code, out, err)
    assert err.endswith("\n")
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err + out
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not out_dir.exists()
    stray = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or "tmp" in p.name]
    assert not stray, stray


def run_args(path, out_dir) -> list[str]:
    return ["run", str(path), "--out", str(out_dir), "--population", "500", "--days", "30"]


@pytest.mark.parametrize("case", list(BAD_SCENARIOS))
def test_bad_scenario_file_exits_2_with_one_line(case, tmp_path, out_dir, monkeypatch, capsys):
    mutate, key = BAD_SCENARIOS[case]
    text = mutate(UKRAINE_TOML)
    assert text != UKRAINE_TOML
    path = tmp_path / f"bad_{case.replace('-', '_')}.toml"
    path.write_text(text)
    code, out, err = cli(monkeypatch, capsys, *run_args(path, out_dir))
    assert_clean_failure(code, out, err, tmp_path, out_dir, path.name, key)


def test_invalid_toml_syntax(tmp_path, out_dir, monkeypatch, capsys):
    path = tmp_path / "broken_syntax.toml"
    lines = UKRAINE_TOML.splitlines(keepends=True)
    line = next(i for i, ln in enumerate(lines) if ln.startswith("facilities ="))
    lines[line] = lines[line].replace("=", "= =")
    path.write_text("".join(lines))
    line += 1  # 1-based
    code, out, err = cli(monkeypatch, capsys, *run_args(path, out_dir))
    assert_clean_failure(code, out, err, tmp_path, out_dir, path.name, "TOML", f"line {line}")


def test_cyclic_extends(tmp_path, out_dir, monkeypatch, capsys):
    (tmp_path / "loop_a.toml").write_text('[scenario]\nname = "loop_a"\nextends = "loop_b"\n')
    path = tmp_path / "loop_b.toml"
    path.write_text('[scenario]\nname = "loop_b"\nextends = "loop_a"\n')
    code, out, err = cli(monkeypatch, capsys, *run_args(path, out_dir))
    assert_clean_failure(code, out, err, tmp_path, out_dir, "loop_b.toml", "scenario.extends")


def test_missing_file(tmp_path, out_dir, monkeypatch, capsys):
    path = tmp_path / "no_such_scenario.toml"
    code, out, err = cli(monkeypatch, capsys, *run_args(path, out_dir))
    assert_clean_failure(code, out, err, tmp_path, out_dir, path.name, "not found")


def test_unknown_bundled_name(tmp_path, out_dir, monkeypatch, capsys):
    code, out, err = cli(monkeypatch, capsys, *run_args("ukraine_2042", out_dir))
    assert_clean_failure(code, out, err, tmp_path, out_dir, "ukraine_2042", "ukraine_2024")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--set", "regimes.UA_2024.approval_capacity_per_day"], "--set"),
        (["--set", "=5"], "--set"),
        (["--set", "regimes.UA_2024.killed_per_day=2"], "regimes.UA_2024.killed_per_day"),
        (["--set", "regimes.UA_2024.no_such_key=1"], "regimes.UA_2024.no_such_key"),
        (["--set", "population.male_share.x=1"], "population.male_share"),
        (["--engine", "nope"], "--engine"),
        (["--days", "0"], "--days"),
        (["--days", "-5"], "--days"),
        (["--days", "many"], "--days"),
        (["--population", "0"], "--population"),
        (["--no-such-option"], "--no-such-option"),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_bad_command_line_exits_2(args, needle, tmp_path, out_dir, monkeypatch, capsys):
    base = ["run", "ukraine_2024", "--out", str(out_dir), "--population", "500", "--days", "30"]
    code, out, err = cli(monkeypatch, capsys, *base, *args)
    assert_clean_failure(code, out, err, tmp_path, out_dir, needle)


# --------------------------------------------------------------------------- happy path


def test_run_writes_exactly_three_files(tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / "ua"
    args = ["run", "ukraine_2024", "--population", "1000", "--days", "60", "--seed", "4"]
    code, out, err = cli(monkeypatch, capsys, *args, "--out", str(out_dir))
    assert code == 0, err
    assert "Traceback" not in out + err
    assert {p.name for p in out_dir.iterdir()} == RUN_FILES
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


def test_set_changes_the_output(tmp_path, monkeypatch, capsys):
    base = ["run", "ukraine_2024", "--population", "1000", "--days", "60"]
    assert cli(monkeypatch, capsys, *base, "--out", str(tmp_path / "a"))[0] == 0
    override = ["--set", "regimes.UA_2024.approval_capacity_per_day=5"]
    assert cli(monkeypatch, capsys, *base, *override, "--out", str(tmp_path / "b"))[0] == 0
    a = pd.read_parquet(tmp_path / "a" / "timeseries.parquet")
    b = pd.read_parquet(tmp_path / "b" / "timeseries.parquet")
    assert not a.equals(b)
    assert a["applications"].iloc[-1] == b["applications"].iloc[-1]  # same people apply
    assert b["awaiting_court"].max() > a["awaiting_court"].max()  # but queue for the court
    assert (b["released_to_army"] <= a["released_to_army"]).all()
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["scenario"]["regimes"]["UA_2024"]["approval_capacity_per_day"] == 5


def test_run_replaces_an_existing_directory_atomically(tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / "run"
    out_dir.mkdir()
    (out_dir / "stale.txt").write_text("from an earlier run")
    (out_dir / "summary.csv").write_text("old\n")
    args = ["run", "ukraine_2024", "--population", "500", "--days", "30", "--out", str(out_dir)]
    code, _out, err = cli(monkeypatch, capsys, *args)
    assert code == 0, err
    assert {p.name for p in out_dir.iterdir()} == RUN_FILES
    assert (out_dir / "summary.csv").read_text() != "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_failed_run_leaves_an_existing_directory_alone(tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / "run"
    out_dir.mkdir()
    (out_dir / "summary.csv").write_text("old\n")
    args = ["run", "ukraine_2024", "--set", "population.male_share=2", "--out", str(out_dir)]
    code, _out, err = cli(monkeypatch, capsys, *args)
    assert code == 2
    assert "population.male_share" in err
    assert (out_dir / "summary.csv").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_scenarios_lists_every_bundled_name(monkeypatch, capsys):
    code, out, err = cli(monkeypatch, capsys, "scenarios")
    assert code == 0, err
    for name in bundled_scenarios():
        assert name in out
    assert "russia_population" not in out


def test_version(monkeypatch, capsys):
    code, out, _err = cli(monkeypatch, capsys, "--version")
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
