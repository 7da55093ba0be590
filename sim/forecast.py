"""Validation out of sample: calibrate on the observations dated before a date, forecast
the rest with the posterior-predictive distribution, and score the forecast.

`fit_until(scn, date)` fits the scenario's calibrated parameters (those whose source says
"calibrated", with their priors as ranges; or the keys given) by ABC-SMC with small
defaults, then runs `replicates` posterior-predictive replicates: the fitted parameters
drawn from the accepted particles, every other parameter with a prior from its prior. Each
comparable observation gets the model's 90% interval; those dated on or after the date are
out of sample. Scores: coverage (`inside`, qualifier-aware as in `sim.calibration.inside`)
and the interval score of the central 90% interval (Gneiting & Raftery 2007, eq. 43):

    IS(l, u; y) = (u - l) + (2 / alpha) (l - y) 1{y < l} + (2 / alpha) (y - u) 1{y > u}

with alpha = 0.1 (lower is better), also divided by the observed value so that counts of
different sizes can be averaged (`interval_score_rel`).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .calibration import Param, Targets, calibrate, model_intervals
from .scenario import Scenario, ScenarioError
from .uncertainty import ParameterSampler, Posterior

ALPHA = 0.1  # the central 90% interval
PARTICLES, ROUNDS, REPLICATES = 40, 2, 20  # small defaults: a check, not a calibration


def interval_score(low, high, y, alpha: float = ALPHA) -> np.ndarray:
    """Interval score of central (1 - alpha) intervals [low, high] for observations y."""
    low, high, y = (np.asarray(a, dtype=np.float64) for a in (low, high, y))
    below = (2 / alpha) * (low - y) * (y < low)
    above = (2 / alpha) * (y - high) * (y > high)
    return (high - low) + below + above


def calibrated_params(scn: Scenario, keys: list[str] | None = None) -> list[Param]:
    """Parameters to fit: `keys`, or those whose source says "calibrated"; each needs a
    prior in the scenario (its range)."""
    if keys is None:
        keys = [k for k in scn.priors if "calibrated" in str(scn.sources.get(k, ""))]
    if not keys:
        raise ScenarioError(
            scn.source_file, "priors", "no calibrated parameter with a prior; give --params KEY"
        )
    sampler = ParameterSampler(scn, dict(scn.priors))
    params = []
    for key in keys:
        prior = scn.priors.get(key)
        if prior is None:
            known = ", ".join(scn.priors) or "none"
            raise ScenarioError(scn.source_file, key, f"has no prior; keys with priors: {known}")
        integer = key in sampler._integer
        params.append(Param(key, prior.low, prior.high, prior.dist == "loguniform", integer))
    return params


def fit_until(
    scn: Scenario,
    until: dt.date,
    observations=None,
    *,
    keys: list[str] | None = None,
    particles: int = PARTICLES,
    rounds: int = ROUNDS,
    replicates: int = REPLICATES,
    population: int | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibrate on the observations before `until`, forecast and score every comparable
    one. Returns (table: one row per observation with `used_in_fit`, the model's median and
    90% interval, `inside`, `interval_score`, `interval_score_rel`; estimates: the
    calibration's per-parameter summary)."""
    from .observations import for_country, load_observations

    obs = for_country(load_observations(observations), scn.scenario.country)
    when = pd.Timestamp(until)
    fit_targets = Targets.from_observations(obs, scn, True, population, until=when)
    if not len(fit_targets.table):
        raise ScenarioError("--fit-until", None, f"no fitted observation is dated before {until}")
    params = calibrated_params(scn, keys)
    cal = calibrate(
        scn,
        params,
        fit_targets,
        particles=particles,
        rounds=rounds,
        seed=seed,
        population=population,
    )
    posterior = Posterior(
        f"fit-until-{until}",
        tuple(p.key for p in params),
        cal.particles,
        cal.weights / cal.weights.sum(),
    )
    priors = dict(scn.priors)
    sampler = ParameterSampler(scn, priors, (posterior,))
    targets = Targets.from_observations(obs, scn, False, population)
    table = model_intervals(scn, targets, replicates, population, seed, sampler=sampler)
    table["used_in_fit"] = table["fitted"].to_numpy(bool) & (table["date"] < when).to_numpy()
    table["interval_score"] = interval_score(table["model_p05"], table["model_p95"], table["value"])
    table["interval_score_rel"] = table["interval_score"] / table["value"].abs()
    return table, cal.estimates()


def scores(table: pd.DataFrame) -> pd.DataFrame:
    """Coverage and mean interval scores, in sample and out of sample."""
    rows = []
    for label, mask in (
        ("in sample", table["used_in_fit"]),
        ("out of sample", ~table["used_in_fit"]),
    ):
        sub = table[mask.to_numpy(bool)]
        rows.append(
            {
                "rows": label,
                "n": len(sub),
                "inside": int(sub["inside"].sum()),
                "coverage": float(sub["inside"].mean()) if len(sub) else np.nan,
                "mean_interval_score_rel": float(sub["interval_score_rel"].mean())
                if len(sub)
                else np.nan,
            }
        )
    return pd.DataFrame(rows)
