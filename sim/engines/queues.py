"""Capacity-limited stages as first-in-first-out queues over whole days.

Used for court hearings (a number per day) and training places (a number held at once).
People are served in order of arrival day, then agent id. Someone who leaves custody
before being served (sentence ends) drops out without using capacity.
"""

from __future__ import annotations

import numpy as np

from ..jit import kernel
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
    if places and hold_days is None:
        raise ValueError("places are held for `hold_days`: give one per arrival")
    order = np.lexsort((ids, arrive))
    hold = np.zeros(0, np.int64) if hold_days is None else np.asarray(hold_days, dtype=np.int64)
    leave = np.asarray(leave, dtype=np.int64)
    _serve_in_order(arrive, leave, order, hold, int(n_days), int(per_day), int(places), served)
    return served


@kernel
def _serve_in_order(arrive, leave, order, hold, n_days, per_day, places, served):
    """`fifo_serve` day by day over the queue in `order`: each day, the next in line who are
    still in custody are served, up to the day's capacity and the free places; those who
    left before their turn are passed over (they use no capacity)."""
    n = order.size
    first = min(arrive[order[0]], 0)
    freed = np.zeros(n_days - first + 1, dtype=np.int64)  # places freed on day - first
    occupied, ptr, day = 0, 0, arrive[order[0]]
    while ptr < n and day < n_days:
        if places:
            occupied -= freed[day - first]
        if arrive[order[ptr]] > day:  # nobody waiting
            day += 1
            continue
        cap = per_day if per_day else n
        if places:
            cap = min(cap, places - occupied)
        if cap > 0:
            taken, j = 0, ptr
            while j < n and taken < cap and arrive[order[j]] <= day:
                who = order[j]
                if leave[who] > day:
                    served[who] = day
                    taken += 1
                    if places:
                        freed[min(day + hold[who], n_days) - first] += 1
                j += 1
            occupied += taken
            ptr = j  # those passed over have left by now: dropped from the queue
        day += 1
