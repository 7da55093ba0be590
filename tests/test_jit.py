"""Compiled kernels (`sim.jit`): compiled on first call, the plain function kept."""

from __future__ import annotations

import ctypes
import os
import signal

import numpy as np
import pytest

from sim.experiments.executors import terminate_as_interrupt
from sim.jit import helper, interrupt_behind, kernel

_KILL = ctypes.CDLL(None).kill  # kill(2), which compiled code can call
_KILL.argtypes, _KILL.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int


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


def signals_itself(pid, signum, out):
    """Send `signum` to process `pid` (this one) from compiled code, then fill `out`: the
    signal arrives while the kernel runs, as a Ctrl-C in a long kernel does. Its Python
    handler then runs in numba's code boxing the returned array, which numba does not check:
    called through numba alone, the call fails with a SystemError caused by the interrupt."""
    _KILL(pid, signum)
    for i in range(out.size):
        out[i] = i
    return out


# numba cannot cache a kernel that calls through ctypes, and says so
uncached = pytest.mark.filterwarnings("ignore:Cannot cache compiled function")


@uncached
def test_an_interrupt_inside_a_kernel_is_a_keyboard_interrupt():
    compiled = kernel(signals_itself)
    compiled(os.getpid(), 0, np.empty(3))  # compiled, and signal 0 sends nothing
    with terminate_as_interrupt() as received:
        with pytest.raises(KeyboardInterrupt) as info:
            compiled(os.getpid(), int(signal.SIGTERM), np.empty(1000))
    assert received == [signal.SIGTERM]
    # what numba raised: the SystemError the interrupt caused
    assert isinstance(info.value.__cause__, SystemError)
    assert interrupt_behind(info.value.__cause__) is not None


def test_interrupt_behind_finds_only_interrupts_that_caused_a_system_error():
    interrupt = KeyboardInterrupt()
    try:
        try:
            raise interrupt
        except KeyboardInterrupt as exc:
            raise SystemError("returned a result with an exception set") from exc
    except SystemError as exc:
        caused = exc
    assert interrupt_behind(caused) is interrupt
    outer = SystemError("again")
    outer.__context__ = caused
    assert interrupt_behind(outer) is interrupt
    assert interrupt_behind(SystemError("a bug")) is None
    assert interrupt_behind(RuntimeError("not a SystemError")) is None
    other = SystemError("caused by something else")
    other.__cause__ = ValueError()
    assert interrupt_behind(other) is None


@helper
def _square(x):
    return x * x


@helper(inline=True)
def _square_plus(x, y):
    return _square(x) + y  # a helper calling a helper


def _squares_plus(values, y, out):
    for i in range(values.size):
        out[i] = _square_plus(values[i], y)
    return out


def test_helpers_run_as_python_and_inside_kernels():
    assert _square(3.0) == 9.0 and _square_plus(3.0, 1.0) == 10.0  # plain Python
    values = np.random.default_rng(1).random(100)
    got = kernel(_squares_plus)(values, 0.5, np.empty(100))
    np.testing.assert_array_equal(got, values * values + 0.5)
    assert _square.__kernel_helper__ == "never" and _square_plus.__kernel_helper__ == "always"
