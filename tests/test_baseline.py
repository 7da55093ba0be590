"""Frozen regression baseline: fixed runs of both engines give exactly the stored outputs.

A refactoring must leave every output unchanged to the last bit. When an output change is
deliberate, regenerate the baseline (`.venv/bin/python tests/baselines/regenerate.py`) in
the same commit and note the change in CHANGELOG.md.
"""

from __future__ import annotations

import json
import math

import pytest
from baselines.regenerate import BASELINE, compute_one, run_one, runs

HOW_TO_UPDATE = (
    "outputs differ from the frozen baseline; if the change is deliberate, run "
    "`.venv/bin/python tests/baselines/regenerate.py` and note the change in CHANGELOG.md"
)


@pytest.fixture(scope="module")
def baseline() -> dict[str, dict]:
    return json.loads(BASELINE.read_text())


def differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable list of what differs between two frozen records of one run."""
    out = []
    want, got = expected["summary"], actual["summary"]
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            out.append(f"summary[{key}]: {want.get(key)} -> {got.get(key)}")
    for key in sorted(k for k in set(expected) | set(actual) if k.endswith("_sha256")):
        if expected.get(key) != actual.get(key):
            out.append(f"{key} differs")
    return out


def test_baseline_covers_every_run_and_bundled_scenario(baseline):
    assert sorted(baseline) == sorted(runs()), HOW_TO_UPDATE


@pytest.mark.parametrize("name", sorted(runs()))
def test_outputs_match_the_frozen_baseline(baseline, name):
    actual = compute_one(name)
    diff = differences(baseline[name], actual)
    assert not diff, f"{name}: {HOW_TO_UPDATE}:\n" + "\n".join(diff)


def test_a_one_percent_change_in_one_parameter_fails_the_comparison(baseline):
    """The test of the test: killed_per_day x 1.01 is caught by summary and digest."""
    import sim

    killed = sim.load_scenario("ukraine_2024").regimes["UA_2024"].killed_per_day
    overrides = {"regimes.UA_2024.killed_per_day": killed * 1.01}
    actual = run_one(scenario="ukraine_2024", engine="vector", overrides=overrides)
    diff = differences(baseline["vector/ukraine_2024"], actual)
    assert any(d.startswith("summary[killed]") for d in diff)
    assert "timeseries_sha256 differs" in diff


def test_differences_sees_a_change_in_the_last_bit_of_a_float(baseline):
    record = baseline["agents/ukraine_2024"]
    before = record["summary"]["killed_per_1000_recruits"]
    after = repr(math.nextafter(float(before), math.inf))
    nudged = {**record, "summary": {**record["summary"], "killed_per_1000_recruits": after}}
    expected = f"summary[killed_per_1000_recruits]: {before} -> {after}"
    assert differences(record, nudged) == [expected]
