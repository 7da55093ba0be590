"""Compare Ukraine and Russia: country scenarios side by side, and each country's rules
applied to the other's prisons (the policy x population matrix), with paired differences.

Everything runs in one `sim.batch` call with one entropy, so replicate r of every scenario,
every counterfactual cell and every reference uses the same seed (common random numbers,
see `sim.random`): a person who is drawn to volunteer, fail a medical or be killed under one
set of rules meets the same draws under another, and the difference between two cells of
one replicate is the effect of the rules, not seed noise. For each population the
reference is that population's own scenario (`ukraine_2024`, `russia_2022_2025`); each
cell is compared with it replicate by replicate:

    d_r = metric(cell, replicate r) - metric(reference, replicate r)

reported as the mean of d_r with a 95% t-interval (mean +/- t(0.975, n-1) sd(d)/sqrt(n)),
the 2.5th and 97.5th percentiles of the d_r, and, for contrast, the Welch interval the same
runs would give if they were not paired.

The output directory (default `results/compare/<entropy>`) holds the batch (resumable
after an interruption) and, written last, the comparison's manifest::

    manifest.json            what was compared, entropy, seeds, points, resolved scenarios
    batch/                   the sim.batch experiment (runs.parquet, summary.parquet, ...)
    comparison.csv           compared scenario x metric: n, mean, median, p2_5, p97_5
    matrix.csv               policy x population x metric: n, mean, median, p2_5, p97_5
    paired_differences.csv   population x policy x metric: paired mean difference, intervals
    offences.csv             recruits by offence category (the batch's first replicates)
    who_is_recruited.csv     shares of recruits by offence, age, sentence band, status
    observation_fit.csv      model median and 90% interval at each observation's date
    figures/*.png, *.svg     see sim.figures
    report.md, report.html   see sim.reporting
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import Field

from .counterfactual import counterfactual
from .experiments.batch import BATCH_METRICS
from .experiments.stats import paired_differences
from .experiments.template import RunArgs
from .experiments.validation import Whole, validate
from .observed_outputs import with_custody_by_status
from .reporting.labels import (
    KEY_METRICS,
    default_countries,
    default_policies,
    population_label,
    short_label,
)
from .reporting.views import describe, observation_fit, offence_composition
from .reporting.who import who_is_recruited
from .results import write_atomic_text
from .scenario import Scenario, ScenarioError, load_scenario

OFFENCE_REPLICATES = 3  # replicates per point in offences.csv (None: all)
FILES = (
    "manifest.json",
    "batch/",
    "comparison.csv",
    "matrix.csv",
    "paired_differences.csv",
    "offences.csv",
    "who_is_recruited.csv",
    "observation_fit.csv",
    "figures/",
    "report.md",
    "report.html",
)


REPORT_FILES = ("figures/", "report.md", "report.html")


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Point:
    """One scenario in the batch and what it stands for in the comparison."""

    name: str
    scenario: Scenario
    compared: bool = False  # one of the scenarios compared side by side
    policy: str | None = None  # a matrix cell: whose rules ...
    population: str | None = None  # ... on whose prisons
    reference_for: str | None = None  # the population whose own rules this is
    label: str = ""
    policy_label: str = ""  # the policy's short label (matrix cells)

    def to_dict(self, point: int) -> dict:
        """The arm as one row of the points table.

        Args:
            point: Index of the arm among the experiment's points.

        Returns:
            The arm's name, labels, role and country by column.
        """
        return {
            "point": point,
            "name": self.name,
            "label": self.label,
            "compared": self.compared,
            "policy": self.policy,
            "population": self.population,
            "reference_for": self.reference_for,
            "country": self.scenario.scenario.country,
        }


def _load(item: str | os.PathLike | Scenario) -> Scenario:
    return item if isinstance(item, Scenario) else load_scenario(item)


Exposure = Literal["equal", "historical"]
EXPOSURES: tuple[Exposure, ...] = ("equal", "historical")


def plan(
    scenarios: Sequence[str | os.PathLike | Scenario],
    policies: Sequence[str | os.PathLike | Scenario],
    populations: Sequence[str | os.PathLike | Scenario],
    exposure: Exposure = "equal",
) -> list[Point]:
    """The batch's points: compared scenarios, each population's own scenario (its
    reference), and every policy x population cell (`sim.counterfactual.counterfactual`).

    `exposure="equal"` keeps every policy in force over the population's whole horizon, so
    policies with end dates (Wagner, Storm-Z) are not compared over shorter windows;
    "historical" keeps their shifted historical windows. A policy on its own population
    keeps its own windows either way, so it reproduces that population's scenario.

    Args:
        scenarios: Scenarios compared side by side.
        policies: Scenarios whose rules are applied.
        populations: Scenarios whose populations the rules are applied to.
        exposure: "equal" or "historical" windows of the policies.

    Returns:
        The points, in order.
    """
    if exposure not in EXPOSURES:
        raise ScenarioError("compare", "exposure", f"allowed: {', '.join(EXPOSURES)}")
    compared = [_load(s) for s in scenarios]
    pops = [_load(p) for p in populations]
    pols = [_load(p) for p in policies]
    points: dict[str, Point] = {}
    for scn in compared:
        if scn.name in points:
            raise ScenarioError("compare", "scenarios", f"scenario {scn.name!r} is given twice")
        points[scn.name] = Point(scn.name, scn, compared=True, label=short_label(scn))
    for pop in pops:
        old = points.get(pop.name)
        if old is not None and old.reference_for is not None:
            raise ScenarioError("compare", "populations", f"{pop.name!r} is given twice")
        points[pop.name] = Point(
            pop.name,
            pop,
            compared=old is not None and old.compared,
            reference_for=pop.name,
            label=short_label(pop),
        )
    for pop in pops:
        for pol in pols:
            own = pol.name == pop.name
            cell = counterfactual(pol, pop, exposure="historical" if own else exposure)
            if cell.name in points:
                raise ScenarioError("compare", "policies", f"{pol.name!r} is given twice")
            points[cell.name] = Point(
                cell.name,
                cell,
                policy=pol.name,
                population=pop.name,
                label=f"{short_label(pol)} rules on {population_label(pop)}",
                policy_label=short_label(pol),
            )
    return list(points.values())


# --------------------------------------------------------------------------- the run


def _batch_table(batch, name: str) -> pd.DataFrame | None:
    """A by-group table the batch wrote (`sim.experiments.batch.by_group_tables`), or None."""
    for path in (batch.out_dir / f"{name}.parquet", batch.out_dir / f"{name}.csv"):
        if path.is_file():
            return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    return None


@dataclass
class CompareResult:
    out_dir: Path
    manifest: dict
    batch: Any  # sim.experiments.ExperimentResult of out_dir/batch
    comparison: pd.DataFrame
    matrix: pd.DataFrame
    paired: pd.DataFrame
    offences: pd.DataFrame
    fit: pd.DataFrame
    wall_s: float

    @property
    def n_ok(self) -> int:
        """Number of runs that succeeded."""
        return int(self.batch.n_ok)

    @property
    def n_failed(self) -> int:
        """Number of runs that failed."""
        return int(self.batch.n_failed)

    @property
    def n_resumed(self) -> int:
        """Number of runs taken from an earlier, resumed attempt."""
        return int(self.batch.n_resumed)

    def failures(self) -> pd.DataFrame:
        """The runs that did not succeed, with their errors.

        Returns:
            One row per failed run.
        """
        return self.batch.failures()


def check_out_dir(out_dir: Path, *, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse, before anything runs, an `--out` that is not a comparison to resume or (with
    `overwrite`) to replace, or an empty or new directory.

    Args:
        out_dir: The output directory.
        resume: Whether an earlier comparison there is resumed.
        overwrite: Whether an earlier comparison there is replaced.
    """
    from .experiments import check_out_dir as check_experiment_dir
    from .experiments.directory import read_manifest

    stored = read_manifest(out_dir) if out_dir.is_dir() else None
    if stored is not None and stored["kind"] != "compare":
        raise ScenarioError(
            out_dir, None, "exists and is not a comparison directory; choose another --out"
        )
    if stored is None and read_manifest(out_dir / "batch") is not None:
        if resume or overwrite:
            return
        raise ScenarioError(
            out_dir,
            None,
            "holds an interrupted comparison; add --resume to continue it or --overwrite to "
            "replace it (from Python: resume=True, overwrite=True), or choose another --out",
        )
    if stored is None and out_dir.is_dir() and any(out_dir.iterdir()):
        raise ScenarioError(
            out_dir, None, "exists and is not a comparison directory; choose another --out"
        )
    check_experiment_dir(out_dir, resume=resume, overwrite=overwrite)


def _samplers(points: Sequence[Point], policies, populations) -> list:
    """Each point's parameter sampler: its own (None), or a cell's (sim.uncertainty)."""
    from .uncertainty import ParameterSampler

    loaded = {s.name: s for s in (_load(x) for x in (*policies, *populations))}
    return [
        None
        if p.policy is None
        else ParameterSampler.for_counterfactual(
            p.scenario, loaded[p.policy], loaded[str(p.population)]
        )
        for p in points
    ]


def _interrupted_entropy(out_dir: Path) -> int | None:
    from .experiments.directory import stored_entropy

    return stored_entropy(out_dir) or stored_entropy(out_dir / "batch")


class CompareArgs(RunArgs):
    """What a comparison may be asked for (paired differences need two replicates)."""

    replicates: Annotated[int, Field(ge=2)]
    population: Whole | None = None
    days: Whole | None = None


@contextlib.contextmanager
def _interruptible(out_dir: Path, total: int, entropy: int) -> Iterator[None]:
    """Ctrl-C or SIGTERM, during the batch or while tables and the report are made, is an
    interruption of this comparison: the batch in `out_dir/batch` is kept for --resume."""
    from .experiments import ExperimentAborted, ExperimentInterrupted, finished_keys
    from .experiments.executors import terminate_as_interrupt

    try:
        with terminate_as_interrupt() as received:
            try:
                yield
            except KeyboardInterrupt:
                signum = received[-1] if received else signal.SIGINT
                done = len(finished_keys(out_dir / "batch" / "parts"))
                raise ExperimentInterrupted(
                    out_dir / "batch", done, total, signum, entropy
                ) from None
    except (ExperimentInterrupted, ExperimentAborted) as exc:
        exc.out_dir, exc.entropy = out_dir, entropy  # the comparison resumes, not its batch
        raise


def compare(
    scenarios: Sequence[str | os.PathLike | Scenario] | None = None,
    *,
    exposure: Exposure = "equal",
    policies: Sequence[str | os.PathLike | Scenario] | None = None,
    populations: Sequence[str | os.PathLike | Scenario] | None = None,
    replicates: int = 10,
    population: int | None = None,
    days: int | None = None,
    fixed_parameters: bool = False,
    entropy: int | None = None,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    observations: str | os.PathLike | None = None,
    offence_replicates: int | None = OFFENCE_REPLICATES,
    report: bool = True,
    progress: bool = False,
    console=None,
    argv: list[str] | None = None,
) -> CompareResult:
    """Compare scenarios (default: the two country scenarios) and run the policy x
    population matrix; write tables, figures and the report into `out`.

    `policies` and `populations` are bundled names, paths or `Scenario` objects; each
    population's own scenario is the reference of its paired differences. `population`
    sets the initial population of every run (default: each scenario's, real scale).
    The runs are one batch in `out/batch` (resumable with `resume=True`; an earlier
    comparison in `out` is replaced only with `overwrite=True`). The composition of
    recruits by offence covers the first `offence_replicates` replicates (None: all).
    `report=False` skips figures and the report. Unless `fixed_parameters`, replicate
    pairs draw parameter sets (`sim.batch`); a cell draws its population's values for
    `population.*` keys and its policy's for regime keys (`ParameterSampler.
    for_counterfactual`), so it shares replicate r's draws with both references.
    `exposure`: see `plan`.

    Args:
        scenarios: Scenarios compared (names, paths or Scenario), or None for the default.
        exposure: "equal" or "historical" windows of the policies (see `plan`).
        policies: Scenarios whose rules form the matrix rows, or None.
        populations: Scenarios whose populations form the matrix columns, or None.
        replicates: Number of replicates of every point.
        population: Initial population of every run, or None for real scale.
        days: Number of days of every run, or None for each scenario's horizon.
        fixed_parameters: Run with the scenarios' values instead of drawing parameter sets.
        entropy: Entropy of the seeds, or None for a new one (or the stored one on resume).
        out: Output directory, or None for the default.
        workers: Number of worker processes, or None for the default.
        scheduler: Dask scheduler ('local' or an address), or None for local processes.
        resume: Keep finished runs of an earlier attempt in `out`.
        overwrite: Replace an earlier comparison in `out`.
        observations: Observations file for the fit, or None for the bundled one.
        offence_replicates: Replicates covered by the offence composition (None: all).
        report: Write figures and the report.
        progress: Show progress.
        console (rich.console.Console | None): Console for the progress display.
        argv: Command line recorded in the manifest, or None for `sys.argv`.

    Returns:
        The comparison's result.
    """
    from . import experiments as ex
    from .experiments.directory import remove_own_outputs
    from .experiments.runner import write_table

    started = time.perf_counter()
    scenarios = list(default_countries() if scenarios is None or not len(scenarios) else scenarios)
    policies = default_policies() if policies is None else policies
    populations = default_countries() if populations is None else populations
    args = {"replicates": replicates, "population": population, "days": days}
    validate(CompareArgs, {**args, "workers": workers, "entropy": entropy}, "compare")
    points = plan(scenarios, policies, populations, exposure)
    if entropy is None and resume and out is not None:
        entropy = _interrupted_entropy(Path(out))
    if entropy is None:
        if resume:
            raise ScenarioError(
                "--resume", None, "give --entropy E (or --out DIR) to find the comparison"
            )
        entropy = ex.new_entropy()
    out_dir = Path(out) if out is not None else Path("results") / "compare" / str(entropy)
    check_out_dir(out_dir, resume=resume, overwrite=overwrite)
    argv = list(sys.argv if argv is None else argv)
    timings: dict[str, float] = {}
    if overwrite and not resume and out_dir.is_dir():
        remove_own_outputs(out_dir)

    with _interruptible(out_dir, len(points) * replicates, entropy):
        t0 = time.perf_counter()
        batch = ex.batch(
            [p.scenario for p in points],
            replicates=replicates,
            population=population,
            days=days,
            fixed_parameters=fixed_parameters,
            samplers=_samplers(points, policies, populations),
            entropy=entropy,
            out=out_dir / "batch",
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            progress=progress,
            console=console,
            argv=argv,
        )
        timings["batch_s"] = time.perf_counter() - t0
        summary = batch.summary
        seeds = batch.manifest["seeds"]
        if progress:
            print("compare: batch done; computing tables", flush=True)

        compared = [p.name for p in points if p.compared]
        comparison = describe(summary, compared, BATCH_METRICS)
        cells = [p for p in points if p.policy is not None]
        matrix = describe(summary, [p.name for p in cells], BATCH_METRICS)
        by_name = {p.name: p for p in cells}
        matrix.insert(0, "population", matrix["scenario"].map(lambda n: by_name[n].population))
        matrix.insert(0, "policy", matrix["scenario"].map(lambda n: by_name[n].policy))
        pairs = [
            {
                "population": p.population,
                "reference": p.population,
                "policy": p.policy,
                "scenario": p.name,
            }
            for p in cells
        ]
        paired = paired_differences(summary, pairs, BATCH_METRICS)
        offences = offence_composition(
            summary, replicates=offence_replicates, by_group=_batch_table(batch, "by_group")
        )
        who = who_is_recruited(
            _batch_table(batch, "by_group_intervals"), [p.to_dict(i) for i, p in enumerate(points)]
        )
        fit = observation_fit(
            with_custody_by_status(batch.runs),
            {p.name: p.scenario for p in points if p.compared},
            observations,
        )
        for name, df in (
            ("comparison.csv", comparison),
            ("matrix.csv", matrix),
            ("paired_differences.csv", paired),
            ("offences.csv", offences),
            ("who_is_recruited.csv", who),
            ("observation_fit.csv", fit),
        ):
            write_table(out_dir / name, df)

        from .manifest import environment

        n_offence_reps = replicates if offence_replicates is None else offence_replicates
        manifest = {
            "kind": "compare",
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "argv": argv,
            "entropy": entropy,
            "seeds": seeds,
            "seeding": "one sim.batch over every point: replicate r of every point uses "
            "seeds[r] (see batch/manifest.json)",
            "replicates": replicates,
            "population": population,
            "days": days,
            "scenarios": compared,
            "policies": list(dict.fromkeys(p.policy for p in cells)),
            "exposure": exposure,
            "policy_labels": {p.policy: p.policy_label for p in cells},
            "populations": [p.name for p in points if p.reference_for],
            "references": {p.reference_for: p.name for p in points if p.reference_for},
            "points": [p.to_dict(i) for i, p in enumerate(points)],
            "offence_replicates": min(n_offence_reps, replicates),
            "offences_match_batch": bool(offences["matches_batch"].all())
            if len(offences)
            else None,
            "observations": str(observations) if observations else "bundled",
            "n_runs": int(len(summary)),
            "n_ok": int(batch.n_ok),
            "n_failed": int(batch.n_failed),
            "n_resumed": int(batch.n_resumed),
            "executor": batch.manifest.get("executor"),
            "metrics_key": list(KEY_METRICS),
            "files": [f for f in FILES if report or f not in REPORT_FILES],
            **environment(),
            "scenario_data": {p.name: p.scenario.to_dict() for p in points},
        }
        if report:
            from .reporting.build import build_report

            t0 = time.perf_counter()
            # The report is written before the comparison's wall time is known: it gives
            # the time up to itself (the runs and tables), the manifest the whole.
            manifest["wall_s_before_report"] = round(t0 - started, 3)
            if progress:
                print("compare: drawing figures and writing the report", flush=True)
            build_report(out_dir, manifest=manifest)
            timings["report_s"] = time.perf_counter() - t0
        wall = time.perf_counter() - started
        manifest["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        manifest["wall_s"] = round(wall, 3)
        # Written last: a directory with this manifest holds a complete comparison.
        write_atomic_text(
            out_dir / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n"
        )
        return CompareResult(
            out_dir=out_dir,
            manifest=manifest,
            batch=batch,
            comparison=comparison,
            matrix=matrix,
            paired=paired,
            offences=offences,
            fit=fit,
            wall_s=time.perf_counter() - started,
        )
