"""Parameter uncertainty: priors in scenarios, posterior files, one draw per replicate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim
from sim.scenario import ScenarioError
from sim.uncertainty import ParameterSampler, load_posterior, posterior_path, with_values

KILLED = "regimes.UA_2024.killed_per_day"
CAPACITY = "regimes.UA_2024.approval_capacity_per_day"
PRIORS = f"""
[priors]
"{KILLED}" = {{ dist = "loguniform", low = 0.0002, high = 0.002 }}
"{CAPACITY}" = {{ low = 40, high = 200 }}
"""


def scenario_file(tmp_path: Path, priors: str = PRIORS, name: str = "ua_priors") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[scenario]\nname = "{name}"\nextends = "ukraine_2024"\n{priors}')
    return path


@pytest.mark.parametrize(
    ("priors", "key", "message"),
    [
        ('"regimes.UA_2024.nope" = { low = 0, high = 1 }', "priors.regimes.UA_2024.nope", "not in"),
        ('"regimes.UA_2024.label" = { low = 0, high = 1 }', "priors.regimes.UA_2024.label", "non-"),
        (f'"{KILLED}" = {{ low = 0.002, high = 0.001 }}', f"priors.{KILLED}.high", "greater"),
        (f'"{KILLED}" = {{ dist = "loguniform", low = 0, high = 1 }}', f"priors.{KILLED}.low", ">"),
        (f'"{KILLED}" = {{ low = 0.001, high = 0.002 }}', f"priors.{KILLED}", "outside the prior"),
        (f'"{KILLED}" = {{ dist = "normal", low = 0, high = 1 }}', f"priors.{KILLED}.dist", "'"),
    ],
)
def test_bad_priors_name_file_and_key(tmp_path, priors, key, message):
    path = scenario_file(tmp_path, f"[priors]\n{priors}\n")
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(path)
    text = str(err.value)
    assert text.startswith(f"{path}: {key}: "), text
    assert message in text.split(f"{key}: ", 1)[1]
    assert "\n" not in text


def write_posterior(path: Path, rows: list[tuple], header=("weight", KILLED, CAPACITY)) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("header", "rows", "key", "message"),
    [
        (("weight", "regimes.UA_2024.nope"), [(1, 0.5)], "regimes.UA_2024.nope", "no prior"),
        (("weight", KILLED), [(1, 0.001), (-0.5, 0.001)], "row 3.weight", ">= 0"),
        (("weight", KILLED), [(1, 0.01)], f"row 2.{KILLED}", "outside its prior"),
        ((KILLED,), [(0.001,)], "weight", "required column"),
        (("weight", KILLED), [(1, "x")], f"row 2.{KILLED}", "finite number"),
        (("weight", KILLED), [(0, 0.001)], "weight", "not all be zero"),
    ],
)
def test_bad_posterior_files_name_file_and_key(tmp_path, header, rows, key, message):
    scn = sim.load_scenario(scenario_file(tmp_path))
    path = write_posterior(tmp_path / "p.csv", rows, header)
    with pytest.raises(ScenarioError) as err:
        load_posterior(path, dict(scn.priors))
    text = str(err.value)
    assert text.startswith(f"{path}: {key}: ") and message in text, text


def test_draws_are_reproducible_inside_priors_and_typed(tmp_path):
    scn = sim.load_scenario(scenario_file(tmp_path))
    sampler = ParameterSampler.for_scenario(scn)
    draws = [sampler.draw(seed) for seed in range(200)]
    assert draws[:5] == [sampler.draw(seed) for seed in range(5)]
    killed = np.array([d[KILLED] for d in draws])
    assert ((killed >= 0.0002) & (killed <= 0.002)).all()
    # Log-uniform: about half the draws below the geometric midpoint.
    assert 0.35 < np.mean(killed < np.sqrt(0.0002 * 0.002)) < 0.65
    assert all(isinstance(d[CAPACITY], int) for d in draws)
    # Really varies (drawn from the bundled posterior's particles, or from its prior).
    assert len({d[CAPACITY] for d in draws}) > 20
    run_scn = sampler.scenario_for(7)
    assert run_scn.regimes["UA_2024"].killed_per_day == sampler.draw(7)[KILLED]


def test_a_shared_parameter_draws_the_same_value_in_two_scenarios(tmp_path):
    """Common random numbers for parameters: the draw depends on the key, not the file."""
    a = ParameterSampler.for_scenario(sim.load_scenario(scenario_file(tmp_path, name="a")))
    only_killed = f'[priors]\n"{KILLED}" = {{ dist = "loguniform", low = 0.0002, high = 0.002 }}'
    b = ParameterSampler.for_scenario(
        sim.load_scenario(scenario_file(tmp_path, only_killed, name="b"))
    )
    for seed in range(20):
        assert a.draw(seed)[KILLED] == b.draw(seed)[KILLED]


def test_the_posterior_beside_the_scenario_is_drawn_jointly(tmp_path):
    path = scenario_file(tmp_path)
    particles = [(1, 0.0005, 60), (3, 0.0015, 180)]
    write_posterior(posterior_path(path), particles)
    sampler = ParameterSampler.for_scenario(sim.load_scenario(path))
    assert not {KILLED, CAPACITY} & set(sampler.independent)  # drawn from the particles
    draws = [sampler.draw(seed) for seed in range(400)]
    pairs = {(d[KILLED], d[CAPACITY]) for d in draws}
    assert pairs == {(0.0005, 60), (0.0015, 180)}  # whole particles, never mixed
    share = np.mean([d[CAPACITY] == 180 for d in draws])
    assert 0.68 < share < 0.82  # weight 3 of 4


def test_with_values_validates_like_a_file():
    scn = sim.load_scenario("ukraine_2024")
    with pytest.raises(ScenarioError, match=f"{KILLED}: must be a daily hazard"):
        with_values(scn, {KILLED: 2.0})
    assert with_values(scn, {KILLED: 0.001}).regimes["UA_2024"].killed_per_day == 0.001


# ---------------------------------------------------------- posterior-predictive experiments

SMALL_RUN = {"population": 500, "days": 30, "workers": 1, "entropy": 11}


def test_batch_draws_one_parameter_set_per_pair_of_replicates(tmp_path):
    path = scenario_file(tmp_path)
    result = sim.batch(path, replicates=4, out=tmp_path / "b", **SMALL_RUN)
    s = result.summary.set_index("replicate")
    killed = s[f"param.{KILLED}"]
    assert killed[0] == killed[1] and killed[2] == killed[3] and killed[0] != killed[2]
    capacity = s[f"param.{CAPACITY}"]
    assert (capacity == capacity.round()).all() and capacity.nunique() == 2
    # the worker ran the drawn values: one run redone by hand gives the same outputs
    scn = with_values(
        sim.load_scenario(path), {KILLED: killed[2], CAPACITY: int(s.loc[2, f"param.{CAPACITY}"])}
    )
    again = sim.run(scn, seed=int(s.loc[3, "seed"]), population=500, days=30).summary
    assert again["killed"] == s.loc[3, "killed"]
    shares = result.variance_shares
    assert set(shares["metric"]) >= {"released_to_army", "killed"}
    assert (tmp_path / "b" / "variance_shares.csv").is_file()
    fixed = sim.batch(path, replicates=4, fixed_parameters=True, out=tmp_path / "f", **SMALL_RUN)
    assert not [c for c in fixed.summary.columns if c.startswith("param.")]
    assert fixed.variance_shares is None


def test_a_scenario_without_priors_runs_as_with_fixed_parameters(tmp_path):
    bundled = sim.scenario.bundled_scenarios()["ukraine_2024"]
    path = tmp_path / "ukraine_2024.toml"
    (tmp_path / "base").mkdir()
    # The bundled file and the base file it extends, without their priors.
    for source, target in (
        (bundled, path),
        (bundled.parent / "base" / "volunteering.toml", tmp_path / "base" / "volunteering.toml"),
    ):
        text = source.read_text()
        target.write_text(text[: text.index("\n[priors]\n")] + "\n")
    assert not sim.load_scenario(path).priors
    drawn = sim.batch(path, replicates=2, out=tmp_path / "d", **SMALL_RUN)
    fixed = sim.batch(path, replicates=2, fixed_parameters=True, out=tmp_path / "f", **SMALL_RUN)
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(drawn.summary, fixed.summary)
    assert drawn.variance_shares is None


def test_a_key_given_by_set_is_not_drawn(tmp_path):
    path = scenario_file(tmp_path)
    result = sim.batch(
        path, replicates=2, overrides={KILLED: 0.001}, out=tmp_path / "b", **SMALL_RUN
    )
    assert f"param.{KILLED}" not in result.summary.columns
    assert f"param.{CAPACITY}" in result.summary.columns


def test_a_counterfactual_draws_law_from_the_policy_and_people_from_the_population(tmp_path):
    from sim.counterfactual import counterfactual

    policy = sim.load_scenario(scenario_file(tmp_path))
    sigma = '"population.motivation_sigma" = { low = 0.5, high = 3.0 }'
    population = sim.load_scenario(
        scenario_file(tmp_path, f"[priors]\n{sigma}\n", name="ua_people")
    )
    cell = counterfactual(policy, population)
    sampler = ParameterSampler.for_counterfactual(cell, policy, population)
    keys = set(sampler.keys)
    assert {KILLED, CAPACITY, "population.motivation_sigma"} <= keys
    assert all(k.startswith(("population.", "regimes.UA_2024.")) for k in keys)
    own_policy = ParameterSampler.for_scenario(policy)
    own_population = ParameterSampler.for_scenario(population)
    for seed in range(5):
        draw = sampler.draw(seed)
        assert draw[KILLED] == own_policy.draw(seed)[KILLED]
        key = "population.motivation_sigma"
        assert draw[key] == own_population.draw(seed)[key]


def test_variance_split_by_the_law_of_total_variance():
    from sim.experiments.stats import variance_split

    only_parameters = variance_split(np.array([0.0, 0.0, 10.0, 10.0]), np.array([0, 0, 1, 1]))
    assert only_parameters["parameter_share"] == 1.0 and only_parameters["noise_share"] == 0.0
    only_noise = variance_split(np.array([0.0, 2.0, 0.0, 2.0]), np.array([0, 0, 1, 1]))
    assert only_noise["parameter_share"] == 0.0 and only_noise["noise_share"] == 1.0
    rng = np.random.default_rng(1)
    theta = np.repeat(rng.normal(0, 3, 2000), 2)  # parameter sd 3, noise sd 1: share 0.9
    y = theta + rng.normal(0, 1, theta.size)
    split = variance_split(y, np.repeat(np.arange(2000), 2))
    assert 0.87 < split["parameter_share"] < 0.93


def test_an_override_fixes_a_value_and_drops_its_prior(tmp_path):
    """--set a key outside its prior is allowed: the value is fixed, no longer drawn; a
    posterior file holding that key still loads and the other keys are still drawn."""
    path = scenario_file(tmp_path)
    write_posterior(posterior_path(path), [(1, 0.0005, 60), (3, 0.0015, 180)])
    scn = sim.load_scenario(path, {KILLED: 0.0})
    assert KILLED not in scn.priors and scn.regimes["UA_2024"].killed_per_day == 0.0
    sampler = ParameterSampler.for_scenario(scn)
    assert KILLED not in sampler.keys and CAPACITY in sampler.keys
    assert [p.keys for p in sampler.posteriors] == [(CAPACITY,)]
    assert {sampler.draw(seed)[CAPACITY] for seed in range(50)} == {60, 180}


# ---------------------------------------------------------- joint posterior files

OWN_KILLED = f"ua_priors:{KILLED}"  # a joint fit's per-country key, prefixed with its scenario


def test_a_joint_posterior_file_reads_prefixed_keys_of_its_own_scenario(tmp_path):
    path = scenario_file(tmp_path)
    # shared key plain, the country's own key under its scenario name (or a file it extends)
    write_posterior(posterior_path(path), [(1, 0.0005, 60)], ("weight", OWN_KILLED, CAPACITY))
    sampler = ParameterSampler.for_scenario(sim.load_scenario(path))
    assert sampler.posteriors[0].keys == (KILLED, CAPACITY)
    assert sampler.draw(3)[KILLED] == 0.0005 and sampler.draw(3)[CAPACITY] == 60
    header = ("weight", f"ukraine_2024:{KILLED}")  # the file it extends
    write_posterior(posterior_path(path), [(1, 0.0007)], header)
    assert ParameterSampler.for_scenario(sim.load_scenario(path)).draw(1)[KILLED] == 0.0007


@pytest.mark.parametrize(
    ("header", "rows", "key", "message"),
    [
        (("weight", f"russia_2022_2025:{KILLED}"), [(1, 0.001)], "russia_2022_2025:", "prefixes"),
        (("weight", OWN_KILLED), [(1, 0.001), (-0.5, 0.001)], "row 3.weight", ">= 0"),
        (("weight", OWN_KILLED), [(1, 0.01)], f"row 2.{OWN_KILLED}", "outside its prior"),
        (("weight", OWN_KILLED, KILLED), [(1, 0.001, 0.001)], KILLED, "given twice"),
        (("weight", "ua_priors:regimes.UA_2024.nope"), [(1, 0.5)], "ua_priors:", "no prior"),
    ],
)
def test_bad_joint_posterior_files_exit_2_naming_file_and_key(
    tmp_path, prisonflow, header, rows, key, message
):
    path = scenario_file(tmp_path)
    post = write_posterior(posterior_path(path), rows, header)
    code, out, err = prisonflow("batch", str(path), "--replicates", "2", "--population", "300")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert str(post) in err and key in err and message in err, err
    assert "Traceback" not in err + out
