"""The by-group table (sim.by_group): conservation, bands, zero-filling and intervals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synthetic import recruits_frame, small_batch

import sim
from sim import by_group


@pytest.fixture(scope="module")
def recruits():
    return recruits_frame(800, regimes=("R_A", "R_B"), seed=3)


@pytest.fixture(scope="module")
def table(recruits):
    return by_group.table(recruits, regimes=("R_A", "R_B", "R_EMPTY"))


def test_columns_and_types(table):
    assert list(table.columns) == list(by_group.COLUMNS)
    assert table["count"].dtype == np.int64
    assert set(table["group"]) == set(by_group.GROUPS)
    assert list(dict.fromkeys(table["regime"])) == ["R_A", "R_B", "R_EMPTY", "all"]


def test_every_group_sums_to_the_total(table):
    """Conservation: within a regime and metric, each group's counts add up to `all`."""
    total = table[table["group"] == "all"].set_index(["regime", "metric"])["count"]
    sums = table.groupby(["regime", "group", "metric"])["count"].sum()
    for (regime, group, metric), s in sums.items():
        assert s == total[(regime, metric)], (regime, group, metric)
    assert total.sum() > 0


def test_regime_all_sums_the_regimes(table):
    t = table.set_index(["regime", "group", "value", "metric"])["count"]
    parts = t.drop("all", level="regime").groupby(level=["group", "value", "metric"]).sum()
    assert (t.loc["all"].sort_index() == parts.sort_index()).all()


def test_counts_match_the_recruits(recruits, table):
    signed = recruits[recruits["contract_day"] >= 0]
    t = table.set_index(["regime", "group", "value", "metric"])["count"]
    assert t[("all", "all", "all", "recruits")] == len(signed)
    assert t[("R_A", "all", "all", "recruits")] == (signed["regime"] == "R_A").sum()
    assert t[("all", "all", "all", "killed")] == (signed["outcome"] == "killed").sum()
    # an outcome outside the fixed list is added, not dropped
    assert t[("all", "all", "all", "executed")] == (signed["outcome"] == "executed").sum() > 0
    back = (signed["returned_to_custody_day"] >= 0).sum()
    assert t[("all", "all", "all", "returned_to_custody")] == back > 0
    assert t[("R_EMPTY", "all", "all", "recruits")] == 0
    theft = ((signed["offence"] == "theft") & (signed["regime"] == "R_B")).sum()
    assert t[("R_B", "offence", "theft", "recruits")] == theft


def test_bands():
    r = recruits_frame(6, seed=1)
    r["age_years"] = np.float32([18, 24.9, 25, 44.99, 54.99, 70])
    r["sentence_years"] = np.float32([5, 5, 5, 20, np.inf, 0])
    r["remaining_sentence_days"] = np.int32([0, 365, 366, 3653, 99999, -1])
    got = by_group.labels(r)
    assert list(got["age_band"]) == ["18-24", "18-24", "25-34", "35-44", "45-54", "55+"]
    assert list(got["sentence_band"]) == ["<1", "<1", "1-3", "10+", "life", "unsentenced"]
    r["enlistment"] = np.int8([1, 2, 3, 4, 1, 2])
    assert list(by_group.labels(r)["enlistment"]) == ["1", "2", "3+", "3+", "1", "2"]


def test_empty_recruits_give_zeros():
    empty = recruits_frame(0)
    t = by_group.table(empty, regimes=("R_A",))
    assert len(t) and (t["count"] == 0).all()
    assert set(t["metric"]) == set(by_group.METRICS)


def per_run(n_reps=6):
    frames = []
    for point, name in ((0, "a"), (1, "b")):
        for r in range(n_reps):
            t = by_group.table(recruits_frame(100 + 40 * point, seed=10 * point + r))
            frames.append(t.assign(point=point, scenario=name, replicate=r))
    return pd.concat(frames, ignore_index=True)


def selected(table: pd.DataFrame, **keys) -> pd.Series:
    """Rows of `table` whose columns equal the given values."""
    mask = pd.Series(True, index=table.index)
    for column, value in keys.items():
        mask &= table[column] == value
    return mask


def test_intervals_over_replicates():
    runs = per_run()
    iv = by_group.intervals(runs)
    row = iv[selected(iv, point=1, regime="all", group="all", metric="recruits")].iloc[0]
    values = runs[selected(runs, point=1, regime="all", group="all", metric="recruits")]["count"]
    assert row["n"] == 6
    assert row["count_median"] == pytest.approx(values.median())
    assert row["count_p05"] == pytest.approx(np.quantile(values, 0.05))
    assert row["count_p05"] <= row["count_median"] <= row["count_p95"]
    assert row["share_median"] == 1.0
    # shares within a group: medians are near 1 / number of categories
    sex = iv[(iv["regime"] == "all") & (iv["group"] == "sex") & (iv["metric"] == "recruits")]
    assert sex.set_index(["point", "value"]).loc[(0, "male"), "share_median"] > 0.8


def test_intervals_count_a_missing_key_as_zero():
    """An outcome seen in one replicate only is zero (not missing) in the others."""
    runs = per_run(4)
    dropped = runs[~((runs["replicate"] == 0) & (runs["metric"] == "executed"))]
    iv = by_group.intervals(dropped)
    row = iv[selected(iv, point=0, regime="all", group="all", metric="executed")].iloc[0]
    assert row["n"] == 4
    kept = dropped[selected(dropped, point=0, regime="all", group="all", metric="executed")][
        "count"
    ].tolist()
    assert row["count_mean"] == pytest.approx(sum(kept) / 4)


def test_shares_pick_the_report_rows():
    iv = by_group.intervals(per_run(3))
    s = by_group.shares(iv)
    assert set(s["group"]) == set(by_group.SHARE_GROUPS)
    assert (s["regime"] == "all").all() and (s["metric"] == "recruits").all()


# --------------------------------------------------------------------------- run and batch


def test_run_writes_the_by_group_table(tmp_path, prisonflow):
    out_dir = tmp_path / "ua"
    args = ["run", "ukraine_2024", "--population", "2000", "--days", "200", "--seed", "3"]
    code, out, err = prisonflow(*args, "--out", str(out_dir))
    assert code == 0, err
    assert "by_group.parquet" in out
    t = pd.read_parquet(out_dir / "by_group.parquet")
    assert list(t.columns) == list(by_group.COLUMNS)
    assert "UA_2024" in set(t["regime"])
    marker = json.loads((out_dir / ".prisonflow").read_text())
    assert "by_group.parquet" in marker["files"]


def test_batch_writes_by_group_per_replicate_and_intervals(tmp_path):
    res = small_batch(tmp_path / "b", replicates=3, entropy=5)
    assert {"by_group.parquet", "by_group_intervals.csv"} <= set(res.manifest["files"])
    runs = pd.read_parquet(res.out_dir / "by_group.parquet")
    assert sorted(runs["replicate"].unique()) == [0, 1, 2]
    total = runs[(runs["regime"] == "all") & (runs["group"] == "all")]
    total = total[total["metric"] == "recruits"].set_index("replicate")["count"].sort_index()
    released = res.summary.set_index("replicate")["released_to_army"].sort_index()
    assert list(total) == list(released) and released.sum() > 0
    iv = pd.read_csv(res.out_dir / "by_group_intervals.csv")
    row = iv[(iv["regime"] == "all") & (iv["group"] == "all") & (iv["metric"] == "recruits")]
    assert row["n"].iloc[0] == 3
    assert row["count_median"].iloc[0] == pytest.approx(np.median(released))
    loaded = sim.load_experiment(res.out_dir)
    assert len(loaded.by_group) == len(runs)


@pytest.mark.parametrize("engine", ["vector", "agents"])
def test_engine_tables_add_up_to_the_summary(engine, russia):
    """On real runs of both engines: per regime and in total, the table's recruits and
    fates match the run's summary, and every group sums to its total. 1,500 people over 700
    days: four regimes recruit (Mesa engine, seed 1: 101, 42, 35 and 10 recruits; 31 killed,
    9 back in custody, 3 deserted), so every identity below compares non-zero counts."""
    result = sim.run(russia, engine=engine, seed=1, population=1500, days=700)
    t = by_group.table(result.recruits, list(russia.regimes))
    tt = t.set_index(["regime", "group", "value", "metric"])["count"]
    for metric, flow in (
        ("recruits", "released_to_army"),
        ("killed", "killed"),
        ("returned_to_custody", "returned_to_custody"),
    ):
        assert tt[("all", "all", "all", metric)] == result.summary[flow], metric
    # an enlistment counts under the outcome that ended it: a deserter who went back to
    # the unit counts under what came later, so the flow of desertions can be larger
    assert tt[("all", "all", "all", "deserted")] <= result.summary["deserted"]
    assert result.summary["released_to_army"] > 0 and result.summary["killed"] > 0
    assert result.summary["returned_to_custody"] > 0
    per_regime = t[(t["group"] == "all") & (t["metric"] == "recruits") & (t["regime"] != "all")]
    assert per_regime["count"].sum() == result.summary["released_to_army"]
    assert (per_regime["count"] > 0).sum() >= 2  # more than one regime recruits here
    sums = t.groupby(["regime", "group", "metric"])["count"].sum()
    totals = t[t["group"] == "all"].set_index(["regime", "metric"])["count"]
    for (regime, _group, metric), s in sums.items():
        assert s == totals[(regime, metric)]


def test_batch_command_writes_the_by_group_table(tmp_path, prisonflow):
    out_dir = tmp_path / "b"
    args = ["batch", "ukraine_2024", "--replicates", "2", "--population", "2000"]
    args += ["--days", "200", "--workers", "1", "--entropy", "2", "--fixed-parameters"]
    code, out, err = prisonflow(*args, "--out", str(out_dir))
    assert code == 0, err
    assert "by_group.parquet, by_group_intervals.csv" in out
    runs = pd.read_parquet(out_dir / "by_group.parquet")
    assert set(runs["replicate"]) == {0, 1} and set(runs["regime"]) == {"UA_2024", "all"}
    assert len(list((out_dir / "by_group").glob("*.parquet"))) == 2
    assert (out_dir / "by_group_intervals.csv").is_file()
