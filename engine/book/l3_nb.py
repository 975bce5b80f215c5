"""Numba kernels of the L3 (order-by-order) book.

State (four arrays, layout constants in :mod:`engine.book.codes`):

* ``lv``: int64[2, LV_FIELDS, cap] price levels per side, sorted by key ascending with the best
  level last (key = tick for bids, -tick for asks). Each level holds its visible quantity, the
  number of known orders, the head/tail slot of its FIFO queue, and an *anonymous* quantity:
  size known to rest at the level (learned from a snapshot) whose orders are unknown; it is
  ahead of every known order in the queue (it was there first).
* ``od``: int64[OD_FIELDS, ocap] order pool (id, side, tick, qty, prev, next, ts); the FIFO
  of a level is a doubly linked list through prev/next; free slots are chained through next.
* ``ht``: int64[2, hcap] open-addressing hash table order id -> slot (linear probing,
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
    MBO_CANCEL,
    MBO_CLEAR,
    MBO_CROSS,
    MBO_DELETE,
    MBO_EXECUTE,
    MBO_EXECUTE_HIDDEN,
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
    NO_TICK,
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
from engine.book.l2_nb import lower_bound_nb

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def l3_alloc(level_cap: int = 1024, order_cap: int = 1 << 16):
    """Fresh empty L3 state ``(lv, od, ht, meta)``."""
    lv = np.zeros((2, LV_FIELDS, level_cap), dtype=np.int64)
    od = np.zeros((OD_FIELDS, order_cap), dtype=np.int64)
    od[OD_NEXT] = np.arange(1, order_cap + 1)
    od[OD_NEXT, -1] = -1
    hcap = 1 << max(4, int(np.ceil(np.log2(2 * order_cap))))
    ht = np.empty((2, hcap), dtype=np.int64)
    ht[0] = HASH_EMPTY
    ht[1] = -1
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
        k = ht[0, i]
        if k == key:
            return ht[1, i]
        if k == HASH_EMPTY:
            return -1
        i = (i + 1) & mask


@njit(cache=True)
def _hash_put(ht, mask, key, val):
    i = _h(key, mask)
    while ht[0, i] != HASH_EMPTY and ht[0, i] != key:
        i = (i + 1) & mask
    ht[0, i] = key
    ht[1, i] = val


@njit(cache=True)
def _hash_del(ht, mask, key):
    i = _h(key, mask)
    while ht[0, i] != key:
        if ht[0, i] == HASH_EMPTY:
            return
        i = (i + 1) & mask
    j = i
    while True:
        j = (j + 1) & mask
        kj = ht[0, j]
        if kj == HASH_EMPTY:
            break
        home = _h(kj, mask)
        # keep entry j where it is if its home lies cyclically in (i, j]
        if i <= j:
            if i < home <= j:
                continue
        elif home > i or home <= j:
            continue
        ht[0, i] = kj
        ht[1, i] = ht[1, j]
        i = j
    ht[0, i] = HASH_EMPTY
    ht[1, i] = -1


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
        row = lv[s, f]
        row[i + 1 : n + 1] = row[i:n]
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
        row = lv[s, f]
        row[i : n - 1] = row[i + 1 : n]
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
    od[OD_NEXT, slot] = meta[M_FREE]
    od[OD_PREV, slot] = -1
    od[OD_QTY, slot] = 0
    meta[M_FREE] = slot
    meta[M_NORD] -= 1


@njit(cache=True)
def _unlink(lv, od, s, i, slot):
    p = od[OD_PREV, slot]
    nx = od[OD_NEXT, slot]
    if p >= 0:
        od[OD_NEXT, p] = nx
    else:
        lv[s, LV_HEAD, i] = nx
    if nx >= 0:
        od[OD_PREV, nx] = p
    else:
        lv[s, LV_TAIL, i] = p
    lv[s, LV_CNT, i] -= 1


@njit(cache=True)
def _drop_order(lv, od, ht, meta, s, i, slot):
    """Unlink, unindex and free an order; remove its level when it becomes empty."""
    _unlink(lv, od, s, i, slot)
    _hash_del(ht, meta[M_HMASK], od[OD_ID, slot])
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
    meta[M_FREE] = od[OD_NEXT, slot]
    meta[M_NORD] += 1
    od[OD_ID, slot] = oid
    od[OD_SIDE, slot] = s
    od[OD_TICK, slot] = tick
    od[OD_QTY, slot] = q
    od[OD_TS, slot] = ts
    tail = lv[s, LV_TAIL, i]
    od[OD_PREV, slot] = tail
    od[OD_NEXT, slot] = -1
    if tail >= 0:
        od[OD_NEXT, tail] = slot
    else:
        lv[s, LV_HEAD, i] = slot
    lv[s, LV_TAIL, i] = slot
    lv[s, LV_CNT, i] += 1
    lv[s, LV_QTY, i] += q
    _hash_put(ht, mask, oid, slot)
    return OK


@njit(cache=True)
def l3_reduce_nb(lv, od, ht, meta, oid, s, tick, q, delete):
    """Cancel/execute ``q`` of order ``oid`` (``delete``: remove it whole).

    Unknown ids act on the anonymous quantity of level (s, tick). Returns a status code.
    """
    slot = hash_get_nb(ht, meta[M_HMASK], oid)
    if slot < 0:
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
    s = od[OD_SIDE, slot]
    i = _find_level(lv, meta, s, od[OD_TICK, slot])
    oq = od[OD_QTY, slot]
    st = OK
    if delete:
        if q != oq:
            st = SIZE_MISMATCH
        d = oq
    elif q > oq:
        st = OVER_REDUCE
        d = oq
    else:
        d = q
    lv[s, LV_QTY, i] -= d
    od[OD_QTY, slot] = oq - d
    if oq - d == 0:
        _drop_order(lv, od, ht, meta, s, i, slot)
    return st


@njit(cache=True)
def l3_modify_nb(lv, od, ht, meta, oid, s, tick, q, ts):
    """Replace an order's price/size: a pure size decrease keeps queue priority; a price
    change or size increase loses it (the order moves to the tail). Unknown ids are added."""
    slot = hash_get_nb(ht, meta[M_HMASK], oid)
    if slot < 0:
        st = l3_add_nb(lv, od, ht, meta, oid, s, tick, q, ts)
        return UNKNOWN_ORDER if st == OK else st
    os_ = od[OD_SIDE, slot]
    oq = od[OD_QTY, slot]
    if od[OD_TICK, slot] == tick and os_ == s and q <= oq:
        if q == oq:
            return OK
        return l3_reduce_nb(lv, od, ht, meta, oid, s, tick, oq - q, False)
    i = _find_level(lv, meta, os_, od[OD_TICK, slot])
    lv[os_, LV_QTY, i] -= oq
    _drop_order(lv, od, ht, meta, os_, i, slot)
    if q <= 0:
        return OK
    return l3_add_nb(lv, od, ht, meta, oid, s, tick, q, ts)


@njit(cache=True)
def l3_set_anon_nb(lv, od, ht, meta, s, tick, q):
    """Make level (s, tick) hold visible size ``q``, as anonymous quantity on top of its known
    orders (learning a level from a snapshot). ``q`` below the known orders' total is clamped."""
    key = _key(s, tick)
    n = meta[s]
    i = lower_bound_nb(lv[s, LV_KEY], n, key)
    if not (i < n and lv[s, LV_KEY, i] == key):
        if q <= 0:
            return OK
        st = _level_insert(lv, meta, s, i, key)
        if st != OK:
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
            nx = od[OD_NEXT, slot]
            _hash_del(ht, mask, od[OD_ID, slot])
            _free_slot(od, meta, slot)
            slot = nx
    for f in range(LV_FIELDS):
        row = lv[s, f]
        row[0:keep] = row[drop:n]
    meta[s] = keep
    return drop


@njit(cache=True)
def l3_clear_nb(lv, od, ht, meta):
    """Empty the book (both sides, every order)."""
    for s in range(2):
        l3_forget_beyond_nb(lv, od, ht, meta, s, 0)


@njit(cache=True)
def l3_apply_nb(lv, od, ht, meta, ts, event, oid, side, tick, q):
    """Apply one canonical MBO event (side BUY=1 / SELL=-1). Returns a status code; non-OK
    codes are also counted in ``meta``. Hidden/cross executions and halts leave the book."""
    if side == 1:
        s = 0
    elif side == -1:
        s = 1
    else:
        s = -1
    st = OK
    if event == MBO_ADD:
        st = l3_add_nb(lv, od, ht, meta, oid, s, tick, q, ts) if s >= 0 else BAD_SIDE
    elif event == MBO_CANCEL or event == MBO_EXECUTE:
        st = l3_reduce_nb(lv, od, ht, meta, oid, s, tick, q, False) if s >= 0 else BAD_SIDE
    elif event == MBO_DELETE:
        st = l3_reduce_nb(lv, od, ht, meta, oid, s, tick, q, True) if s >= 0 else BAD_SIDE
    elif event == MBO_MODIFY:
        st = l3_modify_nb(lv, od, ht, meta, oid, s, tick, q, ts) if s >= 0 else BAD_SIDE
    elif event == MBO_CLEAR:
        l3_clear_nb(lv, od, ht, meta)
    elif event != MBO_EXECUTE_HIDDEN and event != MBO_CROSS and event != MBO_HALT:
        st = BAD_EVENT
    if st == FULL_LEVELS or st == FULL_ORDERS:
        return st
    meta[M_EVENTS] += 1
    meta[M_LAST_TS] = ts
    if st != OK:
        meta[M_COUNT0 + st] += 1
    return st


@njit(cache=True)
def l3_replay_nb(lv, od, ht, meta, ts, event, oid, side, tick, q, start, stop):
    """Apply events ``start..stop-1``; returns (status, next index). A fatal status (capacity)
    stops at the event that could not be applied, so the caller can grow and resume."""
    for i in range(start, stop):
        st = l3_apply_nb(lv, od, ht, meta, ts[i], event[i], oid[i], side[i], tick[i], q[i])
        if st == FULL_LEVELS or st == FULL_ORDERS:
            return st, i
    return OK, stop


# --- queries ----------------------------------------------------------------------------------
@njit(cache=True)
def l3_level_nb(lv, meta, s, k):
    """(tick, visible qty, known order count) of the k-th best level of side ``s``."""
    n = meta[s]
    if k < 0 or k >= n:
        return NO_TICK, 0, 0
    j = n - 1 - k
    key = lv[s, LV_KEY, j]
    return (key if s == 0 else -key), lv[s, LV_QTY, j], lv[s, LV_CNT, j]


@njit(cache=True)
def l3_queue_position_nb(lv, od, ht, meta, oid):
    """FIFO position of order ``oid``: (quantity ahead, known orders ahead, its own qty).

    Quantity ahead includes the level's anonymous quantity. (-1, -1, -1) if the id is unknown.
    """
    slot = hash_get_nb(ht, meta[M_HMASK], oid)
    if slot < 0:
        return -1, -1, -1
    s = od[OD_SIDE, slot]
    i = _find_level(lv, meta, s, od[OD_TICK, slot])
    ahead = lv[s, LV_ANON, i]
    count = 0
    cur = lv[s, LV_HEAD, i]
    while cur != slot:
        ahead += od[OD_QTY, cur]
        count += 1
        cur = od[OD_NEXT, cur]
    return ahead, count, od[OD_QTY, slot]


@njit(cache=True)
def l3_level_orders_nb(lv, od, meta, s, k, out_id, out_qty):
    """Copy the FIFO of the k-th best level of side ``s`` (front first) into ``out_id`` /
    ``out_qty``; returns the number of orders copied (capped by the output length)."""
    n = meta[s]
    if k < 0 or k >= n:
        return 0
    j = n - 1 - k
    cur = lv[s, LV_HEAD, j]
    m = 0
    while cur >= 0 and m < out_id.shape[0]:
        out_id[m] = od[OD_ID, cur]
        out_qty[m] = od[OD_QTY, cur]
        m += 1
        cur = od[OD_NEXT, cur]
    return m


@njit(cache=True)
def l3_rehash_nb(od, ht, meta):
    """Fill the (fresh, all empty) hash table ``ht`` from the live orders in ``od``
    (live slots are exactly those with a positive quantity)."""
    mask = meta[M_HMASK]
    for slot in range(od.shape[1]):
        if od[OD_QTY, slot] > 0:
            _hash_put(ht, mask, od[OD_ID, slot], slot)
