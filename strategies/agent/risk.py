"""Risk overlay of the Agent strategy: stop-loss (fixed or trailing) and take-profit exits.

Prices are the closes the strategy sees; the reference price of a position is the close of the
bar whose decision opened it (the order fills later, at the next bar's open). Checked on every
bar: a long exits when the close falls ``stop_loss`` below the reference (or, with ``trailing``,
below the highest close since entry) or rises ``take_profit`` above the reference; shorts mirror
it. ``0`` turns a rule off.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass
class _Open:
    side: int
    reference: float
    extreme: float


class RiskOverlay:
    def __init__(self, *, stop_loss: float = 0.0, take_profit: float = 0.0,
                 trailing: bool = True) -> None:  # fmt: skip
        self.stop_loss = float(stop_loss)
        self.take_profit = float(take_profit)
        self.trailing = bool(trailing)
        self._open: dict[str, _Open] = {}

    def on_target(self, symbol: str, target: float, price: float) -> None:
        """Record a new target weight set at ``price`` (opens, flips or clears the position)."""
        side = (target > 0) - (target < 0)
        cur = self._open.get(symbol)
        if side == 0:
            self._open.pop(symbol, None)
        elif cur is None or cur.side != side:
            self._open[symbol] = _Open(side, price, price)

    def check(self, symbol: str, price: float) -> tuple[str, float] | None:
        """``(event, reference)`` when ``price`` triggers an exit, else None."""
        cur = self._open.get(symbol)
        if cur is None or not math.isfinite(price):
            return None
        if cur.side > 0:
            cur.extreme = max(cur.extreme, price)
            base = cur.extreme if self.trailing else cur.reference
            if self.stop_loss and price <= base * (1 - self.stop_loss):
                return "stop_loss", base
            if self.take_profit and price >= cur.reference * (1 + self.take_profit):
                return "take_profit", cur.reference
        else:
            cur.extreme = min(cur.extreme, price)
            base = cur.extreme if self.trailing else cur.reference
            if self.stop_loss and price >= base * (1 + self.stop_loss):
                return "stop_loss", base
            if self.take_profit and price <= cur.reference * (1 - self.take_profit):
                return "take_profit", cur.reference
        return None
