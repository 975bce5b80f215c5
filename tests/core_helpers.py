"""Helpers for the core tests: hand-made bars and a scripted strategy."""

from __future__ import annotations

import numpy as np

from data.schema import BAR
from strategies.base import Strategy

DAY = 86_400_000_000_000
T0 = 1_600_000_000_000_000_000 // DAY * DAY + 20 * 3_600_000_000_000  # a 20:00 UTC close


def bars(rows, volume=1e6, t0=T0, step=DAY) -> np.ndarray:
    """BAR array from (open, high, low, close) rows, one per ``step``."""
    out = np.zeros(len(rows), dtype=BAR)
    out["ts"] = t0 + step * np.arange(len(rows))
    a = np.asarray(rows, dtype=float)
    out["open"], out["high"], out["low"], out["close"] = a[:, 0], a[:, 1], a[:, 2], a[:, 3]
    out["volume"] = volume
    return out


def closes_to_bars(c, volume, *, wick: float, t0: int, step: int) -> np.ndarray:
    """BAR array from closes ``c``: each bar opens at the previous close (the first at its own
    close), high / low = max / min(open, close) * (1 +/- ``wick``), one bar per ``step``."""
    n = len(c)
    b = np.zeros(n, BAR)
    b["ts"] = t0 + step * np.arange(n)
    b["open"] = np.r_[c[0], c[:-1]]
    b["close"] = c
    b["high"] = np.maximum(b["open"], c) * (1 + wick)
    b["low"] = np.minimum(b["open"], c) * (1 - wick)
    b["volume"] = volume
    return b


class Scripted(Strategy):
    """Runs ``script[i](ctx)`` at bar i; records order updates and fills."""

    name = "scripted"

    def __init__(self, script, **kw):
        super().__init__(**kw)
        self.script = script
        self.updates = []
        self.fills = []
        self.ids = {}

    def on_bar(self, ctx):
        fn = self.script.get(ctx.i)
        if fn is not None:
            out = fn(ctx)
            if out is not None:
                self.ids[ctx.i] = out

    def on_order(self, ctx, order):
        self.updates.append(order)

    def on_fill(self, ctx, fill):
        self.fills.append(fill)
