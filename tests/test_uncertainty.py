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
    assert len({d[CAPACITY] for d in draws}) > 50  # really varies
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
    assert sampler.independent == ()
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
