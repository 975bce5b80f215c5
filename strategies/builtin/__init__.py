"""Built-in strategies. ``BUILTINS`` maps registry names to classes (strategies.registry
builds on it)."""

from __future__ import annotations

from strategies.agent.strategy import Agent
from strategies.builtin.buy_and_hold import BuyAndHold
from strategies.builtin.rebalance import Rebalance
from strategies.builtin.rl import RLPolicy, RLReplay
from strategies.builtin.sma_cross import SmaCross
from strategies.ml.strategy import MLSignal
from strategies.signals.longshort import SignalLongShort
from strategies.statarb.basket import Basket
from strategies.statarb.pairs import Pairs
from strategies.tick.market_making import AvellanedaStoikov, GridMarketMaker
from strategies.tick.ofi_taker import OfiTaker

BUILTINS = {cls.name: cls for cls in (BuyAndHold, Rebalance, SmaCross, Pairs, Basket,
                                      SignalLongShort, Agent, MLSignal, RLPolicy, RLReplay,
                                      # tick strategies (order-book runs, strategies/tick)
                                      AvellanedaStoikov, GridMarketMaker, OfiTaker)}

__all__ = ["BUILTINS", "Agent", "AvellanedaStoikov", "Basket", "BuyAndHold", "GridMarketMaker",
           "MLSignal", "OfiTaker", "Pairs", "RLPolicy", "RLReplay", "Rebalance",
           "SignalLongShort", "SmaCross"]
