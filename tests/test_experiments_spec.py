"""Sweep specs validated by pydantic (one line naming file, key and what is allowed), and
the registry of design methods: a new method is one class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim import experiments as ex
from sim.experiments import designs

BASE = {
    "scenario": "ukraine_2024",
    "method": "lhs",
    "samples": 4,
    "outputs": ["released_to_army"],
    "parameters": {"regimes.UA_2024.killed_per_day": {"low": 0.0002, "high": 0.001}},
}
PARAM = 'parameters."regimes.UA_2024.killed_per_day"'


def param(**body):
    return {"parameters": {"regimes.UA_2024.killed_per_day": body}}


BAD = [
    ({"replicates": "3"}, "replicates", "must be a whole number >= 1, got '3'"),
    ({"replicates": True}, "replicates", "must be a whole number >= 1, got True"),
    ({"replicates": 0}, "replicates", "must be a whole number >= 1, got 0"),
    ({"population": 2.5}, "population", "must be a whole number >= 1, got 2.5"),
    ({"entropy": -1}, "entropy", "must be a whole number >= 0, got -1"),
    ({"engine": "gpu"}, "engine", "unknown engine 'gpu'; allowed: vector, agents"),
    ({"description": 3}, "description", "must be a string, got 3"),
    ({"outputs": "killed"}, "outputs", "a list of summary metric names; allowed: admissions"),
    ({"outputs": ["happiness"]}, "outputs", "unknown metric 'happiness'; allowed: admissions"),
    ({"samples": "four"}, "samples", "must be a whole number, got 'four'"),
    ({"method": None}, "method", "required; allowed: grid, lhs, sobol, morris"),
    ({"scenario": ""}, "scenario", "required: a bundled scenario name or a path"),
    ({"parameters": {}}, "parameters", "at least one [parameters"),
    ({"fixed": [1]}, "fixed", 'must be a table of "dotted.key" = value'),
    ({"morris_levels": 4}, "morris_levels", "only used by method 'morris', not 'lhs'"),
    ({"sampels": 3}, "sampels", "unknown key; allowed keys: scenario, description, method"),
    (param(low="a", high=1), f"{PARAM}.low", "must be a number, got 'a'"),
    (param(low=0, high=1, step=2), f"{PARAM}.step", "unknown key; allowed keys: low, high"),
    (param(values=[]), f"{PARAM}.values", "must be a non-empty list"),
    (param(low=0.001, high=0.001), PARAM, "empty range: low (0.001) must be below high"),
    (param(values=[0.1], low=0.1), PARAM, "give either `low` and `high` or `values`"),
]


@pytest.mark.parametrize(("patch", "key", "message"), BAD, ids=[f"{k}:{m[:20]}" for _, k, m in BAD])
def test_bad_spec_names_the_key_and_what_is_allowed(patch, key, message):
    spec = {k: v for k, v in {**BASE, **patch}.items() if v is not None}
    with pytest.raises(ex.SpecError) as info:
        ex.load_spec(spec)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"<spec>: {key}: "), text
    assert message in text, text


def test_a_spec_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('scenario = "ukraine_2024"\n# caf\xe9\n'.encode("latin-1"))
    with pytest.raises(ex.SpecError, match=r"latin1\.toml: cannot read file"):
        ex.load_spec(path)


class _Random(designs.Method):
    """A toy method: uniform random points, ranked like LHS."""

    name = "random"
    index_names = ("spearman",)
    table_columns = (("spearman", True),)
    samples_rule = "a whole number of points >= 2"
    analyse = designs.LatinHypercube.analyse

    def size(self, spec):
        return spec.samples

    def sample(self, spec, seed):
        rng = np.random.default_rng(seed)
        X = np.column_stack([rng.uniform(p.low, p.high, spec.samples) for p in spec.parameters])
        return designs._from_matrix(spec, X, seed)


def test_a_new_design_method_is_one_registered_class(tmp_path, monkeypatch):
    monkeypatch.setitem(designs.METHODS_BY_NAME, "random", _Random())
    spec = ex.load_spec({**BASE, "method": "random", "samples": 5, "population": 300, "days": 40})
    assert ex.design_size(spec) == 5 == len(ex.make_design(spec, 1).points)
    result = sim.sweep(spec, workers=1, entropy=1, out=tmp_path / "s")
    assert result.n_ok == 5
    assert set(result.indices["index"]) == {"spearman", "noise_share"}
    assert ex.indices_table(result).row_count == 1
    assert isinstance(result.point_means, pd.DataFrame) and len(result.point_means) == 5
