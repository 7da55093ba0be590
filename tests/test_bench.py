"""The vectorised engine's cost follows events, not people: structural checks, no timings.

Speed targets live in `prisonflow bench`; here we only check that no Python loop runs
per agent, by counting the Python lines the engine executes at two population sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sim
from sim import bench, bench_reference

SIM_DIR = str(Path(sim.__file__).resolve().parent)


COUNT_LINES = """
import sys
import sim
from sim.engines import vector

SIM_DIR, name, population, days = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
count = 0


def tracer(frame, event, arg):
    global count
    if not frame.f_code.co_filename.startswith(SIM_DIR):
        return None
    if event == "line":
        count += 1
    return tracer


# `apply` draws people in blocks (a loop over 2^18 people at a time): one block at both sizes.
vector.BLOCK_PEOPLE = None
scenario = sim.load_scenario(name)
sys.settrace(tracer)
sim.run(scenario, seed=1, population=population, days=days)
sys.settrace(None)
print(count)
"""


def _lines_executed(name: str, population: int, days: int) -> int:
    """Python lines of sim executed by one run, counted in a fresh interpreter: a trace
    function swapped in and out here would leave coverage's tracer out of step (its record
    of calls and returns), and coverage of every later test would be lost."""
    out = subprocess.run(
        [sys.executable, "-c", COUNT_LINES, SIM_DIR, name, str(population), str(days)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_line_counting_leaves_this_process_tracer_alone():
    """Coverage measures through this process's tracer: counting lines must not touch it."""
    before = sys.gettrace()
    assert _lines_executed("ukraine_2024", 200, 20) > 0
    assert sys.gettrace() is before


@pytest.mark.parametrize("name", ["russia_2022_2025", "ukraine_2024"])
def test_python_lines_do_not_grow_with_agents(name):
    small = _lines_executed(name, 20_000, 400)
    large = _lines_executed(name, 200_000, 400)
    # 10x the people: a per-agent loop would execute about 10x the lines. Day loops in
    # capacity queues are bounded by days, not people; allow 1.5x.
    assert large <= 1.5 * small, (small, large)


@pytest.mark.slow
def test_time_scales_sublinearly_per_agent():
    scn = sim.load_scenario("russia_2022_2025")
    sim.run(scn, seed=0, population=1_000, days=1096)

    def wall(n):
        t = time.perf_counter()
        sim.run(scn, seed=0, population=n, days=1096)
        return time.perf_counter() - t

    t4 = min(wall(10_000) for _ in range(3))
    t5 = min(wall(100_000) for _ in range(3))
    assert t5 < 20 * t4, (t4, t5)


def test_scaling_exponent_between_two_sizes():
    rows = [
        {"people_initial": 10**6, "wall_s": 1.0},
        {"people_initial": 10**7, "wall_s": 10.0},
    ]
    assert bench.scaling_exponent(rows, 10**6, 10**7) == pytest.approx(1.0)
    assert bench.scaling_exponent(rows[:1], 10**6, 10**7) is None


def test_verdicts_name_every_target_met_missed_or_not_run():
    report = {
        "scale": [{"people_initial": 10**6, "wall_s": 0.3}],
        "cli": {"help": {"wall_s": 0.5}},
    }
    verdict = {row[0]: row[3] for row in bench.verdicts(report)}
    assert verdict["10^6 x 1,095 days (median, incl. population)"] == "met"
    assert verdict["prisonflow --help, fresh process"] == "MISSED"
    assert verdict["10^7 x 1,095 days"] == "not run"
    # one row per target of issue 14; bytes per person is given two ways
    assert len(verdict) == len(bench.TARGETS) + 1


def test_bench_plumbing_at_tiny_sizes(tmp_path):
    """The scale child, the reference probe and the JSON report, at sizes of seconds."""
    rows = bench.scale([2_000], days=60)
    (row,) = rows
    assert row["people_total"] >= 2_000 and row["repeats"] == 5
    assert row["bytes_per_person_total"] <= row["bytes_per_initial_person"]
    assert {"population", "output", "total"} <= set(row["phases_s"])
    assert row["threads"] == bench.run_threads(None)  # a run's default
    each = row["bytes_per_initial_person_each_run"]
    if sys.platform.startswith("linux"):  # per-run high-water marks: the peak is their max
        assert len(each) == 5 and max(each) == pytest.approx(row["bytes_per_initial_person"])
    (one,) = bench.scale([2_000], days=60, threads=1)
    assert one["threads"] == 1
    ref = bench.reference(people=2_000, days=60, repeats=1)
    assert ref["ratio"] == pytest.approx(ref["prisonflow_s"] / ref["probe_s"])
    report = {"machine": bench.machine(), "scale": rows, "reference": ref}
    path = bench.write_report(report, tmp_path)
    machine = json.loads(path.read_text())["machine"]
    assert machine["cpus"] == os.cpu_count() and machine["numba"]
    assert machine["run_threads"] == bench.run_threads(None)


def test_reference_probe_conserves_people():
    stocks = bench_reference.probe(5_000, 400, seed=3)
    assert stocks.shape == (400, bench_reference.N_STOCKS)
    assert (stocks.sum(axis=1) == 5_000).all()
    assert stocks[-1, -1] > 0  # some people went through the whole pipeline


def test_a_size_whose_child_fails_is_reported_not_measured():
    (row,) = bench.scale([2_000], days=0)  # sim.run refuses 0 days: the child fails
    assert "days must be at least 1" in row["error"]
    assert bench.by_size([row]) == {}
    verdict = {r[0]: r[3] for r in bench.verdicts({"scale": [row]})}
    assert verdict["10^6 x 1,095 days (median, incl. population)"] == "not run"


def test_worker_ratio_runs_the_workload_on_one_then_two_workers_in_fresh_directories():
    seen = []

    def run_on(workers, tmp):
        assert tmp.is_dir() and not any(tmp.iterdir())
        seen.append(workers)
        time.sleep(0.02 if workers == 1 else 0.01)

    lines = []
    out = bench._worker_ratio("toy", run_on, progress=lines.append)
    assert seen == [1, 2] and len(lines) == 2 and lines[0].startswith("toy, 1 worker(s): ")
    assert out["ratio_2_over_1"] == pytest.approx(out["wall_s_2_workers"] / out["wall_s_1_workers"])
