"""Comparisons (issue 5): the policy x population matrix in one batch with common random
numbers, paired differences, and the `prisonflow compare` command. Tiny populations."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import cli
from scipy import stats

import sim
import sim.cli
from sim import compare as cmp
from sim.experiments.batch import BATCH_METRICS
from sim.experiments.stats import paired_stats

PRE_CONTRACT = ("admissions", "applications", "rejected_screening", "rejected_court")


# --------------------------------------------------------------------------- statistics


def test_paired_stats_match_a_t_interval_and_percentiles():
    rng = np.random.default_rng(1)
    ref = rng.normal(100, 20, 12)
    pol = ref + rng.normal(5, 1, 12)  # strongly correlated with the reference
    s = paired_stats(pol, ref)
    d = pol - ref
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert s["n"] == 12
    assert s["mean_diff"] == pytest.approx(d.mean())
    assert (s["t_low"], s["t_high"]) == pytest.approx((lo, hi))
    assert (s["p2_5"], s["p97_5"]) == pytest.approx(tuple(np.percentile(d, [2.5, 97.5])))
    welch = stats.ttest_ind(pol, ref, equal_var=False).confidence_interval(0.95)
    assert (s["unpaired_low"], s["unpaired_high"]) == pytest.approx((welch.low, welch.high))
    assert s["t_high"] - s["t_low"] < 0.2 * (s["unpaired_high"] - s["unpaired_low"])


def test_paired_stats_drop_missing_pairs_and_handle_no_spread():
    s = paired_stats(np.array([1.0, 2.0, np.nan]), np.array([1.0, 2.0, 3.0]))
    assert s["n"] == 2 and s["mean_diff"] == 0 and s["t_low"] == s["t_high"] == 0
    one = paired_stats(np.array([3.0]), np.array([1.0]))
    assert one["mean_diff"] == 2 and math.isnan(one["t_low"])


# --------------------------------------------------------------------------- pairing


@pytest.fixture(scope="module")
def rule_change(tmp_path_factory):
    """Wagner's rules on Wagner's population: itself, without drug offenders, deadlier."""
    # No risk response: a deadlier front must then leave everything before the contract alone.
    calm = {"population.volunteering.risk": 0.0}
    base = sim.load_scenario("russia_wagner_2022", calm)
    no_drugs = sim.load_scenario(
        "russia_wagner_2022",
        {
            **calm,
            "scenario.name": "wagner_no_drugs",
            "regimes.RU_WAGNER.excluded_offences": ["drug"],
        },
    )
    deadlier = sim.load_scenario(
        "russia_wagner_2022",
        {**calm, "scenario.name": "wagner_deadlier", "regimes.RU_WAGNER.killed_per_day": 0.004},
    )
    result = cmp.compare(
        [base],
        policies=[base, no_drugs, deadlier],
        populations=[base],
        replicates=8,
        population=20_000,
        workers=1,
        entropy=11,
        out=tmp_path_factory.mktemp("rule") / "compare",
        offence_replicates=1,
        report=False,
        exposure="historical",  # rule changes compared over the same window as the reference
        fixed_parameters=True,  # pairing under common random numbers, not parameter spread
    )
    return result.paired.set_index(["policy", "metric"])


def test_identical_rules_give_exactly_zero_paired_differences(rule_change):
    same = rule_change.loc["russia_wagner_2022"]
    assert set(same.index) == set(BATCH_METRICS)  # with the no-recruitment effect
    finite = same[same["n"] > 0]
    assert len(finite) == len(same)
    assert (finite["mean_diff"] == 0).all()
    assert (finite[["t_low", "t_high", "p2_5", "p97_5"]] == 0).all().all()
    assert (finite["unpaired_high"] > 0).any()  # unpaired, the same runs look uncertain


def test_a_rule_change_moves_only_what_it_can_reach(rule_change):
    # Excluding drug offenders: the inflow of prisoners does not depend on the rule.
    no_drugs = rule_change.loc["wagner_no_drugs"]
    assert no_drugs.loc["admissions", "mean_diff"] == 0
    assert no_drugs.loc["applications", "t_high"] < 0
    assert no_drugs.loc["released_to_army", "t_high"] < 0
    paired = no_drugs.loc["released_to_army"]
    # Pairing narrows the interval (0.62 of the unpaired width on the merged model of round 2,
    # from under 0.5 before: the new population spreads the rule's effect more).
    assert (paired["t_high"] - paired["t_low"]) < 0.75 * (
        paired["unpaired_high"] - paired["unpaired_low"]
    )
    # A deadlier front: nothing before the contract changes, nor who is recruited.
    deadlier = rule_change.loc["wagner_deadlier"]
    for metric in (*PRE_CONTRACT, "released_to_army", "share_violent_among_recruits"):
        assert deadlier.loc[metric, "mean_diff"] == 0, metric
        assert deadlier.loc[metric, "sd_diff"] == 0, metric
    assert deadlier.loc["killed", "t_low"] > 0
    assert deadlier.loc["service_completed", "t_high"] < 0


# --------------------------------------------------------------------------- the command


def test_compare_command_writes_the_whole_matrix(tmp_path, monkeypatch, capsys):
    """The default comparison through the CLI. Its report is asked for but not drawn here
    (seconds of figures): the report of `prisonflow compare` is drawn and checked in
    test_guide (the same default command), test_report and test_who."""
    import sim.reporting.build

    reports = []
    monkeypatch.setattr(
        sim.reporting.build, "build_report", lambda directory, manifest: reports.append(directory)
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "cmp"
    code, stdout, err = cli(
        monkeypatch,
        capsys,
        "compare",
        "--replicates",
        "2",
        "--population",
        "1500",
        "--workers",
        "1",
        "--entropy",
        "5",
        "--out",
        str(out),
    )
    assert code == 0, err
    for title in ("comparison:", "counterfactual matrix", "paired differences"):
        assert title in stdout
    assert reports == [out]
    for name in cmp.FILES:
        if name not in cmp.REPORT_FILES:
            assert (out / name.rstrip("/")).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["files"] == list(cmp.FILES)  # the report's files among them
    assert manifest["kind"] == "compare" and manifest["entropy"] == 5
    assert manifest["scenarios"] == list(cmp.default_countries())
    assert manifest["references"] == {p: p for p in cmp.default_countries()}
    assert manifest["offences_match_batch"] is True

    matrix = pd.read_csv(out / "matrix.csv")
    cells = set(zip(matrix["policy"], matrix["population"], strict=True))
    assert cells == {(p, q) for p in cmp.default_policies() for q in cmp.default_countries()}
    assert set(matrix["metric"]) == set(BATCH_METRICS)
    counts = matrix[matrix["metric"] == "released_to_army"]["n"]
    assert (counts == 2).all()  # every run finished (ratios may be n/a with no recruits)

    paired = pd.read_csv(out / "paired_differences.csv")
    assert set(zip(paired["policy"], paired["population"], strict=True)) == cells
    assert (paired["reference"] == paired["population"]).all()
    own = paired[(paired["policy"] == "ukraine_2024") & (paired["population"] == "ukraine_2024")]
    assert (own["mean_diff"].fillna(0) == 0).all()  # the same scenario, the same seeds

    comparison = pd.read_csv(out / "comparison.csv")
    assert set(comparison["scenario"]) == set(cmp.default_countries())
    assert {"mean", "median", "p2_5", "p97_5"} <= set(comparison.columns)

    # One batch, one seed per replicate, shared by every point.
    summary = pd.read_parquet(out / "batch" / "summary.parquet")
    assert summary["point"].nunique() == 2 + len(cmp.default_policies()) * len(
        cmp.default_countries()
    )
    assert summary.groupby("replicate")["seed"].nunique().eq(1).all()
    assert not list(tmp_path.glob(".cmp*"))  # no temporary directory left behind


def test_compare_bad_input_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(monkeypatch, capsys, "compare", "--replicates", "1")
    assert code == 2 and err.count("\n") == 1 and "--replicates" in err
    code, _, err = cli(monkeypatch, capsys, "compare", "no_such_scenario")
    assert code == 2 and err.count("\n") == 1 and "unknown scenario name" in err
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, _, err = cli(monkeypatch, capsys, "compare", "--out", str(mine))
    assert code == 2 and err.count("\n") == 1 and "not a comparison directory" in err
    assert (mine / "notes.txt").read_text() == "keep me"


def test_offence_composition_comes_from_the_batch_and_checks_its_total():
    from sim.experiments import OFFENCE_COLUMNS

    summary = pd.DataFrame(
        {
            "point": [0, 0],
            "scenario": ["a", "a"],
            "replicate": [0, 1],
            "seed": [5, 6],
            "status": ["ok", "ok"],
            "released_to_army": [3.0, 4.0],
            **{c: [0.0, 0.0] for c in OFFENCE_COLUMNS},
        }
    )
    summary.loc[0, OFFENCE_COLUMNS[0]] = 3  # adds up to released_to_army
    summary.loc[1, OFFENCE_COLUMNS[1]] = 2  # does not: 2 of 4
    offences = cmp.offence_composition(summary)
    assert offences.groupby("replicate")["matches_batch"].all().tolist() == [True, False]
    assert offences.groupby("replicate")["recruits"].sum().tolist() == [3, 2]
    assert set(cmp.offence_composition(summary, replicates=1)["replicate"]) == {0}


def test_describe_and_intervals_are_one_statistic_under_two_names():
    from sim.experiments import intervals

    rng = np.random.default_rng(2)
    summary = pd.DataFrame(
        {
            "point": np.repeat([0, 1], 6),
            "scenario": np.repeat(["a", "b"], 6),
            "status": ["ok"] * 5 + ["failed"] + ["ok"] * 6,
            "killed": rng.normal(50, 10, 12),
        }
    )
    summary.loc[7, "killed"] = np.nan
    iv = intervals(summary, ["killed"])
    comp = cmp.describe(summary, ["a", "b"], ["killed"])
    assert list(iv["n"]) == list(comp["n"]) == [5, 5]
    renamed = iv.rename(columns={"low": "p2_5", "high": "p97_5"})
    pd.testing.assert_frame_equal(renamed.drop(columns="point"), comp)
    ok_a = summary["killed"][:5]
    assert comp["p97_5"][0] == pytest.approx(np.percentile(ok_a, 97.5))


def test_compare_applies_policies_with_equal_exposure_by_default():
    """Wagner's law (in force Jul 2022 - Feb 2023) on Ukraine's prisons stays in force over
    the whole Ukrainian horizon unless the historical windows are asked for; a policy on
    its own population keeps its own windows, so it reproduces that scenario."""
    wagner = sim.load_scenario("russia_wagner_2022")

    def cell_regime(exposure, population="ukraine_2024"):
        points = cmp.plan([], [wagner], [population], exposure=exposure)
        (cell,) = [p for p in points if p.policy is not None]
        return cell.scenario.regimes["RU_WAGNER"], cell.scenario

    equal, scn = cell_regime("equal")
    assert equal.end_date is None and scn.scenario.exposure == "equal"
    historical, _ = cell_regime("historical")
    assert historical.end_date is not None
    own, own_scn = cell_regime("equal", "russia_wagner_2022")
    assert own.end_date == wagner.regimes["RU_WAGNER"].end_date
    with pytest.raises(sim.ScenarioError, match="exposure: allowed: equal, historical"):
        cmp.plan([], [wagner], ["ukraine_2024"], exposure="sometimes")  # type: ignore[arg-type]


def test_a_third_country_from_toml_alone(tmp_path, monkeypatch):
    """A country added as a scenario file (its own population and law, its metadata) joins
    compare's defaults, labels and report with no code change."""
    import shutil
    import tomllib

    import tomli_w

    from sim.scenario import scenarios_dir

    scenarios = tmp_path / "scenarios"
    shutil.copytree(scenarios_dir(), scenarios)
    data = tomllib.loads((scenarios / "ukraine_2024.toml").read_text())
    data["scenario"].update(
        name="moldova_2024",
        title="Moldova (invented for a test)",
        country="MD",
        short_label="MD test law",
        country_name="Moldova",
        roles=["country", "policy"],
        order=3,
    )
    data["population"]["initial_size"] = 6000
    (regime,) = data["regimes"].values()
    regime["label"] = "MD-2024: a test law"
    data["regimes"] = {"MD_2024": regime}
    data["sources"] = {}
    data["priors"] = {
        key.replace("UA_2024", "MD_2024"): prior for key, prior in data.get("priors", {}).items()
    }
    (scenarios / "moldova_2024.toml").write_text(tomli_w.dumps(data))
    monkeypatch.setenv("PRISONFLOW_SCENARIOS", str(scenarios))

    assert "moldova_2024" in cmp.default_countries()
    assert "moldova_2024" in cmp.default_policies()
    out = tmp_path / "c"
    result = cmp.compare(
        policies=["moldova_2024", "russia_wagner_2022"],
        replicates=2,
        population=400,
        days=60,
        workers=1,
        entropy=3,
        out=out,
    )
    assert result.manifest["scenarios"] == list(cmp.default_countries())
    assert "moldova_2024" in result.manifest["populations"]
    cells = result.matrix[result.matrix["metric"] == "released_to_army"]
    pairs = set(zip(cells["policy"], cells["population"], strict=True))
    assert {("moldova_2024", "moldova_2024"), ("russia_wagner_2022", "moldova_2024")} <= pairs
    md = (out / "report.md").read_text()
    assert "Moldova's prisons (moldova\\_2024)" in md and "MD test law" in md
    # Written before the comparison's wall time is known, the report gives the time so far.
    wall_line = next(line for line in md.splitlines() if "Wall time" in line)
    assert f"{result.manifest['wall_s_before_report']:.1f} s for the runs and tables" in wall_line
