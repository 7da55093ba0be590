"""Who is recruited under each policy (sim.reporting.who): the comparison's table from the
by-group tables and its report section."""

from __future__ import annotations

import pandas as pd
import pytest
from synthetic import recruits_frame, small_batch

import sim
from sim import by_group
from sim import compare as cmp
from sim.reporting.blocks import Table
from sim.reporting.who import COLUMNS, REPORT_GROUPS, who_blocks, who_is_recruited

POINTS = [
    {"name": "a", "label": "A rules on X", "policy": "A", "population": "X"},
    {"name": "b", "label": "B rules on X", "policy": "B", "population": "X"},
]


def intervals(n_reps=4):
    frames = []
    for point, name in enumerate(("a", "b")):
        for r in range(n_reps):
            t = by_group.table(recruits_frame(300, seed=10 * point + r))
            frames.append(t.assign(point=point, scenario=name, replicate=r))
    return by_group.intervals(pd.concat(frames, ignore_index=True))


def test_table_has_each_point_and_group():
    who = who_is_recruited(intervals(), POINTS)
    assert list(who.columns) == list(COLUMNS)
    assert list(dict.fromkeys(who["scenario"])) == ["a", "b"]
    assert set(who["group"]) == set(by_group.SHARE_GROUPS)
    for (_name, _group), sub in who.groupby(["scenario", "group"]):
        assert sub["share_median"].sum() == pytest.approx(1, abs=0.1)  # medians of shares
    assert who_is_recruited(None, POINTS).empty


def test_report_section():
    blocks = who_blocks(who_is_recruited(intervals(), POINTS), 4)
    tables = [b for b in blocks if isinstance(b, Table)]
    assert [t.caption for t in tables] == list(REPORT_GROUPS.values())
    assert [row[0] for row in tables[0].rows] == ["A rules on X", "B rules on X"]
    assert tables[0].headers == ["rules → prisons", "violent", "non_violent"]
    assert all("%" in cell for row in tables[0].rows for cell in row[1:])
    assert who_blocks(None, 4) == []
    nobody = who_is_recruited(intervals(), POINTS)
    nobody.loc[nobody["scenario"] == "b", ["share_median", "share_p05", "share_p95"]] = None
    rows = [b for b in who_blocks(nobody, 4) if isinstance(b, Table)][0].rows
    assert rows[1][1:] == ["no recruits", "no recruits"]


def test_compare_writes_who_is_recruited_and_the_report_shows_it(tmp_path):
    base = sim.load_scenario("russia_wagner_2022")
    result = cmp.compare(
        [base],
        policies=[base],
        populations=[base],
        replicates=2,
        population=3000,
        days=200,
        workers=1,
        entropy=3,
        out=tmp_path / "c",
        offence_replicates=None,
    )
    who = pd.read_csv(tmp_path / "c" / "who_is_recruited.csv")
    assert set(who["scenario"]) == {p["name"] for p in result.manifest["points"]}
    assert "who_is_recruited.csv" in result.manifest["files"]
    report = (tmp_path / "c" / "report.md").read_text()
    assert "Who is recruited under each policy" in report
    assert "prison population vs no recruitment" in report
    # offences come from the by-group tables: here the synthetic recruits, not the engine's
    offences = result.offences
    runs = pd.read_parquet(tmp_path / "c" / "batch" / "by_group.parquet")
    theft = runs[
        (runs["regime"] == "all")
        & (runs["group"] == "offence")
        & (runs["value"] == "theft")
        & (runs["metric"] == "recruits")
    ]
    got = offences[offences["offence"] == "theft"].set_index(["point", "replicate"])["recruits"]
    assert (
        got.sort_index().tolist()
        == theft.set_index(["point", "replicate"])["count"].sort_index().tolist()
    )


def test_batch_report_shows_who_is_recruited(tmp_path):
    from sim.reporting.build import build_report

    res = small_batch(tmp_path / "b", replicates=2, entropy=4)
    report = build_report(res.out_dir)["markdown"].read_text()
    assert "## Who is recruited\n" in report
    assert "custody left at application" in report
    assert "prison population vs no recruitment" in report
