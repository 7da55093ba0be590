"""What the explorer shows, computed from replicate runs (pure: no Solara here).

The chosen law and the population's own law run with the same seeds (0..k-1, common random
numbers), so their difference replicate by replicate is a paired difference: the change the
law makes, with the chance that both runs share taken out.
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..figures import FLOW_ROWS, flow_values, offence_shares
from ..reporting.labels import HEADLINE
from ..results import Result
from ..scenario import Scenario
from .state import Built, Settings, build, default_population_size, scenario_toml

LAW, OWN = "law", "own law"  # the two arms
LOW_PCT, HIGH_PCT = 5, 95  # the bands: 5th to 95th percentile over replicates


@dataclass(frozen=True)
class Bands:
    """Every column of the daily time series over replicates: median and 5-95% per day."""

    dates: pd.DatetimeIndex
    median: pd.DataFrame  # one row per day, one column per output
    low: pd.DataFrame
    high: pd.DataFrame
    replicates: int


def bands(results: tuple[Result, ...] | list[Result]) -> Bands:
    """Percentiles per day over runs of one scenario (same days, so one array op)."""
    first = results[0].timeseries
    columns = [c for c in first.columns if c not in ("date", "day")]
    values = np.stack([r.timeseries[columns].to_numpy(np.float64) for r in results])
    low, mid, high = np.percentile(values, [LOW_PCT, 50, HIGH_PCT], axis=0)
    dates = pd.DatetimeIndex(first["date"])
    low, mid, high = (pd.DataFrame(a, index=dates, columns=columns) for a in (low, mid, high))
    return Bands(dates, mid, low, high, len(results))


@dataclass(frozen=True)
class Runs:
    """Replicate runs of one scenario (seeds 0..k-1) and their bands."""

    results: tuple[Result, ...]
    bands: Bands


@functools.lru_cache(maxsize=8)
def _replicates(scenario_json: str, replicates: int, population: int) -> Runs:
    from .. import run

    scn = Scenario.model_validate_json(scenario_json)
    results = tuple(run(scn, seed=seed, population=population) for seed in range(replicates))
    return Runs(results, bands(results))


def run_replicates(scn: Scenario, replicates: int, population: int) -> Runs:
    """Vector-engine runs with seeds 0..replicates-1 (cached: a law the user comes back to,
    and the population's own law, are not run again)."""
    return _replicates(scn.model_dump_json(), replicates, population)


def _pct(values: np.ndarray) -> tuple[float, float, float]:
    """Median, 5th and 95th percentile, ignoring NaN (NaN if nothing is left)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return (float("nan"),) * 3
    low, mid, high = np.percentile(values, [LOW_PCT, 50, HIGH_PCT])
    return float(mid), float(low), float(high)


def funnel(law: tuple[Result, ...], own: tuple[Result, ...]) -> pd.DataFrame:
    """The recruitment funnel at the end of the horizon (sim.figures' stages): median and
    5-95% over replicates under the law, and the median under the population's own law."""
    ends = {
        arm: flow_values(pd.DataFrame([r.timeseries.iloc[-1] for r in results]))
        for arm, results in ((LAW, law), (OWN, own))
    }
    rows = []
    for label, key, stage, _base in FLOW_ROWS:
        mid, low, high = _pct(ends[LAW][key].to_numpy())
        rows.append(
            {
                "stage": label,
                "key": key,
                "level": stage,
                "median": mid,
                "p05": low,
                "p95": high,
                "own_median": _pct(ends[OWN][key].to_numpy())[0],
            }
        )
    return pd.DataFrame(rows)


def offences(law: tuple[Result, ...], own: tuple[Result, ...]) -> pd.DataFrame:
    """Who is recruited: mean share of recruits by offence group under each law (columns),
    with a `total` row of mean recruits."""

    def table(results, arm):
        """Recruits by offence, one row per replicate and offence."""
        return pd.DataFrame(
            [
                {"scenario": arm, "replicate": i, "offence": o, "recruits": n}
                for i, r in enumerate(results)
                for o, n in r.recruits_by_offence.items()
            ]
        )

    shares = offence_shares(pd.concat([table(law, LAW), table(own, OWN)], ignore_index=True))
    return shares.T.reindex(columns=[LAW, OWN])


def paired(law: tuple[Result, ...], own: tuple[Result, ...]) -> pd.DataFrame:
    """Headline metrics (the CLI's summary table): median under each law and the paired
    difference law minus own law, seed by seed: its mean and 5-95% over replicates."""
    rows = []
    for key, label in HEADLINE:
        a = np.array([r.summary[key] for r in law], dtype=np.float64)
        b = np.array([r.summary[key] for r in own], dtype=np.float64)
        diff = a - b
        _mid, low, high = _pct(diff)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = float(np.nanmean(diff)) if (~np.isnan(diff)).any() else float("nan")
        rows.append(
            {
                "metric": label,
                "key": key,
                "law": _pct(a)[0],
                "own_law": _pct(b)[0],
                "difference": mean,
                "difference_p05": low,
                "difference_p95": high,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class View:
    """Everything the explorer shows for one setting."""

    settings: Settings
    built: Built
    population_size: int
    law: Runs
    own: Runs
    funnel: pd.DataFrame
    offences: pd.DataFrame
    paired: pd.DataFrame
    toml: str
    seconds: float


def compute(settings: Settings) -> View:
    """Build the scenario, run both laws with the same seeds and compute every view.
    Raises ScenarioError for invalid settings, ValueError for a bad population size or
    number of replicates."""
    t0 = time.perf_counter()
    if settings.replicates < 1:
        raise ValueError(f"replicates must be at least 1, got {settings.replicates}")
    built = build(settings)
    size = settings.population_size or default_population_size(built.population)
    if size < 1:
        raise ValueError(f"population must be at least 1, got {size}")
    law = run_replicates(built.scenario, settings.replicates, size)
    own = run_replicates(built.population, settings.replicates, size)
    return View(
        settings=settings,
        built=built,
        population_size=size,
        law=law,
        own=own,
        funnel=funnel(law.results, own.results),
        offences=offences(law.results, own.results),
        paired=paired(law.results, own.results),
        toml=scenario_toml(built, settings, size),
        seconds=time.perf_counter() - t0,
    )
