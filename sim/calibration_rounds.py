"""Calibration rounds through the experiment runner: one task per particle per round,
stored as parts, so that an interrupted calibration resumes and any number of workers
gives the same posterior.

Each round is an experiment directory `<parts_dir>/round-<t>` (kind `batch`; design: the
round's particle values; entropy: the calibration seed). Particle i of round t is point
i with the seed ABC-SMC gives it; a resumed calibration recomputes the same proposals
(the proposal generator is seeded) and finds the runs already stored.

A runner used as a context manager (`with RoundRunner(...) as simulate:`) runs every round
on one pool of worker processes, started by the first round that has runs to run and
stopped on leaving the block (at once on an error or an interrupt); otherwise each round
starts and stops its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd

from .calibration import Targets
from .calibration.joint import JointFit, country_seeds
from .calibration.smc import overrides_of
from .experiments.directory import base_manifest
from .experiments.executors import KeptExecutor
from .experiments.runner import run_tasks
from .experiments.tasks import Task
from .experiments.template import points_frame
from .scenario import Scenario


class _Rounds:
    """What both runners share: their worker pool, kept while inside `with`."""

    workers: int | None
    kept: KeptExecutor | None = None

    def __enter__(self) -> Self:
        self.kept = KeptExecutor(self.workers).__enter__()
        return self

    def __exit__(self, *exc) -> None:
        kept, self.kept = self.kept, None
        if kept is not None:
            kept.__exit__(*exc)


class RoundRunner(_Rounds):
    """A `simulate(round, params, values, seeds)` for `calibrate`: runs the particles of a
    round with the experiment runner in `parts_dir` and returns their distances."""

    def __init__(
        self,
        scn: Scenario,
        targets: Targets,
        parts_dir: Path,
        *,
        seed: int,
        population: int | None = None,
        days: int | None = None,
        workers: int | None = None,
        resume: bool = False,
        argv: list[str] | None = None,
    ):
        self.scn, self.targets, self.parts_dir = scn, targets, Path(parts_dir)
        self.seed, self.population, self.workers = seed, population, workers
        self.days = int(targets.table["day"].max()) + 1 if days is None else days
        self.resume, self.argv = resume, list(argv or [])
        self.resumed = 0  # runs found stored (resume)

    def __call__(self, round_no: int, params, values: np.ndarray, seeds) -> np.ndarray:
        data, observe = self.scn.to_dict(), self.targets.observed_rows()
        tasks = [
            Task(
                i,
                0,
                int(s),
                data,
                overrides_of(params, row),
                population=self.population,
                days=self.days,
                observe=observe,
            )
            for i, (row, s) in enumerate(zip(values, seeds, strict=True))
        ]
        design = {
            "calibration_round": round_no,
            "scenario": self.scn.name,
            "population": self.population,
            "days": self.days,
            "particles": [t.overrides for t in tasks],
        }
        summary = run_round(self, round_no, tasks, [self.scn.name] * len(tasks), design)
        return distances(summary, range(len(tasks)), self.targets)


class JointRoundRunner(_Rounds):
    """The `simulate` of a joint calibration (`sim.calibration.joint`): each round's runs of
    every country (particle i of country c is task c * particles + i, with the country's
    seed stream) through the experiment runner, stored in `parts_dir` like `RoundRunner`'s.
    """

    def __init__(
        self,
        fit: JointFit,
        parts_dir: Path,
        *,
        seed: int,
        workers: int | None = None,
        resume: bool = False,
        argv: list[str] | None = None,
    ):
        self.fit, self.parts_dir, self.seed, self.workers = fit, Path(parts_dir), seed, workers
        self.resume, self.argv = resume, list(argv or [])
        self.resumed = 0

    def __call__(self, round_no: int, params, values: np.ndarray, seeds) -> np.ndarray:
        n = len(values)
        tasks, names = [], []
        for c, country in enumerate(self.fit.countries):
            data, observe = country.scenario.to_dict(), country.targets.observed_rows()
            for i, (row, s) in enumerate(zip(values, country_seeds(seeds, c), strict=True)):
                overrides = self.fit.overrides(country.name, row)
                point = c * n + i
                tasks.append(
                    Task(
                        point,
                        0,
                        int(s),
                        data,
                        overrides,
                        population=country.population,
                        days=country.days,
                        observe=observe,
                    )
                )
                names.append(country.name)
        design = {
            "calibration_round": round_no,
            "scenarios": self.fit.names,
            "populations": [c.population for c in self.fit.countries],
            "days": [c.days for c in self.fit.countries],
            "weights": [c.weight for c in self.fit.countries],
            "particles": [t.overrides for t in tasks],
        }
        summary = run_round(self, round_no, tasks, names, design)
        per_country = np.array(
            [
                distances(summary, range(c * n, (c + 1) * n), country.targets)
                for c, country in enumerate(self.fit.countries)
            ]
        )
        return self.fit.combine(per_country)


def run_round(runner, round_no: int, tasks: list[Task], names: list[str], design: dict):
    """Run a round's tasks in `runner.parts_dir/round-<t>` (resuming what is stored), on
    `runner.kept` if it has one (a runner inside `with`).

    Returns:
        The runs' summary (one row per task, by point; model values `observed.<i>`).
    """
    out_dir = runner.parts_dir / f"round-{round_no}"
    seeds_list = [t.seed for t in tasks]
    manifest = base_manifest("batch", design, runner.seed, seeds_list, [], runner.argv, tasks, {})
    resume = runner.resume and (out_dir / "manifest.json").exists()
    _runs, summary, _manifest, stats = run_tasks(
        kind="batch",
        out_dir=out_dir,
        design=design,
        entropy=runner.seed,
        tasks=tasks,
        points=points_frame(names),
        manifest=manifest,
        resume=resume,
        overwrite=False,
        workers=runner.workers,
        scheduler=None,
        progress=False,
        console=None,
        argv=runner.argv,
        kept=getattr(runner, "kept", None),  # its pool, inside `with runner`
    )
    runner.resumed += stats["resumed"]
    return summary.set_index("point")


def distances(summary: pd.DataFrame, points, targets: Targets) -> np.ndarray:
    """Distance of each run among `points` from the model values its worker computed (a
    failed run is as far as can be)."""
    cols = [f"observed.{i}" for i in range(len(targets.table))]
    rows = summary.loc[list(points)]
    out = np.full(len(rows), np.inf)
    ok = (rows["status"] == "ok").to_numpy()
    if ok.any():
        out[ok] = targets.distances(rows.loc[ok, cols].to_numpy(float))
    return out


def rounds_dir(out: Path) -> Path:
    """Where a calibration into `out` keeps its runs until it has finished."""
    out = Path(out)
    return out.with_name(out.name + ".rounds")
