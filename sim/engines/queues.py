"""Capacity-limited stages as first-in-first-out queues over whole days.

Used for court hearings (a number per day) and training places (a number held at once).
People are served in order of arrival day, then agent id. Someone who leaves custody
before being served (sentence ends) drops out without using capacity.
"""

from __future__ import annotations

import numpy as np

from ..model.taxonomy import NEVER


def fifo_serve(
    arrive: np.ndarray,
    leave: np.ndarray,
    ids: np.ndarray,
    n_days: int,
    per_day: int = 0,
    places: int = 0,
    hold_days: np.ndarray | None = None,
) -> np.ndarray:
    """Day each arrival is served (NEVER if not within the horizon or if it left first).

    per_day: at most this many served per day (0 = no daily limit).
    places: at most this many held at once, each for `hold_days` from service (0 = no limit).
    """
    arrive = np.asarray(arrive, dtype=np.int64)
    served = np.full(len(arrive), NEVER, dtype=np.int32)
    if len(arrive) == 0:
        return served
    if per_day == 0 and places == 0:
        ok = (leave > arrive) & (arrive < n_days)
        served[ok] = arrive[ok]
        return served
    order = np.lexsort((ids, arrive))
    arr = arrive[order]
    lv = np.asarray(leave)[order]
    hold = None if hold_days is None else np.asarray(hold_days, dtype=np.int64)[order]
    freed = np.zeros(n_days + 1, dtype=np.int64)
    occupied = 0
    ptr, n = 0, len(arr)
    day = int(arr[0])
    while ptr < n and day < n_days:
        if places:
            occupied -= int(freed[day])
        cap = per_day if per_day else n
        if places:
            cap = min(cap, places - occupied)
        end = int(np.searchsorted(arr, day, side="right"))
        if end == ptr:  # nobody waiting: jump to the next arrival
            nxt = int(arr[ptr])
            if places:
                occupied -= int(freed[day + 1 : min(nxt, n_days)].sum())
            day = nxt
            continue
        if cap > 0:
            window = np.arange(ptr, end)
            alive = window[lv[window] > day]
            take = alive[:cap]
            served[order[take]] = day
            if places and len(take):
                assert hold is not None, "places are held for `hold_days`"
                ends = np.minimum(day + hold[take], n_days)
                freed += np.bincount(ends, minlength=n_days + 1)
                occupied += len(take)
            ptr = end if len(take) == len(alive) else int(take[-1]) + 1
        day += 1
    return served
