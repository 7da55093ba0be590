"""Experiments: many runs of the model, as `concurrent.futures` tasks, stored as they finish.

Two kinds share one runner:

- a **batch** runs each of several scenarios R times (`prisonflow batch`, `sim.batch`) and
  reports every summary metric with its mean, median and 95% interval over replicates;
- a **sweep** runs a design over scenario parameters read from a TOML spec (`prisonflow
  sweep`, `sim.sweep`): a grid, a Latin hypercube, or a Sobol or Morris design, and reports
  sensitivity indices (SALib) per output.

Every run is one call of `run_task(Task)`. The same function goes to a local process pool
(`workers` > 1), is called in this process (`workers=1`), or goes to a Dask cluster through
`distributed.Client.get_executor()` (`scheduler="local"` or an address): one code path.

Seeds: `numpy.random.SeedSequence(entropy).spawn(replicates)` gives one seed per replicate,
shared by every design point and scenario (common random numbers: replicate r of every
point uses the same seed, so differences between points are not seed noise).

Store (one directory per experiment)::

    manifest.json        what was run (design, entropy, seeds, argv, versions, git commit)
    parts/p00003-r0007.parquet      one finished run: its daily table (+ summary metadata)
    parts/p00004-r0000.failed.json  one failed run: its error message
    runs.parquet         every run's daily table, long format, ordered (point, replicate, day)
    summary.parquet      one row per run: status, error, parameter values, summary metrics
    intervals.csv        (batch) mean, median, 2.5th and 97.5th percentile per metric
    indices.csv          (sweep) output, parameter, index, value, conf
    point_means.csv      (sweep) mean of each output per design point

Parts are written atomically (temporary file + `os.replace`) as runs arrive, so an
interrupted experiment leaves only complete parts; `resume=True` checks that the stored
design and entropy match, skips runs whose part exists, and ends with the same tables as an
uninterrupted experiment (the tables are always assembled from the parts).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import secrets
import shutil
import signal
import sys
import threading
import time
import tomllib
import types
import typing
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .results import SUMMARY_EXTRA, write_atomic, write_atomic_text
from .scenario import (
    WRONG_KIND_SCENARIO,
    Regime,
    Scenario,
    ScenarioError,
    apply_overrides,
    is_scenario,
    load_scenario,
    validate_raw,
)
from .taxonomy import FLOW_COLUMNS

SUMMARY_METRICS = (*FLOW_COLUMNS, *SUMMARY_EXTRA)
METHODS = ("grid", "lhs", "sobol", "morris")
ENGINES = ("vector", "agents")
PART_META = b"prisonflow.part"
DESIGN_SPAWN_KEY = 0x5EED_DE51  # SeedSequence(entropy, spawn_key=(this,)) seeds the design


class SpecError(ScenarioError):
    """A sweep spec (or experiment input) is invalid: one line, file: key: message."""


class ExperimentInterrupted(Exception):
    """SIGINT or SIGTERM stopped the experiment; finished parts are kept for `resume`."""

    def __init__(self, out_dir: Path, done: int, total: int, signum: int, entropy: int):
        self.out_dir, self.done, self.total, self.signum = out_dir, done, total, int(signum)
        self.entropy = entropy
        name = signal.Signals(signum).name
        super().__init__(f"interrupted ({name}): {done} of {total} runs stored in {out_dir}/parts")


class ExperimentAborted(RuntimeError):
    """The executor broke (a worker process died); finished parts are kept for `resume`."""


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    """One run: design point `point`, replicate `replicate`, with its seed."""

    point: int
    replicate: int
    seed: int
    scenario: str | dict  # a bundled name or a path, or a resolved scenario as plain data
    overrides: dict
    engine: str = "vector"
    population: int | None = None
    days: int | None = None

    @property
    def key(self) -> str:
        return f"p{self.point:05d}-r{self.replicate:04d}"


def _error_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, ScenarioError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_task(task: Task) -> dict:
    """Run one task (in a worker). A run that raises comes back as status 'failed'."""
    import sim

    started = time.perf_counter()
    try:
        if isinstance(task.scenario, dict):
            data = dict(task.scenario)
            file = data.pop("source_file", "") or "<scenario>"
            scn = validate_raw(apply_overrides(data, task.overrides, file), file)
        else:
            scn = load_scenario(task.scenario, task.overrides)
        result = sim.run(
            scn, engine=task.engine, seed=task.seed, population=task.population, days=task.days
        )
    except Exception as exc:  # recorded as a failed run; interrupts (BaseException) pass
        return {
            "status": "failed",
            "error": _error_text(exc),
            "wall_s": time.perf_counter() - started,
        }
    return {
        "status": "ok",
        "timeseries": result.timeseries,
        "summary": {k: float(v) for k, v in result.summary.items()},
        "n_agents": int(result.n_agents),
        "wall_s": time.perf_counter() - started,
    }


# --------------------------------------------------------------------------- seeds


def replicate_seeds(entropy: int, replicates: int) -> tuple[list[int], list[list[int]]]:
    """Per-replicate seeds (shared by every point) and their SeedSequence spawn keys."""
    children = np.random.SeedSequence(entropy).spawn(replicates)
    seeds = [int(c.generate_state(1)[0]) for c in children]
    return seeds, [list(c.spawn_key) for c in children]


def design_seed(entropy: int) -> int:
    """Seed for sampling a design (LHS, Sobol, Morris), independent of replicate seeds."""
    ss = np.random.SeedSequence(entropy, spawn_key=(DESIGN_SPAWN_KEY,))
    return int(ss.generate_state(1)[0])


def new_entropy() -> int:
    return secrets.randbits(32)


# --------------------------------------------------------------------------- result


@dataclass
class ExperimentResult:
    """What an experiment produced: its tables (DataFrames) and where they are stored."""

    kind: str
    out_dir: Path
    manifest: dict
    runs: pd.DataFrame
    summary: pd.DataFrame
    intervals: pd.DataFrame | None = None
    indices: pd.DataFrame | None = None
    point_means: pd.DataFrame | None = None
    n_ok: int = 0
    n_failed: int = 0
    n_resumed: int = 0
    wall_s: float = 0.0
    spec: SweepSpec | None = None

    @property
    def n_runs(self) -> int:
        return len(self.summary)

    def failures(self) -> pd.DataFrame:
        return self.summary[self.summary["status"] != "ok"]


# --------------------------------------------------------------------------- executors


class _Inline:
    """`workers=1`: each task runs in this process as it is submitted; no pool."""

    def submit(self, fn: Callable, *args: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future


def machine_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _pool_worker_init() -> None:
    # The parent handles Ctrl-C and stops the pool; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _kill_pool(pool) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(5)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def _dask_executor(scheduler: str, workers: int | None) -> Iterator[tuple[Any, int, str]]:
    import logging

    from distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler == "local":
            n = workers or machine_workers()
            # Worker processes inherit an ignored SIGINT: on Ctrl-C this process stops the
            # cluster, and the workers print no KeyboardInterrupt tracebacks.
            with _sigint_ignored():
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            client = Client(cluster)
            label = f"Dask LocalCluster, {n} worker processes"
        else:
            client = Client(scheduler, timeout="15s")
            label = f"Dask scheduler {scheduler}"
    except Exception as exc:
        if cluster is not None:
            cluster.close()
        message = " ".join(str(exc).split())
        raise SpecError(
            "--scheduler", None, f"cannot start or reach {scheduler!r}: {message}"
        ) from None
    executor = client.get_executor(pure=False)
    threads = sum(client.nthreads().values()) or 1
    try:
        yield executor, 2 * threads, f"{label} ({threads} threads)"
    except BaseException:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=False)
        raise
    else:
        executor.shutdown(wait=True)
    finally:
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


@contextlib.contextmanager
def open_executor(
    workers: int | None, scheduler: str | None, n_tasks: int
) -> Iterator[tuple[Any, int, str]]:
    """Yield (executor, how many tasks to keep in flight, a label). On an exception
    (an interrupt) running work is stopped at once, not awaited."""
    if scheduler:
        with _dask_executor(scheduler, workers) as got:
            yield got
        return
    n = min(workers or machine_workers(), max(n_tasks, 1))
    if n <= 1:
        yield _Inline(), 1, "in-process (1 worker)"
        return
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_pool_worker_init,
    )
    try:
        yield pool, 2 * n, f"{n} worker processes"
    except BaseException:
        _kill_pool(pool)
        raise
    else:
        pool.shutdown(wait=True)


# --------------------------------------------------------------------------- parts


def _json_float(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def write_part(parts: Path, task: Task, out: dict) -> None:
    """Store one finished run atomically: a Parquet table, or a small JSON if it failed."""
    meta: dict[str, Any] = {
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "status": out["status"],
        "wall_s": round(out.get("wall_s", 0.0), 4),
    }
    if out["status"] != "ok":
        meta["error"] = out["error"]
        text = json.dumps(meta, indent=1) + "\n"
        write_atomic(parts / f"{task.key}.failed.json", lambda p: Path(p).write_text(text))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta["n_agents"] = out.get("n_agents", 0)
    meta["summary"] = {k: _json_float(v) for k, v in out["summary"].items()}
    table = pa.Table.from_pandas(out["timeseries"], preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[PART_META] = json.dumps(meta).encode()
    table = table.replace_schema_metadata(metadata)
    write_atomic(parts / f"{task.key}.parquet", lambda p: pq.write_table(table, p))


def finished_keys(parts: Path) -> set[str]:
    """Keys of runs with a complete part (temporary files are not parts)."""
    if not parts.is_dir():
        return set()
    keys = set()
    for p in parts.iterdir():
        if p.name.startswith("."):
            continue
        if p.name.endswith(".failed.json"):
            keys.add(p.name.removesuffix(".failed.json"))
        elif p.name.endswith(".parquet"):
            keys.add(p.name.removesuffix(".parquet"))
    return keys


def _clean_temporaries(parts: Path) -> None:
    if parts.is_dir():
        for p in parts.glob(".*.tmp"):
            p.unlink(missing_ok=True)


def collect(
    parts: Path,
    tasks: Sequence[Task],
    points: pd.DataFrame,
    transient: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assemble (runs, summary) from the parts, ordered by (point, replicate, day).

    `points` has one row per design point: `point`, `scenario` and parameter columns.
    """
    import pyarrow.parquet as pq

    transient = transient or {}
    ordered = sorted(tasks, key=lambda t: (t.point, t.replicate))
    ok_ids: list[tuple[int, int, int]] = []
    rows: list[dict] = []
    extra_metrics: list[str] = []

    def read(t: Task):
        path = parts / f"{t.key}.parquet"
        if path.exists():
            table = pq.ParquetFile(path).read(use_threads=False)
            return table, json.loads(table.schema.metadata[PART_META])
        failed = parts / f"{t.key}.failed.json"
        if failed.exists():
            return None, json.loads(failed.read_text())
        return None, None

    with ThreadPoolExecutor(max_workers=4) as pool:  # reading Parquet releases the GIL
        stored = list(pool.map(read, ordered))
    tables = []
    for t, (table, meta) in zip(ordered, stored, strict=True):
        if table is not None:
            tables.append(table)
            ok_ids.append((t.point, t.replicate, t.seed))
            summary = {
                k: (float("nan") if v is None else float(v)) for k, v in meta["summary"].items()
            }
            extra_metrics += [k for k in summary if k not in SUMMARY_METRICS]
            rows.append({"status": "ok", "error": "", **summary})
        elif meta is not None:
            rows.append({"status": "failed", "error": meta["error"]})
        else:
            rows.append({"status": "failed", "error": transient.get(t.key, "not run")})
    metrics = list(SUMMARY_METRICS) + list(dict.fromkeys(extra_metrics))
    by_point = points.set_index("point")

    def ids(point_ids, reps, seeds) -> pd.DataFrame:
        sub = by_point.loc[list(point_ids)]
        cols: dict[str, Any] = {"point": np.asarray(point_ids, dtype=np.int64)}
        for c in by_point.columns:
            cols[c] = sub[c].to_numpy()
        cols["replicate"] = np.asarray(reps, dtype=np.int64)
        cols["seed"] = np.asarray(seeds, dtype=np.int64)
        return pd.DataFrame(cols)

    summary = ids(
        [t.point for t in ordered], [t.replicate for t in ordered], [t.seed for t in ordered]
    )
    summary["status"] = [r["status"] for r in rows]
    summary["error"] = [r["error"] for r in rows]
    for m in metrics:
        summary[m] = np.array([r.get(m, np.nan) for r in rows], dtype=np.float64)

    if tables:
        import pyarrow as pa

        lengths = [t.num_rows for t in tables]
        head = ids(*zip(*ok_ids, strict=True))
        head = head.iloc[np.repeat(np.arange(len(head)), lengths)].reset_index(drop=True)
        body = pa.concat_tables(tables).to_pandas()
        runs = pd.concat([head, body], axis=1)
    else:
        runs = ids([], [], [])
    return runs, summary


# --------------------------------------------------------------------------- manifest


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


def _first_difference(a: Any, b: Any, path: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}"
            d = _first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = _first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else path


def _scenario_digest(scn: Scenario) -> str:
    data = scn.to_dict()
    data.pop("source_file", None)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _is_experiment_dir(path: Path) -> bool:
    try:
        m = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and m.get("kind") in ("batch", "sweep")


def _stored_entropy(out_dir: Path) -> int | None:
    try:
        value = json.loads((out_dir / "manifest.json").read_text()).get("entropy")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _check_resume(out_dir: Path, kind: str, design: dict, entropy: int) -> dict | None:
    """The stored manifest if `out_dir` holds this experiment; raise if it holds another."""
    mpath = out_dir / "manifest.json"
    if not mpath.exists():
        return None
    try:
        stored = json.loads(mpath.read_text())
    except ValueError as exc:
        raise SpecError(mpath, None, f"cannot resume: not valid JSON ({exc})") from None
    if stored.get("kind") != kind:
        raise SpecError(
            mpath,
            "kind",
            f"cannot resume: the stored experiment is a {stored.get('kind')}, not a {kind}",
        )
    if stored.get("entropy") != entropy:
        raise SpecError(
            mpath,
            "entropy",
            f"cannot resume: the stored entropy {stored.get('entropy')} differs from {entropy}; "
            "give the same entropy or choose another output directory",
        )
    diff = _first_difference(stored.get("design"), _jsonable(design), "design")
    if diff:
        raise SpecError(
            mpath,
            diff,
            "cannot resume: the stored design differs from this one; "
            "run the same design or choose another output directory",
        )
    return stored


def _prepare_dir(out_dir: Path, manifest: dict, stored: dict | None, argv: list[str]) -> dict:
    """Create (or, resuming, reuse) the experiment directory and write its manifest."""
    if stored is not None:
        stored.setdefault("resumed", []).append(
            {"argv": list(argv), "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        )
        stored["status"] = "running"
        write_atomic_text(out_dir / "manifest.json", json.dumps(stored, indent=2) + "\n")
        _clean_temporaries(out_dir / "parts")
        (out_dir / "parts").mkdir(exist_ok=True)
        return stored
    if out_dir.exists():
        if _is_experiment_dir(out_dir):
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
            shutil.rmtree(old, ignore_errors=True)
        elif not out_dir.is_dir() or any(out_dir.iterdir()):
            raise SpecError(
                out_dir, None, "exists and is not an experiment directory; choose another --out"
            )
    (out_dir / "parts").mkdir(parents=True, exist_ok=True)
    write_atomic_text(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def _check_out_dir(out_dir: Path) -> None:
    """Refuse, before anything runs, to write into a directory that is not ours."""
    if out_dir.exists() and not _is_experiment_dir(out_dir):
        if not out_dir.is_dir() or any(out_dir.iterdir()):
            raise SpecError(
                out_dir, None, "exists and is not an experiment directory; choose another --out"
            )


def _base_manifest(
    kind: str,
    design: dict,
    entropy: int,
    seeds: list[int],
    spawn_keys: list[list[int]],
    argv: list[str],
    tasks: Sequence[Task],
    extra: dict,
) -> dict:
    from .manifest import environment

    env = environment()
    return _jsonable(
        {
            "kind": kind,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "status": "running",
            "argv": list(argv),
            "entropy": entropy,
            "seeds": seeds,
            "spawn_keys": spawn_keys,
            "seeding": "numpy.random.SeedSequence(entropy).spawn(replicates); seed = "
            "generate_state(1)[0]; replicate r of every point uses seeds[r]",
            "n_runs": len(tasks),
            **extra,
            "design": design,
            **env,
        }
    )


# --------------------------------------------------------------------------- runner


class _Progress:
    """A rich progress bar (runs done, failures, time left), or nothing."""

    def __init__(self, enabled: bool, console, total: int, done: int, label: str):
        self.enabled, self.console = enabled, console
        self.total, self.done, self.label = total, done, label
        self.failed = 0

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs, [red]{task.fields[failed]} failed[/red]"),
                TimeElapsedColumn(),
                TextColumn("elapsed,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=self.console,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task(
                self.label, total=self.total, completed=self.done, failed=0
            )
        return self

    def advance(self, failed: bool) -> None:
        self.failed += int(failed)
        if self.enabled:
            self.bar.update(self.task, advance=1, failed=self.failed)

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.__exit__(*exc)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[list[int]]:
    """While running, SIGTERM (like SIGINT) raises KeyboardInterrupt in the main thread."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def on_signal(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, on_signal)
    old_int = signal.getsignal(signal.SIGINT)
    if old_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_signal)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)


def _drive(
    executor,
    window: int,
    todo: Sequence[Task],
    parts: Path,
    progress: _Progress,
    transient: dict[str, str],
) -> None:
    """Keep `window` tasks in flight; store each result as it arrives."""
    queue = iter(todo)
    inflight: dict[Future, Task] = {}
    while True:
        while len(inflight) < window:
            task = next(queue, None)
            if task is None:
                break
            inflight[executor.submit(run_task, task)] = task
        if not inflight:
            return
        done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: inflight[f].key):
            task = inflight.pop(future)
            try:
                out = future.result()
            except BrokenProcessPool as exc:
                raise ExperimentAborted(f"a worker process died ({exc})") from None
            except Exception as exc:  # lost worker, cancelled task: not stored, resume retries
                transient[task.key] = f"not stored (executor: {_error_text(exc)})"
                progress.advance(failed=True)
                continue
            write_part(parts, task, out)
            progress.advance(failed=out["status"] != "ok")


def _run_experiment(
    *,
    kind: str,
    out_dir: Path,
    design: dict,
    entropy: int,
    tasks: list[Task],
    points: pd.DataFrame,
    manifest: dict,
    resume: bool,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
    console,
    argv: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """Run every task not yet stored; return (runs, summary, manifest, stats)."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    stored = _check_resume(out_dir, kind, design, entropy) if resume else None
    if stored is None:
        _check_out_dir(out_dir)
    parts = out_dir / "parts"
    done = finished_keys(parts) if stored is not None else set()
    todo = [t for t in tasks if t.key not in done]
    transient: dict[str, str] = {}
    stats: dict[str, Any] = {"resumed": len(tasks) - len(todo), "executor": None}
    with _terminate_as_interrupt() as received:
        try:
            with contextlib.ExitStack() as stack:
                if todo:
                    executor, window, label = stack.enter_context(
                        open_executor(workers, scheduler, len(todo))
                    )
                else:
                    executor, window, label = None, 0, "nothing to run"
                stats["executor"] = label
                manifest = _prepare_dir(out_dir, manifest, stored, argv)
                if todo:
                    if console is not None and progress:
                        console.print(
                            f"{kind}: {len(tasks)} runs ({len(todo)} to run), entropy "
                            f"{entropy}, {label} -> {out_dir}",
                            highlight=False,
                        )
                    with _Progress(
                        progress, console, len(tasks), len(tasks) - len(todo), kind
                    ) as bar:
                        _drive(executor, window, todo, parts, bar, transient)
        except KeyboardInterrupt:
            signum = received[-1] if received else signal.SIGINT
            raise ExperimentInterrupted(
                out_dir, len(finished_keys(parts)), len(tasks), signum, entropy
            ) from None
        except ExperimentAborted as exc:
            raise ExperimentAborted(
                f"{exc}; {len(finished_keys(parts))} of {len(tasks)} runs stored in "
                f"{out_dir}/parts; continue with resume"
            ) from None
        runs, summary = collect(parts, tasks, points, transient)
        write_atomic(out_dir / "runs.parquet", lambda p: runs.to_parquet(p, index=False))
        write_atomic(out_dir / "summary.parquet", lambda p: summary.to_parquet(p, index=False))
    stats["wall_s"] = time.perf_counter() - started
    stats["n_ok"] = int((summary["status"] == "ok").sum())
    stats["n_failed"] = len(summary) - stats["n_ok"]
    return runs, summary, manifest, stats


def _finish_manifest(out_dir: Path, manifest: dict, stats: dict, outputs: list[str]) -> dict:
    manifest = dict(manifest)
    manifest.update(
        status="complete",
        finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        n_ok=stats["n_ok"],
        n_failed=stats["n_failed"],
        n_resumed=stats["resumed"],
        executor=stats["executor"],
        wall_s=round(stats["wall_s"], 3),
        files=["manifest.json", "parts/", "runs.parquet", "summary.parquet", *outputs],
    )
    write_atomic_text(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    write_atomic(path, lambda p: df.to_csv(p, index=False))


def _check_count(value: Any, name: str, file: str = "batch", minimum: int = 1) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise SpecError(file, name, f"must be a whole number >= {minimum}, got {value!r}")


# --------------------------------------------------------------------------- batch


def intervals(summary: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Per scenario (design point) and metric: n, mean, median, 2.5th and 97.5th percentile
    over the replicates that finished."""
    metrics = list(metrics or [c for c in SUMMARY_METRICS if c in summary.columns])
    ok = summary[summary["status"] == "ok"]
    rows = []
    pairs = summary[["point", "scenario"]].drop_duplicates()
    for point, scenario in zip(pairs["point"], pairs["scenario"], strict=True):
        sub = ok[ok["point"] == point]
        for m in metrics:
            v = sub[m].to_numpy(dtype=np.float64)
            v = v[~np.isnan(v)]
            n = len(v)
            rows.append(
                {
                    "point": int(point),
                    "scenario": scenario,
                    "metric": m,
                    "n": n,
                    "mean": float(v.mean()) if n else np.nan,
                    "median": float(np.median(v)) if n else np.nan,
                    "low": float(np.percentile(v, 2.5)) if n else np.nan,
                    "high": float(np.percentile(v, 97.5)) if n else np.nan,
                }
            )
    return pd.DataFrame(rows)


def batch(
    scenarios: str | os.PathLike | Scenario | Sequence[str | os.PathLike | Scenario],
    *,
    replicates: int = 10,
    overrides: dict | None = None,
    engine: str = "vector",
    population: int | None = None,
    days: int | None = None,
    entropy: int | None = None,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = False,
    console=None,
    argv: list[str] | None = None,
) -> ExperimentResult:
    """Run each scenario `replicates` times; summarize every metric over replicates.

    Scenarios are bundled names, TOML paths or `Scenario` objects; `overrides` (dotted keys)
    apply to all of them. Replicate r of every scenario uses the same seed. `workers=1` runs
    in this process, more use a process pool (default: one per CPU); `scheduler="local"`
    starts a Dask LocalCluster, an address uses a running Dask scheduler. Writes the
    experiment directory (default `results/batch/<names>-<entropy>`) and returns its tables:
    `runs`, `summary`, `intervals`.
    """
    if isinstance(scenarios, str | os.PathLike | Scenario):
        scenarios = [scenarios]
    scenarios = list(scenarios)
    if not scenarios:
        raise SpecError("batch", "scenarios", "give at least one scenario")
    _check_count(replicates, "replicates")
    _check_count(population, "population")
    _check_count(days, "days")
    _check_count(workers, "workers")
    _check_count(entropy, "entropy", minimum=0)
    if engine not in ENGINES:
        raise SpecError(
            "batch", "engine", f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}"
        )
    overrides = dict(overrides or {})
    loaded: list[tuple[str | dict, Scenario]] = []
    for s in scenarios:
        if isinstance(s, Scenario):
            data = s.to_dict()
            file = s.source_file or "<scenario>"
            raw = {k: v for k, v in data.items() if k != "source_file"}
            loaded.append((data, validate_raw(apply_overrides(raw, overrides, file), file)))
        else:
            loaded.append((str(s), load_scenario(s, overrides)))
    names = [scn.name for _, scn in loaded]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise SpecError("batch", "scenarios", f"scenario {dup!r} is given twice")
    if resume and entropy is None and out is None:
        raise SpecError(
            "--resume", None, "give --entropy E (or --out DIR) to find the experiment to resume"
        )
    out_dir = Path(out) if out is not None else None
    if entropy is None and resume and out_dir is not None:
        entropy = _stored_entropy(out_dir)
    if entropy is None:
        entropy = new_entropy()
    if out_dir is None:
        out_dir = Path("results") / "batch" / f"{'+'.join(names)}-{entropy}"
    seeds, spawn_keys = replicate_seeds(entropy, replicates)
    design = _jsonable(
        {
            "scenarios": [
                src if isinstance(src, str) else src["scenario"]["name"] for src, _ in loaded
            ],
            "scenario_sha256": [_scenario_digest(scn) for _, scn in loaded],
            "overrides": overrides,
            "replicates": replicates,
            "engine": engine,
            "population": population,
            "days": days,
        }
    )
    tasks = [
        Task(p, r, seeds[r], src, overrides, engine, population, days)
        for p, (src, _) in enumerate(loaded)
        for r in range(replicates)
    ]
    points = pd.DataFrame({"point": np.arange(len(loaded), dtype=np.int64), "scenario": names})
    for key, value in overrides.items():
        points[key] = [value] * len(points)
    argv = list(sys.argv if argv is None else argv)
    manifest = _base_manifest(
        "batch",
        design,
        entropy,
        seeds,
        spawn_keys,
        argv,
        tasks,
        {"scenarios": names, "executor_request": {"workers": workers, "scheduler": scheduler}},
    )
    runs, summary, manifest, stats = _run_experiment(
        kind="batch",
        out_dir=out_dir,
        design=design,
        entropy=entropy,
        tasks=tasks,
        points=points,
        manifest=manifest,
        resume=resume,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        console=console,
        argv=argv,
    )
    table = intervals(summary)
    _write_csv(out_dir / "intervals.csv", table)
    manifest = _finish_manifest(out_dir, manifest, stats, ["intervals.csv"])
    return ExperimentResult(
        kind="batch",
        out_dir=out_dir,
        manifest=manifest,
        runs=runs,
        summary=summary,
        intervals=table,
        n_ok=stats["n_ok"],
        n_failed=stats["n_failed"],
        n_resumed=stats["resumed"],
        wall_s=stats["wall_s"],
    )


# --------------------------------------------------------------------------- sweep spec

SPEC_KEYS = (
    "scenario",
    "description",
    "method",
    "samples",
    "replicates",
    "outputs",
    "population",
    "days",
    "engine",
    "entropy",
    "morris_levels",
    "fixed",
    "parameters",
)
PARAM_KEYS = ("low", "high", "values", "levels")
SAMPLE_RULES: dict[str, tuple[str, Callable[[int], bool]]] = {
    "lhs": ("a whole number of points >= 2", lambda n: n >= 2),
    "sobol": (
        "N, a power of 2 >= 2 (runs: N x (parameters + 2) x replicates)",
        lambda n: n >= 2 and n & (n - 1) == 0,
    ),
    "morris": (
        "N trajectories, a whole number >= 2 (runs: N x (parameters + 1) x replicates)",
        lambda n: n >= 2,
    ),
}


@dataclass(frozen=True)
class Parameter:
    """One swept scenario key: a continuous range [low, high] or discrete `values`."""

    key: str
    low: float | None = None
    high: float | None = None
    values: tuple | None = None
    levels: int | None = None  # grid over a range: this many evenly spaced levels
    integer: bool = False  # the scenario field holds whole numbers: values are rounded

    @property
    def discrete(self) -> bool:
        return self.values is not None

    def to_dict(self) -> dict:
        d: dict[str, Any] = {"integer": self.integer}
        if self.discrete:
            d["values"] = list(self.values)
        else:
            d.update(low=self.low, high=self.high)
            if self.levels is not None:
                d["levels"] = self.levels
        return d


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (see `load_spec`)."""

    path: str
    scenario: str  # bundled name or resolved path
    scenario_name: str
    scenario_sha256: str
    method: str
    parameters: tuple[Parameter, ...]
    outputs: tuple[str, ...]
    samples: int | None = None
    replicates: int = 1
    fixed: dict = field(default_factory=dict)
    population: int | None = None
    days: int | None = None
    engine: str = "vector"
    entropy: int | None = None
    morris_levels: int = 4
    description: str = ""

    def to_dict(self) -> dict:
        return _jsonable(
            {
                "scenario": self.scenario,
                "scenario_name": self.scenario_name,
                "scenario_sha256": self.scenario_sha256,
                "method": self.method,
                "samples": self.samples,
                "replicates": self.replicates,
                "outputs": list(self.outputs),
                "fixed": self.fixed,
                "parameters": {p.key: p.to_dict() for p in self.parameters},
                "population": self.population,
                "days": self.days,
                "engine": self.engine,
                "morris_levels": self.morris_levels if self.method == "morris" else None,
            }
        )


def _flatten(table: dict, stop: Callable[[dict], bool], prefix: str = "") -> dict[str, Any]:
    """Dotted keys from nested tables (TOML's unquoted a.b.c = ... nests)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and not stop(v):
            out.update(_flatten(v, stop, key + "."))
        else:
            out[key] = v
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def _lookup(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _int_annotation(ann: Any) -> bool:
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _int_annotation(typing.get_args(ann)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return len(args) == 1 and _int_annotation(args[0])
    return ann is int


def _field_is_int(base: Scenario, dotted: str) -> bool:
    """Whether the scenario field at `dotted` holds whole numbers (so values are rounded)."""
    current = _lookup(base.to_dict(), dotted)
    if current is not None:
        return isinstance(current, int) and not isinstance(current, bool)
    from pydantic import BaseModel

    parts, model, i = dotted.split("."), Scenario, 0
    while i < len(parts):
        if model is Scenario and parts[i] == "regimes":
            model, i = Regime, i + 2
            continue
        f = model.model_fields.get(parts[i])
        if f is None:
            return False
        if i == len(parts) - 1:
            return _int_annotation(f.annotation)
        ann = f.annotation
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return False
        model, i = ann, i + 1
    return False


def load_spec(path: str | os.PathLike | dict, *, base_dir: Path | None = None) -> SweepSpec:
    """Read and validate a sweep spec (a TOML file, or the same content as a dict).

    Every problem raises `SpecError` naming the spec file and the key.
    """
    if isinstance(path, dict):
        raw, file = path, "<spec>"
        base_dir = base_dir or Path.cwd()
    else:
        p = Path(path)
        file = str(p)
        if not p.is_file():
            raise SpecError(file, None, "file not found")
        try:
            raw = tomllib.loads(p.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(file, None, f"not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpecError(file, None, f"cannot read file: {exc}") from None
        base_dir = p.resolve().parent
        if is_scenario(raw):
            raise SpecError(file, None, WRONG_KIND_SCENARIO)

    def err(key: str | None, message: str) -> SpecError:
        return SpecError(file, key, message)

    for k in raw:
        if k not in SPEC_KEYS:
            raise err(k, f"unknown key; allowed keys: {', '.join(SPEC_KEYS)}")

    # scenario and fixed overrides
    scenario = raw.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        raise err("scenario", "required: a bundled scenario name or a path to a TOML file")
    if scenario.endswith(".toml") or "/" in scenario:
        candidate = base_dir / scenario
        if candidate.is_file():
            scenario = str(candidate.resolve())
    fixed_raw = raw.get("fixed", {})
    if not isinstance(fixed_raw, dict):
        raise err("fixed", 'must be a table of "dotted.key" = value')
    fixed = _flatten(fixed_raw, lambda d: "dist" in d)
    try:
        base = load_scenario(scenario, fixed)
    except ScenarioError as exc:
        hit = None
        if exc.key:
            hit = next((k for k in fixed if exc.key == k or exc.key.startswith(k + ".")), None)
            hit = hit or next((k for k in fixed if k.startswith(exc.key + ".")), None)
        if hit is not None:
            raise err(f'fixed."{hit}"', f"{exc.key}: {exc.message}") from None
        raise err("scenario", str(exc)) from None

    # method, sizes
    method = raw.get("method")
    if method not in METHODS:
        raise err("method", f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    replicates = raw.get("replicates", 1)
    _check_count(replicates, "replicates", file)
    for k in ("population", "days"):
        _check_count(raw.get(k), k, file)
    _check_count(raw.get("entropy"), "entropy", file, minimum=0)
    engine = raw.get("engine", "vector")
    if engine not in ENGINES:
        raise err("engine", f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise err("description", "must be a string")

    samples = raw.get("samples")
    if method == "grid":
        if samples is not None:
            raise err(
                "samples",
                "not used by method 'grid': give each parameter `values = [...]`, or "
                "`low`, `high` and `levels`",
            )
    else:
        rule, ok = SAMPLE_RULES[method]
        if samples is None:
            raise err("samples", f"required for method {method!r}: {rule}")
        if isinstance(samples, bool) or not isinstance(samples, int) or not ok(samples):
            raise err("samples", f"method {method!r} needs {rule}; got {samples!r}")
    morris_levels = raw.get("morris_levels", 4)
    if "morris_levels" in raw and method != "morris":
        raise err("morris_levels", f"only used by method 'morris', not {method!r}")
    if isinstance(morris_levels, bool) or not isinstance(morris_levels, int) or morris_levels < 2:
        raise err("morris_levels", f"must be a whole number >= 2, got {morris_levels!r}")

    # outputs
    outputs = raw.get("outputs")
    allowed = ", ".join(SUMMARY_METRICS)
    if not isinstance(outputs, list) or not outputs:
        raise err("outputs", f"required: a list of summary metric names; allowed: {allowed}")
    for o in outputs:
        if o not in SUMMARY_METRICS:
            raise err("outputs", f"unknown metric {o!r}; allowed: {allowed}")
    if len(set(outputs)) != len(outputs):
        raise err("outputs", "a metric is listed twice")

    # parameters
    params_raw = raw.get("parameters")
    if not isinstance(params_raw, dict) or not params_raw:
        raise err(
            "parameters",
            'required: at least one [parameters."dotted.key"] table with low/high or values',
        )
    flat = _flatten(params_raw, lambda d: any(k in d for k in PARAM_KEYS))
    params: list[Parameter] = []
    for key, spec in flat.items():
        where = f'parameters."{key}"'
        if not isinstance(spec, dict) or not spec:
            raise err(where, "must be a table with `low` and `high`, or `values = [...]`")
        for k in spec:
            if k not in PARAM_KEYS:
                raise err(f"{where}.{k}", f"unknown key; allowed keys: {', '.join(PARAM_KEYS)}")
        if key in fixed:
            raise err(where, "is also set in [fixed]; a parameter cannot be both")
        if "values" in spec and ("low" in spec or "high" in spec):
            raise err(where, "give either `low` and `high` or `values`, not both")
        if "values" in spec:
            values = spec["values"]
            if not isinstance(values, list) or not values:
                raise err(f"{where}.values", "must be a non-empty list")
            if "levels" in spec:
                raise err(f"{where}.levels", "only with `low` and `high`")
            if any(isinstance(v, dict | list) for v in values) or not (
                all(_is_number(v) for v in values) or len({type(v) for v in values}) == 1
            ):
                raise err(f"{where}.values", "values must be numbers, or all of one type")
            first = values[0]
        else:
            for k in ("low", "high"):
                if k not in spec:
                    raise err(f"{where}.{k}", "missing: give `low` and `high`, or `values`")
                if not _is_number(spec[k]):
                    raise err(f"{where}.{k}", f"must be a number, got {spec[k]!r}")
            if not spec["low"] < spec["high"]:
                raise err(
                    where,
                    f"empty range: low ({spec['low']}) must be below high ({spec['high']})",
                )
            levels = spec.get("levels")
            if method == "grid":
                if levels is None:
                    raise err(
                        f"{where}.levels",
                        "method 'grid' needs `levels` (>= 2) with `low` and `high`, "
                        "or `values = [...]`",
                    )
                if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
                    raise err(f"{where}.levels", f"must be a whole number >= 2, got {levels!r}")
            elif levels is not None:
                raise err(f"{where}.levels", f"only used by method 'grid', not {method!r}")
            first = spec["low"]
        integer = _field_is_int(base, key)
        if integer and _is_number(first):
            first = int(round(first))
        try:
            load_scenario(scenario, {**fixed, key: first})
        except ScenarioError as exc:
            raise err(
                where, f"not a valid scenario parameter ({exc.key or 'scenario'}: {exc.message})"
            ) from None
        if "values" in spec:
            vals = list(spec["values"])
            if integer:
                vals = [int(round(v)) if _is_number(v) else v for v in vals]
            elif all(_is_number(v) for v in vals) and any(isinstance(v, float) for v in vals):
                vals = [float(v) for v in vals]
            params.append(Parameter(key, values=tuple(vals), integer=integer))
        else:
            params.append(
                Parameter(
                    key,
                    low=spec["low"],
                    high=spec["high"],
                    levels=spec.get("levels"),
                    integer=integer,
                )
            )

    return SweepSpec(
        path=file,
        scenario=scenario,
        scenario_name=base.name,
        scenario_sha256=_scenario_digest(base),
        method=method,
        parameters=tuple(params),
        outputs=tuple(outputs),
        samples=samples,
        replicates=replicates,
        fixed=fixed,
        population=raw.get("population"),
        days=raw.get("days"),
        engine=engine,
        entropy=raw.get("entropy"),
        morris_levels=morris_levels,
        description=description,
    )


# --------------------------------------------------------------------------- designs


def _salib_problem(spec: SweepSpec) -> dict:
    return {
        "num_vars": len(spec.parameters),
        "names": [p.key for p in spec.parameters],
        "bounds": [[0.0, 1.0] if p.discrete else [p.low, p.high] for p in spec.parameters],
    }


def _value(p: Parameter, x: float) -> Any:
    """A design coordinate to a parameter value: a level for discrete parameters (x in
    [0, 1] picks one of k equal bins), the number itself (rounded if whole) otherwise."""
    if p.discrete:
        k = len(p.values)
        return p.values[min(int(math.floor(x * k)), k - 1)]
    return int(round(x)) if p.integer else float(x)


@dataclass
class Design:
    """Design points (parameter values per point) and the sampled matrix SALib analyses."""

    points: list[dict]
    X: np.ndarray | None = None
    seed: int = 0


def make_design(spec: SweepSpec, entropy: int) -> Design:
    """The design points of a sweep, in the order SALib's analysis expects."""
    seed = design_seed(entropy)
    params = spec.parameters
    if spec.method == "grid":
        axes = []
        for p in params:
            if p.discrete:
                axes.append(list(p.values))
            else:
                levels = np.linspace(p.low, p.high, p.levels)
                vals = [int(round(v)) if p.integer else float(v) for v in levels]
                axes.append(list(dict.fromkeys(vals)))
        points = [
            dict(zip([p.key for p in params], combo, strict=True))
            for combo in itertools.product(*axes)
        ]
        return Design(points, None, seed)
    if spec.method == "lhs":
        from scipy.stats import qmc

        try:
            sampler = qmc.LatinHypercube(d=len(params), rng=seed)
        except TypeError:  # scipy < 1.15
            sampler = qmc.LatinHypercube(d=len(params), seed=seed)
        U = sampler.random(n=spec.samples)
        X = np.column_stack(
            [
                U[:, j] if p.discrete else p.low + U[:, j] * (p.high - p.low)
                for j, p in enumerate(params)
            ]
        )
    elif spec.method == "sobol":
        from SALib.sample import sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = sobol.sample(_salib_problem(spec), spec.samples, calc_second_order=False, seed=seed)
    else:  # morris
        from SALib.sample import morris

        X = morris.sample(
            _salib_problem(spec), spec.samples, num_levels=spec.morris_levels, seed=seed
        )
    points = [{p.key: _value(p, float(x)) for p, x in zip(params, row, strict=True)} for row in X]
    return Design(points, np.asarray(X, dtype=np.float64), seed)


def design_size(spec: SweepSpec) -> int:
    """Number of design points (runs = points x replicates)."""
    d = len(spec.parameters)
    if spec.method == "grid":
        return len(make_design(spec, 0).points)
    if spec.method == "lhs":
        return spec.samples
    if spec.method == "sobol":
        return spec.samples * (d + 2)
    return spec.samples * (d + 1)


# --------------------------------------------------------------------------- analysis


def noise_share(summary: pd.DataFrame, output: str) -> float:
    """Mean within-point variance over total variance: the share of replicate noise.

    Both are population variances (ddof=0) over the finished runs, so that total =
    within + between (law of total variance) and the share lies in [0, 1]; with sample
    variances a seed effect common to all points (common random numbers) can push the
    ratio above 1. NaN with one replicate per point or a constant output.
    """
    ok = summary[summary["status"] == "ok"]
    v = ok[[output, "point"]].dropna()
    x = v[output].to_numpy(dtype=np.float64)
    if len(x) < 2 or v.groupby("point").size().max() < 2:
        return float("nan")
    total = float(np.mean((x - x.mean()) ** 2))
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    point_mean = v.groupby("point")[output].transform("mean").to_numpy(dtype=np.float64)
    return float(np.mean((x - point_mean) ** 2) / total)


def point_means(spec: SweepSpec, design: Design, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per design point: parameter values, finished runs, mean of each output."""
    ok = summary[summary["status"] == "ok"]
    out = pd.DataFrame({"point": np.arange(len(design.points), dtype=np.int64)})
    for p in spec.parameters:
        out[p.key] = [pt[p.key] for pt in design.points]
    counts = ok.groupby("point").size()
    out["n_ok"] = out["point"].map(counts).fillna(0).astype(np.int64)
    means = ok.groupby("point")[list(spec.outputs)].mean()
    for o in spec.outputs:
        out[o] = out["point"].map(means[o]).astype(np.float64)
    return out


def _spearman_rows(spec: SweepSpec, pm: pd.DataFrame, output: str) -> list[dict]:
    from scipy import stats

    rows = []
    y = pm[output].to_numpy(dtype=np.float64)
    for p in spec.parameters:
        value = conf = float("nan")
        col = pm[p.key]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            x = col.to_numpy(dtype=np.float64)
            keep = ~np.isnan(y)
            n = int(keep.sum())
            if n >= 3 and np.ptp(x[keep]) > 0 and np.ptp(y[keep]) > 0:
                value = float(stats.spearmanr(x[keep], y[keep]).statistic)
                if n > 3 and abs(value) < 1:
                    z, half = math.atanh(value), 1.959964 / math.sqrt(n - 3)
                    conf = (math.tanh(z + half) - math.tanh(z - half)) / 2
        rows.append(
            {
                "output": output,
                "parameter": p.key,
                "index": "spearman",
                "value": value,
                "conf": conf,
            }
        )
    return rows


def analyze(spec: SweepSpec, design: Design, summary: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity indices per output, tidy: output, parameter, index, value, conf.

    Replicates are averaged per design point first. Sobol: S1 and ST with 95% confidence
    half-widths (SALib bootstrap); Morris: mu_star (with mu_star_conf), sigma, mu; grid and
    LHS: Spearman rank correlation of each parameter with the output (Fisher-z 95%
    half-width). Every output also gets `noise_share` (parameter "(noise)"). An output that
    is missing at some point (failed runs) or constant gets NaN indices.
    """
    pm = point_means(spec, design, summary)
    problem = _salib_problem(spec)
    rows: list[dict] = []
    for output in spec.outputs:
        Y = pm[output].to_numpy(dtype=np.float64)
        usable = bool(len(Y)) and not np.isnan(Y).any() and np.ptp(Y) > 0
        if spec.method in ("sobol", "morris"):
            names = ("S1", "ST") if spec.method == "sobol" else ("mu_star", "sigma", "mu")
            res = None
            if usable:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    if spec.method == "sobol":
                        from SALib.analyze import sobol

                        res = sobol.analyze(
                            problem,
                            Y,
                            calc_second_order=False,
                            conf_level=0.95,
                            seed=design.seed,
                        )
                    else:
                        from SALib.analyze import morris

                        res = morris.analyze(
                            problem,
                            design.X,
                            Y,
                            conf_level=0.95,
                            num_levels=spec.morris_levels,
                            seed=design.seed,
                        )
            for i, p in enumerate(spec.parameters):
                for name in names:
                    value = conf = float("nan")
                    if res is not None:
                        value = float(res[name][i])
                        if f"{name}_conf" in res:
                            conf = float(res[f"{name}_conf"][i])
                    rows.append(
                        {
                            "output": output,
                            "parameter": p.key,
                            "index": name,
                            "value": value,
                            "conf": conf,
                        }
                    )
        else:
            rows += _spearman_rows(spec, pm, output)
        rows.append(
            {
                "output": output,
                "parameter": "(noise)",
                "index": "noise_share",
                "value": noise_share(summary, output),
                "conf": float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["output", "parameter", "index", "value", "conf"])


# --------------------------------------------------------------------------- sweep


def sweep(
    spec: str | os.PathLike | dict | SweepSpec,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    entropy: int | None = None,
    progress: bool = False,
    console=None,
    argv: list[str] | None = None,
) -> ExperimentResult:
    """Run a sensitivity sweep from a TOML spec (path, dict or `SweepSpec`).

    `entropy` (default: the spec's, else random) seeds the design and the replicates.
    Returns the tables `runs`, `summary`, `point_means` and `indices`; writes them into the
    experiment directory (default `results/sweeps/<spec name>-<entropy>`).
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    _check_count(workers, "workers", spec.path)
    _check_count(entropy, "entropy", spec.path, minimum=0)
    if entropy is None:
        entropy = spec.entropy
    out_dir = Path(out) if out is not None else None
    if resume and entropy is None:
        if out_dir is None:
            raise SpecError(
                "--resume",
                None,
                "the spec sets no entropy: give --entropy E (or --out DIR) to find the "
                "experiment to resume",
            )
        entropy = _stored_entropy(out_dir)
    if entropy is None:
        entropy = new_entropy()
    if out_dir is None:
        stem = Path(spec.path).stem if spec.path != "<spec>" else "sweep"
        out_dir = Path("results") / "sweeps" / f"{stem}-{entropy}"
    design = make_design(spec, entropy)
    seeds, spawn_keys = replicate_seeds(entropy, spec.replicates)
    keys = [p.key for p in spec.parameters]
    stored_design = _jsonable(
        {
            **spec.to_dict(),
            "design_seed": design.seed,
            "points": [[pt[k] for k in keys] for pt in design.points],
        }
    )
    tasks = [
        Task(
            i,
            r,
            seeds[r],
            spec.scenario,
            {**spec.fixed, **pt},
            spec.engine,
            spec.population,
            spec.days,
        )
        for i, pt in enumerate(design.points)
        for r in range(spec.replicates)
    ]
    points = pd.DataFrame(
        {
            "point": np.arange(len(design.points), dtype=np.int64),
            "scenario": [spec.scenario_name] * len(design.points),
        }
    )
    for k in keys:
        points[k] = [pt[k] for pt in design.points]
    argv = list(sys.argv if argv is None else argv)
    manifest = _base_manifest(
        "sweep",
        stored_design,
        entropy,
        seeds,
        spawn_keys,
        argv,
        tasks,
        {
            "spec_file": spec.path,
            "description": spec.description,
            "method": spec.method,
            "design_seed": design.seed,
            "n_points": len(design.points),
            "executor_request": {"workers": workers, "scheduler": scheduler},
        },
    )
    spec_file = Path(spec.path)
    spec_text = spec_file.read_text() if spec.path != "<spec>" and spec_file.is_file() else None
    runs, summary, manifest, stats = _run_experiment(
        kind="sweep",
        out_dir=out_dir,
        design=stored_design,
        entropy=entropy,
        tasks=tasks,
        points=points,
        manifest=manifest,
        resume=resume,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        console=console,
        argv=argv,
    )
    pm = point_means(spec, design, summary)
    indices = analyze(spec, design, summary)
    _write_csv(out_dir / "point_means.csv", pm)
    _write_csv(out_dir / "indices.csv", indices)
    written = ["point_means.csv", "indices.csv"]
    if spec_text is not None:
        write_atomic_text(out_dir / "spec.toml", spec_text)
        written.append("spec.toml")
    manifest = _finish_manifest(out_dir, manifest, stats, written)
    return ExperimentResult(
        kind="sweep",
        out_dir=out_dir,
        manifest=manifest,
        runs=runs,
        summary=summary,
        indices=indices,
        point_means=pm,
        n_ok=stats["n_ok"],
        n_failed=stats["n_failed"],
        n_resumed=stats["resumed"],
        wall_s=stats["wall_s"],
        spec=spec,
    )


# --------------------------------------------------------------------------- tables


def _fmt(metric: str, v: Any) -> str:
    if v is None or v != v:
        return "n/a"
    if metric.startswith("share_"):
        return f"{100 * v:.1f}%"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10 or metric.endswith("_pct"):
        return f"{v:,.1f}"
    return f"{v:.2f}" if a >= 0.01 or a == 0 else f"{v:.2g}"


def _fmt_value(v: Any) -> str:
    """A parameter value: whole numbers as such, others with 4 significant digits."""
    if not _is_number(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{float(v):.4g}"


def intervals_table(result: ExperimentResult):
    """Metrics as rows; per scenario the mean, median and 95% interval over replicates."""
    from rich.table import Table

    iv = result.intervals
    scenarios = list(dict.fromkeys(iv["scenario"]))
    reps = result.manifest.get("design", {}).get("replicates")
    table = Table(
        title=f"batch: {reps} replicates per scenario; "
        "95% interval = 2.5th to 97.5th percentile over replicates",
        title_justify="left",
    )
    table.add_column("metric", no_wrap=True)
    for s in scenarios:
        table.add_column(f"{s}\nmean", justify="right")
        table.add_column("\nmedian", justify="right")
        table.add_column("\n95% interval", justify="right")
    by = iv.set_index(["scenario", "metric"])
    for metric in dict.fromkeys(iv["metric"]):
        cells = [metric]
        for s in scenarios:
            r = by.loc[(s, metric)]
            interval = (
                "n/a" if r["n"] == 0 else f"{_fmt(metric, r['low'])} – {_fmt(metric, r['high'])}"
            )
            cells += [_fmt(metric, r["mean"]), _fmt(metric, r["median"]), interval]
        table.add_row(*cells)
    return table


def _num(v: float) -> str:
    if v != v:
        return "n/a"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def indices_table(result: ExperimentResult):
    """Sensitivity indices per output and parameter (replicate noise share per output)."""
    from rich.table import Table

    spec = result.spec
    idx = result.indices
    names = {
        "sobol": [("S1", True), ("ST", True)],
        "morris": [("mu_star", True), ("sigma", False)],
    }.get(spec.method, [("spearman", True)])
    table = Table(
        title=f"{spec.method} sensitivity, {spec.scenario_name}: {result.n_runs} runs "
        f"({len(result.point_means)} points x {spec.replicates} replicates)",
        title_justify="left",
        caption="± = 95% confidence half-width; replicate noise = mean within-point "
        "variance / total variance",
        caption_justify="left",
    )
    table.add_column("output")
    table.add_column("parameter")
    for name, has_conf in names:
        table.add_column(name.replace("mu_star", "mu*"), justify="right")
        if has_conf:
            table.add_column("±", justify="right")
    by = idx.set_index(["output", "parameter", "index"])
    for output in spec.outputs:
        noise = by.loc[(output, "(noise)", "noise_share"), "value"]
        noise_text = "n/a" if noise != noise else f"{100 * noise:.0f}%"
        for i, p in enumerate(spec.parameters):
            label = f"{output}\n(replicate noise {noise_text})" if i == 0 else ""
            cells = [label, p.key]
            for name, has_conf in names:
                r = by.loc[(output, p.key, name)]
                cells.append(_num(r["value"]))
                if has_conf:
                    cells.append(_num(r["conf"]))
            table.add_row(*cells, end_section=i == len(spec.parameters) - 1)
    return table


def _short_key(key: str) -> str:
    """`regimes.UA_2024.approval_days.high` -> `approval_days.high` (for column headers)."""
    parts = key.split(".")
    if parts[0] == "regimes" and len(parts) > 2:
        return ".".join(parts[2:])
    if parts[0] in ("population", "scenario") and len(parts) > 1:
        return ".".join(parts[1:])
    return key


def points_table(result: ExperimentResult, limit: int = 40):
    """Mean of each output per design point (None when there are more than `limit`)."""
    from rich.table import Table

    pm = result.point_means
    spec = result.spec
    if len(pm) > limit:
        return None
    table = Table(title="mean over replicates per design point", title_justify="left")
    table.add_column("point", justify="right")
    for p in spec.parameters:
        table.add_column(_short_key(p.key), justify="right")
    table.add_column("runs ok", justify="right")
    for o in spec.outputs:
        table.add_column(o, justify="right")
    for i in range(len(pm)):
        cells = [str(pm["point"].iloc[i])]
        for p in spec.parameters:
            v = pm[p.key].iloc[i]
            cells.append(_fmt_value(v))
        cells.append(str(pm["n_ok"].iloc[i]))
        cells += [_fmt(o, float(pm[o].iloc[i])) for o in spec.outputs]
        table.add_row(*cells)
    return table
