"""Compiled kernels: numba's `njit`, applied on first call with the settings all kernels share.

A kernel is a plain Python function over numpy arrays and scalars (readable, and callable
as such through `.py_func` for tests). numba is imported and the kernel compiled (or loaded
from numba's on-disk cache) only when it is first called, so commands that run no model
(`--help`, `scenarios`, loading a scenario) never import numba. Kernels are compiled without
fast-math, so their floating-point results are those of the same operations in numpy.

A helper (`helper`) is a scalar function that kernels call: compiled into each kernel that
names it, and a plain Python function otherwise. numba's on-disk cache of a kernel is
renewed when the kernel's own source file changes, not when a helper's does: after editing
a helper in another module, touch the modules of the kernels that call it (or delete their
`__pycache__/*.nbi` files). A fresh install compiles everything anew.

An interrupt (Ctrl-C, or SIGTERM under `terminate_as_interrupt`) that arrives while a kernel
runs is raised by its Python handler at the first Python code run after: often numba's own,
boxing the kernel's result, which numba does not check; the call then fails with a
`SystemError` ("returned a result with an exception set") caused by the KeyboardInterrupt.
A kernel call raises the KeyboardInterrupt instead (`interrupt_behind`).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any


def kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Compile `fn` with numba (no-Python mode, cached on disk, GIL released) on first call.

    Args:
        fn: A function numba can compile in no-Python mode.

    Returns:
        A function with the same signature; `.py_func` is the uncompiled original.
    """
    compiled: Callable[..., Any] | None = None

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        nonlocal compiled
        if compiled is None:
            import numba

            compiled = numba.njit(cache=True, nogil=True)(_with_helpers_compiled(fn))
        try:
            return compiled(*args)
        except SystemError as exc:
            if interrupt_behind(exc) is None:
                raise
            raise KeyboardInterrupt from exc

    call.py_func = fn  # type: ignore[attr-defined]
    return call


def helper(fn: Callable[..., Any] | None = None, *, inline: bool = False) -> Any:
    """Mark `fn` as a helper of kernels: compiled into the kernels (and helpers) that call
    it by name, callable from Python as it is (for tests and the odd scalar). Used as
    `@helper` or `@helper(inline=True)`.

    Args:
        fn: A function numba can compile in no-Python mode.
        inline: Inline its body into each caller (numba's `inline="always"`): for short
            helpers called per element, where a call costs more than the work (array
            arguments are reference-counted at each call). Each inlined copy is compiled
            anew, so long helpers stay calls.

    Returns:
        `fn` itself, marked (or, without `fn`, a decorator that marks it).
    """

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__kernel_helper__ = "always" if inline else "never"  # type: ignore[attr-defined]
        return fn

    return mark if fn is None else mark(fn)


# Each helper's compiled version (numba dispatchers), made once per process.
_compiled_helpers: dict[Callable[..., Any], Any] = {}


def _with_helpers_compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` as numba is to compile it: the helpers it names swapped, in a copy of its
    globals, for their compiled versions (themselves with their helpers compiled)."""
    swaps = {}
    for name in fn.__code__.co_names:
        value: Any = fn.__globals__.get(name)
        inline = getattr(value, "__kernel_helper__", None)
        if inline is None:
            continue
        if value not in _compiled_helpers:
            import numba

            compiled = numba.njit(nogil=True, inline=inline)(_with_helpers_compiled(value))
            _compiled_helpers[value] = compiled
        swaps[name] = _compiled_helpers[value]
    if not swaps:
        return fn
    out = types.FunctionType(
        fn.__code__, {**fn.__globals__, **swaps}, fn.__name__, fn.__defaults__, fn.__closure__
    )
    out.__qualname__, out.__module__, out.__doc__ = fn.__qualname__, fn.__module__, fn.__doc__
    return out


def interrupt_behind(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt a `SystemError` stands for, if it does: an interrupt raised by
    a signal handler inside a C call (a compiled kernel) that went on as if nothing had
    happened, which Python then reports as a SystemError whose cause is the interrupt.

    Args:
        exc: An exception.

    Returns:
        The interrupt behind `exc` (a SystemError, maybe chained), or None.
    """
    seen: set[int] = set()
    while isinstance(exc, SystemError) and id(exc) not in seen:
        seen.add(id(exc))
        behind = exc.__cause__ or exc.__context__
        if isinstance(behind, KeyboardInterrupt):
            return behind
        if behind is None:
            return None
        exc = behind
    return None


@kernel
def _nothing(values):
    """A kernel that does nothing: calling it loads numba and its compiler's target."""
    return values.size


def warm() -> None:
    """Load numba and its compiler's target in this process (about half a second, paid once
    per process), so that worker processes forked from it start with both loaded."""
    import numpy as np

    _nothing(np.zeros(1))
