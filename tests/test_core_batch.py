"""engine.batch.run_batch: many parameter sets in one numba call, each equal to its own run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from data.errors import ConfigError, StrategyError
from engine.batch import run_batch
from strategies.base import Strategy

REPO = Path(__file__).resolve().parents[1]
GOOG = str(REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv")
SETS = [{"fast": 10, "slow": 20}, {"fast": 5, "slow": 30}, {"fast": 10, "slow": 20,
                                                             "long_only": True},
        {"fast": 3, "slow": 7}]


def test_batch_equals_single_runs():
    b = run_batch("sma_cross", SETS, market=GOOG, cash=10_000.0, commission=0.002,
                  keep_equity=True)
    df = b.summary
    assert list(df["fast"]) == [10, 5, 10, 3]
    for k, p in enumerate(SETS):
        r = engine.run(market=GOOG, strategy="sma_cross", params=p, cash=10_000.0,
                       commission=0.002, mode="compiled")
        assert df["final_equity"][k] == r.final_equity
        assert np.array_equal(b.equity[k], r.equity_rec["equity"])
        assert df["n_trades"][k] == (r.trades_rec["status"] == 0).sum()
        assert df["n_fills"][k] == len(r.fills_rec)
        assert df["fees"][k] == pytest.approx(r.fills["fee"].sum(), rel=1e-12)
        eq = r.equity_rec["equity"]
        dd = (eq / np.maximum.accumulate(eq) - 1).min()
        assert df["max_drawdown"][k] == pytest.approx(dd, abs=1e-12)
        ret = eq[1:] / eq[:-1] - 1
        assert df["mean_return"][k] == pytest.approx(ret.mean(), rel=1e-9)
        assert df["std_return"][k] == pytest.approx(ret.std(ddof=1), rel=1e-9)
    full = b.result(1)
    assert full.final_equity == df["final_equity"][1]


def test_batch_grows_its_arrays():
    # fast/slow 2/3 on 2,148 bars trades far more than an initial capacity of 8 orders
    b = run_batch("sma_cross", [{"fast": 2, "slow": 3}], market=GOOG, commission=0.0,
                  capacity=8)
    r = engine.run(market=GOOG, strategy="sma_cross", params={"fast": 2, "slow": 3},
                   mode="compiled")
    assert b.summary["final_equity"][0] == r.final_equity
    assert b.summary["n_fills"][0] == len(r.fills_rec) > 300


def test_batch_errors():
    with pytest.raises(ConfigError, match="non-empty list"):
        run_batch("sma_cross", [], market=GOOG)
    with pytest.raises(StrategyError, match="'fats'"):
        run_batch("sma_cross", [{"fats": 3}], market=GOOG)

    class NoTargets(Strategy):
        name = "no_targets"

        def on_bar(self, ctx):
            pass

    with pytest.raises(StrategyError, match="targets"):
        run_batch(NoTargets, [{}], market=GOOG)
