"""Built-in strategies. ``BUILTINS`` maps registry names to classes (strategies.registry
builds on it)."""

from __future__ import annotations

from strategies.builtin.buy_and_hold import BuyAndHold
from strategies.builtin.rebalance import Rebalance
from strategies.builtin.sma_cross import SmaCross

BUILTINS = {cls.name: cls for cls in (BuyAndHold, Rebalance, SmaCross)}

__all__ = ["BUILTINS", "BuyAndHold", "Rebalance", "SmaCross"]
