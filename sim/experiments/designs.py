"""Design methods, one class per method: how many points, how to sample them, how to
analyse the outputs, which indices that gives. A new method is one class registered in
`METHODS_BY_NAME`; the spec, the sweep, the analysis and the console table ask it.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .spec import Parameter, SweepSpec


@dataclass
class Design:
    """Design points (parameter values per point) and the sampled matrix SALib analyses."""

    points: list[dict]
    X: np.ndarray | None = None
    seed: int = 0


def salib_problem(spec: SweepSpec) -> dict:
    """The SALib problem: discrete parameters are sampled on [0, 1] and binned."""
    return {
        "num_vars": len(spec.parameters),
        "names": [p.key for p in spec.parameters],
        "bounds": [[0.0, 1.0] if p.discrete else [p.low, p.high] for p in spec.parameters],
    }


def coordinate_value(p: Parameter, x: float) -> Any:
    """A design coordinate to a parameter value: a level for discrete parameters (x in
    [0, 1] picks one of k equal bins), the number itself (rounded if whole) otherwise."""
    if p.values is not None:
        k = len(p.values)
        return p.values[min(int(math.floor(x * k)), k - 1)]
    return int(round(x)) if p.integer else float(x)


def _from_matrix(spec: SweepSpec, X: np.ndarray, seed: int) -> Design:
    points = [
        {p.key: coordinate_value(p, float(x)) for p, x in zip(spec.parameters, row, strict=True)}
        for row in X
    ]
    return Design(points, np.asarray(X, dtype=np.float64), seed)


def _index_row(output: str, parameter: str, index: str, value: float, conf: float) -> dict:
    return {"output": output, "parameter": parameter, "index": index, "value": value, "conf": conf}


class Method:
    """A design method. `samples_rule` is None when the method takes no `samples`."""

    name: ClassVar[str]
    index_names: ClassVar[tuple[str, ...]]
    # console table: (index, shown with its 95% half-width)
    table_columns: ClassVar[tuple[tuple[str, bool], ...]]
    samples_rule: ClassVar[str | None] = None
    uses_levels: ClassVar[bool] = False  # parameters over a range need `levels`
    uses_morris_levels: ClassVar[bool] = False

    def samples_ok(self, n: int) -> bool:
        """Whether `n` samples are allowed by the method.

        Args:
            n: Number of samples asked for.

        Returns:
            True if the method accepts it.
        """
        return n >= 2

    def size(self, spec: SweepSpec) -> int:
        """Number of design points (runs = points x replicates).

        Args:
            spec: The sweep spec.

        Returns:
            Number of points.
        """
        raise NotImplementedError

    def sample(self, spec: SweepSpec, seed: int) -> Design:
        """The design points, in the order the analysis expects.

        Args:
            spec: The sweep spec.
            seed: Seed of the sampling.

        Returns:
            The design.
        """
        raise NotImplementedError

    def analyse(self, spec: SweepSpec, design: Design, pm: pd.DataFrame, output: str) -> list:
        """Index rows (output, parameter, index, value, conf) of one output from the
        point means `pm` (NaN values when the output is missing somewhere or constant).

        Args:
            spec: The sweep spec.
            design: The design.
            pm: Point means, one row per design point.
            output: The output column.

        Returns:
            The index rows.
        """
        raise NotImplementedError


class _RankCorrelation(Method):
    """Spearman rank correlation of each parameter with the output (Fisher-z 95%)."""

    index_names = ("spearman",)
    table_columns = (("spearman", True),)

    def analyse(self, spec, design, pm, output):
        """Rank (Spearman) correlation of each numeric parameter with the output."""
        from scipy import stats

        rows = []
        y = pm[output].to_numpy(dtype=np.float64)
        for p in spec.parameters:
            value = conf = float("nan")
            col = pm[p.key]
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
                x = col.to_numpy(dtype=np.float64)
                keep = ~np.isnan(y)
                n = int(keep.sum())
                if n >= 3 and np.ptp(x[keep]) > 0 and np.ptp(y[keep]) > 0:
                    value = float(stats.spearmanr(x[keep], y[keep]).statistic)
                    if n > 3 and abs(value) < 1:
                        z, half = math.atanh(value), 1.959964 / math.sqrt(n - 3)
                        conf = (math.tanh(z + half) - math.tanh(z - half)) / 2
            rows.append(_index_row(output, p.key, "spearman", value, conf))
        return rows


class Grid(_RankCorrelation):
    name = "grid"
    uses_levels = True

    def size(self, spec):
        """Number of points of the full factorial grid."""
        return len(self.sample(spec, 0).points)

    def sample(self, spec, seed):
        """The full factorial grid: every combination of each parameter's levels or values."""
        axes = []
        for p in spec.parameters:
            if p.discrete:
                axes.append(list(p.values))
            else:
                levels = np.linspace(p.low, p.high, p.levels)
                vals = [int(round(v)) if p.integer else float(v) for v in levels]
                axes.append(list(dict.fromkeys(vals)))
        keys = [p.key for p in spec.parameters]
        points = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes)]
        return Design(points, None, seed)


class LatinHypercube(_RankCorrelation):
    name = "lhs"
    samples_rule = "a whole number of points >= 2"

    def size(self, spec):
        """Number of points: the spec's samples."""
        return spec.samples

    def sample(self, spec, seed):
        """Latin hypercube sample of the parameters' ranges."""
        from scipy.stats import qmc

        params = spec.parameters
        try:
            sampler = qmc.LatinHypercube(d=len(params), rng=seed)
        except TypeError:  # scipy < 1.15
            sampler = qmc.LatinHypercube(d=len(params), seed=seed)
        U = sampler.random(n=spec.samples)
        X = np.column_stack(
            [
                U[:, j] if p.discrete else p.low + U[:, j] * (p.high - p.low)
                for j, p in enumerate(params)
            ]
        )
        return _from_matrix(spec, X, seed)


class _Salib(Method):
    """SALib indices with 95% confidence half-widths (`<index>_conf` where SALib has it)."""

    def salib(self, spec, design, Y):
        """Run the SALib analysis for the method (implemented by each SALib method)."""
        raise NotImplementedError

    def analyse(self, spec, design, pm, output):
        """Sensitivity indices of each parameter for the output, NaN if the output is unusable."""
        Y = pm[output].to_numpy(dtype=np.float64)
        usable = bool(len(Y)) and not np.isnan(Y).any() and np.ptp(Y) > 0
        res = None
        if usable:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                res = self.salib(spec, design, Y)
        rows = []
        for i, p in enumerate(spec.parameters):
            for name in self.index_names:
                value = conf = float("nan")
                if res is not None:
                    value = float(res[name][i])
                    if f"{name}_conf" in res:
                        conf = float(res[f"{name}_conf"][i])
                rows.append(_index_row(output, p.key, name, value, conf))
        return rows


class Sobol(_Salib):
    """Saltelli's design; first-order and total indices (no second order)."""

    name = "sobol"
    index_names = ("S1", "ST")
    table_columns = (("S1", True), ("ST", True))
    samples_rule = "N, a power of 2 >= 2 (runs: N x (parameters + 2) x replicates)"

    def samples_ok(self, n):
        """Sobol sampling needs a power of two samples (at least 2)."""
        return n >= 2 and n & (n - 1) == 0

    def size(self, spec):
        """Number of points: samples x (parameters + 2), without second-order indices."""
        return spec.samples * (len(spec.parameters) + 2)

    def sample(self, spec, seed):
        """Saltelli sample for first- and total-order Sobol indices."""
        from SALib.sample import sobol

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = sobol.sample(salib_problem(spec), spec.samples, calc_second_order=False, seed=seed)
        return _from_matrix(spec, X, seed)

    def salib(self, spec, design, Y):
        """First- and total-order Sobol indices with 95% confidence intervals."""
        from SALib.analyze import sobol

        return sobol.analyze(
            salib_problem(spec), Y, calc_second_order=False, conf_level=0.95, seed=design.seed
        )


class Morris(_Salib):
    """Elementary effects over N trajectories; mu_star (with its conf), sigma, mu."""

    name = "morris"
    index_names = ("mu_star", "sigma", "mu")
    table_columns = (("mu_star", True), ("sigma", False))
    samples_rule = "N trajectories, a whole number >= 2 (runs: N x (parameters + 1) x replicates)"
    uses_morris_levels = True

    def size(self, spec):
        """Number of points: samples (trajectories) x (parameters + 1)."""
        return spec.samples * (len(spec.parameters) + 1)

    def sample(self, spec, seed):
        """Morris trajectories through the parameters' ranges."""
        from SALib.sample import morris

        X = morris.sample(
            salib_problem(spec), spec.samples, num_levels=spec.morris_levels, seed=seed
        )
        return _from_matrix(spec, X, seed)

    def salib(self, spec, design, Y):
        """Morris elementary-effect indices with 95% confidence intervals."""
        from SALib.analyze import morris

        return morris.analyze(
            salib_problem(spec),
            design.X,
            Y,
            conf_level=0.95,
            num_levels=spec.morris_levels,
            seed=design.seed,
        )


METHODS_BY_NAME: dict[str, Method] = {
    m.name: m for m in (Grid(), LatinHypercube(), Sobol(), Morris())
}
METHODS = tuple(METHODS_BY_NAME)


def method_of(spec: SweepSpec) -> Method:
    """The sampling method a sweep spec names.

    Args:
        spec: The sweep spec.

    Returns:
        The method.
    """
    return METHODS_BY_NAME[spec.method]


def make_design(spec: SweepSpec, entropy: int) -> Design:
    """The design points of a sweep, in the order SALib's analysis expects.

    Args:
        spec: The sweep spec.
        entropy: The sweep's entropy (seeds the sampling).

    Returns:
        The design.
    """
    from .tasks import design_seed

    return method_of(spec).sample(spec, design_seed(entropy))


def design_size(spec: SweepSpec) -> int:
    """Number of design points (runs = points x replicates).

    Args:
        spec: The sweep spec.

    Returns:
        Number of points.
    """
    return method_of(spec).size(spec)
