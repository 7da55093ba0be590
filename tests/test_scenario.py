"""Scenario schema and loading: bundled files, citations, `extends`, overrides, values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import sim
from sim.scenario import ScenarioError, _load_raw, bundled_scenarios, parse_value

BUNDLED = sorted(bundled_scenarios())
UKRAINE_TOML = bundled_scenarios()["ukraine_2024"].read_text()


def _parameter_keys(raw: dict) -> list[str]:
    """Dotted keys of every model parameter of a merged scenario (tables count as one)."""
    keys = ["scenario.start_date", "scenario.end_date"]
    if "war_end_date" in raw["scenario"]:
        keys.append("scenario.war_end_date")
    population = dict(raw["population"])
    keys += [f"population.volunteering.{k}" for k in population.pop("volunteering", {})]
    for cid, campaign in population.pop("campaigns", {}).items():
        keys += [f"population.campaigns.{cid}.{k}" for k in campaign]
    keys += [f"population.{k}" for k in population]
    for rid, regime in raw["regimes"].items():
        keys += [f"regimes.{rid}.{k}" for k in regime]
    return keys


# --------------------------------------------------------------------------- bundled files


def test_bundled_names():
    assert {"ukraine_2024", "russia_2022_2025", "russia_wagner_2022"} <= set(BUNDLED)
    assert "russia_population" not in BUNDLED  # bases are not runnable scenarios


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenario_loads(name):
    scn = sim.load_scenario(name)
    assert isinstance(scn, sim.Scenario)
    assert scn.name == name
    assert scn.regimes
    assert scn.n_days > 0
    assert Path(scn.source_file).name == f"{name}.toml"


@pytest.mark.parametrize("name", BUNDLED)
def test_every_parameter_is_cited(name):
    scn = sim.load_scenario(name)
    raw = _load_raw(bundled_scenarios()[name])
    keys = _parameter_keys(raw)
    # The raw merged dict and the resolved object agree on what was set explicitly.
    tables = {"volunteering", "campaigns"}  # their keys are cited one by one
    explicit = scn.population.model_fields_set - tables
    assert {f"population.{k}" for k in explicit} <= set(keys)
    volunteering = scn.population.volunteering.model_fields_set
    assert {f"population.volunteering.{k}" for k in volunteering} <= set(keys)
    for rid, regime in scn.regimes.items():
        assert {f"regimes.{rid}.{k}" for k in regime.model_fields_set} <= set(keys)
    missing = [k for k in keys if k not in scn.sources]
    assert not missing, f"{name}: parameters without a citation: {missing}"
    empty = [k for k, v in scn.sources.items() if not v.strip()]
    assert not empty, f"{name}: empty citations: {empty}"


def test_russia_timeline_merges_every_regime():
    scn = sim.load_scenario("russia_2022_2025")
    assert set(scn.regimes) == {
        "RU_WAGNER",
        "RU_STORMZ",
        "RU_STORMV",
        "RU_64FZ",
        "RU_DEFENDANTS",
    }
    assert scn.scenario.start_date == dt.date(2022, 7, 1)
    assert scn.population == sim.load_scenario("russia_wagner_2022").population


def test_abstract_base_cannot_run():
    base = bundled_scenarios()["ukraine_2024"].parent / "base" / "russia_population.toml"
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(base)
    assert info.value.key == "scenario.abstract"


# --------------------------------------------------------------------------- extends


def _variant(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(body)
    return path


def test_extends_overrides_one_key(tmp_path):
    path = _variant(
        tmp_path,
        "ua_five_years",
        '[scenario]\nname = "ua_five_years"\nextends = "ukraine_2024"\n\n'
        "[regimes.UA_2024]\nmax_remaining_sentence_days = 1826\n",
    )
    variant = sim.load_scenario(path)
    base = sim.load_scenario("ukraine_2024")
    assert variant.regimes["UA_2024"].max_remaining_sentence_days == 1826
    assert variant.name == "ua_five_years"
    v, b = variant.to_dict(), base.to_dict()
    assert v["regimes"]["UA_2024"].pop("max_remaining_sentence_days") == 1826
    assert b["regimes"]["UA_2024"].pop("max_remaining_sentence_days") != 1826
    # What a file says of itself (label, roles in compare's defaults) is not inherited.
    assert (v["scenario"]["short_label"], v["scenario"]["roles"]) == ("", [])
    assert b["scenario"]["short_label"] and b["scenario"]["roles"]
    for d in (v, b):
        d.pop("source_file")
        for key in ("name", "extends", "short_label", "roles", "order"):
            d["scenario"].pop(key)
    assert v == b


def test_extends_overrides_inside_a_distribution_replace_it_whole(tmp_path):
    path = _variant(
        tmp_path,
        "ua_short_training",
        '[scenario]\nname = "ua_short_training"\nextends = "ukraine_2024"\n\n'
        '[regimes.UA_2024]\ntraining_days = { dist = "fixed", value = 30 }\n',
    )
    scn = sim.load_scenario(path)
    assert scn.regimes["UA_2024"].training_days.dist == "fixed"
    assert scn.regimes["UA_2024"].training_days.mean_value == 30


def test_extends_list_merges_bases(tmp_path):
    path = _variant(
        tmp_path,
        "two_regimes",
        '[scenario]\nname = "two_regimes"\nextends = ["russia_wagner_2022", "russia_64fz_2024"]\n'
        "start_date = 2022-07-01\nend_date = 2025-12-31\n",
    )
    scn = sim.load_scenario(path)
    assert set(scn.regimes) == {"RU_WAGNER", "RU_64FZ"}
    assert "regimes.RU_WAGNER.killed_per_day" in scn.sources
    assert "regimes.RU_64FZ.killed_per_day" in scn.sources


def test_extends_a_sibling_file_by_name(tmp_path):
    _variant(tmp_path, "my_base", UKRAINE_TOML.replace('name = "ukraine_2024"', 'name = "b"'))
    path = _variant(
        tmp_path,
        "child",
        '[scenario]\nname = "child"\nextends = "my_base"\n\n[population]\nmale_share = 0.9\n',
    )
    scn = sim.load_scenario(path)
    assert scn.population.male_share == 0.9
    assert scn.population.initial_size == sim.load_scenario("ukraine_2024").population.initial_size


def test_extends_cycle(tmp_path):
    _variant(tmp_path, "cyc_a", '[scenario]\nname = "cyc_a"\nextends = "cyc_b"\n')
    b = _variant(tmp_path, "cyc_b", '[scenario]\nname = "cyc_b"\nextends = "cyc_a"\n')
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(b)
    assert info.value.key == "scenario.extends"
    assert "cyclic" in str(info.value)
    assert "scenario.extends" in str(info.value)


def test_extends_self(tmp_path):
    a = _variant(tmp_path, "selfish", '[scenario]\nname = "selfish"\nextends = "selfish"\n')
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(a)
    assert info.value.key == "scenario.extends"


def test_extends_unknown_base(tmp_path):
    a = _variant(tmp_path, "orphan", '[scenario]\nname = "orphan"\nextends = "no_such_base"\n')
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(a)
    assert info.value.key == "scenario.extends"
    assert "no_such_base" in str(info.value)
    assert str(a) in str(info.value)


def test_extends_wrong_type(tmp_path):
    a = _variant(tmp_path, "numeric", '[scenario]\nname = "numeric"\nextends = 3\n')
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario(a)
    assert info.value.key == "scenario.extends"


# --------------------------------------------------------------------------- overrides


def test_overrides_change_only_their_keys():
    base = sim.load_scenario("ukraine_2024")
    scn = sim.load_scenario(
        "ukraine_2024",
        {
            "regimes.UA_2024.approval_capacity_per_day": 5,
            "scenario.war_end_date": dt.date(2025, 1, 1),
            "population.male_share": 0.9,
        },
    )
    assert scn.regimes["UA_2024"].approval_capacity_per_day == 5
    assert scn.scenario.war_end_date == dt.date(2025, 1, 1)
    assert scn.population.male_share == 0.9
    assert scn.regimes["UA_2024"].killed_per_day == base.regimes["UA_2024"].killed_per_day
    assert base.regimes["UA_2024"].approval_capacity_per_day != 5  # not mutated
    assert sim.load_scenario("ukraine_2024") == base


def test_override_none_removes_the_limit():
    scn = sim.load_scenario("ukraine_2024", {"regimes.UA_2024.max_remaining_sentence_days": None})
    assert scn.regimes["UA_2024"].max_remaining_sentence_days is None


def test_override_is_validated():
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario("ukraine_2024", {"regimes.UA_2024.killed_per_day": 2.0})
    assert info.value.key == "regimes.UA_2024.killed_per_day"
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario("ukraine_2024", {"regimes.UA_2024.no_such_key": 1})
    assert info.value.key == "regimes.UA_2024.no_such_key"
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario("ukraine_2024", {"population.male_share.x": 1})
    assert info.value.key == "population.male_share"
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario("ukraine_2024", {"regimes..x": 1})
    assert info.value.key == "regimes..x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5),
        ("-3", -3),
        ("0.25", 0.25),
        ("1e-4", 1e-4),
        ("2025-01-31", dt.date(2025, 1, 31)),
        ("true", True),
        ("false", False),
        ('["male"]', ["male"]),
        ("[1, 2, 3]", [1, 2, 3]),
        ('"quoted"', "quoted"),
        ('{ dist = "fixed", value = 3 }', {"dist": "fixed", "value": 3}),
        ("court", "court"),
        ("two words", "two words"),
        ("", ""),
    ],
)
def test_parse_value(text, expected):
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


# --------------------------------------------------------------------------- errors


def test_scenario_error_is_one_line():
    err = ScenarioError("f.toml", "a.b", "must be positive")
    assert str(err) == "f.toml: a.b: must be positive"
    assert (err.file, err.key, err.message) == ("f.toml", "a.b", "must be positive")
    assert str(ScenarioError(None, None, "oops")) == "<scenario>: oops"


def test_unknown_bundled_name_lists_the_known_ones():
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario("ukraine_2042")
    assert "ukraine_2024" in str(info.value)


def test_run_rejects_bad_arguments(ukraine):
    with pytest.raises(ValueError, match="engine"):
        sim.run(ukraine, engine="nope", population=10, days=2)
    with pytest.raises(ValueError, match="population"):
        sim.run(ukraine, population=0, days=2)
    with pytest.raises(ValueError, match="days"):
        sim.run(ukraine, population=10, days=0)
    with pytest.raises(ValueError, match="seed"):
        sim.run(ukraine, seed=-1, population=10, days=2)


def test_days_past_the_end_need_extend(ukraine):
    assert ukraine.horizon_days() == ukraine.n_days == 501
    assert ukraine.horizon_days(30) == 30
    with pytest.raises(ScenarioError) as info:
        sim.run(ukraine, population=10, days=502)
    assert info.value.key == "days" and "2025-09-30" in info.value.message
    assert len(sim.run(ukraine, population=10, days=502, extend=True).timeseries) == 502


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"scenario.name": "../../escaped"}, "scenario.name"),
        ({"scenario.name": "a/b"}, "scenario.name"),
        ({"scenario.name": "a..b"}, "scenario.name"),
        ({"scenario.name": "-dash-first"}, "scenario.name"),
        ({"scenario.war_end_date": dt.date(2024, 1, 1)}, "scenario.war_end_date"),
        ({"scenario.war_end_date": dt.date(2024, 5, 18)}, "scenario.war_end_date"),
        ({"scenario.end_date": dt.date(2024, 5, 18)}, "scenario.end_date"),
        ({"regimes.UA_2024.start_date": dt.date(2025, 9, 30)}, "regimes.UA_2024.start_date"),
        ({"scenario.end_date": dt.date(2024, 5, 1)}, "scenario.end_date"),
        ({"scenario.end_date": dt.date(2024, 5, 19)}, None),  # the regime starts on day 0: ok
    ],
)
def test_nonsense_is_refused_naming_the_key(overrides, key):
    if key is None:
        sim.load_scenario("ukraine_2024", overrides)
        return
    with pytest.raises(ScenarioError) as info:
        sim.load_scenario("ukraine_2024", overrides)
    assert info.value.key == key, info.value
    assert info.value.file.endswith("ukraine_2024.toml")


def test_safe_names_and_a_late_war_end_are_accepted():
    scn = sim.load_scenario(
        "ukraine_2024",
        {"scenario.name": "UA-2024.v2_b", "scenario.war_end_date": dt.date(2024, 5, 19)},
    )
    assert scn.name == "UA-2024.v2_b"


def test_a_file_of_another_kind_says_what_was_expected(tmp_path):
    from sim.experiments import SpecError, load_spec
    from sim.scenario import scenarios_dir

    spec = scenarios_dir() / "sweeps" / "ukraine_sobol.toml"
    with pytest.raises(ScenarioError, match="is a sweep spec, not a scenario"):
        sim.load_scenario(spec)
    with pytest.raises(SpecError, match="is a scenario, not a sweep spec"):
        load_spec(bundled_scenarios()["ukraine_2024"])
    latin = tmp_path / "latin.toml"
    latin.write_bytes(UKRAINE_TOML.replace("Ukraine", "Ukra\xefne").encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        sim.load_scenario(latin)


def test_counterfactual_shifts_rules_onto_other_population():
    from sim.counterfactual import counterfactual

    ua = sim.load_scenario("ukraine_2024")
    wagner = sim.load_scenario("russia_wagner_2022")
    c = counterfactual(wagner, ua, exposure="historical")
    assert c.population == ua.population  # people and their behaviour: baseline, campaigns
    assert c.scenario.start_date == ua.scenario.start_date
    assert c.scenario.end_date == ua.scenario.end_date
    assert c.scenario.exposure == "historical" and "exposure: historical" in c.scenario.description
    regime = c.regimes["RU_WAGNER"]
    assert regime.start_date == ua.scenario.start_date
    shift = ua.scenario.start_date - wagner.scenario.start_date
    assert regime.end_date == wagner.regimes["RU_WAGNER"].end_date + shift
    # Equal exposure (the default): the law stays in force over the whole horizon.
    equal = counterfactual(wagner, ua)
    assert equal.scenario.exposure == "equal" and "exposure: equal" in equal.scenario.description
    assert equal.regimes["RU_WAGNER"].end_date is None
    assert equal.population == ua.population
    assert regime.excluded_offences == wagner.regimes["RU_WAGNER"].excluded_offences
    # Russian rules for defendants reach Ukrainian pre-trial detainees, and the reverse.
    ru = sim.load_scenario("russia_2022_2025")
    defendants = sim.load_scenario("russia_defendants_2024")
    assert "pretrial" in counterfactual(defendants, ua).regimes["RU_DEFENDANTS"].statuses
    # Shifted onto Ukraine's shorter horizon, regimes starting after its end never apply.
    chained = counterfactual(ru, ua)
    assert sorted(chained.regimes) == ["RU_STORMV", "RU_STORMZ", "RU_WAGNER"]
    # Equal exposure keeps a chained timeline's order; only its last regime runs on.
    assert chained.regimes["RU_WAGNER"].end_date == chained.regimes["RU_STORMZ"].start_date
    assert chained.regimes["RU_STORMV"].end_date is None
    with pytest.raises(ScenarioError, match="exposure"):
        counterfactual(ru, ua, exposure="longest")
    assert counterfactual(ua, ru).regimes["UA_2024"].statuses == ["convicted"]
    assert sim.run(c, seed=1, population=2000, days=120).summary["applications"] > 0


@pytest.mark.parametrize("exposure", ["equal", "historical"])
def test_a_policy_on_its_own_population_is_that_scenario(exposure):
    """Open-ended law on its own people: either exposure reproduces the scenario's runs."""
    from sim.counterfactual import counterfactual

    ua = sim.load_scenario("ukraine_2024")
    own = counterfactual(ua, ua, exposure=exposure)
    assert own.regimes == ua.regimes and own.population == ua.population
    a = sim.run(own, seed=2, population=1500, days=90).summary
    b = sim.run(ua, seed=2, population=1500, days=90).summary
    assert a == b


def test_parsed_files_are_kept_by_content_and_handed_out_as_copies(tmp_path):
    """`_read_toml` parses a content once: a changed file is read anew (same size, same
    second included), and a caller changing what it got changes nothing for the next."""
    from sim.scenario import _read_toml

    path = tmp_path / "x.toml"
    path.write_text('a = "one"\n')
    first = _read_toml(path)
    first["a"] = "changed by the caller"
    assert _read_toml(path) == {"a": "one"}
    path.write_text('a = "two"\n')  # same size, written at once
    assert _read_toml(path) == {"a": "two"}


def test_merging_files_changes_neither_input_and_loads_share_nothing():
    import copy

    from sim.scenario import _deep_merge, _resolve_path

    base = {"a": {"x": 1, "y": [1]}, "d": {"dist": "fixed", "value": 1}, "k": 1}
    child = {"a": {"y": [2]}, "d": {"dist": "gamma", "mean": 2.0, "sd": 1.0}}
    before = copy.deepcopy((base, child))
    merged = _deep_merge(base, child)
    assert merged == {
        "a": {"x": 1, "y": [2]},
        "d": {"dist": "gamma", "mean": 2.0, "sd": 1.0},  # a distribution is replaced whole
        "k": 1,
    }
    assert (base, child) == before
    # a loaded file (extending two bases) is the loader's own: changing one load's tables
    # changes no later load
    path = _resolve_path("russia_2022_2025")
    first, second = _load_raw(path), _load_raw(path)
    assert first == second
    first["population"]["initial_size"] = -1
    first["regimes"].clear()
    assert _load_raw(path) == second != first
