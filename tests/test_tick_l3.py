"""L3 (order-by-order) fills: the simulated order sits in the real FIFO queue; checked by hand
and against a plain-Python FIFO oracle."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tick_helpers import mbo

from data.schema import MBO_ADD, MBO_CANCEL, MBO_EXECUTE, MBO_EXECUTE_HIDDEN
from engine.tick import TickConfig, TickSim, build_feed
from engine.types import BUY, CANCELLED, FILLED, MAKER, SELL

BASE = [(10, MBO_ADD, 1, BUY, 100.00, 5), (11, MBO_ADD, 2, SELL, 100.05, 5)]


def _sim(rows, **cfg):
    feed = build_feed(mbo=mbo(rows), tick_size=0.01, lot_size=1.0)
    return TickSim(feed, TickConfig(**cfg))


def _bid_qty(sim):
    return sim.book().best_bid()[1]


@pytest.mark.parametrize("partial, sizes, ts", [(True, [2.0, 1.0], [50, 60]), (False, [3.0], [50])])
def test_fifo_fill_only_when_an_order_behind_us_executes(partial, sizes, ts):
    rows = BASE + [(30, MBO_ADD, 3, BUY, 100.00, 4),  # joins behind us
                   (40, MBO_EXECUTE, 1, BUY, 100.00, 5),  # ahead of us: no fill
                   (50, MBO_EXECUTE, 3, BUY, 100.00, 2),  # behind us: we would have traded
                   (60, MBO_EXECUTE, 3, BUY, 100.00, 2)]
    sim = _sim(rows, entry_latency=5, partial_fills=partial)
    sim.advance(12)
    oid = sim.submit(BUY, 3.0, limit=100.00)
    sim.advance(20)
    assert sim.queue_ahead(oid) == 5.0 and _bid_qty(sim) == 8.0  # 5 + our 3
    sim.advance(45)
    assert len(sim.fills) == 0 and sim.queue_ahead(oid) == 0.0
    sim.advance(None)
    f = sim.fills
    assert list(f["size"]) == sizes and list(f["ts"]) == ts
    assert (f["price"] == 100.0).all() and (f["liquidity"] == MAKER).all()
    assert (f["queue_ahead"] == 5.0).all()
    assert sim.orders[oid]["status"] == FILLED
    assert _bid_qty(sim) == 0.0  # id 3's last 0 lots + our order gone


def test_hidden_execution_and_trade_through_fill_us():
    rows = BASE + [(30, MBO_EXECUTE_HIDDEN, 9, BUY, 100.00, 2),
                   (40, MBO_EXECUTE, 7, BUY, 99.99, 1)]
    sim = _sim(rows, entry_latency=5)
    sim.advance(12)
    oid = sim.submit(BUY, 3.0, limit=100.00)
    sim.advance(None)
    assert list(sim.fills["size"]) == [2.0, 1.0]
    assert sim.orders[oid]["status"] == FILLED


def test_opposite_add_through_our_price_fills_us_in_full():
    rows = BASE + [(30, MBO_ADD, 5, SELL, 100.00, 1)]
    sim = _sim(rows, entry_latency=5)
    sim.advance(12)
    sim.submit(BUY, 3.0, limit=100.00)
    sim.advance(None)
    assert list(sim.fills["size"]) == [3.0] and sim.fills["ts"][0] == 30


def test_cancel_takes_our_size_out_of_the_book_and_taker_skips_own_orders():
    rows = BASE + [(100, MBO_ADD, 3, BUY, 100.00, 4)]
    sim = _sim(rows, entry_latency=5)
    sim.advance(12)
    a = sim.submit(SELL, 2.0, limit=100.05)  # rests behind id 2 at the ask
    sim.advance(20)
    assert sim.book().best_ask()[1] == 7.0
    b = sim.submit(BUY, 6.0, limit=100.05, tif="IOC")  # may take id 2's 5, never our own 2
    sim.advance(30)
    assert list(sim.fills["order_id"]) == [b] and sim.fills["size"][0] == 5.0
    sim.cancel(a)
    sim.advance(None)
    assert sim.orders[a]["status"] == CANCELLED
    assert sim.book().best_ask()[1] == 5.0  # the replay is not changed by our taker fill


@st.composite
def _level_flow(draw):
    """Random order flow at one bid level: adds, partial cancels, executions of the first real
    order (as a recorded feed shows them), our order arriving before event k."""
    n = draw(st.integers(3, 40))
    ops = [draw(st.tuples(st.sampled_from(["add", "add", "cancel", "exec"]),
                          st.integers(1, 9), st.integers(0, 50))) for _ in range(n)]
    k = draw(st.integers(0, n))
    own = draw(st.integers(1, 12))
    return ops, k, own


def _oracle(ops, k, own):
    """Plain-Python FIFO with our order: returns the event rows and our expected fills."""
    queue = []  # [id, size]; id -1 is ours
    rows, fills = [], []
    nxt = 1
    for j, (op, size, pick) in enumerate(ops):
        if j == k:
            queue.append([-1, own])
        ts = 100 * (j + 1)
        real = [q for q in queue if q[0] != -1]
        if op == "add" or not real:
            rows.append((ts, MBO_ADD, nxt, BUY, 50.00, size))
            queue.append([nxt, size])
            nxt += 1
        elif op == "cancel":
            q = real[pick % len(real)]
            d = min(size, q[1])
            rows.append((ts, MBO_CANCEL, q[0], BUY, 50.00, d))
            q[1] -= d
        else:
            q = real[0]
            d = min(size, q[1])
            rows.append((ts, MBO_EXECUTE, q[0], BUY, 50.00, d))
            me = next((x for x in queue if x[0] == -1), None)
            if me is not None and queue.index(me) < queue.index(q):
                got = min(d, me[1])
                fills.append((ts, got))
                me[1] -= got
            q[1] -= d
        queue = [q for q in queue if q[1] > 0]
    return rows, fills


@settings(max_examples=150, deadline=None)
@given(_level_flow())
def test_fifo_matches_a_plain_python_queue(case):
    ops, k, own = case
    rows, expect = _oracle(ops, k, own)
    sim = _sim([(1, MBO_ADD, 999, SELL, 60.00, 1)] + rows, entry_latency=10)
    sim.advance(100 * (k + 1) - 50)  # our order arrives 40 ns before event k
    oid = sim.submit(BUY, float(own), limit=50.00)
    sim.advance(None)
    got = [(int(t), float(q)) for t, q in zip(sim.fills["ts"], sim.fills["size"], strict=True)]
    assert got == [(t, float(q)) for t, q in expect]
    o = sim.orders[oid]
    assert o["filled_size"] == sum(q for _, q in expect)
    assert (o["status"] == FILLED) == (o["filled_size"] == own)


def test_lobster_goog_sample_fills_are_consistent(samples):
    from data.readers.lobster import read_lobster
    from engine.tick.feed import lobster_feed

    m = samples / "lob" / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
    lob = read_lobster(m, str(m).replace("message", "orderbook"))
    feed = lobster_feed(lob)
    sim = TickSim(feed, TickConfig(entry_latency=100_000))
    sim.advance(feed.start + 10**9)
    bid, _, ask, _ = sim.book().best()
    oid = sim.submit(BUY, 100.0, limit=bid)
    sim.advance(feed.start + 120 * 10**9)
    f = sim.fills
    assert len(f) > 0 and (f["price"] == bid).all() and f["size"].sum() <= 100.0
    assert (f["ts"] >= sim.orders[oid]["ts"] + 100_000).all()
    assert not sim.book().is_crossed()


def test_hidden_execution_far_from_our_price_does_not_fill_us():
    """Regression: hidden executions once kept price 0 and looked like trades through every
    resting buy."""
    rows = BASE + [(30, MBO_EXECUTE_HIDDEN, 9, BUY, 100.02, 2),
                   (40, MBO_EXECUTE_HIDDEN, 9, SELL, 100.005, 2)]
    sim = _sim(rows, entry_latency=5)
    sim.advance(12)
    sim.submit(BUY, 3.0, limit=99.90)
    sim.submit(SELL, 3.0, limit=100.01)
    sim.advance(None)
    assert len(sim.fills) == 0
