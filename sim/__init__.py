"""prisonflow: agent-based simulation of prison-to-army recruitment flows.

import sim
scenario = sim.load_scenario("ukraine_2024", {"regimes.UA_2024.approval_capacity_per_day": 80})
result = sim.run(scenario, seed=1)
result.timeseries, result.summary
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import Result
    from .scenario import Scenario

__version__ = "0.1.0"
ENGINES = ("vector", "agents")


def run(
    scenario: Scenario | str,
    *,
    engine: str = "vector",
    seed: int = 0,
    population: int | None = None,
    days: int | None = None,
    record_people: bool = False,
    extend: bool = False,
    force: bool = False,
    threads: int | None = None,
) -> Result:
    """Run one scenario once. `population` scales the initial stock; `days` the horizon.

    `record_people` (vector engine) adds `Result.people`, one row per person with the days
    of application, contract, deployment and exit and the outcome. `days` past the
    scenario's end_date needs `extend=True`; a run estimated not to fit in available
    memory raises `sim.resources.ResourceError` unless `force=True`.

    Args:
        scenario: A Scenario, or a bundled scenario's name or a file path.
        engine: Simulation engine ("vector" by default).
        seed: Seed of the run's random streams.
        population: Initial population size, or None for the scenario's.
        days: Number of days to run, or None for the scenario's horizon.
        record_people: Add the per-person table `Result.people`.
        extend: Allow `days` past the scenario's end_date.
        force: Run even if estimated not to fit in memory.
        threads: Threads of the vector engine's pass over the people (default: the usable
            cores, up to 4; one inside experiments, which run runs in parallel). Outputs
            are the same for any number. The Mesa engine runs in one.

    Returns:
        The run's result.
    """
    if isinstance(scenario, str):
        from .scenario import load_scenario

        scenario = load_scenario(scenario)
    if population is not None and population < 1:
        raise ValueError(f"population must be at least 1, got {population}")
    if days is not None and days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if seed < 0:
        raise ValueError(f"seed must be at least 0, got {seed}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}")
    days = scenario.horizon_days(days, extend)
    if not force:
        from .resources import check_memory

        check_memory(scenario, engine, population, days)
    if engine == "vector":
        from .engines import vector

        return vector.simulate(
            scenario,
            seed=seed,
            population=population,
            days=days,
            record_people=record_people,
            threads=threads,
        )
    if record_people:
        raise ValueError("record_people is available with the vector engine only")
    from .engines import mesa_model

    return mesa_model.simulate(scenario, seed=seed, population=population, days=days)


# Imported on first use, so that `prisonflow --help` never loads pandas, scipy or pydantic.
_LAZY = {
    "Result": "results",
    "Scenario": "scenario",
    "ScenarioError": "scenario",
    "bundled_scenarios": "scenario",
    "load_scenario": "scenario",
}


def __getattr__(name: str):
    """The scenario and result API (`_LAZY`), `sim.batch` and `sim.sweep` (experiments,
    see sim.experiments) and `sim.load_experiment` (sim.reporting.loaded), imported on
    first use."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in ("batch", "sweep"):
        from . import experiments

        return getattr(experiments, name)
    if name == "load_experiment":
        from .reporting.loaded import load_experiment

        return load_experiment
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


__all__ = [
    "Result",
    "Scenario",
    "ScenarioError",
    "batch",
    "bundled_scenarios",
    "load_experiment",
    "load_scenario",
    "run",
    "sweep",
]
