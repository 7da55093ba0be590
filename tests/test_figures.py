"""Figures (issue 5): every figure is written as a non-empty PNG and SVG, with the sweep
charts drawn from an `indices.csv`-shaped table and from a real sweep directory."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import cli

import sim
import sim.cli
from sim import compare as cmp
from sim import figures as figs
from sim.reporting.labels import short_label


def check(info: figs.FigureInfo | None) -> None:
    """A written figure: a real PNG of a readable size, an SVG that parses, a caption."""
    assert info is not None
    png = info.png.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800 and height >= 300
    root = ET.fromstring(info.svg.read_bytes())
    assert root.tag.endswith("svg") and info.svg.stat().st_size > 10_000
    assert len(info.caption) > 80 and info.title


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return sim.batch(
        ["ukraine_2024", "russia_wagner_2022"],
        replicates=3,
        population=3000,
        workers=1,
        entropy=4,
        out=tmp_path_factory.mktemp("b") / "batch",
    )


def test_time_series_figures(batch, tmp_path):
    names = ["ukraine_2024", "russia_wagner_2022"]
    labels = {n: short_label(sim.load_scenario(n)) for n in names}
    regimes = {
        n: [(rid, pd.Timestamp(r.start_date)) for rid, r in sim.load_scenario(n).regimes.items()]
        for n in names
    }
    check(figs.stocks_figure(batch.runs, names, labels, tmp_path, regimes=regimes))
    check(figs.flow_figure(batch.runs, names, labels, tmp_path))
    scenarios = {n: sim.load_scenario(n) for n in names}
    fit = cmp.observation_fit(batch.runs, scenarios)
    assert {"UA", "RU"} <= set(fit["country"])
    assert fit[["model_median", "model_p05", "model_p95"]].notna().all().all()
    check(figs.observations_figure(batch.runs, fit, labels, tmp_path, scaled=True))
    assert figs.observations_figure(batch.runs, fit.iloc[:0], labels, tmp_path) is None


def test_flow_values_partition_applications_and_recruits(batch):
    last = batch.runs.loc[batch.runs.groupby(["scenario", "replicate"])["day"].idxmax()]
    f = figs.flow_values(last)
    pipeline = ["rejected_screening", "rejected_court", "_left_pipeline", "_pending"]
    assert (f[pipeline].sum(axis=1) + f["released_to_army"] == f["applications"]).all()
    assert (f["_left_pipeline"] >= 0).all()
    outcomes = ["killed", "wounded_discharged", "deserted", "captured", "service_completed"]
    stocks = f["deployed"] + f["training"]
    # deserters back in their unit left deployment twice
    back = f["returned_to_unit"]
    assert (f[outcomes].sum(axis=1) + stocks == f["released_to_army"] + back).all()


def test_offences_and_paired_figures(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        {"scenario": s, "replicate": r, "offence": o, "recruits": int(rng.integers(0, 50))}
        for s in ("a", "b")
        for r in range(2)
        for o in ("theft", "drug", "murder_single", "sexual", "other")
    ]
    offences = pd.DataFrame(rows)
    shares = figs.offence_shares(offences)
    group_cols = [g[0] for g in figs.OFFENCE_GROUPS]
    assert np.allclose(shares[group_cols].sum(axis=1), 1)
    check(figs.offences_figure(offences, [("a", "A"), ("b", "B")], tmp_path, separators=[1]))
    paired = pd.DataFrame(
        [
            {
                "population": pop,
                "policy": pol,
                "metric": m,
                "mean_diff": d,
                "t_low": d - 1,
                "t_high": d + 1,
                "p2_5": d - 3,
                "p97_5": d + 3,
            }
            for pop in ("ukraine_2024", "russia_2022_2025")
            for pol, d in (("ukraine_2024", 0.0), ("russia_wagner_2022", -5.0))
            for m in ("released_to_army", "killed")
        ]
    )
    metrics = [("released_to_army", "released (people)"), ("killed", "killed (people)")]
    check(figs.paired_figure(paired, metrics, {}, {}, tmp_path))


def _indices(method: str) -> pd.DataFrame:
    names = {"sobol": ("S1", "ST"), "morris": ("mu_star", "sigma", "mu")}.get(method, ("spearman",))
    rows = []
    for o in ("applications", "killed"):
        for k, p in enumerate(("regimes.UA_2024.killed_per_day", "population.motivation_sigma")):
            for n in names:
                rows.append(
                    {"output": o, "parameter": p, "index": n, "value": 0.3 + 0.2 * k, "conf": 0.1}
                )
        rows.append(
            {
                "output": o,
                "parameter": "(noise)",
                "index": "noise_share",
                "value": 0.05,
                "conf": None,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("method", ["sobol", "morris", "lhs"])
def test_sensitivity_figures(method, tmp_path):
    check(figs.sensitivity_figure(_indices(method), method, tmp_path, title="test"))


def test_report_from_a_sweep_directory(tmp_path, monkeypatch, capsys):
    spec = {
        "scenario": "ukraine_2024",
        "method": "morris",
        "samples": 2,
        "replicates": 1,
        "population": 800,
        "days": 60,
        "entropy": 3,
        "outputs": ["applications", "killed"],
        "parameters": {
            "population.volunteering.baseline_per_day": {"low": 0.001, "high": 0.005},
            "regimes.UA_2024.killed_per_day": {"low": 0.0002, "high": 0.0012},
        },
    }
    out = tmp_path / "sweep"
    sim.sweep(spec, out=out, workers=1)
    code, _, err = cli(monkeypatch, capsys, "report", str(out))
    assert code == 0, err
    assert (out / "figures" / "sensitivity.png").stat().st_size > 20_000
    assert (out / "figures" / "sensitivity.svg").is_file()
    page = (out / "report.html").read_text()
    assert "Sensitivity indices" in page and "<script" not in page
    assert Path(out / "report.md").read_text().count("figures/sensitivity.png") == 1


def test_offence_shares_count_an_ungrouped_offence_as_other():
    """An offence the groups do not name (a taxonomy grown later) is not dropped."""
    offences = pd.DataFrame(
        [
            {"scenario": "a", "replicate": 0, "offence": "theft", "recruits": 30},
            {"scenario": "a", "replicate": 0, "offence": "new_offence", "recruits": 10},
        ]
    )
    shares = figs.offence_shares(offences)
    other = figs.OFFENCE_GROUPS[-1][0]
    assert shares.loc["a", "total"] == 40
    assert shares.loc["a", other] == 0.25 and shares.loc["a", "property (theft, fraud)"] == 0.75
