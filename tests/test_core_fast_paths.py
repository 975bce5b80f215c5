"""The shortcuts of the compiled path give the same results as the long way.

* a prepared :class:`engine.market.Market` passed to ``engine.run`` (no copy) gives the run
  made from the file;
* ``sma_cross.targets`` (crosses found on the difference of the two averages) equals the
  targets built from :func:`strategies.builtin.sma_cross.crosses`, including exact ties;
* ``Strategy.param_spec`` is cached per class but follows a changed class attribute;
* a run makes only the equity column; the equity records come on demand, equal;
* sparse targets (``Targets(index=...)``) run as their dense form, and are checked;
* the one-pass market of one symbol equals the general path's (nan closes, order check);
* the prefetch hint of the compiled loop (engine/hints_nb.py) emits a prefetch and changes
  nothing: a long synthetic run with events far apart equals the Python path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from data.errors import DataError, StrategyError
from engine import types as T
from engine.compiled import Targets
from engine.layout import M_MARK
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


def test_equity_values_are_the_records_equity_and_the_records_come_on_demand():
    for mode in ("compiled", "python"):
        res = engine.run(market=GOOG, strategy="sma_cross", params={"fast": 5, "slow": 30},
                         commission=0.002, mode=mode)
        assert res._equity_rec is None  # only the equity column is made by the run
        eq = res.equity_values.copy()
        rec = res.equity_rec
        assert rec.dtype == T.EQUITY_REC and len(rec) == res.market.n_bars
        assert rec["equity"].tobytes() == eq.tobytes()
        assert res.equity_rec is rec  # built once
        assert np.array_equal(rec["ts"], res.market.ts)
        # the derived columns: cash + positions value = equity, fees cumulative
        np.testing.assert_allclose(rec["cash"] + rec["positions_value"], rec["equity"],
                                   rtol=1e-12)
        assert (np.diff(rec["fees"]) >= 0).all() and rec["fees"][-1] > 0
        assert res.final_equity == eq[-1] == res.equity["equity"].iloc[-1]


class _Plan(Strategy):
    name = "sparse_plan_test"
    sparse: bool = False

    def targets(self, data):
        n = len(data["close"])
        bars = np.array([3, 10, 11, 40, n - 2])
        vals = np.array([0.5, -0.3, np.nan, 1.0, 0.0])
        if self.sparse:
            return Targets(vals, "percent", index=bars)
        t = np.full(n, np.nan)
        t[bars] = vals
        return Targets(t, "percent")


def test_sparse_targets_run_as_their_dense_form():
    a = engine.run(market=GOOG, strategy=_Plan(sparse=False), commission=0.001)
    b = engine.run(market=GOOG, strategy=_Plan(sparse=True), commission=0.001)
    assert len(a.fills_rec) == 4
    for name in ("equity_rec", "fills_rec", "trades_rec", "orders_rec"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    tg = _Plan(sparse=True).targets({"close": np.zeros(50)})
    dense = tg.dense(50)
    assert dense.shape == (50,) and np.isnan(dense[[0, 11, 47]]).all() and dense[40] == 1.0


@pytest.mark.parametrize("index,values", [
    (np.array([3, 2]), np.ones(2)),          # not increasing
    (np.array([-1, 2]), np.ones(2)),         # before the first bar
    (np.array([1, 10**9]), np.ones(2)),      # after the last bar
    (np.array([1.0, 2.0]), np.ones(2)),      # not integers
    (np.array([1, 2]), np.ones(3)),          # one value per listed bar
])
def test_sparse_targets_are_checked(index, values):
    class Bad(Strategy):
        name = "sparse_bad_test"

        def targets(self, data):
            return Targets(values, "size", index=index)

    with pytest.raises(StrategyError):
        engine.run(market=GOOG, strategy=Bad())


def test_one_pass_market_equals_the_general_path():
    mk = load_market(GOOG)
    bars = mk.bars[mk.symbols[0]].copy()
    bars["close"][[5, 6, 40]] = np.nan  # the mark carries the last close forward
    one = load_market({"X": bars})
    general = load_market({"X": bars}, start=int(bars["ts"][0]))  # (the path with a range)
    assert one.ts.tobytes() == general.ts.tobytes()
    assert one.mkt.tobytes() == general.mkt.tobytes()
    assert one.mkt[M_MARK, 6, 0] == bars["close"][4]
    bad = bars.copy()
    bad["ts"][20] = bad["ts"][19]
    with pytest.raises(DataError, match="strictly increasing"):
        load_market({"X": bad})


def test_prefetch_hint_compiles_to_a_prefetch_and_changes_no_value():
    from numba import njit

    from engine.hints_nb import prefetch_nb

    def walk(a3, a1):
        t = 0.0
        for i in range(a1.shape[0]):
            prefetch_nb(a3, (1, min(i + 64, a3.shape[1] - 1), 0))
            prefetch_nb(a1, (min(i + 64, a1.shape[0] - 1),))
            t += a3[1, i, 0] * a1[i]
        return t

    fn = njit(walk)  # (not cached: its machine code can be inspected)
    rng = np.random.default_rng(7)
    a3, a1 = rng.random((3, 5000, 1)), rng.random(5000)
    assert fn(a3, a1) == sum(a3[1, i, 0] * a1[i] for i in range(5000))
    asm = fn.inspect_asm(fn.signatures[0])
    assert "prefetch" in asm


def test_compiled_run_with_events_far_apart_equals_the_python_path():
    """Events thousands of bars apart (the loop jumps and prefetches the next event's bars):
    fills and equity equal the Python path's bit for bit."""
    from benchmarks.synth import generate_bars

    bars = generate_bars(60_000, seed=11)
    kw = dict(market={"SYN": bars}, strategy="sma_cross", params={"fast": 200, "slow": 2000},
              cash=1e6, commission=1e-4)
    a = engine.run(mode="compiled", **kw)
    b = engine.run(mode="python", **kw)
    assert len(a.fills_rec) >= 10
    for name in ("fills_rec", "equity_rec", "trades_rec"):  # bytes: nan fields compare too
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
