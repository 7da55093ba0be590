"""Effects: paired differences, sensitivity indices and the rule-by-rule waterfall."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from .style import (
    COUNT_FORMAT,
    GREY,
    PALETTE,
    RC,
    FigureInfo,
    _save,
    _wrap,
)


def paired_figure(
    paired: pd.DataFrame,
    metrics: Sequence[tuple[str, str]],
    pop_labels: dict[str, str],
    policy_labels: dict[str, str],
    out_dir: Path,
    stem: str = "paired_differences",
) -> FigureInfo | None:
    """Forest plot: per population (rows) and metric (columns), each policy's paired mean
    difference from the population's own rules with its 95% t-interval (thick) and the
    2.5-97.5 percentiles of the per-replicate differences (thin)."""
    if paired is None or not len(paired):
        return None
    pops = list(dict.fromkeys(paired["population"]))
    with rc_context(RC):
        fig = Figure(
            figsize=(4.1 * len(metrics) + 2.4, 0.42 * paired["policy"].nunique() * len(pops) + 2.6),
            layout="constrained",
        )
        axes = fig.subplots(len(pops), len(metrics), squeeze=False)
        for i, pop in enumerate(pops):
            sub = paired[paired["population"] == pop]
            pols = list(dict.fromkeys(sub["policy"]))
            y = np.arange(len(pols))[::-1]
            for j, (metric, xlabel) in enumerate(metrics):
                ax = axes[i, j]
                m = sub[sub["metric"] == metric].set_index("policy").reindex(pols)
                scale = 100.0 if metric.startswith("share_") else 1.0
                for k, (yy, pol) in enumerate(zip(y, pols, strict=True)):
                    r = m.loc[pol]
                    c = PALETTE[k % len(PALETTE)]
                    ax.plot(
                        [r["p2_5"] * scale, r["p97_5"] * scale], [yy, yy], color=c, lw=1, alpha=0.7
                    )
                    ax.plot([r["t_low"] * scale, r["t_high"] * scale], [yy, yy], color=c, lw=4.5)
                    ax.plot(
                        [r["mean_diff"] * scale],
                        [yy],
                        marker="o",
                        color="white",
                        markeredgecolor=c,
                        markersize=5,
                    )
                ax.axvline(0, color="#333333", linewidth=0.9)
                ax.set_yticks(y, [policy_labels.get(p, p) for p in pols] if j == 0 else [])
                ax.grid(axis="y", visible=False)
                if scale == 1.0 and not metric.endswith("_pct"):
                    ax.xaxis.set_major_formatter(COUNT_FORMAT)
                ax.xaxis.set_major_locator(MaxNLocator(5))
                ax.set_xlabel(xlabel)
                if i == 0:
                    ax.set_title(xlabel.split(" (")[0])
                if j == 0:
                    ax.set_ylabel(_wrap(pop_labels.get(pop, pop), 30))
        handles = [
            Line2D([], [], color="#555555", lw=4.5, label="95% t-interval of the mean difference"),
            Line2D(
                [], [], color="#555555", lw=1, label="2.5th-97.5th pct. of replicate differences"
            ),
            Line2D(
                [],
                [],
                marker="o",
                ls="none",
                color="white",
                markeredgecolor="#555555",
                label="mean paired difference",
            ),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=3, frameon=False)
        fig.suptitle(
            "What changes if a population lives under another country's rules "
            "(policy minus own rules, same seeds)",
            fontweight="bold",
        )
        caption = (
            "Paired differences between each policy's rules and the population's own rules "
            "(rows: populations), replicate by replicate with common random numbers. Thick "
            "bars are 95% t-intervals of the mean difference; thin lines the 2.5th-97.5th "
            "percentiles of the per-replicate differences. A policy that is the population's "
            "own rules (Ukraine's law on Ukraine's prisons) shows zero: the pairing check."
        )
        return _save(fig, out_dir, stem, "Paired differences", caption)


# --------------------------------------------------------------------------- (e) sweeps


def _short_param(key: str) -> str:
    parts = key.split(".")
    if parts[0] == "regimes" and len(parts) > 2:
        return ".".join(parts[2:])
    if parts[0] in ("population", "scenario") and len(parts) > 1:
        return ".".join(parts[1:])
    return key


def sensitivity_figure(
    indices: pd.DataFrame, method: str, out_dir: Path, *, title: str = "", stem: str = "sensitivity"
) -> FigureInfo | None:
    """Sobol: S1 and ST bars with 95% confidence half-widths per output; Morris: mu* against
    sigma per output (mu* confidence as horizontal bars); grid/LHS: Spearman bars."""
    idx = indices[indices["parameter"] != "(noise)"]
    if not len(idx):
        return None
    outputs = list(dict.fromkeys(idx["output"]))
    params = list(dict.fromkeys(idx["parameter"]))
    ncols = min(3, len(outputs))
    nrows = -(-len(outputs) // ncols)
    noise = indices[indices["index"] == "noise_share"].set_index("output")["value"]
    with rc_context(RC):
        fig = Figure(
            figsize=(
                4.8 * ncols + (1.8 if method != "morris" else 0),
                0.5 * len(params) * nrows + 2.2 * nrows + 1.0,
            ),
            layout="constrained",
        )
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes[len(outputs) :]:
            ax.set_visible(False)
        for n, (ax, output) in enumerate(zip(axes, outputs, strict=False)):
            sub = idx[idx["output"] == output]
            nz = noise.get(output, np.nan)
            noise_text = "" if nz != nz else f" (replicate noise {100 * nz:.0f}%)"
            ax.set_title(f"{output}{noise_text}", fontsize=9.5)
            if method == "morris":
                mu = sub[sub["index"] == "mu_star"].set_index("parameter").reindex(params)
                sg = sub[sub["index"] == "sigma"].set_index("parameter").reindex(params)
                xs = np.nan_to_num(mu["value"].to_numpy(float))
                ys = np.nan_to_num(sg["value"].to_numpy(float))
                span_x, span_y = max(xs.max(), 1e-12), max(ys.max(), 1e-12)
                placed: list[tuple[float, float]] = []
                for k, p in enumerate(params):
                    c = PALETTE[k % len(PALETTE)]
                    x, yv, conf = xs[k], ys[k], mu.loc[p, "conf"]
                    ax.errorbar(
                        [x],
                        [yv],
                        xerr=[[conf]] if conf == conf else None,
                        marker="os^Dvp<>"[k % 8],
                        color=c,
                        markersize=7,
                        capsize=3,
                        ls="none",
                    )
                    # Points that (nearly) coincide get their labels stacked, not overprinted.
                    near = sum(
                        abs(x - px) / span_x < 0.15 and abs(yv - py) / span_y < 0.08
                        for px, py in placed
                    )
                    placed.append((x, yv))
                    ax.annotate(
                        _short_param(p),
                        (x, yv),
                        xytext=(5, 4 + 11 * near),
                        textcoords="offset points",
                        fontsize=7.5,
                        color=c,
                    )
                lim = np.nanmax(np.r_[mu["value"].to_numpy(float), sg["value"].to_numpy(float), 0])
                if lim > 0:
                    ax.plot([0, lim], [0, lim], color=GREY, ls=":", lw=1)
                ax.set_xlabel("mu* (mean |elementary effect|, output units)")
                ax.set_ylabel("sigma (spread of effects)")
                ax.set_xlim(left=0)
                ax.set_ylim(bottom=0)
            else:
                names = ("S1", "ST") if method == "sobol" else ("spearman",)
                y = np.arange(len(params))[::-1]
                h = 0.8 / len(names)
                for k, name in enumerate(names):
                    r = sub[sub["index"] == name].set_index("parameter").reindex(params)
                    conf = r["conf"].to_numpy(float)
                    ax.barh(
                        y + (len(names) - 1 - 2 * k) * h / 2,
                        r["value"].to_numpy(float),
                        height=h,
                        xerr=np.where(np.isnan(conf), 0, conf),
                        color=PALETTE[k],
                        capsize=3,
                        error_kw={"elinewidth": 1, "ecolor": "#333333"},
                        label={"S1": "S1 (first order)", "ST": "ST (total)"}.get(
                            name, "Spearman rho"
                        ),
                    )
                ax.axvline(0, color="#333333", lw=0.8)
                ax.set_yticks(y, [_short_param(p) for p in params] if n % ncols == 0 else [])
                ax.grid(axis="y", visible=False)
                ax.set_xlabel(
                    "share of output variance" if method == "sobol" else "rank correlation"
                )
                if method != "sobol":
                    ax.set_xlim(-1.05, 1.05)
        if method != "morris":
            handles, labs = axes[0].get_legend_handles_labels()
            fig.legend(handles, labs, loc="outside lower center", ncols=2, frameon=False)
        what = {"sobol": "Sobol indices", "morris": "Morris screening"}.get(
            method, "Spearman rank correlations"
        )
        fig.suptitle(f"Sensitivity: {what}" + (f" - {title}" if title else ""), fontweight="bold")
        captions = {
            "sobol": "Sobol first-order (S1) and total (ST) indices per output, with 95% "
            "confidence half-widths (SALib bootstrap): the share of the output's variance due "
            "to each parameter alone (S1) and with its interactions (ST).",
            "morris": "Morris screening per output: mu* (mean absolute elementary effect, "
            "with its 95% confidence half-width) against sigma (spread of the effects: "
            "non-linearity or interactions). Points far right matter most; points above the "
            "dotted diagonal act mostly through interactions or non-linearly.",
        }
        caption = captions.get(
            method,
            "Spearman rank correlation of each parameter with each output across design "
            "points, with Fisher-z 95% half-widths.",
        )
        caption += (
            " Replicates are averaged per design point; each panel's title gives the share "
            "of the output's variance that is replicate noise."
        )
        return _save(fig, out_dir, stem, "Sensitivity", caption)


# ------------------------------------------------------------------- decomposition


def waterfall_figure(
    table: pd.DataFrame,
    metrics: Sequence[tuple[str, str]],
    out_dir: Path,
    *,
    stem: str = "decomposition",
) -> FigureInfo:
    """Waterfall per metric (panels): policy A's value, each rule group's Shapley
    contribution (mean, with its 95% interval) stacked from it, and policy B's value.
    `table`: decomposition.csv (kind endpoint/group/total, term, label, mean, low, high)."""
    a_name = str(table["policy_a"].iloc[0])
    b_name = str(table["policy_b"].iloc[0])
    ncols = min(2, len(metrics))
    nrows = -(-len(metrics) // ncols)
    with rc_context(RC):
        fig = Figure(figsize=(6.2 * ncols, 3.4 * nrows + 1.0), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax in axes[len(metrics) :]:
            ax.set_visible(False)
        for ax, (metric, xlabel) in zip(axes, metrics, strict=False):
            sub = table[table["metric"] == metric].set_index("term")
            groups = sub[sub["kind"] == "group"]
            labels = [f"{a_name} law", *groups["label"], f"{b_name} law"]
            y = np.arange(len(labels))[::-1]
            level = float(sub.loc["A", "mean"])
            ax.barh(y[0], level, color=GREY, height=0.65)
            for yy, (_term, g) in zip(y[1:-1], groups.iterrows(), strict=True):
                step = float(g["mean"])
                colour = PALETTE[0] if step >= 0 else PALETTE[1]
                ax.barh(yy, step, left=level, color=colour, height=0.65)
                if g["low"] == g["low"]:
                    ax.errorbar(
                        [level + step],
                        [yy],
                        xerr=[[step - g["low"]], [g["high"] - step]],
                        color="#333333",
                        capsize=2.5,
                        lw=0.9,
                    )
                ax.plot([level, level], [yy + 0.45, yy - 0.45], color="#333333", lw=0.6)
                right = max(
                    level, level + step, level + (g["high"] if g["high"] == g["high"] else 0)
                )
                text = f"{step:+.1f}" if metric.endswith("_pct") else f"{step:+,.0f}"
                ax.annotate(
                    text,
                    (right, yy),
                    xytext=(4, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=7.5,
                )
                level += step
            ax.barh(y[-1], float(sub.loc["B", "mean"]), color=GREY, height=0.65, hatch="//")
            ax.axvline(0, color="#333333", lw=0.8)
            ax.set_yticks(y, [_wrap(t, 30) for t in labels])
            ax.grid(axis="y", visible=False)
            if not metric.endswith("_pct"):
                ax.xaxis.set_major_formatter(COUNT_FORMAT)
            ax.set_xlabel(xlabel)
            ax.set_title(xlabel.split(" (")[0])
        handles = [
            Patch(color=PALETTE[0], label="rule group raises the metric"),
            Patch(color=PALETTE[1], label="rule group lowers it"),
            Patch(facecolor=GREY, label=f"{a_name} law (start)"),
            Patch(facecolor=GREY, hatch="//", label=f"{b_name} law (end)"),
        ]
        fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False)
        population = table["population"].iloc[0]
        fig.suptitle(
            f"Which rule makes the difference: {a_name} to {b_name} law on {population}'s "
            "population",
            fontweight="bold",
        )
        reps = int(table["replicates"].iloc[0])
        n_coalitions = 2 ** table.loc[table["kind"] == "group", "term"].nunique()
        caption = (
            f"Starting from the outcome under {a_name}'s law (top bar), each rule group's "
            f"Shapley contribution moves the outcome towards the outcome under {b_name}'s "
            "law (bottom bar, hatched): blue steps raise the metric, vermillion steps lower "
            "it, and the signed numbers give the steps. Contributions are means over "
            f"{reps} replicates with 95% t-intervals (whiskers), averaged over every order "
            "in which the groups could be switched; they add up to the difference between "
            "the two end bars. Both laws are in force over the population's whole horizon, "
            f"with common random numbers across all {n_coalitions} combinations of rule groups."
        )
        return _save(fig, out_dir, stem, "Rule-by-rule decomposition", caption)
