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
    observation_fit.csv      model median and 90% interval at each observation's date
    figures/*.png, *.svg     see sim.figures
    report.md, report.html   see sim.report
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import Field

from .experiments.stats import interval_table, paired_differences
from .experiments.tasks import OFFENCE_COLUMNS
from .experiments.template import RunArgs
from .experiments.validation import Whole, validate
from .results import write_atomic_text
from .scenario import Scenario, ScenarioError, counterfactual, load_scenario, validate_raw
from .taxonomy import OFFENCES

COUNTRY_SCENARIOS = ("ukraine_2024", "russia_2022_2025")
POLICIES = (
    "ukraine_2024",
    "russia_wagner_2022",
    "russia_stormz_2023",
    "russia_stormv_2023",
    "russia_64fz_2024",
    "russia_defendants_2024",
)
POPULATIONS = ("ukraine_2024", "russia_2022_2025")
KEY_METRICS = (
    "applications",
    "released_to_army",
    "deployed_total",
    "peak_deployed",
    "killed",
    "wounded_discharged",
    "deserted",
    "captured",
    "service_completed",
    "returned_to_custody",
    "reoffended",
    "days_to_first_release",
    "killed_per_1000_recruits",
    "share_violent_among_recruits",
    "prison_population_change_pct",
)
METRIC_LABELS = {
    "applications": "applications",
    "released_to_army": "released to army",
    "deployed_total": "deployed (total)",
    "peak_deployed": "deployed (peak)",
    "killed": "killed",
    "wounded_discharged": "wounded, discharged",
    "deserted": "deserted",
    "captured": "captured",
    "service_completed": "service completed",
    "returned_to_custody": "returned to custody",
    "reoffended": "reoffended",
    "days_to_first_release": "days to first release",
    "killed_per_1000_recruits": "killed per 1,000 recruits",
    "share_violent_among_recruits": "violent offenders among recruits",
    "prison_population_change_pct": "prison population change, %",
}
SHORT_LABELS = {
    "ukraine_2024": "UA Law 3687-IX",
    "russia_2022_2025": "RU 2022-2025 timeline",
    "russia_wagner_2022": "RU Wagner",
    "russia_stormz_2023": "RU Storm-Z",
    "russia_stormv_2023": "RU Storm-V",
    "russia_64fz_2024": "RU 64-FZ (suspects)",
    "russia_defendants_2024": "RU defendants",
}
COUNTRY_NAMES = {"UA": "Ukraine", "RU": "Russia"}
OFFENCE_REPLICATES = 3  # replicates per point in offences.csv (None: all)
FILES = (
    "manifest.json",
    "batch/",
    "comparison.csv",
    "matrix.csv",
    "paired_differences.csv",
    "offences.csv",
    "observation_fit.csv",
    "figures/",
    "report.md",
    "report.html",
)


REPORT_FILES = ("figures/", "report.md", "report.html")


def short_label(name: str) -> str:
    return SHORT_LABELS.get(name, name)


def population_label(scn: Scenario) -> str:
    country = COUNTRY_NAMES.get(scn.scenario.country)
    return f"{country}'s prisons ({scn.name})" if country else f"population of {scn.name}"


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

    def to_dict(self, point: int) -> dict:
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


def plan(
    scenarios: Sequence[str | os.PathLike | Scenario],
    policies: Sequence[str | os.PathLike | Scenario] = POLICIES,
    populations: Sequence[str | os.PathLike | Scenario] = POPULATIONS,
) -> list[Point]:
    """The batch's points: compared scenarios, each population's own scenario (its
    reference), and every policy x population cell (`sim.scenario.counterfactual`)."""
    compared = [_load(s) for s in scenarios]
    pops = [_load(p) for p in populations]
    pols = [_load(p) for p in policies]
    points: dict[str, Point] = {}
    for scn in compared:
        if scn.name in points:
            raise ScenarioError("compare", "scenarios", f"scenario {scn.name!r} is given twice")
        points[scn.name] = Point(scn.name, scn, compared=True, label=short_label(scn.name))
    for pop in pops:
        old = points.get(pop.name)
        if old is not None and old.reference_for is not None:
            raise ScenarioError("compare", "populations", f"{pop.name!r} is given twice")
        points[pop.name] = Point(
            pop.name,
            pop,
            compared=old is not None and old.compared,
            reference_for=pop.name,
            label=short_label(pop.name),
        )
    for pop in pops:
        for pol in pols:
            cell = counterfactual(pol, pop)
            if cell.name in points:
                raise ScenarioError("compare", "policies", f"{pol.name!r} is given twice")
            points[cell.name] = Point(
                cell.name,
                cell,
                policy=pol.name,
                population=pop.name,
                label=f"{short_label(pol.name)} rules on {population_label(pop)}",
            )
    return list(points.values())


# --------------------------------------------------------------------------- statistics


def describe(summary: pd.DataFrame, names: Sequence[str], metrics=KEY_METRICS) -> pd.DataFrame:
    """Per scenario and metric: n, mean, median, p2_5, p97_5 over the finished replicates
    (`sim.experiments.stats`, the statistics of intervals.csv under these names)."""
    table = interval_table(summary, ["scenario"], [(n,) for n in names], metrics)
    return table.rename(columns={"low": "p2_5", "high": "p97_5"})


def observation_fit(
    runs: pd.DataFrame,
    scenarios: dict[str, Scenario],
    observations: str | os.PathLike | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Model median and 90% interval (5th-95th percentile over replicates) on each
    comparable observation's date (`model_date` when given), for each scenario of the
    observation's country; `inside` follows `sim.calibration.inside` (at_least: the
    interval reaches the value; up_to: it reaches down to it; about: it overlaps +/-10%;
    exact: it contains it)."""
    from .calibration import Targets, inside
    from .observations import for_country, load_observations

    obs = (
        observations if isinstance(observations, pd.DataFrame) else load_observations(observations)
    )
    cols = [
        "scenario",
        "country",
        "date",
        "model_date",
        "metric",
        "output",
        "value",
        "qualifier",
        "kind",
        "source",
        "note",
        "n",
        "model_median",
        "model_p05",
        "model_p95",
        "inside",
    ]
    frames = []
    for name, scn in scenarios.items():
        sub = runs[runs["scenario"] == name]
        if not len(sub):
            continue
        t = Targets.from_observations(for_country(obs, scn.scenario.country), scn).table
        if not len(t):
            continue
        t = t[t["output"].isin(sub.columns)].copy()
        last_day = int(sub["day"].max())
        t = t[t["day"] <= last_day]
        if not len(t):
            continue
        n, med, lo, hi = [], [], [], []
        for row in t.itertuples():
            v = sub.loc[sub["day"] == row.day, row.output].to_numpy(dtype=np.float64)
            n.append(len(v))
            med.append(float(np.median(v)) if len(v) else math.nan)
            lo.append(float(np.quantile(v, 0.05)) if len(v) else math.nan)
            hi.append(float(np.quantile(v, 0.95)) if len(v) else math.nan)
        t["scenario"] = name
        t["n"], t["model_median"], t["model_p05"], t["model_p95"] = n, med, lo, hi
        t["inside"] = inside(t)
        for c in ("note", "model_date"):
            if c not in t:
                t[c] = None
        frames.append(t[cols])
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- offences


def offence_composition(summary: pd.DataFrame, *, replicates: int | None = None) -> pd.DataFrame:
    """Recruits by offence category per point and replicate (the first `replicates`; all
    when None), read from the batch's summary (`recruits_offence_<offence>`): nothing is
    run again. `matches_batch`: the counts add up to the run's released_to_army."""
    ok = summary[summary["status"] == "ok"]
    if replicates is not None:
        ok = ok[ok["replicate"] < replicates]
    rows = []
    for r in ok.sort_values(["point", "replicate"]).itertuples(index=False):
        row = r._asdict()
        counts = [row.get(c, math.nan) for c in OFFENCE_COLUMNS]
        if any(c != c for c in counts):  # a part stored before offences were recorded
            continue
        matches = sum(counts) == row["released_to_army"]
        for offence, count in zip(OFFENCES, counts, strict=True):
            rows.append(
                {
                    "point": int(row["point"]),
                    "scenario": row["scenario"],
                    "replicate": int(row["replicate"]),
                    "seed": int(row["seed"]),
                    "offence": offence,
                    "recruits": int(count),
                    "matches_batch": bool(matches),
                }
            )
    cols = ["point", "scenario", "replicate", "seed", "offence", "recruits", "matches_batch"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- the run


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
        return int(self.batch.n_ok)

    @property
    def n_failed(self) -> int:
        return int(self.batch.n_failed)

    @property
    def n_resumed(self) -> int:
        return int(self.batch.n_resumed)

    def failures(self) -> pd.DataFrame:
        return self.batch.failures()


def check_out_dir(out_dir: Path, *, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse, before anything runs, an `--out` that is not a comparison to resume or (with
    `overwrite`) to replace, or an empty or new directory."""
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


def _interrupted_entropy(out_dir: Path) -> int | None:
    from .experiments.directory import stored_entropy

    return stored_entropy(out_dir) or stored_entropy(out_dir / "batch")


def scenarios_from_manifest(manifest: dict) -> dict[str, Scenario]:
    """The resolved scenarios stored in a comparison manifest, by name."""
    out = {}
    for name, data in manifest.get("scenario_data", {}).items():
        data = dict(data)
        file = data.pop("source_file", "") or "<scenario>"
        out[name] = validate_raw(data, file)
    return out


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
    policies: Sequence[str | os.PathLike | Scenario] = POLICIES,
    populations: Sequence[str | os.PathLike | Scenario] = POPULATIONS,
    replicates: int = 10,
    population: int | None = None,
    days: int | None = None,
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
    `report=False` skips figures and the report.
    """
    from . import experiments as ex
    from .experiments.directory import remove_own_outputs
    from .experiments.runner import write_table

    started = time.perf_counter()
    scenarios = list(COUNTRY_SCENARIOS if scenarios is None or not len(scenarios) else scenarios)
    args = {"replicates": replicates, "population": population, "days": days}
    validate(CompareArgs, {**args, "workers": workers, "entropy": entropy}, "compare")
    points = plan(scenarios, policies, populations)
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
        comparison = describe(summary, compared, ex.SUMMARY_METRICS)
        cells = [p for p in points if p.policy is not None]
        matrix = describe(summary, [p.name for p in cells], ex.SUMMARY_METRICS)
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
        paired = paired_differences(summary, pairs, ex.SUMMARY_METRICS)
        offences = offence_composition(summary, replicates=offence_replicates)
        fit = observation_fit(
            batch.runs, {p.name: p.scenario for p in points if p.compared}, observations
        )
        for name, df in (
            ("comparison.csv", comparison),
            ("matrix.csv", matrix),
            ("paired_differences.csv", paired),
            ("offences.csv", offences),
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
            from .report import build_report

            t0 = time.perf_counter()
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


# --------------------------------------------------------------------------- printing


def fmt(metric: str, v: float) -> str:
    """A metric value as people read it (shares in %, counts with thousands separators)."""
    if v is None or v != v:
        return "n/a"
    if metric.startswith("share_"):
        return f"{100 * v:.1f}%"
    if metric.endswith("_pct") or metric.endswith("_per_1000_recruits"):
        return f"{v:,.1f}"
    return f"{v:,.0f}"


def fmt_diff(metric: str, v: float) -> str:
    if v is None or v != v:
        return "n/a"
    if metric.startswith("share_"):
        return f"{100 * v:+.1f} pp"
    if metric.endswith("_pct") or metric.endswith("_per_1000_recruits"):
        return f"{v:+,.1f}"
    return f"{v:+,.0f}"


def comparison_table(result: CompareResult):
    from rich.table import Table

    comp = result.comparison
    names = list(dict.fromkeys(comp["scenario"]))
    reps = result.manifest["replicates"]
    table = Table(
        title=f"comparison: median [2.5th, 97.5th percentile] over {reps} replicates",
        title_justify="left",
    )
    table.add_column("metric", no_wrap=True)
    for n in names:
        table.add_column(n, justify="right")
    by = comp.set_index(["scenario", "metric"])
    for m in KEY_METRICS:
        cells = []
        for n in names:
            r = by.loc[(n, m)]
            cells.append(f"{fmt(m, r['median'])} [{fmt(m, r['p2_5'])}, {fmt(m, r['p97_5'])}]")
        table.add_row(METRIC_LABELS[m], *cells)
    return table


MATRIX_METRICS = ("released_to_army", "killed", "share_violent_among_recruits")


def matrix_table(result: CompareResult):
    from rich.table import Table

    mx = result.matrix
    pops = list(dict.fromkeys(mx["population"]))
    table = Table(
        title="counterfactual matrix: each policy's rules on each population (mean over "
        "replicates)",
        title_justify="left",
    )
    table.add_column("policy", no_wrap=True)
    for pop in pops:
        for i, m in enumerate(MATRIX_METRICS):
            table.add_column((f"{pop}\n" if i == 0 else "\n") + METRIC_LABELS[m], justify="right")
    by = mx.set_index(["policy", "population", "metric"])
    for pol in dict.fromkeys(mx["policy"]):
        cells = [fmt(m, by.loc[(pol, pop, m), "mean"]) for pop in pops for m in MATRIX_METRICS]
        table.add_row(pol, *cells)
    return table


PAIRED_METRICS = ("released_to_army", "killed", "prison_population_change_pct")


def paired_table(result: CompareResult):
    from rich.table import Table

    pd_ = result.paired
    table = Table(
        title="paired differences from each population's own rules: mean [95% t-interval]",
        title_justify="left",
    )
    table.add_column("population", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    for m in PAIRED_METRICS:
        table.add_column(METRIC_LABELS[m], justify="right")
    by = pd_.set_index(["population", "policy", "metric"])
    pops = list(dict.fromkeys(pd_["population"]))
    for j, pop in enumerate(pops):
        pols = list(dict.fromkeys(pd_.loc[pd_["population"] == pop, "policy"]))
        for i, pol in enumerate(pols):
            cells = []
            for m in PAIRED_METRICS:
                r = by.loc[(pop, pol, m)]
                cells.append(
                    f"{fmt_diff(m, r['mean_diff'])} "
                    f"[{fmt_diff(m, r['t_low'])}, {fmt_diff(m, r['t_high'])}]"
                )
            table.add_row(
                pop if i == 0 else "",
                pol,
                *cells,
                end_section=i == len(pols) - 1 and j < len(pops) - 1,
            )
    return table
