"""Tables, figure, report section and output directory of a rule-by-rule decomposition.

`decomposition_blocks(table)` is the report section "Which rule makes the difference"
(blocks of `sim.reporting.blocks`) built from decomposition.csv; `decomposition_section(directory)`
is the hook the compare report calls: the section when the directory holds a
decomposition.csv, else nothing. `write_decomposition` writes the `prisonflow decompose`
output directory.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pandas as pd

from . import __version__
from . import figures as figs
from .decompose import GROUP_LABELS, METRICS, Decomposition
from .reporting.labels import fmt_diff
from .results import AtomicDir

HEADERS = {
    "released_to_army": ("recruits", "recruits (released to army, people)"),
    "killed": ("killed", "killed (people)"),
    "deserted": ("deserted", "deserted (people)"),
    "prison_population_change_pct": (
        "prison population change, pp",
        "prison population change (percentage points)",
    ),
}
FILES = ("manifest.json", "decomposition.csv", "replicates.csv", "figures/", "report.md")


def _cell(metric: str, mean: float, low: float, high: float) -> str:
    if low != low:  # one replicate: no interval
        return fmt_diff(metric, mean)
    return f"{fmt_diff(metric, mean)} [{fmt_diff(metric, low)}, {fmt_diff(metric, high)}]"


def decomposition_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: each rule group's contribution per metric (mean [95% interval]),
    the total difference A to B, and the sum of the contributions."""
    metrics = [m for m in METRICS if m in set(table["metric"])]
    by = table.set_index(["metric", "term"])
    groups = list(dict.fromkeys(table.loc[table["kind"] == "group", "term"]))
    rows = []
    for g in groups:
        label = str(by.loc[(metrics[0], g), "label"])
        cells = [_cell(m, *by.loc[(m, g), ["mean", "low", "high"]]) for m in metrics]
        rows.append([label, *cells])
    rows.append(
        ["total difference A to B"]
        + [_cell(m, *by.loc[(m, "total"), ["mean", "low", "high"]]) for m in metrics]
    )
    sums = [fmt_diff(m, float(sum(by.loc[(m, g), "mean"] for g in groups))) for m in metrics]
    rows.append(["sum of contributions", *sums])
    return ["rule group", *(HEADERS[m][0] for m in metrics)], rows


def _describe(table: pd.DataFrame) -> str:
    first = table.iloc[0]
    return (
        f"{first['policy_a']} law (A) to {first['policy_b']} law (B) on {first['population']}'s "
        f"population ({int(first['size']):,} people, {int(first['replicates'])} replicates)"
    )


def rich_table(table: pd.DataFrame):
    """Rich table of a decomposition: each rule group's Shapley contribution per metric.

    Args:
        table: The decomposition table.

    Returns:
        The table, ready to print.
    """
    from rich.table import Table

    headers, rows = decomposition_rows(table)
    out = Table(
        title=_describe(table),
        title_justify="left",
        caption="Shapley contribution of each rule group: mean [95% t-interval] over replicates",
        caption_justify="left",
    )
    for i, h in enumerate(headers):
        out.add_column(h, justify="left" if i == 0 else "right", no_wrap=i > 0)
    for r in rows:
        out.add_row(*r)
    return out


def figure(table: pd.DataFrame, out_dir: Path) -> figs.FigureInfo:
    """Waterfall figure of the contributions, for the metrics present in the table.

    Args:
        table: The decomposition table.
        out_dir: Directory to write the figure into.

    Returns:
        Description of the figure written.
    """
    metrics = [(m, HEADERS[m][1]) for m in METRICS if m in set(table["metric"])]
    return figs.waterfall_figure(table, metrics, out_dir)


def decomposition_blocks(
    table: pd.DataFrame, info: figs.FigureInfo | None = None, number: int = 0
) -> list:
    """The report section "Which rule makes the difference" from decomposition.csv."""
    from .reporting.blocks import Fig, H, Items, P, Table

    headers, rows = decomposition_rows(table)
    first = table.iloc[0]
    a, b = first["policy_a"], first["policy_b"]
    blocks: list = [
        H(2, "Which rule makes the difference"),
        P(
            f"{_describe(table)}. The rules are split into groups; for every combination of "
            f"groups, A's law with B's rules for those groups was run with the same seeds "
            "(common random numbers), in force from the population's first day over its "
            "whole horizon (equal exposure). Each group's contribution is its Shapley value: "
            "its effect averaged over every order in which the groups could be switched "
            "from A to B, so the contributions add up to the total difference in each "
            "replicate. How people respond to a law (their baseline propensity to volunteer, "
            "their response to its terms and the campaign calendar) belongs to the "
            "population and is the same in every combination."
        ),
        Table(
            headers,
            rows,
            caption="Shapley contribution of each rule group, mean over replicates "
            "[95% t-interval]; counts in people, prison population change in percentage points",
        ),
    ]
    by = table.set_index(["metric", "term"])
    items = []
    for metric in METRICS:
        sub = table[(table["kind"] == "group") & (table["metric"] == metric)]
        if not len(sub) or sub["mean"].abs().max() == 0:
            continue
        top = sub.loc[sub["mean"].abs().idxmax()]
        total = float(by.loc[(metric, "total"), "mean"])
        items.append(
            f"{HEADERS[metric][0]}: {top['label']} contributes most "
            f"({fmt_diff(metric, top['mean'])} of a total {fmt_diff(metric, total)})."
        )
    groups = table[(table["kind"] == "group") & (table["metric"] == METRICS[0])]
    same = [r["label"] for _, r in groups.iterrows() if not str(r["fields_differing"] or "")]
    if same:
        items.append(
            f"{a} and {b} have the same rules for: {', '.join(same)} (contribution exactly 0)."
        )
    if items:
        blocks.append(Items(items))
    if info is not None:
        blocks.append(Fig(info, number))
    return blocks


def read_table(path: Path) -> pd.DataFrame:
    """Read a decomposition table written as CSV, keeping empty `fields_differing` as ''.

    Args:
        path: The CSV file.

    Returns:
        The decomposition table.
    """
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    table["fields_differing"] = table["fields_differing"].fillna("")
    return table


def decomposition_section(directory: Path, number: int = 0) -> list:
    """Hook for the compare report: the section if `directory` holds decomposition.csv
    (its waterfall figure is drawn into directory/figures), else []."""
    path = Path(directory) / "decomposition.csv"
    if not path.is_file():
        return []
    table = read_table(path)
    return decomposition_blocks(table, figure(table, Path(directory) / "figures"), number)


def write_decomposition(
    dec: Decomposition, out: Path, *, overwrite: bool = False, argv: list[str] | None = None
) -> Path:
    """Write manifest.json, decomposition.csv, replicates.csv, figures/ and report.md into
    `out` atomically (rules for an existing `out`: `prepare_output_dir`)."""
    from .reporting.blocks import H, P, render_markdown

    manifest = {
        "prisonflow": __version__,
        "kind": "decompose",
        "argv": list(sys.argv if argv is None else argv),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "policy_a": dec.policy_a,
        "policy_b": dec.policy_b,
        "population": dec.population,
        "size": dec.size,
        "replicates": dec.replicates,
        "seed": dec.seed,
        "seeds": dec.seeds,
        "groups": {g: GROUP_LABELS[g] for g in dec.groups},
        "fields_differing": dec.differing,
        "runs": dec.runs,
        "wall_s": round(dec.wall_s, 2),
        "exposure": "equal: each hybrid law in force from the population's first day",
        "scenarios": dec.scenarios,
    }
    with AtomicDir(out, overwrite, kind="decompose") as tmp:
        dec.table.to_csv(tmp / "decomposition.csv", index=False)
        dec.replicate_values.to_csv(tmp / "replicates.csv", index=False)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        info = figure(dec.table, tmp / "figures")
        title = f"Rule-by-rule decomposition: {dec.policy_a} to {dec.policy_b}"
        blocks = [H(1, title), *decomposition_blocks(dec.table, info, 1)]
        blocks.append(
            P(
                f"{dec.runs} runs in {dec.wall_s:.1f} s; seed {dec.seed}. Per-replicate "
                "contributions: replicates.csv.",
                muted=True,
            )
        )
        (tmp / "report.md").write_text(render_markdown(blocks, tmp))
    return out
