"""Distributions (`sim.model.distributions`): the grid interpolation behind gamma draws,
and the category search behind categorical and empirical draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from sim.model.distributions import _Z_GRID, Empirical, categorical, interp_on_grid


@pytest.mark.parametrize("shape", [0.3, 1.0, 2.3, 9.0, 40.0])
def test_grid_interpolation_is_numpys_to_the_last_bit(shape):
    """Random normal scores, every grid point and its neighbours one ulp away, beyond the
    grid, infinities and NaN: the same values as `np.interp`, bit for bit (the tables have
    infinite ends, which exercise numpy's special cases)."""
    table = special.gammaincinv(shape, special.ndtr(_Z_GRID)) * 3.0
    assert np.isinf(table).any()
    rng = np.random.default_rng(int(shape * 10))
    x = np.concatenate(
        [
            special.ndtri(rng.random(200_000)),
            _Z_GRID,
            np.nextafter(_Z_GRID, np.inf),
            np.nextafter(_Z_GRID, -np.inf),
            [-9.0, 9.0, -np.inf, np.inf, np.nan],
        ]
    )
    want = np.interp(x, _Z_GRID, table)
    got = interp_on_grid(x, _Z_GRID, table)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)  # NaN where numpy gives NaN
    # The test of the test: one ulp off somewhere is caught.
    nudged = got.copy()
    nudged[5] = np.nextafter(nudged[5], np.inf)
    assert not np.array_equal(nudged, want)


@pytest.mark.parametrize("seed", range(4))
def test_categories_are_numpys_search_to_the_last_draw(seed):
    """The compiled category search gives `searchsorted(cum, u * total, side="right")`,
    capped at the last category, for weights with zeros (repeated cumulative values, at the
    start, inside and at the end) and uniforms at 0, on every cumulative boundary and just
    either side of it."""
    rng = np.random.default_rng(seed)
    weights = rng.random(9) * (rng.random(9) < 0.6)
    weights[[0, -1]] = 0.0 if seed % 2 else weights[[0, -1]]
    weights[3] = 1.0  # never all zero
    cum = np.cumsum(weights)
    edges = cum / cum[-1]
    u = np.concatenate(
        [rng.random(50_000), [0.0], edges, np.nextafter(edges, 0), np.nextafter(edges, 1)]
    )
    u = u[u < 1.0]
    want = np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1)
    names = tuple(str(k) for k in range(len(weights)))
    got = categorical(u, dict(zip(names, weights, strict=True)), names)
    np.testing.assert_array_equal(got, want)
    assert len(np.unique(got)) == np.count_nonzero(weights)  # every category drawn
    values = np.arange(len(weights), dtype=np.float64) * 10
    empirical = Empirical(dist="empirical", values=list(values), weights=list(weights))
    np.testing.assert_array_equal(empirical.sample(u), values[want])
