"""Giving freed memory back to the system between the vector engine's stages.

numpy frees its arrays to the C allocator, which keeps much of what is freed for later use:
arrays below its (dynamic) mmap threshold come from heaps that it shrinks only from the
top, and the block pass's threads each leave an arena of their own behind. A run's stages
allocate and free arrays of very different sizes, so what one stage frees is not always
what the next one asks for, and resident memory creeps up past what the run holds. With
glibc, `malloc_trim(0)` returns the free pages of every arena to the system; elsewhere
(another C library, another system) `release_freed_memory` does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl has no malloc_trim)
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Give the memory freed so far back to the system, where the C library can.

    Call it when large arrays have just been let go and before large ones are made: the
    run's resident memory then follows what it holds. It takes about a millisecond per
    hundred megabytes of free memory, so it belongs between stages, not in inner loops.

    Returns:
        Whether memory was given back (False where the C library cannot, or had none).
    """
    trim = _trim()
    return bool(trim(0)) if trim is not None else False


# Initial people from which a run gives freed memory back between stages. Each call costs
# about a millisecond per hundred megabytes free, and the pages given back fault in again
# when the next stage allocates: for a real-scale run (half a million people) that was a
# fifth of its time, for nothing it needs (its peak is a few hundred megabytes).
RELEASE_FROM_PEOPLE = 1 << 22


class FreedMemory:
    """`release_freed_memory` for one run: called between stages, it gives memory back
    only if the run is large enough to gain from it (`RELEASE_FROM_PEOPLE`).

    Args:
        people: The run's initial people.
    """

    def __init__(self, people: int):
        self.on = people >= RELEASE_FROM_PEOPLE

    def __call__(self) -> bool:
        """Give freed memory back if this run does; whether memory was given back."""
        return release_freed_memory() if self.on else False
