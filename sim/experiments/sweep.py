"""Sweeps: a design over scenario parameters from a TOML spec (`prisonflow sweep`,
`sim.sweep`), with sensitivity indices per output (see `designs`, `sensitivity`)."""

from __future__ import annotations

import os
from pathlib import Path

from ..results import write_atomic_text
from ..scenario import load_scenario
from .designs import make_design
from .directory import jsonable
from .sensitivity import analyze, point_means
from .spec import SweepSpec, load_spec
from .tasks import Task, scenario_data
from .template import Experiment, ExperimentResult, Plan, points_frame, run_options


class Sweep(Experiment):
    """Design points x replicates of one scenario; replicate r of every point shares a seed."""

    kind = "sweep"

    def __init__(self, spec: SweepSpec):
        self.spec = spec
        self.replicates = spec.replicates
        self.default_entropy = spec.entropy

    def default_out(self, entropy: int) -> Path:
        """Default output directory: results/sweeps/<spec name>-<entropy>.

        Args:
            entropy: The sweep's entropy.

        Returns:
            The directory path.
        """
        stem = Path(self.spec.path).stem if self.spec.path != "<spec>" else "sweep"
        return Path("results") / "sweeps" / f"{stem}-{entropy}"

    def plan(self, entropy: int, seeds: list[int]) -> Plan:
        """Plan the sweep: sample the design and make one task per point and replicate.

        Args:
            entropy: The sweep's entropy (also seeds the design).
            seeds: One seed per replicate.

        Returns:
            The plan.
        """
        spec = self.spec
        self.design = design = make_design(spec, entropy)
        keys = [p.key for p in spec.parameters]
        stored = jsonable(
            {
                **spec.to_dict(),
                "design_seed": design.seed,
                "points": [[pt[k] for k in keys] for pt in design.points],
            }
        )
        base = scenario_data(load_scenario(spec.scenario, spec.fixed))
        tasks = [
            Task(
                i, r, seeds[r], base, {**spec.fixed, **pt}, spec.engine, spec.population, spec.days
            )
            for i, pt in enumerate(design.points)
            for r in range(spec.replicates)
        ]
        n = len(design.points)
        points = points_frame(
            [spec.scenario_name] * n, {k: [pt[k] for pt in design.points] for k in keys}
        )
        manifest = {
            "spec_file": spec.path,
            "description": spec.description,
            "method": spec.method,
            "design_seed": design.seed,
            "n_points": n,
        }
        return Plan(stored, tasks, points, manifest)

    def finish(self, out_dir, plan, runs, summary):
        """Tables derived from the run summary: point means and sensitivity indices; also keeps a
        copy of the spec file.

        Args:
            out_dir: The output directory.
            plan: The sweep's plan.
            runs: The runs.
            summary: One row per run.

        Returns:
            The tables by name, and the extra files written.
        """
        spec = self.spec
        tables = {
            "point_means": point_means(spec, self.design, summary),
            "indices": analyze(spec, self.design, summary),
        }
        spec_file = Path(spec.path)
        if spec.path != "<spec>" and spec_file.is_file():
            write_atomic_text(out_dir / "spec.toml", spec_file.read_text(encoding="utf-8"))
            return tables, ["spec.toml"]
        return tables, []


def sweep(
    spec: str | os.PathLike | dict | SweepSpec,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    entropy: int | None = None,
    progress: bool = False,
    console=None,
    argv: list[str] | None = None,
) -> ExperimentResult:
    """Run a sensitivity sweep from a TOML spec (path, dict or `SweepSpec`).

    `entropy` (default: the spec's, else random) seeds the design and the replicates.
    Returns the tables `runs`, `summary`, `point_means` and `indices`; writes them into the
    experiment directory (default `results/sweeps/<spec name>-<entropy>`).

    Args:
        spec: The sweep spec: TOML path, dict or SweepSpec.
        out: Output directory, or None for the default.
        workers: Number of worker processes, or None for one per CPU.
        scheduler: Dask scheduler ('local' or an address), or None.
        resume: Continue an existing experiment directory.
        overwrite: Replace an existing experiment directory.
        entropy: Entropy of the design and seeds, or None.
        progress: Show progress.
        console (rich.console.Console | None): Console for the progress display.
        argv: Command line recorded in the manifest, or None for `sys.argv`.

    Returns:
        The experiment's result.
    """
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec)
    result = Sweep(spec).run(**run_options(locals()))
    result.spec = spec
    return result
