"""Other commands: bench, report, explore and decompose."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..scenario import ScenarioError
from .common import (
    OverwriteOpt,
    SeedOpt,
    _wide,
    app,
    console,
    fail,
)


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
    from .. import bench
    from ..results import check_can_write_into

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


@app.command("report")
def report_cmd(
    directory: Annotated[Path, typer.Argument(help="A batch, sweep or compare directory.")],
) -> None:
    """Rebuild figures, report.md and report.html in an experiment directory."""
    from ..reporting.build import build_report
    from ..results import add_own

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


@app.command("explore")
def explore_cmd(
    port: Annotated[int, typer.Option(help="Port to serve on (0: any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a web browser.")
    ] = False,
) -> None:
    """Explore a law in the browser: apply it to a population, edit it, see what it does."""
    from ..explore.server import PortInUse, serve

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

    from .. import decompose as dcp
    from ..decompose_report import FILES, rich_table, write_decomposition
    from ..results import default_output_dir, prepare_output_dir

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
