"""Numba kernels of the tick-mode environment: the engine's L2 book replayed between decision
times, taker executions walking the book, resting quotes, and the accountant.

Time is cut into steps of ``dt`` ns of exchange time. At a step boundary ``t_k`` the agent sees
the book after every depth batch with ts <= t_k, and acts; its orders reach the market at
``t_k + latency`` and interact only with events after that:

* **taker** (execution mode): an IOC order to reach a target inventory; it fills against the
  book after the first depth batch with ts > t_k + latency, walking up to ``DEPTH`` levels of
  the opposite side at their prices (a level's size bounds what fills there; what the levels
  cannot take is dropped). The replayed book is not changed by our fills (no market impact).
* **maker** (market-making mode): one bid and/or one ask of ``lot`` units at a chosen offset
  from the best, resting from t_k + latency to t_{k+1}. A quote fills at its own price when a
  trade prints strictly through it (a sell at a price below our bid, a buy above our ask) or
  when the opposite best moves to or through it; trades *at* our price do not fill it (our
  place in the queue is unknown: conservative).

Every fill is booked by the engine's accountant (``book_fill_nb``) with the engine's fee model
(``fee_nb``: taker or maker rate). Equity = cash + inventory x mid.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.book.codes import NO_TICK
from engine.book.l2_nb import l2_best_nb, l2_depth_nb, l2_replay_nb
from engine.fills_nb import fee_nb
from engine.layout import A_CASH, A_INIT, C_TRADES
from engine.portfolio_nb import book_fill_nb

DEPTH = 20  # levels a taker order may walk
N_BOOK_FEAT = 5  # spread, L1 imbalance, top-5 imbalance, microprice offset, trade flow

# ist slots
B_BATCH = 0  # next depth batch to apply
B_TRADE = 1  # next trade to look at
B_STEP = 2  # current step k (boundary t_k)
B_END = 3  # last step of the episode
B_PEND = 4  # 1: a taker order is waiting for its first market event
B_START = 5
N_BIST = 8
# fst slots
F_EQ = 0
F_A = 1
F_B = 2
F_FLOW = 3  # signed traded volume in the last step
F_PEND_Q = 4  # signed quantity of the pending taker order
N_FST = 8

MODE_TAKER = 0
MODE_MAKER = 1


@njit(cache=True)
def _apply_batch_nb(b, book, dts, dside, dtick, dq, dflags, bstop, rec_t, rec_q):
    """Apply depth batch ``b`` (rows bstop[b-1]..bstop[b]-1). Returns the book status."""
    dqa, ok, oq, meta = book
    lo = bstop[b - 1] if b > 0 else 0
    st, _ = l2_replay_nb(dqa, ok, oq, meta, dts, dside, dtick, dq, dflags, lo, bstop[b], rec_t,
                         rec_q)
    return st


@njit(cache=True)
def _mid_nb(book, tick_size):
    dqa, ok, oq, meta = book
    bt, _ = l2_best_nb(dqa, ok, oq, meta, 0)
    at, _ = l2_best_nb(dqa, ok, oq, meta, 1)
    if bt == NO_TICK or at == NO_TICK:
        return np.nan
    return 0.5 * (bt + at) * tick_size


@njit(cache=True)
def _take_nb(qty, t, book, tick_size, cfg, open_tr, trades, cnt, acct, lt, lq):
    """Fill a taker order of signed ``qty`` walking the opposite side; returns what filled."""
    dqa, ok, oq, meta = book
    side = 1 if qty > 0 else -1
    s_opp = 1 if side > 0 else 0
    m = l2_depth_nb(dqa, ok, oq, meta, s_opp, DEPTH, lt, lq)
    left = abs(qty)
    done = 0.0
    for k in range(m):
        if left <= 1e-12:
            break
        q = min(left, lq[k])
        px = lt[k] * tick_size
        cnt[C_TRADES] = 0  # records are not kept: only the account matters here
        book_fill_nb(0, side, q, px, fee_nb(cfg, q, px, False), t, open_tr, trades, cnt, acct)
        left -= q
        done += q
    return done


@njit(cache=True)
def book_features_nb(book, tick_size, flow, lot, out):
    """Book features at the current state into ``out[:N_BOOK_FEAT]``."""
    dqa, ok, oq, meta = book
    bt, bq = l2_best_nb(dqa, ok, oq, meta, 0)
    at, aq = l2_best_nb(dqa, ok, oq, meta, 1)
    if bt == NO_TICK or at == NO_TICK:
        for k in range(N_BOOK_FEAT):
            out[k] = 0.0
        return
    out[0] = min(float(at - bt), 100.0) / 10.0
    out[1] = (bq - aq) / (bq + aq) if bq + aq > 0 else 0.0
    lt = np.empty(5, np.int64)
    lq = np.empty(5)
    sb = 0.0
    sa = 0.0
    nb = l2_depth_nb(dqa, ok, oq, meta, 0, 5, lt, lq)
    for k in range(nb):
        sb += lq[k]
    na = l2_depth_nb(dqa, ok, oq, meta, 1, 5, lt, lq)
    for k in range(na):
        sa += lq[k]
    out[2] = (sb - sa) / (sb + sa) if sb + sa > 0 else 0.0
    micro = (bt * aq + at * bq) / (bq + aq) if bq + aq > 0 else 0.5 * (bt + at)
    out[3] = micro - 0.5 * (bt + at)
    out[4] = max(-10.0, min(10.0, flow / (10.0 * lot)))


@njit(cache=True)
def _obs_nb(book, tick_size, fst, mids, window, k, inv, max_inv, acct, lot, out):
    book_features_nb(book, tick_size, fst[F_FLOW], lot, out)
    j = N_BOOK_FEAT
    for w in range(window):  # mid log returns of the last `window` steps, in bps
        a = mids[k - window + w]
        b = mids[k - window + w + 1]
        out[j] = 1e4 * math.log(b / a) if a > 0 and b > 0 else 0.0
        j += 1
    eq = fst[F_EQ]
    out[j] = inv / max_inv
    out[j + 1] = inv * mids[k] / eq if eq > 0 else 0.0
    out[j + 2] = math.log(eq / acct[A_INIT]) if eq > 0 else -10.0


@njit(cache=True)
def book_run_to_nb(t_end, book, dts, dside, dtick, dq, dflags, bstop, bts, ist):
    """Apply every depth batch with ts <= ``t_end`` (no trading). Returns the book status."""
    rec_t = np.empty((0, 2), np.int64)
    rec_q = np.empty((0, 2))
    st = 0
    while ist[B_BATCH] < bstop.shape[0] and bts[ist[B_BATCH]] <= t_end:
        s = _apply_batch_nb(ist[B_BATCH], book, dts, dside, dtick, dq, dflags, bstop, rec_t,
                            rec_q)
        if s == 1:  # FULL_LEVELS
            return s
        ist[B_BATCH] += 1
    return st


@njit(cache=True)
def book_step_nb(mode, action_q, bid_off, ask_off, t0, dt, latency, lot, max_inv, tick_size,
                 cfg, reward_kind, eta, inv_penalty, book, dts, dside, dtick, dq, dflags, bstop,
                 bts, tts, ttick, tq, tside, open_tr, trades, cnt, acct, ist, fst, mids, window,
                 out):
    """One step from boundary t_k to t_{k+1}. ``mode`` MODE_TAKER: ``action_q`` is the signed
    quantity to trade (target - inventory); MODE_MAKER: quotes at ``bid_off`` / ``ask_off``
    ticks from the best (< 0: no quote). Returns (reward, status)."""
    k = ist[B_STEP]
    tk = t0 + k * dt
    t1 = tk + dt
    t_send = tk + latency
    rec_t = np.empty((0, 2), np.int64)
    rec_q = np.empty((0, 2))
    lt = np.empty(DEPTH, np.int64)
    lq = np.empty(DEPTH)
    dqa, ok, oq, meta = book
    inv = open_tr[0].side * open_tr[0].size
    bid_px = NO_TICK
    ask_px = NO_TICK
    if mode == MODE_TAKER:
        if action_q != 0.0:
            ist[B_PEND] = 1
            fst[F_PEND_Q] = action_q
    else:
        bt, _ = l2_best_nb(dqa, ok, oq, meta, 0)
        at, _ = l2_best_nb(dqa, ok, oq, meta, 1)
        if bid_off >= 0 and bt != NO_TICK and inv + lot <= max_inv + 1e-12:
            bid_px = bt - bid_off
        if ask_off >= 0 and at != NO_TICK and inv - lot >= -max_inv - 1e-12:
            ask_px = at + ask_off
    flow = 0.0
    status = 0
    nb = bstop.shape[0]
    nt = tts.shape[0]
    while True:
        b = ist[B_BATCH]
        j = ist[B_TRADE]
        tb = bts[b] if b < nb else t1 + 1
        tt = tts[j] if j < nt else t1 + 1
        if tb > t1 and tt > t1:
            break
        if tb <= tt:  # a depth batch (first on equal times)
            st = _apply_batch_nb(b, book, dts, dside, dtick, dq, dflags, bstop, rec_t, rec_q)
            if st == 1:
                return 0.0, 2
            ist[B_BATCH] = b + 1
            if tb <= t_send:
                continue
            if ist[B_PEND] == 1:
                q = fst[F_PEND_Q]
                _take_nb(q, tb, book, tick_size, cfg, open_tr, trades, cnt, acct, lt, lq)
                ist[B_PEND] = 0
            if bid_px != NO_TICK or ask_px != NO_TICK:
                bt, _ = l2_best_nb(dqa, ok, oq, meta, 0)
                at, _ = l2_best_nb(dqa, ok, oq, meta, 1)
                if bid_px != NO_TICK and at != NO_TICK and at <= bid_px:
                    px = bid_px * tick_size
                    cnt[C_TRADES] = 0
                    book_fill_nb(0, 1, lot, px, fee_nb(cfg, lot, px, True), tb, open_tr, trades,
                                 cnt, acct)
                    bid_px = NO_TICK
                if ask_px != NO_TICK and bt != NO_TICK and bt >= ask_px:
                    px = ask_px * tick_size
                    cnt[C_TRADES] = 0
                    book_fill_nb(0, -1, lot, px, fee_nb(cfg, lot, px, True), tb, open_tr,
                                 trades, cnt, acct)
                    ask_px = NO_TICK
        else:  # a trade print
            ist[B_TRADE] = j + 1
            flow += tside[j] * tq[j]
            if tt <= t_send:
                continue
            if bid_px != NO_TICK and tside[j] < 0 and ttick[j] < bid_px:
                px = bid_px * tick_size
                cnt[C_TRADES] = 0
                book_fill_nb(0, 1, lot, px, fee_nb(cfg, lot, px, True), tt, open_tr, trades,
                             cnt, acct)
                bid_px = NO_TICK
            if ask_px != NO_TICK and tside[j] > 0 and ttick[j] > ask_px:
                px = ask_px * tick_size
                cnt[C_TRADES] = 0
                book_fill_nb(0, -1, lot, px, fee_nb(cfg, lot, px, True), tt, open_tr, trades,
                             cnt, acct)
                ask_px = NO_TICK
    k += 1
    ist[B_STEP] = k
    mid = _mid_nb(book, tick_size)
    if not (mid == mid):
        mid = mids[k - 1]
    mids[k] = mid
    fst[F_FLOW] = flow
    inv = open_tr[0].side * open_tr[0].size
    eq0 = fst[F_EQ]
    eq = acct[A_CASH] + inv * mid
    fst[F_EQ] = eq
    if reward_kind == 0:
        r = (eq - eq0) / acct[A_INIT]
    elif reward_kind == 1:
        r = math.log(eq / eq0) if eq > 0.0 and eq0 > 0.0 else -10.0
    else:
        ret = (eq - eq0) / eq0 if eq0 > 0.0 else -1.0
        a0 = fst[F_A]
        b0 = fst[F_B]
        var = b0 - a0 * a0
        r = (b0 * (ret - a0) - 0.5 * a0 * (ret * ret - b0)) / var**1.5 if var > 1e-12 else 0.0
        fst[F_A] = a0 + eta * (ret - a0)
        fst[F_B] = b0 + eta * (ret * ret - b0)
    r -= inv_penalty * abs(inv) * mid / acct[A_INIT]
    if not (eq > 0.0):
        status = 1
    _obs_nb(book, tick_size, fst, mids, window, k, inv, max_inv, acct, lot, out)
    return r, status
