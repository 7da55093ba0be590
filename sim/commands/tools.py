"""Other commands: bench, report, explore and decompose."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

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
        bool, typer.Option(help="Skip the 10^7-people run (and so the exponent and memory).")
    ] = False,
    scale: Annotated[
        float | None,
        typer.Option(
            "--scale", min=1e3, max=1e9, help="Also time this initial population (e.g. 1e8)."
        ),
    ] = None,
    reference: Annotated[
        bool,
        typer.Option(
            "--reference", help="Also time the bare event-driven probe beside prisonflow at 10^6."
        ),
    ] = False,
    mesa: Annotated[
        bool, typer.Option("--mesa", help="Also compare the vector and Mesa engines.")
    ] = False,
    out: Annotated[Path, typer.Option(help="Directory for the JSON report.")] = Path(
        "results/bench"
    ),
) -> None:
    """Measure issue 14's throughput targets on this machine; write results/bench/*.json."""
    from .. import bench
    from ..results import check_can_write_into
    from ..scenario import ScenarioError

    sizes = [1_000_000] + ([] if quick else [10_000_000]) + ([int(scale)] if scale else [])
    try:
        check_can_write_into(out)
        report = bench.run_benchmarks(
            sorted(set(sizes)),
            with_reference=reference,
            with_engines=mesa,
            progress=console.log,
        )
        path = bench.write_report(report, out)
    except ScenarioError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{out}: --out: cannot write: {exc.strerror or exc}")
    print_bench(report, bench)
    console.print(f"wrote {path}")


def print_bench(report: dict, bench) -> None:
    """The bench report as tables: scale, phases, reference, targets."""
    table = Table(
        title=f"scale: {report['scenario']}, {report['days']} days (medians)", title_justify="left"
    )
    for col in (
        "people (initial)",
        "people (total)",
        "wall s",
        "runs",
        "person-days/s",
        "peak RSS MiB",
        "B/initial person",
        "B/person (total)",
    ):
        table.add_column(col, justify="right")
    measured = bench.by_size(report["scale"]).values()
    for r in measured:
        table.add_row(
            f"{r['people_initial']:,}",
            f"{r['people_total']:,}",
            f"{r['wall_s']:.3f}",
            str(r["repeats"]),
            bench.fmt_rate(r["person_days_per_s"]),
            f"{r['peak_rss_mib']:,.0f}",
            f"{r['bytes_per_initial_person']:.1f}",
            f"{r['bytes_per_person_total']:.1f}",
        )
    console.print(table)
    console.print(
        "bytes per person = (peak resident memory over the runs - resident memory after "
        "imports and a warm-up run) / people"
    )
    for r in measured:
        each = r.get("bytes_per_initial_person_each_run") or []
        if len(each) > 1:  # later runs' peaks include what the allocator kept from earlier ones
            runs = ", ".join(f"{b:.1f}" for b in each)
            console.print(f"  each run at {r['people_initial']:,}, B/initial person: {runs}")
    for r in measured:
        phases = ", ".join(f"{k} {v:.3f}" for k, v in r["phases_s"].items())
        console.print(f"phases at {r['people_initial']:,} (median s): {phases}")
    one = report.get("one_thread_1e6")
    if one and "wall_s" in one:
        console.print(
            f"runs take {report['machine']['run_threads']} threads by default; in one thread, "
            f"{one['people_initial']:,} people: {one['wall_s']:.3f} s median of {one['repeats']}"
        )
    for name, r in report.get("real_scale", {}).items():
        console.print(
            f"real scale {name}: {r['wall_s']:.4f} s with {r['threads']} threads, "
            f"{r['wall_s_one_thread']:.4f} s in one"
        )
    for r in report["scale"]:
        if "error" in r:
            console.print(f"{r['people_initial']:,} people: not measured: {r['error']}")
    if "reference" in report:
        ref = report["reference"]
        console.print(
            f"reference ({ref['people']:,} x {ref['days']} days, same process): prisonflow "
            f"{ref['prisonflow_s']:.3f} s, event-driven probe {ref['probe_s']:.3f} s, "
            f"ratio {ref['ratio']:.2f}"
        )
    if "engines" in report:
        e = report["engines"]
        console.print(
            f"engines ({e['people']:,} people, {e['days']} days): vector "
            f"{e['vector']['wall_s']:.3f} s, Mesa {e['agents']['wall_s']:.1f} s; vector is "
            f"{e['vector_over_agents']:,.0f}x faster per agent-day"
        )
    if "batch" in report:
        b = report["batch"]
        console.print(
            f"batch {b['runs']} x {b['scenario']}: 1 worker {b['wall_s_1_workers']:.2f} s, "
            f"2 workers {b['wall_s_2_workers']:.2f} s"
        )
    for label, times in report.get("cli", {}).items():
        console.print(
            f"prisonflow {'--help' if label == 'help' else label} in a fresh process: wall "
            f"{times['wall_s']:.3f} s, CPU {times['cpu_s']:.3f} s (medians)"
        )
    load = report["machine"]["load_average_1_5_15"]
    console.print(
        f"load average (1, 5, 15 min) at the start: {', '.join(f'{x:.2f}' for x in load)}"
    )
    verdict = Table(title="targets (issue 14)", title_justify="left")
    for col in ("target", "goal", "measured", ""):
        verdict.add_column(col)
    for row in bench.verdicts(report):
        verdict.add_row(*row)
    console.print(verdict)


@app.command("report")
def report_cmd(
    directory: Annotated[Path, typer.Argument(help="A batch, sweep or compare directory.")],
) -> None:
    """Rebuild figures, report.md and report.html in an experiment directory."""
    from ..reporting.build import build_report
    from ..results import add_own
    from ..scenario import ScenarioError

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
    from ..scenario import ScenarioError

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
