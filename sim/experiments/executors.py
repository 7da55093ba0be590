"""Executors and signals: where tasks run (in this process, a process pool, a Dask cluster).

Every executor offers `submit(fn, *args) -> Future`, so the runner has one code path.
An experiment opens its executor and closes it when it ends; several experiments in a row
(the rounds of a calibration) can share one, opened once and kept (`KeptExecutor`).
Workers end with their parent, even when the parent is killed with SIGKILL: each worker
process installs a parent-death watch (Linux `prctl(PR_SET_PDEATHSIG)` where available,
and everywhere a thread that polls `os.getppid()`).
"""

from __future__ import annotations

import ast
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

from .errors import SpecError

PARENT_POLL_S = 0.5  # how often a worker checks that its parent is still alive
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class _Inline:
    """`workers=1`: each task runs in this process as it is submitted; no pool."""

    def submit(self, fn: Callable, *args: Any) -> Future:
        """Run `fn(*args)` now and return its outcome as a completed future.

        Args:
            fn: The function to run.
            *args: Its arguments.

        Returns:
            A future holding the result or the exception raised.
        """
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future


def machine_workers() -> int:
    """Worker processes by default: the CPUs this process may use.

    Returns:
        Number of CPUs available to this process.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- parent watch


def _set_pdeathsig() -> None:
    """Ask Linux to SIGKILL this process when the thread that started it ends."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def _poll_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(PARENT_POLL_S)


def watch_parent(parent_pid: int, *, pdeathsig: bool = True) -> None:
    """End this (worker) process as soon as `parent_pid` is no longer its parent.

    `pdeathsig` only where the parent's starting thread lives as long as the worker (a
    process pool started from the runner's thread); the polling thread works everywhere.
    """
    if pdeathsig:
        _set_pdeathsig()
    if os.getppid() != parent_pid:  # the parent died before the watch was set
        os._exit(1)
    threading.Thread(target=_poll_parent, args=(parent_pid,), daemon=True).start()


def _pool_worker_init(parent_pid: int) -> None:
    # The parent handles Ctrl-C and stops the pool; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's SIGTERM handler (terminate_as_interrupt); the
    # parent stops its workers with SIGTERM, which must simply end them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    watch_parent(parent_pid)


def _start_method() -> str:
    """How worker processes start: `fork` on Linux, so that each worker begins with this
    process's modules already imported (no second import of the engine, pandas and scipy
    per worker, about a second of CPU each); `spawn` elsewhere (macOS system libraries are
    not fork-safe), and when this process runs other threads (a fork copies only the
    calling thread, and any lock another thread holds stays locked in the child)."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _kill_pool(pool) -> None:
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)  # shutdown forgets it
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in processes:
        with contextlib.suppress(Exception):
            p.join(5)
    # Let the pool's manager thread finish, closing its wake-up pipe, before anything else:
    # at exit, concurrent.futures wakes every manager thread it knows of, and one closing
    # its pipe meanwhile makes that write fail (a traceback after the one-line message).
    if manager is not None:
        with contextlib.suppress(Exception):
            manager.join(5)


# --------------------------------------------------------------------------- __main__ guard


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    consts = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and consts == {"__main__"}


def unguarded_main() -> tuple[str, int] | None:
    """(script, line) when this call comes from top-level code of a `__main__` script
    outside `if __name__ == "__main__":`. A spawned worker re-imports such a script and
    runs that line again, so a process pool cannot start from it."""
    main = sys.modules.get("__main__")
    file = getattr(main, "__file__", None)
    if main is None or not file:
        return None
    spec_name = getattr(getattr(main, "__spec__", None), "name", "") or ""
    if spec_name == "__main__" or spec_name.endswith(".__main__"):
        return None  # `python -m pkg`: spawn does not re-run a package's __main__
    frame: types.FrameType | None = sys._getframe(1)
    line = None
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None
    try:
        with open(file, encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if _is_main_guard(node) and node.lineno <= line <= (node.end_lineno or node.lineno):
            return None
    return str(file), line


def _can_spawn() -> bool:
    """Whether worker processes can start; if not, warn naming the fix (the experiment
    then runs in this process)."""
    where = unguarded_main()
    if where is None:
        return True
    file, line = where
    warnings.warn_explicit(
        "experiments started from a script's top-level code run in this process (1 "
        "worker), because worker processes re-import the script; put the script's code "
        'under `if __name__ == "__main__":` to use a process pool',
        RuntimeWarning,
        file,
        line,
    )
    return False


# --------------------------------------------------------------------------- signals


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Processes started inside inherit an ignored SIGINT (the parent handles Ctrl-C)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[list[int]]:
    """While running, SIGTERM (like SIGINT) raises KeyboardInterrupt in the main thread;
    the list yielded receives the signal numbers."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def on_signal(signum, frame):
        """Record the signal and interrupt, so the run stops cleanly."""
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


# --------------------------------------------------------------------------- executors


def _watch_dask_parent(parent_pid: int) -> None:
    """Run on each LocalCluster worker: end with the process that started the cluster."""
    # Dask starts workers from helper threads that may end first: poll, no PDEATHSIG.
    watch_parent(parent_pid, pdeathsig=False)


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
            with sigint_ignored():
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            client = Client(cluster)
            client.run(_watch_dask_parent, os.getpid())
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
    (an interrupt) running work is stopped at once, not awaited.

    Args:
        workers: Number of worker processes, or None for one per CPU.
        scheduler: Dask scheduler ('local' or an address), or None.
        n_tasks: Number of tasks to run.

    Yields:
        The executor, how many tasks to keep in flight, and a label.
    """
    spawn = scheduler == "local" or (
        not scheduler and min(workers or machine_workers(), n_tasks) > 1
    )
    if spawn and not _can_spawn():
        yield _Inline(), 1, "in-process (1 worker; the calling script has no __main__ guard)"
        return
    if scheduler:
        with _dask_executor(scheduler, workers) as got:
            yield got
        return
    n = min(workers or machine_workers(), max(n_tasks, 1))
    if n <= 1:
        yield _Inline(), 1, "in-process (1 worker)"
        return
    from concurrent.futures import ProcessPoolExecutor

    method = _start_method()
    if method == "fork":
        from sim.jit import warm

        warm()  # forked workers then start with the compiled kernels' runtime loaded
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context(method),
        initializer=_pool_worker_init,
        initargs=(os.getpid(),),
    )
    try:
        # Start the workers now, before the caller starts threads (a progress bar): a
        # process forked while another thread holds a lock would inherit it held.
        pool.submit(os.getpid).result()
        yield pool, 2 * n, f"{n} worker processes"
    except BaseException:
        _kill_pool(pool)
        raise
    else:
        pool.shutdown(wait=True)


class KeptExecutor:
    """One executor for several experiments in a row (a calibration's rounds): opened by
    the first that has runs to run, kept open between them, closed on leaving the `with`
    block. Worker processes start once, not once per experiment. An exception inside
    `open` (an interrupt, a broken pool) or leaving the block stops the workers at once, as
    `open_executor` does; the next `open` then starts new ones.

    Args:
        workers: Number of worker processes, or None for one per CPU.
        scheduler: Dask scheduler ('local' or an address), or None.
    """

    def __init__(self, workers: int | None, scheduler: str | None = None):
        self.workers, self.scheduler = workers, scheduler
        self._stack: contextlib.ExitStack | None = None
        self._got: tuple[Any, int, str] | None = None
        self.opened = 0  # how many times an executor was started

    def __enter__(self) -> KeptExecutor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close(*exc)

    @contextlib.contextmanager
    def open(self, n_tasks: int) -> Iterator[tuple[Any, int, str]]:
        """`open_executor` for one experiment, the kept executor if open; the first sizes it
        (`n_tasks`: its number of runs, as `open_executor`'s).

        Yields:
            The executor, how many tasks to keep in flight, and a label.
        """
        if self._got is None:
            stack = contextlib.ExitStack()
            self._got = stack.enter_context(open_executor(self.workers, self.scheduler, n_tasks))
            self._stack = stack
            self.opened += 1
        try:
            yield self._got
        except BaseException as exc:
            self.close(type(exc), exc, exc.__traceback__)
            raise

    def close(self, *exc: Any) -> None:
        """Close the executor: wait for its workers to end, or with an exception's
        (type, value, traceback), stop them at once."""
        stack, self._stack, self._got = self._stack, None, None
        if stack is None:
            return
        if exc and exc[0] is not None:
            stack.__exit__(*exc)
        else:
            stack.close()
