"""buy_and_hold: on the first bar, all-in (or ``weight``) long on every symbol, equal weights."""

from __future__ import annotations

import numpy as np

from strategies.base import Param, Strategy


class BuyAndHold(Strategy):
    name = "buy_and_hold"
    about = "buy on the first bar, equal weights across symbols, hold to the end"
    weight: float = Param(1.0, min=0.0, max=1.0, help="fraction of equity invested")

    def on_bar(self, ctx):
        if ctx.i == 0:
            w = self.weight / len(ctx.symbols)
            ctx.order_target_weights({s: w for s in ctx.symbols})

    def targets(self, data):
        from engine.compiled import Targets

        close = data["close"]
        t = np.full(close.shape, np.nan)
        n_sym = 1 if close.ndim == 1 else close.shape[1]
        t[0] = self.weight / n_sym
        return Targets(t, "percent")
