"""The Python-strategy loop: one pass over the bars, the broker kernel only where needed.

Per bar: (1) working orders against the bar and the margin check at its close
(``process_bar_into_nb`` phase 0 through ``Broker.step``; only when an order is live, a borrow charge is due or the margin
check asks for it), with ``on_fill`` / ``on_order`` callbacks; (2) ``on_bar``;
(3) with ``fill_at = "signal_close"``, market orders sent in (2) fill at this bar's close
(phase 1). Equity is rebuilt after the loop from the state snapshots (``mark_nb``), the same
way the compiled path does it.
"""

from __future__ import annotations

import numpy as np

from data.errors import StrategyError
from data.timeutil import ns_to_iso
from engine.layout import C_FILLS, C_FIRST, C_ORDERS, C_WATCH, K_BORROW, K_MARGIN_SCAN
from strategies.base import Context, Strategy

NS_DAY = 86_400_000_000_000


def _overrides(strategy: Strategy, hook: str) -> bool:
    return getattr(type(strategy), hook) is not getattr(Strategy, hook)


def run_python(broker, strategy: Strategy) -> Context:
    ctx = Context(broker)
    try:
        return _run_python(broker, strategy, ctx)
    except Exception as exc:
        if not getattr(exc, "__notes__", None):  # say where in the data
            i = ctx.i
            when = ("in init(), before the first bar" if i < 0 else
                    f"at bar {i} ({ns_to_iso(int(broker.market.ts[i]))})")
            exc.add_note(f"tapereader: raised {when} by {type(strategy).__name__}")
        raise


def _run_python(broker, strategy: Strategy, ctx: Context) -> Context:
    market = broker.market
    ts = market.ts
    n = len(ts)
    cnt = broker.cnt
    strategy.init(ctx)
    on_bar = strategy.on_bar
    want_fill = _overrides(strategy, "on_fill")
    want_order = _overrides(strategy, "on_order")
    callbacks = want_fill or want_order
    borrow = broker.cfg[K_BORROW] > 0.0
    newday = np.zeros(n, bool)
    if borrow and n > 1:
        d = ts // NS_DAY
        newday[1:] = d[1:] != d[:-1]
    step = broker.step
    at_close = broker.at_close
    # the margin check (engine/margin_nb.py) runs inside the kernel; cnt[C_WATCH] is the next
    # bar it must run at even with no live order. A longer scan means fewer calls from Python.
    from engine.broker import MARGIN_SCAN_PYTHON

    broker.cfg[K_MARGIN_SCAN] = MARGIN_SCAN_PYTHON
    nxt = 0

    def after(i: int, nf0: int, lo: int) -> None:
        t = ts[i]
        if want_order:
            o = broker.orders[lo : int(cnt[C_ORDERS])]
            for k in np.flatnonzero(o["update_ts"] == t):
                strategy.on_order(ctx, o[k].copy())
        if want_fill:
            for k in range(nf0, int(cnt[C_FILLS])):
                strategy.on_fill(ctx, broker.fills[k].copy())

    for i in range(n):
        if i >= nxt or cnt[C_FIRST] < cnt[C_ORDERS] or (
                borrow and newday[i] and (broker.open_tr["side"] < 0).any()):
            nf0, lo = int(cnt[C_FILLS]), int(cnt[C_FIRST])
            step(i, 0)
            nxt = int(cnt[C_WATCH])
            ctx.i = i
            if callbacks:
                after(i, nf0, lo)
        ctx.i = i
        on_bar(ctx)
        if broker.changed:
            changed, broker.changed = broker.changed, []
            if want_order:
                for k in changed:
                    strategy.on_order(ctx, broker.orders[k].copy())
        if at_close and broker.close_pending:
            broker.close_pending = False
            nf0, lo = int(cnt[C_FILLS]), int(cnt[C_FIRST])
            step(i, 1)
            nxt = int(cnt[C_WATCH])
            if callbacks:
                after(i, nf0, lo)
    strategy.on_stop(ctx)
    return ctx


def check_strategy(strategy) -> None:
    if not isinstance(strategy, Strategy):
        raise StrategyError("not a Strategy instance", argument="strategy",
                            value=type(strategy).__name__,
                            fix="subclass strategies.base.Strategy")
