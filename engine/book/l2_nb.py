"""Numba kernels of the L2 (price-level) book: a dense tick window plus a sorted overflow.

State (four arrays; layout constants in :mod:`engine.book.codes`):

* ``dq``: float64[2, W] level sizes of ticks ``base .. base + W - 1`` (0 = no level), for
  bids (row 0) and asks (row 1). An update inside the window is one store; the best of each
  side is tracked and, when the best level empties, found again by scanning toward worse
  prices (usually a few ticks).
* ``ok`` / ``oq``: int64 / float64[2, C] levels outside the window, sorted by key ascending with
  the best last (key = tick for bids, -tick for asks). Far levels (Binance's 1000.00 bids under
  a 64k market) live here; nothing is ever dropped.
* ``meta``: int64[L2_META_SIZE] level counts, window base, dense bests, counters.

The window is placed around the first level seen and recentred on the mid when the mid drifts
more than 3/8 W from its centre (levels move between the window and the overflow; O(W)).
Best bid/ask are O(1); depth k walks the window from the best.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from data.schema import DEPTH_CLEAR, DEPTH_LAST, DEPTH_SNAPSHOT
from engine.book.codes import (
    BAD_EVENT,
    BAD_SIDE,
    CROSSED,
    FULL_LEVELS,
    L2_META_SIZE,
    M_BASE,
    M_COUNT0,
    M_DBEST_ASK,
    M_DBEST_BID,
    M_EVENTS,
    M_LAST_TS,
    M_NOV_ASK,
    M_NOV_BID,
    M_RECENTERS,
    M_VALID,
    MISSING_LEVEL,
    NO_TICK,
    OK,
)
from engine.book.sorted_nb import lower_bound_nb, shift_down_nb, shift_up_nb

DEFAULT_WINDOW = 1 << 16
_FMAX = 1.7976931348623157e308  # sizes above this are infinite


def l2_alloc(window: int = DEFAULT_WINDOW, overflow: int = 256):
    """Fresh empty L2 state ``(dq, ok, oq, meta)``: a window of ``window`` ticks per side and
    room for ``overflow`` levels per side outside it."""
    dq = np.zeros((2, window), dtype=np.float64)
    ok = np.zeros((2, overflow), dtype=np.int64)
    oq = np.zeros((2, overflow), dtype=np.float64)
    meta = np.zeros(L2_META_SIZE, dtype=np.int64)
    meta[M_VALID] = 1
    meta[M_BASE] = NO_TICK
    meta[M_DBEST_BID] = NO_TICK
    meta[M_DBEST_ASK] = NO_TICK
    return dq, ok, oq, meta


# --- overflow (sorted arrays) -------------------------------------------------------------------
@njit(cache=True)
def _ov_set(ok, oq, meta, s, tick, q):
    n = meta[M_NOV_BID + s]
    key = tick if s == 0 else -tick
    i = lower_bound_nb(ok[s], n, key)
    if i < n and ok[s, i] == key:
        if q > 0.0:
            oq[s, i] = q
        else:
            shift_down_nb(ok[s], i, n, 1)
            shift_down_nb(oq[s], i, n, 1)
            meta[M_NOV_BID + s] = n - 1
            meta[s] -= 1
        return OK
    if not q > 0.0:
        return MISSING_LEVEL
    if n == ok.shape[1]:
        return FULL_LEVELS
    shift_up_nb(ok[s], i, n)
    shift_up_nb(oq[s], i, n)
    ok[s, i] = key
    oq[s, i] = q
    meta[M_NOV_BID + s] = n + 1
    meta[s] += 1
    return OK


# --- dense window ---------------------------------------------------------------------------
@njit(cache=True)
def l2_best_nb(dq, ok, oq, meta, s):
    """(tick, size) of the best level of side ``s`` (0 bid, 1 ask); (NO_TICK, 0.0) if empty."""
    n = meta[M_NOV_BID + s]
    d = meta[M_DBEST_BID + s]
    if n > 0:
        key = ok[s, n - 1]
        o = key if s == 0 else -key
        if d == NO_TICK or (o > d if s == 0 else o < d):
            return o, oq[s, n - 1]
    if d == NO_TICK:
        return NO_TICK, 0.0
    return d, dq[s, d - meta[M_BASE]]


@njit(cache=True)
def _recenter(dq, ok, oq, meta, center):
    """Move the window so that it starts at ``center - W/2``; levels change storage."""
    w = dq.shape[1]
    base = meta[M_BASE]
    nb = center - (w >> 1)
    cap = ok.shape[1]
    for s in range(2):  # first pass: count the levels that will sit outside the new window
        out = 0
        for j in range(w):
            if dq[s, j] != 0.0 and not nb <= base + j < nb + w:
                out += 1
        for b in range(meta[M_NOV_BID + s]):
            t = ok[s, b] if s == 0 else -ok[s, b]
            if not nb <= t < nb + w:
                out += 1
        if out > cap:
            return FULL_LEVELS
    for s in range(2):  # second pass: merge window + overflow by key, redistribute
        nov = meta[M_NOV_BID + s]
        nd = meta[s] - nov
        dk = np.empty(nd, np.int64)
        dv = np.empty(nd, np.float64)
        m = 0
        for jj in range(w):
            j = jj if s == 0 else w - 1 - jj  # ascending key order
            if dq[s, j] != 0.0:
                t = base + j
                dk[m] = t if s == 0 else -t
                dv[m] = dq[s, j]
                dq[s, j] = 0.0
                m += 1
        ovk = ok[s, :nov].copy()
        ovv = oq[s, :nov].copy()
        a = 0
        b = 0
        n_out = 0
        best = NO_TICK
        for _ in range(nd + nov):
            if b >= nov or (a < nd and dk[a] < ovk[b]):
                key = dk[a]
                v = dv[a]
                a += 1
            else:
                key = ovk[b]
                v = ovv[b]
                b += 1
            t = key if s == 0 else -key
            if nb <= t < nb + w:
                dq[s, t - nb] = v
                best = t  # ascending keys: the last one inside is the best
            else:
                ok[s, n_out] = key
                oq[s, n_out] = v
                n_out += 1
        meta[M_NOV_BID + s] = n_out
        meta[M_DBEST_BID + s] = best
    meta[M_BASE] = nb
    meta[M_RECENTERS] += 1
    return OK


@njit(cache=True)
def l2_clear_side_nb(dq, ok, oq, meta, s):
    """Empty side ``s`` (0 bid, 1 ask)."""
    dq[s, :] = 0.0
    meta[s] = 0
    meta[M_NOV_BID + s] = 0
    meta[M_DBEST_BID + s] = NO_TICK


@njit(cache=True)
def l2_replay_nb(dq, ok, oq, meta, ts, side, tick, q, flags, start, stop, rec_tick, rec_qty):
    """Apply canonical DEPTH rows ``start..stop-1`` (columns: ts, side BUY=1 / SELL=-1 / 0,
    tick, size, flags); returns (status, next index).

    ``DEPTH_CLEAR`` empties the row's side (side 0: both sides) first; a both-sides clear
    without ``DEPTH_SNAPSHOT`` is a *reset*: the book is marked invalid until a snapshot row
    arrives. A size <= 0 deletes the level. Notes (deleting a missing level, a crossed book
    after a ``DEPTH_LAST`` row; a row with a side other than -1/0/1 (BAD_SIDE) or a NaN or
    infinite size (BAD_EVENT), which is ignored) are counted in ``meta``. Stops with FULL_LEVELS at a row whose
    level does not fit in the overflow arrays, so the caller can grow them and resume there.
    When ``rec_tick`` (int64[m, 2]) / ``rec_qty`` (float64[m, 2]) have m > 0 rows, the best
    bid and ask (tick, size) after row i are written to row ``i - start``.

    The body is written out flat on purpose: calling a per-row function that takes the four
    state arrays costs numba 5-10x the work of the update itself. To drive the book from
    another compiled loop, call this on the rows between your own events (``start, stop``).
    """
    record = rec_tick.shape[0] > 0
    w = dq.shape[1]
    pending = OK
    for i in range(start, stop):
        fl = flags[i]
        sd = side[i]
        tk = tick[i]
        qq = q[i]
        st = OK
        if sd > 1 or sd < -1:
            st = BAD_SIDE  # the row is ignored (the Python layer refuses it)
        elif qq != qq or qq > _FMAX:
            st = BAD_EVENT  # NaN / infinite size: ignored
        if st == OK and fl & DEPTH_CLEAR:
            if sd >= 0:
                l2_clear_side_nb(dq, ok, oq, meta, 0)
            if sd <= 0:
                l2_clear_side_nb(dq, ok, oq, meta, 1)
            if sd == 0 and not (fl & DEPTH_SNAPSHOT):
                meta[M_VALID] = 0
        if st == OK and fl & DEPTH_SNAPSHOT:
            meta[M_VALID] = 1
        moved = False
        if st == OK and sd != 0 and not ((fl & DEPTH_CLEAR) and not qq > 0.0):
            s = 0 if sd > 0 else 1
            base = meta[M_BASE]
            if base == NO_TICK and qq > 0.0:
                base = tk - (w >> 1)
                meta[M_BASE] = base
            t = tk - base
            if base == NO_TICK:
                st = MISSING_LEVEL
            elif 0 <= t < w:
                old = dq[s, t]
                if qq > 0.0:
                    dq[s, t] = qq
                    if old == 0.0:
                        meta[s] += 1
                        d = meta[M_DBEST_BID + s]
                        if d == NO_TICK or (tk > d if s == 0 else tk < d):
                            meta[M_DBEST_BID + s] = tk
                            moved = True
                elif old != 0.0:
                    dq[s, t] = 0.0
                    meta[s] -= 1
                    if tk == meta[M_DBEST_BID + s]:
                        # the best emptied: scan toward worse prices for the next level
                        nxt = NO_TICK
                        if meta[s] > meta[M_NOV_BID + s]:
                            if s == 0:
                                j = t - 1
                                while j >= 0:
                                    if dq[0, j] != 0.0:
                                        nxt = base + j
                                        break
                                    j -= 1
                            else:
                                j = t + 1
                                while j < w:
                                    if dq[1, j] != 0.0:
                                        nxt = base + j
                                        break
                                    j += 1
                        meta[M_DBEST_BID + s] = nxt
                        moved = True
                else:
                    st = MISSING_LEVEL
            else:
                st = _ov_set(ok, oq, meta, s, tk, qq)
                if st == FULL_LEVELS:
                    return st, i
                moved = True
        if moved or (fl & DEPTH_LAST) or record:
            bb = meta[M_DBEST_BID]
            n0 = meta[M_NOV_BID]
            if n0 > 0 and (bb == NO_TICK or ok[0, n0 - 1] > bb):
                bb = ok[0, n0 - 1]
            ba = meta[M_DBEST_ASK]
            n1 = meta[M_NOV_ASK]
            if n1 > 0 and (ba == NO_TICK or -ok[1, n1 - 1] < ba):
                ba = -ok[1, n1 - 1]
            if (fl & DEPTH_LAST) and bb != NO_TICK and ba != NO_TICK and bb >= ba:
                meta[M_COUNT0 + CROSSED] += 1
            if moved:
                # keep the window centred on the mid (hysteresis: 3/8 of the window)
                mid = ba if bb == NO_TICK else (bb if ba == NO_TICK else (bb + ba) >> 1)
                dd = mid - (meta[M_BASE] + (w >> 1))
                if dd > (3 * w) >> 3 or -dd > (3 * w) >> 3:
                    pending = _recenter(dq, ok, oq, meta, mid)  # FULL: nothing moved
            if record:
                j = i - start
                rec_tick[j, 0] = bb
                rec_tick[j, 1] = ba
                # a recentre above moved levels between the window and the overflow: read
                # the layout again (stale counts indexed the window out of bounds)
                base = meta[M_BASE]
                n0 = meta[M_NOV_BID]
                n1 = meta[M_NOV_ASK]
                if bb == NO_TICK:
                    rec_qty[j, 0] = 0.0
                elif n0 > 0 and ok[0, n0 - 1] == bb:
                    rec_qty[j, 0] = oq[0, n0 - 1]
                else:
                    rec_qty[j, 0] = dq[0, bb - base]
                if ba == NO_TICK:
                    rec_qty[j, 1] = 0.0
                elif n1 > 0 and -ok[1, n1 - 1] == ba:
                    rec_qty[j, 1] = oq[1, n1 - 1]
                else:
                    rec_qty[j, 1] = dq[1, ba - base]
        meta[M_EVENTS] += 1
        meta[M_LAST_TS] = ts[i]
        if st != OK:
            meta[M_COUNT0 + st] += 1
        if pending == FULL_LEVELS:  # the row is applied; the window could not move yet
            return FULL_LEVELS, i + 1
    return OK, stop


def l2_set(dq, ok, oq, meta, s, tick, q):
    """Set one level from Python (size <= 0 deletes); returns the status code."""
    one = np.ones(1, np.int64)
    rec = np.empty((0, 2), np.int64)
    return l2_replay_nb(dq, ok, oq, meta, one * meta[M_LAST_TS], one.astype(np.int8) * (1 - 2 * s),
                        one * tick, np.full(1, float(q)), np.zeros(1, np.uint8), 0, 1, rec,
                        rec.astype(np.float64))[0]


@njit(cache=True)
def l2_depth_nb(dq, ok, oq, meta, s, k, out_tick, out_qty):
    """Copy up to ``k`` best levels of side ``s`` (best first); returns how many were copied."""
    k = min(k, out_tick.shape[0], meta[s])
    w = dq.shape[1]
    base = meta[M_BASE]
    nov = meta[M_NOV_BID + s]
    m = 0
    i = nov - 1
    # overflow levels better than every window level (bids above it, asks below it)
    top = base + w - 1 if s == 0 else -base
    while i >= 0 and m < k and ok[s, i] > top:
        out_tick[m] = ok[s, i] if s == 0 else -ok[s, i]
        out_qty[m] = oq[s, i]
        m += 1
        i -= 1
    nd = meta[s] - nov
    d = meta[M_DBEST_BID + s]
    if nd > 0 and d != NO_TICK:
        j = d - base
        seen = 0
        while m < k and seen < nd and 0 <= j < w:
            if dq[s, j] != 0.0:
                out_tick[m] = base + j
                out_qty[m] = dq[s, j]
                m += 1
                seen += 1
            j = j - 1 if s == 0 else j + 1
    while i >= 0 and m < k:
        out_tick[m] = ok[s, i] if s == 0 else -ok[s, i]
        out_qty[m] = oq[s, i]
        m += 1
        i -= 1
    return m


@njit(cache=True)
def l2_level_nb(dq, ok, oq, meta, s, k):
    """(tick, size) of the k-th best level of side ``s`` (k = 0 is the best); NO_TICK if none."""
    if k == 0:
        return l2_best_nb(dq, ok, oq, meta, s)
    if k < 0 or k >= meta[s]:
        return NO_TICK, 0.0
    t = np.empty(k + 1, np.int64)
    v = np.empty(k + 1, np.float64)
    l2_depth_nb(dq, ok, oq, meta, s, k + 1, t, v)
    return t[k], v[k]


@njit(cache=True)
def l2_qty_at_nb(dq, ok, oq, meta, s, tick):
    """Size resting at ``tick`` on side ``s`` (0.0 when the level is empty)."""
    base = meta[M_BASE]
    if base == NO_TICK:
        return 0.0
    t = tick - base
    if 0 <= t < dq.shape[1]:
        return dq[s, t]
    n = meta[M_NOV_BID + s]
    key = tick if s == 0 else -tick
    i = lower_bound_nb(ok[s], n, key)
    if i < n and ok[s, i] == key:
        return oq[s, i]
    return 0.0
