"""Calibration and validation against observed data.

Calibration is approximate Bayesian computation with a sequence of tolerances (ABC-SMC,
population Monte Carlo: Beaumont et al. 2009; Toni et al. 2009). Each particle is a set of
parameter values; the model is run once per particle with its own seed (the stochastic
model is its own likelihood); a particle is kept when its distance to the observations is
within the round's tolerance, and the tolerance shrinks from round to round. The kept
particles approximate the posterior: we report its median and 90% interval.

The distance respects the observations' qualifiers (an `at_least` point penalises only a
shortfall, `up_to` only an excess) and weights claims and estimates below observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import qmc

from .scenario import Scenario, ScenarioError, apply_overrides, load_scenario

KIND_WEIGHTS = {"observed": 1.0, "estimate": 0.5, "claim": 0.25}
# A posterior 90% interval wider than this share of the prior's: the data leave it uninformed.
NOT_INFORMED_WIDTH = 0.8
QUALIFIERS = ("at_least", "about", "up_to", "exact")


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """A parameter to fit: a dotted scenario key and its prior range (uniform)."""

    key: str
    low: float
    high: float
    log: bool = False  # uniform on the log scale
    integer: bool = False

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points in [0, 1] onto the prior range (log-uniform if `log`, rounded if `integer`).

        Args:
            u: Values in the unit interval.

        Returns:
            The parameter values.
        """
        if self.log:
            x = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return np.rint(x) if self.integer else x

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map parameter values back onto [0, 1]; the inverse of `from_unit` (before rounding).

        Args:
            x: Parameter values within the prior range.

        Returns:
            The values on the unit scale.
        """
        if self.log:
            return (np.log(x) - np.log(self.low)) / (np.log(self.high) - np.log(self.low))
        return (x - self.low) / (self.high - self.low)


def _current_value(scn: Scenario, key: str):
    node = scn.model_dump()
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ScenarioError(scn.source_file, key, "is not a key of the scenario")
        node = node[part]
    return node


def parse_param(text: str, scn: Scenario) -> Param:
    """`key=low:high`, or `key` alone for a range of a third to three times its value."""
    key, sep, rng = text.partition("=")
    key = key.strip()
    current = _current_value(scn, key)
    if isinstance(current, bool) or not isinstance(current, int | float):
        raise ScenarioError(scn.source_file, key, "calibration needs a numeric parameter")
    if sep:
        lo_text, colon, hi_text = rng.partition(":")
        try:
            low, high = float(lo_text), float(hi_text)
        except ValueError:
            raise ScenarioError(
                "--params", key, f"range must be low:high numbers, got {rng!r}"
            ) from None
        if not colon or not low < high:
            raise ScenarioError(
                "--params", key, f"range must be low:high with low < high, got {rng!r}"
            )
    else:
        if current <= 0:
            raise ScenarioError(
                "--params", key, "give a range key=low:high (value is not positive)"
            )
        low, high = current / 3, current * 3
    integer = isinstance(current, int)
    for bound in (low, high):  # the bounds must themselves make a valid scenario
        try:
            load_scenario(scn.source_file, {key: int(round(bound)) if integer else bound})
        except ScenarioError as exc:
            raise ScenarioError(
                "--params", key, f"bound {bound:g} is invalid: {exc.message}"
            ) from None
    return Param(key, low, high, log=low > 0 and high / low >= 10, integer=integer)


# --------------------------------------------------------------------------- distance


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
        rows["scale"] = np.where(count, population_ratio(scn, population), 1.0)
        rows["value"] = rows["value"] * rows["scale"]
        when = pd.to_datetime(rows.get("model_date", rows["date"]).fillna(rows["date"]))
        rows["day"] = (when - start).dt.days
        rows = rows[(rows["day"] >= 0) & (rows["day"] < scn.n_days)]
        rows["weight"] = rows["kind"].map(KIND_WEIGHTS).fillna(0.25)
        return cls(rows.reset_index(drop=True))

    def simulated(self, ts: pd.DataFrame) -> np.ndarray:
        """Model values at the observations' days from one run's time series."""
        out = np.empty(len(self.table))
        for i, row in enumerate(self.table.itertuples()):
            out[i] = ts[row.output].iloc[int(row.day)]
        return out

    def distance(self, simulated: np.ndarray) -> float:
        """Weighted root mean square log error, one-sided for at_least / up_to."""
        t = self.table
        r = np.log1p(simulated) - np.log1p(t["value"].to_numpy(float))
        r = np.where((t["qualifier"] == "at_least") & (r > 0), 0.0, r)
        r = np.where((t["qualifier"] == "up_to") & (r < 0), 0.0, r)
        w = t["weight"].to_numpy(float)
        return float(np.sqrt(np.sum(w * r * r) / np.sum(w)))


# --------------------------------------------------------------------------- ABC-SMC


@dataclass
class Calibration:
    scenario: str
    params: list[Param]
    particles: np.ndarray  # (n, k) accepted parameter values, final round
    weights: np.ndarray
    distances: np.ndarray
    tolerances: list[float]
    runs: int
    seed: int
    history: list[dict] = field(default_factory=list)

    def estimates(self) -> pd.DataFrame:
        """Per parameter: posterior median and 90% interval, the best particle for contrast,
        and how much the data narrowed the prior.

        `narrowing` is 1 - (posterior 90% width / prior 90% width), both on the scale the
        prior is uniform on (log for log-uniform priors); a parameter whose posterior keeps
        more than NOT_INFORMED_WIDTH of its prior's width is labelled not informed.
        """
        best = self.particles[int(np.argmin(self.distances))]
        rows = []
        for j, p in enumerate(self.params):
            x = self.particles[:, j]
            q = _weighted_quantiles(x, self.weights, [0.05, 0.5, 0.95])
            unit = p.to_unit(np.array([q[0], q[2]], dtype=float))
            ratio = float(unit[1] - unit[0]) / 0.9  # prior's 90% width is 0.9 in unit scale
            rows.append(
                {
                    "parameter": p.key,
                    "prior_low": p.low,
                    "prior_high": p.high,
                    "fitted": q[1],  # the value written into the calibrated scenario
                    "median": q[1],
                    "p05": q[0],
                    "p95": q[2],
                    "best_particle": best[j],
                    "narrowing": 1.0 - ratio,
                    "informed": ratio < NOT_INFORMED_WIDTH,
                }
            )
        return pd.DataFrame(rows)

    def point(self) -> dict[str, float]:
        """The fitted values as scenario overrides: the posterior medians (robust, unlike
        the single particle closest to the data, which owes much to its seed)."""
        est = self.estimates()
        return {
            p.key: int(round(v)) if p.integer else float(f"{v:.6g}")
            for p, v in zip(self.params, est["median"], strict=True)
        }

    def particle_table(self) -> pd.DataFrame:
        """The posterior as a particles file (`weight` and one column per key; see
        sim.uncertainty), ready to sit beside the calibrated scenario."""
        table = pd.DataFrame({"weight": self.weights})
        for j, p in enumerate(self.params):
            values = self.particles[:, j]
            table[p.key] = np.rint(values).astype(int) if p.integer else values
        return table


def _weighted_quantiles(x, w, qs):
    order = np.argsort(x)
    cw = np.cumsum(w[order])
    cw /= cw[-1]
    return [float(x[order][np.searchsorted(cw, q)]) for q in qs]


def _simulate(
    scn: Scenario, params, values, seeds, targets: Targets, population, days
) -> np.ndarray:
    """Distance of each particle (one run each, its own seed)."""
    import sim

    from .scenario import validate_raw

    raw = {k: v for k, v in scn.to_dict().items() if k != "source_file"}
    horizon = int(targets.table["day"].max()) + 1 if days is None else days
    out = np.empty(len(values))
    for i, (row, seed) in enumerate(zip(values, seeds, strict=True)):
        overrides = {
            p.key: (int(v) if p.integer else float(v)) for p, v in zip(params, row, strict=True)
        }
        variant = validate_raw(apply_overrides(raw, overrides, scn.source_file), scn.source_file)
        ts = sim.run(variant, seed=int(seed), population=population, days=horizon).timeseries
        out[i] = targets.distance(targets.simulated(ts))
    return out


def calibrate(
    scn: Scenario,
    params: list[Param],
    targets: Targets,
    *,
    particles: int = 200,
    rounds: int = 4,
    quantile: float = 0.3,
    seed: int = 0,
    population: int | None = None,
    days: int | None = None,
    progress=None,
    simulate=None,
) -> Calibration:
    """ABC-SMC: rounds of propose, simulate, keep within a shrinking tolerance.

    `simulate(round, params, values, seeds)` returns each particle's distance; default:
    one run each in this process (`sim.calibration_rounds.RoundRunner` runs them through
    the experiment runner: parts, resume, workers).

    Args:
        scn: The scenario.
        params: The parameters to fit.
        targets: The observations to fit.
        particles: Number of particles per round.
        rounds: Number of rounds, the first included.
        quantile: Share of particles kept each round (sets the tolerance).
        seed: Seed of the proposals and runs.
        population: Run population, or None for the scenario's.
        days: Number of days, or None for the scenario's horizon.
        progress (Callable[[str], None] | None): Called with a line after each round.
        simulate (Callable | None): Runs a round, as above; None for the default.

    Returns:
        The calibration.
    """
    if simulate is None:

        def simulate(_round, params, values, seeds):
            """Simulate one round of parameter values against the targets."""
            return _simulate(scn, params, values, seeds, targets, population, days)

    if len(targets.table) == 0:
        raise ScenarioError(scn.source_file, None, "no observations fall within the horizon")
    k = len(params)
    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss.spawn(1)[0])

    def seeds(round_no: int, n: int) -> np.ndarray:
        """Seeds for one round of simulations, reproducible from the fit's seed and the round."""
        return np.random.SeedSequence([seed, round_no]).generate_state(n)

    # Every round keeps the same number of particles (the closest `keep_n` of its
    # proposals), so the posterior has a stable size; the round's tolerance is the largest
    # kept distance.
    keep_n = max(k + 2, int(round(quantile * particles)))
    unit = qmc.LatinHypercube(d=k, seed=rng).random(particles)
    values = np.column_stack([p.from_unit(unit[:, j]) for j, p in enumerate(params)])
    dist = simulate(0, params, values, seeds(0, particles))
    runs = particles
    keep = np.argsort(dist, kind="stable")[:keep_n]
    pts, w, d = unit[keep], np.full(keep_n, 1.0 / keep_n), dist[keep]
    eps = float(d.max())
    tolerances, history = [eps], [{"round": 0, "tolerance": eps, "accepted": keep_n}]
    if progress:
        progress(f"round 0: tolerance {eps:.3f}, {keep_n} of {particles} kept")
    for t in range(1, rounds):
        cov = 2.0 * np.atleast_2d(np.cov(pts.T, aweights=w)) + 1e-9 * np.eye(k)
        chol = np.linalg.cholesky(cov)
        proposals = np.empty((particles, k))
        filled = 0
        while filled < particles:
            pick = rng.choice(len(pts), size=particles, p=w)
            cand = pts[pick] + rng.standard_normal((particles, k)) @ chol.T
            ok = np.all((cand >= 0) & (cand <= 1), axis=1)
            take = cand[ok][: particles - filled]
            proposals[filled : filled + len(take)] = take
            filled += len(take)
        values = np.column_stack([p.from_unit(proposals[:, j]) for j, p in enumerate(params)])
        dist = simulate(t, params, values, seeds(t, particles))
        runs += particles
        order = np.argsort(dist, kind="stable")[:keep_n]
        new_pts, d = proposals[order], dist[order]
        w = _importance_weights(new_pts, pts, w, cov)
        pts, eps = new_pts, float(d.max())
        tolerances.append(eps)
        history.append({"round": t, "tolerance": eps, "accepted": len(pts)})
        if progress:
            progress(f"round {t}: tolerance {eps:.3f}, {len(pts)} of {particles} kept")
    values = np.column_stack([p.from_unit(pts[:, j]) for j, p in enumerate(params)])
    return Calibration(scn.name, params, values, w, d, tolerances, runs, seed, history)


def _importance_weights(new_pts, old_pts, old_w, cov) -> np.ndarray:
    """ABC-SMC weights of new particles: prior (uniform on the unit box) over the mixture of
    Gaussian kernels they were proposed from. Returns normalised weights.

    Proposals outside the box are redrawn together with their parent particle, so the
    accepted proposals follow the kernel mixture cut by the box and renormalised by one
    global constant, which cancels when the weights are normalised: no per-kernel
    truncation mass enters (it would if only the noise were redrawn for a fixed parent).
    """
    inv = np.linalg.inv(cov)
    diff = new_pts[:, None, :] - old_pts[None, :, :]
    kern = np.exp(-0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff))
    weights = 1.0 / (kern @ old_w)
    return weights / weights.sum()


# --------------------------------------------------------------------------- validation


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
    from .uncertainty import ParameterSampler

    if sampler is None and not fixed_parameters:
        sampler = ParameterSampler.for_scenario(scn)
    import sim

    horizon = int(targets.table["day"].max()) + 1 if len(targets.table) else 1
    if keep_runs is not None:  # show a little beyond the last observation
        horizon = min(scn.n_days, horizon + 30)
    sims = []
    for r in range(replicates):
        run_scn = scn if sampler is None else sampler.scenario_for(seed + r)
        ts = sim.run(run_scn, seed=seed + r, population=population, days=horizon).timeseries
        sims.append(targets.simulated(ts))
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


def write_calibrated_scenario(cal: Calibration, base: Scenario, path: Path, command: str) -> str:
    """A scenario file that extends the base with the fitted values and says how."""
    est = cal.estimates()
    lines = [
        f"# Calibrated variant of {base.name}, written by: {command}",
        f"# ABC-SMC: {cal.runs} runs, {len(cal.tolerances)} rounds, seed {cal.seed}.",
        f'scenario.name = "{path.stem}"',
        f'scenario.extends = "{_extends_name(base)}"',
    ]
    for key, value in cal.point().items():
        lines.append(f"{key} = {value}")
    for p, row in zip(cal.params, est.itertuples(), strict=True):
        informed = "" if row.informed else "; NOT INFORMED by the data (posterior ~ prior)"
        note = (
            f"calibrated: ABC-SMC posterior median, 90% interval [{row.p05:.4g}, {row.p95:.4g}], "
            f"prior [{p.low:g}, {p.high:g}]{informed}; particles in {path.stem}.posterior.csv; "
            f"reproduce with: {command}"
        )
        lines.append(f'sources."{p.key}" = "{note}"')
    for p in cal.params:
        dist = "loguniform" if p.log else "uniform"
        lines.append(
            f'priors."{p.key}" = {{ dist = "{dist}", low = {p.low!r}, high = {p.high!r} }}'
        )
    return "\n".join(lines) + "\n"


def _extends_name(base: Scenario) -> str:
    """A bundled scenario is extended by name; any other by its path."""
    from .scenario import scenarios_dir

    path = Path(base.source_file)
    return base.name if path.parent.resolve() == scenarios_dir().resolve() else str(path)


# --------------------------------------------------------------------------- entry points


def targets_for(
    scn: Scenario, observations=None, fitting: bool = False, population: int | None = None
) -> Targets:
    """The scenario country's observations as targets (scaled to `population`)."""
    from .observations import for_country, load_observations

    return Targets.from_observations(
        for_country(load_observations(observations), scn.scenario.country),
        scn,
        fitting,
        population,
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


def run_calibration(
    scn: Scenario, params, targets: Targets, out: Path, command: str, overwrite=False, **kw
) -> dict:
    """Calibrate, check the fit at the posterior median, and write everything to `out`.

    Args:
        scn: The scenario.
        params (list[Param]): The parameters to fit.
        targets: The observations to fit.
        out: The output directory.
        command: The command line, recorded in the outputs.
        overwrite (bool): Replace the tool's own earlier output.
        **kw (Any): Passed to `calibrate`.

    Returns:
        The estimates, the fit, the number of runs and the calibration, by name.
    """
    import json

    from .manifest import environment
    from .results import AtomicDir

    cal = calibrate(scn, params, targets, **kw)
    fitted = load_scenario(scn.source_file, cal.point())
    fit = model_intervals(fitted, targets, 20, kw.get("population"), cal.seed)
    estimates = cal.estimates()
    with AtomicDir(Path(out), overwrite, kind="calibration") as tmp:
        estimates.to_csv(tmp / "estimates.csv", index=False)
        cols = [p.key for p in params]
        particles = pd.DataFrame(cal.particles, columns=cols)
        particles["weight"], particles["distance"] = cal.weights, cal.distances
        particles.to_csv(tmp / "particles.csv", index=False)
        fit.to_csv(tmp / "fit.csv", index=False)
        path = tmp / f"{scn.name}_calibrated.toml"
        path.write_text(write_calibrated_scenario(cal, scn, path, command))
        cal.particle_table().to_csv(tmp / f"{scn.name}_calibrated.posterior.csv", index=False)
        manifest = {
            "kind": "calibration",
            "command": command,
            "scenario": scn.name,
            "method": "ABC-SMC (population Monte Carlo), one run per particle",
            "particles": kw.get("particles"),
            "rounds": len(cal.tolerances),
            "runs": cal.runs,
            "seed": cal.seed,
            "tolerances": cal.tolerances,
            "history": cal.history,
            **environment(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return {"estimates": estimates, "fit": fit, "runs": cal.runs, "calibration": cal}


def write_validation(
    fit: pd.DataFrame, scn: Scenario, out: Path, overwrite=False, extra=None
) -> None:
    """validation.csv (and its figure), plus `extra` tables ({name: table} as name.csv)."""
    from .figures import observations_figure
    from .results import AtomicDir

    with AtomicDir(Path(out), overwrite, kind="validation") as tmp:
        fit.to_csv(tmp / "validation.csv", index=False)
        for name, table in (extra or {}).items():
            table.to_csv(tmp / f"{name}.csv", index=False)
        runs = fit.attrs.get("runs")
        if runs is not None:
            observations_figure(
                runs,
                fit.assign(scenario=scn.name),
                {scn.name: scn.name},
                tmp,
                stem="validation",
            )
