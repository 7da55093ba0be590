"""ABC-SMC (population Monte Carlo: Beaumont et al. 2009; Toni et al. 2009).

Each particle is a set of parameter values; the model is run once per particle with its
own seed (the stochastic model is its own likelihood); each round keeps the particles
closest to the observations, and the tolerance shrinks from round to round. The kept
particles approximate the posterior: we report its median and 90% interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import qmc

from ..scenario import Scenario, ScenarioError, apply_overrides
from .params import Param
from .targets import Targets

# A posterior 90% interval wider than this share of the prior's: the data leave it uninformed.
NOT_INFORMED_WIDTH = 0.8


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


def overrides_of(params, row) -> dict[str, float | int]:
    """One particle's values as scenario overrides, by key."""
    return {p.key: (int(v) if p.integer else float(v)) for p, v in zip(params, row, strict=True)}


def run_distances(
    scn: Scenario, overrides: list[dict], seeds, targets: Targets, population, days
) -> np.ndarray:
    """Distance of each particle's run (given as overrides; one run each, its own seed)."""
    import sim

    from ..scenario import validate_raw

    raw = {k: v for k, v in scn.to_dict().items() if k != "source_file"}
    horizon = int(targets.table["day"].max()) + 1 if days is None else days
    out = np.empty(len(overrides))
    for i, (values, seed) in enumerate(zip(overrides, seeds, strict=True)):
        variant = validate_raw(apply_overrides(raw, values, scn.source_file), scn.source_file)
        run = sim.run(variant, seed=int(seed), population=population, days=horizon)
        out[i] = targets.distance(targets.simulated(run))
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
            rows = [overrides_of(params, row) for row in values]
            return run_distances(scn, rows, seeds, targets, population, days)

    if len(targets.table) == 0:
        raise ScenarioError(scn.source_file, None, "no observations fall within the horizon")
    return abc_smc(scn.name, params, simulate, particles, rounds, quantile, seed, progress)


def abc_smc(
    name: str, params: list[Param], simulate, particles, rounds, quantile, seed, progress
) -> Calibration:
    """The ABC-SMC loop of `calibrate` (and `joint.calibrate_joint`), given `simulate`."""
    k = len(params)
    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss.spawn(1)[0])

    def seeds(round_no: int, n: int) -> np.ndarray:
        """Seeds for one round of simulations, reproducible from the fit's seed and the round."""
        return np.random.SeedSequence([seed, round_no]).generate_state(n)

    # Every round keeps the same number of particles (the closest `keep_n` of its
    # proposals), so the posterior has a stable size; the round's tolerance is the largest
    # kept distance.
    keep_n = min(particles, max(k + 2, int(round(quantile * particles))))
    unit = qmc.LatinHypercube(d=k, seed=rng).random(particles)
    values = np.column_stack([p.from_unit(unit[:, j]) for j, p in enumerate(params)])
    dist = simulate(0, params, values, seeds(0, particles))
    runs = particles
    keep = np.argsort(dist, kind="stable")[:keep_n]
    pts, w, d = unit[keep], np.full(keep_n, 1.0 / keep_n), dist[keep]
    eps = float(d.max())
    tolerances = [eps]
    history = [{"round": 0, "tolerance": eps, "accepted": keep_n, "effective_size": keep_n}]
    if progress:
        progress(f"round 0: tolerance {eps:.3f}, {keep_n} of {particles} kept")
    for t in range(1, rounds):
        cov = 2.0 * np.atleast_2d(np.cov(pts.T, aweights=w)) + 1e-9 * np.eye(k)
        proposals = propose(rng, pts, w, cov, particles)
        values = np.column_stack([p.from_unit(proposals[:, j]) for j, p in enumerate(params)])
        dist = simulate(t, params, values, seeds(t, particles))
        runs += particles
        order = np.argsort(dist, kind="stable")[:keep_n]
        new_pts, d = proposals[order], dist[order]
        w = _importance_weights(new_pts, pts, w, cov)
        pts, eps = new_pts, float(d.max())
        tolerances.append(eps)
        ess = effective_size(w)
        history.append({"round": t, "tolerance": eps, "accepted": len(pts), "effective_size": ess})
        if progress:
            progress(
                f"round {t}: tolerance {eps:.3f}, {len(pts)} of {particles} kept "
                f"(effective size {ess:.1f})"
            )
    values = np.column_stack([p.from_unit(pts[:, j]) for j, p in enumerate(params)])
    return Calibration(name, params, values, w, d, tolerances, runs, seed, history)


def propose(rng, pts: np.ndarray, w: np.ndarray, cov: np.ndarray, n: int) -> np.ndarray:
    """`n` proposals in the unit box from the Gaussian kernel mixture around the weighted
    particles `pts`; a proposal outside the box is redrawn with a new parent (see
    `_importance_weights`)."""
    k = pts.shape[1]
    chol = np.linalg.cholesky(cov)
    proposals = np.empty((n, k))
    filled = 0
    while filled < n:
        pick = rng.choice(len(pts), size=n, p=w)
        cand = pts[pick] + rng.standard_normal((n, k)) @ chol.T
        ok = np.all((cand >= 0) & (cand <= 1), axis=1)
        take = cand[ok][: n - filled]
        proposals[filled : filled + len(take)] = take
        filled += len(take)
    return proposals


def _importance_weights(new_pts, old_pts, old_w, cov) -> np.ndarray:
    """ABC-SMC weights of new particles: prior (uniform on the unit box) over the mixture of
    Gaussian kernels they were proposed from, truncated (`truncate`). Returns normalised
    weights.

    Proposals outside the box are redrawn together with their parent particle, so the
    accepted proposals follow the kernel mixture cut by the box and renormalised by one
    global constant, which cancels when the weights are normalised: no per-kernel
    truncation mass enters (it would if only the noise were redrawn for a fixed parent).
    The mixture density is summed on the log scale (in many dimensions a kernel's value
    underflows).
    """
    from scipy.special import logsumexp

    inv = np.linalg.inv(cov)
    diff = new_pts[:, None, :] - old_pts[None, :, :]
    log_kern = -0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff)
    with np.errstate(divide="ignore"):
        log_density = logsumexp(log_kern + np.log(old_w)[None, :], axis=1)
    log_w = -log_density
    return truncate(np.exp(log_w - log_w.max()))


def truncate(weights: np.ndarray) -> np.ndarray:
    """Normalised importance weights, each capped at sqrt(n) times their mean (truncated
    importance sampling, Ionides 2008): in many dimensions a few proposals far from the
    other particles get almost all the weight, and the posterior would collapse onto them
    (one particle of 60 held 99% in a first 18-key joint refit). Capping bounds the
    variance at a small bias; `effective_size` reports what is left."""
    w = weights / weights.sum()
    n = len(w)
    cap = np.sqrt(n) / n
    order = np.argsort(w)[::-1]
    for k in range(n):  # cap the k heaviest at `cap`, scale the rest to sum to 1 - k cap
        rest = w[order[k:]]
        scale = (1 - k * cap) / rest.sum()
        if rest[0] * scale <= cap:
            out = np.empty(n)
            out[order[:k]] = cap
            out[order[k:]] = rest * scale
            return out
    return np.full(n, 1.0 / n)


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of normalised weights, 1 / sum(w^2)."""
    return float(1.0 / np.sum(np.square(weights)))
