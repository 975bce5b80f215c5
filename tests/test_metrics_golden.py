"""Golden tests: our metrics against QuantStats and empyrical-reloaded on real equity curves.

Equal to 1e-9 where the conventions agree; where a library differs by convention, the test shows
that switching our convention (or the library's argument) reproduces it. See docs/metrics.md.
"""

from __future__ import annotations

import math

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
import scipy.stats
from report_runs import BTC_D, BTC_H, GOOG, SP500, bars_frame, buy_and_hold, sma_rule

from reports import metrics_returns as mr
from reports import metrics_sharpe as ms
from reports import metrics_tables as mt
from reports.metrics import Conventions, compute_stats

TOL = 1e-9


def close_to(a, b, tol=TOL):
    """Relative 1e-9 (absolute for values near zero)."""
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


@pytest.fixture(scope="module")
def curves():
    goog, sp, btc = bars_frame(GOOG), bars_frame(SP500), bars_frame(BTC_D)
    goog_sma, _, _ = sma_rule(goog, 50)
    sp_sma, _, _ = sma_rule(sp, 100)
    return {
        "goog_bh": (buy_and_hold(goog["close"]), None),
        "goog_sma": (goog_sma, buy_and_hold(goog["close"])),
        "sp500_sma": (sp_sma, buy_and_hold(sp["close"])),
        "btc_bh": (buy_and_hold(btc["close"]), None),
    }


def naive_returns(equity: pd.Series) -> pd.Series:
    """Independent reference sampling for one bar per day: pandas pct_change, tz-naive index
    (what QuantStats expects)."""
    r = equity.pct_change().dropna()
    r.index = r.index.tz_localize(None)
    return r


CURVES = ["goog_bh", "goog_sma", "sp500_sma", "btc_bh"]


@pytest.mark.parametrize("name", CURVES)
@pytest.mark.parametrize("rf", [0.0, 0.03])
def test_compute_stats_matches_quantstats_and_empyrical(curves, name, rf):
    equity, _ = curves[name]
    P = 365 if name.startswith("btc") else 252
    s = compute_stats(equity, conventions=Conventions(risk_free=rf))
    assert s["conventions"]["periods_per_year"] == P  # auto: 365 for BTC (weekends), else 252
    r = naive_returns(equity)
    rf_p = (1 + rf) ** (1 / P) - 1
    assert s["n_periods"] == len(r)
    assert close_to(s["total_return"], qs.stats.comp(r))
    # Sharpe, Sortino, volatility
    assert close_to(s["sharpe"], qs.stats.sharpe(r, rf=rf, periods=P))
    assert close_to(s["sharpe"], ep.sharpe_ratio(r, risk_free=rf_p, annualization=P))
    assert close_to(s["sortino"], qs.stats.sortino(r, rf=rf, periods=P))
    assert close_to(s["sortino"], ep.sortino_ratio(r, required_return=rf_p, annualization=P))
    assert close_to(s["volatility"], qs.stats.volatility(r, periods=P))
    assert close_to(s["volatility"], ep.annual_volatility(r, annualization=P))
    # growth and drawdown
    assert close_to(s["cagr"], qs.stats.cagr(r, periods=P))
    assert close_to(s["cagr"], ep.cagr(r, annualization=P))
    assert close_to(s["max_drawdown"], qs.stats.max_drawdown(r))
    assert close_to(s["max_drawdown"], ep.max_drawdown(r))
    assert close_to(s["calmar"], qs.stats.calmar(r, periods=P))
    assert close_to(s["calmar"], ep.calmar_ratio(r, annualization=P))
    assert close_to(s["omega"], qs.stats.omega(r, rf=rf, periods=P))
    assert close_to(s["omega"], ep.omega_ratio(r, risk_free=rf_p, annualization=P))
    # distribution
    assert close_to(s["var"], ep.value_at_risk(r, cutoff=0.05))
    assert close_to(s["cvar"], ep.conditional_value_at_risk(r, cutoff=0.05))
    assert close_to(s["cvar"], qs.stats.cvar(r, method="historical"))
    assert close_to(s["var_normal"], qs.stats.var(r))
    assert close_to(s["cvar_normal"], qs.stats.cvar(r))
    assert close_to(s["skew"], qs.stats.skew(r))
    assert close_to(s["kurtosis"], qs.stats.kurtosis(r))
    assert close_to(s["best_period"], qs.stats.best(r))
    assert close_to(s["worst_period"], qs.stats.worst(r))
    assert close_to(s["probabilistic_sharpe"], qs.stats.probabilistic_sharpe_ratio(r, rf=rf, periods=P))


@pytest.mark.parametrize("name", ["goog_sma", "sp500_sma"])
def test_benchmark_relative_match(curves, name):
    equity, bench = curves[name]
    s = compute_stats(equity, benchmark=bench)
    r, b = naive_returns(equity), naive_returns(bench)
    greeks = qs.stats.greeks(r, b, periods=252)
    assert close_to(s["beta"], greeks["beta"])
    assert close_to(s["beta"], ep.beta(r, b))
    # QuantStats annualises alpha arithmetically (what we report) ...
    assert close_to(s["alpha"], greeks["alpha"])
    # ... empyrical compounds it: switching our compounding reproduces empyrical
    assert not close_to(s["alpha"], ep.alpha(r, b, annualization=252), 1e-6)
    geometric = mr.alpha(r.to_numpy(), b.to_numpy(), 252, compounding="geometric")
    assert close_to(geometric, ep.alpha(r, b, annualization=252))
    # information ratio: both libraries report it per period; we annualise with sqrt(P)
    assert close_to(s["information_ratio"] / math.sqrt(252), qs.stats.information_ratio(r, b))
    assert close_to(s["information_ratio"] / math.sqrt(252), ep.excess_sharpe(r, b))
    per_period = mr.information_ratio(r.to_numpy(), b.to_numpy(), 252, annualize=False)
    assert close_to(per_period, ep.excess_sharpe(r, b))
    assert close_to(s["tracking_error"], (r - b).std() * math.sqrt(252))
    assert close_to(s["correlation"], r.corr(b))
    assert close_to(s["benchmark_sharpe"], qs.stats.sharpe(b))
    assert close_to(s["benchmark_max_drawdown"], ep.max_drawdown(b))


def test_alpha_with_risk_free_matches_empyrical(curves):
    equity, bench = curves["goog_sma"]
    r, b = naive_returns(equity), naive_returns(bench)
    rf, P = 0.04, 252
    rf_p = (1 + rf) ** (1 / P) - 1
    ours = mr.alpha(r.to_numpy(), b.to_numpy(), P, rf, compounding="geometric")
    assert close_to(ours, ep.alpha(r, b, risk_free=rf_p, annualization=P))
    assert close_to(mr.beta(r.to_numpy(), b.to_numpy(), P, rf), ep.beta(r, b, risk_free=rf_p))


def test_365_vs_252_convention_on_btc(curves):
    """BTC trades every day: auto gives 365. QuantStats / empyrical default to 252; asking our
    metrics for 252 reproduces their defaults, and their 365 reproduces ours."""
    equity, _ = curves["btc_bh"]
    r = naive_returns(equity)
    ours = compute_stats(equity)
    ours_252 = compute_stats(equity, conventions=Conventions(periods_per_year=252))
    assert ours["conventions"]["periods_per_year"] == 365
    for key, lib_default in [
        ("sharpe", qs.stats.sharpe(r)),
        ("sortino", qs.stats.sortino(r)),
        ("cagr", qs.stats.cagr(r)),
        ("volatility", ep.annual_volatility(r)),
        ("calmar", ep.calmar_ratio(r)),
    ]:
        assert not close_to(ours[key], lib_default, 1e-3), key
        assert close_to(ours_252[key], lib_default), key
    assert close_to(ours["cagr"], qs.stats.cagr(r, periods=365))


def test_cagr_calendar_base_differs_and_is_reproducible(curves):
    """CAGR over periods (QuantStats 0.0.86, empyrical) vs over calendar years (backtesting.py,
    older QuantStats): the calendar base is our ``years=`` argument."""
    equity, _ = curves["goog_bh"]
    r = naive_returns(equity)
    years = (equity.index[-1] - equity.index[0]).total_seconds() / (365.25 * 86400)
    calendar = mr.cagr(r.to_numpy(), 252, years=years)
    by_hand = (equity.iloc[-1] / equity.iloc[0]) ** (1 / years) - 1
    assert close_to(calendar, by_hand)
    assert not close_to(calendar, qs.stats.cagr(r), 1e-4)


def test_sortino_variants(curves):
    """Downside deviation over ALL periods (ours, both libraries). QuantStats' adjusted Sortino
    divides by sqrt(2); the 'std of the negative returns only' variant is a different number."""
    equity, _ = curves["goog_sma"]
    r = naive_returns(equity)
    ours = mr.sortino(r.to_numpy(), 252)
    assert close_to(ours / math.sqrt(2), qs.stats.adjusted_sortino(r))
    neg_only = r.mean() / r[r < 0].std() * math.sqrt(252)
    assert not close_to(ours, neg_only, 1e-3)
    # empyrical's required_return is a per-period target: a 5 % annual MAR converted
    mar = (1.05) ** (1 / 252) - 1
    assert close_to(mr.sortino(r.to_numpy(), 252, 0.05), ep.sortino_ratio(r, required_return=mar))


def test_skew_kurtosis_bias_conventions(curves):
    """Bias-corrected (pandas / QuantStats) by default; ``bias=True`` is scipy's (empyrical)."""
    equity, _ = curves["sp500_sma"]
    r = naive_returns(equity).to_numpy()
    assert close_to(mr.skew(r, bias=True), scipy.stats.skew(r))
    assert close_to(mr.kurtosis(r, bias=True), scipy.stats.kurtosis(r))
    assert close_to(mr.skew(r), scipy.stats.skew(r, bias=False))
    assert close_to(mr.kurtosis(r), scipy.stats.kurtosis(r, bias=False))


def test_monthly_yearly_tables(curves):
    equity, _ = curves["goog_sma"]
    s = compute_stats(equity)
    r = naive_returns(equity)
    rt = r.copy()
    rt.index = rt.index.tz_localize("UTC")
    ours_m = mt.monthly_returns(rt)
    lib = ep.aggregate_returns(r, "monthly")
    for (y, m), v in lib.items():
        assert close_to(ours_m.loc[y, mt.MONTHS[m - 1]], v)
    assert ours_m.notna().sum().sum() == len(lib)
    qs_m = qs.stats.monthly_returns(r)
    np.testing.assert_allclose(ours_m.fillna(0).to_numpy(), qs_m.iloc[:, :12].to_numpy(),
                               rtol=TOL, atol=TOL)
    ours_y = mt.yearly_returns(rt)
    np.testing.assert_allclose(ours_y.to_numpy(), ep.aggregate_returns(r, "yearly").to_numpy(),
                               rtol=TOL, atol=TOL)
    np.testing.assert_allclose(ours_y.to_numpy(), qs_m["EOY"].to_numpy(), rtol=TOL, atol=TOL)
    assert close_to(s["best_month"], lib.max()) and close_to(s["worst_month"], lib.min())


def test_rolling_sharpe_and_volatility(curves):
    equity, _ = curves["goog_sma"]
    r = naive_returns(equity)
    rt = r.copy()
    rt.index = rt.index.tz_localize("UTC")
    ours = mt.rolling_sharpe(rt, 126, 252, risk_free=0.02)
    lib = qs.stats.rolling_sharpe(r, rf=0.02, rolling_period=126, periods_per_year=252)
    np.testing.assert_allclose(ours.to_numpy(), lib.to_numpy(), rtol=TOL, atol=TOL)
    assert ours.isna().sum() == 125
    vol = mt.rolling_volatility(rt, 63, 252)
    lib_vol = qs.stats.rolling_volatility(r, rolling_period=63, periods_per_year=252)
    np.testing.assert_allclose(vol.to_numpy(), lib_vol.to_numpy(), rtol=TOL, atol=TOL)


def test_drawdown_periods_match_quantstats_details(curves):
    equity, _ = curves["goog_sma"]
    ours = mt.drawdown_periods(equity)
    r = naive_returns(equity)
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(r))
    np.testing.assert_allclose(np.sort(ours["depth"].to_numpy()),
                               np.sort(details["max drawdown"].to_numpy() / 100), rtol=TOL)
    # QuantStats' "start" is the first day under water, the step after our peak, and its
    # "end" the last day under water, the step before our recovery
    pos = equity.index.get_indexer(ours["peak"])
    first_under = sorted(str(t.date()) for t in equity.index[pos + 1])
    assert first_under == sorted(details["start"])
    rec = ours[ours["recovered"]]
    last_under = sorted(str(t.date()) for t in equity.index[equity.index.get_indexer(rec["recovery"]) - 1])
    assert set(last_under) <= set(details["end"])
    assert len(details) - len(rec) == (~ours["recovered"]).sum()
    deepest = ours.iloc[0]
    assert close_to(deepest["depth"], ep.max_drawdown(r))
    row = details.loc[details["max drawdown"].idxmin()]
    assert row["valley"] == str(deepest["valley"].date())


def test_daily_sampling_of_hourly_equity():
    """An hourly equity curve sampled daily (last value per UTC day, measured from the first
    recorded value) equals QuantStats on pandas' own daily resample of the same curve."""
    btc = bars_frame(BTC_H)
    equity = buy_and_hold(btc["close"])
    s = compute_stats(equity)
    daily = equity.resample("D").last().dropna()
    daily = pd.concat([equity.iloc[:1], daily])  # the base: first recorded value
    r = daily.pct_change().dropna()
    r.index = r.index.tz_localize(None)
    assert s["n_periods"] == len(r)
    assert s["conventions"]["periods_per_year"] == 365
    assert close_to(s["sharpe"], qs.stats.sharpe(r, periods=365))
    assert close_to(s["sortino"], qs.stats.sortino(r, periods=365))
    assert close_to(s["max_drawdown"], qs.stats.max_drawdown(r))
    assert close_to(s["cagr"], qs.stats.cagr(r, periods=365))
    # the per-step drawdown sees intraday lows the daily one cannot
    assert s["max_drawdown_steps"] <= s["max_drawdown"]


def test_deflated_sharpe_reproduces_the_paper_example():
    """Bailey & Lopez de Prado (2014), 'The Deflated Sharpe Ratio', section 6 example: annual
    SR 2.5 over 1250 daily observations (250 a year), skew -3, kurtosis 10, 100 trials with
    annualised Sharpe variance 1/2 -> SR0 = 0.1132 per period and DSR = 0.9004."""
    sr = 2.5 / math.sqrt(250)
    std = math.sqrt(0.5 / 250)
    assert abs(ms.expected_max_sharpe(100, std) - 0.1132) < 5e-4
    dsr = ms.deflated_sharpe_from_moments(sr, 1250, -3.0, 10.0 - 3.0, 100, std)
    assert abs(dsr - 0.9004) < 5e-4
    # one trial: no deflation
    psr = ms.probabilistic_sharpe_from_moments(sr, 1250, -3.0, 7.0)
    assert ms.deflated_sharpe_from_moments(sr, 1250, -3.0, 7.0, 1, std) == psr


def test_deflated_sharpe_falls_with_trials(curves):
    equity, _ = curves["goog_sma"]
    dsr = [compute_stats(equity, n_trials=n)["deflated_sharpe"] for n in (1, 10, 100, 1000)]
    assert dsr[0] == compute_stats(equity)["probabilistic_sharpe"]
    assert all(a > b for a, b in zip(dsr, dsr[1:], strict=False))
