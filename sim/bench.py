"""Benchmarks (`prisonflow bench`): speed, memory and scaling of the engines on this machine.

Speed targets live here, never in timed tests. Each measurement of the scale set runs in a
fresh child process so that its peak resident memory belongs to that run alone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_SCENARIO = "russia_2022_2025"
BENCH_DAYS = 1096  # three years of days
ENGINE_AGENTS, ENGINE_DAYS = 20_000, 180

TARGETS = {
    "wall_s_1e6": 1.5,
    "wall_s_1e6_stretch": 0.7,
    "bytes_per_agent_1e7": 120.0,
    "scaling_exponent_max": 1.05,
    "vector_over_agents_min": 1000.0,
    "population_s_per_million": 0.3,
}

_CHILD = r"""
import json, resource, sys, time
import sim
name = sys.argv[1]
size, days, repeats, seed = (int(a) for a in sys.argv[2:6])
scn = sim.load_scenario(name)
sim.run(scn, seed=seed, population=1000, days=days)  # warm caches and imports
base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
walls, timings = [], []
for r in range(repeats):
    t = time.perf_counter()
    res = sim.run(scn, seed=seed + r, population=size, days=days)
    walls.append(time.perf_counter() - t)
    timings.append(res.timings)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"walls": walls, "timings": timings, "n_agents": res.n_agents,
                  "base_kib": base_kib, "peak_kib": peak_kib}))
"""


def _measure_in_child(size: int, days: int, repeats: int, seed: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            BENCH_SCENARIO,
            str(size),
            str(days),
            str(repeats),
            str(seed),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed for {size} agents: {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def scale(sizes: list[int], days: int = BENCH_DAYS, progress=None) -> list[dict[str, Any]]:
    """Wall time, throughput and memory of the vector engine at each population size."""
    rows = []
    for size in sizes:
        repeats = 5 if size <= 100_000 else 3 if size <= 1_000_000 else 1
        m = _measure_in_child(size, days, repeats, seed=1)
        wall = statistics.median(m["walls"])
        median_timing = {k: statistics.median(t[k] for t in m["timings"]) for k in m["timings"][0]}
        peak_bytes = m["peak_kib"] * 1024
        run_bytes = max(m["peak_kib"] - m["base_kib"], 0) * 1024
        rows.append(
            {
                "agents_initial": size,
                "agents_total": m["n_agents"],
                "days": days,
                "repeats": repeats,
                "wall_s": wall,
                "wall_s_all": m["walls"],
                "agent_days_per_s": size * days / wall,
                "total_agent_days_per_s": m["n_agents"] * days / wall,
                "peak_rss_mib": peak_bytes / 2**20,
                "bytes_per_agent": run_bytes / m["n_agents"],
                "population_s_per_million": median_timing["population"] / (m["n_agents"] / 1e6),
                "phases_s": median_timing,
            }
        )
        if progress:
            progress(f"scale {size:>12,}: {wall:.3f} s")
    return rows


def by_size_rows(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Index benchmark rows by their initial agent count.

    Args:
        rows: Benchmark rows, each with an `agents_initial` key.

    Returns:
        The rows keyed by `agents_initial`.
    """
    return {r["agents_initial"]: r for r in rows}


def scaling_exponent(rows: list[dict[str, Any]], lo: int = 100_000) -> float | None:
    """Slope of log(wall) against log(agents) for sizes >= lo."""
    pts = [(r["agents_total"], r["wall_s"]) for r in rows if r["agents_initial"] >= lo]
    if len(pts) < 2:
        return None
    x = np.log([p[0] for p in pts])
    y = np.log([p[1] for p in pts])
    return float(np.polyfit(x, y, 1)[0])


def engines(agents: int = ENGINE_AGENTS, days: int = ENGINE_DAYS) -> dict[str, Any]:
    """Vector and Mesa engines on the same scenario, in this process, as a ratio."""
    import sim

    scn = sim.load_scenario(BENCH_SCENARIO)
    out: dict[str, Any] = {"people": agents, "days": days}
    for engine, repeats in (("vector", 7), ("agents", 1)):
        sim.run(scn, engine=engine, seed=0, population=200, days=10)  # warm up
        walls = []
        for _ in range(repeats):  # the vector run is short: take the median of several
            t = time.perf_counter()
            res = sim.run(scn, engine=engine, seed=0, population=agents, days=days)
            walls.append(time.perf_counter() - t)
        wall = statistics.median(walls)
        out[engine] = {
            "wall_s": wall,
            "agent_days_per_s": res.n_agents * days / wall,
            "n_agents": res.n_agents,
        }
    out["vector_over_agents"] = (
        out["vector"]["agent_days_per_s"] / out["agents"]["agent_days_per_s"]
    )
    return out


def sweep_throughput(replicates: int = 16) -> dict[str, Any]:
    """Ukraine-scale runs per second through the batch runner (process pool, all CPUs)."""
    import tempfile

    import sim

    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        res = sim.batch("ukraine_2024", replicates=replicates, entropy=1, out=Path(tmp) / "b")
        wall = time.perf_counter() - t
    return {
        "scenario": "ukraine_2024",
        "runs": res.n_runs,
        "workers": os.cpu_count(),
        "wall_s": wall,
        "runs_per_s": res.n_runs / wall,
    }


def machine() -> dict[str, Any]:
    """Describe the machine a benchmark ran on, so reports from different hosts compare.

    Returns:
        Python and numpy versions, platform, CPU count and (where readable) the CPU model.
    """
    import platform

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["mem_total_gib"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def run_benchmarks(sizes: list[int], with_engines: bool = True, progress=None) -> dict[str, Any]:
    """Run the benchmark suite and collect its results in one report.

    Args:
        sizes: Initial population sizes to time the vector engine at.
        with_engines: Also compare the engines' speed, not only the scaling.
        progress: Optional callback given a line of text after each timing.

    Returns:
        The report: machine, scenario, targets, timings and the scaling exponent.
    """
    started = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {
        "created": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "scenario": BENCH_SCENARIO,
        "targets": TARGETS,
    }
    report["scale"] = scale(sizes, progress=progress)
    report["scaling_exponent_1e5_up"] = scaling_exponent(report["scale"])
    if with_engines:
        if progress:
            progress("engines: vector vs Mesa")
        report["engines"] = engines()
        big = by_size_rows(report["scale"]).get(1_000_000)
        if big:  # the same ratio with the vector engine at 10^6 people (its intended scale)
            report["engines"]["vector_1e6_over_agents"] = (
                big["total_agent_days_per_s"] / report["engines"]["agents"]["agent_days_per_s"]
            )
    if progress:
        progress("sweep: Ukraine-scale runs through the batch runner")
    report["sweep"] = sweep_throughput()
    by_size = {r["agents_initial"]: r for r in report["scale"]}
    report["profile"] = by_size.get(1_000_000, report["scale"][-1])["phases_s"]
    report["rusage_self_max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def verdicts(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, goal, measured, met?) rows."""
    rows = []
    by_size = {r["agents_initial"]: r for r in report["scale"]}

    def add(name, goal, value, ok):
        """Add one row (name, goal, value, met or MISSED) to the targets table."""
        rows.append((name, goal, value, "met" if ok else "MISSED"))

    if 1_000_000 in by_size:
        w = by_size[1_000_000]["wall_s"]
        add("10^6 agents x 3 years, wall", "<= 1.5 s", f"{w:.3f} s", w <= 1.5)
        add("  stretch", "<= 0.7 s", f"{w:.3f} s", w <= 0.7)
        pop = by_size[1_000_000]["population_s_per_million"]
        add("population synthesis", "<= 0.3 s per million", f"{pop:.3f} s", pop <= 0.3)
    if 10_000_000 in by_size:
        b = by_size[10_000_000]["bytes_per_agent"]
        add("10^7 agents, peak memory", "<= 120 B per agent", f"{b:.0f} B", b <= 120)
    exp = report.get("scaling_exponent_1e5_up")
    if exp is not None:
        add("scaling exponent (>= 10^5)", "<= 1.05", f"{exp:.3f}", exp <= 1.05)
    if "engines" in report:
        ratio = report["engines"]["vector_over_agents"]
        add("vector / Mesa per agent-day", ">= 1000x", f"{ratio:,.0f}x", ratio >= 1000)
    return rows


def write_report(report: dict[str, Any], out_dir: Path) -> Path:
    """Write a benchmark report as JSON, named by the current UTC time.

    Args:
        report: The report from `run_benchmarks`.
        out_dir: Directory to write into.

    Returns:
        Path of the file written.
    """
    from .results import write_atomic_text

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = out_dir / f"{stamp}.json"
    write_atomic_text(path, json.dumps(report, indent=2, default=str) + "\n")
    return path


def _fmt_rate(x: float) -> str:
    exp = int(math.floor(math.log10(x))) if x > 0 else 0
    return f"{x / 10**exp:.2f}e{exp}"
