"""A report's figures drawn side by side, one process each, where the machine allows it.

Each figure reads its tables and writes its own files, so figures are independent; a
comparison's six take about 10 s one after the other (matplotlib's layout and text), half
that on two cores. Processes are forked, so each starts with the tables already in memory
and nothing is pickled on the way in; only the small `FigureInfo` comes back. Where fork
is not available, or other threads are running (a forked child would inherit their locks,
held, and could hang), figures are drawn here, one after the other. Figures are the same
either way: drawing does not depend on the process. Ctrl-C stops the workers at once
and is raised here, as it is when figures are drawn one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# The jobs of the `draw_all` under way: forked workers find them here (inherited, not sent).
_jobs: Sequence[Callable[[], object]] = ()


def _draw(i: int) -> object:
    """Job `i` of `_jobs`, in a forked worker."""
    return _jobs[i]()


def draw_all(jobs: Sequence[Callable[[], T]], workers: int | None = None) -> list[T]:
    """Call each of `jobs` (functions that draw a figure and return its `FigureInfo` or
    None) in forked processes, `workers` at a time, or here one after the other.

    Args:
        jobs: The figures to draw, as functions of no arguments.
        workers: Processes at most (None: one per CPU; 1: none, draw here).

    Returns:
        What each job returned, in the order of `jobs`. A job's exception is raised here.
    """
    global _jobs
    workers = min(os.cpu_count() or 1, len(jobs)) if workers is None else min(workers, len(jobs))
    if (
        workers <= 1
        or "fork" not in multiprocessing.get_all_start_methods()
        or threading.active_count() > 1
    ):
        return [job() for job in jobs]
    _jobs = jobs
    context = multiprocessing.get_context("fork")
    # The workers start with Ctrl-C blocked, for good: an interrupt is the parent's to act
    # on (it stops them), and one arriving while they are forked waits until they are.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        pool = context.Pool(workers)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    try:
        return pool.map(_draw, range(len(jobs)), chunksize=1)  # type: ignore[arg-type]
    finally:
        pool.terminate()  # idle after the last figure; stopped at once on an interrupt
        pool.join()
        _jobs = ()
