"""Compiled kernels (`sim.jit`): compiled on first call, the plain function kept."""

from __future__ import annotations

import numpy as np

from sim.jit import kernel


def _running_total(values, out):
    """out[i] = values[0] + ... + values[i]."""
    total = 0.0
    for i in range(values.size):
        total += values[i]
        out[i] = total
    return out


def test_a_kernel_computes_what_its_plain_function_does():
    compiled = kernel(_running_total)
    assert compiled.py_func is _running_total
    values = np.random.default_rng(0).random(1000)
    got = compiled(values, np.empty(1000))
    want = _running_total(values, np.empty(1000))
    np.testing.assert_array_equal(got, want)  # no fast-math: the same sums, bit for bit
    np.testing.assert_array_equal(got, np.cumsum(values))
    assert type(compiled(values, np.empty(1000))) is np.ndarray  # and again, compiled
