"""Report sections every kind of report shares: run information, results per scenario,
the fit to observations, figures, notes, and the appendix of assumptions (scenarios,
regimes, and every parameter with its source, each calibration command once).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from ..figures import FigureInfo
from ..scenario import Scenario
from .blocks import Code, Details, Fig, H, Items, P, Table
from .labels import EFFECT_LABELS, KEY_METRICS, METRIC_LABELS, fmt, fmt_range


def num(v: Any) -> float:
    """A value as a float, NaN if it is not a number.

    Args:
        v: The value.

    Returns:
        The number.
    """
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def value_text(v: Any) -> str:
    """Short text of a scenario value: distributions as dist(args), lists in brackets.

    Args:
        v: The value.

    Returns:
        The text.
    """
    if isinstance(v, dict):
        if "dist" in v:
            args = ", ".join(f"{k}={value_text(x)}" for k, x in v.items() if k != "dist")
            return f"{v['dist']}({args})"
        return ", ".join(f"{k}={value_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(value_text(x) for x in v) + "]" if v else "none"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _lookup(data: dict, dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def source_kind(source: str) -> str:
    """'assumption', 'calibrated' or 'cited', from how a [sources] entry begins."""
    text = str(source).strip().lower()
    if text.startswith("assumption"):
        return "assumption"
    if text.startswith("calibrated"):
        return "calibrated"
    return "cited"


# Inputs the outputs depend on most (volunteering, approval, eligibility, front hazards).
KEY_PARAMETERS = frozenset(
    {
        "offence_shares",
        "motivation_sigma",
        "max_remaining_sentence_days",
        "baseline_per_day",
        "intensity",
        "boost",
        "ramp_up_days",
        "visit_multiplier",
        "release_type",
        "pay_wages",
        "signup_bonus_wages",
        "home_leave",
        "min_fitness",
        "approval_capacity_per_day",
        "contract_days",
        "killed_per_day",
        "wounded_discharged_per_day",
        "deserted_per_day",
        "captured_per_day",
        "award_release_per_day",
    }
)


def scenario_blocks(
    scenarios: dict[str, Scenario], names: list[str], heading: str = "Scenarios compared"
) -> list:
    """Report section describing the scenarios: country, period, population and regimes.

    Args:
        scenarios: The scenarios, by name.
        names: Names of the scenarios to list, in order.
        heading: Heading of the section.

    Returns:
        The report blocks.
    """
    blocks: list = [H(2, heading)]
    rows = []
    for n in names:
        s = scenarios.get(n)
        if s is None:
            rows.append([n, "(not available)", "", "", "", "", ""])
            continue
        m = s.scenario
        rows.append(
            [
                n,
                m.title or "",
                m.country,
                str(m.start_date),
                str(m.end_date),
                str(m.war_end_date) if m.war_end_date else "not before the end",
                m.description or "",
            ]
        )
    blocks.append(
        Table(
            ["scenario", "title", "country", "from", "to", "war ends", "description"],
            rows,
            right=frozenset(),
        )
    )
    for n in names:
        s = scenarios.get(n)
        if s is None:
            continue
        rows = []
        for rid, r in s.regimes.items():
            contract = (
                f"fixed, {r.contract_days} days" if r.contract == "fixed" else "until war's end"
            )
            rows.append(
                [
                    rid,
                    r.label,
                    f"{r.start_date} to {r.end_date or 'open'}",
                    ", ".join(r.statuses),
                    "none" if not r.excluded_offences else ", ".join(r.excluded_offences),
                    f"{r.approval}"
                    + (
                        f", {r.approval_capacity_per_day}/day"
                        if r.approval_capacity_per_day
                        else ""
                    ),
                    f"{contract}; {r.release_type}",
                ]
            )
        blocks.append(
            Table(
                ["regime", "label", "in force", "who", "excluded offences", "approval", "contract"],
                rows,
                caption=f"Regimes of {n} (population: {s.population.initial_size:,} people "
                f"in custody at the start, {s.population.admissions_per_day:g} admissions a day)",
                right=frozenset(),
            )
        )
    return blocks


# "reproduce with: prisonflow ..." up to the end, a ")" or the next "; " (a refit's note goes
# on with "; before this fit: ...", which may quote the command of an earlier fit).
_COMMAND = re.compile(r";?\s*reproduce with:\s*(prisonflow (?:[^;)]|;(?! ))+)")


def split_command(source: str) -> tuple[str, str | None]:
    """A [sources] entry without its "reproduce with: prisonflow ..." commands, and the
    first command (the current fit's; None if it has none). Commands of earlier fits,
    quoted in the note's history, are dropped."""
    text = str(source)
    commands = [m.group(1).strip() for m in _COMMAND.finditer(text)]
    if not commands:
        return text, None
    kept = _COMMAND.sub(";", text)
    kept = re.sub(r"\s*;(\s*;)+", ";", kept).replace("(;", "(").replace(";)", ")")
    return kept.strip(" ;"), commands[0]


def sources_blocks(scenarios: dict[str, Scenario], names: list[str]) -> list:
    """Every parameter with its value and source, key assumptions first; calibration
    commands are listed once (C1, C2, ...) rather than in every calibrated row."""
    commands: dict[str, int] = {}
    blocks: list = [
        H(2, "Key assumptions and sources"),
        P(
            "Every parameter of a bundled scenario cites its source in the file's [sources] "
            "table: a seed document, a publication and date, 'assumption' (a value no source "
            "gives, a candidate for sweeps and calibration) or 'calibrated' (fitted to the "
            "observations). The key assumptions come first; the full table follows."
        ),
    ]
    for n in names:
        s = scenarios.get(n)
        if s is None or not s.sources:
            continue
        data = s.to_dict()
        rows, key_rows = [], []
        for key, src in s.sources.items():
            kind = source_kind(src)
            src, command = split_command(src)
            if command:
                number = commands.setdefault(command, len(commands) + 1)
                src = f"{src}; command C{number} (below)"
            row = [key, value_text(_lookup(data, key)), src, kind]
            rows.append(row)
            if kind != "cited" and key.split(".")[-1] in KEY_PARAMETERS:
                key_rows.append(row)
        counts = {k: sum(r[3] == k for r in rows) for k in ("assumption", "calibrated")}
        blocks.append(
            H(
                3,
                f"{n}: {len(rows)} parameters cited; {counts['assumption']} assumptions, "
                f"{counts['calibrated']} calibrated",
            )
        )
        if key_rows:
            blocks.append(
                Table(
                    ["parameter", "value", "source", "kind"],
                    key_rows,
                    caption="Key assumptions: the inputs that drive volunteering, approval and "
                    "the front, where no source gives the value (assumed or calibrated)",
                    right=frozenset(),
                )
            )
        blocks.append(
            Details(
                f"All {len(rows)} parameters of {n} with their sources",
                [Table(["parameter", "value", "source", "kind"], rows, right=frozenset())],
            )
        )
    if commands:
        blocks.append(H(3, "Calibration commands"))
        for command, number in commands.items():
            blocks += [P(f"C{number}:"), Code(command)]
    return blocks


def comparison_blocks(comp: pd.DataFrame, names: list[str], reps: Any, title: str) -> list:
    """Report section comparing scenarios: median and 95% range of each metric.

    Args:
        comp: The comparison table.
        names: Names of the scenarios, in order.
        reps: Number of replicates.
        title: Heading of the section.

    Returns:
        The report blocks.
    """
    blocks: list = [
        H(2, title),
        P(
            f"For each scenario: the median over {reps} replicates and the range from the 2.5th "
            "to the 97.5th percentile of the replicates (the spread of outcomes the model's "
            "randomness produces with these inputs; it does not include uncertainty about the "
            "inputs themselves). comparison.csv also has the mean and every metric."
        ),
    ]
    by = comp.set_index(["scenario", "metric"])
    rows = []
    effects = [m for m in EFFECT_LABELS if m in set(comp["metric"])]
    for m in (*KEY_METRICS, *effects):
        row = [METRIC_LABELS.get(m, m)]
        for n in names:
            if (n, m) not in by.index:
                row += ["n/a", ""]
                continue
            r = by.loc[(n, m)]
            row += [fmt(m, r["median"]), fmt_range(m, r["p2_5"], r["p97_5"])]
        rows.append(row)
    headers = ["metric"]
    for n in names:
        headers += [f"{n}: median", "95% range"]
    blocks.append(Table(headers, rows))
    return blocks


QUAL_SIGN = {"at_least": "at least ", "up_to": "up to ", "about": "about ", "exact": ""}


def fit_blocks(fit: pd.DataFrame | None, scaled: bool) -> list:
    """Report section on the fit to observations: which are inside the 90% interval.

    Args:
        fit: The fit table, or None.
        scaled: Whether the runs were scaled down from the full population.

    Returns:
        The report blocks.
    """
    blocks: list = [H(2, "Fit to observations")]
    if fit is None or not len(fit):
        blocks.append(P("No comparable observation falls within the simulated periods."))
        return blocks
    n_in = int(fit["inside"].astype(bool).sum())
    blocks.append(
        P(
            f"{n_in} of {len(fit)} dated observations are consistent with the model's 90% "
            "interval (5th-95th percentile over replicates) on their date. Rules: 'at least "
            "N' needs the interval to reach N; 'up to N' needs it to reach down to N; 'about "
            "N' needs it to overlap N ± 10%; 'exact' needs it to contain N. A claim reported "
            "after recruitment stopped is read on the day it stopped (model date)."
        )
    )
    if scaled:
        blocks.append(
            P(
                "These runs used a reduced --population: counts in people are not comparable "
                "with the observations; rerun at real scale for this table.",
                muted=True,
            )
        )
    rows = []
    for r in fit.itertuples():
        date = pd.Timestamp(r.date)
        md = pd.to_datetime(r.model_date, errors="coerce")
        when = f"{date:%Y-%m-%d}" + (
            f" (model read {md:%Y-%m-%d})" if not pd.isna(md) and md != date else ""
        )
        rows.append(
            [
                str(r.scenario),
                f"{r.metric} ({r.kind})",
                when,
                f"{QUAL_SIGN.get(r.qualifier, '')}{num(r.value):,.0f}",
                f"{num(r.model_median):,.0f}",
                f"{num(r.model_p05):,.0f} to {num(r.model_p95):,.0f}",
                "yes" if bool(r.inside) else "NO",
                str(r.source),
            ]
        )
    blocks.append(
        Table(
            [
                "scenario",
                "observation",
                "date",
                "observed",
                "model median",
                "model 90% interval",
                "consistent",
                "source",
            ],
            rows,
            right=frozenset({3, 4, 5}),
        )
    )
    return blocks


def run_info(manifest: dict, what: str) -> list:
    """Report items on how the output was made: version, commit, entropy and scale.

    Args:
        manifest: The output's manifest.
        what: Sentence saying what was run.

    Returns:
        The report blocks.
    """
    commit = manifest.get("git_commit") or "unknown"
    scale = manifest.get("population") or manifest.get("design", {}).get("population")
    items = [
        f"Made by prisonflow {manifest.get('prisonflow', '?')} (git commit {commit}) on "
        f"{manifest.get('created', '?')}; Python {manifest.get('python', '?')}.",
        f"{what}",
        f"Entropy {manifest.get('entropy')}: replicate r of every scenario uses the same seed "
        "(common random numbers).",
        "Scale: "
        + (
            f"{int(scale):,} people at the start of every run (reduced)."
            if scale
            else "real scale (each scenario's own population)."
        ),
    ]
    executor = manifest.get("executor") or "executor not recorded"
    if manifest.get("wall_s") is not None:
        items.append(f"Wall time {float(manifest['wall_s']):.1f} s ({executor}).")
    elif manifest.get("wall_s_before_report") is not None:  # a report made by its run
        before = float(manifest["wall_s_before_report"])
        items.append(
            f"Wall time {before:.1f} s for the runs and tables ({executor}), then this report."
        )
    blocks: list = [Items(items)]
    argv = manifest.get("argv")
    if argv:
        cmd = " ".join(["prisonflow", *[str(a) for a in argv[1:]]])
        blocks += [P("Command:"), Code(cmd)]
    return blocks


def regimes_by_name(scenarios: dict[str, Scenario]) -> dict[str, list]:
    """Start dates of each scenario's regimes, to mark them on figures.

    Args:
        scenarios: The scenarios, by name.

    Returns:
        Per scenario, its (regime id, start date) pairs.
    """
    return {
        n: [(rid, pd.Timestamp(r.start_date)) for rid, r in s.regimes.items()]
        for n, s in scenarios.items()
    }


def figure_blocks(made: list[FigureInfo], start: int = 1, heading: str | None = "Figures") -> list:
    """Figures numbered from `start`, under `heading` (none: no heading)."""
    blocks: list = [H(2, heading)] if heading else []
    for i, info in enumerate(made, start=start):
        blocks += [H(3, f"Figure {i}. {info.title}"), Fig(info, i)]
    return blocks


def notes_blocks(extra: list[str] | tuple[str, ...] = ()) -> list:
    """Notes and limitations every report states, then `extra` (the kind's own)."""
    items = [
        "Intervals describe the model's randomness with these inputs (replicates), not the "
        "uncertainty of the inputs; for that, see sensitivity sweeps (prisonflow sweep) and "
        "calibration.",
        "Many inputs are assumptions (see the appendix, Key assumptions and sources); the "
        "scenario files say which. Counts of people deployed, killed or deserted are model "
        "outputs under those assumptions, not estimates of what happened.",
        *extra,
    ]
    return [H(2, "Notes and limitations"), Items(items)]


DAYS_PER_MONTH = 365.25 / 12


def exposure_days(scn: Scenario, days: int) -> int:
    """Days of the first `days` of `scn` on which some regime is in force (before the war's
    end): the time the rules had to recruit."""
    start = scn.scenario.start_date
    horizon = days
    if scn.scenario.war_end_date is not None:
        horizon = min(horizon, (scn.scenario.war_end_date - start).days)
    spans = sorted(
        (
            max(0, (r.start_date - start).days),
            horizon if r.end_date is None else min(horizon, (r.end_date - start).days + 1),
        )
        for r in scn.regimes.values()
    )
    total, reach = 0, 0
    for a, b in spans:
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def headline_blocks(
    comp: pd.DataFrame | None,
    names: list[str],
    scenarios: dict[str, Scenario],
    labels: dict[str, str],
    days: int | None,
    population: int | None,
) -> list:
    """The answer first: per scenario, recruits released to the army in total, per month of
    the rules' exposure and per 1,000 prisoners at the start, with the window lengths, and
    deaths per 1,000 recruits and the violent share."""
    if comp is None or not len(comp):
        return []
    by = comp.set_index(["scenario", "metric"])
    items = []
    for n in names:
        keys = [(n, m) for m in ("released_to_army", "killed_per_1000_recruits")]
        if any(k not in by.index for k in keys):
            continue
        rec, kil = by.loc[keys[0]], by.loc[keys[1]]
        text = (
            f"{labels.get(n, n)} ({n}): {fmt('released_to_army', rec['median'])} people "
            f"released to the army (95% range "
            f"{fmt_range('released_to_army', rec['p2_5'], rec['p97_5'])})"
        )
        scn = scenarios.get(n)
        if scn is not None:
            n_days = scn.horizon_days(days, extend=True)
            exposed = exposure_days(scn, n_days)
            start_pop = population or scn.population.initial_size
            if exposed > 0 and start_pop > 0:
                per_month = rec["median"] / (exposed / DAYS_PER_MONTH)
                text += (
                    f" over {n_days:,} simulated days, {exposed:,} of them with recruiting "
                    f"rules in force: {per_month:,.0f} a month of exposure, or "
                    f"{per_month / (start_pop / 1000):,.1f} a month per 1,000 of the "
                    f"{start_pop:,} people in custody at the start"
                )
        text += f"; {fmt('killed_per_1000_recruits', kil['median'])} killed per 1,000 recruits"
        if (n, "share_violent_among_recruits") in by.index:
            vio = by.loc[(n, "share_violent_among_recruits")]
            text += (
                f"; {fmt('share_violent_among_recruits', vio['median'])} of recruits convicted "
                "or accused of violent offences"
            )
        items.append(text + ".")
    if not items:
        return []
    return [
        H(2, "At a glance"),
        P(
            "Medians over replicates. Totals cover windows of different lengths and prisons of "
            "different sizes; the rates per month of exposure and per 1,000 people in custody "
            "at the start make them comparable."
        ),
        Items(items),
    ]
