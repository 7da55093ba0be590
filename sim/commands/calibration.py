"""Calibration and validation against observed data: calibrate and validate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..scenario import ScenarioError, load_scenario
from .common import (
    OverwriteOpt,
    PopulationOpt,
    SeedOpt,
    app,
    console,
    fail,
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
    from .. import calibration
    from ..results import default_output_dir, prepare_output_dir

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
    from .. import calibration
    from ..results import default_output_dir, prepare_output_dir

    try:
        scn = load_scenario(scenario)
        labels = [f"rep{replicates}"] + ([f"pop{population}"] if population else [])
        extra = {"observations": str(observations or "")}
        default = default_output_dir("validation", scn, *labels, extra=extra)
        out = prepare_output_dir(out or default, overwrite)
        fit = calibration.validate(scn, observations, replicates, population)
        calibration.write_validation(fit, scn, out, overwrite=overwrite)
    except ScenarioError as exc:
        fail(str(exc))
    console.print(validation_table(fit, f"{scn.name}: model vs observations ({replicates} runs)"))
    console.print(
        f"{int(fit['inside'].sum())} of {len(fit)} observations inside the model's "
        f"90% interval; wrote {out}/"
    )
