"""Parity: the Python-strategy path and the compiled path give identical fills and equity.

Both paths call the same kernels; here they run the same strategies on shipped real data
(GOOG, KO, and a multi-asset portfolio of KO / PEP / EWA / EWC) with costs, slippage and both
fill options, and every fill and every equity value must be bit-identical.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from engine.compiled import Targets
from strategies.base import Strategy

REPO = Path(__file__).resolve().parents[1]
S = REPO / "data" / "samples"
GOOG = str(S / "equities_daily/GOOG_2004-2013_backtesting.csv")
KO = str(S / "pairs/daily-KO.csv")
PANEL = {name: str(S / f"pairs/{name}") for name in
         ("daily-KO.csv", "daily-PEP.csv", "EWA_daily_2006-2012.csv", "EWC_daily_2006-2012.csv")}


class Rebalance(Strategy):
    """Equal weights re-set every ``every`` bars, with a momentum tilt (targets both ways)."""

    name = "rebalance_test"
    every: int = 21
    lookback: int = 60

    def _weights(self, close):
        n, k = close.shape
        w = np.full((n, k), np.nan)
        c = np.where(np.isnan(close), np.nan, close)
        for i in range(self.lookback, n, self.every):
            mom = c[i] / c[i - self.lookback] - 1
            ok = np.isfinite(mom)
            if ok.sum() == 0:
                continue
            score = np.where(ok, mom, -np.inf)
            top = np.argsort(-score)[: max(1, ok.sum() // 2)]
            row = np.zeros(k)
            row[top] = 0.9 / len(top)
            w[i] = row
        return w

    def init(self, ctx):
        self.w = self._weights(ctx.data["close"])
        self.last = np.full(self.w.shape[1], np.nan)

    def on_bar(self, ctx):
        row = ctx.indicator(self.w)[-1]
        for s, x in enumerate(row):
            if x == x and x != self.last[s]:
                self.last[s] = x
                ctx.order_target_percent(s, x)

    def targets(self, data):
        return Targets(self._weights(data["close"]), "percent")


class LevCross(Strategy):
    """sma_cross at leverage: +-``lev`` of equity on each cross (margin calls on real data)."""

    name = "lev_cross_test"
    lev: float = 2.5

    def _t(self, close):
        from strategies.builtin.sma_cross import crosses, sma

        x = crosses(sma(close, 10), sma(close, 30))
        t = np.full(len(x), np.nan)
        t[x > 0], t[x < 0] = self.lev, -self.lev
        return t

    def init(self, ctx):
        self.t = self._t(ctx.data["close"])
        self.last = np.nan

    def on_bar(self, ctx):
        x = ctx.at(self.t)
        if x == x and x != self.last:
            self.last = x
            ctx.order_target_percent(None, x)

    def targets(self, data):
        return Targets(self._t(data["close"]), "percent")


def _same(a, b):
    for name in ("fills_rec", "equity_rec", "trades_rec"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.tobytes() == y.tobytes(), name
    assert a.orders_rec["status"].tobytes() == b.orders_rec["status"].tobytes()


CASES = [
    ("sma_cross", GOOG, {"fast": 10, "slow": 20}, {"commission": 0.002}),
    ("sma_cross", GOOG, {"fast": 5, "slow": 30, "long_only": True}, {"slippage": 5}),
    ("sma_cross", KO, {"fast": 10, "slow": 50}, {"commission": {"model": "per_share",
                                                              "per_share": 0.01,
                                                              "minimum": 1.0}}),
    ("sma_cross", GOOG, {"fast": 10, "slow": 20}, {"fill_at": "signal_close",
                                                  "commission": 0.001, "borrow_rate": 0.03}),
    ("buy_and_hold", GOOG, {}, {"commission": 0.001}),
    (Rebalance, PANEL, {}, {"commission": 0.0005, "lot_size": 0}),
    (Rebalance, PANEL, {"every": 5, "lookback": 20}, {"slippage": {"model": "half_spread",
                                                                   "spread": 0.001},
                                                      "fill_at": "signal_close"}),
    # leverage with a maintenance margin: margin calls on real data (asserted below)
    (LevCross, GOOG, {}, {"max_leverage": 3.0, "maintenance_margin": 0.3, "commission": 0.001,
                          "borrow_rate": 0.05}),
    (LevCross, KO, {"lev": 2.9}, {"max_leverage": 3.0, "maintenance_margin": 0.3,
                                  "fill_at": "signal_close", "volume_cap": 0.001}),
]


@pytest.mark.parametrize("strategy, market, params, opts", CASES,
                         ids=[f"{getattr(c[0], 'name', c[0])}-{k}" for k, c in enumerate(CASES)])
def test_python_and_compiled_paths_agree(strategy, market, params, opts):
    runs = [engine.run(market=market, strategy=strategy, params=params, cash=100_000.0,
                       mode=mode, **opts) for mode in ("python", "compiled")]
    assert [r.mode for r in runs] == ["python", "compiled"]
    assert len(runs[0].fills_rec) >= (1 if strategy == "buy_and_hold" else 4)
    _same(*runs)
    if strategy is LevCross:
        assert runs[0].stats["margin_calls"] >= 1 and runs[0].fills["liquidation"].any()
        assert runs[0].stats == runs[1].stats


# --- the njit step-function path ----------------------------------------------------------

from numba import njit  # noqa: E402


@njit(cache=True)
def _sma_step_nb(i, mkt, pos, cash, state, out):
    """sma_cross as a step function: state = [fast, slow, previous fast - slow]."""
    fast, slow = int(state[0]), int(state[1])
    if i < slow - 1:
        return
    c = mkt[3, :, 0]
    d = c[i - fast + 1 : i + 1].sum() / fast - c[i - slow + 1 : i + 1].sum() / slow
    prev = state[2]
    state[2] = d
    if prev < 0 and d > 0 and pos[0] <= 0:
        out[0] = 1.0
    elif prev > 0 and d < 0 and pos[0] >= 0:
        out[0] = -1.0


class SmaStep(Strategy):
    name = "sma_step_test"
    fast: int = 10
    slow: int = 20

    def step_function(self):
        assert self.fast < self.slow
        return _sma_step_nb, np.array([self.fast, self.slow, np.nan])


@pytest.mark.parametrize("market, fast, slow", [(GOOG, 10, 20), (KO, 5, 30)])
def test_step_function_path_matches_the_python_strategy(market, fast, slow):
    a = engine.run(market=market, strategy=SmaStep, params={"fast": fast, "slow": slow},
                   cash=10_000.0, commission=0.002, mode="compiled")
    b = engine.run(market=market, strategy="sma_cross", params={"fast": fast, "slow": slow},
                   cash=10_000.0, commission=0.002, mode="python")
    assert a.mode == "compiled" and len(a.fills_rec) > 4
    # the step's SMAs are summed per window (not from a cumulative sum): same crosses here
    assert a.fills_rec.tobytes() == b.fills_rec.tobytes()
    assert a.equity_rec.tobytes() == b.equity_rec.tobytes()
