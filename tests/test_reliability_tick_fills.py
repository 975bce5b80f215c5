"""Fill invariants of the tick simulator under hypothesis: generated L2 books (seeds, sizes and
tick sizes drawn) and a slice of the LOBSTER GOOG day (L3), traded by a seeded random trader
(market, limit, IOC, FOK, post-only, reduce-only orders; cancels of live, dead and unknown
ids) through ``engine.run`` (L2: fills booked by the accountant, equity sampled) and
``run_tick`` (L3).

tests/test_tick_invariants.py holds the simulator alone to these rules on one generated feed;
this suite adds what it does not cover: generated books, the L3 path, maker fills only on a
market event that reaches the order's price, resting orders never crossed at any wake, and the
accounting (cash + position value == equity at every sampled point, cash and position from the
fill log). Counts are printed at the end of the run (``tick fill invariants``).
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_oracle import fuzz_settings
from hypothesis import example, given
from hypothesis import strategies as st
from reliability_orders import COUNTS
from test_tick_invariants import _check_taker_prices

import engine
from benchmarks.synth import generate_l2
from data.schema import MBO_ADD, MBO_EXECUTE, MBO_EXECUTE_HIDDEN
from engine.book.codes import NO_TICK
from engine.book.l2_nb import l2_best_nb
from engine.tick import build_feed
from engine.tick import layout as L
from engine.types import BUY, CANCELLED, FILLED, MAKER, REJECTED, SELL, TAKER
from strategies.base import Strategy


def _check_uncrossed(sim):
    """Resting orders are never crossed by the exchange book after matching. The one allowed
    touch: an order that took the opposite level at its own limit on arrival and rests with the
    rest (the replayed book does not remove what a simulated order took, docs/tick_fills.md)."""
    bb, _ = l2_best_nb(*sim.BX, 0)
    ba, _ = l2_best_nb(*sim.BX, 1)
    f = sim.fills_arr[: int(sim.sv[L.S_NFILL])]
    for i in sim.live[: sim.sv[L.S_NLIVE]]:
        if sim.oi[i, L.OI_REST] != 1:
            continue
        t = sim.oi[i, L.OI_TICK]
        buy = sim.orders_arr[i]["side"] > 0
        other = ba if buy else bb
        if other == NO_TICK or (t < other if buy else t > other):
            continue
        took = f[(f["order_id"] == i) & (f["liquidity"] == TAKER)]
        assert other == t and len(took) and np.isclose(took["price"].max() if buy else
                                                       took["price"].min(),
                                                       sim.orders_arr[i]["limit_price"]), \
            f"resting order {i} at tick {t} crossed by the book ({bb}, {ba})"
        COUNTS["tick fill invariants: rests at a level it took on arrival"] += 1


class RandomTickTrader(Strategy):
    """Every ``timer_ns``: a random order or cancel, from a seeded generator."""

    name = "random_tick_trader"
    timer_ns: int = 50_000_000
    seed: int = 0
    qty: float = 1.0
    check_book: bool = True

    def init(self, ctx):
        self.rng = np.random.default_rng(self.seed)
        self.sent = []
        self.uncrossed_checks = 0

    def on_timer(self, ctx):
        r = self.rng
        sim = ctx._sim
        if self.check_book and sim.feed.kind == "l2":
            _check_uncrossed(sim)  # resting orders never crossed by the exchange book
            self.uncrossed_checks += 1
        if self.sent and r.random() < 0.3:
            pick = r.integers(-1, len(self.sent) + 2)  # live, dead and unknown ids
            ctx.cancel(int(self.sent[pick]) if 0 <= pick < len(self.sent) else int(pick) + 10**6)
            return
        bb, ba = ctx.best_ticks()
        side = BUY if r.random() < 0.5 else SELL
        kind = r.choice(["market", "limit", "limit", "ioc", "fok", "post", "reduce"])
        ref = bb if side == BUY else ba
        if ref is None and kind != "market":
            return
        size = float(r.integers(1, 6)) * self.qty
        limit = None if kind == "market" else ctx.price_of_tick(int(ref) + int(r.integers(-3, 4)))
        if kind == "reduce":
            pos = ctx.position()
            if pos == 0:
                return
            side = SELL if pos > 0 else BUY
            limit = None
        send = ctx.buy if side == BUY else ctx.sell
        oid = send(size=size, limit=limit, tif={"ioc": "IOC", "fok": "FOK"}.get(kind, "GTC"),
                   post_only=kind == "post", reduce_only=kind == "reduce")
        self.sent.append(oid)


def check_fills(sim, res_fills, orders, market_events) -> None:
    """Order-level invariants (module docstring). ``market_events(fill)`` -> True when a market
    event at the fill's exchange time reaches a maker order's price."""
    f = res_fills
    n = len(orders)
    assert len(np.unique(f["fill_id"])) == len(f)  # no fill twice
    by = np.bincount(f["order_id"], weights=f["size"], minlength=n) if len(f) else np.zeros(n)
    for oid in range(n):
        o = orders[oid]
        fo = f[f["order_id"] == oid]
        assert by[oid] == pytest.approx(o["filled_size"], abs=1e-9)
        assert o["filled_size"] <= o["size"] * (1 + 1e-12)  # quantities conserved
        if o["status"] == REJECTED:
            assert len(fo) == 0
        if o["status"] == FILLED:
            assert o["filled_size"] == pytest.approx(o["size"])
        if len(fo):
            # no fill before submit + entry latency, none after a cancel reached the exchange
            assert (fo["ts"] >= o["ts"] + sim.oi[oid, L.OI_LAT]).all()
            assert (fo["ts"] >= sim.oi[oid, L.OI_ARRIVE]).all()
            assert (fo["ts"] <= sim.oi[oid, L.OI_CXL]).all()
            if o["status"] == CANCELLED:
                assert fo["ts"].max() <= o["update_ts"]
    assert sim.exchange_position == pytest.approx(float((f["side"] * f["size"]).sum()), abs=1e-9)
    mk = f[f["liquidity"] == MAKER]
    assert np.allclose(mk["price"], orders["limit_price"][mk["order_id"]])  # makers at the limit
    for fl in mk:
        assert market_events(fl, orders[fl["order_id"]]), \
            f"maker fill at {fl['ts']} without a market event reaching its price"
    COUNTS["tick fill invariants: orders"] += n
    COUNTS["tick fill invariants: fills"] += len(f)
    COUNTS["tick fill invariants: maker fills traced to an event"] += len(mk)


def _l2_events(g):
    d, tr = g["depth"], g["trade"]

    def reaches(fl, o):
        lim = o["limit_price"]
        buy = o["side"] == BUY
        t = tr[tr["ts"] == fl["ts"]]
        if len(t) and (np.any(t["price"] <= lim + 1e-9) if buy else np.any(t["price"] >= lim - 1e-9)):
            return True
        x = d[(d["ts"] == fl["ts"]) & (d["size"] > 0) & (d["side"] == (SELL if buy else BUY))]
        return bool(len(x) and (np.any(x["price"] <= lim + 1e-9) if buy
                                else np.any(x["price"] >= lim - 1e-9)))
    return reaches


def check_accounts(res, cash0: float) -> None:
    """cash + position value == equity at every sampled point; cash, fees and position equal
    what the fill log implies up to that point."""
    e = res.equity_rec
    f = res.fills_rec
    bars = res.market.bars[res.symbols[0]]
    assert np.allclose(e["equity"], e["cash"] + e["positions_value"], rtol=0, atol=1e-6)
    # the sample closing at / after a fill (a fill of an order still in flight when the data
    # ended can come after the last sample: booked in the last one, as the engine does)
    k = np.minimum(np.searchsorted(bars["ts"], f["ts"], side="left"), len(e) - 1)
    flow = np.bincount(k, weights=-(f["side"] * f["size"] * f["price"]) - f["fee"],
                       minlength=len(e))[: len(e)]
    pos = np.cumsum(np.bincount(k, weights=f["side"] * f["size"], minlength=len(e))[: len(e)])
    assert np.allclose(e["cash"], cash0 + np.cumsum(flow), rtol=1e-12, atol=1e-6)
    assert np.allclose(e["fees"], np.cumsum(np.bincount(k, weights=f["fee"], minlength=len(e))
                                            [: len(e)]), atol=1e-9)
    assert np.allclose(e["positions_value"], pos * bars["close"], rtol=1e-12, atol=1e-6)
    COUNTS["tick fill invariants: equity rows"] += len(e)


@fuzz_settings(30)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2_000, 8_000),
       queue=st.sampled_from(["conservative", "probabilistic"]), partial=st.booleans(),
       entry=st.sampled_from([0, 300_000, ("exponential", 100_000, 2_000_000)]),
       resp=st.sampled_from([0, 1_000_000]), flat=st.sampled_from(["none", "recorded", 500_000]),
       timer=st.sampled_from([5_000_000, 50_000_000]))
# found by a 300-case run: a buy took the ask's 1 unit at its limit and rests with the rest at
# that price, which the replayed book still shows (allowed by _check_uncrossed, see there)
@example(seed=502, n=2000, queue="conservative", partial=False, entry=0, resp=0, flat="none",
         timer=5_000_000)
def test_random_orders_on_generated_books_keep_the_fill_invariants(seed, n, queue, partial,
                                                                    entry, resp, flat, timer):
    g = generate_l2(n, seed=seed % 10_000)
    feed = build_feed(depth=g["depth"], trade=g["trade"], tick_size=0.01,
                      seq={"depth": g["depth_seq"], "trade": g["trade_seq"]}, feed_latency=flat)
    strat = RandomTickTrader(seed=seed, timer_ns=timer)
    res = engine.run(market=feed, strategy=strat, cash=1_000_000.0, seed=seed % 1000,
                     tick={"queue": queue, "partial_fills": partial, "entry_latency": entry,
                           "response_latency": resp, "maker_fee": -0.0001, "taker_fee": 0.001,
                           "sample": 20_000_000})
    sim = res.tick.sim
    orders = res.orders_rec
    check_fills(sim, res.fills_rec, orders, _l2_events(g))
    tk = res.fills_rec[res.fills_rec["liquidity"] == TAKER]
    if len(tk):
        _check_taker_prices(g, tk)  # takers within the levels the book held at that time
    _check_uncrossed(sim)
    check_accounts(res, 1_000_000.0)
    assert np.allclose(res.fills_rec["fee"], np.where(res.fills_rec["liquidity"] == MAKER,
                       -0.0001, 0.001) * res.fills_rec["size"] * res.fills_rec["price"])
    COUNTS["tick fill invariants: L2 runs"] += 1
    COUNTS["tick fill invariants: uncrossed checks"] += strat.uncrossed_checks + 1


@pytest.fixture(scope="module")
def goog():
    from lookahead_tick import load

    return load("goog")


def _l3_events(mbo):
    def reaches(fl, o):
        lim = o["limit_price"]
        buy = o["side"] == BUY
        m = mbo[mbo["ts"] == fl["ts"]]
        ex = m[np.isin(m["event"], (MBO_EXECUTE, MBO_EXECUTE_HIDDEN))]
        if len(ex) and (np.any(ex["price"] <= lim + 1e-9) if buy
                        else np.any(ex["price"] >= lim - 1e-9)):
            return True
        ad = m[(m["event"] == MBO_ADD) & (m["side"] == (SELL if buy else BUY))]
        return bool(len(ad) and (np.any(ad["price"] <= lim + 1e-9) if buy
                                 else np.any(ad["price"] >= lim - 1e-9)))
    return reaches


@pytest.mark.slow
@fuzz_settings(8)
@given(seed=st.integers(0, 2**32 - 1), start=st.integers(0, 8_000),
       entry=st.sampled_from([0, 200_000, ("uniform", 50_000, 5_000_000)]),
       flat=st.sampled_from(["none", 100_000]))
def test_random_orders_on_the_lobster_book_keep_the_fill_invariants(goog, seed, start, entry,
                                                                     flat):
    import dataclasses

    from engine.tick import TickConfig, run_tick
    from engine.tick.feed import lobster_feed

    lob = goog.arrays["lob"]
    sl = slice(start, start + 4_000)
    lob = dataclasses.replace(lob, messages=lob.messages[sl].copy(),
                              price_int=lob.price_int[sl], orderbook=lob.orderbook[sl])
    feed = lobster_feed(lob, tick_size=0.01, feed_latency=flat, seed=seed % 1000)
    strat = RandomTickTrader(seed=seed, timer_ns=200_000_000, qty=100.0)
    res = run_tick(strat, feed, TickConfig(entry_latency=entry, response_latency=200_000,
                                           maker_fee=-0.00002, taker_fee=0.00003,
                                           seed=seed % 1000))
    check_fills(res.sim, res.fills, res.orders, _l3_events(lob.messages))
    COUNTS["tick fill invariants: L3 runs"] += 1


def test_the_random_tick_trader_makes_and_takes():
    """The random trader must produce maker and taker fills (else the suite tests nothing)."""
    g = generate_l2(4_000, seed=3)
    feed = build_feed(depth=g["depth"], trade=g["trade"], tick_size=0.01,
                      seq={"depth": g["depth_seq"], "trade": g["trade_seq"]})
    res = engine.run(market=feed, strategy=RandomTickTrader(seed=1, timer_ns=5_000_000),
                     cash=1_000_000.0, tick={"entry_latency": 100_000})
    liq = res.fills_rec["liquidity"]
    assert (liq == MAKER).sum() > 3 and (liq == TAKER).sum() > 3
    assert (res.orders_rec["status"] == CANCELLED).sum() > 0
