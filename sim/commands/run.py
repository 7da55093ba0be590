"""Single runs: scenarios (list the bundled ones) and run."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from .. import ENGINES
from .common import (
    DaysOpt,
    EngineOpt,
    ExtendOpt,
    ForceOpt,
    OverwriteOpt,
    PopulationOpt,
    RecordPeopleOpt,
    SeedOpt,
    SetOpt,
    ThreadsOpt,
    UsageError,
    app,
    console,
    fail,
    parse_overrides,
    warn_if_extended,
)


@app.command("scenarios")
def scenarios_cmd() -> None:
    """List the bundled scenarios, as read (`run` validates a scenario in full)."""
    from ..scenario import ScenarioError, bundled_listing, scenarios_dir

    try:
        listing = bundled_listing()
    except ScenarioError as exc:
        fail(str(exc))
    if not listing:
        fail(f"{scenarios_dir()}: no bundled scenarios found; the installation is incomplete")
    table = Table(show_header=True, header_style="bold")
    # Names are what users type next: never truncate them (output may be a narrow pipe).
    table.add_column("name", no_wrap=True, min_width=max(map(len, listing)))
    table.add_column("country")
    table.add_column("period", no_wrap=True, min_width=24)
    table.add_column("title")
    for name, m in listing.items():
        table.add_row(name, m["country"], f"{m['start_date']} to {m['end_date']}", m["title"])
    console.print(table)


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
    threads: ThreadsOpt = None,
) -> None:
    """Run one scenario and its no-recruitment baseline (same seed); write manifest.json,
    timeseries.parquet, summary.csv and by_group.parquet."""
    import sim

    from ..manifest import run_manifest
    from ..reporting.views import summary_table
    from ..results import default_output_dir, prepare_output_dir, write_run
    from ..scenario import ScenarioError, load_scenario

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
            options: dict[str, Any] = dict(
                engine=engine,
                seed=seed,
                population=population,
                days=days,
                extend=extend,
                force=force,
                threads=threads,
            )
            from ..counterfactual import recruitment_effect  # the no-recruitment baseline
            from ..model.population import reused

            with reused():  # the run and its baseline draw the people once
                result = sim.run(scn, **options, record_people=record_people)
                result.summary.update(recruitment_effect(scn, result, **options))
        manifest = run_manifest(scn, result, argv=sys.argv, started=started)
        write_run(result, out, manifest, overwrite, regimes=scn.regimes)
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
    extra = ", by_group.parquet" if getattr(result, "recruits", None) is not None else ""
    extra += ", people.parquet" if record_people else ""
    console.print(f"wrote {out}/ (manifest.json, timeseries.parquet, summary.csv{extra})")
