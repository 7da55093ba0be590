"""Threads for one run: the vector engine's block pass works on several blocks at once.

Drawing a block of people and finding their application days is numpy and compiled
kernels that release the GIL, and each block depends only on the seed and its people's
ids; so blocks are worked in threads and their results taken in order (`in_order`),
which keeps every output the same whatever the number of threads.

Experiments parallelise over runs instead (`--workers`): their runs take one thread each
(`one_per_run`), so that workers do not compete with a run's own threads for the cores.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Most threads a run takes by default: beyond this the block pass gains little, while each
# thread holds a block's temporaries.
MAX_DEFAULT_THREADS = 4

# Set by `one_per_run`: the threads every run takes in this process meanwhile.
_fixed: int | None = None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on every system
        return os.cpu_count() or 1


def run_threads(threads: int | None) -> int:
    """Threads a run takes: `threads` if given, else one inside `one_per_run`, else the
    usable cores up to `MAX_DEFAULT_THREADS`.

    Args:
        threads: Threads asked for (at least 1), or None for the default.

    Returns:
        The number of threads, at least 1.
    """
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        return int(threads)
    if _fixed is not None:
        return _fixed
    return max(1, min(usable_cores(), MAX_DEFAULT_THREADS))


@contextlib.contextmanager
def one_per_run() -> Iterator[None]:
    """Within this block, runs that do not say how many threads to take take one: for
    experiments, which run several runs at once on worker processes."""
    global _fixed
    outer, _fixed = _fixed, 1
    try:
        yield
    finally:
        _fixed = outer


def in_order(fn: Callable[[T], R], items: Iterable[T], threads: int) -> Iterator[R]:
    """`fn` of each item, worked by up to `threads` threads and given in the items' order.

    Besides the result the caller holds, at most `threads + 1` are under way or waiting,
    so memory follows the threads, not the items. With one thread, or one item, no thread
    is started.

    Args:
        fn: The work on one item; it must not change state other items' work reads.
        items: The items.
        threads: Threads to work them in.

    Returns:
        An iterator of the results, in order; an error in `fn` is raised when its item's
        result is due, after the threads under way have stopped.
    """
    todo = list(items)
    if threads <= 1 or len(todo) <= 1:
        for item in todo:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="prisonflow-block")
    waiting: deque[Future[R]] = deque()
    rest = iter(todo)
    try:
        for item in rest:
            waiting.append(pool.submit(fn, item))
            if len(waiting) > threads:
                break
        while waiting:
            result = waiting.popleft().result()
            for item in rest:
                waiting.append(pool.submit(fn, item))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
