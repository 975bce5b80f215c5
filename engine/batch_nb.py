"""Many parameter sets of a compiled strategy in one numba call (engine.batch)."""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.layout import (
    A_CASH,
    A_FEES,
    A_INIT,
    C_DAY,
    C_FILLS,
    C_SNAPS,
    C_TRADES,
    DONE,
    N_ACCT,
    N_CNT,
    SNAP0,
)
from engine.portfolio_nb import mark_nb
from engine.step_nb import run_targets_nb
from engine.types import EQUITY_REC, FILL, ORDER, TRADE_REC

# summary columns
B_FINAL, B_RETURN, B_TRADES, B_FILLS, B_FEES, B_MAXDD, B_EXPOSURE, B_MEAN, B_STD = range(9)
N_SUMMARY = 9


@njit(cache=True)
def _grow_nb(a):
    b = np.empty(2 * a.shape[0], a.dtype)
    for j in range(a.shape[0]):
        b[j] = a[j]
    return b


@njit(cache=True)
def run_batch_nb(mkt, ts, ev_i, ev_s, ev_v, off, mode, cfg, symcfg, cash, cap, summary,
                 equity):
    """Set k uses target events off[k]:off[k+1]; writes ``summary[k]`` (see B_*) and, when
    ``equity`` has rows, ``equity[k]`` (equity per bar)."""
    n_sym = mkt.shape[2]
    n_bars = ts.shape[0]
    eq = np.empty(n_bars, EQUITY_REC)
    for k in range(off.shape[0] - 1):
        lo = off[k]
        hi = off[k + 1]
        orders = np.empty(cap, ORDER)
        fills = np.empty(2 * cap, FILL)
        trades = np.empty(2 * cap, TRADE_REC)
        snap = np.zeros((2 * cap, SNAP0 + n_sym))
        open_tr = np.empty(n_sym, TRADE_REC)
        for s in range(n_sym):
            o = open_tr[s]
            o.trade_id = 0
            o.sym = s
            o.side = 0
            o.status = 0
            o.size = 0.0
            o.entry_ts = 0
            o.entry_price = np.nan
            o.exit_ts = 0
            o.exit_price = np.nan
            o.pnl = 0.0
            o.fees = 0.0
        acct = np.zeros(N_ACCT)
        acct[A_CASH] = cash
        acct[A_INIT] = cash
        cnt = np.zeros(N_CNT, np.int64)
        cnt[C_DAY] = -1
        last = np.full(n_sym, np.nan)
        ei = ev_i[lo:hi]
        es = ev_s[lo:hi]
        ev = ev_v[lo:hi]
        i0 = np.int64(0)  # not a literal: one specialization of run_targets_nb
        while True:
            e0 = np.int64(0)
            while e0 < ei.shape[0] and ei[e0] < i0:
                e0 += 1
            r = run_targets_nb(i0, e0, mkt, ts, ei, es, ev, mode, orders, fills, trades, open_tr,
                               acct, cnt, cfg, symcfg, snap, last)
            if r == DONE:
                break
            i0 = r
            orders = _grow_nb(orders)
            fills = _grow_nb(fills)
            trades = _grow_nb(trades)
            snap2 = np.zeros((2 * snap.shape[0], snap.shape[1]))
            snap2[: snap.shape[0]] = snap
            snap = snap2
        mark_nb(mkt, ts, snap, cnt[C_SNAPS], acct, eq)
        peak = -np.inf
        mdd = 0.0
        held = 0
        s1 = 0.0
        s2 = 0.0
        for i in range(n_bars):
            e = eq[i].equity
            if e > peak:
                peak = e
            if peak > 0.0 and e / peak - 1.0 < mdd:
                mdd = e / peak - 1.0
            if eq[i].gross_exposure != 0.0:
                held += 1
            if i > 0:
                r1 = e / eq[i - 1].equity - 1.0
                s1 += r1
                s2 += r1 * r1
        row = summary[k]
        fin = eq[n_bars - 1].equity
        row[B_FINAL] = fin
        row[B_RETURN] = fin / cash - 1.0
        row[B_TRADES] = cnt[C_TRADES]
        row[B_FILLS] = cnt[C_FILLS]
        row[B_FEES] = acct[A_FEES]
        row[B_MAXDD] = mdd
        row[B_EXPOSURE] = held / n_bars
        m = n_bars - 1
        row[B_MEAN] = s1 / m if m > 0 else np.nan
        row[B_STD] = np.sqrt(max(s2 - s1 * s1 / m, 0.0) / (m - 1)) if m > 1 else np.nan
        if equity.shape[0] > 0:
            for i in range(n_bars):
                equity[k, i] = eq[i].equity
