"""Stop, stop-limit and GTD orders in the tick simulator (engine/tick/stops_nb.py): hand-built
books and trades with the expected fills worked out by hand, both stop triggers, latency, and
parity of the Python hooks with a compiled step that sends the same orders."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from benchmarks.synth import generate_l2
from data.errors import ConfigError
from data.schema import BUY, DEPTH, DEPTH_SNAPSHOT, SELL, TRADE
from engine.book.codes import NO_TICK
from engine.book.l2_nb import l2_best_nb
from engine.tick import TickConfig, TickSim, build_feed, run_compiled, run_tick
from engine.tick import layout as L
from engine.tick.orders_nb import submit_ex_nb
from engine.types import (
    EXPIRED,
    FILLED,
    GTC,
    GTD,
    MARKET,
    NEW,
    REJECTED,
    STOP,
    STOP_LIMIT,
    TAKER,
    WORKING,
)

T0 = 1_700_000_000_000_000_000
US = 1_000


def _depth(rows):
    a = np.zeros(len(rows), DEPTH)
    for k, (t, side, px, q) in enumerate(rows):
        a[k] = (T0 + t, T0 + t, side, px, q, DEPTH_SNAPSHOT if t == 0 else 0)
    return a


def _trades(rows):
    a = np.zeros(len(rows), TRADE)
    for k, (t, px, q, side) in enumerate(rows):
        a[k] = (T0 + t, T0 + t, px, q, side)
    return a


BOOK0 = [(0, BUY, 100.0, 5.0), (0, BUY, 99.9, 2.0), (0, BUY, 99.8, 1.0), (0, BUY, 99.7, 2.0),
         (0, SELL, 100.1, 5.0), (0, SELL, 100.2, 1.0), (0, SELL, 100.4, 3.0)]


def _sim(depth, trade, **cfg):
    feed = build_feed(depth=_depth(depth), trade=_trades(trade), tick_size=0.1)
    kw = dict(entry_latency=10 * US, response_latency=5 * US)
    kw.update(cfg)
    return TickSim(feed, TickConfig(**kw))


def test_buy_stop_triggers_on_a_trade_after_its_arrival():
    # t=5us: a trade at 100.4 (>= stop 100.3) before the order reaches the exchange (t=10us):
    # ignored. t=20us: trade at 100.2 < stop. t=30us: trade at 100.4 sweeps the asks (the
    # depth rows of t=30us follow it); the stop triggers at 30us and, processed after every
    # row of 30us, buys 2 at the only ask left: 100.4 (size 2).
    depth = BOOK0 + [(30 * US, SELL, 100.1, 0.0), (30 * US, SELL, 100.2, 0.0),
                     (30 * US, SELL, 100.4, 2.0)]
    trade = [(5 * US, 100.4, 1.0, BUY), (20 * US, 100.2, 1.0, BUY), (30 * US, 100.4, 1.0, BUY)]
    sim = _sim(depth, trade)
    sim.advance(until=T0)
    oid = sim.submit(BUY, 2.0, stop=100.3)
    sim.advance(until=T0 + 12 * US)
    o = sim.orders[oid]
    assert o["type"] == STOP and o["status"] == WORKING and sim.oi[oid, L.OI_ARMED] == 1
    assert sim.local_status(oid) == NEW and len(sim.fills) == 0  # the ack arrives at 15us
    sim.advance(until=T0 + 29 * US)
    assert len(sim.fills) == 0 and sim.oi[oid, L.OI_ARMED] == 1
    sim.advance(until=T0 + 34 * US)  # filled at 30us, the strategy hears at 35us
    f = sim.fills
    assert len(f) == 1 and f["ts"][0] == T0 + 30 * US and f["price"][0] == 100.4
    assert f["size"][0] == 2.0 and f["liquidity"][0] == TAKER
    assert sim.orders[oid]["status"] == FILLED and sim.position == 0.0
    sim.advance(until=T0 + 35 * US)
    assert sim.position == 2.0 and sim.local_status(oid) == FILLED


def test_sell_stop_limit_book_trigger_and_trade_trigger():
    # t=40us: the bids 100.0 and 99.9 are cancelled: best bid 99.8 <= stop 99.8. With the book
    # trigger the stop-limit (limit 99.7) becomes a limit sell at 40us: 1 @ 99.8, 2 @ 99.7.
    # With the trade trigger nothing trades at or below 99.8: it stays armed.
    depth = BOOK0 + [(40 * US, BUY, 100.0, 0.0), (40 * US, BUY, 99.9, 0.0)]
    trade = [(50 * US, 100.1, 1.0, BUY)]
    for trig, n_fills in (("book", 2), ("trade", 0)):
        sim = _sim(depth, trade, stop_trigger=trig)
        sim.advance(until=T0)
        oid = sim.submit(SELL, 3.0, stop=99.8, limit=99.7)
        sim.advance()
        f = sim.fills
        assert len(f) == n_fills
        o = sim.orders[oid]
        assert o["type"] == STOP_LIMIT and o["stop_price"] == 99.8 and o["limit_price"] == 99.7
        if n_fills:
            assert list(f["price"]) == [99.8, 99.7] and list(f["size"]) == [1.0, 2.0]
            assert (f["ts"] == T0 + 40 * US).all() and o["status"] == FILLED
            assert sim.exchange_position == -3.0
        else:
            assert o["status"] == WORKING and sim.oi[oid, L.OI_ARMED] == 1


def test_book_trigger_on_arrival_when_already_through():
    # a buy stop at 100.0 reaches the exchange with the best ask at 100.1 >= 100.0: triggered on
    # arrival (book trigger), bought at 100.1 at t=10us; with the trade trigger it waits.
    trade = [(50 * US, 100.1, 1.0, BUY)]
    sim = _sim(BOOK0, trade, stop_trigger="book")
    sim.advance(until=T0)
    sim.submit(BUY, 1.0, stop=100.0)
    sim.advance()
    assert list(sim.fills["ts"]) == [T0 + 10 * US] and list(sim.fills["price"]) == [100.1]
    sim = _sim(BOOK0, trade, stop_trigger="trade")
    sim.advance(until=T0)
    sim.submit(BUY, 1.0, stop=100.0)
    sim.advance()  # the trade at 50us (100.1 >= 100.0) triggers it; the ask 100.1 is there
    assert list(sim.fills["ts"]) == [T0 + 50 * US] and list(sim.fills["price"]) == [100.1]


def test_gtd_expires_after_expire_ts_at_exchange_time():
    # two resting buys at 99.9 (queue ahead 2), GTD. A sell trade of 5 at 99.9 at t=60us fills
    # 3 of what is ahead + behind: the order expiring at 60us still fills (live through its
    # expiry time); the one expiring at 59us expired before the trade.
    trade = [(60 * US, 99.9, 5.0, SELL)]
    sim = _sim(BOOK0, trade)
    sim.advance(until=T0)
    a = sim.submit(BUY, 1.0, limit=99.9, tif="GTD", expire_ts=T0 + 59 * US)
    b = sim.submit(BUY, 1.0, limit=99.9, expire_ts=T0 + 60 * US)  # GTC + expire_ts: GTD
    c = sim.submit(BUY, 1.0, limit=99.9, tif="GTD", expire_ts=T0 + 5 * US)  # arrives at 10us
    sim.advance()
    o = sim.orders
    assert o["tif"][a] == GTD and o["tif"][b] == GTD
    assert o["status"][a] == EXPIRED and o["update_ts"][a] == T0 + 59 * US
    assert o["status"][b] == FILLED and sim.fills["order_id"].tolist() == [b]
    assert o["status"][c] == EXPIRED and o["update_ts"][c] == T0 + 10 * US
    assert sim.fills["ts"][0] == T0 + 60 * US
    assert sim.local_status(a) == EXPIRED  # the strategy heard of it


def test_stop_and_gtd_errors_and_rejects():
    sim = _sim(BOOK0, [(50 * US, 100.1, 1.0, BUY)])
    with pytest.raises(ConfigError, match="expire_ts"):
        sim.submit(BUY, 1.0, limit=99.9, tif="GTD")
    with pytest.raises(ConfigError, match="stop price"):
        sim.submit(BUY, 1.0, stop=100.33)
    with pytest.raises(ConfigError, match="stop trigger"):
        TickConfig(stop_trigger="mark")
    # a stop with a reduce-only flag triggered while flat is rejected at the trigger
    sim.advance(until=T0)
    oid = sim.submit(BUY, 1.0, stop=100.0, reduce_only=True)
    sim.advance()
    assert sim.orders[oid]["status"] == REJECTED


# --- parity: the same stop / GTD orders from Python hooks and from a compiled step ---------
class StopPlayer:
    """Every timer wake, alternately: a buy stop one tick above the ask (GTD 30 ms) and a sell
    stop-limit one tick under the bid (limit 3 ticks under); every 5th wake a reduce-only
    market order flattens what the strategy knows of its position. It stops after 120 wakes
    (a strategy that keeps sending orders keeps the run going after the data ends)."""

    timer_ns = 10_000_000

    def __init__(self):
        self.k = 0

    def on_timer(self, ctx):
        bid, ask = ctx.best_ticks()
        if bid is None or ask is None or self.k >= 120:  # 120 wakes: the data lasts ~1.4 s
            return
        k = self.k
        self.k += 1
        p = ctx.price_of_tick
        if k % 2 == 0:
            ctx.buy(size=1.0, stop=p(ask + 1), expire=ctx.now + 30_000_000)
        else:
            ctx.sell(size=1.0, stop=p(bid - 1), limit=p(bid - 3))
        pos = ctx.position()
        if k % 5 == 4 and pos != 0.0:
            (ctx.sell if pos > 0 else ctx.buy)(size=abs(pos), reduce_only=True)


@njit(cache=True)
def stop_player_step_nb(code, D, T, BL, OS, sv, cf, P, S):
    if code != L.W_UNTIL:
        return
    dq, ok, oq, meta = BL
    bid, _q = l2_best_nb(dq, ok, oq, meta, 0)
    ask, _q = l2_best_nb(dq, ok, oq, meta, 1)
    if bid == NO_TICK or ask == NO_TICK or S[0] >= 120.0:
        return
    orders, oi, of, live = OS
    k = np.int64(S[0])
    S[0] += 1.0
    now = sv[L.S_NOW]
    if k % 2 == 0:
        submit_ex_nb(sv, cf, orders, oi, of, live, now, 1, STOP, GTD, 0, 1.0, 0, ask + 1,
                     now + 30_000_000, 0)
    else:
        submit_ex_nb(sv, cf, orders, oi, of, live, now, -1, STOP_LIMIT, GTC, 0, 1.0, bid - 3,
                     bid - 1, 0, 0)
    pos = cf[L.C_LPOS]
    if k % 5 == 4 and pos != 0.0:
        side = -1 if pos > 0 else 1
        submit_ex_nb(sv, cf, orders, oi, of, live, now, side, MARKET, GTC, 2, abs(pos), 0, 0, 0,
                     0)


@pytest.mark.parametrize("trigger", ["trade", "book"])
def test_stop_orders_python_hooks_equal_compiled(trigger):
    g = generate_l2(30_000, seed=7)
    feed = build_feed(depth=g["depth"], trade=g["trade"], tick_size=0.01,
                      feed_latency=("exponential", 100_000, 200_000), seed=3)
    cfg = TickConfig(entry_latency=("uniform", 200_000, 3_000_000), response_latency=500_000,
                     taker_fee=7e-4, stop_trigger=trigger, seed=4)
    py = run_tick(StopPlayer(), feed, cfg)
    cc = run_compiled(stop_player_step_nb, feed, cfg, timer_ns=10_000_000, state=np.zeros(4))
    assert len(py.orders) > 100 and len(py.fills) > 20
    st = py.orders["status"]
    assert (st == EXPIRED).sum() > 5 and (py.orders["type"] == STOP_LIMIT).sum() > 20
    assert py.orders.tobytes() == cc.orders.tobytes()
    assert py.fills.tobytes() == cc.fills.tobytes()
    # no stop fill before the order reached the exchange
    o = py.orders
    for f in py.fills:
        oo = o[f["order_id"]]
        if oo["type"] in (STOP, STOP_LIMIT):
            assert f["ts"] >= oo["ts"] + py.sim.oi[f["order_id"], L.OI_LAT]
