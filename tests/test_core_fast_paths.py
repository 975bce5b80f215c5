"""The shortcuts of the compiled path give the same results as the long way.

* a prepared :class:`engine.market.Market` passed to ``engine.run`` (no copy) gives the run
  made from the file;
* ``sma_cross.targets`` (crosses found on the difference of the two averages) equals the
  targets built from :func:`strategies.builtin.sma_cross.crosses`, including exact ties;
* ``Strategy.param_spec`` is cached per class but follows a changed class attribute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from engine.market import load_market
from strategies.base import Param, Strategy
from strategies.builtin.sma_cross import SmaCross, crosses, sma

REPO = Path(__file__).resolve().parents[1]
GOOG = str(REPO / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv")


def _targets_from_crosses(close, fast, slow, long_only):
    x = crosses(sma(close, fast), sma(close, slow))
    t = np.full(x.shape, np.nan)
    t[x > 0] = 1.0
    if long_only:
        ups = np.flatnonzero(x > 0)
        down = x < 0
        if ups.size:
            down[: ups[0]] = False
            t[down] = 0.0
    else:
        t[x < 0] = -1.0
    return t


def test_prepared_market_gives_the_same_run_and_is_not_copied():
    mk = load_market(GOOG)
    assert load_market(mk) is mk
    kw = dict(strategy="sma_cross", params={"fast": 10, "slow": 30}, commission=0.001,
              mode="compiled")
    a = engine.run(market=GOOG, **kw)
    b = engine.run(market=mk, **kw)
    assert b.market is mk
    for name in ("equity_rec", "fills_rec", "trades_rec", "orders_rec"):  # bytes: nan == nan
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert a.stats == b.stats


def test_prepared_market_is_cut_again_by_start_end():
    mk = load_market(GOOG)
    a = engine.run(market=GOOG, strategy="sma_cross", start="2008-01-01", end="2010-12-31")
    b = engine.run(market=mk, strategy="sma_cross", start="2008-01-01", end="2010-12-31")
    assert b.market is not mk and b.market.n_bars < mk.n_bars
    assert a.equity_rec.tobytes() == b.equity_rec.tobytes()


@pytest.mark.parametrize("long_only", [False, True])
@pytest.mark.parametrize("fast,slow", [(1, 2), (2, 3), (5, 20), (10, 30)])
def test_sma_cross_targets_equal_the_crosses(fast, slow, long_only):
    rng = np.random.default_rng(7)
    for n in (1, 2, slow, slow + 1, 500):
        for rounded in (False, True):
            close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
            if rounded:  # coarse prices: the two averages are often exactly equal
                close = np.round(close, 0)
            got = SmaCross(fast=fast, slow=slow, long_only=long_only).targets(
                {"close": close}).dense(n)
            want = _targets_from_crosses(close, fast, slow, long_only)
            assert np.array_equal(got, want, equal_nan=True), (n, rounded)


def test_param_spec_follows_a_changed_class_attribute():
    class S(Strategy):
        name = "spec_cache_test"
        k: int = Param(3, min=1)

    assert S().k == 3
    assert S.param_spec() is not S.param_spec()  # callers get their own dict
    S.k = Param(5, min=1)
    assert S().k == 5
    assert S.param_spec()["k"][1].default == 5
