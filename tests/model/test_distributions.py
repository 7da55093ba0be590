"""Distributions (`sim.model.distributions`): the grid interpolation behind gamma draws."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from sim.model.distributions import _Z_GRID, interp_on_grid


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
