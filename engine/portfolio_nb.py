"""The portfolio accountant: books fills into cash, positions, fees and round-trip trades.

It never matches orders (the fill model does); its inputs are verbs: ``book_fill_nb``,
``accrue_borrow_nb``, ``snapshot_nb``, and ``mark_nb`` rebuilds equity per bar.

Positions are kept per symbol in ``open_tr`` (a TRADE_REC per symbol: side, size, average
entry price, entry fees not yet attributed to a closed trade, first entry time). A fill that
adds to a position updates the average price; a fill that reduces it closes a round trip for
the reduced size (entry at the average price, the pro-rata share of entry fees plus the
closing fill's fee); a fill larger than the position closes it and opens the other side with
the rest (the fill's fee split pro rata by size).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.fills_nb import NO_RC
from engine.layout import (
    A_BORROW,
    A_CASH,
    A_FEES,
    A_INIT,
    A_REALIZED,
    C_SNAPS,
    C_TRADES,
    M_MARK,
    SNAP0,
)


@njit(cache=True)
def position_nb(open_tr, s):
    return open_tr[s].side * open_tr[s].size


@njit(cache=True, **NO_RC)
def _close_part_nb(s, q, price, fee, t, open_tr, trades, cnt, acct):
    """Close ``q`` units of the open trade of symbol ``s`` at ``price``; ``fee``: exit fee."""
    ot = open_tr[s]
    size = ot.size
    entry_fee = ot.fees if q >= size else ot.fees * (q / size)
    pnl = ot.side * q * (price - ot.entry_price) - entry_fee - fee
    n = cnt[C_TRADES]
    tr = trades[n]
    tr.trade_id = n
    tr.sym = s
    tr.side = ot.side
    tr.status = 0
    tr.size = q
    tr.entry_ts = ot.entry_ts
    tr.entry_price = ot.entry_price
    tr.exit_ts = t
    tr.exit_price = price
    tr.pnl = pnl
    tr.fees = entry_fee + fee
    cnt[C_TRADES] = n + 1
    acct[A_REALIZED] += pnl
    if q >= size:
        ot.size = 0.0
        ot.side = 0
        ot.fees = 0.0
        ot.entry_price = np.nan
        ot.entry_ts = 0
    else:
        ot.size = size - q
        ot.fees -= entry_fee


@njit(cache=True, **NO_RC)
def book_fill_nb(s, side, q, price, fee, t, open_tr, trades, cnt, acct):
    """Book one fill of ``q`` > 0 units (``side`` +1 buy / -1 sell) of symbol ``s``."""
    acct[A_CASH] -= side * q * price + fee
    acct[A_FEES] += fee
    ot = open_tr[s]
    if ot.size > 0.0 and ot.side != side:  # reduces (and maybe flips) the position
        closing = min(q, ot.size)
        fee_close = fee if closing >= q else fee * (closing / q)
        _close_part_nb(s, closing, price, fee_close, t, open_tr, trades, cnt, acct)
        q -= closing
        fee -= fee_close
        if q <= 0.0:
            return
    if ot.size > 0.0:  # adds to the position
        tot = ot.size + q
        ot.entry_price = (ot.size * ot.entry_price + q * price) / tot
        ot.size = tot
        ot.fees += fee
    else:  # opens
        ot.side = side
        ot.size = q
        ot.entry_price = price
        ot.entry_ts = t
        ot.fees = fee
        ot.sym = s


@njit(cache=True, **NO_RC)
def accrue_borrow_nb(i, days, rate, mkt, open_tr, acct):
    """Borrow fee on every short position for ``days`` calendar days at ``rate`` a year, on
    the value at the previous bar's close (mark). Returns True when something was charged."""
    charged = False
    if i < 1:
        return charged
    for s in range(open_tr.shape[0]):
        ot = open_tr[s]
        if ot.side < 0 and ot.size > 0.0:
            px = mkt[M_MARK, i - 1, s]
            if px == px:
                fee = ot.size * px * rate / 365.0 * days
                acct[A_CASH] -= fee
                acct[A_FEES] += fee
                acct[A_BORROW] += fee
                ot.fees += fee
                charged = True
    return charged


@njit(cache=True, **NO_RC)
def snapshot_nb(i, open_tr, acct, cnt, snap):
    """Record the state after bar ``i`` (one row per bar that changed it)."""
    n = cnt[C_SNAPS]
    if n > 0 and snap[n - 1, 0] == i:
        n -= 1
    row = snap[n]
    row[0] = i
    row[1] = acct[A_CASH]
    row[2] = acct[A_FEES]
    for s in range(open_tr.shape[0]):
        row[SNAP0 + s] = open_tr[s].side * open_tr[s].size
    cnt[C_SNAPS] = n + 1


@njit(inline="always")
def _mark_bar_nb(mkt, snap, n_snap, i, k, pos, cash, fees):
    """The state after bar ``i`` (snapshots from row ``k`` on applied to ``pos``, ``cash``,
    ``fees``) and the value of the positions at its close. Returns (next snapshot row, cash,
    fees, positions value, gross value). Inlined into both writers below: one copy of the
    marking arithmetic."""
    n_sym = mkt.shape[2]
    while k < n_snap and snap[k, 0] <= i:
        cash = snap[k, 1]
        fees = snap[k, 2]
        for s in range(n_sym):
            pos[s] = snap[k, SNAP0 + s]
        k += 1
    pv = 0.0
    gross = 0.0
    for s in range(n_sym):
        if pos[s] != 0.0:
            v = pos[s] * mkt[M_MARK, i, s]
            pv += v
            gross += abs(v)
    return k, cash, fees, pv, gross


@njit(cache=True)
def mark_nb(mkt, ts, snap, n_snap, acct, eq):
    """Equity, cash, exposure and fees at every bar's close from the state snapshots."""
    pos = np.zeros(mkt.shape[2])
    cash = acct[A_INIT]
    fees = 0.0
    k = 0
    for i in range(ts.shape[0]):
        k, cash, fees, pv, gross = _mark_bar_nb(mkt, snap, n_snap, i, k, pos, cash, fees)
        e = cash + pv
        r = eq[i]
        r.ts = ts[i]
        r.equity = e
        r.cash = cash
        r.positions_value = pv
        r.gross_exposure = gross / e if e != 0.0 else np.nan
        r.net_exposure = pv / e if e != 0.0 else np.nan
        r.fees = fees


@njit(cache=True)
def mark_equity_nb(mkt, snap, n_snap, acct, equity):
    """The equity column of :func:`mark_nb` alone (float64[n_bars]): what a run needs at once;
    the other columns are derived on demand (engine.result)."""
    pos = np.zeros(mkt.shape[2])
    cash = acct[A_INIT]
    fees = 0.0
    k = 0
    for i in range(equity.shape[0]):
        k, cash, fees, pv, gross = _mark_bar_nb(mkt, snap, n_snap, i, k, pos, cash, fees)
        equity[i] = cash + pv


@njit(cache=True)
def mark_equity_exposure_nb(mkt, snap, n_snap, acct, equity, gross_exposure):
    """The equity and gross-exposure columns of :func:`mark_nb` (float64[n_bars] each): what
    the stats of a sweep's parameter set read (engine.batch_nb.run_set_nb)."""
    pos = np.zeros(mkt.shape[2])
    cash = acct[A_INIT]
    fees = 0.0
    k = 0
    for i in range(equity.shape[0]):
        k, cash, fees, pv, gross = _mark_bar_nb(mkt, snap, n_snap, i, k, pos, cash, fees)
        e = cash + pv
        equity[i] = e
        gross_exposure[i] = gross / e if e != 0.0 else np.nan


@njit(cache=True)
def close_value_nb(mkt, i, open_tr):
    """Cash-free value of the positions at bar ``i``'s close (marks)."""
    pv = 0.0
    for s in range(open_tr.shape[0]):
        if open_tr[s].size > 0.0:
            pv += open_tr[s].side * open_tr[s].size * mkt[M_MARK, i, s]
    return pv

