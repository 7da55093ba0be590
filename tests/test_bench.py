"""The vectorised engine's cost follows events, not people: structural checks, no timings.

Speed targets live in `prisonflow bench`; here we only check that no Python loop runs
per agent, by counting the Python lines the engine executes at two population sizes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import sim
from sim import bench

SIM_DIR = str(Path(sim.__file__).resolve().parent)


def _lines_executed(scenario, population: int, days: int) -> int:
    count = 0

    def tracer(frame, event, arg):
        nonlocal count
        if not frame.f_code.co_filename.startswith(SIM_DIR):
            return None
        if event == "line":
            count += 1
        return tracer

    previous = sys.gettrace()  # e.g. coverage's tracer: put it back afterwards
    sys.settrace(tracer)
    try:
        sim.run(scenario, seed=1, population=population, days=days)
    finally:
        sys.settrace(previous)
    return count


def test_line_counting_puts_back_the_tracer_it_found(ukraine):
    """Coverage measures through a tracer: counting lines must not switch it off."""

    def outer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(outer)
    try:
        assert _lines_executed(ukraine, 200, 20) > 0
        found = sys.gettrace()
    finally:
        sys.settrace(previous)
    assert found is outer


@pytest.mark.parametrize("name", ["russia_2022_2025", "ukraine_2024"])
def test_python_lines_do_not_grow_with_agents(name):
    scn = sim.load_scenario(name)
    small = _lines_executed(scn, 20_000, 400)
    large = _lines_executed(scn, 200_000, 400)
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


def test_bench_helpers():
    rows = [
        {"agents_initial": 10**5, "agents_total": 10**5, "wall_s": 0.1},
        {"agents_initial": 10**6, "agents_total": 10**6, "wall_s": 1.0},
    ]
    assert bench.scaling_exponent(rows) == pytest.approx(1.0)
    report = {"scale": [{**rows[1], "population_s_per_million": 0.2, "bytes_per_agent": 90}]}
    report["scaling_exponent_1e5_up"] = 1.0
    verdict = {row[0]: row[3] for row in bench.verdicts(report)}
    assert verdict["10^6 agents x 3 years, wall"] == "met"
    assert verdict["  stretch"] == "MISSED"
