"""rebalance: hold fixed portfolio weights, re-set every ``every`` bars (multi-asset).

``weights`` is ``"SYM:w,SYM:w"`` (symbols not named get 0) or empty for equal weights over
every symbol, scaled by ``invest`` (the rest stays in cash). On bar 0 and every ``every`` bars
after it, ``order_target_weights`` sends one target order per symbol, resolved at the next
open; within a bar, target orders that sell (toward a smaller position) fill before those that
buy, so the proceeds fund the purchases.
"""

from __future__ import annotations

import numpy as np

from data.errors import StrategyError
from strategies.base import Param, Strategy


class Rebalance(Strategy):
    name = "rebalance"
    about = "fixed weights re-set every N bars (equal weights by default)"
    weights: str = Param("", help='"SYM:w,SYM:w"; empty: equal weights')
    every: int = Param(21, min=1, help="bars between rebalances")
    invest: float = Param(0.99, min=0.0, max=1.0, help="fraction of equity invested")

    def _parse(self, symbols: list[str]) -> np.ndarray:
        if not self.weights.strip():
            return np.full(len(symbols), self.invest / len(symbols))
        w = np.zeros(len(symbols))
        for part in self.weights.split(","):
            sym, sep, val = part.partition(":")
            sym = sym.strip()
            try:
                x = float(val)
            except ValueError:
                x = float("nan")
            if not sep or sym not in symbols or not np.isfinite(x):
                raise StrategyError("bad weights entry", argument="weights", value=part,
                                    fix=f"write SYM:weight with SYM in {symbols}")
            w[symbols.index(sym)] = x
        return w * self.invest

    def init(self, ctx):
        self.w = self._parse(ctx.symbols)

    def on_bar(self, ctx):
        if ctx.i % self.every == 0:
            ctx.order_target_weights(dict(zip(ctx.symbols, self.w, strict=True)))

    def targets(self, data):
        from engine.compiled import Targets

        w = self._parse(data["symbols"])
        t = np.full((len(data["ts"]), len(w)), np.nan)
        t[:: self.every] = w
        return Targets(t, "percent", repeat=True)
