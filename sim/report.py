"""Reports people can read: `report.md` and a self-contained `report.html` for a comparison,
batch or sweep directory (`prisonflow report DIR`, or written by `prisonflow compare`).

The report is built as a list of blocks (headings, paragraphs, tables, figures) rendered
twice: to Markdown (figures linked from `figures/`) and to one HTML file with inline CSS
and figures embedded as base64 PNG, which loads nothing from anywhere (no scripts, fonts,
style sheets or remote images). All text that comes from scenario files, observation files
or manifests is escaped (`html.escape`, and Markdown's punctuation in report.md), so a
scenario description containing markup shows as text.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import figures as figs
from .compare import (
    KEY_METRICS,
    METRIC_LABELS,
    fmt,
    fmt_diff,
    observation_fit,
    population_label,
    scenarios_from_manifest,
    short_label,
)
from .decompose_report import decomposition_section
from .results import write_atomic_text
from .scenario import Scenario, ScenarioError, counterfactual, load_scenario

# --------------------------------------------------------------------------- blocks


@dataclass
class H:
    level: int
    text: str


@dataclass
class P:
    text: str
    muted: bool = False


@dataclass
class Items:
    items: list[str]


@dataclass
class Code:
    text: str


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""
    right: frozenset[int] | None = None  # right-aligned (numeric) columns; None: all but 1st

    def is_right(self, i: int) -> bool:
        return i >= 1 if self.right is None else i in self.right


@dataclass
class Fig:
    info: figs.FigureInfo
    number: int = 0


@dataclass
class Details:
    summary: str
    blocks: list = field(default_factory=list)


# --------------------------------------------------------------------------- rendering

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#<>~])")


def md_escape(text: Any) -> str:
    """Text for Markdown: no markup survives (HTML escaped, Markdown punctuation escaped)."""
    t = " ".join(str(text).split())
    t = _MD_SPECIAL.sub(r"\\\1", t)
    return html.escape(t, quote=False).replace("\\&lt;", "&lt;").replace("\\&gt;", "&gt;")


def h_escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render_markdown(blocks: list, base: Path) -> str:
    out: list[str] = []

    def emit(bs: list) -> None:
        for b in bs:
            if isinstance(b, H):
                out.append(f"{'#' * b.level} {md_escape(b.text)}\n")
            elif isinstance(b, P):
                out.append((f"*{md_escape(b.text)}*" if b.muted else md_escape(b.text)) + "\n")
            elif isinstance(b, Items):
                out.append("\n".join(f"- {md_escape(i)}" for i in b.items) + "\n")
            elif isinstance(b, Code):
                fence = "````" if "```" in b.text else "```"
                out.append(f"{fence}\n{b.text}\n{fence}\n")
            elif isinstance(b, Table):
                if not b.rows:
                    continue
                head = "| " + " | ".join(md_escape(h) for h in b.headers) + " |"
                sep = (
                    "|"
                    + "|".join("---:" if b.is_right(i) else "---" for i in range(len(b.headers)))
                    + "|"
                )
                body = ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in b.rows]
                if b.caption:
                    out.append(f"*{md_escape(b.caption)}*\n")
                out.append("\n".join([head, sep, *body]) + "\n")
            elif isinstance(b, Fig):
                rel = b.info.png.relative_to(base).as_posix()
                svg = b.info.svg.relative_to(base).as_posix()
                out.append(f"![{md_escape(b.info.title)}]({rel})\n")
                out.append(
                    f"*Figure {b.number}. {md_escape(b.info.title)}.* "
                    f"{md_escape(b.info.caption)} ([SVG]({svg}))\n"
                )
            elif isinstance(b, Details):
                out.append(f"**{md_escape(b.summary)}**\n")
                emit(b.blocks)

    emit(blocks)
    return "\n".join(out)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 max-width:1180px;margin:2em auto;padding:0 1.2em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.7em;border-bottom:2px solid #0072B2;padding-bottom:.2em}
h2{font-size:1.3em;margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.15em}
h3{font-size:1.08em;margin-top:1.4em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.86em}
th,td{border:1px solid #d0d0d0;padding:.25em .55em;vertical-align:top}
th{background:#eef3f8;text-align:left}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tr:nth-child(even) td{background:#fafafa}
caption{caption-side:top;text-align:left;font-style:italic;color:#444;padding:.2em 0}
figure{margin:1.2em 0 2em}
figure img{max-width:100%;height:auto;border:1px solid #e3e3e3}
figcaption{font-size:.9em;color:#333;max-width:900px}
pre{background:#f5f5f5;padding:.6em;overflow-x:auto;font-size:.85em}
.muted{color:#555;font-style:italic}
details{margin:.5em 0 1em}
summary{cursor:pointer;font-weight:600}
nav ul{columns:2;font-size:.92em}
"""


def render_html(blocks: list, title: str) -> str:
    out: list[str] = []
    toc = [b for b in blocks if isinstance(b, H) and b.level == 2]

    def emit(bs: list) -> None:
        for b in bs:
            if isinstance(b, H):
                anchor = f' id="{_anchor(b.text)}"' if b.level == 2 else ""
                out.append(f"<h{b.level}{anchor}>{h_escape(b.text)}</h{b.level}>")
                if b.level == 1 and toc:
                    out.append("<nav><ul>")
                    out.extend(
                        f'<li><a href="#{_anchor(t.text)}">{h_escape(t.text)}</a></li>' for t in toc
                    )
                    out.append("</ul></nav>")
            elif isinstance(b, P):
                cls = ' class="muted"' if b.muted else ""
                out.append(f"<p{cls}>{h_escape(b.text)}</p>")
            elif isinstance(b, Items):
                out.append("<ul>" + "".join(f"<li>{h_escape(i)}</li>" for i in b.items) + "</ul>")
            elif isinstance(b, Code):
                out.append(f"<pre><code>{h_escape(b.text)}</code></pre>")
            elif isinstance(b, Table):
                if not b.rows:
                    continue
                out.append("<table>")
                if b.caption:
                    out.append(f"<caption>{h_escape(b.caption)}</caption>")
                out.append(
                    "<thead><tr>"
                    + "".join(f"<th>{h_escape(h)}</th>" for h in b.headers)
                    + "</tr></thead><tbody>"
                )
                for r in b.rows:
                    cells = "".join(
                        f'<td class="num">{h_escape(c)}</td>'
                        if b.is_right(i)
                        else f"<td>{h_escape(c)}</td>"
                        for i, c in enumerate(r)
                    )
                    out.append(f"<tr>{cells}</tr>")
                out.append("</tbody></table>")
            elif isinstance(b, Fig):
                data = base64.b64encode(b.info.png.read_bytes()).decode("ascii")
                out.append(
                    f'<figure id="figure-{b.number}"><img alt="{h_escape(b.info.title)}" '
                    f'src="data:image/png;base64,{data}"><figcaption><b>Figure {b.number}. '
                    f"{h_escape(b.info.title)}.</b> {h_escape(b.info.caption)} "
                    f"(Vector version: {h_escape(b.info.svg.name)} in figures/.)"
                    "</figcaption></figure>"
                )
            elif isinstance(b, Details):
                out.append(f"<details><summary>{h_escape(b.summary)}</summary>")
                emit(b.blocks)
                out.append("</details>")

    emit(blocks)
    body = "\n".join(out)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{h_escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- helpers


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _value_text(v: Any) -> str:
    if isinstance(v, dict):
        if "dist" in v:
            args = ", ".join(f"{k}={_value_text(x)}" for k, x in v.items() if k != "dist")
            return f"{v['dist']}({args})"
        return ", ".join(f"{k}={_value_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(_value_text(x) for x in v) + "]" if v else "none"
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
        "applications_per_day",
        "launch_boost",
        "launch_decay_days",
        "recruiter_visit_multiplier",
        "sentence_elasticity",
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


def _interval(metric: str, lo: float, hi: float) -> str:
    return f"{fmt(metric, lo)} to {fmt(metric, hi)}"


def _read_manifest(directory: Path) -> dict:
    path = directory / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError(
            directory, None, "no manifest.json: not a prisonflow output directory"
        ) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(path, None, f"cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("kind") not in ("batch", "sweep", "compare"):
        kind = manifest.get("kind") if isinstance(manifest, dict) else None
        raise ScenarioError(
            path, "kind", f"a report needs a batch, sweep or compare directory, got {kind!r}"
        )
    return manifest


def _read_parquet(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ScenarioError(path, None, "file not found (the experiment did not finish?)")
    return pd.read_parquet(path)


def _read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


# --------------------------------------------------------------------------- sections


def scenario_blocks(
    scenarios: dict[str, Scenario], names: list[str], heading: str = "Scenarios compared"
) -> list:
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


def sources_blocks(scenarios: dict[str, Scenario], names: list[str]) -> list:
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
            row = [key, _value_text(_lookup(data, key)), src, kind]
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
    return blocks


def comparison_blocks(comp: pd.DataFrame, names: list[str], reps: Any, title: str) -> list:
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
    for m in KEY_METRICS:
        row = [METRIC_LABELS.get(m, m)]
        for n in names:
            if (n, m) not in by.index:
                row += ["n/a", ""]
                continue
            r = by.loc[(n, m)]
            row += [fmt(m, r["median"]), _interval(m, r["p2_5"], r["p97_5"])]
        rows.append(row)
    headers = ["metric"]
    for n in names:
        headers += [f"{n}: median", "95% range"]
    blocks.append(Table(headers, rows))
    return blocks


MATRIX_REPORT_METRICS = (
    "applications",
    "released_to_army",
    "killed",
    "deserted",
    "killed_per_1000_recruits",
    "share_violent_among_recruits",
    "prison_population_change_pct",
)


def matrix_blocks(matrix: pd.DataFrame, pop_labels: dict[str, str]) -> list:
    blocks: list = [
        H(2, "Counterfactual matrix: every policy on every population"),
        P(
            "Each policy's regimes are applied to each country's prisons "
            "(sim.scenario.counterfactual): the population, start date and horizon of the "
            "population scenario, the rules of the policy scenario with its timeline shifted "
            "to start on the population's first day (gaps between regimes and the war end "
            "keep their lengths). Rules written for Russian defendants also cover Ukrainian "
            "pre-trial detainees and the reverse. Cells: mean over replicates, with the "
            "2.5th-97.5th percentile in brackets; matrix.csv has every metric."
        ),
    ]
    for pop in dict.fromkeys(matrix["population"]):
        sub = matrix[matrix["population"] == pop].set_index(["policy", "metric"])
        rows = []
        for pol in dict.fromkeys(matrix.loc[matrix["population"] == pop, "policy"]):
            row = [short_label(pol)]
            for m in MATRIX_REPORT_METRICS:
                r = sub.loc[(pol, m)]
                row.append(f"{fmt(m, r['mean'])} ({_interval(m, r['p2_5'], r['p97_5'])})")
            rows.append(row)
        blocks.append(
            Table(
                ["rules of", *(METRIC_LABELS[m] for m in MATRIX_REPORT_METRICS)],
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
)


def paired_blocks(paired: pd.DataFrame, pop_labels: dict[str, str], reps: Any) -> list:
    blocks: list = [
        H(2, "Paired differences from each population's own rules"),
        P(
            "For each population, every policy is compared with the population's own "
            "scenario (ukraine_2024 for Ukraine's prisons; russia_2022_2025, Russia's "
            "regimes on their own dates, for Russia's). Replicate r of both uses the same "
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
    for pop in dict.fromkeys(paired["population"]):
        sub = paired[paired["population"] == pop].set_index(["policy", "metric"])
        rows = []
        for pol in dict.fromkeys(paired.loc[paired["population"] == pop, "policy"]):
            row = [short_label(pol)]
            for m in PAIRED_REPORT_METRICS:
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
                ["rules of", *(METRIC_LABELS[m] for m in PAIRED_REPORT_METRICS)],
                rows,
                caption=f"On {pop_labels.get(pop, pop)}: difference from {ref}",
            )
        )
    return blocks


QUAL_SIGN = {"at_least": "at least ", "up_to": "up to ", "about": "about ", "exact": ""}


def fit_blocks(fit: pd.DataFrame | None, scaled: bool) -> list:
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
                f"{QUAL_SIGN.get(r.qualifier, '')}{_num(r.value):,.0f}",
                f"{_num(r.model_median):,.0f}",
                f"{_num(r.model_p05):,.0f} to {_num(r.model_p95):,.0f}",
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
    if manifest.get("wall_s") is not None:
        executor = manifest.get("executor") or "executor not recorded"
        items.append(f"Wall time {float(manifest['wall_s']):.1f} s ({executor}).")
    blocks: list = [Items(items)]
    argv = manifest.get("argv")
    if argv:
        cmd = " ".join(["prisonflow", *[str(a) for a in argv[1:]]])
        blocks += [P("Command:"), Code(cmd)]
    return blocks


def regimes_by_name(scenarios: dict[str, Scenario]) -> dict[str, list]:
    return {
        n: [(rid, pd.Timestamp(r.start_date)) for rid, r in s.regimes.items()]
        for n, s in scenarios.items()
    }


# --------------------------------------------------------------------------- per kind


def _compare_report(directory: Path, manifest: dict) -> tuple[str, list]:
    scenarios = scenarios_from_manifest(manifest)
    points = manifest["points"]
    compared = [p["name"] for p in points if p["compared"]]
    cells = pd.DataFrame([p for p in points if p["policy"] is not None])
    labels = {p["name"]: p["label"] or p["name"] for p in points}
    pop_labels = {
        pop: population_label(scenarios[pop]) if pop in scenarios else pop
        for pop in manifest["populations"]
    }
    policy_labels = {pol: short_label(pol) for pol in manifest["policies"]}
    batch_dir = directory / "batch"
    columns = [
        "scenario",
        "replicate",
        "day",
        "date",
        "eligible",
        "deployed",
        "in_custody",
        "released_to_army",
        "applications",
        "rejected_screening",
        "rejected_court",
        "rejected_health",
        "screening",
        "awaiting_court",
        "training",
        "deployed_total",
        "killed",
        "wounded_discharged",
        "deserted",
        "captured",
        "service_completed",
    ]
    runs = _read_parquet(batch_dir / "runs.parquet")
    runs = runs[[c for c in columns if c in runs.columns]]
    comp = _read_csv(directory / "comparison.csv")
    matrix = _read_csv(directory / "matrix.csv")
    paired = _read_csv(directory / "paired_differences.csv")
    offences = _read_csv(directory / "offences.csv")
    fit = _read_csv(directory / "observation_fit.csv")
    scaled = manifest.get("population") is not None
    reps = manifest.get("replicates")

    fig_dir = directory / "figures"
    made: list[figs.FigureInfo | None] = [
        figs.stocks_figure(runs, compared, labels, fig_dir, regimes=regimes_by_name(scenarios)),
        figs.flow_figure(runs, compared, labels, fig_dir),
        figs.observations_figure(runs, fit, labels, fig_dir, scaled=scaled),
        figs.counterfactual_figure(
            runs,
            cells,
            manifest.get("references", {}),
            pop_labels,
            policy_labels,
            fig_dir,
        )
        if len(cells)
        else None,
        figs.paired_figure(
            paired,
            [
                ("released_to_army", "released to army (difference, people)"),
                ("killed", "killed (difference, people)"),
                ("prison_population_change_pct", "prison population change (difference, pp)"),
            ],
            pop_labels,
            policy_labels,
            fig_dir,
        ),
    ]
    rows = [(n, f"{labels[n]} ({n})") for n in compared]
    separators = []
    for pop in manifest["populations"]:
        separators.append(len(rows))
        sub = cells[cells["population"] == pop] if len(cells) else cells
        country = pop_labels.get(pop, pop).split(" (")[0]
        rows += [
            (r["name"], f"{short_label(r['policy'])} rules → {country}") for _, r in sub.iterrows()
        ]
    if offences is not None:
        made.append(figs.offences_figure(offences, rows, fig_dir, separators=separators))

    n_cells = len(cells)
    title = "Prison-to-army flows: " + " and ".join(compared) + " compared"
    blocks: list = [H(1, title)]
    blocks += run_info(
        manifest,
        f"{manifest.get('n_runs')} runs ({manifest.get('n_ok')} ok, "
        f"{manifest.get('n_failed')} failed): {len(compared)} compared scenario(s) and "
        f"{n_cells} counterfactual cells ({len(manifest['policies'])} policies x "
        f"{len(manifest['populations'])} populations), {reps} replicates each, in one batch "
        "(batch/).",
    )
    blocks += headline_blocks(comp, compared, paired, pop_labels)
    blocks += scenario_blocks(scenarios, compared)
    blocks += sources_blocks(scenarios, compared)
    blocks += comparison_blocks(comp, compared, reps, "Comparison")
    if matrix is not None and len(matrix):
        blocks += matrix_blocks(matrix, pop_labels)
    if paired is not None and len(paired):
        blocks += paired_blocks(paired, pop_labels, reps)
    blocks += figure_blocks([f for f in made if f is not None])
    blocks += decomposition_section(directory, sum(f is not None for f in made) + 1)
    blocks += fit_blocks(fit, scaled)
    blocks += notes_blocks({**manifest, "_matrix": matrix}, "compare")
    return title, blocks


def headline_blocks(comp, compared, paired, pop_labels) -> list:
    if comp is None or not len(comp):
        return []
    by = comp.set_index(["scenario", "metric"])
    items = []
    for n in compared:
        try:
            rec = by.loc[(n, "released_to_army")]
            kil = by.loc[(n, "killed_per_1000_recruits")]
            vio = by.loc[(n, "share_violent_among_recruits")]
        except KeyError:
            continue
        items.append(
            f"{n}: {fmt('released_to_army', rec['median'])} people released to the army "
            f"(95% range {_interval('released_to_army', rec['p2_5'], rec['p97_5'])}); "
            f"{fmt('killed_per_1000_recruits', kil['median'])} killed per 1,000 recruits; "
            f"{fmt('share_violent_among_recruits', vio['median'])} of recruits convicted or "
            "accused of violent offences."
        )
    if paired is not None and len(paired):
        sub = paired[
            (paired["metric"] == "released_to_army") & (paired["policy"] != paired["reference"])
        ]
        for pop in dict.fromkeys(sub["population"]):
            s = sub[sub["population"] == pop]
            if not len(s):
                continue
            hi = s.loc[s["mean_diff"].idxmax()]
            lo = s.loc[s["mean_diff"].idxmin()]
            items.append(
                f"On {pop_labels.get(pop, pop)}, of the other rules "
                f"{short_label(hi['policy'])} would recruit the most "
                f"({fmt_diff('released_to_army', hi['mean_diff'])} recruits compared with the "
                f"population's own rules) and {short_label(lo['policy'])} the fewest "
                f"({fmt_diff('released_to_army', lo['mean_diff'])})."
            )
    return [H(2, "At a glance"), Items(items)] if items else []


def figure_blocks(made: list[figs.FigureInfo]) -> list:
    blocks: list = [H(2, "Figures")]
    for i, info in enumerate(made, start=1):
        blocks += [H(3, f"Figure {i}. {info.title}"), Fig(info, i)]
    return blocks


def notes_blocks(manifest: dict, kind: str) -> list:
    items = [
        "Intervals describe the model's randomness with these inputs (replicates), not the "
        "uncertainty of the inputs; for that, see sensitivity sweeps (prisonflow sweep) and "
        "calibration.",
        "Many inputs are assumptions (see Key assumptions and sources); the scenario files "
        "say which. Counts of people deployed, killed or deserted are model outputs under "
        "those assumptions, not estimates of what happened.",
    ]
    if kind == "compare":
        items += [
            "Offence composition: the batch stores time series, not individual recruits, so "
            f"the first {manifest.get('offence_replicates')} replicate(s) of every scenario were "
            "run again with the same seeds; they reproduce the batch's runs "
            + (
                "exactly (checked on released_to_army)."
                if manifest.get("offences_match_batch")
                else "(check failed for some runs: see offences.csv, matches_batch)."
            ),
            "The funnel starts at applications: the number of people ever eligible is not a "
            "model output (only the daily eligible stock is).",
            "Counterfactual timelines are shifted to the population's start; Storm-Z's "
            "six-month contracts or 64-FZ's suspects thus start in mid-2022 on Russia's "
            "prisons, not on their historical dates.",
            "Capacities are absolute numbers of the policy scenario and are not rescaled to "
            "the population: Ukraine's court hearings a day limit its law on Russia's ten "
            "times larger prisons (and on any run with a reduced --population).",
        ]
        items += nobody_notes(manifest.get("_matrix"))
    return [H(2, "Notes and limitations"), Items(items)]


def nobody_notes(matrix: pd.DataFrame | None) -> list[str]:
    """A sentence for each cell whose rules recruit nobody (they cover no one there)."""
    if matrix is None or not len(matrix):
        return []
    rec = matrix[(matrix["metric"] == "released_to_army") & (matrix["p97_5"] == 0)]
    return [
        f"{short_label(r.policy)} rules recruit nobody on the population of {r.population}: "
        "they cover legal statuses that population does not have (Russia's suspects under "
        "investigation have no Ukrainian counterpart; Ukraine's pre-trial detainees are "
        "matched with Russia's defendants)."
        for r in rec.itertuples()
    ]


def _batch_scenarios(manifest: dict) -> dict[str, Scenario]:
    design = manifest.get("design", {})
    out = {}
    overrides = design.get("overrides") or {}
    for src, name in zip(design.get("scenarios", []), manifest.get("scenarios", []), strict=False):
        try:
            out[name] = load_scenario(src, overrides)
            continue
        except ScenarioError:
            pass
        m = re.fullmatch(r"(.+)_rules_on_(.+)_population", name)
        if m:
            try:
                out[name] = counterfactual(load_scenario(m.group(1)), load_scenario(m.group(2)))
            except ScenarioError:
                pass
    return out


def _batch_report(directory: Path, manifest: dict) -> tuple[str, list]:
    names = list(manifest.get("scenarios", []))
    scenarios = _batch_scenarios(manifest)
    runs = _read_parquet(directory / "runs.parquet")
    summary = _read_parquet(directory / "summary.parquet")
    from .compare import describe
    from .experiments import SUMMARY_METRICS

    comp = describe(summary, names, SUMMARY_METRICS)
    design = manifest.get("design", {})
    scaled = design.get("population") is not None
    fittable = {
        n: s
        for n, s in scenarios.items()
        if "_rules_on_" not in n and s.scenario.country in ("UA", "RU")
    }
    fit = observation_fit(runs, fittable)
    write_atomic_text(directory / "observation_fit.csv", fit.to_csv(index=False))
    labels = {n: short_label(n) for n in names}
    fig_dir = directory / "figures"
    made = [
        figs.stocks_figure(runs, names, labels, fig_dir, regimes=regimes_by_name(scenarios)),
        figs.flow_figure(runs, names, labels, fig_dir),
        figs.observations_figure(runs, fit, labels, fig_dir, scaled=scaled),
    ]
    reps = design.get("replicates")
    title = "Batch: " + ", ".join(names)
    blocks: list = [H(1, title)]
    blocks += run_info(
        {**manifest, "population": design.get("population")},
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
    blocks += comparison_blocks(comp, names, reps, "Results")
    blocks += figure_blocks([f for f in made if f is not None])
    blocks += fit_blocks(fit, scaled)
    blocks += notes_blocks(manifest, "batch")
    return title, blocks


def _sweep_report(directory: Path, manifest: dict) -> tuple[str, list]:
    design = manifest.get("design", {})
    method = manifest.get("method") or design.get("method", "")
    indices = _read_csv(directory / "indices.csv")
    if indices is None:
        raise ScenarioError(directory / "indices.csv", None, "file not found (unfinished sweep?)")
    name = design.get("scenario_name", "")
    fig_dir = directory / "figures"
    info = figs.sensitivity_figure(indices, method, fig_dir, title=name)
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
            ", ".join(_value_text(v) for v in p["values"])
            if "values" in p
            else f"{_value_text(p.get('low'))} to {_value_text(p.get('high'))}"
        )
        prow.append([key, rng, "whole numbers" if p.get("integer") else "real"])
    blocks += [
        H(2, "Design"),
        Table(["parameter", "range or values", "type"], prow, right=frozenset()),
    ]
    if design.get("fixed"):
        blocks.append(
            P("Fixed: " + ", ".join(f"{k} = {_value_text(v)}" for k, v in design["fixed"].items()))
        )
    rows = []
    for r in indices.itertuples():
        rows.append(
            [
                str(r.output),
                str(r.parameter),
                str(r.index),
                "n/a" if _num(r.value) != _num(r.value) else f"{_num(r.value):.3g}",
                "" if _num(r.conf) != _num(r.conf) else f"±{_num(r.conf):.2g}",
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
    blocks += figure_blocks([info] if info is not None else [])
    try:
        scn = {name: load_scenario(design.get("scenario", name))}
    except ScenarioError:
        scn = {}
    if scn:
        blocks += scenario_blocks(scn, [name], "Scenario")
        blocks += sources_blocks(scn, [name])
    blocks += notes_blocks(manifest, "sweep")
    return title, blocks


# --------------------------------------------------------------------------- entry point


def build_report(directory: str | Path, *, manifest: dict | None = None) -> dict[str, Path]:
    """Make figures, report.md and report.html in a batch, sweep or compare directory
    (its manifest says which); return their paths."""
    directory = Path(directory)
    if manifest is None:
        manifest = _read_manifest(directory)
    kind = manifest.get("kind")
    builders = {"compare": _compare_report, "batch": _batch_report, "sweep": _sweep_report}
    if kind not in builders:
        raise ScenarioError(directory / "manifest.json", "kind", f"no report for kind {kind!r}")
    title, blocks = builders[kind](directory, manifest)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    blocks.append(P(f"Report written {stamp} by prisonflow report.", muted=True))
    md = render_markdown(blocks, directory)
    page = render_html(blocks, title)
    write_atomic_text(directory / "report.md", md)
    write_atomic_text(directory / "report.html", page)
    return {
        "markdown": directory / "report.md",
        "html": directory / "report.html",
        "figures": directory / "figures",
    }
