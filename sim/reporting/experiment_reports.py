"""The batch and sweep reports. A batch's leads with the answer (rates per month of
exposure and per 1,000 people in custody, the key figure), then results, figures, the fit
to observations and notes, with the assumptions in an appendix; a sweep's with its design
and sensitivity indices.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd

from .. import figures as figs
from ..experiments.batch import BATCH_METRICS
from ..figures.parallel import draw_all
from ..observed_outputs import with_custody_by_status
from ..results import write_atomic_text
from ..scenario import Scenario, ScenarioError, load_scenario
from .blocks import H, P, Table
from .files import read_csv, read_parquet
from .labels import short_label
from .sections import (
    comparison_blocks,
    figure_blocks,
    fit_blocks,
    headline_blocks,
    notes_blocks,
    num,
    regimes_by_name,
    run_info,
    scenario_blocks,
    sources_blocks,
    value_text,
)
from .views import describe, observation_fit
from .who import who_blocks, who_is_recruited


def batch_scenarios(manifest: dict) -> dict[str, Scenario]:
    """The batch's scenarios that can be loaded again from their sources (bundled names or
    files, with the batch's overrides); scenarios given as objects cannot."""
    design = manifest.get("design", {})
    out = {}
    overrides = design.get("overrides") or {}
    for src, name in zip(design.get("scenarios", []), manifest.get("scenarios", []), strict=False):
        with contextlib.suppress(ScenarioError):
            out[name] = load_scenario(src, overrides)
    return out


def batch_inputs(directory: Path, manifest: dict) -> dict:
    """What a batch's report and figures are drawn from: names, scenarios, labels, runs,
    summary and the fit to observations (computed here from the runs)."""
    names = list(manifest.get("scenarios", []))
    scenarios = batch_scenarios(manifest)
    runs = with_custody_by_status(read_parquet(directory / "runs.parquet"))
    return {
        "names": names,
        "scenarios": scenarios,
        "labels": {n: short_label(scenarios[n]) if n in scenarios else n for n in names},
        "runs": runs,
        "summary": read_parquet(directory / "summary.parquet"),
        "fit": observation_fit(runs, scenarios),
        "scaled": manifest.get("design", {}).get("population") is not None,
    }


def batch_report(directory: Path, manifest: dict) -> tuple[str, list]:
    """Title and blocks of a batch's report."""
    got = batch_inputs(directory, manifest)
    names, scenarios, labels = got["names"], got["scenarios"], got["labels"]
    fit, scaled = got["fit"], got["scaled"]
    comp = describe(got["summary"], names, BATCH_METRICS)
    design = manifest.get("design", {})
    write_atomic_text(directory / "observation_fit.csv", fit.to_csv(index=False))
    made = batch_figures(got, directory / "figures")
    reps = design.get("replicates")
    title = "Batch: " + ", ".join(names)
    blocks: list = [H(1, title)]
    population = design.get("population")
    blocks += headline_blocks(comp, names, scenarios, labels, design.get("days"), population)
    blocks += figure_blocks(made[:1], heading=None)
    blocks += comparison_blocks(comp, names, reps, "Results")
    points = [{"name": n, "label": labels[n], "policy": None, "population": None} for n in names]
    who = who_is_recruited(read_csv(directory / "by_group_intervals.csv"), points)
    blocks += who_blocks(who, reps)
    blocks += figure_blocks(made[1:], start=2)
    blocks += fit_blocks(fit, scaled)
    blocks += notes_blocks()
    blocks += [H(2, "Appendix: how this was run, scenarios, assumptions and sources")]
    blocks += run_info(
        {**manifest, "population": population},
        f"{manifest.get('n_runs')} runs ({manifest.get('n_ok')} ok, {manifest.get('n_failed')} "
        f"failed): {len(names)} scenario(s) x {reps} replicates"
        + (f"; overrides {design.get('overrides')}" if design.get("overrides") else "")
        + ".",
    )
    missing = [n for n in names if n not in scenarios]
    if missing:
        blocks.append(
            P(f"Scenario files not found for: {', '.join(missing)} (descriptions omitted).", True)
        )
    blocks += scenario_blocks(scenarios, [n for n in names if n in scenarios], "Scenarios")
    blocks += sources_blocks(scenarios, [n for n in names if n in scenarios])
    return title, blocks


def batch_figures(got: dict, fig_dir: Path) -> list:
    """Draw a batch's figures (from `batch_inputs`) into `fig_dir`; the first is the key
    figure."""
    runs, names, labels, fit = got["runs"], got["names"], got["labels"], got["fit"]
    regimes = regimes_by_name(got["scenarios"])
    jobs: list[Callable[[], figs.FigureInfo | None]] = [
        partial(figs.stocks_figure, runs, names, labels, fig_dir, regimes=regimes),
        partial(figs.flow_figure, runs, names, labels, fig_dir),
        partial(figs.observations_figure, runs, fit, labels, fig_dir, scaled=got["scaled"]),
    ]
    made = draw_all(jobs)
    return [f for f in made if f is not None]


def sweep_inputs(directory: Path, manifest: dict) -> tuple[str, str, pd.DataFrame]:
    """A sweep's design method, scenario name and sensitivity indices (indices.csv)."""
    design = manifest.get("design", {})
    method = manifest.get("method") or design.get("method", "")
    indices = read_csv(directory / "indices.csv")
    if indices is None:
        raise ScenarioError(directory / "indices.csv", None, "file not found (unfinished sweep?)")
    return method, design.get("scenario_name", ""), indices


def sweep_figures(directory: Path, manifest: dict, fig_dir: Path) -> list:
    """Draw a sweep's sensitivity figure into `fig_dir`."""
    method, name, indices = sweep_inputs(directory, manifest)
    info = figs.sensitivity_figure(indices, method, fig_dir, title=name)
    return [info] if info is not None else []


def sweep_report(directory: Path, manifest: dict) -> tuple[str, list]:
    """Title and blocks of a sweep's report."""
    design = manifest.get("design", {})
    method, name, indices = sweep_inputs(directory, manifest)
    made = sweep_figures(directory, manifest, directory / "figures")
    title = f"Sensitivity sweep ({method}) of {name}"
    blocks: list = [H(1, title)]
    if manifest.get("description"):
        blocks.append(P(manifest["description"]))
    blocks += run_info(
        {**manifest, "population": design.get("population")},
        f"{manifest.get('n_runs')} runs ({manifest.get('n_ok')} ok, {manifest.get('n_failed')} "
        f"failed): {manifest.get('n_points')} design points x {design.get('replicates')} "
        f"replicates; spec {manifest.get('spec_file')}.",
    )
    prow = []
    for key, p in (design.get("parameters") or {}).items():
        rng = (
            ", ".join(value_text(v) for v in p["values"])
            if "values" in p
            else f"{value_text(p.get('low'))} to {value_text(p.get('high'))}"
        )
        prow.append([key, rng, "whole numbers" if p.get("integer") else "real"])
    blocks += [
        H(2, "Design"),
        Table(["parameter", "range or values", "type"], prow, right=frozenset()),
    ]
    if design.get("fixed"):
        blocks.append(
            P("Fixed: " + ", ".join(f"{k} = {value_text(v)}" for k, v in design["fixed"].items()))
        )
    rows = []
    for r in indices.itertuples():
        rows.append(
            [
                str(r.output),
                str(r.parameter),
                str(r.index),
                "n/a" if num(r.value) != num(r.value) else f"{num(r.value):.3g}",
                "" if num(r.conf) != num(r.conf) else f"±{num(r.conf):.2g}",
            ]
        )
    blocks += [
        H(2, "Sensitivity indices"),
        P(
            "From indices.csv; ± is the 95% confidence half-width. noise_share is the share of "
            "an output's variance that is replicate noise."
        ),
        Table(
            ["output", "parameter", "index", "value", "95% conf."], rows, right=frozenset({3, 4})
        ),
    ]
    blocks += figure_blocks(made)
    blocks += notes_blocks()
    try:
        scn = {name: load_scenario(design.get("scenario", name))}
    except ScenarioError:
        scn = {}
    if scn:
        blocks += [H(2, "Appendix: scenario, assumptions and sources")]
        blocks += scenario_blocks(scn, [name], "Scenario")
        blocks += sources_blocks(scn, [name])
    return title, blocks
