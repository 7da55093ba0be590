"""The explorer's pure parts: controls from the schema, the scenario a setting builds, its
TOML (which `prisonflow run` accepts unchanged), the views and the figures."""

from __future__ import annotations

import datetime as dt
import socket
import sys
import tomllib

import numpy as np
import pandas as pd
import pytest

import sim
import sim.cli
from sim.explore import plots, state, views
from sim.explore.app import numbers_table
from sim.explore.server import PortInUse, check_port
from sim.reporting.labels import fmt_diff
from sim.scenario import Regime, ScenarioError

SMALL = {"replicates": 2, "population_size": 3000}
WAGNER = "russia_wagner_2022:RU_WAGNER"


def control(key: str) -> state.Control:
    return next(c for c in state.controls() if c.key == key)


# --------------------------------------------------------------------------- controls


def test_controls_take_their_bounds_from_the_schema():
    assert (control("killed_per_day").lower, control("killed_per_day").upper) == (0, 1)
    assert control("killed_per_day").hint == "from 0 to 1"
    capacity = control("approval_capacity_per_day")
    assert (capacity.kind, capacity.lower, capacity.upper) == ("int", 0, None)
    # An optional field keeps the bounds of its Annotated type inside the Optional.
    sentence = control("max_remaining_sentence_days")
    assert (sentence.kind, sentence.optional, sentence.lower) == ("int", True, 0)
    assert sentence.hint == "at least 0, or empty: no limit"
    contract = control("contract")
    assert contract.kind == "choice"
    assert set(contract.choices) == {"fixed", "until_war_end"}
    assert control("excluded_offences").kind == "multi"
    assert "murder_aggravated" in control("excluded_offences").choices
    assert all(c.key in Regime.model_fields for c in state.controls())


def test_a_value_the_schema_forbids_is_one_line_naming_the_key():
    bad = state.Settings().with_edit("killed_per_day", 2.0)
    with pytest.raises(ScenarioError) as info:
        state.build(bad)
    message = str(info.value)
    assert "\n" not in message
    assert "regimes.UA_2024.killed_per_day" in message and "[0, 1]" in message
    with pytest.raises(ScenarioError, match="contract_days"):
        state.build(state.Settings().with_edit("contract", "fixed").with_edit("contract_days", 0))


@pytest.mark.parametrize(
    "settings, match",
    [
        (state.Settings(law="nowhere:X"), "unknown scenario name"),
        (state.Settings(law="ukraine_2024:NO_SUCH"), "no such regime; has: UA_2024"),
        (state.Settings(law="UA_2024"), "a law is 'scenario:REGIME_ID'"),
        (state.Settings(population="missing/file.toml"), "file not found"),
        (state.Settings().with_edit("label", "x"), "not a control"),
    ],
)
def test_bad_settings_are_scenario_errors(settings, match):
    with pytest.raises(ScenarioError, match=match):
        views.compute(settings)


# --------------------------------------------------------------------------- scenarios


def test_every_bundled_regime_is_a_law():
    laws = state.law_choices()
    assert WAGNER in laws and "ukraine_2024:UA_2024" in laws
    for name, path in sim.bundled_scenarios().items():
        for rid in sim.load_scenario(name).regimes:
            assert f"{name}:{rid}" in laws, path


def test_a_scenario_file_is_a_population_with_its_own_laws(tmp_path):
    text = sim.bundled_scenarios()["ukraine_2024"].read_text()
    path = tmp_path / "my_ukraine.toml"
    path.write_text(text.replace('name = "ukraine_2024"', 'name = "my_ukraine"'))
    laws = state.law_choices(str(path))
    assert f"{path}:UA_2024" in laws and WAGNER in laws
    settings = state.Settings(population=str(path))
    built = state.build(settings)
    assert built.law == f"{path}:UA_2024" and built.population.name == "my_ukraine"
    bundled = sim.load_scenario("ukraine_2024").regimes["UA_2024"]
    assert (
        state.law_values(settings)["approval_capacity_per_day"] == bundled.approval_capacity_per_day
    )
    built = state.build(state.Settings(population=str(path), law=WAGNER))
    assert list(built.scenario.regimes) == ["RU_WAGNER"]


def test_the_default_is_the_populations_own_law_so_the_difference_is_zero():
    view = views.compute(state.Settings(**SMALL))
    assert view.built.law == "ukraine_2024:UA_2024"
    assert (view.paired["difference"].fillna(0) == 0).all()
    assert (view.paired["law"] > 0).any()  # the check is not vacuous: there are recruits


def test_a_law_swap_applies_one_regime_to_the_populations_people(ukraine):
    built = state.build(state.Settings(law=WAGNER))
    scn = built.scenario
    assert list(scn.regimes) == ["RU_WAGNER"]
    regime = scn.regimes["RU_WAGNER"]
    assert regime.start_date == ukraine.scenario.start_date and regime.end_date is None
    assert scn.population == ukraine.population
    assert (scn.scenario.start_date, scn.scenario.end_date) == (
        ukraine.scenario.start_date,
        ukraine.scenario.end_date,
    )
    wagner = sim.load_scenario("russia_wagner_2022").regimes["RU_WAGNER"]
    assert regime.killed_per_day == wagner.killed_per_day
    assert regime.excluded_offences == wagner.excluded_offences


def test_russias_population_is_resolved_without_extends(russia):
    built = state.build(state.Settings(population="russia_2022_2025"))
    assert state.default_population_size(built.population) == state.MAX_DEFAULT_POPULATION
    assert built.law == "russia_2022_2025:RU_WAGNER"  # the regime in force on day one
    assert list(built.scenario.regimes) == ["RU_WAGNER"]  # no base merged back in
    assert built.population.regimes.keys() == russia.regimes.keys()
    text = state.scenario_toml(built, state.Settings(population="russia_2022_2025"), 5000)
    assert "extends" not in tomllib.loads(text)["scenario"]


def test_the_downloaded_toml_loads_and_runs_as_shown(tmp_path):
    settings = (
        state.Settings(law=WAGNER)
        .with_edit("killed_per_day", 0.003)
        .with_edit("max_remaining_sentence_days", None)
        .with_edit("excluded_offences", ["sexual", "sexual_minor"])
    )
    built = state.build(settings)
    text = state.scenario_toml(built, settings, 3000)
    path = tmp_path / "explored.toml"
    path.write_text(text)
    loaded = sim.load_scenario(path)
    assert loaded.model_dump(exclude={"source_file"}) == built.scenario.model_dump(
        exclude={"source_file"}
    )
    regime = loaded.regimes["RU_WAGNER"]
    assert regime.killed_per_day == 0.003
    assert regime.max_remaining_sentence_days is None
    assert regime.excluded_offences == ["sexual", "sexual_minor"]
    assert loaded.sources["regimes.RU_WAGNER.killed_per_day"] == state.EDITED_SOURCE
    shown = views.run_replicates(built.scenario, 1, 3000).results[0]
    again = sim.run(loaded, seed=0, population=3000)
    assert again.summary == pytest.approx(shown.summary, nan_ok=True)
    assert text.startswith("# ") and "prisonflow run FILE" in text


def test_prisonflow_run_accepts_the_toml_unchanged(tmp_path, monkeypatch, capsys):
    settings = state.Settings(**SMALL).with_edit("approval_capacity_per_day", 40)
    path = tmp_path / "explored.toml"
    path.write_text(state.scenario_toml(state.build(settings), settings, 3000))
    monkeypatch.setattr(
        sys, "argv", ["prisonflow", "run", str(path), "--population", "3000", "--out", "o"]
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        sim.cli.main()
    assert info.value.code in (0, None), capsys.readouterr().err
    assert (tmp_path / "o" / "summary.csv").is_file()


# --------------------------------------------------------------------------- views


def test_paired_differences_are_seed_by_seed():
    settings = state.Settings(law=WAGNER, **SMALL).with_edit("killed_per_day", 0.004)
    view = views.compute(settings)
    law = views.run_replicates(view.built.scenario, 2, 3000).results
    own = views.run_replicates(view.built.population, 2, 3000).results
    diff = [a.summary["killed"] - b.summary["killed"] for a, b in zip(law, own, strict=True)]
    row = view.paired.set_index("key").loc["killed"]
    assert row["difference"] == pytest.approx(np.mean(diff))
    assert row["difference"] > 0
    assert row["law"] == np.median([r.summary["killed"] for r in law])
    assert views.run_replicates(view.built.scenario, 2, 3000).results is law  # cached


def test_bands_are_percentiles_over_replicates_per_day():
    runs = views.run_replicates(state.build(state.Settings()).population, 3, 3000)
    stacked = np.stack([r.timeseries["deployed"].to_numpy() for r in runs.results])
    day = 200
    assert runs.bands.median["deployed"].iloc[day] == np.median(stacked[:, day])
    assert runs.bands.low["deployed"].iloc[day] == np.percentile(stacked[:, day], 5)
    assert (runs.bands.low <= runs.bands.high).all().all()


def test_funnel_and_offences_follow_the_runs():
    view = views.compute(state.Settings(law=WAGNER, **SMALL))
    funnel = view.funnel.set_index("key")
    released = [
        r.summary["released_to_army"]
        for r in views.run_replicates(view.built.scenario, 2, 3000).results
    ]
    assert funnel.loc["released_to_army", "median"] == np.median(released)
    assert funnel.loc["released_to_army", "p05"] <= funnel.loc["released_to_army", "p95"]
    shares = view.offences.drop(index="total")
    assert shares[views.LAW].sum() == pytest.approx(1.0)
    # Wagner takes aggravated murderers; Ukraine's own law excludes them.
    assert shares.loc["aggravated murder", views.LAW] > 0
    assert shares.loc["aggravated murder", views.OWN] == 0


def test_default_settings_run_real_scale_ukraine_with_five_seeds():
    view = views.compute(state.Settings())
    assert view.population_size == 47_500
    assert len(view.law.results) == view.law.bands.replicates == state.DEFAULT_REPLICATES
    assert [r.seed for r in view.own.results] == list(range(state.DEFAULT_REPLICATES))
    assert view.law.bands.dates[0] == pd.Timestamp(dt.date(2024, 5, 18))


# --------------------------------------------------------------------------- app, server


def test_numbers_table_and_signed_differences():
    view = views.compute(state.Settings(law=WAGNER, **SMALL))
    table = numbers_table(view)
    assert table.startswith("<table class='pf-numbers'>") and "killed per 1,000" in table
    assert fmt_diff("killed", 0.0) == "+0"
    assert fmt_diff("killed", -0.4) == "+0"  # rounds to zero: no minus sign
    assert fmt_diff("killed", -1234.0) == "-1,234"
    assert fmt_diff("share_violent_among_recruits", 0.05) == "+5.0 pp"
    assert fmt_diff("share_violent_among_recruits", -0.0001) == "+0.0 pp"
    assert fmt_diff("prison_population_change_pct", -0.04) == "+0.0"
    assert fmt_diff("prison_population_change_pct", -0.06) == "-0.1"
    assert fmt_diff("killed", float("nan")) == "n/a"


def test_a_law_that_covers_nobody_says_so():
    # 64-FZ covers suspects under investigation; Ukraine's people have no such status.
    view = views.compute(state.Settings(law="russia_64fz_2024:RU_64FZ", **SMALL))
    assert view.paired.set_index("key").loc["released_to_army", "law"] == 0
    fig = plots.offences_figure(view.offences)
    assert any("no recruits" in t.get_text() for t in fig.axes[0].texts)
    assert "n/a" in numbers_table(view)  # killed per 1,000 recruits of no recruits


def test_figures_draw_every_panel():
    result = sim.run("ukraine_2024", population=3000)
    fig = plots.result_figure(result)
    assert len(fig.axes) == 4 and all(ax.lines for ax in fig.axes)
    view = views.compute(state.Settings(law=WAGNER, **SMALL))
    both = plots.timeseries_figure(view.law.bands, view.own.bands)
    assert len(both.axes[0].lines) == 2 * len(fig.axes[0].lines)
    assert plots.funnel_figure(view.funnel).axes and plots.offences_figure(view.offences).axes


def test_a_busy_port_is_a_clear_error(monkeypatch, capsys):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=f"--port {port}"):
            check_port("127.0.0.1", port)
        code, err = explore_cli(monkeypatch, capsys, "--port", str(port), "--no-browser")
    assert code == 2 and err.count("\n") == 1 and f"--port {port}" in err


@pytest.mark.parametrize(
    "args, match",
    [
        (("--port", "70000"), "--port 70000: must be a port number from 0 to 65535"),
        (("--port", "-1"), "--port -1"),
        (("--host", "no.such.host.invalid", "--port", "8765"), "--host no.such.host.invalid"),
    ],
)
def test_bad_addresses_exit_2_with_one_line(monkeypatch, capsys, args, match):
    code, err = explore_cli(monkeypatch, capsys, *args, "--no-browser")
    assert code == 2 and err.count("\n") == 1 and match in err, err


def explore_cli(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["prisonflow", "explore", *args])
    with pytest.raises(SystemExit) as info:
        sim.cli.main()
    return info.value.code, capsys.readouterr().err
