"""Built-in tick strategies (order-book engine): market making and an order-flow taker.

* :class:`~strategies.tick.market_making.AvellanedaStoikov` (``avellaneda_stoikov``) and its
  compiled twin ``as_step_nb``; :class:`~strategies.tick.market_making.GridMarketMaker`
  (``grid_mm``, the benchmark loop) and ``grid_mm_step_nb``;
* :class:`~strategies.tick.ofi_taker.OfiTaker` (``ofi_taker``).
"""

from __future__ import annotations

TICK_STRATEGIES = {
    "avellaneda_stoikov": "strategies.tick.market_making:AvellanedaStoikov",
    "grid_mm": "strategies.tick.market_making:GridMarketMaker",
    "ofi_taker": "strategies.tick.ofi_taker:OfiTaker",
}


def load(name: str):
    """The strategy class registered as ``name``."""
    import importlib

    from data.errors import StrategyError

    if name not in TICK_STRATEGIES:
        raise StrategyError("unknown tick strategy", argument="strategy", value=name,
                            fix=f"use one of {sorted(TICK_STRATEGIES)}")
    mod, cls = TICK_STRATEGIES[name].split(":")
    return getattr(importlib.import_module(mod), cls)
