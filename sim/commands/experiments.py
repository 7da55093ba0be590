"""Experiment commands: batch, sweep and compare (many runs, resumable)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, cast

import typer

from .. import ENGINES
from ..scenario import ScenarioError
from .common import (
    DaysOpt,
    EngineOpt,
    FixedParametersOpt,
    PopulationOpt,
    RecordPeopleOpt,
    SetOpt,
    UsageError,
    WorkersOpt,
    _wide,
    app,
    console,
    fail,
    parse_overrides,
)


def _experiment_done(result, files: str, failures_dir: Path | None = None) -> None:
    """After an experiment: the first failure (if any) and a one-line summary; exit 1 with
    one line on stderr when any run failed (where the errors are recorded)."""
    failures = result.failures()
    if len(failures):
        first = failures.iloc[0]
        console.print(
            f"first failure: point {first['point']}, replicate {first['replicate']}: "
            f"{first['error']}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    resumed = f" ({result.n_resumed} from earlier parts)" if result.n_resumed else ""
    console.print(
        f"{result.n_ok} runs ok, {result.n_failed} failed{resumed}, wall "
        f"{result.wall_s:.1f} s; wrote {result.out_dir}/ ({files})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if result.n_failed:
        where = failures_dir or result.out_dir
        print(
            f"prisonflow: {result.n_failed} of {result.n_ok + result.n_failed} runs failed; "
            f"errors in {where}/failures.csv (and the error column of {where}/summary.parquet)",
            file=sys.stderr,
        )
        raise typer.Exit(1)


def resume_command(argv: list[str], out_dir: Path | None, entropy: int | None) -> str:
    """The command that continues an interrupted experiment: this one's arguments (shell
    quoted) with --resume, and --out and --entropy when they were not given."""
    import shlex

    args = [a for a in argv[1:] if a not in ("--resume", "--overwrite")]

    def given(option: str) -> bool:
        """Whether the option was given on the command line (alone or as `option=value`)."""
        return any(a == option or a.startswith(option + "=") for a in args)

    if out_dir is not None and not given("--out"):
        args += ["--out", str(out_dir)]
    if entropy is not None and not given("--entropy"):
        args += ["--entropy", str(entropy)]
    return shlex.join(["prisonflow", *args, "--resume"])


def _run_experiment(run):
    """Call `run()`; input errors exit 2, an interrupt 128 + signal and a broken executor
    or a failed write 1, each with one line (and a resume command that works pasted)."""
    from .. import experiments as ex

    try:
        return run()
    except (ScenarioError, UsageError) as exc:
        fail(str(exc))
    except ex.ExperimentInterrupted as exc:
        hint = resume_command(sys.argv, exc.out_dir, exc.entropy)
        print(f"prisonflow: {exc}; continue with: {hint}", file=sys.stderr)
        raise typer.Exit(128 + exc.signum) from None
    except ex.ExperimentAborted as exc:
        tail = ""
        if exc.out_dir is not None:
            tail = f"; continue with: {resume_command(sys.argv, exc.out_dir, exc.entropy)}"
        print(f"prisonflow: error: {exc}{tail}", file=sys.stderr)
        raise typer.Exit(1) from None


SCHEDULER_HELP = (
    "Send the runs to a Dask cluster: a scheduler address, or 'local' to start a "
    "LocalCluster of --workers processes."
)
RESUME_HELP = (
    "Continue an interrupted experiment in --out (same design and entropy): "
    "runs already stored are skipped."
)
OVERWRITE_HELP = (
    "Replace an earlier experiment in --out (only the files it wrote are removed); "
    "without it an existing experiment is refused."
)
ExperimentOverwriteOpt = Annotated[bool, typer.Option("--overwrite", help=OVERWRITE_HELP)]
SchedulerOpt = Annotated[str | None, typer.Option(help=SCHEDULER_HELP)]
ResumeOpt = Annotated[bool, typer.Option("--resume", help=RESUME_HELP)]


def _runner_options(workers, scheduler, resume, overwrite) -> dict:
    """What every experiment command passes its runner: where and how to run, progress as
    a bar on a terminal and plain lines otherwise, and argv for the resume hint."""
    return dict(
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        overwrite=overwrite,
        progress=True,
        console=console,
        argv=sys.argv,
    )


def print_variance_shares(result, scenarios=None) -> None:
    """The variance shares of a posterior-predictive batch (nothing for fixed parameters)."""
    from ..experiments.tables import variance_shares_table

    if result.variance_shares is not None and len(result.variance_shares):
        _wide(console).print(variance_shares_table(result.variance_shares, scenarios))


@app.command("batch")
def batch_cmd(
    scenarios: Annotated[
        list[str], typer.Argument(help="Bundled scenario names or paths to TOML files.")
    ],
    replicates: Annotated[
        int,
        typer.Option(min=1, help="Runs per scenario; replicate r of every scenario shares a seed."),
    ] = 10,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    engine: EngineOpt = "vector",
    population: PopulationOpt = None,
    days: DaysOpt = None,
    set_: SetOpt = None,
    fixed_parameters: FixedParametersOpt = False,
    entropy: Annotated[
        int | None,
        typer.Option(min=0, help="Seed entropy (default: random; kept in the manifest)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Experiment directory (default: results/batch/<names>-<entropy>)."),
    ] = None,
    resume: ResumeOpt = False,
    overwrite: ExperimentOverwriteOpt = False,
    record_people: RecordPeopleOpt = False,
) -> None:
    """Run scenarios many times; print and save mean, median and 95% interval per metric."""
    from .. import experiments as ex

    if engine not in ENGINES:
        fail(f"--engine: unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    try:
        overrides = parse_overrides(set_)
    except UsageError as exc:
        fail(str(exc))
    result = _run_experiment(
        lambda: ex.batch(
            scenarios,
            replicates=replicates,
            overrides=overrides,
            engine=engine,
            population=population,
            days=days,
            record_people=record_people,
            fixed_parameters=fixed_parameters,
            entropy=entropy,
            out=out,
            **_runner_options(workers, scheduler, resume, overwrite),
        )
    )
    _wide(console).print(ex.intervals_table(result))
    print_variance_shares(result)
    shares = ", variance_shares.csv" if result.variance_shares is not None else ""
    people = ", people/ (one file per run)" if record_people else ""
    files = "manifest.json, parts/, runs.parquet, summary.parquet, intervals.csv"
    by_group = "by_group.parquet" in result.manifest.get("files", [])
    groups = ", by_group/, by_group.parquet, by_group_intervals.csv" if by_group else ""
    _experiment_done(result, files + shares + groups + people)


@app.command("sweep")
def sweep_cmd(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (TOML); see scenarios/sweeps/.")],
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    entropy: Annotated[
        int | None,
        typer.Option(
            min=0, help="Seed entropy (default: the spec's, else random; kept in the manifest)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Experiment directory (default: results/sweeps/<spec>-<entropy>)."),
    ] = None,
    resume: ResumeOpt = False,
    overwrite: ExperimentOverwriteOpt = False,
) -> None:
    """Run a sensitivity sweep (grid, LHS, Sobol or Morris); print and save the indices."""
    from .. import experiments as ex

    result = _run_experiment(
        lambda: ex.sweep(
            spec,
            out=out,
            entropy=entropy,
            **_runner_options(workers, scheduler, resume, overwrite),
        )
    )
    wide = _wide(console)
    if result.spec.method == "grid":
        table = ex.points_table(result)
        if table is not None:
            wide.print(table)
    wide.print(ex.indices_table(result))
    _experiment_done(
        result,
        "manifest.json, parts/, runs.parquet, summary.parquet, point_means.csv, indices.csv",
    )


@app.command("compare")
def compare_cmd(
    scenarios: Annotated[
        list[str] | None,
        typer.Argument(help="Scenarios to compare (default: ukraine_2024 russia_2022_2025)."),
    ] = None,
    replicates: Annotated[
        int,
        typer.Option(min=2, help="Runs per scenario; replicate r of every scenario shares a seed."),
    ] = 10,
    population: Annotated[
        int | None,
        typer.Option(min=1, help="Initial population of every run (default: real scale)."),
    ] = None,
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    fixed_parameters: FixedParametersOpt = False,
    entropy: Annotated[
        int | None,
        typer.Option(min=0, help="Seed entropy (default: random; kept in the manifest)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: results/compare/<entropy>).")
    ] = None,
    resume: ResumeOpt = False,
    overwrite: ExperimentOverwriteOpt = False,
    exposure: Annotated[
        str,
        typer.Option(
            help="equal: every policy in force over the population's whole horizon; "
            "historical: each policy's own (shifted) windows."
        ),
    ] = "equal",
) -> None:
    """Compare Ukraine and Russia, and each country's rules on the other's prisons."""
    from .. import compare as cmp
    from ..compare import Exposure
    from ..reporting import views

    result = _run_experiment(
        lambda: cmp.compare(
            scenarios or None,
            exposure=cast(Exposure, exposure),  # checked by compare.plan: one line, exit 2
            replicates=replicates,
            population=population,
            fixed_parameters=fixed_parameters,
            entropy=entropy,
            out=out,
            **_runner_options(workers, scheduler, resume, overwrite),
        )
    )
    wide = _wide(console)
    wide.print(views.comparison_table(result))
    print_variance_shares(result.batch, result.manifest["scenarios"])
    wide.print(views.matrix_table(result))
    wide.print(views.paired_table(result))
    fit = result.fit
    if len(fit):
        console.print(
            f"observations: {int(fit['inside'].astype(bool).sum())} of {len(fit)} consistent "
            "with the model's 90% interval (see the report)",
            highlight=False,
        )
    _experiment_done(
        result,
        "report.html, report.md, figures/, comparison.csv, matrix.csv, "
        "paired_differences.csv, who_is_recruited.csv, batch/",
        failures_dir=result.out_dir / "batch",
    )
