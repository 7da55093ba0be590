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
    # Queue positions [ptr, waiting_end[day - first]) have arrived by `day`: one search for
    # all days instead of one per day.
    first = min(int(arr[0]), 0)
    waiting_end = np.searchsorted(arr, np.arange(first, n_days), side="right").tolist()
    freed = np.zeros(n_days + 1, dtype=np.int64)  # places freed on each day
    occupied = 0
    ptr, n = 0, len(arr)
    day = int(arr[0])
    while ptr < n and day < n_days:
        if places:
            occupied -= int(freed[day])
        cap = per_day if per_day else n
        if places:
            cap = min(cap, places - occupied)
        end = waiting_end[day - first]
        if end == ptr:  # nobody waiting: jump to the next arrival
            nxt = int(arr[ptr])
            if places:
                occupied -= int(freed[day + 1 : min(nxt, n_days)].sum())
            day = nxt
            continue
        if not places and end - ptr > per_day:  # a backlog: serve whole days at once
            served_days = _serve_backlog(arr, lv, order, served, ptr, day, per_day, n_days)
            if served_days:
                ptr += served_days * per_day
                day += served_days
                continue
        if cap > 0:
            # The first `cap` still in custody, looked for at the head of the queue first
            # (a backlog can be long; a day serves few).
            head = min(end, ptr + 2 * cap + 64)
            alive = np.flatnonzero(lv[ptr:head] > day)
            if len(alive) < cap and head < end:
                alive = np.flatnonzero(lv[ptr:end] > day)
            take = alive[:cap]
            if len(take):
                served[order[ptr + take]] = day
                if places:
                    assert hold is not None, "places are held for `hold_days`"
                    np.add.at(freed, np.minimum(day + hold[ptr + take], n_days), 1)
                    occupied += len(take)
            # Those who left before being served drop out (those left behind the last one
            # served are dropped on a later day: they have left by then too).
            ptr = end if len(take) < cap else ptr + int(take[-1]) + 1
        day += 1
    return served


BACKLOG_LOOKAHEAD_DAYS = 32


def _serve_backlog(arr, lv, order, served, ptr, day, per_day, n_days) -> int:
    """Serve the queue from position `ptr` on day `day` and the days after, `per_day` a day,
    for as long as the day's `per_day` next in line have all arrived and are all still in
    custody: exactly what the day-by-day loop would do, in one step. Returns the days served
    (0 when the first day already needs the day-by-day rule)."""
    span = min(len(arr) - ptr, per_day * min(BACKLOG_LOOKAHEAD_DAYS, n_days - day))
    serve_day = day + np.arange(span) // per_day
    ok = (arr[ptr : ptr + span] <= serve_day) & (lv[ptr : ptr + span] > serve_day)
    whole = span if ok.all() else int(np.argmin(ok))
    days = whole // per_day
    if days:
        count = days * per_day
        served[order[ptr : ptr + count]] = serve_day[:count]
    return days
