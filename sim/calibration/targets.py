"""Observations reduced to what the model can be compared with, and the distance to them.

The distance respects the observations' qualifiers (an `at_least` point penalises only a
shortfall, `up_to` only an excess) and weights claims and estimates below observations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..scenario import Scenario

KIND_WEIGHTS = {"observed": 1.0, "estimate": 0.5, "claim": 0.25}
QUALIFIERS = ("at_least", "about", "up_to", "exact")
SHARE_FLOOR = 1e-3  # a share or rate below this counts as this in the distance


def population_ratio(scn: Scenario, population: int | None) -> float:
    """Run population over the scenario's (1 at real scale)."""
    return 1.0 if population is None else population / scn.population.initial_size


def is_count(metric: str) -> bool:
    """Whether an observed metric is a count (scaled with the population) rather than a
    share, a rate or a percentage (not scaled)."""
    return not metric.endswith(("_share", "_rate", "_pct", "_per_1000_recruits"))


def scale_note(scn: Scenario, population: int | None) -> str:
    """What a scaled run compares with (empty at real scale)."""
    if population is None or population == scn.population.initial_size:
        return ""
    ratio = population_ratio(scn, population)
    return (
        f"population {population:,} of {scn.population.initial_size:,}: observed counts "
        f"scaled by {ratio:.4g} (shares and rates unscaled)"
    )


@dataclass
class Targets:
    """Observations reduced to what the model can be compared with."""

    table: pd.DataFrame  # rows: output, day, value, qualifier, weight, label

    @classmethod
    def from_observations(
        cls,
        obs: pd.DataFrame,
        scn: Scenario,
        fitting: bool = False,
        population: int | None = None,
        until: pd.Timestamp | None = None,
    ) -> Targets:
        """Observations within the scenario's horizon (for fitting: only those fitted;
        with `until`, only those dated before it). A run at a `population` other than the
        scenario's compares with counts scaled by the population ratio (`scale` column;
        `value_real_scale` keeps the reported figure); shares and rates are not scaled."""
        start = pd.Timestamp(scn.scenario.start_date)
        keep = obs["output"].notna()
        if fitting and "fitted" in obs.columns:
            keep &= obs["fitted"]
        if until is not None:
            keep &= obs["date"] < until
        rows = obs[keep].copy()
        rows["value_real_scale"] = rows["value"]
        metric = rows["metric"] if "metric" in rows else rows["output"]
        count = np.array([is_count(str(m)) for m in metric], dtype=bool)
        rows["count"] = count
        rows["scale"] = np.where(count, population_ratio(scn, population), 1.0)
        rows["value"] = rows["value"] * rows["scale"]
        when = pd.to_datetime(rows.get("model_date", rows["date"]).fillna(rows["date"]))
        rows["day"] = (when - start).dt.days
        rows = rows[(rows["day"] >= 0) & (rows["day"] < scn.n_days)]
        rows["weight"] = rows["kind"].map(KIND_WEIGHTS).fillna(0.25)
        return cls(rows.reset_index(drop=True))

    def simulated(self, run) -> np.ndarray:
        """Model values at the observations from one run (`sim.observed_outputs`): a
        `Result`, or its time series alone when no output needs the recruits table."""
        return model_values(run, self.table)

    def observed_rows(self) -> tuple[dict, ...]:
        """What a worker needs to compute `simulated` from a run it made (`Task.observe`):
        the observations' metric, output and day, as plain data."""
        cols = [c for c in ("metric", "output", "day") if c in self.table.columns]
        return tuple(self.table[cols].to_dict("records"))

    def distance(self, simulated: np.ndarray) -> float:
        """Weighted root mean square log error, one-sided for at_least / up_to: log(1 + x)
        for counts, log(x) for shares and rates (a relative error either way; log1p would
        all but ignore an error in a share of 0.2), floored at SHARE_FLOOR."""
        return float(self.distances(np.asarray(simulated, dtype=float)[None, :])[0])

    def distances(self, simulated: np.ndarray) -> np.ndarray:
        """`distance` of each row of `simulated` (runs x observations), at once.

        Args:
            simulated: Model values, one row per run, one column per observation.

        Returns:
            One distance per run.
        """
        t = self.table
        value = t["value"].to_numpy(float)
        simulated = np.asarray(simulated, dtype=float)
        count = t["count"].to_numpy(bool) if "count" in t else np.ones(len(t), bool)
        floor = np.fmax  # a value the model cannot give (NaN) counts as 0
        r = np.where(
            count,
            np.log1p(floor(simulated, 0.0)) - np.log1p(value),
            np.log(floor(simulated, SHARE_FLOOR)) - np.log(floor(value, SHARE_FLOOR)),
        )
        qualifier = t["qualifier"].to_numpy()
        r = np.where((qualifier == "at_least") & (r > 0), 0.0, r)
        r = np.where((qualifier == "up_to") & (r < 0), 0.0, r)
        w = t["weight"].to_numpy(float)
        # Row by row, each sum over one contiguous row (the order of a single run's sum).
        return np.array([np.sqrt(np.sum(w * row * row) / np.sum(w)) for row in r])


def targets_for(
    scn: Scenario, observations=None, fitting: bool = False, population: int | None = None
) -> Targets:
    """The scenario country's observations as targets (scaled to `population`)."""
    from ..observations import for_country, load_observations

    return Targets.from_observations(
        for_country(load_observations(observations), scn.scenario.country),
        scn,
        fitting,
        population,
    )


def model_values(result, rows) -> np.ndarray:
    """Model values of a run at observations, computed where the run was made
    (`sim.observed_outputs.model_values`: time series columns, custody stocks by status
    and sex, per-regime counts and shares from `Result.recruits`).

    Args:
        result (sim.Result | pd.DataFrame): The run, or its time series alone.
        rows (pd.DataFrame | Sequence[dict]): The observations' output and day (and metric;
            `Targets.observed_rows`).

    Returns:
        One model value per observation (NaN where the run cannot give one).
    """
    from ..observed_outputs import model_values as values_of

    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    return np.asarray(values_of(result, table), dtype=float)
