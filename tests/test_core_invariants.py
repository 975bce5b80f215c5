"""Accounting invariants over random order streams (hypothesis).

A random strategy sends every order type (market, limit, stop, stop-limit, trailing, brackets,
targets), cancels and replaces at random on real GOOG bars; from the fill log alone the test
re-derives cash and positions and checks, at every bar:

* cash + positions value == equity (positions valued at the close);
* the recorded cash equals the starting cash minus every fill's signed notional and fee
  (minus borrow fees), and the final equity equals the starting cash plus all trade P&L;
* no fill after a cancel / reject / expiry, no fill on the order's own bar, never more than
  the order size (no double fill), filled orders are filled exactly;
* taker fill prices without slippage lie within the bar's low..high.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from data.readers import read_bars
from engine import types as T
from strategies.base import Strategy

REPO = Path(__file__).resolve().parents[1]
GOOG = read_bars(REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv").data[:300]


class RandomTrader(Strategy):
    name = "random_trader"
    seed: int = 0
    rate: float = 0.3

    def init(self, ctx):
        self.rng = np.random.default_rng(self.seed)

    def on_bar(self, ctx):
        rng = self.rng
        if rng.random() > self.rate:
            return
        px = ctx.close()[-1]
        size = float(rng.integers(1, 30))
        side = ctx.buy if rng.random() < 0.5 else ctx.sell
        kind = rng.integers(0, 11)
        off = px * rng.uniform(0.0, 0.05)
        if kind == 0:
            side(size=size)
        elif kind == 1:
            side(size=size, limit=px - off if side == ctx.buy else px + off,
                 tif=str(rng.choice(["GTC", "DAY", "IOC", "FOK"])))
        elif kind == 2:
            side(size=size, stop=px + off if side == ctx.buy else px - off)
        elif kind == 3:
            stop = px + off if side == ctx.buy else px - off
            side(size=size, stop=stop, limit=stop + (off if side == ctx.buy else -off) / 2)
        elif kind == 4:
            side(size=size, trail=off + 0.5)
        elif kind == 5:
            side(size=size, trail_pct=float(rng.uniform(0.005, 0.05)))
        elif kind == 6:
            sgn = 1 if side == ctx.buy else -1
            side(size=size, sl=px - sgn * (off + 1), tp=px + sgn * (off + 1))
        elif kind == 7:
            ctx.order_target_percent(None, float(rng.uniform(-1, 1)))
        elif kind == 8:
            ctx.order_target_size(None, float(rng.integers(-20, 20)))
        elif kind in (9, 10):
            live = ctx.open_orders()
            if len(live):
                oid = int(rng.choice(live["order_id"]))
                if kind == 9:
                    ctx.cancel(oid)
                else:
                    o = ctx.order(oid)
                    ctx.replace(oid, size=o["size"] + 1)


def check(res, cash0, maint=0.0):
    eq = res.equity_rec
    f = res.fills_rec
    o = res.orders_rec
    close = GOOG["close"]
    n = len(eq)
    # re-derive cash and position at each bar's close from the fill log
    at = np.searchsorted(eq["ts"], f["ts"])
    signed = f["side"] * f["size"]
    dcash = -(signed * f["price"]) - f["fee"]
    pos = np.zeros(n)
    cash = np.full(n, cash0)
    np.add.at(pos, at, signed)
    np.add.at(cash, at, dcash)
    pos, cash = np.cumsum(pos), cash0 + np.cumsum(cash - cash0)
    borrow = eq["fees"] - np.cumsum(np.bincount(at, weights=f["fee"], minlength=n))
    scale = max(1.0, float(np.abs(eq["equity"]).max()))
    np.testing.assert_allclose(eq["cash"], cash - borrow, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(eq["positions_value"], pos * close, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(eq["equity"], eq["cash"] + eq["positions_value"], rtol=0,
                               atol=1e-9 * scale)
    assert res.trades["pnl"].sum() + cash0 == pytest.approx(eq["equity"][-1], abs=1e-8 * scale)
    # orders vs fills
    filled = np.bincount(f["order_id"], weights=f["size"], minlength=len(o))
    np.testing.assert_allclose(filled, o["filled_size"], rtol=1e-12, atol=1e-9)
    assert np.all(o["filled_size"] <= o["size"] * (1 + 1e-12))
    done = o["status"] == T.FILLED
    np.testing.assert_allclose(o["filled_size"][done], o["size"][done], rtol=1e-12)
    for k in range(len(f)):
        oo = o[f["order_id"][k]]
        assert f["ts"][k] > oo["ts"] or (oo["flags"] & T.F_AT_CLOSE)
        if oo["status"] in (T.CANCELLED, T.REJECTED, T.EXPIRED):
            assert f["ts"][k] <= oo["update_ts"]
        i = at[k]
        if f["slippage"][k] == 0:
            assert GOOG["low"][i] - 1e-9 <= f["price"][k] <= GOOG["high"][i] + 1e-9
    assert np.all(o["status"][o["filled_size"] == 0] != T.PARTIAL)
    check_margin(res, pos, maint)


def check_margin(res, pos, maint):
    """The margin rule from the records alone: a close where equity < maintenance x |position
    value| (or equity <= 0) sends a liquidation order unless one is still working, no
    liquidation order without such a close, and nothing but liquidations fills once equity
    was <= 0."""
    eq = res.equity_rec
    o = res.orders_rec
    f = res.fills_rec
    ts = eq["ts"]
    close = GOOG["close"]
    liq = np.flatnonzero(o["flags"] & T.F_LIQUIDATION)
    scale = max(1.0, float(np.abs(eq["equity"]).max()))
    # the check runs after the bar's fills and again after at-close fills (signal_close):
    # the state in between is the close's state less the at-close fills
    at = np.searchsorted(ts, f["ts"])
    late = (o["ts"][f["order_id"]] == f["ts"]) & ((o["flags"][f["order_id"]] & T.F_AT_CLOSE) > 0)
    signed = np.where(late, f["side"] * f["size"], 0.0)
    dpos = np.bincount(at, weights=signed, minlength=len(ts))
    dcash = np.bincount(at, weights=np.where(late, -signed * f["price"] - f["fee"], 0.0),
                        minlength=len(ts))

    def deficit(e, p, i):
        r = maint * abs(p * close[i])
        if abs(e - r) < 1e-9 * scale or abs(e) < 1e-9 * scale:
            return None  # too close to the boundary to call
        return p != 0 and (e <= 0 or e < r)

    for i in range(len(eq)):
        p0 = pos[i] - dpos[i]
        e0 = eq["cash"][i] - dcash[i] + p0 * close[i]
        d0, d1 = deficit(e0, p0, i), deficit(eq["equity"][i], pos[i], i)
        sent = liq[o["ts"][liq] == ts[i]]
        live = liq[(o["ts"][liq] < ts[i]) & ((o["update_ts"][liq] > ts[i])
                                             | ~np.isin(o["status"][liq], T.TERMINAL))]
        if d0 or d1:
            assert len(sent) + len(live) >= 1, f"bar {i}: margin deficit without liquidation"
        if len(sent) and d0 is not None and d1 is not None:
            assert d0 or d1, f"bar {i}: liquidation without a deficit"
            assert o["size"][sent[0]] in (abs(p0), abs(pos[i]))
    blown = np.flatnonzero(eq["equity"] <= 0)
    if len(blown):
        after = f["ts"] > ts[blown[0]]
        assert np.all(o["flags"][f["order_id"][after]] & T.F_LIQUIDATION)
        assert res.stats["account_blown"] is not None
    assert res.stats.get("margin_calls", 0) == len(np.unique(o["ts"][liq]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), rate=st.sampled_from([0.1, 0.5, 1.0]),
       fill_at=st.sampled_from(["next_open", "signal_close"]),
       vcap=st.sampled_from([0.0, 1e-6, 1e-4]), lev=st.sampled_from([1.0, 3.0]),
       commission=st.sampled_from([0.0, 0.001, {"model": "per_share", "per_share": 0.01,
                                                "minimum": 1.0}]),
       borrow=st.sampled_from([0.0, 0.05]), maint=st.sampled_from([0.0, 0.1, 0.3]))
def test_random_order_streams_keep_the_books(seed, rate, fill_at, vcap, lev, commission, borrow,
                                             maint):
    cash0 = 20_000.0
    res = engine.run(market={"GOOG": GOOG}, strategy=RandomTrader(seed=seed, rate=rate),
                     cash=cash0, fill_at=fill_at, volume_cap=vcap, max_leverage=lev,
                     commission=commission, borrow_rate=borrow,
                     maintenance_margin=maint if maint * lev < 1 else 0.1)
    check(res, cash0, maint if maint * lev < 1 else 0.1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), lev=st.sampled_from([3.0, 10.0]),
       maint=st.sampled_from([0.0, 0.05, 0.09]),
       fill_at=st.sampled_from(["next_open", "signal_close"]),
       vcap=st.sampled_from([0.0, 1e-5]))
def test_leveraged_streams_keep_the_books_through_margin_calls(seed, lev, maint, fill_at, vcap):
    """Highly leveraged random trading on a small account: margin calls and blown accounts
    happen, and the books and the margin rule still hold at every bar."""
    cash0 = 3_000.0
    res = engine.run(market={"GOOG": GOOG}, strategy=LevTrader(seed=seed, lev=lev), cash=cash0,
                     max_leverage=lev, maintenance_margin=maint, fill_at=fill_at,
                     volume_cap=vcap, commission=0.001, borrow_rate=0.05)
    check(res, cash0, maint)


class LevTrader(Strategy):
    """All-in leveraged targets both ways, flipping at random."""

    name = "lev_trader"
    seed: int = 0
    lev: float = 3.0

    def init(self, ctx):
        self.rng = np.random.default_rng(self.seed)

    def on_bar(self, ctx):
        r = self.rng.random()
        if r < 0.1:
            ctx.order_target_percent(None, float(self.rng.choice([-1, 1])) * self.lev * 0.95)
        elif r < 0.15:
            ctx.buy(size=float(self.rng.integers(1, 40)))
        elif r < 0.2:
            ctx.sell(size=float(self.rng.integers(1, 40)))


def test_leveraged_streams_do_reach_margin_calls():
    calls = blown = 0
    for seed in range(8):
        res = engine.run(market={"GOOG": GOOG}, strategy=LevTrader(seed=seed, lev=10.0),
                         cash=3_000.0, max_leverage=10.0, maintenance_margin=0.05)
        check(res, 3_000.0, 0.05)
        calls += res.stats.get("margin_calls", 0)
        blown += res.stats.get("account_blown") is not None
    assert calls >= 3


def test_random_stream_actually_trades():
    res = engine.run(market={"GOOG": GOOG}, strategy=RandomTrader(seed=1, rate=1.0),
                     cash=20_000.0, max_leverage=3.0)
    check(res, 20_000.0)
    o = res.orders
    assert len(res.fills_rec) > 50
    for st_ in ("filled", "cancelled", "expired"):
        assert (o["status"] == st_).any(), st_
    assert set(o["type"]) == {"market", "limit", "stop", "stop_limit", "trailing_stop"}
