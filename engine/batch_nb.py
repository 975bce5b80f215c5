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
)
from engine.portfolio_nb import mark_equity_exposure_nb, mark_nb
from engine.step_nb import run_targets_nb

# summary columns
B_FINAL, B_RETURN, B_TRADES, B_FILLS, B_FEES, B_MAXDD, B_EXPOSURE, B_MEAN, B_STD = range(9)
N_SUMMARY = 9


@njit(inline="always")
def _fresh_account_nb(open_tr, last, acct, cnt, cash):
    """A fresh account for the next parameter set: no open trade, no last price, ``cash``."""
    for s in range(open_tr.shape[0]):
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
        last[s] = np.nan
    acct[:] = 0.0
    acct[A_CASH] = cash
    acct[A_INIT] = cash
    cnt[:] = 0
    cnt[C_DAY] = -1


@njit(cache=True)
def run_batch_nb(k0, mkt, ts, ev_i, ev_s, ev_v, off, mode, cfg, symcfg, cash, orders, fills,
                 trades, open_tr, snap, eq, summary, equity, per_bar):
    """Sets k0.. (set k uses target events off[k]:off[k+1]); writes ``summary[k]`` (see B_*)
    and, when ``equity`` has rows, ``equity[k]`` (equity per bar). The state arrays are reused
    for every set. ``per_bar`` False skips the summary's pass over the bars (B_MAXDD,
    B_EXPOSURE, B_MEAN, B_STD are then nan: callers that compute the stats from ``eq``).
    Returns DONE, or the set to run again after the caller grew the arrays."""
    n_sym = mkt.shape[2]
    n_bars = ts.shape[0]
    acct = np.zeros(N_ACCT)
    cnt = np.zeros(N_CNT, np.int64)
    last = np.empty(n_sym)
    work = np.empty(n_sym + 4)
    no_fine = np.empty((4, 0))  # (sweeps have no finer bars: the coarse intrabar rule)
    no_fine_at = np.empty((2, 0, 0), np.int64)
    for k in range(k0, off.shape[0] - 1):
        lo = off[k]
        hi = off[k + 1]
        _fresh_account_nb(open_tr, last, acct, cnt, cash)
        r = run_targets_nb(np.int64(0), np.int64(0), mkt, ts, ev_i[lo:hi], ev_s[lo:hi],
                           ev_v[lo:hi], mode, orders, fills, trades, open_tr, acct, cnt, cfg,
                           symcfg, snap, last, work, no_fine, no_fine_at)
        if r != DONE:
            return k
        mark_nb(mkt, ts, snap, cnt[C_SNAPS], acct, eq)
        row = summary[k]
        fin = eq[n_bars - 1].equity
        row[B_FINAL] = fin
        row[B_RETURN] = fin / cash - 1.0
        row[B_TRADES] = cnt[C_TRADES]
        row[B_FILLS] = cnt[C_FILLS]
        row[B_FEES] = acct[A_FEES]
        if equity.shape[0] > 0:
            for i in range(n_bars):
                equity[k, i] = eq[i].equity
        if not per_bar:
            row[B_MAXDD] = np.nan
            row[B_EXPOSURE] = np.nan
            row[B_MEAN] = np.nan
            row[B_STD] = np.nan
            continue
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
        row[B_MAXDD] = mdd
        row[B_EXPOSURE] = held / n_bars
        m = n_bars - 1
        row[B_MEAN] = s1 / m if m > 0 else np.nan
        row[B_STD] = np.sqrt(max(s2 - s1 * s1 / m, 0.0) / (m - 1)) if m > 1 else np.nan
    return DONE


@njit(cache=True)
def run_set_nb(mkt, ts, ev_i, ev_s, ev_v, mode, cfg, symcfg, cash, orders, fills, trades,
               open_tr, snap, v, x, counts):
    """One parameter set (its target events) from a fresh account, for the stats path of
    ``engine.batch.run_batch_stats``: the run of :func:`run_batch_nb`, then, instead of the
    equity records, only the two columns the stats read: ``v`` the equity and ``x`` the gross
    exposure at every bar's close (float64[bars] each, with ``mark_nb``'s arithmetic).
    ``counts`` gets the round trips and fills recorded. Returns DONE, or not DONE when the
    caller must grow the state arrays and call again."""
    n_sym = mkt.shape[2]
    acct = np.zeros(N_ACCT)
    cnt = np.zeros(N_CNT, np.int64)
    last = np.empty(n_sym)
    _fresh_account_nb(open_tr, last, acct, cnt, cash)
    r = run_targets_nb(np.int64(0), np.int64(0), mkt, ts, ev_i, ev_s, ev_v, mode, orders,
                       fills, trades, open_tr, acct, cnt, cfg, symcfg, snap, last,
                       np.empty(n_sym + 4), np.empty((4, 0)), np.empty((2, 0, 0), np.int64))
    if r != DONE:
        return r
    mark_equity_exposure_nb(mkt, snap, cnt[C_SNAPS], acct, v, x)  # mark_nb's arithmetic
    counts[0] = cnt[C_TRADES]
    counts[1] = cnt[C_FILLS]
    return DONE
