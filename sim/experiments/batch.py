"""Batches: each of several scenarios run R times, every summary metric reported with its
mean, median and 95% interval over replicates (`prisonflow batch`, `sim.batch`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import pandas as pd

from .. import by_group
from ..counterfactual import EFFECT_METRICS
from ..scenario import Scenario, apply_overrides, load_scenario, validate_raw
from ..uncertainty import ParameterSampler
from .directory import jsonable, scenario_digest
from .errors import SpecError
from .runner import write_table
from .stats import SEEDS_PER_DRAW, interval_table, variance_shares
from .store import BY_GROUP_DIR
from .tasks import ENGINES, SUMMARY_METRICS, Task, scenario_data
from .template import (
    Experiment,
    ExperimentResult,
    Plan,
    points_frame,
    run_options,
)
from .validation import StrictModel, Whole, validate

# Summary metrics of a batch's runs: every run's, and the effect of recruitment against
# each run's no-recruitment baseline (same seed; `sim.counterfactual`).
BATCH_METRICS = (*SUMMARY_METRICS, *EFFECT_METRICS)
BY_GROUP_FILES = ("by_group.parquet", "by_group_intervals.csv")


def intervals(summary: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Per scenario (design point) and metric: n, mean, median, 2.5th (`low`) and 97.5th
    (`high`) percentile over the replicates that finished.

    Args:
        summary: The experiment's summary, one row per run.
        metrics: Metrics to summarize, or None for every batch metric present.

    Returns:
        One row per scenario and metric.
    """
    metrics = list(metrics or [c for c in BATCH_METRICS if c in summary.columns])
    pairs = summary[["point", "scenario"]].drop_duplicates()
    groups = zip(pairs["point"], pairs["scenario"], strict=True)
    return interval_table(summary, ["point", "scenario"], groups, metrics)


class BatchArgs(StrictModel):
    """What a batch of runs may be asked for."""

    replicates: Whole
    population: Whole | None = None
    days: Whole | None = None
    engine: Literal[ENGINES] = "vector"  # type: ignore[valid-type]

    allowed: ClassVar[dict[str, str]] = {"engine": f"allowed: {', '.join(ENGINES)}"}


class Batch(Experiment):
    """Scenarios x replicates, with common overrides."""

    kind = "batch"

    def __init__(
        self,
        scenarios,
        *,
        replicates,
        overrides,
        engine,
        population,
        days,
        fixed_parameters=False,
        samplers=None,
        record_people=False,
    ):
        if isinstance(scenarios, str | os.PathLike | Scenario):
            scenarios = [scenarios]
        scenarios = list(scenarios)
        if not scenarios:
            raise SpecError("batch", "scenarios", "give at least one scenario")
        args = {"replicates": replicates, "population": population, "days": days}
        validate(BatchArgs, {**args, "engine": engine}, "batch")
        if record_people and engine != "vector":
            raise SpecError("batch", "record_people", "available with the vector engine only")
        self.record_people = bool(record_people)
        self.overrides = dict(overrides or {})
        self.replicates, self.engine = replicates, engine
        self.population, self.days = population, days
        # (what the design records: a name/path, or a Scenario's name) and the resolved one
        self.loaded: list[tuple[str, Scenario]] = []
        for s in scenarios:
            if isinstance(s, Scenario):
                file = s.source_file or "<scenario>"
                raw = {k: v for k, v in s.to_dict().items() if k != "source_file"}
                scn = validate_raw(apply_overrides(raw, self.overrides, file), file)
                self.loaded.append((s.name, scn))
            else:
                self.loaded.append((str(s), load_scenario(s, self.overrides)))
        self.names = [scn.name for _, scn in self.loaded]
        # One parameter set per replicate (posterior-predictive), unless fixed; keys given
        # as overrides stay at their given values.
        self.fixed_parameters = fixed_parameters
        given = list(samplers) if samplers is not None else [None] * len(self.loaded)
        self.samplers = [
            (g or ParameterSampler.for_scenario(scn)).without(self.overrides)
            for g, (_, scn) in zip(given, self.loaded, strict=True)
        ]
        self.drawing = not fixed_parameters and any(s.keys for s in self.samplers)
        dup = next((n for n in self.names if self.names.count(n) > 1), None)
        if dup:
            raise SpecError("batch", "scenarios", f"scenario {dup!r} is given twice")

    def default_out(self, entropy: int) -> Path:
        """Default output directory of the batch: results/batch/<names>-<entropy>.

        Args:
            entropy: The batch's entropy.

        Returns:
            The directory path.
        """
        return Path("results") / "batch" / f"{'+'.join(self.names)}-{entropy}"

    def plan(self, entropy: int, seeds: list[int]) -> Plan:
        """Plan the batch: its design (for the manifest) and one task per scenario and replicate.

        Args:
            entropy: The batch's entropy.
            seeds: One seed per replicate, shared by every scenario.

        Returns:
            The plan.
        """
        design = jsonable(
            {
                "scenarios": [src for src, _ in self.loaded],
                "scenario_sha256": [scenario_digest(scn) for _, scn in self.loaded],
                "overrides": self.overrides,
                "replicates": self.replicates,
                "engine": self.engine,
                "population": self.population,
                "days": self.days,
                **self.parameters_design(),
                # recorded only when asked, so earlier batches resume as before
                **({"record_people": True} if self.record_people else {}),
            }
        )
        tasks = [
            Task(
                p,
                r,
                seeds[r],
                scenario_data(scn),
                {},
                self.engine,
                self.population,
                self.days,
                self.draw(sampler, seeds, r),
                self.record_people,
                batch_outputs=True,
            )
            for p, ((_, scn), sampler) in enumerate(zip(self.loaded, self.samplers, strict=True))
            for r in range(self.replicates)
        ]
        n = len(self.loaded)
        points = points_frame(self.names, {k: [v] * n for k, v in self.overrides.items()})
        return Plan(design, tasks, points, {"scenarios": self.names})

    def draw(self, sampler: ParameterSampler, seeds: list[int], replicate: int) -> dict:
        """Replicate r's parameter set: drawn with the seed of the first replicate of its
        group of SEEDS_PER_DRAW (each draw runs with that many seeds; variance shares).

        Args:
            sampler: The scenario's parameter sampler.
            seeds: One seed per replicate.
            replicate: The replicate.

        Returns:
            The drawn values by dotted key ({} when not drawing).
        """
        if not self.drawing:
            return {}
        return sampler.draw(seeds[replicate - replicate % SEEDS_PER_DRAW])

    def parameters_design(self) -> dict:
        """What the design records about parameters (nothing when none are drawn).

        Returns:
            The sampling, the drawn keys and posterior digests ({} when none are drawn).
        """
        if not self.drawing:
            return {}
        files: dict[str, str] = {}
        for sampler in self.samplers:
            files.update(sampler.digest())
        return {
            "parameters": f"posterior-predictive, {SEEDS_PER_DRAW} seeds per draw",
            "drawn": {n: list(s.keys) for n, s in zip(self.names, self.samplers, strict=True)},
            "posterior_sha256": files,
        }

    def finish(self, out_dir, plan, runs, summary):
        """Tables derived from the run summary: intervals, and variance shares when drawing
        parameters; and the by-group tables (`by_group_tables`).

        Args:
            out_dir: The output directory.
            plan: The batch's plan.
            runs: The runs.
            summary: One row per run.

        Returns:
            The tables by name, and extra files written (the by-group tables).
        """
        tables = {"intervals": intervals(summary)}
        if self.drawing:
            tables["variance_shares"] = variance_shares(summary)
        return tables, by_group_tables(Path(out_dir), plan.tasks, summary)


def by_group_runs(out_dir: Path, tasks: Sequence[Task], summary: pd.DataFrame) -> pd.DataFrame:
    """The by-group tables of the runs that finished (`by_group/<key>.parquet`, stored
    with each run), one after another with the run's point, scenario, replicate and seed.

    Args:
        out_dir: The experiment directory.
        tasks: The experiment's tasks.
        summary: One row per run.

    Returns:
        The rows; empty when no run stored a table (an engine without a recruits table).
    """
    keys = {(t.point, t.replicate): t.key for t in tasks}
    ok = summary.loc[summary["status"] == "ok", ["point", "scenario", "replicate", "seed"]]
    frames = []
    for point, scenario, replicate, seed in ok.itertuples(index=False):
        path = out_dir / BY_GROUP_DIR / f"{keys[(point, replicate)]}.parquet"
        if path.is_file():  # runs stored before by-group tables existed have none
            ids = {"point": point, "scenario": scenario, "replicate": replicate, "seed": seed}
            frames.append(pd.read_parquet(path).assign(**ids))
    cols = ["point", "scenario", "replicate", "seed", *by_group.COLUMNS]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def by_group_tables(out_dir: Path, tasks: Sequence[Task], summary: pd.DataFrame) -> list[str]:
    """Write `by_group.parquet` (every run's by-group table) and `by_group_intervals.csv`
    (per scenario and key over replicates: count mean, median, 5th and 95th percentile,
    share median and percentiles; `sim.by_group.intervals`) when runs stored them.

    Args:
        out_dir: The experiment directory.
        tasks: The experiment's tasks.
        summary: One row per run.

    Returns:
        The names of the files written ([] when no run had a table).
    """
    per_run = by_group_runs(out_dir, tasks, summary)
    if not len(per_run):
        return []
    write_table(out_dir / BY_GROUP_FILES[0], per_run)
    write_table(out_dir / BY_GROUP_FILES[1], by_group.intervals(per_run))
    return list(BY_GROUP_FILES)


def batch(
    scenarios: str | os.PathLike | Scenario | Sequence[str | os.PathLike | Scenario],
    *,
    replicates: int = 10,
    overrides: dict | None = None,
    engine: str = "vector",
    population: int | None = None,
    days: int | None = None,
    fixed_parameters: bool = False,
    samplers: Sequence[ParameterSampler | None] | None = None,
    record_people: bool = False,
    entropy: int | None = None,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    console=None,
    argv: list[str] | None = None,
) -> ExperimentResult:
    """Run each scenario `replicates` times; summarize every metric over replicates.

    Scenarios are bundled names, TOML paths or `Scenario` objects; `overrides` (dotted keys)
    apply to all of them. Replicate r of every scenario uses the same seed and, unless
    `fixed_parameters`, the same parameter draw (posterior-predictive: one parameter set per
    pair of replicates from each scenario's priors and posterior files, `sim.uncertainty`;
    `samplers` replaces a scenario's own, e.g. a counterfactual's; the drawn values are
    the summary's `param.<key>` columns, and `variance_shares` splits the variance of the
    headline metrics into parameters and noise). `workers=1` runs
    in this process, more use a process pool (default: one per CPU); `scheduler="local"`
    starts a Dask LocalCluster, an address uses a running Dask scheduler. Writes the
    experiment directory (default `results/batch/<names>-<entropy>`; an existing one is
    continued with `resume=True` or replaced with `overwrite=True`, else refused) and
    returns its tables: `runs`, `summary`, `intervals` (and `variance_shares`).
    `record_people=True` (vector engine) also writes each run's per-person events to
    `people/<part key>.parquet`.

    Args:
        scenarios: One scenario or several (names, paths or Scenario objects).
        replicates: Number of replicates of each scenario.
        overrides: Values by dotted key, applied to every scenario, or None.
        engine: Simulation engine.
        population: Initial population of every run, or None for each scenario's.
        days: Number of days of every run, or None for each scenario's horizon.
        fixed_parameters: Run with the scenarios' values instead of drawing parameter sets.
        samplers: One sampler (or None for its own) per scenario, or None.
        record_people: Also write each run's per-person events.
        entropy: Entropy of the seeds, or None for a new one (or the stored one on resume).
        out: Output directory, or None for the default.
        workers: Number of worker processes, or None for one per CPU.
        scheduler: Dask scheduler ('local' or an address), or None.
        resume: Continue an existing experiment directory.
        overwrite: Replace an existing experiment directory.
        progress: Show progress.
        console (rich.console.Console | None): Console for the progress display.
        argv: Command line recorded in the manifest, or None for `sys.argv`.

    Returns:
        The experiment's result.
    """
    experiment = Batch(
        scenarios,
        replicates=replicates,
        overrides=overrides,
        engine=engine,
        population=population,
        days=days,
        fixed_parameters=fixed_parameters,
        samplers=samplers,
        record_people=record_people,
    )
    return experiment.run(**run_options(locals()))
