"""The explorer's settings and the scenario they describe (pure: no Solara here).

A setting is a population (a bundled scenario or a scenario file: its people, start date and
horizon), a law (one regime of any bundled scenario, `scenario:REGIME_ID`) and edits of that
law's main parameters. The law is applied to the population with `sim.counterfactual.counterfactual`
and is in force from the population's start date to the end of its horizon. Controls take
their bounds from the scenario schema (`sim.scenario.Regime`), and every scenario the explorer
builds is validated by loading its own TOML text, so what the browser shows is what
`prisonflow run FILE` runs.
"""

from __future__ import annotations

import functools
import math
import tempfile
import types
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomli_w

from ..counterfactual import counterfactual
from ..scenario import Regime, Scenario, ScenarioError, load_scenario
from ..scenario import bundled_scenarios as _bundled

DEFAULT_REPLICATES = 5
MAX_DEFAULT_POPULATION = 50_000  # keeps an update under a couple of seconds on 2 cores
EDITED_SOURCE = "set in prisonflow explore"

# The law's main parameters, in the order the controls appear: (Regime field, label).
CONTROL_FIELDS = (
    ("max_remaining_sentence_days", "Max remaining sentence, days"),
    ("excluded_offences", "Excluded offences"),
    ("approval_capacity_per_day", "Approval capacity, per day (0: no limit)"),
    ("contract", "Contract"),
    ("contract_days", "Contract term, days (fixed contracts)"),
    ("release_type", "Release on signing"),
    ("pay_wages", "Pay, in average monthly wages"),
    ("signup_bonus_wages", "Sign-up bonus, in average monthly wages"),
    ("killed_per_day", "Killed, per deployed person per day"),
    ("wounded_discharged_per_day", "Wounded and discharged, per day"),
    ("deserted_per_day", "Deserted, per day"),
    ("captured_per_day", "Captured, per day"),
)


@dataclass(frozen=True)
class Control:
    """One control of the law, with the bounds the scenario schema gives its field."""

    key: str
    label: str
    kind: str  # "int", "float", "choice" or "multi"
    optional: bool = False  # None allowed (e.g. no limit on the remaining sentence)
    lower: float | None = None
    lower_strict: bool = False
    upper: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def hint(self) -> str:
        """The allowed range in words, e.g. 'from 0 to 1' or 'at least 0'."""
        if self.kind in ("choice", "multi"):
            return ""
        low = None if self.lower is None else _number(self.lower)
        if low is not None and self.upper is not None:
            text = f"from {low} to {_number(self.upper)}"
        elif low is not None:
            text = f"greater than {low}" if self.lower_strict else f"at least {low}"
        elif self.upper is not None:
            text = f"at most {_number(self.upper)}"
        else:
            text = "any number"
        return text + (", or empty: no limit" if self.optional else "")


def _number(x: float) -> str:
    return f"{x:g}"


def _constraints(annotation: Any, metadata: list) -> tuple[list, Any, bool]:
    """All annotated_types constraints of a field, its base type and whether None is allowed."""
    found = list(metadata)
    optional = False
    base = annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        optional = type(None) in args
        base = next(a for a in args if a is not type(None))
    if typing.get_origin(base) is typing.Annotated:
        base, *extra = typing.get_args(base)
        for item in extra:
            found += list(getattr(item, "metadata", [item]))
    return found, base, optional


@functools.cache
def controls() -> tuple[Control, ...]:
    """The law's controls, their kinds and bounds read from `Regime.model_fields`."""
    out = []
    for key, label in CONTROL_FIELDS:
        info = Regime.model_fields[key]
        found, base, optional = _constraints(info.annotation, info.metadata)
        bounds: dict[str, Any] = {}
        for c in found:  # annotated_types' Ge, Gt and Le, as pydantic's Field makes them
            if getattr(c, "ge", None) is not None:
                bounds["lower"] = c.ge
            elif getattr(c, "gt", None) is not None:
                bounds.update(lower=c.gt, lower_strict=True)
            elif getattr(c, "le", None) is not None:
                bounds["upper"] = c.le
        if typing.get_origin(base) is typing.Literal:
            out.append(Control(key, label, "choice", choices=typing.get_args(base)))
        elif typing.get_origin(base) is list:
            (item,) = typing.get_args(base)
            out.append(Control(key, label, "multi", choices=typing.get_args(item)))
        else:
            kind = "int" if base is int else "float"
            out.append(Control(key, label, kind, optional=optional, **bounds))
    return tuple(out)


# --------------------------------------------------------------------------- choices


@functools.cache
def _bundled_scenario(name: str) -> Scenario:
    return load_scenario(name)


def load_population(source: str) -> Scenario:
    """A bundled scenario by name (loaded once) or a scenario file (read each time)."""
    return _bundled_scenario(source) if source in _bundled() else load_scenario(source)


def law_choices(population_source: str | None = None) -> dict[str, str]:
    """Every regime of every bundled scenario as `scenario:REGIME_ID` -> label; a population
    read from a file adds its own regimes (`path:REGIME_ID`, the path as given)."""
    sources = {name: _bundled_scenario(name) for name in _bundled()}
    if population_source is not None and population_source not in sources:
        sources[population_source] = load_population(population_source)
    return {
        f"{source}:{rid}": f"{regime.label} ({source})"
        for source, scn in sources.items()
        for rid, regime in scn.regimes.items()
    }


def own_law(population_source: str, population: Scenario) -> str:
    """The law a population starts under: its regime in force on its start date (the first
    regime if none is), as a law key."""
    start = population.scenario.start_date
    in_force = [
        rid
        for rid, r in population.regimes.items()
        if r.start_date <= start and (r.end_date is None or start < r.end_date)
    ]
    rid = (in_force or list(population.regimes))[0]
    return f"{population_source}:{rid}"


def _law(key: str, population_source: str, population: Scenario) -> tuple[Scenario, str]:
    source, sep, rid = key.rpartition(":")
    if not sep or not source:
        raise ScenarioError(key, None, "a law is 'scenario:REGIME_ID', e.g. ukraine_2024:UA_2024")
    scn = population if source == population_source else load_population(source)
    if rid not in scn.regimes:
        allowed = ", ".join(scn.regimes)
        raise ScenarioError(scn.source_file, f"regimes.{rid}", f"no such regime; has: {allowed}")
    return scn, rid


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """Everything the explorer's controls hold; hashable, so results can be cached by it."""

    population: str = "ukraine_2024"
    law: str = ""  # empty: the population's own law (see `own_law`)
    edits: tuple[tuple[str, Any], ...] = ()  # (Regime field, value); None removes a limit
    replicates: int = DEFAULT_REPLICATES
    population_size: int | None = None  # None: the scenario's, capped for speed

    def with_edit(self, key: str, value: Any) -> Settings:
        """These settings with one control of the law set (lists are kept as tuples)."""
        edits = dict(self.edits)
        edits[key] = tuple(value) if isinstance(value, list) else value
        return replace(self, edits=tuple(edits.items()))


def default_population_size(population: Scenario) -> int:
    """Default population size: the scenario's initial size, capped for interactive use.

    Args:
        population: The population scenario.

    Returns:
        Number of people.
    """
    return min(population.population.initial_size, MAX_DEFAULT_POPULATION)


def law_values(settings: Settings) -> dict[str, Any]:
    """The law's controls as the law itself sets them, before the settings' edits."""
    population = load_population(settings.population)
    law_scn, rid = _law(
        settings.law or own_law(settings.population, population), settings.population, population
    )
    regime = law_scn.regimes[rid]
    return {c.key: getattr(regime, c.key) for c in controls()}


@dataclass(frozen=True)
class Built:
    """What a setting describes: the population's own scenario (its own law, the baseline),
    the scenario with the chosen law, and which law and regime that is."""

    population: Scenario
    scenario: Scenario
    law: str  # scenario:REGIME_ID
    regime_id: str


def build(settings: Settings) -> Built:
    """The scenarios a setting describes. Raises ScenarioError (one line) for any invalid
    setting: an unknown population, law or control, or a value the schema does not allow."""
    population = load_population(settings.population)
    law_key = settings.law or own_law(settings.population, population)
    law_scn, rid = _law(law_key, settings.population, population)
    regime = law_scn.regimes[rid]
    # The law alone, in force from its own start to the end of the horizon; counterfactual
    # shifts it to the population's start date and keeps the population's war end.
    shift = population.scenario.start_date - regime.start_date
    war_end = population.scenario.war_end_date
    policy = law_scn.model_copy(
        update={
            "regimes": {rid: regime.model_copy(update={"end_date": None})},
            "sources": {
                k: v
                for k, v in law_scn.sources.items()
                if not k.startswith("regimes.") or k.startswith(f"regimes.{rid}.")
            },
            "scenario": law_scn.scenario.model_copy(
                update={
                    "start_date": regime.start_date,
                    "war_end_date": None if war_end is None else war_end - shift,
                }
            ),
        }
    )
    swapped = counterfactual(policy, population)
    data = _plain(swapped)
    data["scenario"]["extends"] = None  # resolved: every key is in the file itself
    law_name = law_key.rpartition(":")[2].lower()
    data["scenario"]["name"] = f"explore_{law_name}_on_{population.name}"
    data["scenario"]["title"] = f"{regime.label} on the people of {population.name}"
    data["scenario"]["description"] = (
        f"Written by prisonflow explore: the law {law_key} applied to the population of "
        f"{settings.population}, in force from {population.scenario.start_date} to the "
        "end of the horizon."
    )
    known = {c.key for c in controls()}
    for key, value in settings.edits:
        if key not in known:
            raise ScenarioError("settings", key, f"not a control; controls: {', '.join(known)}")
        if key in data["regimes"][rid] and data["regimes"][rid][key] == _plain_value(value):
            continue
        data["regimes"][rid][key] = _plain_value(value)
        data["sources"][f"regimes.{rid}.{key}"] = EDITED_SOURCE
    return Built(population, _validate(data), law_key, rid)


def _plain_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _plain(scn: Scenario) -> dict[str, Any]:
    return scn.model_dump(exclude={"source_file"})


def _drop_none(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_none(v) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_drop_none(v) for v in node]
    return node


def _has_key(data: dict, dotted: str) -> bool:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def toml_text(data: dict[str, Any], header: str = "") -> str:
    """A resolved scenario as TOML (TOML has no null: unset optional keys are left out)."""
    data = _drop_none(data)
    data["sources"] = {k: v for k, v in data.get("sources", {}).items() if _has_key(data, k)}
    body = tomli_w.dumps(data)
    lines = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    return lines + ("\n" if lines else "") + body


def _validate(data: dict[str, Any]) -> Scenario:
    """Validate by loading the TOML text, exactly as `prisonflow run FILE` would."""
    text = toml_text(data)
    with tempfile.TemporaryDirectory(prefix="prisonflow-explore-") as tmp:
        path = Path(tmp) / f"{data['scenario']['name']}.toml"
        path.write_text(text)
        try:
            scn = load_scenario(path)
        except ScenarioError as exc:
            raise ScenarioError("settings", exc.key, exc.message) from None
    return scn.model_copy(update={"source_file": "explore"})


def scenario_toml(built: Built, settings: Settings, population_size: int) -> str:
    """The full resolved scenario as TOML that `prisonflow run FILE` accepts unchanged, with
    a header saying how to reproduce the explorer's view."""
    scn = built.scenario
    seeds = f"0..{settings.replicates - 1}" if settings.replicates > 1 else "0"
    header = (
        f"{scn.scenario.title}\n"
        f"Written by prisonflow explore (population {settings.population}, law {built.law}).\n"
        "Every key is resolved (no extends). Run it with: prisonflow run FILE\n"
        f"The explorer showed seeds {seeds} at --population {population_size}."
    )
    return toml_text(_plain(scn), header)
