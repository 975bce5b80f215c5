"""The compiled path: vectorised targets run entirely in numba through the same kernels.

A strategy's ``targets(data)`` returns :class:`Targets`: one value per bar (and symbol) —
nan means "no new target" — and the kind of target (``"percent"`` of equity, ``"size"`` in
units, ``"value"`` in quote currency). At bar i's close, a target order is sent for each symbol
whose value is set and differs from the last value sent; it is resolved at its fill exactly as
``ctx.order_target_*`` resolves it (same kernel, same record). ``data`` is the dict
``ctx.data`` gives in ``init`` (open..volume, [bars] or [bars, symbols]).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import StrategyError
from engine import types as T
from engine.layout import DONE
from engine.step_nb import run_targets_nb

KINDS = {"size": T.F_TARGET, "value": T.F_TARGET_VALUE, "percent": T.F_TARGET_PCT}


@dataclasses.dataclass(frozen=True)
class Targets:
    values: np.ndarray  # float64 [bars] or [bars, symbols]; nan = no new target
    kind: str = "percent"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise StrategyError("unknown target kind", argument="kind", value=self.kind,
                                fix=f"use one of {list(KINDS)}")


def market_data(market) -> dict[str, np.ndarray]:
    one = len(market.symbols) == 1
    return {name: market.mkt[k, :, 0] if one else market.mkt[k]
            for k, name in enumerate(("open", "high", "low", "close", "volume"))}


def run_compiled(broker, strategy) -> None:
    m = broker.market
    tg = strategy.targets(market_data(m))
    if not isinstance(tg, Targets):
        raise StrategyError("targets() must return engine.compiled.Targets",
                            argument="targets", value=type(tg).__name__,
                            fix="return Targets(values, kind='percent')")
    vals = np.asarray(tg.values, dtype=np.float64)
    if vals.ndim == 1:
        vals = vals[:, None]
    if vals.shape != (m.n_bars, len(m.symbols)):
        raise StrategyError("targets have the wrong shape", argument="targets",
                            value=vals.shape, fix=f"return {(m.n_bars, len(m.symbols))}")
    vals = np.ascontiguousarray(vals)
    last = np.full(len(m.symbols), np.nan)
    i0 = 0
    broker.reserve(m.n_bars // 32)
    while True:
        broker.ensure(len(m.symbols) + 1)
        r = run_targets_nb(i0, m.mkt, m.ts, vals, KINDS[tg.kind], broker.orders, broker.fills,
                           broker.trades, broker.open_tr, broker.acct, broker.cnt, broker.cfg,
                           broker.symcfg, broker.snap, last)
        if r == DONE:
            return
        i0 = int(r)
        _grow_all(broker)


def _grow_all(broker) -> None:
    from engine.broker import _grow

    broker.orders = _grow(broker.orders, 2 * broker.orders.shape[0])
    broker.fills = _grow(broker.fills, 2 * broker.fills.shape[0])
    broker.trades = _grow(broker.trades, 2 * broker.trades.shape[0])
    broker.snap = _grow(broker.snap, 2 * broker.snap.shape[0])
