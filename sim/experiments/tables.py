"""Console tables of experiments (presentation only): batch intervals, sweep indices and
point means, as rich tables."""

from __future__ import annotations

from typing import Any

from .designs import METHODS_BY_NAME
from .spec import is_number
from .template import ExperimentResult


def _fmt(metric: str, v: Any) -> str:
    if v is None or v != v:
        return "n/a"
    if metric.startswith("share_"):
        return f"{100 * v:.1f}%"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10 or metric.endswith("_pct"):
        return f"{v:,.1f}"
    return f"{v:.2f}" if a >= 0.01 or a == 0 else f"{v:.2g}"


def _fmt_value(v: Any) -> str:
    """A parameter value: whole numbers as such, others with 4 significant digits."""
    if not is_number(v):
        return str(v)
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{float(v):.4g}"


def intervals_table(result: ExperimentResult):
    """Metrics as rows; per scenario the mean, median and 95% interval over replicates."""
    from rich.table import Table

    iv = result.intervals
    assert iv is not None, "a batch result"
    scenarios = list(dict.fromkeys(iv["scenario"]))
    reps = result.manifest.get("design", {}).get("replicates")
    table = Table(
        title=f"batch: {reps} replicates per scenario; "
        "95% interval = 2.5th to 97.5th percentile over replicates",
        title_justify="left",
    )
    table.add_column("metric", no_wrap=True)
    for s in scenarios:
        table.add_column(f"{s}\nmean", justify="right")
        table.add_column("\nmedian", justify="right")
        table.add_column("\n95% interval", justify="right")
    by = iv.set_index(["scenario", "metric"])
    for metric in dict.fromkeys(iv["metric"]):
        cells = [metric]
        for s in scenarios:
            r = by.loc[(s, metric)]
            interval = (
                "n/a" if r["n"] == 0 else f"{_fmt(metric, r['low'])} – {_fmt(metric, r['high'])}"
            )
            cells += [_fmt(metric, r["mean"]), _fmt(metric, r["median"]), interval]
        table.add_row(*cells)
    return table


def _num(v: float) -> str:
    if v != v:
        return "n/a"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3f}"


def indices_table(result: ExperimentResult):
    """Sensitivity indices per output and parameter (replicate noise share per output)."""
    from rich.table import Table

    spec = result.spec
    idx, pm = result.indices, result.point_means
    assert idx is not None and pm is not None, "a sweep result"
    names = METHODS_BY_NAME[spec.method].table_columns
    table = Table(
        title=f"{spec.method} sensitivity, {spec.scenario_name}: {result.n_runs} runs "
        f"({len(pm)} points x {spec.replicates} replicates)",
        title_justify="left",
        caption="± = 95% confidence half-width; replicate noise = mean within-point "
        "variance / total variance",
        caption_justify="left",
    )
    table.add_column("output")
    table.add_column("parameter")
    for name, has_conf in names:
        table.add_column(name.replace("mu_star", "mu*"), justify="right")
        if has_conf:
            table.add_column("±", justify="right")
    by = idx.set_index(["output", "parameter", "index"])
    for output in spec.outputs:
        noise = by.loc[(output, "(noise)", "noise_share"), "value"]
        noise_text = "n/a" if noise != noise else f"{100 * noise:.0f}%"
        for i, p in enumerate(spec.parameters):
            label = f"{output}\n(replicate noise {noise_text})" if i == 0 else ""
            cells = [label, p.key]
            for name, has_conf in names:
                r = by.loc[(output, p.key, name)]
                cells.append(_num(r["value"]))
                if has_conf:
                    cells.append(_num(r["conf"]))
            table.add_row(*cells, end_section=i == len(spec.parameters) - 1)
    return table


def _short_key(key: str) -> str:
    """`regimes.UA_2024.approval_days.high` -> `approval_days.high` (for column headers)."""
    parts = key.split(".")
    if parts[0] == "regimes" and len(parts) > 2:
        return ".".join(parts[2:])
    if parts[0] in ("population", "scenario") and len(parts) > 1:
        return ".".join(parts[1:])
    return key


def points_table(result: ExperimentResult, limit: int = 40):
    """Mean of each output per design point (None when there are more than `limit`)."""
    from rich.table import Table

    pm = result.point_means
    spec = result.spec
    assert pm is not None, "a sweep result"
    if len(pm) > limit:
        return None
    table = Table(title="mean over replicates per design point", title_justify="left")
    table.add_column("point", justify="right")
    for p in spec.parameters:
        table.add_column(_short_key(p.key), justify="right")
    table.add_column("runs ok", justify="right")
    for o in spec.outputs:
        table.add_column(o, justify="right")
    for i in range(len(pm)):
        cells = [str(pm["point"].iloc[i])]
        for p in spec.parameters:
            v = pm[p.key].iloc[i]
            cells.append(_fmt_value(v))
        cells.append(str(pm["n_ok"].iloc[i]))
        cells += [_fmt(o, float(pm[o].iloc[i])) for o in spec.outputs]
        table.add_row(*cells)
    return table


def variance_shares_table(shares, scenarios=None):
    """Headline metrics as rows; per scenario the share of the variance over replicates
    that comes from parameters (the rest is stochastic noise)."""
    from rich.table import Table

    if scenarios is not None:
        shares = shares[shares["scenario"].isin(list(scenarios))]
    names = list(dict.fromkeys(shares["scenario"]))
    draws = int(shares["draws"].max()) if len(shares) else 0
    table = Table(
        title=f"variance from parameters vs noise ({draws} parameter draws x 2 seeds; "
        "law of total variance)",
        title_justify="left",
    )
    table.add_column("metric", no_wrap=True)
    for s in names:
        table.add_column(f"{s}\nparameters", justify="right")
        table.add_column("\nnoise", justify="right")
    by = shares.set_index(["scenario", "metric"])
    for metric in dict.fromkeys(shares["metric"]):
        cells = [metric]
        for s in names:
            r = by.loc[(s, metric)]
            for col in ("parameter_share", "noise_share"):
                v = r[col]
                cells.append("n/a" if v != v else f"{100 * v:.0f}%")
        table.add_row(*cells)
    return table
