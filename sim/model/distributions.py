"""Parametric and empirical distributions for durations and attributes.

Each distribution maps uniforms to values by its inverse CDF, so draws come from the
common-random-number streams in `sim.random` and stay paired across scenarios.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.jit import kernel

NonNeg = Annotated[float, Field(ge=0)]
Pos = Annotated[float, Field(gt=0)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def sample(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Draw values by inverse transform of uniform numbers.

        Args:
            u: Uniform numbers in [0, 1).

        Returns:
            One value per element of `u`.
        """
        raise NotImplementedError

    def sample_length_biased(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Draw values weighted also by their size: the duration of a stay in progress on a
        given day (long stays are more likely to be found under way)."""
        raise NotImplementedError

    def residual(self, u_length: np.ndarray, u_elapsed: np.ndarray) -> np.ndarray:
        """Time left of a stay found under way on a given day in steady state: a
        length-biased duration of which a uniform share has already passed.

        Args:
            u_length: Uniforms for the length-biased duration.
            u_elapsed: Uniforms for the share already passed.

        Returns:
            One value per element of the uniforms.
        """
        return self.sample_length_biased(u_length) * (1.0 - np.asarray(u_elapsed))

    def days(self, u: np.ndarray, minimum: int = 0) -> np.ndarray:
        """Sample and round to whole days, at least `minimum`."""
        return np.maximum(np.rint(self.sample(u)), minimum).astype(np.int32)

    @property
    def mean_value(self) -> float:  # pragma: no cover - abstract
        """Mean of the distribution."""
        raise NotImplementedError


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: NonNeg

    def sample(self, u):
        """The fixed value, once per element of `u`."""
        return np.full(np.shape(u), self.value, dtype=np.float64)

    def sample_length_biased(self, u):
        """The fixed value (weighting by size changes nothing)."""
        return self.sample(u)

    @property
    def mean_value(self):
        """The fixed value."""
        return self.value


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean: Pos

    def sample(self, u):
        """Exponential draws by inverse transform."""
        return -self.mean * np.log1p(-np.asarray(u))

    def sample_length_biased(self, u):
        """Length-biased exponential: a gamma with shape 2 and the same scale."""
        return Gamma(dist="gamma", mean=2 * self.mean, sd=math.sqrt(2) * self.mean).sample(u)

    @property
    def mean_value(self):
        """The mean."""
        return self.mean


# Gamma quantiles are tabulated on a grid of normal scores and interpolated: exact
# inversion (gammaincinv) costs about a microsecond a draw, the table 20 ns, and the
# interpolation error (< 1e-4 relative) is far below a day for any duration in use.
_Z_GRID = np.linspace(-8.3, 8.3, 8193)


@functools.lru_cache(maxsize=256)
def _gamma_table(mean: float, sd: float) -> np.ndarray:
    from scipy import special  # imported on first draw: loading scenarios needs no scipy

    shape = (mean / sd) ** 2
    return special.gammaincinv(shape, special.ndtr(_Z_GRID)) * (sd**2 / mean)


def interp_on_grid(x: np.ndarray, grid: np.ndarray, table: np.ndarray) -> np.ndarray:
    """`np.interp(x, grid, table)` to the last bit, for an evenly spaced increasing `grid`:
    each x's interval is computed from its position rather than searched for (numpy's
    binary search over 8,193 points costs about three times as much), then corrected by
    comparison with the grid, and numpy's formula and special cases are applied.

    Args:
        x: Points to interpolate at.
        grid: Evenly spaced, increasing abscissae (at least two).
        table: Values at the grid points.

    Returns:
        The interpolated values, float64.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape, dtype=np.float64)
    _interp_into(x.ravel(), grid, table, out.reshape(-1))
    return out


@kernel
def _interp_into(x, grid, table, out):
    """`interp_on_grid` into `out`, one point at a time."""
    n = grid.size
    scale = (n - 1) / (grid[n - 1] - grid[0])
    for i in range(x.size):
        xi = x[i]
        if xi != xi:  # NaN
            out[i] = xi
            continue
        if xi < grid[0]:
            out[i] = table[0]
            continue
        if xi >= grid[n - 1]:
            out[i] = table[n - 1]
            continue
        j = min(max(int((xi - grid[0]) * scale), 0), n - 2)
        while j > 0 and grid[j] > xi:
            j -= 1
        while j < n - 2 and grid[j + 1] <= xi:
            j += 1  # now grid[j] <= xi < grid[j + 1]
        left = grid[j]
        if xi == left:
            out[i] = table[j]
            continue
        slope = (table[j + 1] - table[j]) / (grid[j + 1] - left)
        value = slope * (xi - left) + table[j]
        if value != value:  # numpy: from the right end of the interval, then the flat value
            value = slope * (xi - grid[j + 1]) + table[j + 1]
            if value != value and table[j] == table[j + 1]:
                value = table[j]
        out[i] = value


class Gamma(_Dist):
    dist: Literal["gamma"]
    mean: Pos
    sd: Pos

    def sample(self, u):
        """Gamma draws: the normal quantile of `u` mapped through a tabulated gamma quantile."""
        from scipy import special

        return interp_on_grid(
            special.ndtri(np.asarray(u)), _Z_GRID, _gamma_table(self.mean, self.sd)
        )

    def sample_length_biased(self, u):
        """Length-biased gamma: shape one larger, same scale."""
        shape, scale = (self.mean / self.sd) ** 2, self.sd**2 / self.mean
        lb = Gamma(dist="gamma", mean=(shape + 1) * scale, sd=math.sqrt(shape + 1) * scale)
        return lb.sample(u)

    @property
    def mean_value(self):
        """The mean."""
        return self.mean


class Lognormal(_Dist):
    dist: Literal["lognormal"]
    mean: Pos
    sd: Pos

    def sample(self, u):
        """Lognormal draws with the given mean and standard deviation."""
        from scipy import special

        sigma2 = np.log1p((self.sd / self.mean) ** 2)
        mu = np.log(self.mean) - sigma2 / 2
        return np.exp(mu + np.sqrt(sigma2) * special.ndtri(np.asarray(u)))

    def sample_length_biased(self, u):
        """Length-biased lognormal: the same sigma, the log-mean shifted by sigma squared."""
        factor = 1.0 + (self.sd / self.mean) ** 2  # exp(sigma^2)
        return Lognormal(dist="lognormal", mean=self.mean * factor, sd=self.sd * factor).sample(u)

    @property
    def mean_value(self):
        """The mean."""
        return self.mean


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: NonNeg
    high: NonNeg

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self

    def sample(self, u):
        """Uniform draws on [low, high]."""
        return self.low + np.asarray(u) * (self.high - self.low)

    def sample_length_biased(self, u):
        """Density proportional to the value on [low, high], by inverse transform."""
        lo2, hi2 = self.low**2, self.high**2
        return np.sqrt(lo2 + np.asarray(u) * (hi2 - lo2))

    @property
    def mean_value(self):
        """Midpoint of the range."""
        return (self.low + self.high) / 2


class Empirical(_Dist):
    """A table of values with weights (weights need not sum to one)."""

    dist: Literal["empirical"]
    values: list[NonNeg] = Field(min_length=1)
    weights: list[NonNeg] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self):
        if len(self.values) != len(self.weights):
            raise ValueError(
                f"values and weights differ in length ({len(self.values)} vs {len(self.weights)})"
            )
        if sum(self.weights) <= 0:
            raise ValueError("weights must not all be zero")
        return self

    def sample(self, u, length_biased: bool = False):
        """Draw listed values with their weights by inverse transform.

        Args:
            u: Uniform numbers in [0, 1).
            length_biased: Weight each value also by its size (as when sampling people in
            custody, who are more likely found in long stays).

        Returns:
            One value per element of `u`.
        """
        values = np.asarray(self.values, dtype=np.float64)
        weights = np.asarray(self.weights, dtype=np.float64)
        if length_biased:
            weights = weights * values
        return values[_category(np.asarray(u, dtype=np.float64), np.cumsum(weights), np.intp)]

    def sample_length_biased(self, u):
        """Listed values weighted by weight times value."""
        return self.sample(u, length_biased=True)

    @property
    def mean_value(self):
        """Weighted mean of the values."""
        w = np.asarray(self.weights)
        return float(np.dot(self.values, w) / w.sum())


class Prior(BaseModel):
    """A range for one parameter: uniform, or uniform on the log scale (`loguniform`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dist: Literal["uniform", "loguniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self):
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.high <= self.low:
            raise ValueError(f"high: must be greater than low ({self.low}), got {self.high}")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError(f"low: a loguniform prior needs low > 0, got {self.low}")
        return self

    def contains(self, value: float) -> bool:
        """Whether a value lies within the prior's range.

        Args:
            value: The value to check.

        Returns:
            True if low <= value <= high.
        """
        return self.low <= value <= self.high

    def quantile(self, u: np.ndarray | float) -> np.ndarray:
        """Inverse CDF: uniforms to values."""
        u = np.asarray(u, dtype=np.float64)
        if self.dist == "loguniform":
            return np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        return self.low + u * (self.high - self.low)

    def describe(self) -> str:
        """Short description of the prior, e.g. 'uniform [0.1, 0.5]'.

        Returns:
            The description.
        """
        return f"{self.dist} [{self.low:g}, {self.high:g}]"


Distribution = Annotated[
    Fixed | Exponential | Gamma | Lognormal | Uniform | Empirical,
    Field(discriminator="dist"),
]
DIST_KINDS = ("fixed", "exponential", "gamma", "lognormal", "uniform", "empirical")


def categorical(u: np.ndarray, shares: Mapping[Any, float], names: tuple[str, ...]) -> np.ndarray:
    """Map uniforms to category codes (positions in `names`) with the given shares."""
    weights = np.array([shares.get(n, 0.0) for n in names], dtype=np.float64)
    return _category(np.asarray(u, dtype=np.float64), np.cumsum(weights), np.uint8)


def _category(u: np.ndarray, cum: np.ndarray, dtype) -> np.ndarray:
    """Position of each `u * total` among cumulative weights `cum` (numpy's
    `searchsorted(cum, u * cum[-1], side="right")`, capped at the last category)."""
    out = np.empty(u.shape, dtype=dtype)
    _category_into(u.ravel(), cum, out.reshape(-1))
    return out


@kernel
def _category_into(u, cum, out):
    """`_category` into `out`: the number of cumulative weights (all but the last) at most
    each draw's target, counted without branches over the few categories."""
    last = cum.size - 1
    total = cum[last]
    for i in range(u.size):
        target = u[i] * total
        if target != target:  # NaN sorts after every weight
            out[i] = last
            continue
        k = 0
        for j in range(last):
            k += cum[j] <= target
        out[i] = k
