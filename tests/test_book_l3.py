"""L3 order-by-order book: FIFO queues, queue position, unknown orders, growth, properties."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.errors import DataError
from data.schema import (
    BUY,
    MBO,
    MBO_ADD,
    MBO_CANCEL,
    MBO_CLEAR,
    MBO_DELETE,
    MBO_EXECUTE,
    MBO_MODIFY,
    SELL,
)
from engine.book import L3Book
from engine.book import codes as C


def test_fifo_queue_position_and_partial_fills():
    b = L3Book(0.01)
    b.add(1, BUY, 100.00, 5)
    b.add(2, BUY, 100.00, 7)
    b.add(3, BUY, 100.00, 2)
    b.add(4, BUY, 99.99, 9)
    b.add(5, SELL, 100.02, 4)
    assert b.best() == (100.00, 14.0, 100.02, 4.0)
    pos = b.queue_position(3)
    assert (pos.qty_ahead, pos.orders_ahead, pos.size, pos.price, pos.side) == (12, 2, 2, 100.0, BUY)
    assert b.execute(1, 5) == C.OK  # the head fills whole
    assert b.queue_position(3).qty_ahead == 7
    assert b.cancel(2, 3) == C.OK  # partial cancel keeps priority
    ids, sizes = b.orders_at("bid", 0)
    assert ids.tolist() == [2, 3] and sizes.tolist() == [4.0, 2.0]
    assert b.delete(2) == C.OK
    assert b.queue_position(3).qty_ahead == 0
    assert b.levels("bid", 5)[0].tolist() == [100.00, 99.99]
    assert b.delete(3) == C.OK
    assert b.best_bid() == (99.99, 9.0)
    assert b.queue_position(3) is None
    assert b.n_orders == 2


def test_modify_keeps_priority_only_for_a_size_decrease():
    b = L3Book(0.5)
    for oid in (1, 2, 3):
        b.add(oid, SELL, 10.0, 10)
    b.modify(2, SELL, 10.0, 4)  # decrease: stays second
    assert b.orders_at("ask")[0].tolist() == [1, 2, 3]
    b.modify(1, SELL, 10.0, 12)  # increase: to the tail
    assert b.orders_at("ask")[0].tolist() == [2, 3, 1]
    b.modify(3, SELL, 9.5, 10)  # price change: new level, new best
    assert b.best_ask() == (9.5, 10.0)
    assert b.orders_at("ask", 1)[0].tolist() == [2, 1]
    assert b.levels("ask")[1].tolist() == [10.0, 16.0]


def test_unknown_orders_act_on_anonymous_quantity_ahead_of_known_orders():
    b = L3Book(0.01)
    b.set_level("bid", 50.00, 300)  # learned from a snapshot: 300 of unknown orders
    b.add(9, BUY, 50.00, 100)
    assert b.queue_position(9).qty_ahead == 300
    assert b.anonymous_at("bid") == 300
    assert b.execute(77, 120, side=BUY, price=50.00) == C.UNKNOWN_ORDER
    assert b.queue_position(9).qty_ahead == 180
    assert b.best_bid() == (50.0, 280.0)
    # more than the anonymous quantity: clamped and flagged
    assert b.delete(78, size=500, side=BUY, price=50.00) == C.OVER_REDUCE
    assert b.best_bid() == (50.0, 100.0)
    assert b.execute(79, 1, side=BUY, price=49.00) == C.MISSING_LEVEL
    assert b.counters() == {"unknown order id": 1, "price level not in book": 1,
                            "reduce larger than available": 1}


def test_duplicate_id_bad_side_and_off_grid_price():
    b = L3Book(0.01)
    assert b.add(1, BUY, 1.00, 1) == C.OK
    assert b.add(1, BUY, 1.01, 1) == C.DUPLICATE_ORDER
    assert b.add(2, 0, 1.01, 1) == C.BAD_SIDE
    with pytest.raises(DataError, match="tick size"):
        b.add(3, BUY, 1.005, 1)


def test_growth_beyond_initial_capacities_keeps_everything():
    b = L3Book(1.0, level_capacity=16, order_capacity=16)
    rng = np.random.default_rng(1)
    n = 5000
    ev = np.zeros(n, MBO)
    ev["event"] = MBO_ADD
    ev["order_id"] = np.arange(n) + 1
    ev["side"] = np.where(np.arange(n) % 2, BUY, SELL)
    ev["price"] = np.where(ev["side"] == BUY, 1000 - rng.integers(0, 400, n), 1001 + rng.integers(0, 400, n))
    ev["size"] = rng.integers(1, 10, n)
    b.apply(ev)
    assert b.n_orders == n
    assert b.lv.shape[2] >= 400 and b.od.shape[0] >= n
    total = sum(b.levels(s, 10_000)[1].sum() for s in ("bid", "ask"))
    assert total == ev["size"].sum()
    for oid in (1, 777, n):
        assert b.queue_position(oid) is not None


def test_clear_event_empties_book_and_index():
    b = L3Book(1.0)
    b.add(1, BUY, 10, 1)
    b.add(2, SELL, 11, 1)
    ev = np.zeros(1, MBO)
    ev["event"] = MBO_CLEAR
    b.apply(ev)
    assert b.n_orders == 0 and b.n_levels("bid") == 0 and b.n_levels("ask") == 0
    assert b.queue_position(1) is None
    assert b.add(1, BUY, 10, 1) == C.OK  # the id is free again


# --- property test against a plain-Python FIFO reference ------------------------------------
class _Ref:
    def __init__(self):
        self.levels = {BUY: {}, SELL: {}}
        self.orders = {}

    def add(self, oid, s, p, q):
        self.levels[s].setdefault(p, deque()).append([oid, q])
        self.orders[oid] = (s, p)

    def reduce(self, oid, q, delete):
        s, p = self.orders[oid]
        dq = self.levels[s][p]
        for o in dq:
            if o[0] == oid:
                o[1] = 0 if delete else o[1] - q
                if o[1] == 0:
                    dq.remove(o)
                    del self.orders[oid]
                break
        if not dq:
            del self.levels[s][p]

    def modify(self, oid, s, p, q):
        os_, op = self.orders[oid]
        cur = next(o for o in self.levels[os_][op] if o[0] == oid)
        if os_ == s and op == p and q <= cur[1]:
            cur[1] = q
            return
        self.reduce(oid, 0, True)
        self.add(oid, s, p, q)

    def position(self, oid):
        s, p = self.orders[oid]
        ahead = 0
        for o in self.levels[s][p]:
            if o[0] == oid:
                return ahead
            ahead += o[1]


def _ops(seed, n):
    """A consistent random MBO stream (adds never cross the opposite best)."""
    rng = np.random.default_rng(seed)
    ref = _Ref()
    rows = []
    nid = 1
    for _ in range(n):
        u = rng.random()
        bids = sorted(ref.levels[BUY], reverse=True)
        asks = sorted(ref.levels[SELL])
        if u < 0.45 or not ref.orders:
            s = BUY if rng.random() < 0.5 else SELL
            off = int(rng.integers(0, 6))
            p = (asks[0] if asks else 105) - 1 - off if s == BUY else (bids[0] if bids else 95) + 1 + off
            q = int(rng.integers(1, 20))
            rows.append((MBO_ADD, nid, s, p, q))
            ref.add(nid, s, p, q)
            nid += 1
            yield rows[-1], ref
            continue
        oid = int(rng.choice(list(ref.orders)))
        s, p = ref.orders[oid]
        have = next(o[1] for o in ref.levels[s][p] if o[0] == oid)
        if u < 0.6:
            q = int(rng.integers(1, have + 1))
            rows.append((MBO_CANCEL, oid, s, p, q))
            ref.reduce(oid, q, False)
        elif u < 0.75:
            rows.append((MBO_DELETE, oid, s, p, have))
            ref.reduce(oid, have, True)
        elif u < 0.9:
            lvl = ref.levels[s][sorted(ref.levels[s], reverse=(s == BUY))[0]]
            oid, have = lvl[0]
            q = int(rng.integers(1, have + 1))
            rows.append((MBO_EXECUTE, oid, s, ref.orders[oid][1], q))
            ref.reduce(oid, q, False)
        else:
            q = int(rng.integers(1, 25))
            opp = ref.levels[SELL if s == BUY else BUY]
            lim = (min(opp) - 1 if s == BUY else max(opp) + 1) if opp else None
            np_ = p + int(rng.integers(-2, 3))
            if lim is not None:
                np_ = min(np_, lim) if s == BUY else max(np_, lim)
            rows.append((MBO_MODIFY, oid, s, np_, q))
            ref.modify(oid, s, np_, q)
        yield rows[-1], ref


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300))
def test_l3_matches_fifo_reference_never_crosses_and_conserves_quantity(seed, n):
    b = L3Book(1.0, level_capacity=16, order_capacity=16)
    for (ev, oid, s, p, q), ref in _ops(seed, n):
        st_ = b._event(ev, oid, s, float(p), float(q), 0)
        assert st_ == C.OK
        for side, name in ((BUY, "bid"), (SELL, "ask")):
            want = sorted(ref.levels[side], reverse=(side == BUY))
            prices, sizes = b.levels(name, 10_000)
            assert prices.tolist() == want
            assert sizes.tolist() == [sum(o[1] for o in ref.levels[side][x]) for x in want]
            for k, x in enumerate(want):  # FIFO order of every level
                assert b.orders_at(name, k)[0].tolist() == [o[0] for o in ref.levels[side][x]]
        assert not b.is_crossed()
        assert b.n_orders == len(ref.orders)
        total = sum(b.levels(x, 10_000)[1].sum() for x in ("bid", "ask"))
        assert total == sum(o[1] for side in ref.levels.values() for dq in side.values() for o in dq)
        if ref.orders:
            some = next(iter(ref.orders))
            assert b.queue_position(some).qty_ahead == ref.position(some)
