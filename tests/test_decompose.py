"""Rule-by-rule decomposition (issue 11, item 4): Shapley values of rule groups between two
policies on one population, with common random numbers and equal exposure."""

from __future__ import annotations

import collections
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import cli

import sim
from sim import compare as cmp
from sim import decompose as dcp
from sim.decompose_report import decomposition_section, read_table
from sim.scenario import Regime, load_scenario

SIZE = 3000
REPLICATES = 2  # every check is per replicate or exact: two replicates test it twice


def classification_problems(fields) -> list[str]:
    """Regime fields not classified exactly once, and declared names that are not fields."""
    declared = [f for group in dcp.RULE_GROUPS.values() for f in group]
    declared += [*dcp.BEHAVIOUR, *dcp.BOOKKEEPING]
    counts = collections.Counter(declared)
    problems = [f"{f}: declared {n} times" for f, n in counts.items() if n > 1]
    problems += [f"{f}: not classified" for f in fields if f not in counts]
    problems += [f"{f}: not a Regime field" for f in counts if f not in fields]
    return problems


def test_every_regime_field_is_classified_exactly_once():
    assert classification_problems(list(Regime.model_fields)) == []
    assert set(dcp.GROUP_LABELS) == set(dcp.RULE_GROUPS)


def test_the_classification_check_catches_new_and_removed_fields():
    fields = list(Regime.model_fields)
    assert classification_problems([*fields, "signup_bonus_rub"]) == [
        "signup_bonus_rub: not classified"
    ]
    assert classification_problems([f for f in fields if f != "home_leave"]) == [
        "home_leave: not a Regime field"
    ]


# --------------------------------------------------------------------------- Shapley


def test_shapley_matches_a_hand_computed_three_player_game():
    # Bit i of the index is player i: v({})=0, v({0})=1, v({1})=2, v({0,1})=6, v({2})=3,
    # v({0,2})=7, v({1,2})=8, v({0,1,2})=12. By hand, phi_0 = 1/3*1 + 1/6*4 + 1/6*4 +
    # 1/3*4 = 3, phi_1 = 1/3*2 + 1/6*5 + 1/6*5 + 1/3*5 = 4, phi_2 = 1/3*3 + 1/6*6 + 1/6*6
    # + 1/3*6 = 5.
    values = np.array([0, 1, 2, 6, 3, 7, 8, 12], dtype=float)
    np.testing.assert_allclose(dcp.shapley(values), [3.0, 4.0, 5.0], rtol=0, atol=1e-12)


def test_shapley_symmetry_null_player_and_efficiency_on_a_synthetic_game():
    def v(mask: int) -> float:
        x = [mask >> i & 1 for i in range(4)]
        # players 0 and 1 enter symmetrically; player 3 changes nothing
        return 3 * (x[0] + x[1]) + 5 * x[0] * x[1] + 2 * x[2] * (x[0] + x[1]) + 7 * x[2]

    values = np.array([v(m) for m in range(16)], dtype=float)
    phi = dcp.shapley(values)
    assert phi[0] == pytest.approx(phi[1], abs=1e-12)
    assert phi[3] == 0.0
    assert phi.sum() == pytest.approx(values[15] - values[0], abs=1e-12)
    assert phi[2] != pytest.approx(phi[0])  # the test can tell players apart


def test_shapley_needs_every_coalition():
    with pytest.raises(ValueError, match="2\\^k"):
        dcp.shapley(np.zeros(6))


# --------------------------------------------------------------------------- on the model


def ua_law_to_wagner_law():
    """Ukraine's law (A) to Wagner's (B) on Ukraine's prisons, small."""
    return dcp.decompose(
        "ukraine_2024",
        "russia_wagner_2022",
        "ukraine_2024",
        size=SIZE,
        replicates=REPLICATES,
        seed=1,
    )


@pytest.fixture(scope="module")
def ua_vs_wagner():
    return ua_law_to_wagner_law()


def test_contributions_add_up_to_the_total_in_every_replicate(ua_vs_wagner):
    dec = ua_vs_wagner
    total = dec.values[-1] - dec.values[0]  # (replicates, metrics)
    np.testing.assert_allclose(dec.contributions.sum(axis=0), total, rtol=1e-9, atol=1e-9)
    # the laws differ: a real difference to split (288 and 207 more released to the army)
    assert np.abs(total[:, 0]).min() > 100
    # The table says the same: mean contributions sum to the mean total.
    t = dec.table
    for metric in dcp.METRICS:
        sub = t[t["metric"] == metric]
        groups = sub.loc[sub["kind"] == "group", "mean"].sum()
        assert groups == pytest.approx(float(sub.loc[sub["kind"] == "total", "mean"].iloc[0]))


def test_the_total_is_the_difference_of_the_two_endpoint_runs(ua_vs_wagner):
    dec = ua_vs_wagner
    a, b = load_scenario("ukraine_2024"), load_scenario("russia_wagner_2022")
    ra, rb = dcp.regime_of(a)[1], dcp.regime_of(b)[1]
    everything = tuple(dcp.RULE_GROUPS)
    for r, seed in enumerate(dec.seeds):
        for mask, law in ((0, ra), (-1, dcp.hybrid(ra, rb, everything))):
            scn = dcp.apply_with_equal_exposure(a, law, a)
            summary = sim.run(scn, seed=seed, population=SIZE).summary
            assert list(dec.values[mask, r]) == [summary[m] for m in dcp.METRICS]
        # Ukraine's law is in force over its whole horizon already: A on its own
        # population reproduces the scenario run exactly.
        own = sim.run(a, seed=seed, population=SIZE).summary
        assert list(dec.values[0, r]) == [own[m] for m in dcp.METRICS]


def test_a_group_where_the_policies_agree_contributes_exactly_zero():
    deadlier = load_scenario(
        "ukraine_2024",
        {"scenario.name": "ukraine_deadlier", "regimes.UA_2024.killed_per_day": 0.003},
    )
    dec = dcp.decompose(
        "ukraine_2024", deadlier, "ukraine_2024", size=SIZE, replicates=REPLICATES, seed=2
    )
    assert dec.runs == 2 * REPLICATES  # coalitions with the same law share their runs
    front = dec.groups.index("front_line")
    for i, g in enumerate(dec.groups):
        if i != front:
            assert dec.differing[g] == []
            assert np.all(dec.contributions[i] == 0.0), g
    killed = dcp.METRICS.index("killed")
    assert dec.contributions[front, :, killed].min() > 0
    np.testing.assert_allclose(dec.contributions[front], dec.values[-1] - dec.values[0])


def test_two_groups_with_identical_effect_get_equal_contributions(monkeypatch):
    """Two groups holding the same field switch the same law: each gets half the effect."""
    groups = {"first": ("killed_per_day",), "second": ("killed_per_day",)}
    groups["rest"] = tuple(
        f for fields in dcp.RULE_GROUPS.values() for f in fields if f != "killed_per_day"
    )
    monkeypatch.setattr(dcp, "RULE_GROUPS", groups)
    monkeypatch.setattr(dcp, "GROUP_LABELS", {g: g for g in groups})
    dec = dcp.decompose(
        "ukraine_2024", "russia_stormv_2023", "ukraine_2024", size=SIZE, replicates=2, seed=3
    )
    first, second, rest = dec.contributions
    killed = dcp.METRICS.index("killed")
    assert np.abs(first[:, killed]).min() > 0  # the field matters, so the check can fail
    np.testing.assert_allclose(first, second, rtol=1e-12, atol=1e-12)


def test_contributions_do_not_depend_on_the_order_of_the_groups(ua_vs_wagner, monkeypatch):
    monkeypatch.setattr(dcp, "RULE_GROUPS", dict(reversed(dcp.RULE_GROUPS.items())))
    dec = ua_law_to_wagner_law()
    for g in ua_vs_wagner.groups:
        np.testing.assert_allclose(
            dec.contributions[dec.groups.index(g)],
            ua_vs_wagner.contributions[ua_vs_wagner.groups.index(g)],
            rtol=1e-9,
            atol=1e-9,
        )


def test_the_same_seed_gives_the_same_decomposition(ua_vs_wagner):
    again = ua_law_to_wagner_law()
    pd.testing.assert_frame_equal(again.table, ua_vs_wagner.table)


def test_a_chained_policy_is_refused_by_name():
    with pytest.raises(sim.ScenarioError, match="POLICY_B: has 5 regimes") as info:
        dcp.decompose("ukraine_2024", "russia_2022_2025")
    assert "russia_wagner_2022" in str(info.value)  # says what is allowed


# --------------------------------------------------------------------------- CLI and report


def test_cli_writes_its_files(tmp_path, monkeypatch, capsys):
    out = tmp_path / "dec"
    code, stdout, err = cli(
        monkeypatch,
        capsys,
        "decompose",
        "ukraine_2024",
        "russia_stormz_2023",
        "--population",
        "ukraine_2024",
        "--size",
        "2000",
        "--replicates",
        "2",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert err == ""
    for label in ("remaining-sentence limit", "total difference A to B", "sum of contributions"):
        assert label in stdout
    assert re.search(r"^decompose: (\d+) of \1 runs$", stdout, re.M)  # plain progress lines
    for name in ("decomposition.csv", "replicates.csv", "report.md", "manifest.json"):
        assert (out / name).is_file(), name
    for suffix in ("png", "svg"):
        assert (out / "figures" / f"decomposition.{suffix}").stat().st_size > 1000
    table = read_table(out / "decomposition.csv")
    assert set(table["term"]) == {"A", "B", "total", *dcp.RULE_GROUPS}
    assert "Which rule makes the difference" in (out / "report.md").read_text()
    # A second run into the same directory needs --overwrite (it is our own output).
    code, _, err = cli(
        monkeypatch,
        capsys,
        "decompose",
        "ukraine_2024",
        "russia_stormz_2023",
        "--size",
        "500",
        "--replicates",
        "2",
        "--out",
        str(out),
    )
    assert code == 2 and "--overwrite" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "args, names",
    [
        (["nowhere_2024", "ukraine_2024"], ("nowhere_2024", "POLICY_A", "bundled scenarios")),
        (["ukraine_2024", "russia_2022_2025"], ("POLICY_B", "single-regime", "allowed")),
        (["ukraine_2024", "ukraine_2024"], ("POLICY_B", "same policy")),
        (["ukraine_2024", "russia_wagner_2022", "--population", "atlantis"], ("--population",)),
        (["ukraine_2024", "russia_wagner_2022", "--replicates", "1"], ("--replicates",)),
    ],
)
def test_cli_bad_inputs_exit_2_with_one_line(args, names, tmp_path, monkeypatch, capsys):
    out = tmp_path / "never"
    code, stdout, err = cli(monkeypatch, capsys, "decompose", *args, "--out", str(out))
    assert code == 2, (stdout, err)
    assert err.count("\n") == 1 and "Traceback" not in err
    for name in names:
        assert name in err
    assert not out.exists()


def test_cli_never_writes_over_files_it_did_not_make(tmp_path, monkeypatch, capsys):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.md").write_text("mine")
    code, _, err = cli(
        monkeypatch,
        capsys,
        "decompose",
        "ukraine_2024",
        "russia_wagner_2022",
        "--size",
        "500",
        "--replicates",
        "2",
        "--out",
        str(out),
        "--overwrite",
    )
    assert code == 2 and "chapter1.md" in err
    assert [p.name for p in out.iterdir()] == ["chapter1.md"]


def test_report_section_and_compare_hook(ua_vs_wagner, tmp_path, monkeypatch, capsys):
    assert decomposition_section(tmp_path) == []  # no decomposition.csv: nothing
    out = tmp_path / "compare"
    cmp.compare(
        ["ukraine_2024"],
        policies=["ukraine_2024", "russia_wagner_2022"],
        populations=["ukraine_2024"],
        replicates=2,
        population=1000,
        days=60,
        workers=1,
        entropy=3,
        out=out,
        report=False,
    )
    ua_vs_wagner.table.to_csv(out / "decomposition.csv", index=False)
    code, _, err = cli(monkeypatch, capsys, "report", str(out))
    assert code == 0, err
    md = (out / "report.md").read_text()
    assert "## Which rule makes the difference" in md
    assert "remaining-sentence limit" in md and "figures/decomposition.png" in md
    assert (out / "figures" / "decomposition.svg").is_file()
    shutil.rmtree(out)


def test_an_inconsistent_hybrid_is_one_line_naming_the_groups(monkeypatch):
    """Fields that must agree (a fixed contract needs its length) belong in one group; split
    them and the hybrid is refused with a ScenarioError, not a validation traceback."""
    groups = {g: f for g, f in dcp.RULE_GROUPS.items() if g != "contract"}
    groups |= {"contract": ("contract",), "length": ("contract_days",)}
    groups["rest"] = ("overrides_existing_contracts", "max_service_age_years")
    monkeypatch.setattr(dcp, "RULE_GROUPS", groups)
    monkeypatch.setattr(dcp, "GROUP_LABELS", {g: g for g in groups})
    with pytest.raises(sim.ScenarioError, match="POLICY_B: A's rules with B's contract") as info:
        dcp.decompose("ukraine_2024", "russia_wagner_2022", size=500, replicates=1)
    assert "\n" not in str(info.value)
