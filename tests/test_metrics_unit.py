"""Unit tests of reports.metrics: sampling, conventions, edge cases, trade statistics."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from report_runs import GOOG, bars_frame, sma_rule

from data.errors import ConfigError, DataError
from reports import metrics_trades as mtr
from reports.metrics import Conventions, compute_stats, period_returns, sample_equity

REQUIRED = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "volatility",
            "n_trades", "win_rate", "profit_factor", "final_equity", "exposure")


def utc(*stamps):
    return pd.DatetimeIndex(pd.to_datetime(list(stamps), utc=True))


def test_conventions_reject_bad_values_naming_the_argument():
    for kw, arg in [({"periods_per_year": 0}, "periods_per_year"),
                    ({"periods_per_year": "daily"}, "periods_per_year"),
                    ({"sampling": "H"}, "sampling"), ({"risk_free": 3.0}, "risk_free"),
                    ({"ddof": 2}, "ddof"), ({"var_level": 0.05}, "var_level"),
                    ({"rolling_window": 1}, "rolling_window")]:
        with pytest.raises(ConfigError) as err:
            Conventions(**kw)
        assert err.value.argument == arg
    with pytest.raises(TypeError):
        Conventions(252)  # keyword-only
    c = Conventions()
    with pytest.raises(AttributeError):
        c.ddof = 0  # frozen


def test_bad_equity_inputs_raise_at_the_boundary():
    idx = pd.date_range("2020-01-01", periods=5, freq="D")
    with pytest.raises(ConfigError, match="tz_localize"):
        compute_stats(pd.Series(np.arange(1.0, 6.0), index=idx))
    with pytest.raises(ConfigError, match="DatetimeIndex"):
        compute_stats(pd.Series([1.0, 2.0]))
    bad = pd.Series([1.0, np.nan, 2.0], index=idx[:3].tz_localize("UTC"))
    with pytest.raises(DataError) as err:
        compute_stats(bad)
    assert err.value.row == 1
    with pytest.raises(DataError, match="sort_index"):
        compute_stats(pd.Series([1.0, 2.0, 3.0], index=idx[[2, 0, 1]].tz_localize("UTC")))
    with pytest.raises(ConfigError):
        compute_stats(pd.Series([1.0, 2.0], index=idx[:2].tz_localize("UTC")), n_trials=0)


def test_other_time_zones_are_converted_to_utc():
    idx = pd.date_range("2021-03-01 09:00", periods=10, freq="D", tz="America/New_York")
    eq = pd.Series(np.linspace(100, 110, 10), index=idx)
    s = compute_stats(eq)
    assert s["start"] == "2021-03-01T14:00:00.000000Z"


def test_daily_sampling_takes_last_value_per_day_from_the_starting_capital():
    # a tick run: the first step is the starting capital; day 1 ends down 10 %
    idx = utc("2021-01-04 09:30", "2021-01-04 12:00", "2021-01-04 15:59",
              "2021-01-05 10:00", "2021-01-05 15:00", "2021-01-06 11:00")
    eq = pd.Series([100.0, 95.0, 90.0, 99.0, 108.0, 108.0], index=idx)
    pts = sample_equity(eq, "D")
    assert list(pts) == [100.0, 90.0, 108.0, 108.0]
    r = period_returns(eq)
    np.testing.assert_allclose(r.to_numpy(), [-0.1, 0.2, 0.0])
    assert list(r.index) == [idx[2], idx[4], idx[5]]
    s = compute_stats(eq)
    assert s["max_drawdown"] == pytest.approx(-0.1)  # the first-period loss counts
    assert s["max_drawdown_steps"] == pytest.approx(-0.1)
    none = compute_stats(eq, conventions=Conventions(sampling="none", periods_per_year=252))
    assert none["n_periods"] == 5


def test_first_bar_alone_in_its_day_is_not_a_zero_return():
    idx = pd.date_range("2021-01-04 21:00", periods=4, freq="D", tz="UTC")
    eq = pd.Series([100.0, 101.0, 99.0, 103.0], index=idx)
    r = period_returns(eq)
    assert len(r) == 3 and r.iloc[0] == pytest.approx(0.01)


def test_weekly_and_monthly_sampling_and_periods_per_year():
    goog = bars_frame(GOOG)
    eq = goog["close"]
    w = compute_stats(eq, conventions=Conventions(sampling="W"))
    m = compute_stats(eq, conventions=Conventions(sampling="M"))
    assert w["conventions"]["periods_per_year"] == 52
    assert m["conventions"]["periods_per_year"] == 12
    monthly = eq.groupby([eq.index.year, eq.index.month]).last()
    assert m["n_periods"] == len(monthly) - 1 + 1  # + the first month measured from the base
    assert m["total_return"] == pytest.approx(w["total_return"])
    none = compute_stats(eq, conventions=Conventions(sampling="none"))
    assert 240 < none["conventions"]["periods_per_year"] < 260  # observed steps per year


def test_output_is_flat_strict_json_with_required_keys():
    goog = bars_frame(GOOG)
    eq, units, trades = sma_rule(goog, 50, fee=0.001)
    expo = units * goog["close"] / eq
    s = compute_stats(eq, trades=trades, benchmark=goog["close"] * 100, exposure=expo)
    text = json.dumps(s, allow_nan=False)
    back = json.loads(text)
    for key in REQUIRED:
        assert key in back
    assert back["max_drawdown"] <= 0
    assert isinstance(back["conventions"], dict)
    assert all(not isinstance(v, dict) for k, v in back.items() if k != "conventions")
    assert set(back["conventions"]) >= {"periods_per_year", "risk_free", "ddof", "sampling"}


def test_flat_equity_gives_undefined_ratios_not_errors():
    idx = pd.date_range("2021-01-01", periods=30, freq="D", tz="UTC")
    s = compute_stats(pd.Series(1000.0, index=idx))
    assert s["sharpe"] is None and s["sortino"] is None and s["calmar"] is None
    assert s["max_drawdown"] == 0.0 and s["total_return"] == 0.0
    one = compute_stats(pd.Series([1000.0], index=idx[:1]))
    assert one["n_periods"] == 0 and one["sharpe"] is None and one["final_equity"] == 1000.0
    json.dumps(one, allow_nan=False)


def test_trade_statistics_by_hand():
    trades = pd.DataFrame({
        "pnl": [10.0, -5.0, 20.0, -5.0, 0.0, 7.0],
        "return": [0.1, -0.05, 0.2, -0.05, 0.0, 0.07],
        "side": ["long", "short", "long", "long", "short", "long"],
        "duration_s": [60.0, 120.0, 180.0, 60.0, 60.0, 3600.0],
        "status": ["closed"] * 5 + ["open"],
        "fees": [1.0] * 6,
    })
    t = mtr.trade_stats(trades)
    assert t["n_trades"] == 5 and t["n_open_trades"] == 1
    assert t["win_rate"] == pytest.approx(2 / 5)
    assert t["avg_win"] == pytest.approx(15.0) and t["avg_loss"] == pytest.approx(-5.0)
    assert t["payoff_ratio"] == pytest.approx(3.0)
    assert t["profit_factor"] == pytest.approx(30 / 10)
    assert t["expectancy"] == pytest.approx(4.0)
    assert t["avg_holding_s"] == pytest.approx(96.0)
    assert t["max_consecutive_losses"] == 1 and t["max_consecutive_wins"] == 1
    assert t["n_long_trades"] == 3 and t["n_short_trades"] == 2
    assert mtr.fees_paid(None, trades) == 6.0
    no_loss = mtr.trade_stats(pd.DataFrame({"pnl": [1.0, 2.0], "duration_s": [1.0, 1.0]}))
    assert math.isinf(no_loss["profit_factor"])


def test_sma_trades_reconcile_with_equity():
    goog = bars_frame(GOOG)
    eq, units, trades = sma_rule(goog, 50, fee=0.001)
    assert trades["pnl"].sum() == pytest.approx(eq.iloc[-1] - eq.iloc[0], rel=1e-9)
    s = compute_stats(eq, trades=trades)
    closed = trades[trades["status"] == "closed"]
    assert s["n_trades"] == len(closed)
    assert s["win_rate"] == pytest.approx((closed["pnl"] > 0).mean())
    assert s["fees_paid"] == pytest.approx(trades["fees"].sum())
    # time in market from the trades equals the time-weighted exposure column
    expo = (units > 0).astype(float)
    from_expo = compute_stats(eq, exposure=expo)["exposure"]
    assert s["exposure"] == pytest.approx(from_expo, abs=0.01)


def test_exposure_is_time_weighted():
    idx = utc("2021-01-01 00:00", "2021-01-01 01:00", "2021-01-01 04:00", "2021-01-01 05:00")
    expo = pd.Series([0.0, 1.0, 0.0, 0.0], index=idx)
    # weights: 1h, 3h, 1h, and the median spacing (1h) for the last step
    assert mtr.time_in_market(expo) == pytest.approx(3 / 6)
    assert mtr.average_gross_exposure(expo * -2) == pytest.approx(1.0)


def test_turnover_is_annualised_notional_over_mean_equity():
    idx = pd.date_range("2021-01-01", periods=366, freq="D", tz="UTC")
    eq = pd.Series(1000.0, index=idx)
    fills = pd.DataFrame({"size": [1.0, -1.0, 2.0], "price": [500.0, 500.0, 250.0],
                          "fee": [0.5, 0.5, 0.5]})
    years = 365 / 365.25
    assert mtr.turnover(fills, eq) == pytest.approx(1500 / 1000 / years)
    s = compute_stats(eq, fills=fills)
    assert s["fees_paid"] == pytest.approx(1.5)


@settings(max_examples=60, deadline=None)
@given(
    # returns are 0 or at least 1e-6 in size: a lone -2e-16 "loss" makes the downside deviation
    # pure rounding noise, so Sortino/Sharpe of ~1e15 legitimately differ under rescaling
    st.lists(st.floats(-0.3, 0.3).filter(lambda r: r == 0.0 or abs(r) > 1e-6),
             min_size=3, max_size=80),
    st.floats(0.5, 1e6),
)
def test_scale_invariance_and_drawdown_bounds(rets, scale):
    # equal returns have a volatility of exactly 0 unscaled but of rounding noise (~1e-15)
    # once rescaled, so Sharpe is undefined on one side and ~1e12 on the other
    assume(np.ptp(rets) > 1e-9)
    idx = pd.date_range("2020-01-01 20:00", periods=len(rets) + 1, freq="D", tz="UTC")
    eq = pd.Series(np.cumprod(np.concatenate(([1.0], 1.0 + np.array(rets)))), index=idx)
    a = compute_stats(eq, conventions=Conventions(periods_per_year=252))
    b = compute_stats(eq * scale, conventions=Conventions(periods_per_year=252))
    assert -1.0 <= a["max_drawdown"] <= 0.0
    assert a["total_return"] == pytest.approx(np.prod(1 + np.array(rets)) - 1, rel=1e-9, abs=1e-12)
    for k in ("sharpe", "sortino", "cagr", "max_drawdown", "volatility"):
        if a[k] is None:
            assert b[k] is None
        else:
            assert b[k] == pytest.approx(a[k], rel=1e-9, abs=1e-12)


def test_auto_periods_from_weekends():
    weekdays = pd.bdate_range("2021-01-01", periods=300, tz="UTC")
    all_days = pd.date_range("2021-01-01", periods=300, tz="UTC")
    assert Conventions().resolve_periods(weekdays) == 252
    assert Conventions().resolve_periods(all_days) == 365
    assert Conventions(periods_per_year=260).resolve_periods(all_days) == 260
