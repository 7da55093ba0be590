"""Figures drawn side by side (`sim.figures.parallel.draw_all`): in other processes when
the machine allows it, here otherwise; results in order, a job's error raised here, and
the very same files either way."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import threading
from functools import partial

import pytest
from test_experiments_executors import sigint_at_default

from sim.figures.parallel import draw_all

FORK = "fork" in multiprocessing.get_all_start_methods()


def _pid(tag: int) -> tuple[int, int]:
    return tag, os.getpid()


def _fails() -> None:
    raise ValueError("figure 2: no data for stocks")


def _in_a_fresh_process(code: str, expect_code: int = 0) -> str:
    """Run `code` in a new interpreter, in a session of its own, and return what it printed:
    `draw_all` forks only where no other thread runs, and a test process may keep some
    (Dask's offload thread, once a test has used a Dask cluster)."""
    with sigint_at_default():
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=300,
            start_new_session=True,
        )
    assert done.returncode == expect_code, done.stderr
    return done.stdout + done.stderr


@pytest.mark.skipif(not FORK, reason="fork is not available here")
def test_jobs_run_in_other_processes_and_come_back_in_order():
    printed = _in_a_fresh_process(
        """
        import os
        from functools import partial
        from sim.figures.parallel import draw_all

        def pid(tag):
            return tag, os.getpid()

        got = draw_all([partial(pid, k) for k in range(5)], workers=2)
        print([tag for tag, _ in got], os.getpid() in {p for _, p in got})
        """
    )
    assert printed.split() == ["[0,", "1,", "2,", "3,", "4]", "False"]  # none ran here


def test_one_worker_draws_here():
    got = draw_all([partial(_pid, k) for k in range(3)], workers=1)
    assert got == [(k, os.getpid()) for k in range(3)]
    assert draw_all([], workers=2) == []


def test_other_threads_running_draw_here():
    """A forked child inherits other threads' locks, held: then no fork at all."""
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        got = draw_all([partial(_pid, k) for k in range(3)], workers=2)
    finally:
        stop.set()
        other.join()
    assert got == [(k, os.getpid()) for k in range(3)]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_jobs_error_is_raised_here(workers):
    with pytest.raises(ValueError, match="figure 2: no data"):
        draw_all([partial(_pid, 1), _fails, partial(_pid, 3)], workers=workers)


@pytest.mark.skipif(not FORK, reason="fork is not available here")
def test_figures_are_the_same_files_drawn_here_or_in_processes(tmp_path):
    printed = _in_a_fresh_process(
        f"""
        import os
        from functools import partial
        from pathlib import Path
        import sim
        from sim import figures as figs
        from sim.figures.parallel import draw_all
        from sim.reporting.labels import short_label

        out = Path({str(tmp_path)!r})
        name = "ukraine_2024"
        batch = sim.batch(
            [name], replicates=2, population=1000, workers=1, entropy=2, out=out / "b"
        )
        labels = {{name: short_label(sim.load_scenario(name))}}
        written = {{}}
        for workers in (1, 2):
            where = out / f"w{{workers}}"
            where.mkdir()
            jobs = [partial(figs.flow_figure, batch.runs, [name], labels, where), os.getpid]
            *infos, pid = draw_all(jobs, workers=workers)
            print(workers, [i.stem for i in infos], pid != os.getpid())
            written[workers] = {{p.name: p.read_bytes() for p in sorted(where.iterdir())}}
        print(len(written[1]), written[1] == written[2])
        """
    )
    assert printed.splitlines() == [
        "1 ['flows'] False",
        "2 ['flows'] True",
        "2 True",
    ]


@pytest.mark.skipif(not FORK, reason="fork is not available here")
def test_ctrl_c_stops_the_workers_at_once_and_is_raised_here():
    """Ctrl-C to the whole process group (as a terminal sends it) while the workers draw:
    KeyboardInterrupt here within a second, not once the figures are done, no traceback
    from the workers, and no worker left."""
    printed = _in_a_fresh_process(
        """
        import multiprocessing, os, signal, time
        from sim.figures.parallel import draw_all

        def slow():
            time.sleep(20)

        signal.signal(signal.SIGALRM, lambda *_: os.killpg(0, signal.SIGINT))
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        started = time.monotonic()
        try:
            draw_all([slow, slow, slow], workers=2)
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - started), "s;",
                  len(multiprocessing.active_children()), "workers left")
        """
    )
    assert printed.strip() == "interrupted after 1 s; 0 workers left", printed
