"""The strategy context: no look-ahead by construction, multi-timeframe views, account views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from data.errors import ConfigError, StrategyError
from data.readers import read_bars
from data.resample import resample_bars
from strategies.base import Strategy

REPO = Path(__file__).resolve().parents[1]
GOOG = read_bars(REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv").data[:400]


class Probe(Strategy):
    name = "probe"

    def init(self, ctx):
        self.full_close = ctx.data["close"].copy()
        self.ind = np.arange(len(self.full_close), dtype=float)
        self.weekly, self.widx = ctx.timeframe("W-FRI")
        self.seen = []

    def on_bar(self, ctx):
        i = ctx.i
        c = ctx.close()
        assert len(c) == i + 1 and c[-1] == self.full_close[i]
        assert len(ctx.close(n=5)) == min(5, i + 1)
        assert ctx.indicator(self.ind)[-1] == i and len(ctx.indicator("ind")) == i + 1
        assert ctx.at(self.ind) == i and (i == 0 or ctx.at(self.ind, 1) == i - 1)
        with pytest.raises(StrategyError, match="future"):
            ctx.at(self.ind, -1)
        h = ctx.history(n=3)
        assert h["ts"][-1] == ctx.now and len(h["close"]) == min(3, i + 1)
        w = ctx.bars("W-FRI")
        if len(w):
            assert w["ts"][-1] <= ctx.now  # only closed weekly bars
        nxt = self.weekly["ts"][len(w)] if len(w) < len(self.weekly) else None
        assert nxt is None or nxt > ctx.now
        with pytest.raises(StrategyError, match="only available in init"):
            ctx.data  # noqa: B018
        # equity seen now == cash + position x close
        assert ctx.equity == pytest.approx(ctx.cash + ctx.position() * c[-1], rel=1e-12)
        self.seen.append((ctx.now, ctx.equity))
        if i == 10:
            ctx.buy(size=5)
        if i == 200:
            ctx.order_target_size(None, 0)


def test_views_are_truncated_at_now_and_equity_matches_the_record():
    s = Probe()
    res = engine.run(market={"GOOG": GOOG}, strategy=s, cash=10_000.0)
    assert len(s.seen) == len(GOOG)
    seen = np.array([e for _, e in s.seen])
    np.testing.assert_allclose(seen, res.equity_rec["equity"], rtol=1e-12)
    assert len(res.fills_rec) == 2


def test_weekly_bars_are_the_resampled_closed_weeks():
    s = Probe()
    engine.run(market={"GOOG": GOOG}, strategy=s)
    ref = resample_bars(GOOG, "W-FRI")
    assert np.array_equal(s.weekly, ref)
    # idx[i] is the last week closed at bar i: its ts <= ts[i] < next week's ts
    ok = s.widx >= 0
    assert np.all(ref["ts"][s.widx[ok]] <= GOOG["ts"][ok])
    nxt = s.widx + 1
    has = nxt < len(ref)
    assert np.all(ref["ts"][nxt[has]] > GOOG["ts"][has])


class WeeklyTrend(Strategy):
    """Long when the daily close is above the 4-week SMA of weekly closes (closed weeks)."""

    name = "weekly_trend"
    weeks: int = 4

    def init(self, ctx):
        wk, idx = ctx.timeframe("W-FRI")
        c = np.concatenate([[0.0], np.cumsum(wk["close"])])
        sma = np.full(len(wk), np.nan)
        sma[self.weeks - 1:] = (c[self.weeks:] - c[:-self.weeks]) / self.weeks
        self.filt = np.where(idx >= 0, sma[np.maximum(idx, 0)], np.nan)

    def on_bar(self, ctx):
        f = ctx.indicator(self.filt)[-1]
        if f != f:
            return
        want = 1.0 if ctx.close()[-1] > f else 0.0
        if (want > 0) != (ctx.position() > 0):
            ctx.order_target_percent(None, want)


def test_multi_timeframe_strategy_runs_and_trades():
    res = engine.run(market={"GOOG": GOOG}, strategy=WeeklyTrend, cash=10_000.0,
                     commission=0.001)
    assert len(res.fills_rec) > 4
    assert res.trades["pnl"].sum() + 10_000.0 == pytest.approx(res.final_equity, rel=1e-12)


def test_orders_in_init_and_bad_symbols_are_errors():
    class Early(Strategy):
        name = "early"

        def init(self, ctx):
            ctx.buy(size=1)

    with pytest.raises(StrategyError, match="init"):
        engine.run(market={"GOOG": GOOG}, strategy=Early)

    class BadSym(Strategy):
        name = "badsym"

        def on_bar(self, ctx):
            ctx.buy("MSFT", size=1)

    with pytest.raises(ConfigError, match="MSFT"):
        engine.run(market={"GOOG": GOOG}, strategy=BadSym)

    class BadTif(Strategy):
        name = "badtif"

        def on_bar(self, ctx):
            ctx.buy(size=1, tif="GTX")

    with pytest.raises(StrategyError, match="time in force"):
        engine.run(market={"GOOG": GOOG}, strategy=BadTif)


class LimitLadder(Strategy):
    """A backtesting.py-style guard: `if not ctx.open_orders():` before placing new orders."""

    name = "limit_ladder"

    def init(self, ctx):
        self.truth = []

    def on_bar(self, ctx):
        live = ctx.open_orders()
        self.truth.append((bool(live), len(live)))
        if not live:  # two resting limits far below the market: several live orders at once
            c = ctx.close()[-1]
            ctx.buy(size=1, limit=0.5 * c, tif="GTC")
            ctx.buy(size=1, limit=0.4 * c, tif="GTC")


def test_open_orders_is_false_when_empty_and_true_with_one_or_more():
    s = LimitLadder()
    engine.run(market={"GOOG": GOOG[:30]}, strategy=s, mode="python", cash=100_000)
    assert s.truth[0] == (False, 0)
    assert all(t == (True, 2) for t in s.truth[1:])  # a plain ndarray would raise here
    assert len(s.truth) == 30
