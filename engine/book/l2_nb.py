"""Numba kernels of the L2 (price-level) book.

State (three arrays, see :mod:`engine.book.codes`):

* ``px``: int64[2, cap] level keys per side, ascending, best level at index ``n - 1``.
  The key of a bid level is its integer tick, of an ask level minus its tick, so "better"
  is "larger" on both sides and one code path serves both.
* ``qty``: float64[2, cap] level sizes (absolute values set by the feed: no drift).
* ``meta``: int64[META_SIZE] level counts, validity flag, counters.

Best bid/ask are O(1) (the last slot). A level update binary-searches its key (with an O(1)
fast path at the top of the book, where most updates land) and inserting/deleting a level
shifts only the levels *better* than it, usually a handful. Depth k is the last k slots.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from data.schema import DEPTH_CLEAR, DEPTH_LAST, DEPTH_SNAPSHOT
from engine.book.codes import (
    CROSSED,
    FULL_LEVELS,
    M_COUNT0,
    M_EVENTS,
    M_LAST_TS,
    M_VALID,
    META_SIZE,
    MISSING_LEVEL,
    NO_TICK,
    OK,
)


def l2_alloc(cap: int = 1024):
    """Fresh empty L2 state ``(px, qty, meta)`` with room for ``cap`` levels per side."""
    px = np.zeros((2, cap), dtype=np.int64)
    qty = np.zeros((2, cap), dtype=np.float64)
    meta = np.zeros(META_SIZE, dtype=np.int64)
    meta[M_VALID] = 1
    return px, qty, meta


@njit(cache=True, inline="always")
def lower_bound_nb(keys, n, key):
    """First index in [0, n) whose key is >= ``key`` (n if none); O(1) at the top."""
    if n == 0 or key > keys[n - 1]:
        return n
    if key == keys[n - 1]:
        return n - 1
    lo = 0
    hi = n - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def l2_set_nb(px, qty, meta, s, tick, q):
    """Set the size of level ``tick`` on side ``s`` (0 bid, 1 ask); ``q <= 0`` deletes it."""
    n = meta[s]
    key = tick if s == 0 else -tick
    keys = px[s]
    qs = qty[s]
    i = lower_bound_nb(keys, n, key)
    if i < n and keys[i] == key:
        if q > 0.0:
            qs[i] = q
        else:
            keys[i : n - 1] = keys[i + 1 : n]
            qs[i : n - 1] = qs[i + 1 : n]
            meta[s] = n - 1
        return OK
    if not q > 0.0:
        return MISSING_LEVEL
    if n == keys.shape[0]:
        return FULL_LEVELS
    keys[i + 1 : n + 1] = keys[i:n]
    qs[i + 1 : n + 1] = qs[i:n]
    keys[i] = key
    qs[i] = q
    meta[s] = n + 1
    return OK


@njit(cache=True)
def l2_apply_nb(px, qty, meta, ts, side, tick, q, flags):
    """Apply one canonical DEPTH row (side BUY=1 / SELL=-1 / 0, tick, size, flags).

    ``DEPTH_CLEAR`` empties the row's side (side 0: both sides) first; a both-sides clear
    without ``DEPTH_SNAPSHOT`` is a *reset*: the book is marked invalid until a snapshot row
    arrives. Returns a status code; non-OK codes are also counted in ``meta``.
    """
    st = OK
    if flags & DEPTH_CLEAR:
        if side >= 0:
            meta[0] = 0  # bid levels (BUY row, or both sides)
        if side <= 0:
            meta[1] = 0  # ask levels (SELL row, or both sides)
        if side == 0 and not (flags & DEPTH_SNAPSHOT):
            meta[M_VALID] = 0
    if flags & DEPTH_SNAPSHOT:
        meta[M_VALID] = 1
    if side != 0 and not ((flags & DEPTH_CLEAR) and not q > 0.0):
        st = l2_set_nb(px, qty, meta, 0 if side > 0 else 1, tick, q)
    if (flags & DEPTH_LAST) and meta[0] > 0 and meta[1] > 0:
        if px[0, meta[0] - 1] >= -px[1, meta[1] - 1]:
            meta[M_COUNT0 + CROSSED] += 1
    meta[M_EVENTS] += 1
    meta[M_LAST_TS] = ts
    if st != OK:
        meta[M_COUNT0 + st] += 1
    return st


@njit(cache=True)
def l2_replay_nb(px, qty, meta, ts, side, tick, q, flags, start, stop, rec_tick, rec_qty):
    """Apply rows ``start..stop-1``; returns (status, next index).

    Stops early with a fatal status (level arrays full) at the row it could not apply. When
    ``rec_tick`` (int64[m, 2]) / ``rec_qty`` (float64[m, 2]) have m > 0 rows, the best bid
    and ask (tick, size) after row i are written to row ``i - start``.
    """
    record = rec_tick.shape[0] > 0
    for i in range(start, stop):
        st = l2_apply_nb(px, qty, meta, ts[i], side[i], tick[i], q[i], flags[i])
        if st == FULL_LEVELS:
            meta[M_EVENTS] -= 1
            meta[M_COUNT0 + st] -= 1
            return st, i
        if record:
            j = i - start
            nb = meta[0]
            na = meta[1]
            if nb > 0:
                rec_tick[j, 0] = px[0, nb - 1]
                rec_qty[j, 0] = qty[0, nb - 1]
            else:
                rec_tick[j, 0] = NO_TICK
                rec_qty[j, 0] = 0.0
            if na > 0:
                rec_tick[j, 1] = -px[1, na - 1]
                rec_qty[j, 1] = qty[1, na - 1]
            else:
                rec_tick[j, 1] = NO_TICK
                rec_qty[j, 1] = 0.0
    return OK, stop


@njit(cache=True)
def l2_level_nb(px, qty, meta, s, k):
    """(tick, size) of the k-th best level of side ``s`` (k = 0 is the best); NO_TICK if none."""
    n = meta[s]
    if k < 0 or k >= n:
        return NO_TICK, 0.0
    key = px[s, n - 1 - k]
    return (key if s == 0 else -key), qty[s, n - 1 - k]


@njit(cache=True)
def l2_qty_at_nb(px, qty, meta, s, tick):
    """Size resting at ``tick`` on side ``s`` (0.0 when the level is empty)."""
    n = meta[s]
    key = tick if s == 0 else -tick
    i = lower_bound_nb(px[s], n, key)
    if i < n and px[s, i] == key:
        return qty[s, i]
    return 0.0


@njit(cache=True)
def l2_depth_nb(px, qty, meta, s, k, out_tick, out_qty):
    """Copy up to ``k`` best levels of side ``s`` (best first); returns how many were copied."""
    n = meta[s]
    m = min(k, n, out_tick.shape[0])
    for j in range(m):
        key = px[s, n - 1 - j]
        out_tick[j] = key if s == 0 else -key
        out_qty[j] = qty[s, n - 1 - j]
    return m
