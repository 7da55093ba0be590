"""Experiments (issue 4): batches and sweeps as concurrent.futures tasks, stored part by part.

Small on purpose: tiny populations and short horizons, except the interrupt test, whose runs
must last long enough (real scale, 0.1-0.2 s each) for a signal to land mid-experiment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli
from pandas.testing import assert_frame_equal

import sim
import sim.cli
from sim import experiments as ex
from sim.taxonomy import FLOW_COLUMNS, STOCK_COLUMNS

SWEEPS = Path(__file__).resolve().parent.parent / "scenarios" / "sweeps"


def write_spec(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- interrupt, resume

INTERRUPT_SPEC = """
# 16 real-scale Ukraine runs (0.1-0.2 s each with the no-recruitment baseline run beside
# each), long enough to interrupt in the middle: 14 runs (seconds) are left when the signal
# is sent after the second part.
scenario = "ukraine_2024"
method = "grid"
replicates = 1
entropy = 99
outputs = ["released_to_army", "killed"]

[parameters."regimes.UA_2024.approval_capacity_per_day"]
values = [{values}]
"""


def test_sigterm_then_resume_equals_uninterrupted(tmp_path):
    n = 16
    spec = write_spec(
        tmp_path / "interrupt.toml",
        INTERRUPT_SPEC.format(values=", ".join(str(20 + 10 * i) for i in range(n))),
    )
    out = tmp_path / "interrupted"
    parts = out / "parts"
    # relative paths, as a user types them: the resume command must work pasted verbatim
    cmd = [sys.executable, "-m", "sim", "sweep", spec.name, "--workers", "1", "--out", out.name]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.is_dir() and len(list(parts.glob("*.parquet"))) >= 2:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "interrupted (SIGTERM)" in err.decode() and "--resume" in err.decode()
    stored = list(parts.glob("*.parquet"))
    assert 2 <= len(stored) < n
    assert not list(parts.glob(".*")), "a temporary file was left behind"
    assert not (out / "runs.parquet").exists()
    for part in stored:  # every part is complete and readable
        assert len(pd.read_parquet(part)) == 501

    hint = err.decode().strip().split("continue with: ", 1)[1]
    assert (
        hint == f"prisonflow sweep {spec.name} --workers 1 --out {out.name} --entropy 99 --resume"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        hint, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"({len(stored)} from earlier parts)" in done.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["resumed"]) == 1

    reference = sim.sweep(spec, out=tmp_path / "reference", workers=1)
    assert reference.n_ok == n
    for table in ("runs.parquet", "summary.parquet"):
        assert_frame_equal(
            pd.read_parquet(out / table), pd.read_parquet(tmp_path / "reference" / table)
        )


def test_resume_refuses_another_design(tmp_path, monkeypatch, capsys):
    out = tmp_path / "b"
    args = ["batch", "ukraine_2024", "--population", "300", "--days", "60", "--workers", "1"]
    code, _, err = cli(
        monkeypatch, capsys, *args, "--replicates", "2", "--entropy", "3", "--out", str(out)
    )
    assert code == 0, err
    before = (out / "summary.parquet").read_bytes()
    code, _, err = cli(
        monkeypatch,
        capsys,
        *args,
        "--replicates",
        "3",
        "--entropy",
        "3",
        "--out",
        str(out),
        "--resume",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "manifest.json" in err and "design.replicates" in err
    code, _, err = cli(
        monkeypatch,
        capsys,
        *args,
        "--replicates",
        "2",
        "--entropy",
        "4",
        "--out",
        str(out),
        "--resume",
    )
    assert code == 2 and "entropy" in err
    assert (out / "summary.parquet").read_bytes() == before
    # the same design resumes: nothing left to run, same tables
    code, stdout, err = cli(
        monkeypatch, capsys, *args, "--replicates", "2", "--out", str(out), "--resume"
    )
    assert code == 0, err
    assert "(2 from earlier parts)" in stdout


# --------------------------------------------------------------------------- executors


def test_same_tables_for_any_executor(tmp_path):
    kwargs = dict(replicates=2, population=400, days=60, entropy=11)
    scenarios = ["ukraine_2024", "russia_2022_2025"]
    one = sim.batch(scenarios, workers=1, out=tmp_path / "w1", **kwargs)
    two = sim.batch(scenarios, workers=2, out=tmp_path / "w2", **kwargs)
    dask = sim.batch(scenarios, scheduler="local", workers=2, out=tmp_path / "dask", **kwargs)
    assert one.manifest["executor"].startswith("in-process")
    assert two.manifest["executor"].startswith("2 worker processes")
    assert dask.manifest["executor"].startswith("Dask LocalCluster")
    for other in (two, dask):
        assert_frame_equal(one.summary, other.summary)
        assert_frame_equal(one.runs, other.runs)
        assert_frame_equal(one.intervals, other.intervals)

    # tidy tables: one row per run in summary, one row per run-day in runs, ordered
    s, r = one.summary, one.runs
    assert len(s) == 4 and (s["status"] == "ok").all()
    assert list(s["scenario"]) == ["ukraine_2024"] * 2 + ["russia_2022_2025"] * 2
    # common random numbers: replicate r of every scenario has the same seed
    assert list(s["seed"]) == one.manifest["seeds"] * 2
    seeds = [int(c.generate_state(1)[0]) for c in np.random.SeedSequence(11).spawn(2)]
    assert one.manifest["seeds"] == seeds and one.manifest["entropy"] == 11
    assert len(r) == 4 * 60
    for col in ("point", "scenario", "replicate", "seed", "day", "date"):
        assert col in r.columns
    assert set(STOCK_COLUMNS) | set(FLOW_COLUMNS) <= set(r.columns)
    assert r.equals(r.sort_values(["point", "replicate", "day"], kind="stable"))
    iv = pd.read_csv(tmp_path / "w1" / "intervals.csv")
    assert set(iv.columns) >= {"scenario", "metric", "mean", "median", "low", "high"}
    assert (iv["low"] <= iv["median"]).all() and (iv["median"] <= iv["high"]).all()
    manifest = json.loads((tmp_path / "w1" / "manifest.json").read_text())
    assert manifest["kind"] == "batch" and manifest["spawn_keys"] == [[0], [1]]
    assert "git_commit" in manifest and manifest["libraries"]["SALib"]


def test_batch_cli_prints_intervals(tmp_path, monkeypatch, capsys):
    out = tmp_path / "b"
    code, stdout, err = cli(
        monkeypatch,
        capsys,
        "batch",
        "ukraine_2024",
        "--replicates",
        "3",
        "--population",
        "300",
        "--days",
        "60",
        "--workers",
        "1",
        "--set",
        "regimes.UA_2024.approval_capacity_per_day=5",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "95% interval" in stdout and "killed_per_1000_recruits" in stdout
    assert "3 runs ok, 0 failed" in stdout
    # Output is not a terminal here: progress comes as plain lines, the last one complete.
    assert "batch: 3 of 3 runs done, 0 failed" in stdout
    assert {"manifest.json", "parts", "runs.parquet", "summary.parquet", "intervals.csv"} <= {
        p.name for p in out.iterdir()
    }
    summary = pd.read_parquet(out / "summary.parquet")
    assert (summary["regimes.UA_2024.approval_capacity_per_day"] == 5).all()


# --------------------------------------------------------------------------- failures

FAILING_SPEC = """
scenario = "ukraine_2024"
method = "grid"
replicates = 2
population = 300
days = 60
entropy = 5
outputs = ["released_to_army"]

[parameters."regimes.UA_2024.psych_reject_prob"]
values = [0.1, 1.5]
"""


def test_failed_run_is_recorded_and_others_finish(tmp_path, monkeypatch, capsys):
    spec = write_spec(tmp_path / "failing.toml", FAILING_SPEC)
    out = tmp_path / "s"
    code, stdout, err = cli(
        monkeypatch, capsys, "sweep", str(spec), "--workers", "1", "--out", str(out)
    )
    assert code == 1, err
    assert "2 runs ok, 2 failed" in stdout
    assert err.count("\n") == 1 and "2 of 4 runs failed" in err and "failures.csv" in err
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures["point"]) == [1, 1] and failures["error"].str.contains("prob").all()
    summary = pd.read_parquet(out / "summary.parquet")
    ok = summary[summary["status"] == "ok"]
    failed = summary[summary["status"] == "failed"]
    assert list(ok["regimes.UA_2024.psych_reject_prob"]) == [0.1, 0.1]
    assert list(failed["regimes.UA_2024.psych_reject_prob"]) == [1.5, 1.5]
    for message in failed["error"]:
        assert "psych_reject_prob" in message and "probability" in message
    assert failed["released_to_army"].isna().all() and ok["released_to_army"].notna().all()
    assert sorted(p.name for p in (out / "parts").iterdir()) == [
        "p00000-r0000.parquet",
        "p00000-r0001.parquet",
        "p00001-r0000.failed.json",
        "p00001-r0001.failed.json",
    ]
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs["point"]) == {0} and len(runs) == 2 * 60


# --------------------------------------------------------------------------- bad specs

GOOD = {
    "scenario": '"ukraine_2024"',
    "method": '"lhs"',
    "samples": "4",
    "outputs": '["released_to_army"]',
}
GOOD_PARAM = ("regimes.UA_2024.killed_per_day", "low = 0.0002\nhigh = 0.001")


def spec_text(top: dict | None = None, params: list[tuple[str, str]] | None = None) -> str:
    top = {**GOOD, **(top or {})}
    lines = [f"{k} = {v}" for k, v in top.items() if v is not None]
    for key, body in params if params is not None else [GOOD_PARAM]:
        lines += [f'[parameters."{key}"]', body]
    return "\n".join(lines) + "\n"


BAD_SPECS = {
    "unknown parameter key": (
        spec_text(params=[("regimes.UA_2024.no_such_rate", "low = 0\nhigh = 1")]),
        "regimes.UA_2024.no_such_rate",
    ),
    "unknown regime": (
        spec_text(params=[("regimes.XX.killed_per_day", "low = 0\nhigh = 1")]),
        "regimes.XX.killed_per_day",
    ),
    "empty range": (
        spec_text(params=[("regimes.UA_2024.killed_per_day", "low = 0.001\nhigh = 0.001")]),
        "regimes.UA_2024.killed_per_day",
    ),
    "unknown method": (spec_text({"method": '"fractal"'}), "method"),
    "sobol N not a power of 2": (spec_text({"method": '"sobol"', "samples": "6"}), "samples"),
    "morris one trajectory": (spec_text({"method": '"morris"', "samples": "1"}), "samples"),
    "unknown output": (spec_text({"outputs": '["released_to_army", "happiness"]'}), "outputs"),
    "unknown top-level key": (spec_text({"sampels": "4"}), "sampels"),
    "unknown scenario": (spec_text({"scenario": '"atlantis_2030"'}), "scenario"),
    "grid without levels": (spec_text({"method": '"grid"', "samples": None}), "levels"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS) + ["missing file"])
def test_bad_spec_exits_2_with_one_line(case, tmp_path, monkeypatch, capsys):
    spec = tmp_path / "bad.toml"
    if case == "missing file":
        key = "bad.toml"
    else:
        text, key = BAD_SPECS[case]
        spec.write_text(text)
    out = tmp_path / "out"
    code, stdout, err = cli(monkeypatch, capsys, "sweep", str(spec), "--out", str(out))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "bad.toml" in lines[0] and key in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out.exists()


def test_bad_sample_rules_are_stated(tmp_path):
    spec = write_spec(tmp_path / "s.toml", spec_text({"method": '"sobol"', "samples": "6"}))
    with pytest.raises(ex.SpecError, match="power of 2"):
        ex.load_spec(spec)
    spec = write_spec(tmp_path / "m.toml", spec_text({"method": '"morris"', "samples": "1"}))
    with pytest.raises(ex.SpecError, match=">= 2"):
        ex.load_spec(spec)


# --------------------------------------------------------------------------- designs

FOUR = [
    ("population.volunteering.baseline_per_day", "low = 0.001\nhigh = 0.005"),
    ("regimes.UA_2024.killed_per_day", "low = 0.0002\nhigh = 0.0012"),
    ("regimes.UA_2024.max_remaining_sentence_days", "low = 365\nhigh = 3652"),
    ("population.motivation_sigma", "low = 1.0\nhigh = 2.5"),
]


@pytest.mark.parametrize(
    ("top", "params", "points"),
    [
        (
            {"method": '"grid"', "samples": None},
            [
                ("regimes.UA_2024.approval_capacity_per_day", "low = 10\nhigh = 100\nlevels = 3"),
                ("regimes.UA_2024.killed_per_day", "values = [0.0002, 0.0008]"),
            ],
            6,
        ),
        ({"method": '"lhs"', "samples": "5"}, FOUR, 5),
        ({"method": '"sobol"', "samples": "8"}, FOUR, 8 * (4 + 2)),
        ({"method": '"morris"', "samples": "3"}, FOUR, 3 * (4 + 1)),
    ],
    ids=["grid", "lhs", "sobol", "morris"],
)
def test_design_sizes(tmp_path, top, params, points):
    spec = ex.load_spec(write_spec(tmp_path / "d.toml", spec_text(top, params)))
    design = ex.make_design(spec, entropy=1)
    assert len(design.points) == points == ex.design_size(spec)
    for p in spec.parameters:
        values = [pt[p.key] for pt in design.points]
        if p.integer:  # whole-number scenario fields are rounded
            assert all(isinstance(v, int) for v in values)
        if not p.discrete:
            assert min(values) >= p.low and max(values) <= p.high
    assert ex.make_design(spec, entropy=1).points == design.points  # reproducible


def test_sobol_and_morris_analysis(tmp_path):
    outputs = '["applications", "released_to_army", "killed"]'
    # 150 days: Ukrainian recruits deploy (and can be killed) only after training and unit
    # formation, in the third month
    top = {"population": "1000", "days": "150", "entropy": "8", "outputs": outputs}
    sobol = write_spec(
        tmp_path / "sobol.toml", spec_text({**top, "method": '"sobol"', "samples": "8"}, FOUR)
    )
    res = sim.sweep(sobol, workers=1, out=tmp_path / "sobol")
    assert res.n_runs == 48 and res.n_ok == 48
    idx = pd.read_csv(tmp_path / "sobol" / "indices.csv")
    assert list(idx.columns) == ["output", "parameter", "index", "value", "conf"]
    for output in ("applications", "released_to_army", "killed"):
        sub = idx[idx["output"] == output]
        for index in ("S1", "ST"):
            rows = sub[sub["index"] == index]
            assert len(rows) == 4 and rows["conf"].notna().all()
        assert sub[sub["index"] == "noise_share"]["parameter"].tolist() == ["(noise)"]
    s1 = idx[(idx["output"] == "applications") & (idx["index"] == "S1")]
    assert s1["value"].notna().all()

    morris = write_spec(
        tmp_path / "morris.toml",
        spec_text({**top, "method": '"morris"', "samples": "3", "replicates": "2"}, FOUR),
    )
    res = sim.sweep(morris, workers=1, out=tmp_path / "morris")
    assert res.n_runs == 15 * 2
    idx = res.indices
    mu = idx[(idx["index"] == "mu_star") & (idx["output"] == "applications")]
    assert len(mu) == 4 and mu["value"].notna().all() and mu["conf"].notna().all()
    assert set(idx["index"]) == {"mu_star", "sigma", "mu", "noise_share"}
    noise = idx[idx["index"] == "noise_share"]["value"]
    assert noise.notna().all() and (noise >= 0).all() and (noise <= 1).all()


# --------------------------------------------------------------------------- bundled specs


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_specs_are_valid(path):
    spec = ex.load_spec(path)
    assert spec.description
    assert any(line.startswith("# Question") for line in path.read_text().splitlines())
    assert ex.design_size(spec) >= 2


def test_bundled_specs_present():
    names = {p.stem for p in SWEEPS.glob("*.toml")}
    assert {
        "ukraine_remaining_sentence",
        "ukraine_court_capacity",
        "ukraine_motivation",
        "ukraine_casualties",
        "ukraine_sobol",
        "russia_contract_terms",
    } <= names
    sobol = ex.load_spec(SWEEPS / "ukraine_sobol.toml")
    assert sobol.method == "sobol" and len(sobol.parameters) >= 4


def test_chunks_shrink_towards_the_end_and_keep_the_order():
    from sim.experiments.runner import chunk_size, chunks_of

    tasks = [ex.Task(i, 0, i, {}) for i in range(200)]
    chunks = list(chunks_of(tasks, window=4))
    assert [t for chunk in chunks for t in chunk] == tasks  # every task once, in order
    sizes = [len(chunk) for chunk in chunks]
    assert sizes[0] == chunk_size(200, 4) == 8
    assert sizes == sorted(sizes, reverse=True) and sizes[-4:] == [1, 1, 1, 1]
    assert len(chunks) < 200 / 2  # still few messages
    assert [len(c) for c in chunks_of(tasks[:10], window=4)] == [1] * 10
    assert list(chunks_of([], window=4)) == []
