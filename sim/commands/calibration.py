"""Calibration and validation against observed data: calibrate and validate."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .common import (
    FixedParametersOpt,
    OverwriteOpt,
    PopulationOpt,
    SeedOpt,
    WorkersOpt,
    _wide,
    app,
    console,
    fail,
)


@app.command("calibrate")
def calibrate_cmd(
    scenarios: Annotated[
        list[str],
        typer.Argument(
            help="Bundled scenario name or TOML path; two or more: a joint calibration "
            "(shared keys plain, a country's own keys as SCENARIO:dotted.key)."
        ),
    ],
    params: Annotated[
        list[str],
        typer.Option(
            "--params",
            help="Parameter to fit: [SCENARIO:]dotted.key[=low:high] (repeatable).",
        ),
    ],
    observations: Annotated[
        Path | None, typer.Option(help="Observations CSV (default: the bundled file).")
    ] = None,
    particles: Annotated[int, typer.Option(min=10, help="Particles per ABC round.")] = 200,
    rounds: Annotated[int, typer.Option(min=1, help="ABC-SMC rounds.")] = 4,
    seed: SeedOpt = 0,
    population: PopulationOpt = None,
    workers: WorkersOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output directory (default: " + "results/calibration/NAME-seedN-DIGEST" + ")."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted calibration (same arguments): runs stored in "
            "OUT.rounds/ are not run again.",
        ),
    ] = False,
    overwrite: OverwriteOpt = False,
) -> None:
    """Fit parameters to observations (ABC-SMC); write estimates, fit and a scenario variant
    (per country, with its posterior particles file). With several scenarios, one joint
    posterior over shared and per-country keys (--population: each country's run size)."""
    import shutil

    from .. import calibration
    from ..calibration.joint import Country, JointFit, parse_joint_param
    from ..calibration_rounds import JointRoundRunner, RoundRunner
    from ..scenario import ScenarioError, load_scenario

    joint = len(scenarios) > 1
    try:
        scns = {}
        for name in scenarios:
            scn = load_scenario(name)
            if scn.name in scns:
                raise ScenarioError(name, None, "is given twice")
            scns[scn.name] = scn
        scn = next(iter(scns.values()))
        if joint:
            plist = [parse_joint_param(p, scns) for p in params]
            fit = JointFit(
                [
                    Country(
                        s, calibration.targets_for(s, observations, True, population), population
                    )
                    for s in scns.values()
                ],
                plist,
            )
        else:
            plist = [calibration.parse_param(p, scn) for p in params]
            targets = calibration.targets_for(
                scn, observations, fitting=True, population=population
            )
        design = {"params": params, "particles": particles, "rounds": rounds}
        design |= {"population": population, "observations": str(observations or "")}
        labels = [*(["joint", *list(scns)[1:]] if joint else []), f"seed{seed}"]
        design |= {"scenarios": [s.to_dict() for s in list(scns.values())[1:]]}
        out, parts = _output_dirs(scn, labels, design, out, overwrite, resume)
    except ScenarioError as exc:
        fail(str(exc))
    command = " ".join(
        ["prisonflow", "calibrate", *scenarios, *(f"--params {p}" for p in params)]
        + [f"--particles {particles}", f"--rounds {rounds}", f"--seed {seed}"]
        + ([f"--population {population}"] if population else [])
        + ([f"--observations {observations}"] if observations else [])
    )
    for s in scns.values():
        if note := calibration.scale_note(s, population):
            console.print(f"{s.name}: {note}" if joint else note, highlight=False)
    runner: dict[str, Any] = dict(seed=seed, workers=workers, resume=resume, argv=sys.argv)
    kw: dict[str, Any] = dict(particles=particles, rounds=rounds, seed=seed, progress=console.log)
    simulate = (
        JointRoundRunner(fit, parts, **runner)
        if joint
        else RoundRunner(scn, targets, parts, population=population, **runner)
    )
    # every round on one pool of workers, stopped before an interrupt's message
    with _calibration_errors(out), simulate:
        kw["simulate"] = simulate
        if joint:
            result = calibration.run_joint_calibration(fit, out, command, overwrite, **kw)
        else:
            result = calibration.run_calibration(
                scn, plist, targets, out, command, overwrite, population=population, **kw
            )
    shutil.rmtree(parts, ignore_errors=True)  # ours, and no longer needed
    _report(result, list(scns), out, joint)


def _report(result: dict, names: list[str], out: Path, joint: bool) -> None:
    """Print a calibration's estimates and its fit per country."""
    title = f"{' + '.join(names)}: fitted parameters ({result['runs']} runs)"
    table = Table(title=title, title_justify="left")
    for col in ("parameter", "prior", "posterior median", "90% interval", "narrowing"):
        table.add_column(col)
    for r in result["estimates"].itertuples():
        table.add_row(
            r.parameter,
            f"[{r.prior_low:g}, {r.prior_high:g}]",
            f"{r.median:.4g}",
            f"[{r.p05:.4g}, {r.p95:.4g}]",
            f"{r.narrowing:.2f}" + ("" if r.informed else " (not informed)"),
        )
    _wide(console).print(table)
    fits = result["fit"] if joint else {names[0]: result["fit"]}
    for name, fit_table in fits.items():
        title = f"{name}: fit at the posterior median (20 runs)"
        _wide(console).print(validation_table(fit_table, title))
    files = ", ".join(f"{n}_calibrated.toml" for n in names)
    console.print(f"wrote {out}/ (estimates.csv, particles.csv, fit, {files})", highlight=False)


@app.command("refit")
def refit_cmd(
    particles: Annotated[int, typer.Option(min=10, help="Particles per ABC round.")] = 200,
    rounds: Annotated[int, typer.Option(min=1, help="ABC-SMC rounds.")] = 4,
    seed: SeedOpt = 1,
    population: Annotated[
        int | None,
        typer.Option(
            min=100,
            help="Run population of every country (default: Ukraine at real scale, "
            "Russia at 100,000; counts scaled).",
        ),
    ] = None,
    workers: WorkersOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Output directory (default: results/calibration/refit-...)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted refit (same arguments).")
    ] = False,
    install: Annotated[
        bool,
        typer.Option(
            help="Write the posterior files, medians, sources and priors into scenarios/."
        ),
    ] = True,
    overwrite: OverwriteOpt = False,
) -> None:
    """Refit both bundled calibrations (ukraine_2024, russia_2022_2025) jointly on the keys
    of sim.calibration.refit, and install the posterior beside the scenarios."""
    import shutil

    from .. import calibration
    from ..calibration import refit
    from ..calibration_rounds import JointRoundRunner
    from ..scenario import ScenarioError

    try:
        fit = refit.refit_fit(population=population)
        design = {"keys": refit.KEYS, "particles": particles, "rounds": rounds}
        design |= {"population": population}
        scn = fit.countries[0].scenario
        labels = ["refit", f"seed{seed}"]
        out, parts = _output_dirs(scn, labels, design, out, overwrite, resume)
    except ScenarioError as exc:
        fail(str(exc))
    command = f"prisonflow refit --particles {particles} --rounds {rounds} --seed {seed}"
    command += f" --population {population}" if population else ""
    for c in fit.countries:
        if note := calibration.scale_note(c.scenario, c.population):
            console.print(f"{c.name}: {note}", highlight=False)
    runner = JointRoundRunner(fit, parts, seed=seed, workers=workers, resume=resume, argv=sys.argv)
    with _calibration_errors(out), runner:
        result = calibration.run_joint_calibration(
            fit, out, command, overwrite, particles=particles, rounds=rounds, seed=seed,
            progress=console.log, simulate=runner,
        )  # fmt: skip
        written = refit.install(result["calibration"], fit, command) if install else []
    shutil.rmtree(parts, ignore_errors=True)
    _report(result, fit.names, out, joint=True)
    for path in written:
        console.print(f"installed {path}", highlight=False)


def _output_dirs(scn, labels, design, out, overwrite, resume) -> tuple[Path, Path]:
    """A calibration's output directory (checked, not created) and its rounds directory,
    which must not hold an interrupted calibration unless resuming."""
    from ..calibration_rounds import rounds_dir
    from ..results import default_output_dir, prepare_output_dir
    from ..scenario import ScenarioError

    default = default_output_dir("calibration", scn, *labels, extra=design)
    out = prepare_output_dir(out or default, overwrite)
    parts = rounds_dir(out)
    if parts.exists() and not resume:
        raise ScenarioError(
            parts, None, "holds an interrupted calibration; add --resume to continue it"
        )
    return out, parts


@contextlib.contextmanager
def _calibration_errors(out: Path):
    """Bad input: exit 2; an interrupt: exit 128 + signal with the command to resume."""
    import shlex

    from .. import experiments as ex
    from ..scenario import ScenarioError

    try:
        yield
    except (ScenarioError, ex.SpecError) as exc:
        fail(str(exc))
    except (ex.ExperimentInterrupted, KeyboardInterrupt) as exc:
        # During a round's runs the runner stops them (ExperimentInterrupted); between
        # rounds (proposals, weights, the final check of the fit) Ctrl-C arrives as it is.
        # Either way the runs of every finished round are stored, and resuming recomputes
        # the same proposals from them.
        signum = exc.signum if isinstance(exc, ex.ExperimentInterrupted) else signal.SIGINT
        args = [a for a in sys.argv[1:] if a != "--resume"]
        args += [] if any(a.startswith("--out") for a in args) else ["--out", str(out)]
        hint = shlex.join(["prisonflow", *args, "--resume"])
        print(f"prisonflow: calibration interrupted; continue with: {hint}", file=sys.stderr)
        raise typer.Exit(128 + signum) from None
    except ex.ExperimentAborted as exc:
        print(f"prisonflow: error: {exc}", file=sys.stderr)
        raise typer.Exit(1) from None


def validation_table(fit, title: str) -> Table:
    """Rich table of the fit to observations: model median and 90% interval against each
    observed value, and whether it falls inside.

    Args:
        fit: The fit table (one row per dated observation).
        title: Title of the table.

    Returns:
        The table, ready to print.
    """
    table = Table(title=title, title_justify="left")
    for col in ("date", "metric", "observed", "kind", "model median", "model 90%", "inside"):
        table.add_column(col)
    in_fit = "used_in_fit" in fit.columns
    if in_fit:
        table.add_column("fit")
    scored = "interval_score_rel" in fit.columns
    if scored:
        table.add_column("interval score / value")
    sign = {"at_least": ">= ", "up_to": "<= ", "about": "~", "exact": ""}
    for r in fit.itertuples():
        sample = ["in sample" if r.used_in_fit else "out of sample"] if in_fit else []
        table.add_row(
            f"{r.date:%Y-%m-%d}",
            r.metric,
            f"{sign.get(r.qualifier, '')}{_number(r.value)}",
            r.kind,
            _number(r.model_median),
            f"[{_number(r.model_p05)}, {_number(r.model_p95)}]",
            "yes" if r.inside else "NO",
            *sample,
            *([f"{r.interval_score_rel:.2f}"] if scored else []),
        )
    return table


def _number(value: float) -> str:
    """A count with thousands separators; a share or rate (below 10) with 3 digits."""
    return f"{value:.3g}" if abs(value) < 10 and value != int(value) else f"{value:,.0f}"


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
    fixed_parameters: FixedParametersOpt = False,
    fit_until: Annotated[
        dt.datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Out of sample: calibrate on the observations dated before this date "
            "(YYYY-MM-DD), forecast and score the rest (coverage, interval score).",
        ),
    ] = None,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--params",
            help="With --fit-until: a key to fit (repeatable; default: the scenario's "
            "calibrated keys with priors).",
        ),
    ] = None,
    particles: Annotated[
        int, typer.Option(min=10, help="With --fit-until: particles per ABC round.")
    ] = 40,
    rounds: Annotated[int, typer.Option(min=1, help="With --fit-until: ABC-SMC rounds.")] = 2,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output directory (default: " + "results/validation/NAME-repN-DIGEST" + ")."
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
) -> None:
    """Model against every observation: median and 90% posterior-predictive interval,
    flagging misses and marking each row in sample (used in the fit) or out of sample."""
    from .. import calibration
    from ..results import default_output_dir, prepare_output_dir
    from ..scenario import ScenarioError, load_scenario

    if fit_until is not None:
        _validate_out_of_sample(
            scenario,
            fit_until.date(),
            observations,
            params,
            particles,
            rounds,
            replicates,
            population,
            out,
            overwrite,
        )
        return
    try:
        scn = load_scenario(scenario)
        labels = [f"rep{replicates}"] + ([f"pop{population}"] if population else [])
        labels += ["fixed"] if fixed_parameters else []
        extra = {"observations": str(observations or "")}
        default = default_output_dir("validation", scn, *labels, extra=extra)
        out = prepare_output_dir(out or default, overwrite)
        console.print(f"validate: running {replicates} replicates of {scn.name}", markup=False)
        fit = calibration.validate(
            scn, observations, replicates, population, fixed_parameters=fixed_parameters
        )
        calibration.write_validation(fit, scn, out, overwrite=overwrite)
    except ScenarioError as exc:
        fail(str(exc))
    kind = "seed-only" if fixed_parameters else "posterior-predictive"
    console.print(
        validation_table(fit, f"{scn.name}: model vs observations ({replicates} runs, {kind})")
    )
    if note := calibration.scale_note(scn, population):
        console.print(note, highlight=False)
    used = fit["used_in_fit"].to_numpy(bool)
    inside = fit["inside"].to_numpy(bool)
    console.print(
        f"{int(inside.sum())} of {len(fit)} observations inside the model's 90% {kind} "
        f"interval (in sample {int(inside[used].sum())} of {int(used.sum())}, out of sample "
        f"{int(inside[~used].sum())} of {int((~used).sum())}); wrote {out}/",
        highlight=False,
    )


def _validate_out_of_sample(
    scenario,
    until,
    observations,
    params,
    particles,
    rounds,
    replicates,
    population,
    out,
    overwrite,
) -> None:
    """`validate --fit-until`: calibrate before the date, forecast and score (sim.forecast)."""
    from .. import calibration, forecast
    from ..results import default_output_dir, prepare_output_dir
    from ..scenario import ScenarioError, load_scenario

    try:
        scn = load_scenario(scenario)
        labels = [f"until{until}", f"rep{replicates}", f"p{particles}r{rounds}"]
        labels += [f"pop{population}"] if population else []
        extra = {"observations": str(observations or ""), "params": params or []}
        default = default_output_dir("validation", scn, *labels, extra=extra)
        out = prepare_output_dir(out or default, overwrite)
        table, estimates = forecast.fit_until(
            scn,
            until,
            observations,
            keys=params or None,
            particles=particles,
            rounds=rounds,
            replicates=replicates,
            population=population,
        )
        scores = forecast.scores(table)
        calibration.write_validation(
            table, scn, out, overwrite, extra={"scores": scores, "estimates": estimates}
        )
    except ScenarioError as exc:
        fail(str(exc))
    title = (
        f"{scn.name}: fitted on observations before {until} ({particles} particles x "
        f"{rounds} rounds), forecast by {replicates} posterior-predictive runs"
    )
    _wide(console).print(validation_table(table, title))
    if note := calibration.scale_note(scn, population):
        console.print(note, highlight=False)
    for r in scores.itertuples():
        console.print(
            f"{r.rows}: {r.inside} of {r.n} observations inside the 90% interval; mean "
            f"interval score / observed value {r.mean_interval_score_rel:.2f}",
            highlight=False,
        )
    console.print(f"wrote {out}/ (validation.csv, scores.csv, estimates.csv)", highlight=False)
