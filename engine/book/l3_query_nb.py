"""Queries on the L3 book state (see :mod:`engine.book.l3_nb` for the layout)."""

from __future__ import annotations

from numba import njit

from engine.book.codes import (
    LV_ANON,
    LV_CNT,
    LV_HEAD,
    LV_KEY,
    LV_QTY,
    M_HMASK,
    NO_TICK,
    OD_ID,
    OD_NEXT,
    OD_QTY,
    OD_SIDE,
    OD_TICK,
)
from engine.book.l3_nb import _find_level, _hash_put, hash_get_nb


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
    s = od[slot, OD_SIDE]
    i = _find_level(lv, meta, s, od[slot, OD_TICK])
    ahead = lv[s, LV_ANON, i]
    count = 0
    cur = lv[s, LV_HEAD, i]
    while cur != slot:
        ahead += od[cur, OD_QTY]
        count += 1
        cur = od[cur, OD_NEXT]
    return ahead, count, od[slot, OD_QTY]


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
        out_id[m] = od[cur, OD_ID]
        out_qty[m] = od[cur, OD_QTY]
        m += 1
        cur = od[cur, OD_NEXT]
    return m


@njit(cache=True)
def l3_rehash_nb(od, ht, meta):
    """Fill the (fresh, all empty) hash table ``ht`` from the live orders in ``od``
    (live slots are exactly those with a positive quantity)."""
    mask = meta[M_HMASK]
    for slot in range(od.shape[0]):
        if od[slot, OD_QTY] > 0:
            _hash_put(ht, mask, od[slot, OD_ID], slot)
