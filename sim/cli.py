"""Command-line interface (`prisonflow`, or `python -m sim`): a thin layer over the library.

Every input error ends the program with exit status 2 and one line on stderr naming the
file, the key and what is allowed; no traceback, and nothing half-written on disk.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from . import ENGINES, __version__
from .manifest import run_manifest
from .reporting.views import summary_table
from .scenario import (
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    parse_value,
    scenarios_dir,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Simulate prison-to-army recruitment flows under Ukrainian and Russian rules.",
)
# Wide enough for tables when output goes to a file or pipe (rich would assume 80).
console = Console(width=None if sys.stdout.isatty() else 140)

# Options shared by several commands; bounds are checked here (typer min=), once.
EngineOpt = Annotated[str, typer.Option(help="vector (numpy core) or agents (Mesa).")]
SeedOpt = Annotated[int, typer.Option(min=0, help="Random seed (a whole number >= 0).")]
PopulationOpt = Annotated[
    int | None, typer.Option(min=1, help="Initial population (default: the scenario's).")
]
DaysOpt = Annotated[
    int | None,
    typer.Option(min=1, help="Days to simulate (default: to the scenario's end_date)."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a scenario key: dotted.key=value (repeatable)."),
]


OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace --out if it holds earlier prisonflow output (never other files).",
    ),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Run even if the run is estimated not to fit in memory."),
]
RecordPeopleOpt = Annotated[
    bool,
    typer.Option(
        "--record-people",
        help="Also write the per-person events (run: people.parquet; batch: people/, one file "
        "per run): one row per person who applied, with the days of application, contract, "
        "deployment and exit and the outcome (vector engine).",
    ),
]
ExtendOpt = Annotated[
    bool,
    typer.Option("--extend", help="Allow --days to run past the scenario's end_date."),
]


class UsageError(Exception):
    """Bad command-line input (reported as one line, exit 2)."""


def fail(message: str) -> NoReturn:
    """Report an input error on one line and exit with status 2."""
    print(f"prisonflow: error: {message}", file=sys.stderr)
    raise typer.Exit(2)


def parse_overrides(pairs: list[str] | None) -> dict:
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--set {pair!r}: expected key=value, e.g. scenario.end_date=2025-01-31"
            )
        out[key.strip()] = parse_value(value.strip())
    return out


@app.command("scenarios")
def scenarios_cmd() -> None:
    """List the bundled scenarios."""
    table = Table(show_header=True, header_style="bold")
    # Names are what users type next: never truncate them (output may be a narrow pipe).
    table.add_column("name", no_wrap=True, min_width=max(map(len, bundled_scenarios()), default=4))
    table.add_column("country")
    table.add_column("period", no_wrap=True, min_width=24)
    table.add_column("title")
    if not bundled_scenarios():
        fail(f"{scenarios_dir()}: no bundled scenarios found; the installation is incomplete")
    for name in bundled_scenarios():
        try:
            s = load_scenario(name)
        except ScenarioError as exc:
            fail(str(exc))
        m = s.scenario
        table.add_row(name, m.country, f"{m.start_date} to {m.end_date}", m.title)
    console.print(table)


def warn(message: str) -> None:
    print(f"prisonflow: warning: {message}", file=sys.stderr)


def warn_if_extended(scn: Scenario, days: int | None) -> None:
    if days is not None and days > scn.n_days:
        last = scn.scenario.start_date + dt.timedelta(days=days - 1)
        warn(
            f"--extend: running {days} days to {last}, past the scenario's end_date "
            f"{scn.scenario.end_date}; regimes without an end date keep recruiting"
        )


@app.command("run")
def run_cmd(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or path to a TOML file.")],
    engine: EngineOpt = "vector",
    seed: SeedOpt = 0,
    population: PopulationOpt = None,
    days: DaysOpt = None,
    set_: SetOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output directory (default: "
            + "results/runs/NAME-ENGINE-seedN[-popN][-daysN]-DIGEST, DIGEST naming the resolved "
            "scenario with its --set overrides" + ")."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    extend: ExtendOpt = False,
    force: ForceOpt = False,
    record_people: RecordPeopleOpt = False,
) -> None:
    """Run one scenario; write manifest.json, timeseries.parquet and summary.csv."""
    import sim

    from .results import default_output_dir, prepare_output_dir, write_run

    if engine not in ENGINES:
        fail(f"--engine: unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    if record_people and engine != "vector":
        fail("--record-people: available with --engine vector only")
    try:
        scn = load_scenario(scenario, parse_overrides(set_))
        scn.horizon_days(days, extend)
        labels = [engine, f"seed{seed}"]
        labels += [f"pop{population}"] if population else []
        labels += [f"days{days}"] if days else []
        out = prepare_output_dir(out or default_output_dir("runs", scn, *labels), overwrite)
        warn_if_extended(scn, days)
        started = time.time()
        with console.status(f"running {scn.name} ({engine} engine)...", spinner="dots"):
            result = sim.run(
                scn,
                engine=engine,
                seed=seed,
                population=population,
                days=days,
                extend=extend,
                force=force,
                record_people=record_people,
            )
        manifest = run_manifest(scn, result, argv=sys.argv, started=started)
        write_run(result, out, manifest, overwrite)
    except (ScenarioError, UsageError) as exc:
        fail(str(exc))
    except MemoryError:
        fail(f"{scn.source_file}: population: ran out of memory (--force); use a smaller one")
    except KeyboardInterrupt:
        print("prisonflow: interrupted; nothing written", file=sys.stderr)
        raise typer.Exit(130) from None
    last = result.timeseries["date"].iloc[-1]
    title = (
        f"{scn.name}: {scn.scenario.start_date} to {last:%Y-%m-%d}, "
        f"{result.n_agents:,} people, {engine} engine, seed {seed}"
    )
    console.print(summary_table(title, {scn.name: result.summary}))
    people = ", people.parquet" if record_people else ""
    console.print(f"wrote {out}/ (manifest.json, timeseries.parquet, summary.csv{people})")


@app.command("bench")
def bench_cmd(
    quick: Annotated[
        bool, typer.Option(help="Skip the 10^7-agent run and the Mesa comparison.")
    ] = False,
    out: Annotated[Path, typer.Option(help="Directory for the JSON report.")] = Path(
        "results/bench"
    ),
) -> None:
    """Measure engine speed, memory and scaling on this machine; write results/bench/*.json."""
    from . import bench
    from .results import check_can_write_into

    try:
        check_can_write_into(out)
        sizes = [10_000, 100_000, 1_000_000] + ([] if quick else [10_000_000])
        report = bench.run_benchmarks(sizes, with_engines=not quick, progress=console.log)
        path = bench.write_report(report, out)
    except ScenarioError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{out}: --out: cannot write: {exc.strerror or exc}")

    table = Table(
        title=f"scale: {bench.BENCH_SCENARIO}, {bench.BENCH_DAYS} days", title_justify="left"
    )
    for col in (
        "agents (initial)",
        "agents (total)",
        "wall s",
        "agent-days/s",
        "peak RSS MiB",
        "bytes/agent",
    ):
        table.add_column(col, justify="right")
    for r in report["scale"]:
        table.add_row(
            f"{r['agents_initial']:,}",
            f"{r['agents_total']:,}",
            f"{r['wall_s']:.3f}",
            bench._fmt_rate(r["agent_days_per_s"]),
            f"{r['peak_rss_mib']:,.0f}",
            f"{r['bytes_per_agent']:.0f}",
        )
    console.print(table)
    prof = Table(title="profile (10^6 agents, median, seconds)", title_justify="left")
    for phase in report["profile"]:
        prof.add_column(phase, justify="right")
    prof.add_row(*(f"{v:.3f}" for v in report["profile"].values()))
    console.print(prof)
    if "engines" in report:
        e = report["engines"]
        console.print(
            f"engines ({e['people']:,} people, {e['days']} days): vector "
            f"{e['vector']['wall_s']:.3f} s, Mesa {e['agents']['wall_s']:.1f} s; vector is "
            f"{e['vector_over_agents']:,.0f}x faster per agent-day"
            + (
                f" ({e['vector_1e6_over_agents']:,.0f}x with the vector engine at 10^6 people)"
                if "vector_1e6_over_agents" in e
                else ""
            )
        )
    sw = report["sweep"]
    console.print(
        f"sweep: {sw['runs']} {sw['scenario']} runs (real scale) through the batch runner on "
        f"{sw['workers']} workers in {sw['wall_s']:.1f} s = {sw['runs_per_s']:.1f} runs/s"
    )
    verdict = Table(title="targets", title_justify="left")
    for col in ("target", "goal", "measured", ""):
        verdict.add_column(col)
    for row in bench.verdicts(report):
        verdict.add_row(*row)
    console.print(verdict)
    console.print(f"wrote {path}")


def _wide(con: Console) -> Console:
    """Wide tables stay readable when stdout is a file or a pipe (rich assumes 80 columns)."""
    return con if con.is_terminal else Console(width=max(con.width, 200))


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
        return any(a == option or a.startswith(option + "=") for a in args)

    if out_dir is not None and not given("--out"):
        args += ["--out", str(out_dir)]
    if entropy is not None and not given("--entropy"):
        args += ["--entropy", str(entropy)]
    return shlex.join(["prisonflow", *args, "--resume"])


def _run_experiment(run):
    """Call `run()`; input errors exit 2, an interrupt 128 + signal and a broken executor
    or a failed write 1, each with one line (and a resume command that works pasted)."""
    from . import experiments as ex

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


WORKERS_HELP = "Worker processes (default: one per CPU; 1 runs in this process, no pool)."
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
WorkersOpt = Annotated[int | None, typer.Option(min=1, help=WORKERS_HELP)]
SchedulerOpt = Annotated[str | None, typer.Option(help=SCHEDULER_HELP)]
ResumeOpt = Annotated[bool, typer.Option("--resume", help=RESUME_HELP)]


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
    from . import experiments as ex

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
            entropy=entropy,
            out=out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            overwrite=overwrite,
            progress=True,  # a bar on a terminal, plain lines otherwise
            console=console,
            argv=sys.argv,
        )
    )
    _wide(console).print(ex.intervals_table(result))
    people = ", people/ (one file per run)" if record_people else ""
    files = "manifest.json, parts/, runs.parquet, summary.parquet, intervals.csv" + people
    _experiment_done(result, files)


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
    from . import experiments as ex

    result = _run_experiment(
        lambda: ex.sweep(
            spec,
            out=out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            overwrite=overwrite,
            entropy=entropy,
            progress=True,  # a bar on a terminal, plain lines otherwise
            console=console,
            argv=sys.argv,
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


@app.command("calibrate")
def calibrate_cmd(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or TOML path.")],
    params: Annotated[
        list[str],
        typer.Option("--params", help="Parameter to fit: dotted.key[=low:high] (repeatable)."),
    ],
    observations: Annotated[
        Path | None, typer.Option(help="Observations CSV (default: the bundled file).")
    ] = None,
    particles: Annotated[int, typer.Option(min=10, help="Particles per ABC round.")] = 200,
    rounds: Annotated[int, typer.Option(min=1, help="ABC-SMC rounds.")] = 4,
    seed: SeedOpt = 0,
    population: PopulationOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output directory (default: " + "results/calibration/NAME-seedN-DIGEST" + ")."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Fit parameters to observations (ABC-SMC); write estimates, fit and a scenario variant."""
    from . import calibration
    from .results import default_output_dir, prepare_output_dir

    try:
        scn = load_scenario(scenario)
        plist = [calibration.parse_param(p, scn) for p in params]
        targets = calibration.targets_for(scn, observations, fitting=True)
        design = {"params": params, "particles": particles, "rounds": rounds}
        design |= {"population": population, "observations": str(observations or "")}
        default = default_output_dir("calibration", scn, f"seed{seed}", extra=design)
        out = prepare_output_dir(out or default, overwrite)
    except ScenarioError as exc:
        fail(str(exc))
    command = " ".join(
        ["prisonflow", "calibrate", scenario, *(f"--params {p}" for p in params)]
        + [f"--particles {particles}", f"--rounds {rounds}", f"--seed {seed}"]
        + ([f"--population {population}"] if population else [])
        + ([f"--observations {observations}"] if observations else [])
    )
    try:
        result = calibration.run_calibration(
            scn,
            plist,
            targets,
            out,
            command,
            overwrite=overwrite,
            particles=particles,
            rounds=rounds,
            seed=seed,
            population=population,
            progress=console.log,
        )
    except ScenarioError as exc:
        fail(str(exc))
    table = Table(
        title=f"{scn.name}: fitted parameters ({result['runs']} runs)", title_justify="left"
    )
    for col in ("parameter", "prior", "fitted", "posterior median", "90% interval"):
        table.add_column(col)
    for r in result["estimates"].itertuples():
        table.add_row(
            r.parameter,
            f"[{r.prior_low:g}, {r.prior_high:g}]",
            f"{r.fitted:.4g}",
            f"{r.median:.4g}",
            f"[{r.p05:.4g}, {r.p95:.4g}]",
        )
    console.print(table)
    console.print(validation_table(result["fit"], "fit at the fitted values (20 runs)"))
    console.print(
        f"wrote {out}/ (estimates.csv, particles.csv, fit.csv, {scn.name}_calibrated.toml)"
    )


def validation_table(fit, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("date", "metric", "observed", "kind", "model median", "model 90%", "inside"):
        table.add_column(col)
    sign = {"at_least": ">= ", "up_to": "<= ", "about": "~", "exact": ""}
    for r in fit.itertuples():
        table.add_row(
            f"{r.date:%Y-%m-%d}",
            r.metric,
            f"{sign.get(r.qualifier, '')}{r.value:,.0f}",
            r.kind,
            f"{r.model_median:,.0f}",
            f"[{r.model_p05:,.0f}, {r.model_p95:,.0f}]",
            "yes" if r.inside else "NO",
        )
    return table


@app.command("validate")
def validate_cmd(
    scenario: Annotated[str, typer.Argument(help="Bundled scenario name or TOML path.")] = (
        "ukraine_2024"
    ),
    replicates: Annotated[int, typer.Option(min=2, help="Replicates.")] = 20,
    observations: Annotated[
        Path | None, typer.Option(help="Observations CSV (default: the bundled file).")
    ] = None,
    population: PopulationOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output directory (default: " + "results/validation/NAME-repN-DIGEST" + ")."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Model against every observation: median and 90% interval, flagging misses."""
    from . import calibration
    from .results import default_output_dir, prepare_output_dir

    try:
        scn = load_scenario(scenario)
        labels = [f"rep{replicates}"] + ([f"pop{population}"] if population else [])
        extra = {"observations": str(observations or "")}
        default = default_output_dir("validation", scn, *labels, extra=extra)
        out = prepare_output_dir(out or default, overwrite)
        console.print(f"validate: running {replicates} replicates of {scn.name}", markup=False)
        fit = calibration.validate(scn, observations, replicates, population)
        calibration.write_validation(fit, scn, out, overwrite=overwrite)
    except ScenarioError as exc:
        fail(str(exc))
    console.print(validation_table(fit, f"{scn.name}: model vs observations ({replicates} runs)"))
    console.print(
        f"{int(fit['inside'].sum())} of {len(fit)} observations inside the model's "
        f"90% interval; wrote {out}/"
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
    entropy: Annotated[
        int | None,
        typer.Option(min=0, help="Seed entropy (default: random; kept in the manifest)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default: results/compare/<entropy>).")
    ] = None,
    resume: ResumeOpt = False,
    overwrite: ExperimentOverwriteOpt = False,
) -> None:
    """Compare Ukraine and Russia, and each country's rules on the other's prisons."""
    from . import compare as cmp
    from .reporting import views

    result = _run_experiment(
        lambda: cmp.compare(
            scenarios or None,
            replicates=replicates,
            population=population,
            entropy=entropy,
            out=out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            overwrite=overwrite,
            progress=True,  # a bar on a terminal, plain lines otherwise
            console=console,
            argv=sys.argv,
        )
    )
    wide = _wide(console)
    wide.print(views.comparison_table(result))
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
        "paired_differences.csv, batch/",
        failures_dir=result.out_dir / "batch",
    )


@app.command("report")
def report_cmd(
    directory: Annotated[Path, typer.Argument(help="A batch, sweep or compare directory.")],
) -> None:
    """Rebuild figures, report.md and report.html in an experiment directory."""
    from .reporting.build import build_report
    from .results import add_own

    if not directory.is_dir():
        fail(f"{directory}: not a directory")
    before = {p.name for p in directory.iterdir()}
    try:
        paths = build_report(directory)
    except ScenarioError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{directory}: cannot write the report: {exc.strerror or exc}")
    # What the report added belongs to the tool (so --overwrite may replace the directory).
    made = {p.name for p in directory.iterdir()} - before
    add_own(directory, made | {Path(p).name for p in paths.values()})
    console.print(
        f"wrote {paths['html']}, {paths['markdown']} and {paths['figures']}/",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        console.print(f"prisonflow {__version__}")
        raise typer.Exit(0)


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[BaseException], ...]]:
    """click's (ClickException, Abort) classes as typer raises them: typer >= 0.2x ships
    its own copy of click (`typer._click`), whose exceptions `click.exceptions` misses."""
    import click

    clicks: set[type] = {click.exceptions.ClickException}
    clicks |= {c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"}
    aborts: set[type] = {click.exceptions.Abort, typer.Abort}
    return tuple(clicks), tuple(aborts)


def main() -> None:
    """Console-script entry point: usage errors exit 2 with one line, never a traceback."""
    click_errors, aborts = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    except (ScenarioError, UsageError) as exc:
        print(f"prisonflow: error: {exc}", file=sys.stderr)
        code = 2
    except click_errors as exc:
        message = " ".join(getattr(exc, "format_message", str)().split())
        if message:  # empty when bare `prisonflow` has just printed the help
            print(f"prisonflow: error: {message}", file=sys.stderr)
        code = 2
    except aborts:
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


@app.command("explore")
def explore_cmd(
    port: Annotated[int, typer.Option(help="Port to serve on (0: any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a web browser.")
    ] = False,
) -> None:
    """Explore a law in the browser: apply it to a population, edit it, see what it does."""
    from .explore.server import PortInUse, serve

    if not 0 <= port <= 65535:
        fail(f"--port {port}: must be a port number from 0 to 65535")
    try:
        serve(host, port, open_browser=not no_browser)
    except PortInUse as exc:
        fail(str(exc))


@app.command("decompose")
def decompose_cmd(
    policy_a: Annotated[str, typer.Argument(help="Reference policy (a single-regime scenario).")],
    policy_b: Annotated[str, typer.Argument(help="Policy compared with it.")],
    population: Annotated[
        str | None,
        typer.Option(help="Scenario whose prisons the laws apply to (default: POLICY_A's)."),
    ] = None,
    size: Annotated[
        int | None,
        typer.Option(
            min=1, help="People at the start (default: 20,000, or the population's own if smaller)."
        ),
    ] = None,
    replicates: Annotated[
        int, typer.Option(min=2, help="Seeds; replicate r uses one seed in every combination.")
    ] = 5,
    seed: SeedOpt = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output directory (default: "
            "results/decompose/A-vs-B-on-POPULATION-sizeN-repR-seedS-DIGEST)."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Which rule makes the difference: Shapley values of rule groups between two laws."""
    import contextlib

    from . import decompose as dcp
    from .decompose_report import FILES, rich_table, write_decomposition
    from .results import default_output_dir, prepare_output_dir

    spinner = console.status("decompose: starting", spinner="dots") if console.is_terminal else None

    def progress(done: int, total: int) -> None:
        """A spinner on a terminal; otherwise a plain line every tenth of the runs."""
        if spinner is not None:
            spinner.update(f"decompose: {done} of {total} runs")
        elif done % max(1, total // 10) == 0 or done == total:
            console.print(f"decompose: {done} of {total} runs", highlight=False)

    try:
        a = dcp.load_policy(policy_a, "POLICY_A")
        b = dcp.load_policy(policy_b, "POLICY_B")
        pop = dcp.load_population(population) if population else a
        labels = [f"vs-{b.name}-on-{pop.name}", f"size{size or 'default'}"]
        labels += [f"rep{replicates}", f"seed{seed}"]
        extra = {"b": b.to_dict(), "population": pop.to_dict()}
        out = prepare_output_dir(
            out or default_output_dir("decompose", a, *labels, extra=extra), overwrite
        )
        with spinner or contextlib.nullcontext():
            dec = dcp.decompose(
                a, b, pop, size=size, replicates=replicates, seed=seed, progress=progress
            )
        write_decomposition(dec, out, overwrite=overwrite, argv=sys.argv)
    except ScenarioError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        print("prisonflow: interrupted; nothing written", file=sys.stderr)
        raise typer.Exit(130) from None
    _wide(console).print(rich_table(dec.table))
    console.print(
        f"{dec.runs} runs in {dec.wall_s:.1f} s; wrote {out}/ ({', '.join(FILES)})",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
