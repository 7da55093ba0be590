"""The comparison report: the answer first (rates per month of exposure and per 1,000
people in custody, the key figure), then the results (comparison, counterfactual matrix,
paired differences), figures, the fit to observations and notes, and the assumptions in an
appendix. Labels come from the scenarios' metadata (`[scenario] short_label`,
`country_name`), stored in the comparison's manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from .. import figures as figs
from ..decompose_report import decomposition_section
from ..figures.parallel import draw_all
from ..manifest import scenarios_from_manifest
from ..observed_outputs import with_custody_by_status
from ..taxonomy import FLOW_COLUMNS, SEXES, STATUSES
from .blocks import H, Items, P, Table
from .files import read_csv, read_parquet
from .labels import METRIC_LABELS, fmt, fmt_diff, fmt_range, population_label
from .sections import (
    comparison_blocks,
    figure_blocks,
    fit_blocks,
    headline_blocks,
    notes_blocks,
    regimes_by_name,
    run_info,
    scenario_blocks,
    sources_blocks,
)
from .who import who_blocks

# Columns of runs.parquet the figures draw (custody by status and sex: observations).
RUN_COLUMNS = (
    *("scenario", "replicate", "day", "date", "eligible", "deployed", "in_custody"),
    *("screening", "awaiting_court", "training", *FLOW_COLUMNS),
    *(f"incarcerated_{status}_{sex}" for status in STATUSES for sex in SEXES),
)


def compare_labels(manifest: dict, scenarios: dict) -> tuple[dict, dict, dict]:
    """(point labels, population labels, policy labels) of a comparison, from its manifest
    (labels stored by `sim.compare` from the scenarios' metadata; names when absent)."""
    labels = {p["name"]: p["label"] or p["name"] for p in manifest["points"]}
    pop_labels = {
        pop: population_label(scenarios[pop]) if pop in scenarios else pop
        for pop in manifest["populations"]
    }
    stored = manifest.get("policy_labels") or {}
    policy_labels = {pol: stored.get(pol, pol) for pol in manifest["policies"]}
    return labels, pop_labels, policy_labels


def compare_figures(directory: Path, manifest: dict, fig_dir: Path) -> list:
    """Draw the comparison's figures into `fig_dir`; return their FigureInfos (the first is
    the key figure)."""
    scenarios = scenarios_from_manifest(manifest)
    points = manifest["points"]
    compared = [p["name"] for p in points if p["compared"]]
    cells = pd.DataFrame([p for p in points if p["policy"] is not None])
    labels, pop_labels, policy_labels = compare_labels(manifest, scenarios)
    runs = read_parquet(directory / "batch" / "runs.parquet")
    runs = with_custody_by_status(runs[[c for c in RUN_COLUMNS if c in runs.columns]])
    paired = read_csv(directory / "paired_differences.csv")
    offences = read_csv(directory / "offences.csv")
    fit = read_csv(directory / "observation_fit.csv")
    scaled = manifest.get("population") is not None
    jobs: list[Callable[[], figs.FigureInfo | None]] = [
        partial(
            figs.stocks_figure, runs, compared, labels, fig_dir, regimes=regimes_by_name(scenarios)
        ),
        partial(figs.flow_figure, runs, compared, labels, fig_dir),
        partial(figs.observations_figure, runs, fit, labels, fig_dir, scaled=scaled),
    ]
    if len(cells):
        jobs.append(
            partial(
                figs.counterfactual_figure,
                runs,
                cells,
                manifest.get("references", {}),
                pop_labels,
                policy_labels,
                fig_dir,
            )
        )
    jobs.append(
        partial(
            figs.paired_figure,
            paired,
            [
                ("released_to_army", "released to army (difference, people)"),
                ("killed", "killed (difference, people)"),
                ("prison_population_change_pct", "prison population change (difference, pp)"),
            ],
            pop_labels,
            policy_labels,
            fig_dir,
        )
    )
    rows = [(n, f"{labels[n]} ({n})") for n in compared]
    separators = []
    for pop in manifest["populations"]:
        separators.append(len(rows))
        sub = cells[cells["population"] == pop] if len(cells) else cells
        country = pop_labels.get(pop, pop).split(" (")[0]
        rows += [
            (r["name"], f"{policy_labels.get(r['policy'], r['policy'])} rules → {country}")
            for _, r in sub.iterrows()
        ]
    if offences is not None:
        jobs.append(partial(figs.offences_figure, offences, rows, fig_dir, separators=separators))
    return [f for f in draw_all(jobs) if f is not None]


def compare_report(directory: Path, manifest: dict) -> tuple[str, list]:
    """Title and blocks of a comparison's report."""
    scenarios = scenarios_from_manifest(manifest)
    compared = [p["name"] for p in manifest["points"] if p["compared"]]
    n_cells = sum(p["policy"] is not None for p in manifest["points"])
    labels, pop_labels, policy_labels = compare_labels(manifest, scenarios)
    comp = read_csv(directory / "comparison.csv")
    matrix = read_csv(directory / "matrix.csv")
    paired = read_csv(directory / "paired_differences.csv")
    fit = read_csv(directory / "observation_fit.csv")
    scaled = manifest.get("population") is not None
    reps = manifest.get("replicates")
    made = compare_figures(directory, manifest, directory / "figures")

    title = "Prison-to-army flows: " + " and ".join(compared) + " compared"
    blocks: list = [H(1, title)]
    headline = headline_blocks(
        comp, compared, scenarios, labels, manifest.get("days"), manifest.get("population")
    )
    blocks += headline or [H(2, "At a glance")]
    blocks += [Items(paired_sentences(paired, pop_labels, policy_labels))]
    blocks += figure_blocks(made[:1], heading=None)
    blocks += comparison_blocks(comp, compared, reps, "Results")
    if matrix is not None and len(matrix):
        blocks += matrix_blocks(matrix, pop_labels, policy_labels)
    if paired is not None and len(paired):
        blocks += paired_blocks(paired, pop_labels, policy_labels, reps)
    blocks += who_blocks(read_csv(directory / "who_is_recruited.csv"), reps)
    blocks += figure_blocks(made[1:], start=2)
    blocks += decomposition_section(directory, len(made) + 1)
    blocks += fit_blocks(fit, scaled)
    blocks += notes_blocks(compare_notes(manifest, matrix, policy_labels))
    blocks += [H(2, "Appendix: how this was run, scenarios, assumptions and sources")]
    blocks += run_info(
        manifest,
        f"{manifest.get('n_runs')} runs ({manifest.get('n_ok')} ok, "
        f"{manifest.get('n_failed')} failed): {len(compared)} compared scenario(s) and "
        f"{n_cells} counterfactual cells ({len(manifest['policies'])} policies x "
        f"{len(manifest['populations'])} populations), {reps} replicates each, in one batch "
        "(batch/).",
    )
    blocks += scenario_blocks(scenarios, compared)
    blocks += sources_blocks(scenarios, compared)
    return title, blocks


def paired_sentences(paired, pop_labels: dict[str, str], policy_labels: dict[str, str]) -> list:
    """For each population: which other rules would recruit the most and the fewest."""
    if paired is None or not len(paired):
        return []
    sub = paired[
        (paired["metric"] == "released_to_army") & (paired["policy"] != paired["reference"])
    ]
    items = []
    for pop in dict.fromkeys(sub["population"]):
        s = sub[sub["population"] == pop]
        hi = s.loc[s["mean_diff"].idxmax()]
        lo = s.loc[s["mean_diff"].idxmin()]
        items.append(
            f"On {pop_labels.get(pop, pop)}, of the other rules "
            f"{policy_labels.get(hi['policy'], hi['policy'])} would recruit the most "
            f"({fmt_diff('released_to_army', hi['mean_diff'])} recruits compared with the "
            f"population's own rules) and {policy_labels.get(lo['policy'], lo['policy'])} the "
            f"fewest ({fmt_diff('released_to_army', lo['mean_diff'])})."
        )
    return items


def compare_notes(manifest: dict, matrix, policy_labels: dict[str, str]) -> list[str]:
    """The comparison's own notes and limitations."""
    checked = manifest.get("offences_match_batch")
    items = [
        "Offence composition: counted from the batch's own runs (recruits by offence, "
        f"stored with each run in batch/summary.parquet) for the first "
        f"{manifest.get('offence_replicates')} replicate(s) of every scenario; nothing is run "
        "again. "
        + (
            "The counts add up to each run's released_to_army (checked)."
            if checked
            else "For some runs they do not add up to released_to_army: see offences.csv, "
            "matches_batch."
        ),
        "The funnel starts at applications: the number of people ever eligible is not a "
        "model output (only the daily eligible stock is).",
        "Counterfactual timelines are shifted to the population's start: a policy's regimes "
        "start on the population's first day, not on their historical dates.",
        "Capacities are absolute numbers of the policy scenario and are not rescaled to "
        "the population: a court's hearings a day limit its law on a larger country's "
        "prisons (and on any run with a reduced --population).",
    ]
    return items + nobody_notes(matrix, policy_labels)


def nobody_notes(matrix: pd.DataFrame | None, policy_labels: dict[str, str]) -> list[str]:
    """A sentence for each cell whose rules recruit nobody (they cover no one there)."""
    if matrix is None or not len(matrix):
        return []
    rec = matrix[(matrix["metric"] == "released_to_army") & (matrix["p97_5"] == 0)]
    return [
        f"{policy_labels.get(r.policy, r.policy)} rules recruit nobody on the population of "
        f"{r.population}: they cover legal statuses that population does not have."
        for r in rec.itertuples()
    ]


MATRIX_REPORT_METRICS = (
    "applications",
    "released_to_army",
    "killed",
    "deserted",
    "killed_per_1000_recruits",
    "share_violent_among_recruits",
    "prison_population_change_pct",
    "prison_population_effect_pct",
)


def present(table: pd.DataFrame, metrics: tuple[str, ...]) -> list[str]:
    """The metrics a stored table has (an earlier comparison lacks the newer ones)."""
    have = set(table["metric"])
    return [m for m in metrics if m in have]


def matrix_blocks(
    matrix: pd.DataFrame, pop_labels: dict[str, str], policy_labels: dict[str, str]
) -> list:
    """Report section on the counterfactual matrix: every policy on every population.

    Args:
        matrix: The matrix table.
        pop_labels: Labels of the populations, by name.
        policy_labels: Labels of the policies, by name.

    Returns:
        The report blocks.
    """
    blocks: list = [
        H(2, "Counterfactual matrix: every policy on every population"),
        P(
            "Each policy's regimes are applied to each country's prisons "
            "(sim.counterfactual.counterfactual): the population, start date and horizon of the "
            "population scenario, the rules of the policy scenario with its timeline shifted "
            "to start on the population's first day (gaps between regimes and the war end "
            "keep their lengths). Rules written for one legal status also cover its "
            "counterpart elsewhere (defendants on trial and pre-trial detainees). Cells: mean "
            "over replicates, with the 2.5th-97.5th percentile in brackets; matrix.csv has "
            "every metric."
        ),
    ]
    metrics = present(matrix, MATRIX_REPORT_METRICS)
    for pop in dict.fromkeys(matrix["population"]):
        sub = matrix[matrix["population"] == pop].set_index(["policy", "metric"])
        rows = []
        for pol in dict.fromkeys(matrix.loc[matrix["population"] == pop, "policy"]):
            row = [policy_labels.get(pol, pol)]
            for m in metrics:
                r = sub.loc[(pol, m)]
                row.append(f"{fmt(m, r['mean'])} ({fmt_range(m, r['p2_5'], r['p97_5'])})")
            rows.append(row)
        blocks.append(
            Table(
                ["rules of", *(METRIC_LABELS[m] for m in metrics)],
                rows,
                caption=f"On {pop_labels.get(pop, pop)}",
            )
        )
    return blocks


PAIRED_REPORT_METRICS = (
    "applications",
    "released_to_army",
    "killed",
    "deserted",
    "share_violent_among_recruits",
    "prison_population_change_pct",
    "prison_population_effect_pct",
)


def paired_blocks(
    paired: pd.DataFrame, pop_labels: dict[str, str], policy_labels: dict[str, str], reps: Any
) -> list:
    """Report section on paired differences from each population's own rules.

    Args:
        paired: The paired-differences table.
        pop_labels: Labels of the populations, by name.
        policy_labels: Labels of the policies, by name.
        reps: Number of replicates.

    Returns:
        The report blocks.
    """
    refs = "; ".join(
        f"{ref} for {pop_labels.get(pop, pop)}"
        for pop, ref in dict.fromkeys(zip(paired["population"], paired["reference"], strict=True))
    )
    blocks: list = [
        H(2, "Paired differences from each population's own rules"),
        P(
            "For each population, every policy is compared with the population's own "
            f"scenario ({refs}). Replicate r of both uses the same "
            f"seed, so each of the {reps} replicates gives one paired difference (policy "
            "minus own rules). Cells: mean difference, with the 95% t-interval of the mean "
            "(mean ± t(0.975, n-1)·sd/√n) and, in brackets, the 2.5th-97.5th percentile of "
            "the per-replicate differences. Share differences are in percentage points (pp)."
        ),
    ]
    ratios = []
    for r in paired.itertuples():
        pw, uw = r.t_high - r.t_low, r.unpaired_high - r.unpaired_low
        if pw == pw and uw == uw and uw > 0 and pw > 0:
            ratios.append(uw / pw)
    if ratios:
        med = float(pd.Series(ratios).median())
        blocks.append(
            P(
                f"Pairing narrows the intervals: the unpaired (Welch) interval of the same "
                f"runs is a median {med:.1f} times as wide as the paired one "
                "(paired_differences.csv gives both). The gain is largest where two rules "
                "recruit many of the same people."
            )
        )
    metrics = present(paired, PAIRED_REPORT_METRICS)
    for pop in dict.fromkeys(paired["population"]):
        sub = paired[paired["population"] == pop].set_index(["policy", "metric"])
        rows = []
        for pol in dict.fromkeys(paired.loc[paired["population"] == pop, "policy"]):
            row = [policy_labels.get(pol, pol)]
            for m in metrics:
                r = sub.loc[(pol, m)]
                row.append(
                    f"{fmt_diff(m, r['mean_diff'])} ({fmt_diff(m, r['t_low'])} to "
                    f"{fmt_diff(m, r['t_high'])}) [{fmt_diff(m, r['p2_5'])} to "
                    f"{fmt_diff(m, r['p97_5'])}]"
                )
            rows.append(row)
        ref = sub.reset_index()["reference"].iloc[0]
        blocks.append(
            Table(
                ["rules of", *(METRIC_LABELS[m] for m in metrics)],
                rows,
                caption=f"On {pop_labels.get(pop, pop)}: difference from {ref}",
            )
        )
    return blocks
