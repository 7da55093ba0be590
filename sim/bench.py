"""Benchmarks (`prisonflow bench`): the throughput targets of issue 14, measured on this machine.

Speed targets live here, never in timed tests. Each size of the scale set runs in a fresh
child process so that its peak resident memory belongs to that run alone; the command line
is timed in fresh interpreters (what a user waits for); the batch ratio times the same
20-run batch on one worker and on two.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .engines.threads import run_threads

BENCH_SCENARIO = "russia_2022_2025"
BENCH_DAYS = 1095  # three years of days, as in issue 14
REAL_SCALE = ("russia_2022_2025", "ukraine_2024")
BATCH_SCENARIO, BATCH_RUNS = "ukraine_2024", 20
# The calibration timed on 1 and 2 workers: BATCH_SCENARIO at real scale, one parameter,
# `prisonflow calibrate`'s default 200 particles a round, two rounds.
CALIBRATION_PARTICLES, CALIBRATION_ROUNDS = 200, 2
CALIBRATION_PARAM = "population.volunteering.baseline_per_day=0.0005:0.012"
ENGINE_AGENTS, ENGINE_DAYS = 20_000, 180

# Issue 14's targets: each measured value must be at most its limit.
TARGETS: dict[str, float] = {
    "wall_s_1e6": 0.35,
    "wall_s_1e7": 2.5,
    "scaling_exponent_1e6_1e7": 1.05,
    "bytes_per_person_1e7": 16.0,
    "wall_s_1e8": 45.0,
    "peak_rss_gib_1e8": 2.0,
    "run_s_russia_2022_2025": 0.12,
    "run_s_ukraine_2024": 0.03,
    "batch_2_over_1_workers": 0.6,
    "calibration_2_over_1_workers": 0.6,
    "cli_help_s": 0.3,
    "cli_scenarios_s": 0.3,
}

_CHILD = r"""
import json, resource, sys, time
import sim
from sim.engines.threads import run_threads
name = sys.argv[1]
size, days, repeats, seed, threads = (int(a) for a in sys.argv[2:7])
threads = run_threads(threads or None)
scn = sim.load_scenario(name)
sim.run(scn, seed=seed, population=1000, days=days)  # every import and cache warm
base_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def high_water_kib(reset):
    # Linux: the resident high-water mark (VmHWM), reset afterwards if `reset`; else None
    try:
        with open("/proc/self/status") as f:
            kib = next(int(x.split()[1]) for x in f if x.startswith("VmHWM:"))
        if reset:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        return kib
    except (OSError, StopIteration, ValueError):
        return None

walls, timings, peaks_kib = [], [], []
high_water_kib(reset=True)
for r in range(repeats):
    t = time.perf_counter()
    res = sim.run(scn, seed=seed + r, population=size, days=days, threads=threads)
    walls.append(time.perf_counter() - t)
    timings.append(res.timings)
    people = res.n_agents
    del res
    peaks_kib.append(high_water_kib(reset=True))
if None in peaks_kib:  # no per-run marks: the process's peak over every run
    peaks_kib, peak_kib = None, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
else:
    peak_kib = max(peaks_kib)
print(json.dumps({"walls": walls, "timings": timings, "people": people, "base_kib": base_kib,
                  "peak_kib": peak_kib, "peaks_kib": peaks_kib, "threads": threads}))
"""


def _child(code: str, *args: str, what: str) -> dict[str, Any]:
    """Run `code` in a fresh interpreter and read the JSON of its last line of output."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({what}): {out.stderr.strip()[-500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _repeats(size: int) -> int:
    return 5 if size <= 1_000_000 else 3 if size <= 10_000_000 else 1


def _measure_size(size: int, days: int, threads: int | None = None) -> dict[str, Any]:
    """Time one population size in a fresh child (raises RuntimeError if the child fails,
    e.g. when the run is estimated not to fit in memory); `threads` None: a run's default."""
    args = (BENCH_SCENARIO, str(size), str(days), str(_repeats(size)), "1", str(threads or 0))
    return _child(_CHILD, *args, what=f"{size:,} people")


def scale(
    sizes: list[int], days: int = BENCH_DAYS, progress=None, threads: int | None = None
) -> list[dict[str, Any]]:
    """Wall time (median), phases and memory of the vector engine at each population size,
    with `threads` threads per run (None: a run's default, `threads.run_threads`).

    Memory: `run_bytes` is the child's peak resident memory minus its resident memory after
    imports and a 1,000-person warm-up run (the interpreter and libraries excluded); it is
    divided both by the initial people and by all people including the horizon's admissions.
    """
    rows = []
    for size in sizes:
        try:
            m = _measure_size(size, days, threads)
        except RuntimeError as exc:  # e.g. an opt-in size that does not fit in memory
            if progress:
                progress(f"scale {size:>13,}: {exc}")
            rows.append({"people_initial": size, "days": days, "error": str(exc)})
            continue
        walls = m["walls"]
        wall = statistics.median(walls)
        phases = {k: statistics.median(t[k] for t in m["timings"]) for k in m["timings"][0]}
        run_bytes = max(m["peak_kib"] - m["base_kib"], 0) * 1024
        each = m.get("peaks_kib") or []
        rows.append(
            {
                "people_initial": size,
                "days": days,
                "threads": m["threads"],
                "repeats": len(walls),
                "wall_s": wall,
                "wall_s_all": walls,
                "person_days_per_s": size * days / wall,
                "peak_rss_mib": m["peak_kib"] / 1024,
                "baseline_rss_mib": m["base_kib"] / 1024,
                "people_total": m["people"],
                "run_bytes": run_bytes,
                "bytes_per_initial_person": run_bytes / size,
                "bytes_per_person_total": run_bytes / m["people"],
                # each run's own peak (the high-water mark reset between runs), bytes per
                # initial person: later runs' include what the allocator kept from earlier
                "bytes_per_initial_person_each_run": [
                    max(k - m["base_kib"], 0) * 1024 / size for k in each
                ],
                "phases_s": phases,
            }
        )
        if progress:
            progress(
                f"scale {size:>13,}: {wall:.3f} s median of {len(walls)}, "
                f"{m['threads']} thread{'s' if m['threads'] > 1 else ''}"
            )
    return rows


def by_size(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Index the measured scale rows (not those whose child failed) by initial population.

    Args:
        rows: Rows from `scale`, each with a `people_initial` key.

    Returns:
        The rows keyed by `people_initial`.
    """
    return {r["people_initial"]: r for r in rows if "error" not in r}


def scaling_exponent(rows: list[dict[str, Any]], lo: int, hi: int) -> float | None:
    """Slope of log(wall) against log(initial people) between two sizes (None if missing)."""
    at = by_size(rows)
    if lo not in at or hi not in at:
        return None
    return math.log(at[hi]["wall_s"] / at[lo]["wall_s"]) / math.log(hi / lo)


def real_scale(names=REAL_SCALE, repeats: int = 7, progress=None) -> dict[str, Any]:
    """Median wall time of one run of each scenario at its own size and horizon, warm:
    with a run's default threads, and in one thread (seeds interleaved)."""
    import sim

    out = {}
    for name in names:
        scn = sim.load_scenario(name)
        sim.run(scn, seed=0)  # warm up
        walls: dict[int | None, list[float]] = {None: [], 1: []}
        for seed in range(repeats):
            for asked, times in walls.items():
                t = time.perf_counter()
                sim.run(scn, seed=seed, threads=asked)
                times.append(time.perf_counter() - t)
        out[name] = {
            "wall_s": statistics.median(walls[None]),
            "wall_s_all": walls[None],
            "threads": run_threads(None),
            "wall_s_one_thread": statistics.median(walls[1]),
        }
        if progress:
            progress(
                f"real scale {name}: {out[name]['wall_s']:.4f} s median of {repeats} "
                f"({out[name]['wall_s_one_thread']:.4f} s in one thread)"
            )
    return out


def _worker_ratio(label: str, run_on, progress=None) -> dict[str, Any]:
    """Wall time of the same workload on 1 and 2 workers, and their ratio.

    Args:
        label: What the workload is, for the progress lines.
        run_on: Called with (workers, a fresh temporary directory); runs the workload.
        progress: Optional callback given a line of text after each timing.
    """
    out: dict[str, Any] = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            run_on(workers, Path(tmp))
            out[f"wall_s_{workers}_workers"] = time.perf_counter() - t
        if progress:
            progress(f"{label}, {workers} worker(s): {out[f'wall_s_{workers}_workers']:.2f} s")
    out["ratio_2_over_1"] = out["wall_s_2_workers"] / out["wall_s_1_workers"]
    return out


def batch_ratio(runs: int = BATCH_RUNS, progress=None) -> dict[str, Any]:
    """Wall time of the same batch (`runs` replicates of BATCH_SCENARIO) on 1 and 2 workers."""
    import sim

    def run_on(workers: int, tmp: Path) -> None:
        sim.batch(BATCH_SCENARIO, replicates=runs, entropy=1, workers=workers, out=tmp / "b")

    timed = _worker_ratio(f"batch {runs} x {BATCH_SCENARIO}", run_on, progress)
    return {"scenario": BATCH_SCENARIO, "runs": runs, **timed}


def calibration_ratio(progress=None) -> dict[str, Any]:
    """Wall time of the same calibration (`CALIBRATION_PARTICLES` particles x
    `CALIBRATION_ROUNDS` rounds of BATCH_SCENARIO at real scale, fitting
    `CALIBRATION_PARAM`) with its particles run on 1 and 2 workers."""
    from . import calibration
    from .calibration_rounds import RoundRunner
    from .scenario import load_scenario

    scn = load_scenario(BATCH_SCENARIO)
    params = [calibration.parse_param(CALIBRATION_PARAM, scn)]
    targets = calibration.targets_for(scn, None, fitting=True, population=None)
    runs = CALIBRATION_PARTICLES * CALIBRATION_ROUNDS

    def run_on(workers: int, tmp: Path) -> None:
        with RoundRunner(scn, targets, tmp / "parts", seed=1, workers=workers) as runner:
            calibration.calibrate(
                scn,
                params,
                targets,
                particles=CALIBRATION_PARTICLES,
                rounds=CALIBRATION_ROUNDS,
                seed=1,
                simulate=runner,
            )

    timed = _worker_ratio(f"calibration, {runs} runs of {BATCH_SCENARIO}", run_on, progress)
    return {"scenario": BATCH_SCENARIO, "param": CALIBRATION_PARAM, "runs": runs, **timed}


def cli_times(repeats: int = 3) -> dict[str, Any]:
    """Median wall time of `prisonflow --help` and `prisonflow scenarios`, each in a fresh
    interpreter (`python -m sim`, as the console script), output discarded; and the median
    CPU time (user + system) of those processes, which a busy machine inflates less."""
    import resource

    out = {}
    for label, args in (("help", ["--help"]), ("scenarios", ["scenarios"])):
        walls, cpus = [], []
        for _ in range(repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, check=True)
            walls.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        out[label] = {
            "wall_s": statistics.median(walls),
            "wall_s_all": walls,
            "cpu_s": statistics.median(cpus),
        }
    return out


def reference(people: int = 1_000_000, days: int = BENCH_DAYS, repeats: int = 5) -> dict:
    """prisonflow and the bare event-driven probe (`sim.bench_reference`) at the same size,
    in this process, medians of `repeats`; `ratio` is prisonflow's time over the probe's."""
    import sim
    from sim.bench_reference import probe

    scn = sim.load_scenario(BENCH_SCENARIO)
    sim.run(scn, seed=0, population=1000, days=days)
    probe(1000, days)

    def median_wall(fn) -> float:
        walls = []
        for seed in range(repeats):
            t = time.perf_counter()
            fn(seed)
            walls.append(time.perf_counter() - t)
        return statistics.median(walls)

    ours = median_wall(lambda s: sim.run(scn, seed=s, population=people, days=days))
    bare = median_wall(lambda s: probe(people, days, seed=s))
    return {
        "people": people,
        "days": days,
        "prisonflow_s": ours,
        "probe_s": bare,
        "ratio": ours / bare,
    }


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
        out[engine] = {"wall_s": wall, "agent_days_per_s": res.n_agents * days / wall}
    out["vector_over_agents"] = (
        out["vector"]["agent_days_per_s"] / out["agents"]["agent_days_per_s"]
    )
    return out


def machine() -> dict[str, Any]:
    """Describe the machine a benchmark ran on, so reports from different hosts compare.

    Returns:
        Python, numpy and numba versions, platform, CPU count, CPU model, memory, load
        average and the threads a run takes by default.
    """
    import importlib.metadata
    import platform

    import numpy as np

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "numba": importlib.metadata.version("numba"),  # the kernels' compiler (sim.jit)
        "run_threads": run_threads(None),  # a run's threads by default
        "load_average_1_5_15": list(os.getloadavg()),
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


def run_benchmarks(
    sizes: list[int],
    *,
    real: bool = True,
    batch: bool = True,
    cli: bool = True,
    with_reference: bool = False,
    with_engines: bool = False,
    progress=None,
) -> dict[str, Any]:
    """Run the benchmark suite and collect its results in one report.

    Args:
        sizes: Initial population sizes to time the vector engine at (fresh child each).
        real: Time real-scale runs of the REAL_SCALE scenarios.
        batch: Time the 20-run batch, and a calibration, on 1 and 2 workers.
        cli: Time `--help` and `scenarios` in fresh interpreters.
        with_reference: Also run the event-driven probe beside prisonflow at 10^6.
        with_engines: Also compare the vector and Mesa engines.
        progress: Optional callback given a line of text after each timing.

    Returns:
        The report: machine (with the load average before and after), targets, measurements.
    """
    report: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "scenario": BENCH_SCENARIO,
        "days": BENCH_DAYS,
        "targets": TARGETS,
    }
    report["scale"] = scale(sizes, progress=progress)
    if 10**6 in sizes and run_threads(None) > 1:  # what the threads bought
        report["one_thread_1e6"] = scale([10**6], progress=progress, threads=1)[0]
    report["scaling_exponent_1e6_1e7"] = scaling_exponent(report["scale"], 10**6, 10**7)
    if real:
        report["real_scale"] = real_scale(progress=progress)
    if batch:
        report["batch"] = batch_ratio(progress=progress)
        report["calibration"] = calibration_ratio(progress=progress)
    if cli:
        report["cli"] = cli_times()
    if with_reference:
        if progress:
            progress("reference: prisonflow and the event-driven probe, same process")
        report["reference"] = reference()
    if with_engines:
        if progress:
            progress("engines: vector vs Mesa")
        report["engines"] = engines()
    report["machine"]["load_average_after"] = list(os.getloadavg())
    return report


def verdicts(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(target, goal, measured, met/MISSED/not run) rows, one per target of issue 14."""
    rows: list[tuple[str, str, str, str]] = []
    at = by_size(report.get("scale", []))

    def add(name: str, goal: str, value: float | None, limit: float, fmt: str) -> None:
        if value is None:
            rows.append((name, goal, "-", "not run"))
        else:
            rows.append((name, goal, fmt.format(value), "met" if value <= limit else "MISSED"))

    def wall(size: int) -> float | None:
        return at[size]["wall_s"] if size in at else None

    add(
        "10^6 x 1,095 days (median, incl. population)",
        "<= 0.35 s",
        wall(10**6),
        TARGETS["wall_s_1e6"],
        "{:.3f} s",
    )
    add("10^7 x 1,095 days", "<= 2.5 s", wall(10**7), TARGETS["wall_s_1e7"], "{:.2f} s")
    add(
        "scaling exponent 10^6 -> 10^7",
        "<= 1.05",
        report.get("scaling_exponent_1e6_1e7"),
        TARGETS["scaling_exponent_1e6_1e7"],
        "{:.3f}",
    )
    big = at.get(10**7, {})
    add(
        "bytes per initial person at 10^7",
        "<= 16 B",
        big.get("bytes_per_initial_person"),
        TARGETS["bytes_per_person_1e7"],
        "{:.1f} B",
    )
    add(
        "  per person incl. admissions",
        "<= 16 B",
        big.get("bytes_per_person_total"),
        TARGETS["bytes_per_person_1e7"],
        "{:.1f} B",
    )
    huge = at.get(10**8, {})
    add(
        "10^8 x 1,095 days (--scale 1e8)",
        "<= 45 s",
        huge.get("wall_s"),
        TARGETS["wall_s_1e8"],
        "{:.1f} s",
    )
    add(
        "  peak resident memory",
        "<= 2 GiB",
        huge["peak_rss_mib"] / 1024 if huge else None,
        TARGETS["peak_rss_gib_1e8"],
        "{:.2f} GiB",
    )
    real = report.get("real_scale", {})
    for name, goal in (("russia_2022_2025", "<= 0.12 s"), ("ukraine_2024", "<= 0.03 s")):
        add(
            f"real-scale {name}, per run",
            goal,
            real.get(name, {}).get("wall_s"),
            TARGETS[f"run_s_{name}"],
            "{:.4f} s",
        )
    add(
        f"batch {BATCH_RUNS} x {BATCH_SCENARIO}: 2 workers / 1",
        "<= 0.6",
        report.get("batch", {}).get("ratio_2_over_1"),
        TARGETS["batch_2_over_1_workers"],
        "{:.2f}",
    )
    add(
        f"calibration, {CALIBRATION_PARTICLES * CALIBRATION_ROUNDS} runs: 2 workers / 1",
        "<= 0.6",
        report.get("calibration", {}).get("ratio_2_over_1"),
        TARGETS["calibration_2_over_1_workers"],
        "{:.2f}",
    )
    cli = report.get("cli", {})
    for label in ("help", "scenarios"):
        shown = "--help" if label == "help" else label
        add(
            f"prisonflow {shown}, fresh process",
            "<= 0.3 s",
            cli.get(label, {}).get("wall_s"),
            TARGETS[f"cli_{label}_s"],
            "{:.3f} s",
        )
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


def fmt_rate(x: float) -> str:
    """A rate in compact scientific notation, e.g. 1.23e9."""
    exp = int(math.floor(math.log10(x))) if x > 0 else 0
    return f"{x / 10**exp:.2f}e{exp}"
