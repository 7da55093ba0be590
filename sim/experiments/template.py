"""One experiment template behind batch, sweep and compare.

An experiment is a kind, a way to resolve its entropy and default directory, a plan
(design, tasks, points) built from the entropy and replicate seeds, and a finishing step
that turns the run tables into its own tables. `Experiment.run` does the rest the same way
for every kind: resume checks, the runner, failures, the manifest and the result.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .directory import base_manifest, finish_manifest, stored_entropy, write_failures
from .errors import ExperimentAborted, SpecError
from .runner import run_tasks, write_table
from .tasks import Task, error_text, new_entropy, replicate_seeds
from .validation import Entropy, StrictModel, Whole, validate


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
    variance_shares: pd.DataFrame | None = None
    n_ok: int = 0
    n_failed: int = 0
    n_resumed: int = 0
    wall_s: float = 0.0
    spec: Any = None  # the SweepSpec of a sweep

    @property
    def n_runs(self) -> int:
        """Number of runs in the experiment."""
        return len(self.summary)

    def failures(self) -> pd.DataFrame:
        """The runs that did not succeed, with their errors.

        Returns:
            One row per failed run.
        """
        return self.summary[self.summary["status"] != "ok"]


@dataclass
class Plan:
    """What an experiment runs: its design (stored; resume needs the same), its tasks, one
    row per design point (`point`, `scenario`, parameter columns) and manifest fields."""

    design: dict
    tasks: list[Task]
    points: pd.DataFrame
    manifest: dict = field(default_factory=dict)


def points_frame(names: list[str], columns: dict[str, list] | None = None) -> pd.DataFrame:
    """The points table: `point`, `scenario` and one column per parameter."""
    points = pd.DataFrame({"point": np.arange(len(names), dtype=np.int64), "scenario": names})
    for key, values in (columns or {}).items():
        points[key] = values
    return points


RUN_OPTIONS = (
    "out",
    "entropy",
    "resume",
    "overwrite",
    "workers",
    "scheduler",
    "progress",
    "console",
    "argv",
)


def run_options(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments of `Experiment.run` among a public function's (its `locals()`)."""
    return {k: arguments[k] for k in RUN_OPTIONS}


class RunArgs(StrictModel):
    """Options of every experiment's run."""

    workers: Whole | None = None
    entropy: Entropy | None = None


class Experiment:
    """Subclasses set `kind` and `replicates` and define `default_out`, `plan`, `finish`."""

    kind = "experiment"
    replicates = 1
    default_entropy: int | None = None

    def default_out(self, entropy: int) -> Path:
        """Default output directory of the experiment (defined by each kind).

        Args:
            entropy: The experiment's entropy.

        Returns:
            The directory path.
        """
        raise NotImplementedError

    def plan(self, entropy: int, seeds: list[int]) -> Plan:
        """Plan the experiment: its design and tasks (defined by each kind).

        Args:
            entropy: The experiment's entropy.
            seeds: One seed per replicate.

        Returns:
            The plan.
        """
        raise NotImplementedError

    def finish(
        self, out_dir: Path, plan: Plan, runs: pd.DataFrame, summary: pd.DataFrame
    ) -> tuple[dict[str, pd.DataFrame], list[str]]:
        """The experiment's own tables ({name: table}, written as `<name>.csv`) and any
        other files it wrote.

        Args:
            out_dir: The output directory.
            plan: The experiment's plan.
            runs: The runs' time series.
            summary: One row per run.

        Returns:
            The tables by name, and the names of other files written.
        """
        raise NotImplementedError

    def resolve_entropy(self, entropy: int | None, out_dir: Path | None, resume: bool) -> int:
        """The given entropy, else the default one, else (resuming) the stored, else new.

        Args:
            entropy: The entropy given, or None.
            out_dir: The output directory, or None.
            resume: Whether an earlier attempt is resumed.

        Returns:
            The entropy.
        """
        if entropy is None:
            entropy = self.default_entropy
        if resume and entropy is None:
            if out_dir is None:
                raise SpecError(
                    "--resume",
                    None,
                    "give --entropy E (or --out DIR) to find the experiment to resume",
                )
            entropy = stored_entropy(out_dir)
        return new_entropy() if entropy is None else entropy

    def run(
        self,
        *,
        out=None,
        entropy: int | None = None,
        resume: bool = False,
        overwrite: bool = False,
        workers: int | None = None,
        scheduler: str | None = None,
        progress: bool = False,
        console=None,
        argv: list[str] | None = None,
    ) -> ExperimentResult:
        """Run the experiment and write its output directory.

        Args:
            out: Output directory, or None for the default.
            entropy: Entropy of the seeds, or None (a new one, or the stored one when resuming).
            resume: Keep finished runs of an earlier attempt in `out`.
            overwrite: Replace an existing output directory.
            workers: Number of worker processes, or None for the default.
            scheduler: Dask scheduler ('local' or an address), or None for local processes.
            progress: Show progress.
            console: Rich console for the progress display, or None.
            argv: Command line recorded in the manifest, or None for `sys.argv`.

        Returns:
            The experiment's result.
        """
        validate(RunArgs, {"workers": workers, "entropy": entropy}, self.kind)
        out_dir = Path(out) if out is not None else None
        entropy = self.resolve_entropy(entropy, out_dir, resume)
        out_dir = out_dir if out_dir is not None else self.default_out(entropy)
        seeds, spawn_keys = replicate_seeds(entropy, self.replicates)
        plan = self.plan(entropy, seeds)
        argv = list(sys.argv if argv is None else argv)
        manifest = base_manifest(
            self.kind,
            plan.design,
            entropy,
            seeds,
            spawn_keys,
            argv,
            plan.tasks,
            {**plan.manifest, "executor_request": {"workers": workers, "scheduler": scheduler}},
        )
        try:
            runs, summary, manifest, stats = run_tasks(
                kind=self.kind,
                out_dir=out_dir,
                design=plan.design,
                entropy=entropy,
                tasks=plan.tasks,
                points=plan.points,
                manifest=manifest,
                resume=resume,
                overwrite=overwrite,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                console=console,
                argv=argv,
            )
            tables, written = self.finish(out_dir, plan, runs, summary)
            for name, table in tables.items():
                write_table(out_dir / f"{name}.csv", table)
            failures = write_failures(out_dir, summary)
            outputs = (
                [f"{name}.csv" for name in tables] + written + ([failures] if failures else [])
            )
            manifest = finish_manifest(out_dir, manifest, stats, outputs)
        except OSError as exc:  # a full disk or a vanished directory while writing tables
            message = f"cannot write into {out_dir}: {exc.strerror or error_text(exc)}"
            raise ExperimentAborted(message, out_dir, entropy) from None
        except ExperimentAborted as exc:
            if exc.out_dir is None:
                exc.out_dir, exc.entropy = out_dir, entropy
            raise
        return ExperimentResult(
            kind=self.kind,
            out_dir=out_dir,
            manifest=manifest,
            runs=runs,
            summary=summary,
            n_ok=stats["n_ok"],
            n_failed=stats["n_failed"],
            n_resumed=stats["resumed"],
            wall_s=stats["wall_s"],
            **tables,
        )
