"""The L2 tick simulator loop: exchange-side matching and strategy-side delivery over one
merged market stream (numba).

Market input (tuples of 1-D arrays, one row per event, all in merge order; see
:mod:`engine.tick.feed`):

* ``D`` depth: ts (exchange), lts (local receive, >= ts, non-decreasing), side, tick, qty,
  flags, rank (position in the merged stream);
* ``T`` trades: ts, lts, side (aggressor), tick, qty, rank;
* ``Q`` quotes (strategy hooks only): lts, rank.

Two clocks. The **exchange** applies market rows at their exchange time to the exchange book
``BX`` and matches the simulated orders there: an order reaches it at submit time + entry
latency, after every market row with the same or an earlier timestamp; it fills only on what
the book holds at that moment or on later rows. The **strategy** sees rows at their local
time in its own book ``BL`` (the same arrays as ``BX`` without feed latency) and learns of
fills and status changes after the response latency. Depth rows between two simulator events
are replayed with one ``l2_replay_nb`` call; only rows at a resting order's price (or crossing
it) and trades are looked at one by one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from data.schema import DEPTH_CLEAR, DEPTH_LAST
from engine.book.codes import FULL_LEVELS, NO_TICK
from engine.book.l2_nb import l2_best_nb, l2_depth_nb, l2_qty_at_nb, l2_replay_nb
from engine.tick.layout import (
    CAP_MARGIN,
    MAX_WALK,
    N_VIS,
    NEVER,
    OF_LASTQ,
    OI_ARRIVE,
    OI_CXL,
    OI_REST,
    OI_TICK,
    S_BATCH,
    S_BMAX,
    S_BMIN,
    S_CROSS_FILLS,
    S_FULL,
    S_HORIZON,
    S_LD,
    S_LQ,
    S_LT,
    S_NACT,
    S_NARMED,
    S_NFILL,
    S_NLIVE,
    S_NNOTE,
    S_NORD,
    S_NOW,
    S_NRESTING,
    S_NSEEN,
    S_QMODEL,
    S_SHARED,
    S_SMAX,
    S_SMIN,
    S_STOPTRIG,
    S_TRADE_FILLS,
    S_WROW,
    S_XD,
    S_XNOW,
    S_XT,
    STOP_BY_BOOK,
    STOP_BY_TRADE,
    W_BOOK,
    W_END,
    W_FULL,
    W_MORE,
    W_NOTE,
    W_QUOTE,
    W_TRADE,
    W_UNTIL,
    WK_BOOK,
    WK_NOTE,
    WK_QUOTE,
    WK_TRADE,
)
from engine.tick.orders_nb import (
    arrive_nb,
    deliver_nb,
    queue_depth_nb,
    refresh_nb,
    resting_fill_nb,
    set_status_nb,
    trade_nb,
)
from engine.tick.stops_nb import book_stops_nb, expire_nb, trigger_stops_nb
from engine.tick.wake_nb import (
    last_nb,
    local_stop_nb,
    note_or_horizon_nb,
    settled_nb,
)
from engine.types import CANCELLED, LIMIT, NEW, PARTIAL, STOP_LIMIT, WORKING


@njit(cache=True)
def actions_l2_nb(BX, OS, F, W, sv, cf, t):
    """Orders and cancels reaching the exchange at time ``t`` (in order id order)."""
    dq, ok, oq, meta = BX
    orders, oi, of, live = OS
    fills, notes = F
    wt, wq = W[0], W[1]
    for j in range(sv[S_NLIVE]):
        i = live[j]
        o = orders[i]
        if o.status == NEW and oi[i, OI_ARRIVE] == t:
            s = 0 if o.side > 0 else 1
            nlev = l2_depth_nb(dq, ok, oq, meta, 1 - s, MAX_WALK, wt, wq)
            own = 0.0
            if o.type == LIMIT or o.type == STOP_LIMIT:
                own = l2_qty_at_nb(dq, ok, oq, meta, s, oi[i, OI_TICK])
            arrive_nb(sv, cf, orders, oi, of, fills, notes, i, t, wt, wq, nlev, own)
    for j in range(sv[S_NLIVE]):
        i = live[j]
        if oi[i, OI_CXL] == t:
            st = orders[i].status
            if st == WORKING or st == PARTIAL or st == NEW:
                set_status_nb(sv, cf, orders, oi, notes, i, t, CANCELLED, 0)
                continue
        expire_nb(sv, cf, orders, oi, notes, i, t)
    refresh_nb(sv, oi, live, orders)


@njit(cache=True)
def book_stops_l2_nb(BX, OS, sv, t):
    """STOP_BY_BOOK: trigger the armed stops the exchange book's best prices reach."""
    dq, ok, oq, meta = BX
    orders, oi, of, live = OS
    bb, _q0 = l2_best_nb(dq, ok, oq, meta, 0)
    ba, _q1 = l2_best_nb(dq, ok, oq, meta, 1)
    book_stops_nb(sv, orders, oi, live, t, bb, ba)


@njit(cache=True)
def _queue_rows_nb(sv, cf, orders, oi, of, live, side, tk, qq, model):
    """A depth row at a resting order's level (L2 sizes are absolute: the row's size is the
    level's new size, the previous one is remembered per order): update its queue."""
    for j in range(sv[S_NLIVE]):
        i = live[j]
        if oi[i, OI_REST] == 1 and oi[i, OI_TICK] == tk and orders[i].side == side:
            queue_depth_nb(sv, cf, of, i, of[i, OF_LASTQ], qq, model)
            of[i, OF_LASTQ] = qq


@njit(cache=True)
def _depth_row_l2_nb(D, BX, OS, F, sv, cf, r):
    """Apply depth row ``r`` and update the resting orders it concerns (queue, crossing)."""
    d_ts, d_lts, d_side, d_tick, d_qty, d_flags, d_rank = D
    dq, ok, oq, meta = BX
    orders, oi, of, live = OS
    fills, notes = F
    sd = d_side[r]
    tk = d_tick[r]
    s = 0 if sd > 0 else 1
    prev = l2_qty_at_nb(dq, ok, oq, meta, s, tk) if sd != 0 else 0.0
    rec_t = np.empty((0, 2), np.int64)
    rec_q = np.empty((0, 2), np.float64)
    st, _ = l2_replay_nb(dq, ok, oq, meta, d_ts, d_side, d_tick, d_qty, d_flags, r, r + 1,
                         rec_t, rec_q)
    if st == FULL_LEVELS:
        return False
    t = d_ts[r]
    new = l2_qty_at_nb(dq, ok, oq, meta, s, tk) if sd != 0 else 0.0
    bb, _q0 = l2_best_nb(dq, ok, oq, meta, 0)
    ba, _q1 = l2_best_nb(dq, ok, oq, meta, 1)
    model = sv[S_QMODEL]
    nf = 0
    for j in range(sv[S_NLIVE]):
        i = live[j]
        if oi[i, OI_REST] != 1:
            continue
        o = orders[i]
        lt = oi[i, OI_TICK]
        if sd != 0 and o.side == sd and lt == tk:
            queue_depth_nb(sv, cf, of, i, prev, new, model)
            of[i, OF_LASTQ] = new
        # a level on the other side at or through the order's price would have traded with it
        if (o.side > 0 and ba != NO_TICK and ba <= lt) or \
                (o.side < 0 and bb != NO_TICK and bb >= lt):
            resting_fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, 0.0, False)
            nf += 1
    if nf > 0:
        sv[S_CROSS_FILLS] += nf
        refresh_nb(sv, oi, live, orders)
    return True


@njit(cache=True)
def exchange_l2_nb(D, T, BX, OS, F, W, sv, cf, bound, wake_note):
    """Process exchange-side events (market rows, order arrivals, cancels) with time <=
    ``bound``. With ``wake_note`` the bound shrinks to the visible time of the first response
    created (so the strategy can react to it). Returns (code, bound): W_UNTIL or W_FULL."""
    d_ts, d_lts, d_side, d_tick, d_qty, d_flags, d_rank = D
    t_ts, t_lts, t_side, t_tick, t_qty, t_rank = T
    dq, ok, oq, meta = BX
    orders, oi, of, live = OS
    fills, notes = F
    nd = d_ts.shape[0]
    nt = t_ts.shape[0]
    rec_t = np.empty((0, 2), np.int64)
    rec_q = np.empty((0, 2), np.float64)
    while True:
        if sv[S_NORD] + CAP_MARGIN > orders.shape[0]:
            sv[S_FULL] = 1
            return W_FULL, bound
        if sv[S_NFILL] + CAP_MARGIN > fills.shape[0]:
            sv[S_FULL] = 2
            return W_FULL, bound
        if sv[S_NNOTE] + 3 * CAP_MARGIN > notes.shape[0]:
            sv[S_FULL] = 3
            return W_FULL, bound
        n_notes = sv[S_NNOTE]
        xd = sv[S_XD]
        xt = sv[S_XT]
        tact = sv[S_NACT]
        tm = NEVER
        is_trade = False
        if xd < nd:
            tm = d_ts[xd]
        if xt < nt and (xd >= nd or t_rank[xt] < d_rank[xd]):
            tm = t_ts[xt]
            is_trade = True
        if tm < NEVER and tm <= bound and tm <= tact:
            if is_trade:
                if sv[S_NRESTING] > 0:
                    nf = trade_nb(sv, cf, orders, oi, of, fills, notes, live, tm, t_side[xt],
                                  t_tick[xt], t_qty[xt])
                    if nf > 0:
                        sv[S_TRADE_FILLS] += nf
                        refresh_nb(sv, oi, live, orders)
                if sv[S_NARMED] > 0 and sv[S_STOPTRIG] == STOP_BY_TRADE:
                    trigger_stops_nb(sv, orders, oi, live, tm, t_tick[xt], t_tick[xt])
                sv[S_XT] = xt + 1
                sv[S_XNOW] = tm
            else:
                lim = bound if bound < tact else tact
                trk = t_rank[xt] if xt < nt else NEVER
                j = xd
                book_stops = sv[S_NARMED] > 0 and sv[S_STOPTRIG] == STOP_BY_BOOK
                if book_stops:
                    pass  # one row at a time: the best prices are checked after each
                elif sv[S_NRESTING] == 0:
                    while j < nd and d_ts[j] <= lim and d_rank[j] < trk:
                        j += 1
                else:
                    bmin = sv[S_BMIN]
                    bmax = sv[S_BMAX]
                    smin = sv[S_SMIN]
                    smax = sv[S_SMAX]
                    model = sv[S_QMODEL]
                    while j < nd and d_ts[j] <= lim and d_rank[j] < trk:
                        sd = d_side[j]
                        tk = d_tick[j]
                        qq = d_qty[j]
                        if d_flags[j] & DEPTH_CLEAR or qq != qq:
                            break
                        if sd > 0:
                            if tk >= smin and qq > 0.0:
                                break  # crosses a resting sell: matched one by one
                            if bmin <= tk <= bmax:
                                _queue_rows_nb(sv, cf, orders, oi, of, live, 1, tk, qq, model)
                        elif sd < 0:
                            if tk <= bmax and qq > 0.0:
                                break
                            if smin <= tk <= smax:
                                _queue_rows_nb(sv, cf, orders, oi, of, live, -1, tk, qq, model)
                        else:
                            break
                        j += 1
                if j > xd:
                    st, nxt = l2_replay_nb(dq, ok, oq, meta, d_ts, d_side, d_tick, d_qty, d_flags,
                                           xd, j, rec_t, rec_q)
                    if nxt > xd:
                        sv[S_XNOW] = d_ts[nxt - 1]
                    sv[S_XD] = nxt
                    if st == FULL_LEVELS:
                        sv[S_FULL] = 4
                        return W_FULL, bound
                else:
                    if not _depth_row_l2_nb(D, BX, OS, F, sv, cf, xd):
                        sv[S_FULL] = 4
                        return W_FULL, bound
                    sv[S_XD] = xd + 1
                    sv[S_XNOW] = tm
                    if book_stops:
                        book_stops_l2_nb(BX, OS, sv, tm)
        elif tact <= bound and tact < NEVER:
            actions_l2_nb(BX, OS, F, W, sv, cf, tact)
            if tact > sv[S_XNOW]:
                sv[S_XNOW] = tact
        else:
            return W_UNTIL, bound
        if wake_note and sv[S_NNOTE] > n_notes and notes[n_notes, N_VIS] < bound:
            bound = notes[n_notes, N_VIS]


@njit(cache=True)
def advance_l2_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, until, wake):
    """Run the simulation until the strategy must be woken: local time ``until`` (W_UNTIL), a
    subscribed local event (``wake`` bits WK_*), or the end of the data (W_END). Responses
    visible by then are delivered (sv[S_NSEEN0]..sv[S_NSEEN]). Returns the wake code.

    Streamed feeds: the arrays hold a window of the feed, complete up to exchange time
    sv[S_HORIZON]. A wake after it is cut at the horizon: both sides are processed up to it,
    nothing is delivered, and W_MORE asks the caller to load the next window and call again;
    the result is the same as one call over the whole feed."""
    d_ts, d_lts, d_side, d_tick, d_qty, d_flags, d_rank = D
    t_ts, t_lts, t_side, t_tick, t_qty, t_rank = T
    q_lts, q_rank = Q
    orders, oi, of, live = OS
    fills, notes = F
    nd = d_ts.shape[0]
    nt = t_ts.shape[0]
    nq = q_lts.shape[0]
    rec_t = np.empty((0, 2), np.int64)
    rec_q = np.empty((0, 2), np.float64)
    while True:
        ld = sv[S_LD]
        lt = sv[S_LT]
        lq = sv[S_LQ]
        hz = sv[S_HORIZON]
        if (hz >= NEVER and ld >= nd and lt >= nt and lq >= nq and sv[S_XD] >= nd
                and sv[S_XT] >= nt):
            if sv[S_NACT] >= NEVER and sv[S_NSEEN] >= sv[S_NNOTE]:
                return W_END
            # the data has ended (no window follows): no timer wakes any more (a strategy
            # sending an order on every timer kept the run going forever); what is in flight
            # settles and its responses are delivered
            until = NEVER
        t = until
        kind = W_UNTIL
        rk = NEVER
        if wake & WK_BOOK and ld < nd and d_lts[ld] <= t:
            t = d_lts[ld]
            kind = W_BOOK
            rk = d_rank[ld]
        if wake & WK_TRADE and lt < nt and (t_lts[lt] < t or (t_lts[lt] == t and t_rank[lt] < rk)):
            t = t_lts[lt]
            kind = W_TRADE
            rk = t_rank[lt]
        if wake & WK_QUOTE and lq < nq and (q_lts[lq] < t or (q_lts[lq] == t and q_rank[lq] < rk)):
            t = q_lts[lq]
            kind = W_QUOTE
        t, kind = note_or_horizon_nb(sv, notes, wake, t, kind, hz)
        code, t2 = exchange_l2_nb(D, T, BX, OS, F, W, sv, cf, t, (wake & WK_NOTE) != 0)
        if code == W_FULL:
            return W_FULL
        if t2 < t:
            t = t2
            kind = W_NOTE
        if t >= NEVER:  # no timer and nothing left on the exchange: deliver everything
            t = last_nb(q_lts, last_nb(t_lts, last_nb(d_lts, settled_nb(sv, notes))))
        # the strategy's side: its book, its trade / quote cursors, the responses
        stop = ld + 1 if kind == W_BOOK else local_stop_nb(d_lts, ld, t)
        if stop > ld:
            if sv[S_SHARED] == 0:
                dq, ok, oq, meta = BL
                st, nxt = l2_replay_nb(dq, ok, oq, meta, d_ts, d_side, d_tick, d_qty, d_flags,
                                       ld, stop, rec_t, rec_q)
                sv[S_LD] = nxt
                if st == FULL_LEVELS:
                    sv[S_FULL] = 5
                    return W_FULL
            else:
                sv[S_LD] = stop
        sv[S_LT] = lt + 1 if kind == W_TRADE else local_stop_nb(t_lts, lt, t)
        sv[S_LQ] = lq + 1 if kind == W_QUOTE else local_stop_nb(q_lts, lq, t)
        if kind == W_MORE:  # nothing is delivered: the next call goes on as if never stopped
            return W_MORE
        if t > sv[S_NOW]:
            sv[S_NOW] = t
        ndel = deliver_nb(sv, cf, orders, oi, of, fills, notes, t)
        if kind == W_BOOK:
            if sv[S_BATCH] == 1 and not (d_flags[ld] & DEPTH_LAST):
                continue
            sv[S_WROW] = ld
            return W_BOOK
        if kind == W_TRADE:
            sv[S_WROW] = lt
            return W_TRADE
        if kind == W_QUOTE:
            sv[S_WROW] = lq
            return W_QUOTE
        if kind == W_NOTE:
            if ndel > 0:
                return W_NOTE
            continue
        if until >= NEVER:
            continue  # checked at the top: W_END
        return W_UNTIL
