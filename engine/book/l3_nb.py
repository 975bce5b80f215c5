"""Numba kernels of the L3 (order-by-order) book.

State (four arrays, layout constants in :mod:`engine.book.codes`):

* ``lv``: int64[2, LV_FIELDS, cap] price levels per side, sorted by key ascending with the best
  level last (key = tick for bids, -tick for asks). Each level holds its visible quantity, the
  number of known orders, the head/tail slot of its FIFO queue, and an *anonymous* quantity:
  size known to rest at the level (learned from a snapshot) whose orders are unknown; it is
  ahead of every known order in the queue (it was there first).
* ``od``: int64[ocap, OD_FIELDS] order pool (one row per order: one cache line) (id, side, tick, qty, prev, next, ts); the FIFO
  of a level is a doubly linked list through prev/next; free slots are chained through next.
* ``ht``: int64[hcap, 2] open-addressing (key, slot interleaved) hash table order id -> slot (linear probing,
  backward-shift deletion, no tombstones), hcap a power of two >= 2 * ocap.
* ``meta``: int64[META_SIZE] counts, free-list head, hash mask, status counters.

Events on unknown order ids (orders that rest since before the data started, or that sat in a
level the book forgot) act on the level's anonymous quantity, found by (side, price).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from data.schema import (
    MBO_ADD,
    MBO_ANON_LEVEL,
    MBO_CANCEL,
    MBO_CLEAR,
    MBO_CROSS,
    MBO_DELETE,
    MBO_EXECUTE,
    MBO_EXECUTE_HIDDEN,
    MBO_FORGET,
    MBO_HALT,
    MBO_MODIFY,
)
from engine.book.codes import (
    BAD_EVENT,
    BAD_SIDE,
    DUPLICATE_ORDER,
    FULL_LEVELS,
    FULL_ORDERS,
    HASH_EMPTY,
    LV_ANON,
    LV_CNT,
    LV_FIELDS,
    LV_HEAD,
    LV_KEY,
    LV_QTY,
    LV_TAIL,
    M_COUNT0,
    M_EVENTS,
    M_FREE,
    M_HMASK,
    M_LAST_TS,
    M_NORD,
    M_VALID,
    META_SIZE,
    MISSING_LEVEL,
    OD_FIELDS,
    OD_ID,
    OD_NEXT,
    OD_PREV,
    OD_QTY,
    OD_SIDE,
    OD_TICK,
    OD_TS,
    OK,
    OVER_REDUCE,
    SIZE_MISMATCH,
    UNKNOWN_ORDER,
)
from engine.book.sorted_nb import lower_bound_nb, shift_down_nb, shift_up_nb

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def l3_alloc(level_cap: int = 1024, order_cap: int = 1 << 16):
    """Fresh empty L3 state ``(lv, od, ht, meta)``."""
    lv = np.zeros((2, LV_FIELDS, level_cap), dtype=np.int64)
    od = np.zeros((order_cap, OD_FIELDS), dtype=np.int64)
    od[:, OD_NEXT] = np.arange(1, order_cap + 1)
    od[-1, OD_NEXT] = -1
    hcap = 1 << max(4, int(np.ceil(np.log2(2 * order_cap))))
    ht = np.empty((hcap, 2), dtype=np.int64)
    ht[:, 0] = HASH_EMPTY
    ht[:, 1] = -1
    meta = np.zeros(META_SIZE, dtype=np.int64)
    meta[M_FREE] = 0
    meta[M_HMASK] = hcap - 1
    meta[M_VALID] = 1
    return lv, od, ht, meta


# --- hash table: order id -> slot ------------------------------------------------------------
@njit(cache=True, inline="always")
def _h(key, mask):
    x = np.uint64(key) * _GOLDEN
    x ^= x >> np.uint64(31)
    return np.int64(x & np.uint64(mask))


@njit(cache=True)
def hash_get_nb(ht, mask, key):
    """Slot of order ``key`` or -1."""
    i = _h(key, mask)
    while True:
        k = ht[i, 0]
        if k == key:
            return ht[i, 1]
        if k == HASH_EMPTY:
            return -1
        i = (i + 1) & mask


@njit(cache=True)
def _hash_put(ht, mask, key, val):
    i = _h(key, mask)
    while ht[i, 0] != HASH_EMPTY and ht[i, 0] != key:
        i = (i + 1) & mask
    ht[i, 0] = key
    ht[i, 1] = val


@njit(cache=True)
def _hash_del(ht, mask, key):
    i = _h(key, mask)
    while ht[i, 0] != key:
        if ht[i, 0] == HASH_EMPTY:
            return
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        kj = ht[j, 0]
        if kj == HASH_EMPTY:
            break
        home = _h(kj, mask)
        # keep entry j where it is if its home lies cyclically in (i, j]
        if i <= j:
            if i < home <= j:
                continue
        elif home > i or home <= j:
            continue
        ht[i, 0] = kj
        ht[i, 1] = ht[j, 1]
        i = j
    ht[i, 0] = HASH_EMPTY
    ht[i, 1] = -1


# --- levels -----------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _key(s, tick):
    return tick if s == 0 else -tick


@njit(cache=True)
def _level_insert(lv, meta, s, i, key):
    n = meta[s]
    if n == lv.shape[2]:
        return FULL_LEVELS
    for f in range(LV_FIELDS):
        shift_up_nb(lv[s, f], i, n)
    lv[s, LV_KEY, i] = key
    lv[s, LV_QTY, i] = 0
    lv[s, LV_CNT, i] = 0
    lv[s, LV_HEAD, i] = -1
    lv[s, LV_TAIL, i] = -1
    lv[s, LV_ANON, i] = 0
    meta[s] = n + 1
    return OK


@njit(cache=True)
def _level_remove(lv, meta, s, i):
    n = meta[s]
    for f in range(LV_FIELDS):
        shift_down_nb(lv[s, f], i, n, 1)
    meta[s] = n - 1


@njit(cache=True)
def _find_level(lv, meta, s, tick):
    n = meta[s]
    key = _key(s, tick)
    i = lower_bound_nb(lv[s, LV_KEY], n, key)
    if i < n and lv[s, LV_KEY, i] == key:
        return i
    return -1


# --- orders -----------------------------------------------------------------------------------
@njit(cache=True)
def _free_slot(od, meta, slot):
    od[slot, OD_NEXT] = meta[M_FREE]
    od[slot, OD_PREV] = -1
    od[slot, OD_QTY] = 0
    meta[M_FREE] = slot
    meta[M_NORD] -= 1


@njit(cache=True)
def _unlink(lv, od, s, i, slot):
    p = od[slot, OD_PREV]
    nx = od[slot, OD_NEXT]
    if p >= 0:
        od[p, OD_NEXT] = nx
    else:
        lv[s, LV_HEAD, i] = nx
    if nx >= 0:
        od[nx, OD_PREV] = p
    else:
        lv[s, LV_TAIL, i] = p
    lv[s, LV_CNT, i] -= 1


@njit(cache=True)
def _drop_order(lv, od, ht, meta, s, i, slot):
    """Unlink, unindex and free an order; remove its level when it becomes empty."""
    _unlink(lv, od, s, i, slot)
    _hash_del(ht, meta[M_HMASK], od[slot, OD_ID])
    _free_slot(od, meta, slot)
    if lv[s, LV_QTY, i] <= 0 and lv[s, LV_CNT, i] == 0:
        _level_remove(lv, meta, s, i)


@njit(cache=True)
def l3_add_nb(lv, od, ht, meta, oid, s, tick, q, ts):
    """Append a new order at the tail of its level's FIFO (creating the level)."""
    mask = meta[M_HMASK]
    if q <= 0:
        return BAD_EVENT
    if hash_get_nb(ht, mask, oid) >= 0:
        return DUPLICATE_ORDER
    slot = meta[M_FREE]
    if slot < 0 or 2 * (meta[M_NORD] + 1) > mask + 1:
        return FULL_ORDERS
    key = _key(s, tick)
    n = meta[s]
    i = lower_bound_nb(lv[s, LV_KEY], n, key)
    if not (i < n and lv[s, LV_KEY, i] == key):
        st = _level_insert(lv, meta, s, i, key)
        if st != OK:
            return st
    meta[M_FREE] = od[slot, OD_NEXT]
    meta[M_NORD] += 1
    od[slot, OD_ID] = oid
    od[slot, OD_SIDE] = s
    od[slot, OD_TICK] = tick
    od[slot, OD_QTY] = q
    od[slot, OD_TS] = ts
    tail = lv[s, LV_TAIL, i]
    od[slot, OD_PREV] = tail
    od[slot, OD_NEXT] = -1
    if tail >= 0:
        od[tail, OD_NEXT] = slot
    else:
        lv[s, LV_HEAD, i] = slot
    lv[s, LV_TAIL, i] = slot
    lv[s, LV_CNT, i] += 1
    lv[s, LV_QTY, i] += q
    _hash_put(ht, mask, oid, slot)
    return OK


@njit(cache=True)
def l3_modify_nb(lv, od, ht, meta, oid, s, tick, q, ts):
    """Replace an order's price/size: a pure size decrease keeps queue priority; a price
    change or size increase loses it (the order moves to the tail). Unknown ids are added."""
    slot = hash_get_nb(ht, meta[M_HMASK], oid)
    if slot < 0:
        st = l3_add_nb(lv, od, ht, meta, oid, s, tick, q, ts)
        return UNKNOWN_ORDER if st == OK else st
    os_ = od[slot, OD_SIDE]
    oq = od[slot, OD_QTY]
    if od[slot, OD_TICK] == tick and os_ == s and 0 < q <= oq:
        i = _find_level(lv, meta, s, tick)
        lv[s, LV_QTY, i] -= oq - q
        od[slot, OD_QTY] = q
        return OK
    i = _find_level(lv, meta, os_, od[slot, OD_TICK])
    lv[os_, LV_QTY, i] -= oq
    _drop_order(lv, od, ht, meta, os_, i, slot)
    if q <= 0:
        return OK
    return l3_add_nb(lv, od, ht, meta, oid, s, tick, q, ts)


@njit(cache=True)
def _level_for_nb(lv, meta, s, tick, create):
    """(index, status) of level (s, tick); a missing level is inserted empty when ``create``,
    else the index is -1 with status OK; a failed insertion gives (-1, its status)."""
    key = _key(s, tick)
    n = meta[s]
    i = lower_bound_nb(lv[s, LV_KEY], n, key)
    if i < n and lv[s, LV_KEY, i] == key:
        return i, OK
    if not create:
        return -1, OK
    st = _level_insert(lv, meta, s, i, key)
    if st != OK:
        return -1, st
    return i, OK


@njit(cache=True)
def l3_set_anon_nb(lv, od, ht, meta, s, tick, q):
    """Make level (s, tick) hold visible size ``q``, as anonymous quantity on top of its known
    orders (learning a level from a snapshot). ``q`` below the known orders' total is clamped."""
    i, st = _level_for_nb(lv, meta, s, tick, q > 0)
    if i < 0:
        return st
    known = lv[s, LV_QTY, i] - lv[s, LV_ANON, i]
    anon = q - known
    if anon < 0:
        anon = 0
    lv[s, LV_ANON, i] = anon
    lv[s, LV_QTY, i] = known + anon
    if lv[s, LV_QTY, i] <= 0 and lv[s, LV_CNT, i] == 0:
        _level_remove(lv, meta, s, i)
    return OK


@njit(cache=True)
def l3_anon_level_nb(lv, meta, s, tick, q):
    """Event MBO_ANON_LEVEL: make the anonymous quantity of level (s, tick) exactly ``q`` (its
    known orders untouched: ``q`` is on top of them); creates the level for ``q > 0`` and
    removes it when it ends empty."""
    i, st = _level_for_nb(lv, meta, s, tick, q > 0)
    if i < 0:
        return st
    lv[s, LV_QTY, i] += q - lv[s, LV_ANON, i]
    lv[s, LV_ANON, i] = q
    if lv[s, LV_QTY, i] <= 0 and lv[s, LV_CNT, i] == 0:
        _level_remove(lv, meta, s, i)
    return OK


@njit(cache=True)
def l3_forget_beyond_nb(lv, od, ht, meta, s, keep):
    """Forget every level of side ``s`` beyond the best ``keep`` (and unindex their orders).
    Returns the number of levels forgotten."""
    n = meta[s]
    drop = n - keep
    if drop <= 0:
        return 0
    mask = meta[M_HMASK]
    for i in range(drop):
        slot = lv[s, LV_HEAD, i]
        while slot >= 0:
            nx = od[slot, OD_NEXT]
            _hash_del(ht, mask, od[slot, OD_ID])
            _free_slot(od, meta, slot)
            slot = nx
    for f in range(LV_FIELDS):
        shift_down_nb(lv[s, f], 0, n, drop)
    meta[s] = keep
    return drop


@njit(cache=True)
def l3_clear_nb(lv, od, ht, meta):
    """Empty the book (both sides, every order)."""
    for s in range(2):
        l3_forget_beyond_nb(lv, od, ht, meta, s, 0)


@njit(cache=True)
def _reduce_unknown(lv, meta, s, tick, q):
    """Cancel/execute/delete of an id not in the index: take ``q`` from the anonymous
    quantity of level (s, tick)."""
    i = _find_level(lv, meta, s, tick)
    if i < 0:
        return MISSING_LEVEL
    anon = lv[s, LV_ANON, i]
    d = q if q <= anon else anon
    lv[s, LV_ANON, i] = anon - d
    lv[s, LV_QTY, i] -= d
    if lv[s, LV_QTY, i] <= 0 and lv[s, LV_CNT, i] == 0:
        _level_remove(lv, meta, s, i)
    return UNKNOWN_ORDER if d == q else OVER_REDUCE


@njit(cache=True)
def l3_replay_nb(lv, od, ht, meta, ts, event, oid, side, tick, q, start, stop):
    """Apply canonical MBO events ``start..stop-1`` (columns: ts, event, order id, side
    BUY=1 / SELL=-1, tick, lots); returns (status, next index).

    Adds, cancels, executions and deletes run inline (the common path); modifies, clears,
    anonymous level quantities (MBO_ANON_LEVEL) and events on unknown ids call helpers;
    MBO_FORGET (a window correction) removes a known order as MBO_DELETE does. Hidden/cross executions and halts leave the book.
    Notes (unknown ids, ...) are counted in ``meta``; events with a negative size or the
    reserved id ``HASH_EMPTY`` (int64 min) are ignored as BAD_EVENT. A capacity status
    (FULL_LEVELS / FULL_ORDERS) stops before the event that did not fit, so the caller can
    grow and resume.
    The body is flat on purpose (see ``l2_replay_nb``); to drive the book from another
    compiled loop, call this on the events between your own (``start, stop``).
    """
    mask = meta[M_HMASK]
    cap = lv.shape[2]
    for i in range(start, stop):
        ev = event[i]
        key_id = oid[i]
        sd = side[i]
        tk = tick[i]
        qq = q[i]
        s = 0 if sd == 1 else (1 if sd == -1 else -1)
        st = OK
        if ev == MBO_ADD or ev == MBO_CANCEL or ev == MBO_EXECUTE or ev == MBO_DELETE or \
                ev == MBO_FORGET:
            if s < 0:
                st = BAD_SIDE
            elif qq < 0 or key_id == HASH_EMPTY:
                st = BAD_EVENT  # a negative size would grow the book; the id is reserved
            else:
                # hash lookup; h ends on the id's entry or on the empty slot for it
                h = _h(key_id, mask)
                slot = -1
                while ht[h, 0] != HASH_EMPTY:
                    if ht[h, 0] == key_id:
                        slot = ht[h, 1]
                        break
                    h = (h + 1) & mask
                if ev == MBO_ADD:
                    if qq <= 0:
                        st = BAD_EVENT
                    elif slot >= 0:
                        st = DUPLICATE_ORDER
                    else:
                        slot = meta[M_FREE]
                        if slot < 0 or 2 * (meta[M_NORD] + 1) > mask + 1:
                            return FULL_ORDERS, i
                        key = tk if s == 0 else -tk
                        n = meta[s]
                        # level search: the top 8 levels linearly, then binary search
                        j = n - 1
                        lim = n - 8 if n > 8 else 0
                        while j >= lim and lv[s, LV_KEY, j] > key:
                            j -= 1
                        if j >= 0 and j < lim:
                            lo = 0
                            hi = lim  # first index with key > ``key`` lies in [0, lim]
                            while lo < hi:
                                mid = (lo + hi) >> 1
                                if lv[s, LV_KEY, mid] <= key:
                                    lo = mid + 1
                                else:
                                    hi = mid
                            j = lo - 1  # last index with key <= ``key`` (-1: none)
                        if j < 0 or lv[s, LV_KEY, j] != key:
                            if n == cap:
                                return FULL_LEVELS, i
                            j += 1
                            for f in range(LV_FIELDS):
                                for k in range(n, j, -1):
                                    lv[s, f, k] = lv[s, f, k - 1]
                            lv[s, LV_KEY, j] = key
                            lv[s, LV_QTY, j] = 0
                            lv[s, LV_CNT, j] = 0
                            lv[s, LV_HEAD, j] = -1
                            lv[s, LV_TAIL, j] = -1
                            lv[s, LV_ANON, j] = 0
                            meta[s] = n + 1
                        meta[M_FREE] = od[slot, OD_NEXT]
                        meta[M_NORD] += 1
                        od[slot, OD_ID] = key_id
                        od[slot, OD_SIDE] = s
                        od[slot, OD_TICK] = tk
                        od[slot, OD_QTY] = qq
                        od[slot, OD_TS] = ts[i]
                        tail = lv[s, LV_TAIL, j]
                        od[slot, OD_PREV] = tail
                        od[slot, OD_NEXT] = -1
                        if tail >= 0:
                            od[tail, OD_NEXT] = slot
                        else:
                            lv[s, LV_HEAD, j] = slot
                        lv[s, LV_TAIL, j] = slot
                        lv[s, LV_CNT, j] += 1
                        lv[s, LV_QTY, j] += qq
                        ht[h, 0] = key_id
                        ht[h, 1] = slot
                elif slot < 0:
                    st = _reduce_unknown(lv, meta, s, tk, qq)
                else:
                    s = od[slot, OD_SIDE]
                    key = od[slot, OD_TICK]
                    if s == 1:
                        key = -key
                    n = meta[s]
                    j = n - 1
                    lim = n - 8 if n > 8 else 0
                    while j >= lim and lv[s, LV_KEY, j] != key:
                        j -= 1
                    if j < lim:
                        lo = 0
                        hi = lim
                        while lo < hi:
                            mid = (lo + hi) >> 1
                            if lv[s, LV_KEY, mid] < key:
                                lo = mid + 1
                            else:
                                hi = mid
                        j = lo
                    oq = od[slot, OD_QTY]
                    if ev == MBO_DELETE or ev == MBO_FORGET:
                        if qq != oq:
                            st = SIZE_MISMATCH
                        d = oq
                    elif qq > oq:
                        st = OVER_REDUCE
                        d = oq
                    else:
                        d = qq
                    lv[s, LV_QTY, j] -= d
                    od[slot, OD_QTY] = oq - d
                    if oq == d:
                        # unlink from the FIFO
                        p = od[slot, OD_PREV]
                        nx = od[slot, OD_NEXT]
                        if p >= 0:
                            od[p, OD_NEXT] = nx
                        else:
                            lv[s, LV_HEAD, j] = nx
                        if nx >= 0:
                            od[nx, OD_PREV] = p
                        else:
                            lv[s, LV_TAIL, j] = p
                        lv[s, LV_CNT, j] -= 1
                        # unindex: backward-shift deletion from slot h
                        g = h
                        while True:
                            g = (g + 1) & mask
                            kg = ht[g, 0]
                            if kg == HASH_EMPTY:
                                break
                            home = _h(kg, mask)
                            if h <= g:
                                if h < home <= g:
                                    continue
                            elif home > h or home <= g:
                                continue
                            ht[h, 0] = kg
                            ht[h, 1] = ht[g, 1]
                            h = g
                        ht[h, 0] = HASH_EMPTY
                        ht[h, 1] = -1
                        # free the slot
                        od[slot, OD_NEXT] = meta[M_FREE]
                        od[slot, OD_PREV] = -1
                        od[slot, OD_QTY] = 0
                        meta[M_FREE] = slot
                        meta[M_NORD] -= 1
                        if lv[s, LV_QTY, j] <= 0 and lv[s, LV_CNT, j] == 0:
                            for f in range(LV_FIELDS):
                                for k in range(j, n - 1):
                                    lv[s, f, k] = lv[s, f, k + 1]
                            meta[s] = n - 1
        elif ev == MBO_MODIFY:
            if s < 0:
                st = BAD_SIDE
            elif qq < 0 or key_id == HASH_EMPTY:
                st = BAD_EVENT
            else:
                st = l3_modify_nb(lv, od, ht, meta, key_id, s, tk, qq, ts[i])
            if st == FULL_LEVELS or st == FULL_ORDERS:
                return st, i
        elif ev == MBO_ANON_LEVEL:
            if s < 0:
                st = BAD_SIDE
            elif qq < 0:
                st = BAD_EVENT
            else:
                st = l3_anon_level_nb(lv, meta, s, tk, qq)
                if st == FULL_LEVELS:
                    return st, i
        elif ev == MBO_CLEAR:
            l3_clear_nb(lv, od, ht, meta)
        elif ev != MBO_EXECUTE_HIDDEN and ev != MBO_CROSS and ev != MBO_HALT:
            st = BAD_EVENT
        meta[M_EVENTS] += 1
        meta[M_LAST_TS] = ts[i]
        if st != OK:
            meta[M_COUNT0 + st] += 1
    return OK, stop


def l3_apply(lv, od, ht, meta, ts, event, oid, side, tick, q):
    """Apply one event from Python; returns its status code (notes included)."""
    before = meta[M_COUNT0:].copy()
    st, _ = l3_replay_nb(lv, od, ht, meta, np.full(1, ts, np.int64), np.full(1, event, np.int8),
                         np.full(1, oid, np.int64), np.full(1, side, np.int8),
                         np.full(1, tick, np.int64), np.full(1, q, np.int64), 0, 1)
    if st != OK:
        return st
    changed = np.flatnonzero(meta[M_COUNT0:] != before)
    return int(changed[0]) if changed.size else OK
