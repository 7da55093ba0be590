"""Tasks and seeds: one run of the model is one `Task`, executed by `run_task` anywhere.

A task carries the resolved scenario as plain data (never a path), so a worker in another
process, on another machine or in another working directory runs exactly what the parent
validated. Seeds: `numpy.random.SeedSequence(entropy).spawn(replicates)` gives one seed per
replicate, shared by every design point and scenario (common random numbers: replicate r
of every point uses the same seed, so differences between points are not seed noise).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..jit import interrupt_behind
from ..results import SUMMARY_EXTRA
from ..scenario import Scenario, ScenarioError, apply_overrides, validate_raw
from ..taxonomy import FLOW_COLUMNS, OFFENCES

SUMMARY_METRICS = (*FLOW_COLUMNS, *SUMMARY_EXTRA)
ENGINES = ("vector", "agents")
DESIGN_SPAWN_KEY = 0x5EED_DE51  # SeedSequence(entropy, spawn_key=(this,)) seeds the design
OFFENCE_PREFIX = "recruits_offence_"
OFFENCE_COLUMNS = tuple(f"{OFFENCE_PREFIX}{o}" for o in OFFENCES)


@dataclass(frozen=True)
class Task:
    """One run: design point `point`, replicate `replicate`, with its seed.

    `scenario` is the resolved scenario as plain data (`Scenario.to_dict()`); `overrides`
    (dotted keys: a design point's values) and `parameters` (the replicate's drawn
    parameter set, `sim.uncertainty`; recorded as `param.<key>` in the summary) are applied
    to it in the worker, then validated again.
    """

    point: int
    replicate: int
    seed: int
    scenario: dict
    overrides: dict = field(default_factory=dict)
    engine: str = "vector"
    population: int | None = None
    days: int | None = None
    parameters: dict = field(default_factory=dict)
    record_people: bool = False  # also return the per-person event table (vector engine)
    # observations to read from the run here, in the worker (sim.calibration.targets):
    # their model values go into the summary as `observed.<i>`
    observe: tuple = ()
    # batch outputs: also run the no-recruitment baseline (sim.counterfactual) and return
    # the by-group table (sim.by_group)
    batch_outputs: bool = False

    @property
    def key(self) -> str:
        """File name stem of the task: its point and replicate."""
        return f"p{self.point:05d}-r{self.replicate:04d}"


def scenario_data(scn: Scenario) -> dict:
    """A scenario as the plain data a task carries."""
    return scn.to_dict()


def resolve(task: Task) -> Scenario:
    """The task's scenario with its overrides applied (raises ScenarioError)."""
    data = dict(task.scenario)
    file = data.pop("source_file", "") or "<scenario>"
    overrides = {**task.parameters, **task.overrides}
    if not overrides:
        return validate_raw(data, file)
    return validate_raw(apply_overrides(data, overrides, file), file)


def error_text(exc: BaseException) -> str:
    """An exception as one line (scenario errors already name file and key)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ScenarioError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run_task(task: Task) -> dict:
    """Run one task (in a worker). A run that raises comes back as status 'failed'.

    Args:
        task: The task.

    Returns:
        The run's outputs and status.
    """
    import sim

    from ..by_group import of_result
    from ..counterfactual import recruitment_effect
    from ..engines.threads import one_per_run
    from ..model.population import reused

    started = time.perf_counter()
    try:
        scn = resolve(task)
        options: dict[str, Any] = {
            "engine": task.engine,
            "seed": task.seed,
            "population": task.population,
        }
        # The run and its no-recruitment baseline draw the people once; runs run in
        # parallel on workers, each in one thread.
        with reused(), one_per_run():
            result = sim.run(scn, **options, days=task.days, record_people=task.record_people)
            groups = None
            if task.batch_outputs:
                result.summary.update(recruitment_effect(scn, result, **options, days=task.days))
                groups = of_result(result, list(scn.regimes))
    except Exception as exc:  # recorded as a failed run; interrupts (BaseException) pass
        if interrupt_behind(exc) is not None:  # Ctrl-C inside compiled code: an interrupt
            raise KeyboardInterrupt from exc
        return {
            "status": "failed",
            "error": error_text(exc),
            "wall_s": time.perf_counter() - started,
        }
    summary = {k: float(v) for k, v in result.summary.items()}
    if task.observe:
        from ..calibration.targets import model_values

        values = model_values(result, task.observe)
        summary |= {f"observed.{i}": float(v) for i, v in enumerate(values)}
    return {
        "status": "ok",
        "timeseries": result.timeseries,
        "summary": summary,
        "recruits_by_offence": {k: int(v) for k, v in result.recruits_by_offence.items()},
        "n_agents": int(result.n_agents),
        "wall_s": time.perf_counter() - started,
        **({"people": result.people} if result.people is not None else {}),
        **({"by_group": groups} if groups is not None else {}),
    }


def replicate_seeds(entropy: int, replicates: int) -> tuple[list[int], list[list[int]]]:
    """Per-replicate seeds (shared by every point) and their SeedSequence spawn keys.

    Args:
        entropy: The experiment's entropy.
        replicates: Number of replicates.

    Returns:
        The seeds, and the spawn key of each.
    """
    children = np.random.SeedSequence(entropy).spawn(replicates)
    seeds = [int(c.generate_state(1)[0]) for c in children]
    return seeds, [list(c.spawn_key) for c in children]


def design_seed(entropy: int) -> int:
    """Seed for sampling a design (LHS, Sobol, Morris), independent of replicate seeds.

    Args:
        entropy: The experiment's entropy.

    Returns:
        The seed.
    """
    ss = np.random.SeedSequence(entropy, spawn_key=(DESIGN_SPAWN_KEY,))
    return int(ss.generate_state(1)[0])


def new_entropy() -> int:
    """Fresh entropy for an experiment that was given none (stored in its manifest).

    Returns:
        The entropy.
    """
    return secrets.randbits(32)
