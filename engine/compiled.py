"""The compiled path: vectorised targets run entirely in numba through the same kernels.

A strategy's ``targets(data)`` returns :class:`Targets`: one value per bar (and symbol) —
nan means "no new target" — and the kind of target (``"percent"`` of equity, ``"size"`` in
units, ``"value"`` in quote currency). At bar i's close, a target order is sent for each symbol
whose value is set and differs from the last value sent (every set value with
``repeat=True``, for rebalancing); it is resolved at its fill exactly as
``ctx.order_target_*`` resolves it (same kernel, same record). Sparse targets: with
``index`` (increasing bar numbers), ``values`` holds one row per listed bar ([events] or
[events, symbols]) and every other bar has none. ``data`` is the dict
``ctx.data`` gives in ``init``: open..volume ([bars] for one symbol, else [bars, symbols]; nan
where a symbol has no bar), ``ts``, ``symbols`` and ``cache``: a dict for work that depends
only on the market (e.g. cumulative sums of the closes), shared by every parameter set of a
batch or sweep chunk on the same market (``engine.batch``), fresh for a single run.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import StrategyError
from engine import types as T
from engine.layout import DONE, REPEAT
from engine.step_nb import run_targets_nb

KINDS = {"size": T.F_TARGET, "value": T.F_TARGET_VALUE, "percent": T.F_TARGET_PCT}


@dataclasses.dataclass(frozen=True)
class Targets:
    values: np.ndarray  # float64 [bars] or [bars, symbols]; nan = no new target
    kind: str = "percent"
    repeat: bool = False  # True: every set value sends an order (rebalancing), not only changes
    index: np.ndarray | None = None  # sparse: the bars of the rows of ``values`` (increasing)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise StrategyError("unknown target kind", argument="kind", value=self.kind,
                                fix=f"use one of {list(KINDS)}")

    def dense(self, n_bars: int) -> np.ndarray:
        """The values per bar ([n_bars] or [n_bars, symbols]; nan = no new target)."""
        vals = np.asarray(self.values, dtype=np.float64)
        if self.index is None:
            return vals
        out = np.full((n_bars,) + vals.shape[1:], np.nan)
        out[np.asarray(self.index, dtype=np.int64)] = vals
        return out


def market_data(market) -> dict[str, np.ndarray]:
    one = len(market.symbols) == 1
    out: dict = {name: market.mkt[k, :, 0] if one else market.mkt[k]
                 for k, name in enumerate(("open", "high", "low", "close", "volume"))}
    out["ts"] = market.ts
    out["symbols"] = list(market.symbols)
    return out


def target_events(strategy, market, data: dict | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Call ``strategy.targets`` (on ``data``, default ``market_data(market)``) and return
    its events and the target kind flag."""
    m = market
    tg = strategy.targets(market_data(m) if data is None else data)
    if not isinstance(tg, Targets):
        raise StrategyError("targets() must return engine.compiled.Targets",
                            argument="targets", value=type(tg).__name__,
                            fix="return Targets(values, kind='percent')")
    vals = np.asarray(tg.values, dtype=np.float64)
    if vals.ndim == 1:
        vals = vals[:, None]
    rows = m.n_bars
    if tg.index is not None:
        bars = np.asarray(tg.index)
        rows = bars.shape[0]
        if (bars.ndim != 1 or bars.dtype.kind not in "iu" or (rows and (
                bars[0] < 0 or bars[-1] >= m.n_bars)) or (rows > 1 and (
                bars[1:] <= bars[:-1]).any())):
            raise StrategyError("targets index must be increasing bar numbers",
                                argument="targets.index", value=getattr(bars, "shape", bars),
                                fix=f"give ints in 0..{m.n_bars - 1}, increasing")
    if vals.shape != (rows, len(m.symbols)):
        raise StrategyError("targets have the wrong shape", argument="targets",
                            value=vals.shape, fix=f"return {(rows, len(m.symbols))}")
    ev_i, ev_s, ev_v = events(vals)
    if tg.index is not None:
        ev_i = bars.astype(np.int64, copy=False)[ev_i]
    if np.isinf(ev_v).any():  # the set values only (nan is never inf)
        raise StrategyError("targets must be finite or nan", argument="targets",
                            value="inf", fix="use nan for 'no new target'")
    return ev_i, ev_s, ev_v, KINDS[tg.kind] | (REPEAT if tg.repeat else 0)


def run_compiled(broker, strategy) -> None:
    m = broker.market
    ev_i, ev_s, ev_v, kind = target_events(strategy, m)
    last = np.full(len(m.symbols), np.nan)
    work = np.empty(len(m.symbols) + 4)
    i0 = 0
    # one order per target event (a margin liquidation adds one: the loop returns to grow),
    # about one fill, round trip and snapshot per order (partial fills: the loop grows);
    # sized exactly: every reserved row is written with the records' defaults, and fresh
    # memory costs a page fault per 4 KB on the first call of a process
    n_sym = len(m.symbols)
    broker.reserve(len(ev_i) + 5 * n_sym + 24, per_order=1, exact=True)
    while True:
        broker.ensure(len(m.symbols) + 1)
        e0 = int(np.searchsorted(ev_i, i0))
        r = run_targets_nb(i0, e0, m.mkt, m.ts, ev_i, ev_s, ev_v, kind, broker.orders,
                           broker.fills, broker.trades, broker.open_tr, broker.acct, broker.cnt,
                           broker.cfg, broker.symcfg, broker.snap, last, work, broker.fine,
                           broker.fine_at)
        if r == DONE:
            return
        i0 = int(r)
        _grow_all(broker)


def events(vals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense targets [bars, symbols] (nan = none) -> sorted (bar, symbol, value) events."""
    flat = vals.ravel()
    idx = np.flatnonzero(~np.isnan(flat))
    n_sym = vals.shape[1]
    if n_sym == 1:
        return idx.astype(np.int64, copy=False), np.zeros(idx.size, np.int64), flat[idx]
    return (idx // n_sym).astype(np.int64), (idx % n_sym).astype(np.int64), flat[idx]


def run_stepfn(broker, strategy) -> None:
    """The compiled path with the strategy's njit step function (engine/stepfn_nb.py)."""
    from engine.stepfn_nb import run_step_nb

    m = broker.market
    got = strategy.step_function()
    if not (isinstance(got, tuple) and len(got) == 2):
        raise StrategyError("step_function() must return (njit step, state array)",
                            argument="step_function", value=type(got).__name__,
                            fix="return (my_step_nb, np.zeros(k))")
    step, state = got
    if not hasattr(step, "py_func"):
        raise StrategyError("the step function must be numba @njit", argument="step_function",
                            value=getattr(step, "__name__", step), fix="decorate it with @njit")
    kind = getattr(strategy, "step_kind", "percent")
    if kind not in KINDS:
        raise StrategyError("unknown step_kind", argument="step_kind", value=kind,
                            fix=f"use one of {list(KINDS)}")
    state = np.ascontiguousarray(state, dtype=np.float64)
    broker.reserve(max(64, m.n_bars // 32))
    i0 = 0
    while True:
        broker.ensure(len(m.symbols) + 1)
        r = run_step_nb(step, i0, m.mkt, m.ts, KINDS[kind], state, broker.orders, broker.fills,
                        broker.trades, broker.open_tr, broker.acct, broker.cnt, broker.cfg,
                        broker.symcfg, broker.snap, broker.fine, broker.fine_at)
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
