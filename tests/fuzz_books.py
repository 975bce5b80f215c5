"""Structural invariants of the L2 / L3 book state, checked from the raw arrays.

Used by the book property tests (tests/test_reliability_books.py) and by the reader fuzzers,
which push every parsed DEPTH / MBO array through a book. A violation raises AssertionError
naming the invariant. The checks read ``book.state`` directly (layouts in engine/book/codes.py)
so they do not trust the kernels' own queries.
"""

from __future__ import annotations

import numpy as np

from engine.book import codes as C


def check_l2(book) -> None:
    """Level counts, dense bests, sorted finite positive overflow, no level inside both stores."""
    dq, ok, oq, meta = book.state
    w = dq.shape[1]
    base = int(meta[C.M_BASE])
    assert np.isfinite(dq).all() and (dq >= 0).all(), "dense sizes must be finite and >= 0"
    for s in (C.BID, C.ASK):
        nov = int(meta[C.M_NOV_BID + s])
        dense = np.flatnonzero(dq[s])
        assert int(meta[s]) == len(dense) + nov, f"side {s}: level count != dense + overflow"
        keys = ok[s, :nov]
        assert (np.diff(keys) > 0).all(), f"side {s}: overflow keys not strictly increasing"
        q = oq[s, :nov]
        assert np.isfinite(q).all() and (q > 0).all(), f"side {s}: overflow sizes must be > 0"
        ticks = keys if s == C.BID else -keys
        if base != C.NO_TICK:
            inside = (ticks >= base) & (ticks < base + w)
            assert not inside.any(), f"side {s}: an overflow level lies inside the window"
        best = int(meta[C.M_DBEST_BID + s])
        if len(dense):
            want = base + (dense.max() if s == C.BID else dense.min())
            assert best == want, f"side {s}: dense best {best} != {want}"
        else:
            assert best == C.NO_TICK, f"side {s}: empty window with a dense best"
        prices, sizes = book.levels("bid" if s == C.BID else "ask", int(meta[s]) + 1)
        assert len(prices) == int(meta[s]), f"side {s}: depth query lost levels"
        step = np.diff(prices)
        assert ((step < 0) if s == C.BID else (step > 0)).all(), f"side {s}: levels not sorted"
        assert (sizes > 0).all(), f"side {s}: a listed level has no size"


def check_l3(book) -> None:
    """Levels sorted; each level's quantity = anonymous + its orders; FIFO links consistent;
    the id index holds exactly the live orders; free list + live orders = pool size."""
    lv, od, ht, meta = book.state
    mask = int(meta[C.M_HMASK])
    live: dict[int, int] = {}  # slot -> order id
    for s in (C.BID, C.ASK):
        n = int(meta[s])
        keys = lv[s, C.LV_KEY, :n]
        assert (np.diff(keys) > 0).all(), f"side {s}: level keys not strictly increasing"
        for i in range(n):
            qty, cnt = int(lv[s, C.LV_QTY, i]), int(lv[s, C.LV_CNT, i])
            anon = int(lv[s, C.LV_ANON, i])
            assert anon >= 0, f"side {s} level {i}: negative anonymous quantity"
            assert qty > 0, f"side {s} level {i}: an empty level is kept"
            tick = int(keys[i]) if s == C.BID else -int(keys[i])
            slot, prev, seen, total = int(lv[s, C.LV_HEAD, i]), -1, 0, anon
            while slot >= 0:
                assert slot not in live, f"order slot {slot} is in two queues (or a cycle)"
                assert int(od[slot, C.OD_PREV]) == prev, f"slot {slot}: broken prev link"
                assert int(od[slot, C.OD_SIDE]) == s and int(od[slot, C.OD_TICK]) == tick, (
                    f"slot {slot}: order filed under the wrong level")
                q = int(od[slot, C.OD_QTY])
                assert q > 0, f"slot {slot}: a resting order has size {q}"
                live[slot] = int(od[slot, C.OD_ID])
                total += q
                seen += 1
                prev, slot = slot, int(od[slot, C.OD_NEXT])
            assert int(lv[s, C.LV_TAIL, i]) == prev, f"side {s} level {i}: tail is not the last"
            assert seen == cnt, f"side {s} level {i}: {seen} orders in the FIFO, count says {cnt}"
            assert total == qty, f"side {s} level {i}: quantity {qty} != anonymous + orders {total}"
    assert len(live) == int(meta[C.M_NORD]), "live order count differs from the FIFOs"
    used = ht[:, 0] != C.HASH_EMPTY
    assert int(used.sum()) == len(live), "the id index and the FIFOs hold different orders"
    for key, slot in ht[used]:
        assert live.get(int(slot)) == int(key), f"index maps id {key} to slot {slot} wrongly"
    from engine.book.l3_nb import hash_get_nb

    for slot, oid in live.items():
        assert hash_get_nb(ht, mask, oid) == slot, f"id {oid} is not found by the index"
    free, slot = 0, int(meta[C.M_FREE])
    while slot >= 0 and free <= od.shape[0]:
        assert slot not in live, f"slot {slot} is both free and live"
        free += 1
        slot = int(od[slot, C.OD_NEXT])
    assert free + len(live) == od.shape[0], "free list + live orders != pool size"
