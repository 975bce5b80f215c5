"""Tick-run metrics on a declared sampling interval: periods per year from the interval and the
market calendar, stated in stats.json; runs too short for a metric get null with a reason."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import engine
from data.errors import ConfigError
from engine.tick.backtest import tick_periods_per_year
from reports.metrics import Conventions, compute_stats

BINANCE = "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
AS_PARAMS = dict(timer_ns=100_000_000, order_qty=0.01, max_position=0.05, gamma=0.05, kappa=0.5,
                 sigma2_init=4.0)
TICK = dict(tick_size=0.1, entry_latency=1_000_000, response_latency=1_000_000,
            maker_fee=-0.00005, taker_fee=0.0004, queue="probabilistic")
S = 10**9

pytestmark = pytest.mark.filterwarnings("ignore:.*receive time is before")


def test_periods_per_year_follow_interval_and_calendar():
    assert tick_periods_per_year(S, "24/7")[0] == 31_536_000          # 365 * 86400
    assert tick_periods_per_year(60 * S, "24/7")[0] == 525_600        # 365 * 1440
    assert tick_periods_per_year(86_400 * S, "24/7")[0] == 365
    assert tick_periods_per_year(60 * S, "session")[0] == 98_280      # 252 * 390 minutes
    assert tick_periods_per_year(S, "session")[0] == 5_896_800        # 252 * 23400
    assert tick_periods_per_year(86_400 * S, "session")[0] == 252     # a day is one session
    assert tick_periods_per_year(60 * S, "session", 3600 * S)[0] == 252 * 60
    assert "365 * 86400 s / 60 s" in tick_periods_per_year(60 * S, "24/7")[1]
    with pytest.raises(ConfigError, match="whole days"):
        tick_periods_per_year(12 * 3600 * S, "session")
    with pytest.raises(ConfigError, match="calendar"):
        tick_periods_per_year(S, "weekdays")


def test_every_step_metrics_with_declared_periods_hand_computed():
    idx = pd.date_range("2024-07-18 23:57", periods=3, freq="1s", tz="UTC")
    eq = pd.Series([100.0, 101.0, 100.5], index=idx)
    c = Conventions(sampling="none", periods_per_year=31_536_000, step="1s",
                    periods_basis="24/7: 365 * 86400 s / 1 s")
    st = compute_stats(eq, conventions=c)
    # r = [0.01, -0.0049504950495...]; mean 0.0025247524752; std(ddof=1) = 0.0105716...
    r1, r2 = 0.01, 100.5 / 101.0 - 1.0
    mean, sd = (r1 + r2) / 2, abs(r1 - r2) / math.sqrt(2)
    assert st["n_periods"] == 2
    assert st["sharpe"] == pytest.approx(mean / sd * math.sqrt(31_536_000), rel=1e-12)
    assert st["sharpe"] == pytest.approx(1341.16291, rel=1e-8)  # 0.2388222 * 5615.6923
    assert st["volatility"] == pytest.approx(sd * math.sqrt(31_536_000), rel=1e-12)
    assert st["conventions"]["step"] == "1s" and st["conventions"]["periods_per_year"] == 31_536_000
    # a 0.5 % gain in 2 s annualised over 31.5M periods overflows: null with the reason
    assert st["cagr"] is None and "not finite" in st["undefined"]["cagr"]
    assert "sharpe" not in st["undefined"]


def test_too_few_periods_are_null_with_a_reason():
    idx = pd.date_range("2024-07-18", periods=2, freq="1D", tz="UTC")
    st = compute_stats(pd.Series([100.0, 99.0], index=idx),
                       conventions=Conventions(sampling="none", periods_per_year=365, step="1d"))
    assert st["total_return"] == pytest.approx(-0.01)
    assert st["sharpe"] is None and st["volatility"] is None
    assert "1 " in st["undefined"]["sharpe"] and "every 1d" in st["undefined"]["sharpe"]
    assert "total_return" not in st["undefined"]


def test_binance_run_states_interval_and_periods(samples, tmp_path):
    res = engine.run(market=str(samples / BINANCE), strategy="avellaneda_stoikov",
                     cash=100_000.0, params=AS_PARAMS, tick=dict(TICK, sample="10s"), seed=3)
    eq = res.equity["equity"]
    t = eq.index.asi8
    assert (np.diff(t) == 10 * S).all() and eq.iloc[0] == 100_000.0  # starts at the capital
    st = res.stats
    conv = st["conventions"]
    assert conv["step"] == "10s" and conv["periods_per_year"] == pytest.approx(3_153_600)
    assert conv["periods_basis"] == "24/7: 365 * 86400 s / 10 s"
    r = eq.to_numpy()[1:] / eq.to_numpy()[:-1] - 1
    assert st["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(3_153_600))
    out = res.save(tmp_path / "run")
    saved = json.loads((out / "stats.json").read_text())
    assert saved["conventions"]["periods_basis"] == conv["periods_basis"]
    html = (out / "report.html").read_text()
    assert "every 10s" in html and "365 * 86400 s / 10 s" in html


def test_binance_run_shorter_than_one_interval(samples):
    res = engine.run(market=str(samples / BINANCE), strategy="avellaneda_stoikov",
                     cash=100_000.0, params=AS_PARAMS, tick=dict(TICK, sample="1d"), seed=3)
    st = res.stats
    assert len(res.equity) == 2 and res.equity["equity"].iloc[0] == 100_000.0
    assert st["conventions"]["periods_per_year"] == 365
    assert st["total_return"] == pytest.approx(res.final_equity / 100_000.0 - 1)
    assert st["sharpe"] is None and "needs at least 2" in st["undefined"]["sharpe"]
    with pytest.raises(ConfigError, match="sampling interval"):
        engine.run(market=str(samples / BINANCE), strategy="avellaneda_stoikov",
                   cash=100_000.0, params=AS_PARAMS, tick=dict(TICK, sample="soon"), seed=3)
