"""reports.metrics_nb (the kernels every stats.json comes from, the one implementation of each
metric) against the independent numpy formulas of tests/metrics_reference.py: every metric, on
varied samples (short, constant, losses to zero, all gains), every convention that changes a formula.
The sums run in another order than numpy's, so values agree to rounding, not bit for bit."""

from __future__ import annotations

import math

import metrics_reference as mref
import numpy as np
import pandas as pd
import pytest

from reports import metrics_trades as mtr
from reports.metrics import Conventions
from reports.metrics_nb import (
    E_BAD,
    E_DD_STEPS,
    E_SUM,
    P_DSR,
    P_MDD,
    P_PSR,
    REL_KEYS,
    RETURN_KEYS,
    equity_pass,
    exposure_pass,
    period_stats,
    relative_stats,
)


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-11, abs=1e-14)


def _samples():
    rng = np.random.default_rng(7)
    yield "empty", np.zeros(0)
    for n in (1, 2, 3, 4, 5, 71, 600):
        yield f"normal{n}", rng.normal(0.0005, 0.01, n)
    yield "constant", np.full(40, 0.001)
    yield "zeros", np.zeros(30)
    yield "to_zero", np.r_[rng.normal(0, 0.01, 20), -1.0, np.zeros(5)]
    yield "all_gains", np.abs(rng.normal(0.002, 0.01, 50)) + 1e-4
    yield "fat_tails", rng.standard_t(2.5, 300) * 0.01
    yield "ties", np.repeat([-0.01, 0.0, 0.01, 0.02], 9)


CONVENTIONS = [Conventions(), Conventions(risk_free=0.03, ddof=0, var_level=0.99),
               Conventions(periods_per_year=52, var_level=0.9)]


def _reference(r, P, c, n_trials):
    rf, dd, lv = c.risk_free, c.ddof, c.var_level
    ref = {
        "cagr": mref.cagr(r, P), "volatility": mref.volatility(r, P, dd),
        "sharpe": mref.sharpe(r, P, rf, dd), "sortino": mref.sortino(r, P, rf),
        "calmar": mref.calmar(r, P), "omega": mref.omega(r, P, rf),
        "var": mref.value_at_risk(r, lv), "cvar": mref.conditional_value_at_risk(r, lv),
        "var_normal": mref.value_at_risk_normal(r, lv, dd),
        "cvar_normal": mref.conditional_value_at_risk_normal(r, lv, dd),
        "skew": mref.skew(r), "kurtosis": mref.kurtosis(r), "best_period": mref.best_period(r),
        "worst_period": mref.worst_period(r),
        "positive_periods": float(np.mean(r > 0)) if r.size else math.nan,
    }
    return ref, mref.max_drawdown(r), mref.probabilistic_sharpe(r, P, rf, dd), \
        mref.deflated_sharpe(r, P, n_trials, rf, dd)


@pytest.mark.parametrize("conv", CONVENTIONS, ids=["default", "rf-ddof0-99", "weekly-90"])
@pytest.mark.parametrize("n_trials", [1, 25])
def test_period_kernel_equals_reference_formulas(conv, n_trials):
    P = conv.periods_per_year if conv.periods_per_year != "auto" else 252
    checked = 0
    for name, r in _samples():
        got = period_stats(r, P, conv, n_trials)
        ref, mdd, psr, dsr = _reference(r, P, conv, n_trials)
        for j, k in enumerate(RETURN_KEYS):
            assert _close(got[j], ref[k]), (name, k, got[j], ref[k])
            checked += 1
        assert _close(got[P_MDD], mdd), (name, "max_drawdown")
        assert _close(got[P_PSR], psr), (name, "psr", got[P_PSR], psr)
        assert _close(got[P_DSR], dsr), (name, "dsr", got[P_DSR], dsr)
    assert checked == 15 * len(list(_samples()))


@pytest.mark.parametrize("conv", CONVENTIONS, ids=["default", "rf-ddof0-99", "weekly-90"])
def test_relative_kernel_equals_reference_formulas(conv):
    rng = np.random.default_rng(3)
    P = 252.0
    cases = [(rng.normal(0, 0.01, n), rng.normal(0, 0.012, n)) for n in (0, 1, 2, 3, 80)]
    y = rng.normal(0, 0.01, 60)
    cases += [(0.8 * y + rng.normal(0, 0.002, 60), y),  # correlated
              (np.full(20, 0.001), rng.normal(0, 0.01, 20)),  # constant strategy
              (y[:30], y[:30]),  # the benchmark itself: no active return
              (rng.normal(0, 0.01, 25), np.full(25, 0.002))]  # constant benchmark
    for x, b in cases:
        got = dict(zip(REL_KEYS, relative_stats(x, b, P, conv), strict=True))
        ref = {"alpha": mref.alpha(x, b, P, conv.risk_free), "beta": mref.beta(x, b, P, conv.risk_free),
               "information_ratio": mref.information_ratio(x, b, P, conv.ddof),
               "tracking_error": mref.tracking_error(x, b, P, conv.ddof),
               "correlation": mref.correlation(x, b)}
        if len(x) > 1 and (np.ptp(x) == 0 or np.ptp(b) == 0):
            # a constant series has no dispersion: numpy's pairwise mean of n equal values
            # may miss the value by an ulp and give a correlation of ~1e-17 instead of nan
            assert math.isnan(got["correlation"])
            ref["correlation"] = math.nan
        for k in REL_KEYS:
            assert _close(got[k], ref[k]), (len(x), k, got[k], ref[k])


def test_step_passes():
    rng = np.random.default_rng(5)
    v = 1e5 * np.exp(np.cumsum(rng.normal(0, 0.001, 5000)))
    out = equity_pass(v)
    assert out[E_BAD] == -1
    # the step drawdown is the numpy expression, bit for bit
    assert out[E_DD_STEPS] == float(np.min(v / np.maximum.accumulate(v) - 1.0))
    assert out[E_SUM] == pytest.approx(v.sum(), rel=1e-13)
    v[1234] = np.nan
    assert equity_pass(v)[E_BAD] == 1234
    # bit for bit on paths that stress the skipped divisions: steps of one ulp, ties, flat
    # stretches, losses to zero and below, tiny and huge magnitudes
    for k in range(300):
        g = np.random.default_rng(k)
        n = int(g.integers(1, 400))
        w = g.choice([1e-300, 1.0, 1e5, 1e300]) * np.cumprod(1.0 + g.normal(0, 0.02, n))
        if k % 3 == 0:
            w = np.round(w, 2)  # ties
        if k % 5 == 0 and n > 3:
            w[n // 2:] = np.nextafter(w[n // 2:], 0.0)  # one ulp below
        if k % 7 == 0:
            w = w - w[n // 3]  # through zero into negatives
        with np.errstate(divide="ignore", invalid="ignore"):
            ref = float(np.min(w / np.maximum.accumulate(w) - 1.0))
        got = equity_pass(w)[E_DD_STEPS]
        assert got == ref or (math.isnan(got) and math.isnan(ref)), (k, got, ref)
    z = np.r_[0.0, 0.0, 1.0]  # a zero peak: 0 / 0, as numpy's minimum gives
    assert math.isnan(equity_pass(z)[E_DD_STEPS])
    ts = np.cumsum(rng.integers(1, 100, 300)).astype(np.int64) * 1_000_000_000
    x = np.where(rng.random(300) < 0.4, 0.0, rng.normal(0, 1, 300))
    expo = pd.Series(x, index=pd.to_datetime(ts, utc=True))
    w = np.append(np.diff(ts).astype(float), np.median(np.diff(ts)))
    assert mtr.time_in_market(expo) == pytest.approx(w[x != 0].sum() / w.sum(), rel=1e-13)
    assert mtr.average_gross_exposure(expo) == pytest.approx(
        np.sum(w * np.abs(x)) / w.sum(), rel=1e-13)
    x[17] = np.inf
    assert exposure_pass(ts, x)[0] == 17


@pytest.mark.parametrize("n", [0, 1, 7, 400])
def test_trade_kernel_equals_reference_formulas(n):
    from reports.metrics_nb import trade_stats

    rng = np.random.default_rng(n)
    pnl = rng.normal(0, 100, n)
    pnl[: n // 6] = 0.0  # break-even trades: neither wins nor losses
    rng.shuffle(pnl)
    closed = rng.random(n) < 0.9
    long = rng.random(n) < 0.5
    ret = pnl / 1e4
    hold = rng.uniform(60, 1e5, n)
    got = trade_stats(closed, pnl, ret, long, hold)
    p, r, h = pnl[closed], ret[closed], hold[closed]
    ref = {"n_trades": int(closed.sum()), "n_open_trades": int((~closed).sum()),
           "n_long_trades": int((long & closed).sum()),
           "n_short_trades": int((~long & closed).sum()),
           "win_rate": mref.win_rate(p), "avg_win": mref.average_win(p),
           "avg_loss": mref.average_loss(p), "payoff_ratio": mref.payoff_ratio(p),
           "profit_factor": mref.profit_factor(p), "expectancy": mref.expectancy(p),
           "gross_profit": float(p[p > 0].sum()), "gross_loss": float(p[p < 0].sum()),
           "avg_trade_return": float(r.mean()) if r.size else math.nan,
           "best_trade_return": float(r.max()) if r.size else math.nan,
           "worst_trade_return": float(r.min()) if r.size else math.nan,
           "avg_holding_s": float(h.mean()) if h.size else math.nan,
           "max_holding_s": float(h.max()) if h.size else math.nan,
           "max_consecutive_wins": mref.max_consecutive(p > 0),
           "max_consecutive_losses": mref.max_consecutive(p < 0)}
    assert list(got) == list(ref)
    for k, v in ref.items():
        if isinstance(v, int):
            assert type(got[k]) is int and got[k] == v, k
        else:
            assert _close(got[k], v), (k, got[k], v)
    # no loss: an infinite profit factor; a nan return propagates to the return stats
    one = trade_stats(np.ones(2, bool), np.array([5.0, 1.0]), np.array([0.1, np.nan]),
                      np.ones(2, bool), np.ones(2))
    assert one["profit_factor"] == math.inf and math.isnan(one["best_trade_return"])


def test_named_metrics_are_the_stats_json_values():
    """reports.metrics_returns / metrics_sharpe (what the agent strategy, the report tables and
    the sweep report call) give stats.json's numbers bit for bit: one implementation."""
    from reports import metrics_returns as mr
    from reports import metrics_sharpe as ms
    from reports.metrics import compute_stats, period_returns

    rng = np.random.default_rng(11)
    idx = pd.date_range("2020-01-01", periods=400, freq="D", tz="UTC")
    eq = pd.Series(1e5 * np.cumprod(1 + rng.normal(0.0004, 0.01, 400)), index=idx)
    bench = pd.Series(1e5 * np.cumprod(1 + rng.normal(0.0003, 0.012, 400)), index=idx)
    conv = Conventions(risk_free=0.02)
    s = compute_stats(eq, benchmark=bench, conventions=conv, n_trials=9)
    P = s["conventions"]["periods_per_year"]
    r = period_returns(eq, conv).dropna().to_numpy()
    b = period_returns(bench, conv).dropna().to_numpy()
    m = mr.return_metrics(r, P, risk_free=0.02, n_trials=9)
    m.update(mr.relative_metrics(r, b, P, risk_free=0.02))
    keys = (*RETURN_KEYS, "max_drawdown", "probabilistic_sharpe", "deflated_sharpe", *REL_KEYS)
    assert all(s[k] is not None for k in keys)
    assert {k: m[k] for k in keys} == {k: s[k] for k in keys}
    assert m["total_return"] == pytest.approx(s["total_return"], rel=1e-12)
    named = {"sharpe": mr.sharpe(r, P, 0.02), "sortino": mr.sortino(r, P, 0.02),
             "max_drawdown": mr.max_drawdown(r), "cagr": mr.cagr(r, P), "skew": mr.skew(r),
             "kurtosis": mr.kurtosis(r), "alpha": mr.alpha(r, b, P, 0.02),
             "beta": mr.beta(r, b, P, 0.02), "information_ratio": mr.information_ratio(r, b, P),
             "probabilistic_sharpe": ms.probabilistic_sharpe(r, P, 0.02),
             "deflated_sharpe": ms.deflated_sharpe(r, P, 9, 0.02)}
    assert named == {k: s[k] for k in named}
    # from the moments (the sweep report's path): the same up to the annualised Sharpe's rounding
    dsr = ms.deflated_sharpe_from_moments(s["sharpe"] / math.sqrt(P), s["n_periods"], s["skew"],
                                          s["kurtosis"], 9)
    assert dsr == pytest.approx(s["deflated_sharpe"], rel=1e-12)
    # the convention switches convert the kernel's value
    assert mr.cagr(r, P, years=r.size / P) == pytest.approx(s["cagr"], rel=1e-12)
    assert mr.sharpe(r, P, 0.02, annualize=False) * math.sqrt(P) == pytest.approx(s["sharpe"])
    assert mr.skew(r, bias=True) == pytest.approx(mref.skew(r, bias=True), rel=1e-11)
    assert mr.kurtosis(r, bias=True) == pytest.approx(mref.kurtosis(r, bias=True), rel=1e-11)
    assert mr.alpha(r, b, P, 0.02, compounding="geometric") == pytest.approx(
        mref.alpha(r, b, P, 0.02, compounding="geometric"), rel=1e-11)
