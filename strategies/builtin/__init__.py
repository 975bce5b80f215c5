"""Built-in strategies. ``BUILTINS`` maps registry names to classes (strategies.registry
builds on it)."""

from __future__ import annotations

from strategies.builtin.buy_and_hold import BuyAndHold
from strategies.builtin.rebalance import Rebalance
from strategies.builtin.sma_cross import SmaCross

BUILTINS = {cls.name: cls for cls in (BuyAndHold, Rebalance, SmaCross)}


def _tick_builtins() -> None:
    """Tick strategies (order-book runs; strategies/tick)."""
    from strategies.tick.market_making import AvellanedaStoikov, GridMarketMaker
    from strategies.tick.ofi_taker import OfiTaker

    for cls in (AvellanedaStoikov, GridMarketMaker, OfiTaker):
        BUILTINS[cls.name] = cls


_tick_builtins()

__all__ = ["BUILTINS", "BuyAndHold", "Rebalance", "SmaCross"]
