"""The compiled path with an njit step function (the alternative to vectorised targets).

A strategy gives ``step_function() -> (step, state)``: ``step`` an ``@njit`` function
``step(i, mkt, pos, cash, state, out) -> None`` called at every bar's close with

* ``mkt``: the market array of :mod:`engine.layout` truncated at bar i (``mkt[3, :i+1, s]``
  are symbol s's closes so far; numba does not bounds-check, so reading past ``mkt.shape``
  reads the future: develop with ``NUMBA_BOUNDSCHECK=1``),
* ``pos``: the current position per symbol (units), ``cash``: the cash,
* ``state``: the float64 array given with the function (the step's own memory),
* ``out``: float64[n_symbols] filled with nan before the call; a value set there sends a
  target order for that symbol (kind from ``step_kind``: ``"percent"``, ``"size"``,
  ``"value"``), resolved at the fill like ``ctx.order_target_*``.

The loop calls the same broker kernel as every other path. It is compiled once per step
function (numba specialises on the function).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.layout import (
    A_CASH,
    C_FILLS,
    C_FIRST,
    C_ORDERS,
    C_SNAPS,
    C_TRADES,
    C_WATCH,
    DONE,
    K_AT_CLOSE,
    K_BORROW,
    M_CLOSE,
    NS_DAY,
)
from engine.margin_nb import margin_check_nb
from engine.step_nb import i64, process_bar_into_nb, submit_nb
from engine.types import F_AT_CLOSE, MARKET


@njit(cache=True)
def run_step_nb(step, i0, mkt, ts, mode, state, orders, fills, trades, open_tr, acct, cnt, cfg,
                symcfg, snap, fine, fine_at):
    n_bars = ts.shape[0]
    n_sym = mkt.shape[2]
    flags = mode
    borrow = cfg[K_BORROW] > 0.0
    if cfg[K_AT_CLOSE] != 0.0:
        flags |= F_AT_CLOSE
    pos = np.zeros(n_sym)
    out = np.empty(n_sym)
    used = np.empty(n_sym)
    p = np.empty(4)
    for i in range(i0, n_bars):
        room = 2 * (cnt[C_ORDERS] - cnt[C_FIRST]) + 2 * n_sym + 4
        if (cnt[C_ORDERS] + 3 * n_sym >= orders.shape[0] or cnt[C_FILLS] + room >= fills.shape[0]
                or cnt[C_TRADES] + room >= trades.shape[0] or cnt[C_SNAPS] + 2 >= snap.shape[0]):
            return i
        call = cnt[C_FIRST] < cnt[C_ORDERS]
        if not call and borrow and i > 0 and ts[i] // NS_DAY != ts[i - 1] // NS_DAY:
            for s in range(n_sym):
                if open_tr[s].side < 0:
                    call = True
        if call:
            process_bar_into_nb(i, i64(0), mkt, ts, orders, fills, trades, open_tr, acct, cnt,
                                cfg, symcfg, snap, used, p, fine, fine_at)
        elif i >= cnt[C_WATCH]:  # nothing else to do on this bar: the margin check alone
            margin_check_nb(i, mkt, ts, orders, open_tr, acct, cnt, cfg, symcfg)
        for s in range(n_sym):
            pos[s] = open_tr[s].side * open_tr[s].size
            out[s] = np.nan
        step(i, mkt[:, : i + 1], pos, acct[A_CASH], state, out)
        sent = False
        for s in range(n_sym):
            x = out[s]
            if x == x:
                side = 1 if x >= 0 else -1
                submit_nb(orders, cnt, ts[i], s, side, i64(MARKET), i64(0), flags, abs(x),
                          np.nan, np.nan, np.nan, i64(0), i64(-1), i64(-1), i64(0),
                          mkt[M_CLOSE, i, s])
                sent = True
        if sent and cfg[K_AT_CLOSE] != 0.0:
            process_bar_into_nb(i, i64(1), mkt, ts, orders, fills, trades, open_tr, acct, cnt,
                                cfg, symcfg, snap, used, p, fine, fine_at)
    return DONE
