"""Invariants of the L2 tick simulator under random orders on a generated feed (hypothesis):
no fill before submit + entry latency, none after the cancel reached the exchange, no double
fill, quantities conserved, taker prices inside the book of the moment, maker prices at the
limit, resting orders never crossed by the book after matching."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.synth import generate_l2
from engine.book.book import L2Book
from engine.book.codes import NO_TICK
from engine.book.l2_nb import l2_best_nb
from engine.tick import TickConfig, TickSim, build_feed
from engine.tick import layout as L
from engine.types import BUY, CANCELLED, FILLED, MAKER, REJECTED, SELL, TAKER


@pytest.fixture(scope="module")
def feed_data():
    g = generate_l2(4000, seed=11)
    return g


def _feed(g, latency):
    return build_feed(depth=g["depth"], trade=g["trade"], tick_size=0.01,
                      seq={"depth": g["depth_seq"], "trade": g["trade_seq"]},
                      feed_latency=latency)


_order = st.tuples(
    st.integers(0, 3900),  # event index at which it is sent
    st.sampled_from([BUY, SELL]),
    st.sampled_from(["market", "limit", "limit", "ioc", "fok", "post"]),
    st.integers(1, 30),  # size
    st.integers(-4, 4),  # limit offset from the touch, ticks
    st.one_of(st.none(), st.integers(1, 400)),  # cancel after this many events
)


@settings(max_examples=25, deadline=None)
@given(st.lists(_order, min_size=1, max_size=25), st.sampled_from(["conservative", "probabilistic"]),
       st.integers(0, 3_000_000), st.booleans(), st.sampled_from(["none", "recorded"]))
def test_random_orders_keep_the_invariants(feed_data, orders, queue, latency, partial, feed_lat):
    g = feed_data
    feed = _feed(g, feed_lat)
    sim = TickSim(feed, TickConfig(queue=queue, entry_latency=latency, response_latency=latency,
                                   partial_fills=partial, seed=5, taker_fee=0.001,
                                   maker_fee=-0.0001))
    times = np.sort(np.concatenate([g["depth"]["ts"], g["trade"]["ts"]]))
    plan = sorted((o[0], j) for j, o in enumerate(orders))
    cancels = []
    ids = {}
    for at, j in plan:
        _, side, kind, size, off, cxl = orders[j]
        sim.advance(int(times[at]))
        for _c_at, oid in [c for c in cancels if c[0] <= at]:
            sim.cancel(oid)
        cancels = [c for c in cancels if c[0] > at]
        bid, ask = sim.book().best_bid()[0], sim.book().best_ask()[0]
        ref = bid if side == BUY else ask
        limit = None if kind == "market" or not np.isfinite(ref) else round(ref + 0.01 * off, 2)
        if limit is None and kind != "market":
            continue
        oid = sim.submit(side, float(size), limit=limit, tif="IOC" if kind == "ioc" else
                         "FOK" if kind == "fok" else "GTC", post_only=kind == "post")
        ids[oid] = (kind, limit)
        if cxl is not None:
            cancels.append((at + cxl, oid))
        # resting orders are never crossed by the exchange book after matching
        _check_uncrossed(sim)
    sim.advance(None)
    _check_uncrossed(sim)
    f, o = sim.fills, sim.orders
    # quantities: per order fills add up, never beyond the size; position is their sum
    for oid in range(len(o)):
        fo = f[f["order_id"] == oid]
        assert fo["size"].sum() == pytest.approx(o[oid]["filled_size"])
        assert o[oid]["filled_size"] <= o[oid]["size"] * (1 + 1e-12)
        if o[oid]["status"] == REJECTED:
            assert len(fo) == 0
        if o[oid]["status"] == CANCELLED and len(fo):
            assert fo["ts"].max() <= o[oid]["update_ts"]  # nothing after the cancel
        assert (fo["ts"] >= o[oid]["ts"] + sim.oi[oid, L.OI_LAT]).all()
        assert (fo["ts"] >= sim.oi[oid, L.OI_ARRIVE]).all()
        if o[oid]["status"] == FILLED:
            assert o[oid]["filled_size"] == pytest.approx(o[oid]["size"])
    assert len(np.unique(f["fill_id"])) == len(f)
    assert sim.exchange_position == pytest.approx((f["side"] * f["size"]).sum())
    # maker fills at the limit; taker fills at a price the book held at that moment
    mk = f[f["liquidity"] == MAKER]
    assert np.allclose(mk["price"], o["limit_price"][mk["order_id"]])
    tk = f[f["liquidity"] == TAKER]
    if len(tk):
        _check_taker_prices(g, tk)
    assert np.allclose(f["fee"], np.where(f["liquidity"] == MAKER, -0.0001, 0.001)
                       * f["size"] * f["price"])


def _check_uncrossed(sim):
    bb, _ = l2_best_nb(*sim.BX, 0)
    ba, _ = l2_best_nb(*sim.BX, 1)
    for i in sim.live[: sim.sv[L.S_NLIVE]]:
        if sim.oi[i, L.OI_REST] != 1:
            continue
        t = sim.oi[i, L.OI_TICK]
        if sim.orders_arr[i]["side"] > 0:
            assert ba == NO_TICK or t < ba
        else:
            assert bb == NO_TICK or t > bb


def _check_taker_prices(g, tk):
    """Replay the depth rows up to each taker fill's time: its price must be a level on the
    side it took, at least as good as... no better than the best (buy >= best ask)."""
    d = g["depth"]
    book = L2Book(0.01)
    j = 0
    for fl in np.sort(tk, order="ts"):
        stop = np.searchsorted(d["ts"], fl["ts"], side="right")
        if stop > j:
            book.apply(d[j:stop])
            j = stop
        side = "ask" if fl["side"] == BUY else "bid"
        prices, sizes = book.levels(side, 400)
        best = prices[0]
        assert fl["price"] in set(np.round(prices, 2))
        assert fl["price"] >= best - 1e-9 if fl["side"] == BUY else fl["price"] <= best + 1e-9


def test_the_random_scenario_does_trade(feed_data):
    """The generator above must produce maker and taker fills (else it tests nothing)."""
    g = feed_data
    sim = TickSim(_feed(g, "none"), TickConfig(entry_latency=1000))
    times = np.sort(np.concatenate([g["depth"]["ts"], g["trade"]["ts"]]))
    for k in range(0, 3800, 200):
        sim.advance(int(times[k]))
        bid, ask = sim.book().best_bid()[0], sim.book().best_ask()[0]
        sim.submit(BUY, 3.0, limit=bid)
        sim.submit(SELL, 3.0, limit=ask)
        sim.submit(BUY if k % 400 else SELL, 2.0)
    sim.advance(None)
    liq = sim.fills["liquidity"]
    assert (liq == MAKER).sum() > 5 and (liq == TAKER).sum() > 5
