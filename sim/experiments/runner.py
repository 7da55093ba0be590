"""The runner: send every task not yet stored to an executor, store each result as it
arrives, and assemble the tables from the parts."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd

from ..results import write_atomic
from .directory import check_out_dir, check_resume, prepare_dir
from .errors import ExperimentAborted, ExperimentInterrupted
from .executors import KeptExecutor, open_executor, terminate_as_interrupt
from .store import (
    collect,
    finished_keys,
    remove_temporaries,
    run_and_store,
    verified_keys,
    write_part,
)
from .tasks import Task, error_text


class _Progress:
    """Runs done, failures and time left: a rich bar on a terminal, else plain lines.

    Plain lines (for CI logs, nohup, notebooks) go to the console at every tenth of the runs or
    every `PLAIN_EVERY_S` seconds, whichever comes first, and once at the end.
    """

    PLAIN_EVERY_S = 30.0

    def __init__(self, enabled: bool, console, total: int, done: int, label: str):
        self.enabled, self.console = enabled, console
        self.total, self.done, self.label = total, done, label
        self.failed = 0
        self.plain = enabled and not getattr(console, "is_terminal", False)
        self.started = self.last_line = time.perf_counter()
        self.next_done = done + max(1, total // 10)

    def __enter__(self) -> _Progress:
        if self.enabled and not self.plain:
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

    def _line(self) -> None:
        now = time.perf_counter()
        self.last_line = now
        self.console.print(
            f"{self.label}: {self.done} of {self.total} runs done, {self.failed} failed, "
            f"{now - self.started:.0f} s elapsed",
            markup=False,
            highlight=False,
        )
        self.console.file.flush()

    def advance(self, failed: bool) -> None:
        """Count one finished run and update the progress display.

        Args:
            failed: Whether the run failed.
        """
        self.failed += int(failed)
        self.done += 1
        if self.plain:
            due = time.perf_counter() - self.last_line >= self.PLAIN_EVERY_S
            if self.done >= self.next_done or due or self.done == self.total:
                self.next_done = self.done + max(1, self.total // 10)
                self._line()
        elif self.enabled:
            self.bar.update(self.task, advance=1, failed=self.failed)

    def __exit__(self, *exc) -> None:
        if self.enabled and not self.plain:
            self.bar.__exit__(*exc)


def _store(parts: Path, task: Task, out: dict) -> None:
    try:
        write_part(parts, task, out)
    except OSError as exc:
        raise ExperimentAborted(
            f"cannot write {parts / task.key}: {exc.strerror or error_text(exc)}"
        ) from None


def chunk_size(n_tasks: int, window: int) -> int:
    """Tasks per submission: about four chunks per task in flight, at most 8 runs, so that
    workers stay busy, the progress display moves, and few messages cross processes."""
    return max(1, min(8, n_tasks // max(4 * window, 1)))


def chunks_of(todo: Sequence[Task], window: int) -> Iterator[Sequence[Task]]:
    """The tasks in order, in chunks of `chunk_size` of the tasks still to send: chunks
    shrink towards the end (to single runs), so that the workers finish together rather
    than some waiting while one works through a last big chunk."""
    start = 0
    while start < len(todo):
        size = chunk_size(len(todo) - start, window)
        yield todo[start : start + size]
        start += size


def _drive(
    executor,
    window: int,
    todo: Sequence[Task],
    parts: Path,
    progress: _Progress,
    transient: dict[str, str],
    workers_store: bool,
) -> None:
    """Keep `window` chunks of tasks in flight; record each run as it is reported (and
    store it here unless `workers_store`: then the workers have written their parts)."""
    try:
        _drive_pool(executor, window, todo, parts, progress, transient, workers_store)
    except BrokenProcessPool:
        raise ExperimentAborted("a worker process died (killed, or out of memory)") from None


def _drive_pool(executor, window, todo, parts, progress, transient, workers_store) -> None:
    chunks = chunks_of(todo, window)
    inflight: dict[Future, Sequence[Task]] = {}
    while True:
        while len(inflight) < window:
            chunk = next(chunks, None)
            if chunk is None:
                break
            future = executor.submit(run_and_store, chunk, parts if workers_store else None)
            inflight[future] = chunk
        if not inflight:
            return
        done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: inflight[f][0].key):
            chunk = inflight.pop(future)
            try:
                rows = future.result()
            except BrokenProcessPool:
                raise
            except Exception as exc:  # lost worker, cancelled task: not stored, resume retries
                for task in chunk:
                    transient[task.key] = f"not stored (executor: {error_text(exc)})"
                    progress.advance(failed=True)
                continue
            for task, row in zip(chunk, rows, strict=True):
                if "write_error" in row:
                    message = f"cannot write {parts / task.key}: {row['write_error']}"
                    raise ExperimentAborted(message)
                if "out" in row:
                    _store(parts, task, row["out"])
                progress.advance(failed=row["status"] != "ok")


def run_tasks(
    *,
    kind: str,
    out_dir: Path,
    design: dict,
    entropy: int,
    tasks: list[Task],
    points: pd.DataFrame,
    manifest: dict,
    resume: bool,
    overwrite: bool,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
    console,
    argv: list[str],
    kept: KeptExecutor | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    """Run every task not yet stored; return (runs, summary, manifest, stats). With `kept`,
    on its executor (`workers` and `scheduler` are then its), left open for the next."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    stored = check_resume(out_dir, kind, design, entropy) if resume else None
    check_out_dir(out_dir, resume=stored is not None, overwrite=overwrite)
    parts = out_dir / "parts"
    done: set[str] = set()
    if stored is not None:
        done, bad = verified_keys(parts, tasks)
        if bad and console is not None:
            console.print(
                f"{kind}: {len(bad)} damaged part(s) removed and run again: {', '.join(bad)}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    todo = [t for t in tasks if t.key not in done]
    transient: dict[str, str] = {}
    stats: dict[str, Any] = {"resumed": len(tasks) - len(todo), "executor": None}
    with terminate_as_interrupt() as received:
        try:
            with contextlib.ExitStack() as stack:
                if todo:
                    executor, window, label = stack.enter_context(
                        kept.open(len(tasks))
                        if kept is not None
                        else open_executor(workers, scheduler, len(todo))
                    )
                else:
                    executor, window, label = None, 0, "nothing to run"
                stats["executor"] = label
                manifest = prepare_dir(out_dir, manifest, stored, argv)
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
                        # Local workers share this file system: they write their own parts.
                        workers_store = not scheduler
                        _drive(executor, window, todo, parts, bar, transient, workers_store)
        except KeyboardInterrupt:
            remove_temporaries(parts)
            signum = received[-1] if received else signal.SIGINT
            raise ExperimentInterrupted(
                out_dir, len(finished_keys(parts)), len(tasks), signum, entropy
            ) from None
        except ExperimentAborted as exc:
            remove_temporaries(parts)
            raise ExperimentAborted(
                f"{exc}; {len(finished_keys(parts))} of {len(tasks)} runs stored in "
                f"{out_dir}/parts",
                out_dir,
                entropy,
            ) from None
        runs, summary = collect(parts, tasks, points, transient)
        for name, df in (("runs.parquet", runs), ("summary.parquet", summary)):
            write_table(out_dir / name, df)
    stats["wall_s"] = time.perf_counter() - started
    stats["n_ok"] = int((summary["status"] == "ok").sum())
    stats["n_failed"] = len(summary) - stats["n_ok"]
    return runs, summary, manifest, stats


def write_table(path: Path, df: pd.DataFrame) -> None:
    """Write a table (Parquet or CSV by suffix) atomically; a full disk is one line."""
    try:
        if path.suffix == ".parquet":
            write_atomic(path, lambda p: df.to_parquet(p, index=False))
        else:
            write_atomic(path, lambda p: df.to_csv(p, index=False))
    except OSError as exc:
        raise ExperimentAborted(f"cannot write {path}: {exc.strerror or error_text(exc)}") from None
