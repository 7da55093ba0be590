"""Parameter uncertainty as data: priors for assumed values, posterior particles for
calibrated ones, and one parameter set drawn per replicate.

A scenario's `[priors]` table gives a range for a parameter, next to its source::

    [priors]
    "regimes.UA_2024.killed_per_day" = { dist = "loguniform", low = 0.0005, high = 0.004 }

A calibrated parameter keeps its posterior: `calibrate` writes the accepted particles to a
CSV file beside the scenario, `<stem>.posterior.csv` (a `weight` column and one column per
dotted key), with its provenance in `<stem>.posterior.json`. Every key in a posterior file
needs a prior in the scenario (the calibration's prior range), and every particle must lie
inside it. A joint calibration (sim.calibration.joint) names a country's own keys with its
scenario's name, `russia_2022_2025:population.volunteering.baseline_per_day`: the prefix
must name the scenario the file belongs to (or one its file extends) and is dropped on
reading; shared keys are plain.

`ParameterSampler.draw(seed)` gives the overrides of one posterior-predictive replicate:
one particle of each posterior (by weight), and an independent draw from the prior of
every other parameter with a prior. Draws come from the counter-based streams of
`sim.random`, named by key, so replicate r of two scenarios that share a parameter (a
policy and a counterfactual on the same population) draws the same value for it: common
random numbers extend to parameters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .model.distributions import Prior
from .model.random import Streams
from .scenario import Scenario, ScenarioError, apply_overrides, validate_raw

POSTERIOR_SUFFIX = ".posterior.csv"
WEIGHT = "weight"


def _value_at(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part]
    return node


@dataclass(frozen=True)
class Posterior:
    """Weighted particles of calibrated parameters (one row a particle)."""

    file: str
    keys: tuple[str, ...]
    values: np.ndarray  # (particles, keys)
    weights: np.ndarray  # (particles,), sums to 1

    def pick(self, u: float) -> dict[str, float]:
        """The particle at cumulative weight u in [0, 1).

        Args:
            u: Uniform number in [0, 1).

        Returns:
            The particle's values by key.
        """
        cum = np.cumsum(self.weights)
        i = min(int(np.searchsorted(cum, u * cum[-1], side="right")), len(cum) - 1)
        return {k: float(v) for k, v in zip(self.keys, self.values[i], strict=True)}

    def restrict(self, keys: set[str]) -> Posterior | None:
        """The same particles (and the same stream, so the same pick) for `keys` only.

        Args:
            keys: The keys to keep.

        Returns:
            The restricted posterior, or None if it has none of `keys`.
        """
        cols = [j for j, k in enumerate(self.keys) if k in keys]
        if not cols:
            return None
        kept = tuple(self.keys[j] for j in cols)
        return Posterior(self.file, kept, self.values[:, cols], self.weights)


def load_posterior(
    path: str | os.PathLike, priors: dict[str, Prior], scopes: tuple[str, ...] = ()
) -> Posterior:
    """Read and check a posterior particles file against the scenario's priors.

    Raises:
        ScenarioError: naming the file and the key (column, or `row N.column`): a missing
            weight column, a key without a prior, a key for another scenario, a key given
            twice, a negative or non-numeric weight, all weights zero, or a particle outside
            its prior.

    Args:
        path: The particles file (CSV).
        priors: The scenario's priors, by key.
        scopes: Scenario names a `name:key` column may carry (the file's scenarios).

    Returns:
        The posterior.
    """
    path = Path(path)
    file = str(path)
    try:
        table = pd.read_csv(path)
    except FileNotFoundError:
        raise ScenarioError(file, None, "file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ScenarioError(file, None, f"not a readable CSV: {exc}") from None
    if WEIGHT not in table.columns:
        raise ScenarioError(file, WEIGHT, "required column is missing (one weight a particle)")
    columns = [c for c in table.columns if c != WEIGHT]
    if not columns or len(table) == 0:
        raise ScenarioError(file, None, "needs at least one parameter column and one particle")
    keys = [_unscoped(file, c, scopes) for c in columns]
    if len(set(keys)) < len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise ScenarioError(file, twice, "is given twice (plain and with a scenario prefix)")
    for column, key in zip(columns, keys, strict=True):
        if key not in priors:
            known = ", ".join(priors) or "none"
            raise ScenarioError(
                file, column, f"no prior for this key in the scenario; keys with priors: {known}"
            )
    numeric = table.apply(pd.to_numeric, errors="coerce")
    for column in table.columns:
        bad = numeric[column].isna() | ~np.isfinite(numeric[column].to_numpy(float))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ScenarioError(file, f"row {row}.{column}", "must be a finite number")
    weights = numeric[WEIGHT].to_numpy(float)
    if (weights < 0).any():
        row = int(np.flatnonzero(weights < 0)[0]) + 2
        raise ScenarioError(file, f"row {row}.{WEIGHT}", "weights must be >= 0")
    if weights.sum() <= 0:
        raise ScenarioError(file, WEIGHT, "weights must not all be zero")
    for column, key in zip(columns, keys, strict=True):
        prior = priors[key]
        values = numeric[column].to_numpy(float)
        outside = (values < prior.low) | (values > prior.high)
        if outside.any():
            row = int(np.flatnonzero(outside)[0]) + 2
            raise ScenarioError(
                file,
                f"row {row}.{column}",
                f"{values[outside][0]:g} is outside its prior {prior.describe()}",
            )
    return Posterior(
        file=file,
        keys=tuple(keys),
        values=numeric[columns].to_numpy(float),
        weights=weights / weights.sum(),
    )


def _header_keys(path: Path, scopes: tuple[str, ...]) -> set[str]:
    """The keys a posterior file holds, from its header alone (empty if unreadable: the
    full check, `load_posterior`, then names the problem)."""
    try:
        columns = pd.read_csv(path, nrows=0).columns
        return {_unscoped(str(path), c, scopes) for c in columns if c != WEIGHT}
    except (ScenarioError, ValueError, UnicodeDecodeError, pd.errors.EmptyDataError):
        return set()


def _unscoped(file: str, column: str, scopes: tuple[str, ...]) -> str:
    """The dotted key of a posterior column (`scope:key` for a joint fit's country keys)."""
    scope, sep, key = column.rpartition(":")
    if not sep:
        return column
    if scope not in scopes:
        allowed = ", ".join(scopes) or "none"
        raise ScenarioError(
            file, column, f"is a key of scenario {scope!r}; prefixes allowed here: {allowed}"
        )
    return key


def scenario_names(scenario: Scenario) -> tuple[str, ...]:
    """The names of the scenario's file and of every file it extends (prefixes a posterior
    file beside them may use).

    Args:
        scenario: The scenario.

    Returns:
        The names, child first.
    """
    from .scenario import _read_toml

    names = [scenario.name]
    for path in scenario_files(scenario):
        names.append(_read_toml(path).get("scenario", {}).get("name") or path.stem)
    return tuple(dict.fromkeys(names))


def posterior_path(scenario_file: str | os.PathLike) -> Path:
    """Where the posterior of a scenario file lives: `<stem>.posterior.csv` beside it.

    Args:
        scenario_file: The scenario file.

    Returns:
        Path of its posterior file (which may not exist).
    """
    path = Path(scenario_file)
    return path.with_name(path.stem + POSTERIOR_SUFFIX)


def scenario_files(scenario: Scenario) -> list[Path]:
    """The scenario's file and every file it extends, child first (for posterior files).

    Args:
        scenario: The scenario.

    Returns:
        The files, child first.
    """
    from .scenario import _read_toml, _resolve_path

    if not scenario.source_file or not Path(scenario.source_file).is_file():
        return []
    out: list[Path] = []
    todo = [Path(scenario.source_file).resolve()]
    while todo:
        path = todo.pop(0)
        if path in out:
            continue
        out.append(path)
        extends = _read_toml(path).get("scenario", {}).get("extends") or []
        for name in [extends] if isinstance(extends, str) else extends:
            todo.append(_resolve_path(name, relative_to=path.parent).resolve())
    return out


def file_priors(scenario: Scenario) -> dict[str, Prior]:
    """The priors of the scenario's file (with its `extends` chain), before overrides.

    Args:
        scenario: The scenario.

    Returns:
        The priors, by dotted key.
    """
    from .scenario import _load_raw

    if not scenario.source_file or not Path(scenario.source_file).is_file():
        return {}
    raw = _load_raw(Path(scenario.source_file)).get("priors") or {}
    return {k: Prior.model_validate(v) for k, v in raw.items()}


class ParameterSampler:
    """Draws one parameter set per replicate: posteriors jointly, other priors independently.

    Args:
        scenario: the scenario whose priors to draw from.
        priors: its priors (from `parse_priors`).
        posteriors: posterior files that apply to it (each checked against the priors).
    """

    def __init__(
        self,
        scenario: Scenario,
        priors: dict[str, Prior],
        posteriors: tuple[Posterior, ...] = (),
    ):
        self.scenario = scenario
        self.priors = priors
        self.posteriors = posteriors
        calibrated = {k for p in posteriors for k in p.keys}
        self.independent = tuple(k for k in priors if k not in calibrated)
        data = scenario.to_dict()
        self._integer = {k for k in priors if isinstance(_value_at(data, k), int)}

    @classmethod
    def for_scenario(cls, scenario: Scenario) -> ParameterSampler:
        """The sampler of a loaded scenario: its priors and the posterior files beside the
        files of its `extends` chain (the nearest file's posterior wins for a key).

        Args:
            scenario: The loaded scenario.

        Returns:
            The sampler.
        """
        posteriors: list[Posterior] = []
        seen: set[str] = set()
        # A posterior file is checked against the priors of the files (a key set by an
        # override has lost its prior in the scenario: it is held at the value given).
        priors = {**file_priors(scenario), **scenario.priors}
        scopes = scenario_names(scenario)
        for file in scenario_files(scenario):
            path = posterior_path(file)
            if path.is_file():
                if seen & _header_keys(path, scopes):
                    continue  # a file nearer the scenario refitted these keys: it wins
                restricted = load_posterior(path, priors, scopes).restrict(set(scenario.priors))
                if restricted is not None and not seen & set(restricted.keys):
                    posteriors.append(restricted)
                    seen |= set(restricted.keys)
        return cls(scenario, dict(scenario.priors), tuple(posteriors))

    @classmethod
    def for_counterfactual(
        cls, cell: Scenario, policy: Scenario, population: Scenario
    ) -> ParameterSampler:
        """The sampler of `counterfactual(policy, population)`: the population's uncertain
        values for `population.*` keys, the policy's for its regimes' keys (law from one
        country, people from the other), each with its own streams, so replicate r of the
        cell draws what replicate r of each source scenario draws for that key.

        Args:
            cell: The counterfactual scenario.
            policy: The scenario whose rules the cell applies.
            population: The scenario whose population the cell uses.

        Returns:
            The sampler.
        """
        data = cell.to_dict()

        def present(key: str) -> bool:
            """Whether the key exists in the cell's scenario data."""
            try:
                _value_at(data, key)
            except (KeyError, TypeError):
                return False
            return True

        def owned(sampler: ParameterSampler, mine) -> tuple[dict, list]:
            """The priors and posteriors of a source sampler for the keys it owns in the cell."""
            keys = sorted(k for k in sampler.keys if mine(k) and present(k))
            posts = [p.restrict(set(keys)) for p in sampler.posteriors]
            return {k: sampler.priors[k] for k in keys}, [p for p in posts if p is not None]

        pop_priors, pop_posts = owned(
            cls.for_scenario(population), lambda k: not k.startswith("regimes.")
        )
        pol_priors, pol_posts = owned(cls.for_scenario(policy), lambda k: k.startswith("regimes."))
        return cls(cell, {**pop_priors, **pol_priors}, (*pop_posts, *pol_posts))

    def without(self, keys) -> ParameterSampler:
        """The same sampler with `keys` held at the scenario's values (e.g. set by --set).

        Args:
            keys (Iterable[str]): Dotted keys not to draw.

        Returns:
            The sampler.
        """
        keys = set(keys)
        if not keys & set(self.keys):
            return self
        posts = [p.restrict(set(p.keys) - keys) for p in self.posteriors]
        priors = {k: v for k, v in self.priors.items() if k not in keys}
        return ParameterSampler(self.scenario, priors, tuple(p for p in posts if p is not None))

    def digest(self) -> dict[str, str]:
        """sha256 of each posterior file drawn from (a resumed experiment needs the same).

        Returns:
            The digests, by posterior file.
        """
        import hashlib

        return {
            p.file: hashlib.sha256(Path(p.file).read_bytes()).hexdigest() for p in self.posteriors
        }

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key the sampler draws: the posteriors' keys, then the independent ones."""
        return (*[k for p in self.posteriors for k in p.keys], *self.independent)

    def draw(self, seed: int) -> dict[str, float | int]:
        """The overrides of one replicate (same seed, same values; keyed streams).

        Args:
            seed: The replicate's seed.

        Returns:
            The drawn values, by dotted key.
        """
        streams = Streams(seed)
        ids = np.zeros(1, dtype=np.uint64)
        out: dict[str, float | int] = {}
        for post in self.posteriors:
            u = float(streams.uniform(f"parameters.posterior.{Path(post.file).name}", ids)[0])
            out.update(post.pick(u))
        for key in self.independent:
            draw = streams.uniform(f"parameters.{key}", ids)
            out[key] = float(self.priors[key].quantile(draw)[0])
        for key in self._integer & out.keys():
            out[key] = int(round(out[key]))
        return out

    def scenario_for(self, seed: int) -> Scenario:
        """The scenario with one replicate's parameter set applied (validated again).

        Args:
            seed: The replicate's seed.

        Returns:
            The scenario.
        """
        return with_values(self.scenario, self.draw(seed))


def with_values(scenario: Scenario, overrides: dict[str, Any]) -> Scenario:
    """A scenario with dotted-key values replaced (validated like a file).

    Args:
        scenario: The scenario.
        overrides: New values, by dotted key.

    Returns:
        The new scenario.
    """
    data = scenario.to_dict()
    data.pop("source_file", None)
    file = scenario.source_file or "<scenario>"
    return validate_raw(apply_overrides(data, overrides, file), file)
