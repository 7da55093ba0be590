"""Experiments under faults (issue 9): the parent killed with SIGKILL, a worker killed mid-run,
a full disk, damaged parts on resume, failed runs and their exit code.

The subprocess tests find the experiment's processes by process group: the CLI starts in a
new session, so its workers (and their resource tracker) share its process group id.
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from test_experiments import cli, write_spec
from test_jit import signals_itself, uncached

import sim

LINUX_PROC = Path("/proc/self/stat").exists()
N_RUNS = 16
BATCH = ["ukraine_2024", "--replicates", str(N_RUNS), "--population", "10000", "--entropy", "3"]


def live_processes() -> list[tuple[int, int, int]]:
    """(pid, parent pid, process group) of every live (not zombie) process."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            state, ppid, pgrp = (d / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if state != "Z":
            out.append((int(d.name), int(ppid), int(pgrp)))
    return out


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is `pgid`."""
    return [pid for pid, _ppid, pgrp in live_processes() if pgrp == pgid]


def workers_of(pid: int) -> list[int]:
    """Live child processes of `pid` (its pool's workers: forked, or spawned elsewhere)."""
    return [child for child, ppid, _pgrp in live_processes() if ppid == pid]


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def start_batch(tmp_path: Path, out: str, workers: int = 2) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "sim", "batch", *BATCH, "--workers", str(workers), "--out", out]
    return subprocess.Popen(
        cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def wait_for_parts(proc: subprocess.Popen, parts: Path, n: int = 2) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.parquet"))) >= n:
            return
        time.sleep(0.01)
    assert proc.poll() is None, "the batch ended before it could be interrupted"


def wait_until_gone(pgid: int, seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted batch, in this process."""
    out = tmp_path_factory.mktemp("reference") / "b"
    batch_here(out)
    return {t: pd.read_parquet(out / t) for t in ("runs.parquet", "summary.parquet")}


def batch_here(out: Path, resume: bool = False):
    """The same batch as `BATCH`, through the Python API in this process."""
    kwargs = dict(replicates=N_RUNS, population=10_000, entropy=3, workers=1, resume=resume)
    return sim.batch("ukraine_2024", out=out, **kwargs)


def assert_same_tables(out: Path, reference: dict) -> None:
    for table, expected in reference.items():
        assert_frame_equal(pd.read_parquet(out / table), expected)


@pytest.mark.skipif(not LINUX_PROC, reason="finds processes through /proc")
def test_sigkill_of_the_parent_leaves_no_worker_and_resume_completes(tmp_path, reference):
    proc = start_batch(tmp_path, "killed")
    try:
        wait_for_parts(proc, tmp_path / "killed" / "parts")
        assert workers_of(proc.pid), "no worker process found"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        left = wait_until_gone(proc.pid)
        assert not left, [cmdline(p) for p in left]
    finally:
        if group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    stored = len(list((tmp_path / "killed" / "parts").glob("*.parquet")))
    assert 2 <= stored < N_RUNS
    assert batch_here(tmp_path / "killed", resume=True).n_resumed == stored
    assert_same_tables(tmp_path / "killed", reference)


@pytest.mark.skipif(not LINUX_PROC, reason="finds processes through /proc")
def test_a_worker_killed_mid_run_stops_cleanly_and_resume_completes(
    tmp_path, reference, monkeypatch, capsys
):
    proc = start_batch(tmp_path, "broken")
    try:
        wait_for_parts(proc, tmp_path / "broken" / "parts")
        workers = workers_of(proc.pid)
        assert workers, "no worker process found"
        os.kill(workers[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    err = err.decode()
    assert proc.returncode == 1, err
    assert err.count("\n") == 1 and "a worker process died" in err, err
    assert "Traceback" not in err
    assert not wait_until_gone(proc.pid), "workers outlived their parent"
    parts = tmp_path / "broken" / "parts"
    assert not list(parts.glob(".*")), "a temporary file was left behind"
    hint = err.strip().split("continue with: ", 1)[1]
    assert hint.startswith("prisonflow batch ukraine_2024 ") and hint.endswith(" --resume")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(monkeypatch, capsys, *shlex.split(hint)[1:])
    assert code == 0, err
    assert_same_tables(tmp_path / "broken", reference)


# --------------------------------------------------------------------------- the part store

SMALL = ["batch", "ukraine_2024", "--replicates", "4", "--population", "300", "--days", "40"]


def test_a_full_disk_leaves_no_partial_file_and_one_line(tmp_path, monkeypatch, capsys):
    import pyarrow.parquet as pq

    def full_disk(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a part")  # something was written, then ENOSPC
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq, "write_table", full_disk)
    out = tmp_path / "full"
    code, _, err = cli(monkeypatch, capsys, *SMALL, "--workers", "1", "--out", str(out))
    assert code == 1
    assert err.count("\n") == 1 and "No space left on device" in err, err
    assert "Traceback" not in err and "continue with: prisonflow batch" in err
    assert list((out / "parts").iterdir()) == []  # no partial part, no temporary file
    assert not (out / "runs.parquet").exists() and not (out / "summary.parquet").exists()


def test_a_full_disk_after_the_runs_keeps_the_parts_for_resume(tmp_path, monkeypatch, capsys):
    def full_disk(df, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a table")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    out = tmp_path / "full"
    args = [*SMALL, "--workers", "1", "--entropy", "2", "--out", str(out)]
    with monkeypatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_parquet", full_disk)
        code, _, err = cli(monkeypatch, capsys, *args)
    assert code == 1 and err.count("\n") == 1 and "No space left on device" in err, err
    assert "continue with: prisonflow batch" in err and "--resume" in err
    assert len(list((out / "parts").glob("*.parquet"))) == 4
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no partial table
    code, stdout, err = cli(monkeypatch, capsys, *args, "--resume")
    assert code == 0, err
    assert "(4 from earlier parts)" in stdout and (out / "summary.parquet").exists()


def test_damaged_parts_are_detected_and_run_again_on_resume(tmp_path):
    kwargs = dict(replicates=4, population=300, days=40, entropy=8, workers=1)
    out = tmp_path / "b"
    first = sim.batch("ukraine_2024", out=out, **kwargs)
    parts = out / "parts"
    truncated = parts / "p00000-r0001.parquet"
    truncated.write_bytes(truncated.read_bytes()[:200])  # half-written
    (parts / "p00000-r0002.parquet").write_bytes(b"not parquet at all")  # corrupt
    os.replace(parts / "p00000-r0000.parquet", parts / "p00000-r0003.parquet")  # another run
    (parts / ".p00000-r0000.parquet.abc.tmp").write_bytes(b"an interrupted write")
    resumed = sim.batch("ukraine_2024", out=out, resume=True, **kwargs)
    assert resumed.n_resumed == 0 and resumed.n_ok == 4
    assert sorted(p.name for p in parts.iterdir()) == [f"p00000-r000{i}.parquet" for i in range(4)]
    assert_frame_equal(resumed.runs, first.runs)
    assert_frame_equal(resumed.summary, first.summary)


# --------------------------------------------------------------------------- failed runs


def failing_run(fail_when):
    """`sim.run`, except that it raises for scenarios matching `fail_when`."""
    real = sim.run

    def run(scenario, **kwargs):
        if fail_when(scenario, kwargs):
            raise RuntimeError("simulated failure")
        return real(scenario, **kwargs)

    return run


def interrupted_in_compiled_code(at_call: int):
    """`sim.run`, except that its `at_call`-th call receives SIGTERM inside a compiled kernel
    (numba's own dispatch, not `sim.jit`'s: the SystemError numba raises reaches the task)."""
    import numba

    real, raw, calls = sim.run, numba.njit(signals_itself), []

    def run(scenario, **kwargs):
        calls.append(1)
        if len(calls) == at_call:
            raw(os.getpid(), int(signal.SIGTERM), np.empty(1000))
        return real(scenario, **kwargs)

    return run


@uncached
def test_an_interrupt_inside_compiled_code_stops_the_task_instead_of_failing_it(monkeypatch):
    from sim.experiments.executors import terminate_as_interrupt
    from sim.experiments.tasks import Task, run_task, scenario_data

    monkeypatch.setattr(sim, "run", interrupted_in_compiled_code(at_call=1))
    task = Task(0, 0, 1, scenario_data(sim.load_scenario("ukraine_2024")), days=10)
    with terminate_as_interrupt() as received, pytest.raises(KeyboardInterrupt) as info:
        run_task(task)
    assert received == [signal.SIGTERM]
    assert isinstance(info.value.__cause__, SystemError)  # what numba raised


@uncached
def test_an_interrupt_inside_compiled_code_keeps_the_runs_for_resume(tmp_path, monkeypatch):
    kwargs = dict(replicates=4, population=300, days=40, entropy=3, workers=1)
    whole = sim.batch("ukraine_2024", out=tmp_path / "whole", **kwargs)
    monkeypatch.setattr(
        sim, "run", interrupted_in_compiled_code(at_call=5)
    )  # a run and its baseline: 2 calls
    with pytest.raises(sim.experiments.ExperimentInterrupted) as info:
        sim.batch("ukraine_2024", out=tmp_path / "b", **kwargs)
    assert info.value.signum == signal.SIGTERM and info.value.done == 2
    parts = sorted(p.name for p in (tmp_path / "b" / "parts").iterdir())
    assert parts == ["p00000-r0000.parquet", "p00000-r0001.parquet"]  # no failed run
    monkeypatch.undo()
    resumed = sim.batch("ukraine_2024", out=tmp_path / "b", resume=True, **kwargs)
    assert resumed.manifest["n_resumed"] == 2 and resumed.manifest["n_failed"] == 0
    assert_frame_equal(resumed.summary, whole.summary)
    assert_frame_equal(resumed.runs, whole.runs)


def test_a_batch_whose_runs_all_fail_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sim, "run", failing_run(lambda scn, kw: True))
    out = tmp_path / "b"
    code, stdout, err = cli(monkeypatch, capsys, *SMALL, "--workers", "1", "--out", str(out))
    assert code == 1
    assert err.count("\n") == 1 and "4 of 4 runs failed" in err and "failures.csv" in err
    failures = pd.read_csv(out / "failures.csv")
    assert len(failures) == 4 and (failures["error"] == "RuntimeError: simulated failure").all()
    assert "0 runs ok, 4 failed" in stdout


def test_a_sobol_sweep_with_failed_runs_exits_1(tmp_path, monkeypatch, capsys):
    spec = write_spec(
        tmp_path / "sobol.toml",
        """
scenario = "ukraine_2024"
method = "sobol"
samples = 4
population = 300
days = 40
entropy = 2
outputs = ["applications"]

[parameters."regimes.UA_2024.killed_per_day"]
low = 0.0002
high = 0.001

[parameters."population.motivation_sigma"]
low = 1.0
high = 2.5
""",
    )

    def deadly(scn, kw):
        return scn.regimes["UA_2024"].killed_per_day > 0.0007

    monkeypatch.setattr(sim, "run", failing_run(deadly))
    out = tmp_path / "s"
    code, _, err = cli(monkeypatch, capsys, "sweep", str(spec), "--workers", "1", "--out", str(out))
    assert code == 1 and err.count("\n") == 1, err
    summary = pd.read_parquet(out / "summary.parquet")
    n_failed = int((summary["status"] == "failed").sum())
    assert 0 < n_failed < len(summary)
    assert f"{n_failed} of {len(summary)} runs failed" in err
    indices = pd.read_csv(out / "indices.csv")
    assert indices[indices["index"] == "S1"]["value"].isna().all()


def test_compare_with_failed_runs_exits_1(tmp_path, monkeypatch, capsys):
    import sim.reporting.build

    monkeypatch.setattr(sim, "run", failing_run(lambda scn, kw: "wagner" in scn.name))
    monkeypatch.setattr(sim.reporting.build, "build_report", lambda directory, manifest: None)
    out = tmp_path / "c"
    code, _, err = cli(
        monkeypatch,
        capsys,
        "compare",
        "--replicates",
        "2",
        "--population",
        "300",
        "--workers",
        "1",
        "--entropy",
        "4",
        "--out",
        str(out),
    )
    assert code == 1 and err.count("\n") == 1, err
    assert "runs failed" in err and str(out / "batch" / "failures.csv") in err
    assert (out / "manifest.json").exists() and (out / "comparison.csv").exists()
