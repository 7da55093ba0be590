"""`sim.scenario.bundled_listing` and `prisonflow scenarios`: each scenario's [scenario]
table read without validation (issue 14), showing what the loader gives, and every file the
listing cannot show as the loader would reported as the loader reports it."""

from __future__ import annotations

import shutil

import pytest

import sim.scenario
from sim.scenario import (
    LISTED_META_TYPES,
    ScenarioError,
    bundled_listing,
    bundled_scenarios,
    load_scenario,
    scenarios_dir,
)

UKRAINE_TOML = bundled_scenarios()["ukraine_2024"].read_text()


def loaded_meta(name_or_path) -> dict:
    return load_scenario(name_or_path).scenario.model_dump()


def without_loader(monkeypatch) -> None:
    """Make a full load fail, so a listing that still works never needed it."""

    def refuse(*args, **kwargs):
        raise AssertionError("the listing loaded a scenario in full")

    monkeypatch.setattr(sim.scenario, "load_scenario", refuse)


@pytest.fixture
def scenario_dir(tmp_path, monkeypatch):
    """A copy of the bundled scenarios (bases included) as PRISONFLOW_SCENARIOS."""
    shutil.copytree(scenarios_dir(), tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("PRISONFLOW_SCENARIOS", str(tmp_path))
    return tmp_path


def test_bundled_listing_shows_what_the_loader_gives_without_loading(monkeypatch):
    """Every key each listed table holds (the listed ones at least) has the loader's value,
    own keys of a scenario that is also a base (russia_wagner_2022) included: it is read
    after russia_2022_2025 has merged it in, from the same parsed file."""
    expected = {name: loaded_meta(name) for name in bundled_scenarios()}
    without_loader(monkeypatch)
    listing = bundled_listing()
    assert list(listing) == list(expected)
    for name, meta in listing.items():
        assert set(LISTED_META_TYPES) <= set(meta), name
        assert meta == {k: expected[name][k] for k in meta}, name
    assert listing["russia_wagner_2022"]["short_label"] == "RU Wagner"


def test_the_loader_check_sees_a_full_load(monkeypatch):
    """Test of the test above: `without_loader` does stop a listing that loads in full."""
    without_loader(monkeypatch)
    with pytest.raises(AssertionError, match="loaded a scenario in full"):
        sim.scenario.load_scenario("ukraine_2024")
    monkeypatch.setattr(sim.scenario, "_listable", lambda meta: False)
    with pytest.raises(AssertionError, match="loaded a scenario in full"):
        bundled_listing()


def test_a_child_file_is_listed_with_its_bases_resolved(scenario_dir, monkeypatch):
    (scenario_dir / "aa_child.toml").write_text(
        '[scenario]\nname = "aa_child"\nextends = "russia_wagner_2022"\n'
        'title = "A child of Wagner"\nend_date = 2023-06-30\n'
    )
    expected = loaded_meta("aa_child")
    without_loader(monkeypatch)
    meta = bundled_listing()["aa_child"]
    assert {k: meta[k] for k in LISTED_META_TYPES} == {k: expected[k] for k in LISTED_META_TYPES}
    assert "short_label" not in meta  # a base's own key is not inherited


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("start_date = 2024-05-18", 'start_date = "2024-05-18"'),  # a string the loader reads
        ('title = "Ukraine, Law 3687-IX: parole for military service"\n', ""),  # default ""
    ],
)
def test_a_table_read_otherwise_by_the_loader_is_listed_as_loaded(scenario_dir, old, new):
    assert old in UKRAINE_TOML
    (scenario_dir / "zz_other.toml").write_text(UKRAINE_TOML.replace(old, new, 1))
    meta = bundled_listing()["zz_other"]
    expected = loaded_meta("zz_other")
    assert {k: meta[k] for k in LISTED_META_TYPES} == {k: expected[k] for k in LISTED_META_TYPES}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scenario\n", "not valid TOML"),
        ('[scenario]\nname = "x"\nextends = "nope"\n', "scenario.extends: 'nope'"),
        (UKRAINE_TOML.replace('country = "UA"\n', ""), "scenario.country: required key"),
        (UKRAINE_TOML.replace("title = ", "title = 3 #"), "scenario.title"),
        ("scenario = 3\n", "scenario: input should be a valid dictionary"),
        ('[scenario]\nname = "b"\nabstract = true\n', "is a base to extend"),
        ('scenario = "ukraine_2024"\nmethod = "grid"\n[parameters]\n', "is a sweep spec"),
    ],
)
def test_a_file_the_listing_cannot_show_gets_the_loaders_error(scenario_dir, text, expected):
    bad = scenario_dir / "bad.toml"
    bad.write_text(text)
    with pytest.raises(ScenarioError) as from_loader:
        load_scenario(bad)
    with pytest.raises(ScenarioError) as from_listing:
        bundled_listing()
    assert str(from_listing.value) == str(from_loader.value)
    assert str(bad) in str(from_listing.value) and expected in str(from_listing.value)


def test_scenarios_prints_each_scenarios_period_and_title(prisonflow):
    code, out, err = prisonflow("scenarios")
    assert code == 0, err
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│")}
    assert set(rows) == set(bundled_scenarios())
    for name, line in rows.items():
        meta = loaded_meta(name)
        period = f"{meta['start_date']} to {meta['end_date']}"
        assert f" {meta['country']} " in line and period in line and meta["title"] in line


def test_scenarios_reports_a_broken_file_on_one_line(scenario_dir, prisonflow):
    (scenario_dir / "broken.toml").write_text("[scenario\n")
    code, out, err = prisonflow("scenarios")
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("prisonflow: error: ") and f"{scenario_dir / 'broken.toml'}" in err
    assert "not valid TOML" in err
