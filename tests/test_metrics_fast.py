"""reports.metrics_fast gives exactly what reports.metrics.compute_stats gives (every key, bit
for bit) on varied runs: daily and intraday clocks, weekends, benchmarks, trades, fills,
exposure, every sampling convention, losses to zero."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from reports.metrics import Conventions, compute_stats
from reports.metrics_fast import StatsIndex


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if a is pd.NaT or b is pd.NaT:
        return a is b
    return type(a) is type(b) and a == b


def _case(seed, n, freq, *, weekends=True, with_trades=True, with_fills=True, with_exposure=True,
          with_bench=True, crash=False):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2019-12-30 14:30", periods=n, freq=freq, tz="UTC")
    if not weekends:
        idx = idx[idx.day_of_week < 5]
        n = len(idx)
    ts = idx.as_unit("ns").asi8
    eq = 1e5 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, n)))
    if n > 9:
        eq[5:9] = eq[4]  # a flat stretch
    if crash:
        eq[n // 2:] = np.maximum(eq[n // 2:] - eq[n // 2] + 0.0, 0.0)
    bench = 1e5 * np.exp(np.cumsum(rng.normal(0.0001, 0.012, n)))
    k = int(rng.integers(0, 40))
    entry = np.sort(rng.choice(ts, size=k)) if k else np.zeros(0, np.int64)
    exit_ = entry + rng.integers(1, 10, size=k) * 3_600_000_000_000
    pnl = rng.normal(0, 100, k)
    pnl[: k // 5] = 0.0
    closed = rng.random(k) < 0.9
    long = rng.random(k) < 0.5
    ret = pnl / 1e4
    fees = np.abs(rng.normal(0, 1, k))
    trades_df = pd.DataFrame({
        "symbol": ["X"] * k, "side": np.where(long, "long", "short"), "size": np.ones(k),
        "entry_ts": entry, "entry_price": np.ones(k), "exit_ts": exit_, "exit_price": np.ones(k),
        "pnl": pnl, "return": ret, "fees": fees, "duration_s": (exit_ - entry) / 1e9,
        "status": np.where(closed, "closed", "open")})
    trades = {"pnl": pnl, "return": ret, "closed": closed, "long": long,
              "duration_s": (exit_ - entry) / 1e9, "entry_ts": entry, "exit_ts": exit_,
              "fees": fees}
    m = int(rng.integers(0, 60))
    fills_df = pd.DataFrame({"size": rng.normal(0, 10, m), "price": rng.uniform(90, 110, m),
                             "fee": np.abs(rng.normal(0, 1, m))})
    fills = {k2: fills_df[k2].to_numpy() for k2 in fills_df}
    expo = np.where(rng.random(n) < 0.6, rng.uniform(0, 1.5, n), 0.0)
    return (ts, idx, eq, bench if with_bench else None,
            (trades_df, trades) if with_trades else (None, None),
            (fills_df, fills) if with_fills else (None, None),
            expo if with_exposure else None)


CASES = [
    dict(seed=1, n=2500, freq="1D"),
    dict(seed=2, n=700, freq="1D", weekends=False),
    dict(seed=3, n=20_000, freq="1min"),
    dict(seed=4, n=3000, freq="1h", with_bench=False, with_exposure=False),
    dict(seed=5, n=400, freq="1D", with_trades=False, with_fills=False, with_exposure=False),
    dict(seed=6, n=900, freq="1D", crash=True),
    dict(seed=7, n=3, freq="1D"),
    dict(seed=8, n=1, freq="1D", with_trades=False),
    dict(seed=9, n=1500, freq="1D", with_fills=False, with_exposure=False),
]
CONVENTIONS = [Conventions(), Conventions(sampling="W", risk_free=0.02),
               Conventions(sampling="M", ddof=0), Conventions(sampling="none"),
               Conventions(periods_per_year=365)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"seed{c['seed']}")
@pytest.mark.parametrize("conv", CONVENTIONS, ids=lambda c: f"{c.sampling}-{c.periods_per_year}")
def test_fast_stats_equal_compute_stats(case, conv):
    ts, idx, eq, bench, (tdf, tr), (fdf, fi), expo = _case(**case)
    ref = compute_stats(pd.Series(eq, index=idx), trades=tdf,
                        benchmark=None if bench is None else pd.Series(bench, index=idx),
                        conventions=conv, fills=fdf, n_trials=3,
                        exposure=None if expo is None else pd.Series(expo, index=idx))
    got = StatsIndex(ts, conv, benchmark=bench).stats(eq, trades=tr, fills=fi, exposure=expo,
                                                       n_trials=3)
    assert list(got) == list(ref)
    diff = {k: (got[k], ref[k]) for k in ref if not _same(got[k], ref[k])}
    assert not diff


def test_one_index_many_runs():
    ts, idx, eq, bench, (tdf, tr), (fdf, fi), expo = _case(seed=11, n=1200, freq="1D")
    si = StatsIndex(ts, Conventions(), benchmark=bench)
    for s in range(5):
        e = eq * np.exp(np.cumsum(np.random.default_rng(s).normal(0, 0.001, eq.size)))
        ref = compute_stats(pd.Series(e, index=idx), trades=tdf,
                            benchmark=pd.Series(bench, index=idx), fills=fdf,
                            exposure=pd.Series(expo, index=idx))
        got = si.stats(e, trades=tr, fills=fi, exposure=expo)
        assert all(_same(got[k], ref[k]) for k in ref)


def test_unrecovered_drawdown_recovery_is_none_and_json_safe():
    """Regression: to_jsonable left NaT for a drawdown that never recovers, so stats.json of
    such a run could not be written."""
    import json

    idx = pd.date_range("2020-01-01", periods=50, freq="1D", tz="UTC")
    eq = np.linspace(100.0, 60.0, 50)  # falls to the end
    ref = compute_stats(pd.Series(eq, index=idx))
    assert ref["max_drawdown_recovery"] is None and ref["max_drawdown_peak"] is not None
    json.dumps(ref, allow_nan=False)
    got = StatsIndex(idx.as_unit("ns").asi8).stats(eq)
    assert got["max_drawdown_recovery"] is None
