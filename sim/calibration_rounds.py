"""Calibration rounds through the experiment runner: one task per particle per round,
stored as parts, so that an interrupted calibration resumes and any number of workers
gives the same posterior.

Each round is an experiment directory `<parts_dir>/round-<t>` (kind `batch`; design: the
round's particle values; entropy: the calibration seed). Particle i of round t is point
i with the seed ABC-SMC gives it; a resumed calibration recomputes the same proposals
(the proposal generator is seeded) and finds the runs already stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .calibration import Targets
from .experiments.directory import base_manifest
from .experiments.runner import run_tasks
from .experiments.tasks import Task
from .experiments.template import points_frame
from .scenario import Scenario


class RoundRunner:
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
        data = self.scn.to_dict()
        tasks = [
            Task(
                i,
                0,
                int(s),
                data,
                {
                    p.key: (int(v) if p.integer else float(v))
                    for p, v in zip(params, row, strict=True)
                },
                "vector",
                self.population,
                self.days,
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
        out_dir = self.parts_dir / f"round-{round_no}"
        seeds_list = [int(s) for s in seeds]
        manifest = base_manifest("batch", design, self.seed, seeds_list, [], self.argv, tasks, {})
        resume = self.resume and (out_dir / "manifest.json").exists()
        runs, summary, _manifest, stats = run_tasks(
            kind="batch",
            out_dir=out_dir,
            design=design,
            entropy=self.seed,
            tasks=tasks,
            points=points_frame([self.scn.name] * len(tasks)),
            manifest=manifest,
            resume=resume,
            overwrite=False,
            workers=self.workers,
            scheduler=None,
            progress=False,
            console=None,
            argv=self.argv,
        )
        self.resumed += stats["resumed"]
        out = np.full(len(tasks), np.inf)  # a failed run is as far as can be
        ok = summary.loc[summary["status"] == "ok", "point"].to_numpy()
        for i in ok:
            ts = runs[runs["point"] == i].reset_index(drop=True)
            out[i] = self.targets.distance(self.targets.simulated(ts))
        return out


def rounds_dir(out: Path) -> Path:
    """Where a calibration into `out` keeps its runs until it has finished."""
    out = Path(out)
    return out.with_name(out.name + ".rounds")
