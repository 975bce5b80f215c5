"""The margin check: maintenance requirement, margin calls (liquidation) and a blown account.

At every bar's close (after the bar's fills, before ``on_bar`` sees it) the broker kernel
compares the equity at the marks with the maintenance requirement

    equity = cash + sum(position x mark)      requirement = sum(maintenance_s x |position x mark|)

When ``equity <= 0`` the account is **blown**; when ``equity < requirement`` it gets a
**margin call**. Either way every open position is closed by a reduce-only market order sent
at that close (flag ``F_LIQUIDATION``, reason ``liquidation``) that fills at the symbol's next
open like any market order (no look-ahead), the other live orders of those symbols are
cancelled (reason ``liquidation``); a blown account also cancels every other live order
(reason ``account_blown``) and rejects every later order. docs/fills.md has the model.

The check needs the kernel to run only at closes where the state could fail it: with a
constant state (no fills, no fees) the equity moves with the marks alone, so the check scans
the next ``cfg[K_MARGIN_SCAN]`` closes and stores in ``cnt[C_WATCH]`` the first one that
fails (or the end of the scan); the loops call the kernel again at that bar at the latest.
The scan reads later marks only to pick that bar: every decision is taken at a bar from that
bar's mark, so the result does not depend on the scan length.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.fills_nb import NO_RC
from engine.layout import (
    A_CASH,
    C_BLOWN,
    C_CALLS,
    C_FIRST,
    C_ORDERS,
    C_WATCH,
    K_BORROW,
    K_MARGIN_SCAN,
    M_MARK,
    NS_DAY,
    S_MAINT,
)
from engine.records_nb import finish_nb, submit_nb, terminal_nb
from engine.types import (
    CANCELLED,
    F_LIQUIDATION,
    F_REDUCE_ONLY,
    GTC,
    MARKET,
    R_ACCOUNT_BLOWN,
    R_LIQUIDATION,
)

i64 = np.int64


@njit(cache=True, **NO_RC)
def liquidate_nb(i, blown, mkt, ts, orders, open_tr, cnt):
    """Margin call at bar ``i``'s close: cancel the live orders of the symbols held (all live
    orders when ``blown``) and send a reduce-only market order closing each position that has
    none yet. Returns the number of liquidation orders sent. The caller guarantees room for
    one order per symbol."""
    t = ts[i]
    if blown:
        cnt[C_BLOWN] = i + 1
    n_sym = open_tr.shape[0]
    j0 = cnt[C_FIRST]
    n = cnt[C_ORDERS]
    for j in range(j0, n):
        o = orders[j]
        if terminal_nb(o.status) or (o.flags & F_LIQUIDATION):
            continue
        if blown:
            finish_nb(orders, j, i64(CANCELLED), i64(R_ACCOUNT_BLOWN), t)
        elif open_tr[o.sym].size > 0.0:
            finish_nb(orders, j, i64(CANCELLED), i64(R_LIQUIDATION), t)
    sent = 0
    for s in range(n_sym):
        ot = open_tr[s]
        covered = False  # a live liquidation order of s already (no array: see NO_RC)
        if ot.size > 0.0:
            for j in range(j0, n):
                o = orders[j]
                if o.sym == s and (o.flags & F_LIQUIDATION) and not terminal_nb(o.status):
                    covered = True
                    break
        if ot.size > 0.0 and not covered:
            j = submit_nb(orders, cnt, t, i64(s), i64(-ot.side), i64(MARKET), i64(GTC),
                          i64(F_LIQUIDATION | F_REDUCE_ONLY), ot.size, np.nan, np.nan, np.nan,
                          i64(0), i64(-1), i64(-1), i64(0), mkt[M_MARK, i, s])
            orders[j].reject_reason = R_LIQUIDATION
            sent += 1
    if sent > 0:
        cnt[C_CALLS] += 1
    cnt[C_WATCH] = i + 1
    return sent


@njit(cache=True, **NO_RC)
def margin_check_nb(i, mkt, ts, orders, open_tr, acct, cnt, cfg, symcfg):
    """The margin check at bar ``i``'s close (see the module docstring); sets cnt[C_WATCH].
    Returns the number of liquidation orders sent. (No calls on the path without a margin
    call: numba does not inline cached functions, and the loops call this often.)"""
    n_bars = ts.shape[0]
    if cnt[C_BLOWN] > 0:
        cnt[C_WATCH] = n_bars
        return 0
    n_sym = open_tr.shape[0]
    cash = acct[A_CASH]
    eq = cash
    req = 0.0
    risky = False  # can the marks alone take the account there? only with a short, a long
    short = False  # with a maintenance requirement, or borrowed cash
    for s in range(n_sym):
        if open_tr[s].size > 0.0:
            q = open_tr[s].side * open_tr[s].size
            v = q * mkt[M_MARK, i, s]
            m = symcfg[s, S_MAINT]
            eq += v
            req += m * abs(v)
            if q < 0.0:
                risky = True
                short = True
            elif m > 0.0 or cash < 0.0:
                risky = True
    if eq <= 0.0 or eq < req:
        return liquidate_nb(i, eq <= 0.0, mkt, ts, orders, open_tr, cnt)
    if not risky:
        cnt[C_WATCH] = n_bars
        return 0
    end = min(n_bars, i + 1 + int(cfg[K_MARGIN_SCAN]))
    if short and cfg[K_BORROW] > 0.0:  # a borrow charge changes the cash at a new day
        day = ts[i] // NS_DAY
        for k in range(i + 1, end):
            if ts[k] // NS_DAY != day:
                end = k
                break
    # the first close after i where equity - requirement = cash + sum(c_s x mark_s) <= 0,
    # c_s = q_s - m_s |q_s| (a superset of the closes that fail: the call there decides)
    for k in range(i + 1, end):
        x = cash
        for s in range(n_sym):
            if open_tr[s].size > 0.0:
                q = open_tr[s].side * open_tr[s].size
                x += (q - symcfg[s, S_MAINT] * abs(q)) * mkt[M_MARK, k, s]
        if x <= 0.0:
            end = k
            break
    cnt[C_WATCH] = end
    return 0
