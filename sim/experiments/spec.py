"""Sweep specs: a TOML file naming a scenario, a design method, parameters and outputs,
validated by pydantic (like scenarios) and then against the scenario and the method.

Every problem raises `SpecError`: one line naming the spec file, the key and what is
allowed.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, Field

from ..scenario import (
    WRONG_KIND_SCENARIO,
    Regime,
    Scenario,
    ScenarioError,
    is_scenario,
    load_scenario,
)
from .designs import METHODS, METHODS_BY_NAME
from .directory import jsonable, scenario_digest
from .errors import SpecError
from .tasks import ENGINES, SUMMARY_METRICS
from .validation import Entropy, Number, StrictModel, Whole, validate


class _SpecModel(StrictModel):
    scenario: Annotated[str, Field(min_length=1)]
    description: str = ""
    method: str
    samples: int | None = None
    replicates: Whole = 1
    outputs: Annotated[list[str], Field(min_length=1)]
    population: Whole | None = None
    days: Whole | None = None
    engine: Literal[ENGINES] = "vector"  # type: ignore[valid-type]
    entropy: Entropy | None = None
    morris_levels: Annotated[int, Field(ge=2)] = 4
    fixed: dict[str, Any] = {}
    parameters: Annotated[dict[str, Any], Field(min_length=1)]

    allowed: ClassVar[dict[str, str]] = {
        "scenario": "required: a bundled scenario name or a path to a TOML file",
        "description": "must be a string",
        "method": f"required; allowed: {', '.join(METHODS)}",
        "samples": "must be a whole number",
        "outputs": "required: a list of summary metric names; allowed: "
        + ", ".join(SUMMARY_METRICS),
        "engine": f"allowed: {', '.join(ENGINES)}",
        "fixed": 'must be a table of "dotted.key" = value',
        "parameters": 'required: at least one [parameters."dotted.key"] table with low/high '
        "or values",
    }


class _ParameterModel(StrictModel):
    low: Number | None = None
    high: Number | None = None
    values: Annotated[list[Any], Field(min_length=1)] | None = None
    levels: Annotated[int, Field(ge=2)] | None = None

    allowed: ClassVar[dict[str, str]] = {
        "low": "must be a number",
        "high": "must be a number",
        "values": "must be a non-empty list",
    }


SPEC_KEYS = tuple(_SpecModel.model_fields)
PARAM_KEYS = tuple(_ParameterModel.model_fields)
_METRICS = ", ".join(SUMMARY_METRICS)


@dataclass(frozen=True)
class Parameter:
    """One swept scenario key: a continuous range [low, high] or discrete `values`."""

    key: str
    low: float | None = None
    high: float | None = None
    values: tuple | None = None
    levels: int | None = None  # grid over a range: this many evenly spaced levels
    integer: bool = False  # the scenario field holds whole numbers: values are rounded

    @property
    def discrete(self) -> bool:
        """Whether the parameter takes listed values rather than a range."""
        return self.values is not None

    def to_dict(self) -> dict:
        """The parameter as written in the manifest.

        Returns:
            Its values, or its range (and levels), and whether it is an integer.
        """
        d: dict[str, Any] = {"integer": self.integer}
        if self.values is not None:
            d["values"] = list(self.values)
        else:
            d.update(low=self.low, high=self.high)
            if self.levels is not None:
                d["levels"] = self.levels
        return d


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec (see `load_spec`)."""

    path: str
    scenario: str  # bundled name or resolved path
    scenario_name: str
    scenario_sha256: str
    method: str
    parameters: tuple[Parameter, ...]
    outputs: tuple[str, ...]
    samples: int | None = None
    replicates: int = 1
    fixed: dict = field(default_factory=dict)
    population: int | None = None
    days: int | None = None
    engine: str = "vector"
    entropy: int | None = None
    morris_levels: int = 4
    description: str = ""

    def to_dict(self) -> dict:
        """The sweep spec as written in the manifest.

        Returns:
            The spec's fields in JSON-compatible form.
        """
        return jsonable(
            {
                "scenario": self.scenario,
                "scenario_name": self.scenario_name,
                "scenario_sha256": self.scenario_sha256,
                "method": self.method,
                "samples": self.samples,
                "replicates": self.replicates,
                "outputs": list(self.outputs),
                "fixed": self.fixed,
                "parameters": {p.key: p.to_dict() for p in self.parameters},
                "population": self.population,
                "days": self.days,
                "engine": self.engine,
                "morris_levels": self.morris_levels if self.method == "morris" else None,
            }
        )


# --------------------------------------------------------------------------- helpers


def _flatten(table: dict, stop: Callable[[dict], bool], prefix: str = "") -> dict[str, Any]:
    """Dotted keys from nested tables (TOML's unquoted a.b.c = ... nests)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v and not stop(v):
            out.update(_flatten(v, stop, key + "."))
        else:
            out[key] = v
    return out


def is_number(v: Any) -> bool:
    """A real number, not a bool."""
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def _lookup(data: Any, dotted: str) -> Any:
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _int_annotation(ann: Any) -> bool:
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _int_annotation(typing.get_args(ann)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        return len(args) == 1 and _int_annotation(args[0])
    return ann is int


def _field_is_int(base: Scenario, dotted: str) -> bool:
    """Whether the scenario field at `dotted` holds whole numbers (so values are rounded)."""
    current = _lookup(base.to_dict(), dotted)
    if current is not None:
        return isinstance(current, int) and not isinstance(current, bool)
    parts, i = dotted.split("."), 0
    model: type[BaseModel] = Scenario
    while i < len(parts):
        if model is Scenario and parts[i] == "regimes":
            model, i = Regime, i + 2
            continue
        f = model.model_fields.get(parts[i])
        if f is None:
            return False
        if i == len(parts) - 1:
            return _int_annotation(f.annotation)
        ann = f.annotation
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return False
        model, i = ann, i + 1
    return False


def _read(path: str | os.PathLike | dict, base_dir: Path | None) -> tuple[dict, str, Path]:
    if isinstance(path, dict):
        return path, "<spec>", base_dir or Path.cwd()
    p = Path(path)
    file = str(p)
    if not p.is_file():
        raise SpecError(file, None, "file not found")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(file, None, f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(file, None, f"cannot read file: {' '.join(str(exc).split())}") from None
    if is_scenario(raw):
        raise SpecError(file, None, WRONG_KIND_SCENARIO)
    return raw, file, p.resolve().parent


def _base_scenario(model: _SpecModel, fixed: dict, file: str, base_dir: Path):
    scenario = model.scenario
    if scenario.endswith(".toml") or "/" in scenario:
        candidate = base_dir / scenario
        if candidate.is_file():
            scenario = str(candidate.resolve())
    try:
        return scenario, load_scenario(scenario, fixed)
    except ScenarioError as exc:
        hit = None
        if exc.key:
            hit = next((k for k in fixed if exc.key == k or exc.key.startswith(k + ".")), None)
            hit = hit or next((k for k in fixed if k.startswith(exc.key + ".")), None)
        if hit is not None:
            raise SpecError(file, f'fixed."{hit}"', f"{exc.key}: {exc.message}") from None
        raise SpecError(file, "scenario", str(exc)) from None


def _parameter(key, body, model, method, scenario, fixed, base, file) -> Parameter:
    where = f'parameters."{key}"'
    if not isinstance(body, dict) or not body:
        raise SpecError(file, where, "must be a table with `low` and `high`, or `values = [...]`")
    p = validate(_ParameterModel, body, file, where + ".")
    if key in fixed:
        raise SpecError(file, where, "is also set in [fixed]; a parameter cannot be both")
    if p.values is not None and (p.low is not None or p.high is not None):
        raise SpecError(file, where, "give either `low` and `high` or `values`, not both")
    if p.values is not None:
        if p.levels is not None:
            raise SpecError(file, f"{where}.levels", "only with `low` and `high`")
        if any(isinstance(v, dict | list) for v in p.values) or not (
            all(is_number(v) for v in p.values) or len({type(v) for v in p.values}) == 1
        ):
            raise SpecError(file, f"{where}.values", "values must be numbers, or all of one type")
        first = p.values[0]
    else:
        for k in ("low", "high"):
            if getattr(p, k) is None:
                raise SpecError(file, f"{where}.{k}", "missing: give `low` and `high`, or `values`")
        if not p.low < p.high:
            raise SpecError(
                file, where, f"empty range: low ({p.low}) must be below high ({p.high})"
            )
        if method.uses_levels and p.levels is None:
            raise SpecError(
                file,
                f"{where}.levels",
                f"method {method.name!r} needs `levels` (>= 2) with `low` and `high`, "
                "or `values = [...]`",
            )
        if not method.uses_levels and p.levels is not None:
            raise SpecError(
                file, f"{where}.levels", f"only used by method 'grid', not {method.name!r}"
            )
        first = p.low
    integer = _field_is_int(base, key)
    if integer and is_number(first):
        first = int(round(first))
    try:
        load_scenario(scenario, {**fixed, key: first})
    except ScenarioError as exc:
        raise SpecError(
            file, where, f"not a valid scenario parameter ({exc.key or 'scenario'}: {exc.message})"
        ) from None
    if p.values is None:
        return Parameter(key, low=p.low, high=p.high, levels=p.levels, integer=integer)
    vals: list[Any] = list(p.values)
    if integer:
        vals = [int(round(v)) if is_number(v) else v for v in vals]
    elif all(is_number(v) for v in vals) and any(isinstance(v, float) for v in vals):
        vals = [float(v) for v in vals]
    return Parameter(key, values=tuple(vals), integer=integer)


def load_spec(path: str | os.PathLike | dict, *, base_dir: Path | None = None) -> SweepSpec:
    """Read and validate a sweep spec (a TOML file, or the same content as a dict).

    Every problem raises `SpecError` naming the spec file and the key.

    Args:
        path: The spec file, or its content as a dict.
        base_dir: For a dict spec: where relative scenario paths start (default: cwd).

    Returns:
        The spec.
    """
    raw, file, base_dir = _read(path, base_dir)
    model = validate(_SpecModel, raw, file)
    fixed = _flatten(model.fixed, lambda d: "dist" in d)
    scenario, base = _base_scenario(model, fixed, file, base_dir)

    method = METHODS_BY_NAME.get(model.method)
    if method is None:
        raise SpecError(
            file,
            "method",
            f"unknown method {model.method!r}; allowed: {', '.join(METHODS_BY_NAME)}",
        )
    if method.samples_rule is None:
        if model.samples is not None:
            raise SpecError(
                file,
                "samples",
                f"not used by method {method.name!r}: give each parameter `values = [...]`, "
                "or `low`, `high` and `levels`",
            )
    elif model.samples is None:
        raise SpecError(
            file, "samples", f"required for method {method.name!r}: {method.samples_rule}"
        )
    elif not method.samples_ok(model.samples):
        raise SpecError(
            file,
            "samples",
            f"method {method.name!r} needs {method.samples_rule}; got {model.samples!r}",
        )
    if "morris_levels" in raw and not method.uses_morris_levels:
        raise SpecError(file, "morris_levels", f"only used by method 'morris', not {method.name!r}")

    for o in model.outputs:
        if o not in SUMMARY_METRICS:
            raise SpecError(file, "outputs", f"unknown metric {o!r}; allowed: {_METRICS}")
    if len(set(model.outputs)) != len(model.outputs):
        raise SpecError(file, "outputs", "a metric is listed twice")

    flat = _flatten(model.parameters, lambda d: any(k in d for k in PARAM_KEYS))
    params = tuple(
        _parameter(key, body, model, method, scenario, fixed, base, file)
        for key, body in flat.items()
    )
    return SweepSpec(
        path=file,
        scenario=scenario,
        scenario_name=base.name,
        scenario_sha256=scenario_digest(base),
        method=method.name,
        parameters=params,
        outputs=tuple(model.outputs),
        samples=model.samples,
        replicates=model.replicates,
        fixed=fixed,
        population=model.population,
        days=model.days,
        engine=model.engine,
        entropy=model.entropy,
        morris_levels=model.morris_levels,
        description=model.description,
    )
