"""The model against observations: median and 90% interval at each observation's day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario import Scenario, ScenarioError
from .targets import Targets, targets_for


def model_intervals(
    scn: Scenario,
    targets: Targets,
    replicates: int = 20,
    population=None,
    seed: int = 0,
    keep_runs: list | None = None,
    fixed_parameters: bool = True,
    sampler=None,
) -> pd.DataFrame:
    """Model median and 90% interval at each observation's day, over replicates.

    Replicate r runs with seed `seed + r` and, unless `fixed_parameters`, the parameter
    set `ParameterSampler.draw(seed + r)` (a posterior-predictive interval; `sampler`
    replaces the scenario's own). `keep_runs`, if given, receives each replicate's time
    series (for figures).

    Args:
        scn: The scenario.
        targets: The observations.
        replicates: Number of replicates.
        population (int | None): Run population, or None for the scenario's.
        seed: Seed of replicate 0.
        keep_runs: List receiving each replicate's time series, or None.
        fixed_parameters: Run with the scenario's values only.
        sampler (ParameterSampler | None): Sampler to draw from, or None.

    Returns:
        The targets with the model's median and interval.
    """
    from ..uncertainty import ParameterSampler

    if sampler is None and not fixed_parameters:
        sampler = ParameterSampler.for_scenario(scn)
    import sim

    horizon = int(targets.table["day"].max()) + 1 if len(targets.table) else 1
    if keep_runs is not None:  # show a little beyond the last observation
        horizon = min(scn.n_days, horizon + 30)
    sims = []
    for r in range(replicates):
        run_scn = scn if sampler is None else sampler.scenario_for(seed + r)
        result = sim.run(run_scn, seed=seed + r, population=population, days=horizon)
        ts = result.timeseries
        sims.append(targets.simulated(result))
        if keep_runs is not None:
            keep_runs.append(ts.assign(scenario=scn.name, replicate=r))
    values = np.array(sims)
    t = targets.table.copy()
    t["model_p05"] = np.quantile(values, 0.05, axis=0)
    t["model_median"] = np.median(values, axis=0)
    t["model_p95"] = np.quantile(values, 0.95, axis=0)
    t["inside"] = inside(t)
    return t


ABOUT_TOLERANCE = 0.10  # "about N" is read as N +/- 10%


def inside(t: pd.DataFrame) -> np.ndarray:
    """Whether each observation is consistent with the model's 90% interval.

    `at_least N`: the interval reaches N; `up_to N`: it reaches down to N; `about N`: it
    overlaps N +/- 10%; `exact N`: it contains N.
    """
    value = t["value"].astype(float).to_numpy()
    lo, hi = t["model_p05"].to_numpy(), t["model_p95"].to_numpy()
    slack = np.where(t["qualifier"] == "about", ABOUT_TOLERANCE * value, 0.0)
    return np.select(
        [t["qualifier"] == "at_least", t["qualifier"] == "up_to"],
        [hi >= value, lo <= value],
        default=(lo <= value + slack) & (value - slack <= hi),
    )


def validate(
    scn: Scenario,
    observations=None,
    replicates: int = 20,
    population=None,
    seed: int = 0,
    fixed_parameters: bool = False,
) -> pd.DataFrame:
    """Model (median, 90% posterior-predictive interval over replicates, or seed-only with
    `fixed_parameters`) against every comparable observation (scaled to `population`).

    Args:
        scn: The scenario.
        observations (str | os.PathLike | None): Observations file, or None for the bundled.
        replicates: Number of replicates.
        population (int | None): Run population, or None for the scenario's.
        seed: Seed of replicate 0.
        fixed_parameters: Run with the scenario's values only.

    Returns:
        One row per observation, with the model interval and whether it is inside.
    """
    targets = targets_for(scn, observations, population=population)
    if len(targets.table) == 0:
        raise ScenarioError(scn.source_file, None, "no comparable observations in its horizon")
    runs: list = []
    table = model_intervals(
        scn,
        targets,
        replicates,
        population,
        seed,
        keep_runs=runs,
        fixed_parameters=fixed_parameters,
    )
    cols = ["date", "model_date", "metric", "output", "value", "qualifier", "kind", "source"]
    cols += ["value_real_scale", "scale"]
    table = table[[*cols, "model_median", "model_p05", "model_p95", "inside"]]
    # In sample (the calibration used it) or out of sample (held out or never fitted).
    table.insert(len(cols), "used_in_fit", targets.table["fitted"].to_numpy(bool))
    table.attrs["runs"] = pd.concat(runs, ignore_index=True)
    return table


def write_validation(
    fit: pd.DataFrame, scn: Scenario, out: Path, overwrite=False, extra=None
) -> None:
    """validation.csv (and its figure), plus `extra` tables ({name: table} as name.csv)."""
    from ..figures import observations_figure
    from ..results import AtomicDir

    with AtomicDir(Path(out), overwrite, kind="validation") as tmp:
        fit.to_csv(tmp / "validation.csv", index=False)
        for name, table in (extra or {}).items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        runs = fit.attrs.get("runs")
        # the figure draws time series bands: rows of outputs beyond the time series (per
        # regime counts, shares: sim.observed_outputs) are in validation.csv, not drawn
        drawn = fit[fit["output"].isin(runs.columns)] if runs is not None else fit
        if runs is not None and len(drawn):
            observations_figure(
                runs,
                drawn.assign(scenario=scn.name),
                {scn.name: scn.name},
                tmp,
                stem="validation",
            )
