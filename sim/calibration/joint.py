"""Joint calibration of several countries: one posterior over shared and per-country keys.

A key given plainly (`population.volunteering.pay`) is shared: one value per particle,
applied to every country's scenario (the response coefficients of
scenarios/base/volunteering.toml, which every population extends). A key prefixed with a
scenario name and a colon (`russia_2022_2025:population.volunteering.baseline_per_day`) is
that country's alone. A particle runs each country once, each with its own seed stream
(`country_seeds`: the particle's seed and the country's position), and its distance is

    D = sqrt( sum_c w_c d_c^2 / sum_c w_c )

over the countries' distances d_c (`Targets.distance`, a weighted RMS log error), with
country weights w_c = 1 by default: each country counts the same whatever its number of
observations, so Ukraine's eleven dated counts do not drown Russia's few claims.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..scenario import Scenario, ScenarioError
from .params import Param, parse_param
from .smc import Calibration, abc_smc, overrides_of, run_distances
from .targets import Targets

SCOPE = ":"  # separates a scenario name from a per-country key


def split_key(key: str) -> tuple[str | None, str]:
    """(scenario name or None if shared, dotted scenario key) of a joint key."""
    scope, sep, dotted = key.rpartition(SCOPE)
    return (scope, dotted) if sep else (None, key)


@dataclass
class Country:
    """One country of a joint fit: its scenario, targets, run population and weight."""

    scenario: Scenario
    targets: Targets
    population: int | None = None
    weight: float = 1.0

    @property
    def name(self) -> str:
        """The scenario's name (the prefix of its own keys)."""
        return self.scenario.name

    @property
    def days(self) -> int:
        """Days simulated: up to the last observation."""
        return int(self.targets.table["day"].max()) + 1


@dataclass
class JointFit:
    """The countries and parameters of a joint calibration."""

    countries: list[Country]
    params: list[Param]
    names: list[str] = field(init=False)

    def __post_init__(self):
        self.names = [c.name for c in self.countries]
        for c in self.countries:
            if len(c.targets.table) == 0:
                raise ScenarioError(c.scenario.source_file, None, "no observations to fit")
            if not c.weight > 0:
                raise ScenarioError(c.name, "weight", f"must be > 0, got {c.weight}")

    def applies(self, param: Param, name: str) -> bool:
        """Whether a parameter acts on the country `name` (shared, or its own)."""
        scope, _ = split_key(param.key)
        return scope is None or scope == name

    def overrides(self, name: str, row) -> dict[str, float | int]:
        """One particle's overrides for the country `name` (plain dotted keys)."""
        mine = [(p, v) for p, v in zip(self.params, row, strict=True) if self.applies(p, name)]
        return {
            split_key(k)[1]: v
            for k, v in overrides_of([p for p, _ in mine], [v for _, v in mine]).items()
        }

    def combine(self, distances: np.ndarray) -> np.ndarray:
        """Joint distance of each particle from the countries' (countries, particles)."""
        w = np.array([c.weight for c in self.countries], dtype=float)[:, None]
        return np.sqrt(np.sum(w * distances**2, axis=0) / w.sum())

    def simulate(self, _round, params, values, seeds) -> np.ndarray:
        """The joint distances of a round, run in this process (`sim.calibration_rounds.
        JointRoundRunner` runs them through the experiment runner)."""
        per_country = np.array(
            [
                run_distances(
                    c.scenario,
                    [self.overrides(c.name, row) for row in values],
                    country_seeds(seeds, i),
                    c.targets,
                    c.population,
                    c.days,
                )
                for i, c in enumerate(self.countries)
            ]
        )
        return self.combine(per_country)


def country_seeds(seeds, index: int) -> np.ndarray:
    """The seed stream of the country at `index`: one seed per particle, derived from the
    particle's seed and the country's position (independent streams per country)."""
    return np.array(
        [np.random.SeedSequence([int(s), index]).generate_state(1)[0] for s in seeds],
        dtype=np.uint32,
    )


def parse_joint_param(text: str, scenarios: dict[str, Scenario]) -> Param:
    """`[scenario:]dotted.key[=low:high]`: a per-country key (prefixed) or a shared one
    (present in every scenario; the range, or the first scenario's value, checked against
    each scenario). Returns the Param under its joint key."""
    key = text.partition("=")[0].strip()
    scope, dotted = split_key(key)
    if scope is not None:
        if scope not in scenarios:
            raise ScenarioError(
                "--params", key, f"names no scenario of the fit; scenarios: {', '.join(scenarios)}"
            )
        param = parse_param(text[len(scope) + len(SCOPE) :].strip(), scenarios[scope])
        return dataclasses.replace(param, key=f"{scope}{SCOPE}{param.key}")
    first, *others = scenarios.values()
    param = parse_param(text, first)
    for scn in others:  # the same range must be valid in every country
        parse_param(f"{dotted}={param.low!r}:{param.high!r}", scn)
    return param


def calibrate_joint(
    fit: JointFit,
    *,
    particles: int = 200,
    rounds: int = 4,
    quantile: float = 0.3,
    seed: int = 0,
    progress=None,
    simulate=None,
) -> Calibration:
    """ABC-SMC over the joint parameters (`sim.calibration.calibrate` for one country).

    Args:
        fit: The countries and parameters.
        particles: Number of particles per round.
        rounds: Number of rounds, the first included.
        quantile: Share of particles kept each round.
        seed: Seed of the proposals and runs.
        progress (Callable[[str], None] | None): Called with a line after each round.
        simulate (Callable | None): Runs a round (`fit.simulate` if None).

    Returns:
        The calibration (its `scenario` is the countries' names joined by "+").
    """
    return abc_smc(
        "+".join(fit.names),
        fit.params,
        simulate or fit.simulate,
        particles,
        rounds,
        quantile,
        seed,
        progress,
    )


def country_calibration(cal: Calibration, name: str) -> Calibration:
    """The joint posterior seen from one country: the shared keys and its own, under
    their plain dotted keys (for its calibrated scenario variant)."""
    cols = [j for j, p in enumerate(cal.params) if split_key(p.key)[0] in (None, name)]
    params = [dataclasses.replace(cal.params[j], key=split_key(cal.params[j].key)[1]) for j in cols]
    return dataclasses.replace(cal, scenario=name, params=params, particles=cal.particles[:, cols])


def country_particle_table(cal: Calibration, name: str) -> pd.DataFrame:
    """The posterior particles file of one country's variant: `weight`, the shared keys,
    and this country's keys prefixed with its name (`name:dotted.key`, unambiguous; see
    sim.uncertainty). Other countries' keys are left out."""
    table = cal.particle_table()
    keep = [k for k in table.columns[1:] if split_key(k)[0] in (None, name)]
    return table[["weight", *keep]]
