"""The L3 (order-by-order) tick simulator: the simulated order sits in the real FIFO queue.

Market input ``D`` = (ts, lts, event, order_id, side, tick, lots, rank) in canonical MBO codes
(see :mod:`engine.tick.feed`); the book is an L3 book (``engine.book.l3_nb``). A resting order
is added to the book with id ``-(order_id + 1)`` at the tail of its level when it reaches the
exchange, so the quantity ahead of it is exact. It fills when the market's executions reach it:

* an execution (visible, type 4) at its level of an order **behind** it in the FIFO (the
  aggressor would have met it first) fills it by the executed size;
* executions of orders ahead of it (or of anonymous, pre-existing quantity, which is ahead of
  every known order) only move it forward, as the replayed book already shows;
* an execution at a worse price than its limit (the aggressor went through its price) or a
  hidden execution (type 5; displayed orders have priority) at or through its price fills it;
* an order added on the other side at or through its price fills it in full (it would have
  traded on arrival).

Window corrections (MBO_ANON_LEVEL, MBO_FORGET: a LOBSTER feed's book changes taken from the
orderbook file, :func:`engine.tick.feed.lobster_feed`) are not market events: they never fill
and never touch a simulated order. They move it in its queue only through the book: a forgotten
order ahead of it leaves the FIFO, and anonymous quantity is ahead of every known order, so a
level learned where it rests (it rested beyond the data's window) puts all of it ahead (the
worst case: which of those orders came after it is unknown). A wake (W_BOOK / W_TRADE) delivers
a message together with its corrections.

Fills never change the replayed orders of other participants (a replay cannot react); the
simulated order's own size leaves the book as it fills. Partial fills follow the executed
sizes (``partial_fills=False``: all or nothing).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from data.schema import (
    MBO_ADD,
    MBO_ANON_LEVEL,
    MBO_DELETE,
    MBO_EXECUTE,
    MBO_EXECUTE_HIDDEN,
    MBO_FORGET,
)
from engine.book.codes import (
    ASK,
    BID,
    FULL_LEVELS,
    FULL_ORDERS,
    LV_KEY,
    M_NASK,
    M_NBID,
    NO_TICK,
    OD_ID,
    OD_NEXT,
)
from engine.book.l3_nb import hash_get_nb, l3_add_nb, l3_replay_nb
from engine.book.l3_query_nb import l3_level_nb, l3_queue_position_nb
from engine.tick.layout import (
    C_LOT,
    CAP_MARGIN,
    MAX_WALK,
    N_VIS,
    NEVER,
    OF_AHEAD,
    OF_AHEAD0,
    OI_ARRIVE,
    OI_CXL,
    OI_REST,
    OI_TICK,
    S_CROSS_FILLS,
    S_FULL,
    S_HORIZON,
    S_LD,
    S_LQ,
    S_NACT,
    S_NARMED,
    S_NFILL,
    S_NLIVE,
    S_NNOTE,
    S_NORD,
    S_NOW,
    S_NRESTING,
    S_NSEEN,
    S_PARTIAL,
    S_SHARED,
    S_STOPTRIG,
    S_TRADE_FILLS,
    S_WROW,
    S_XD,
    S_XNOW,
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
    refresh_nb,
    resting_fill_nb,
    set_status_nb,
)
from engine.tick.stops_nb import book_stops_nb, expire_nb, trigger_stops_nb
from engine.tick.wake_nb import (
    last_nb,
    local_stop_nb,
    note_or_horizon_nb,
    settled_nb,
)
from engine.types import CANCELLED, FILLED, GTD, NEW, PARTIAL, WORKING


def l3_counts(ev, tick) -> tuple[int, int]:
    """(adds, distinct prices) of MBO kernel columns: what sizes an L3 book for them."""
    return int((ev == MBO_ADD).sum()), int(np.unique(tick).size) if len(tick) else 0


def l3_state_for(feed, counts: tuple[int, int] | None = None):
    """An L3 book sized for the feed (orders <= adds + own orders; levels <= distinct prices),
    holding the feed's initial levels (anonymous quantity) if it has any. ``counts``: (adds,
    distinct prices) of the whole feed when ``feed`` is a streamed window."""
    from engine.book.l3_nb import l3_alloc, l3_set_anon_nb

    n_adds, n_px = counts if counts is not None else l3_counts(feed.D[2], feed.D[5])
    state = l3_alloc(max(64, n_px + 64), n_adds + 65536)
    for s, t, q in getattr(feed, "init_levels", ()):
        l3_set_anon_nb(*state, s, t, q)
    return state


@njit(cache=True)
def l3_mids_nb(lv, od, ht, meta, ts, ev, oid, side, tick, lots):
    """Replay MBO columns on an L3 book and return ``(ts, best bid tick, best ask tick, status)``
    after every event that leaves both sides non-empty and uncrossed (the mid price series of
    an L3 feed, as the orderbook file's top gives it for LOBSTER). ``status`` is 0, or the
    capacity code of the event that did not fit (the book was sized too small)."""
    n = ts.shape[0]
    out_ts = np.empty(n, np.int64)
    bid = np.empty(n, np.int64)
    ask = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        st, nxt = l3_replay_nb(lv, od, ht, meta, ts, ev, oid, side, tick, lots, i, i + 1)
        if st == FULL_LEVELS or st == FULL_ORDERS:
            return out_ts[:k], bid[:k], ask[:k], st
        nb = meta[M_NBID]
        na = meta[M_NASK]
        if nb > 0 and na > 0:
            b = lv[BID, LV_KEY, nb - 1]  # keys: bid tick, -ask tick; best level last
            a = -lv[ASK, LV_KEY, na - 1]
            if b < a:
                out_ts[k] = ts[i]
                bid[k] = b
                ask[k] = a
                k += 1
    return out_ts[:k], bid[:k], ask[:k], 0


@njit(cache=True)
def _own_id(i):
    return -(i + 1)


@njit(cache=True)
def _book_event(lv, od, ht, meta, t, ev, oid, side, tick, lots):
    a_ts = np.full(1, t, np.int64)
    a_ev = np.full(1, ev, np.int8)
    a_id = np.full(1, oid, np.int64)
    a_sd = np.full(1, side, np.int8)
    a_tk = np.full(1, tick, np.int64)
    a_q = np.full(1, lots, np.int64)
    st, _ = l3_replay_nb(lv, od, ht, meta, a_ts, a_ev, a_id, a_sd, a_tk, a_q, 0, 1)
    return st


@njit(cache=True)
def _own_fill(BX, OS, F, sv, cf, lot, i, t, q_lots):
    """Fill resting order ``i`` by ``q_lots`` (all when partial fills are off) and take the
    filled size out of the book."""
    lv, od, ht, meta = BX
    orders, oi, of, live = OS
    fills, notes = F
    o = orders[i]
    rem = o.size - o.filled_size
    q = q_lots * lot
    if sv[S_PARTIAL] == 0 or q > rem:
        q = rem
    if q <= 0.0:
        return
    resting_fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, q, True)
    ql = np.int64(round(q / lot))
    side = 1 if o.side > 0 else -1
    if orders[i].status == FILLED:
        _book_event(lv, od, ht, meta, t, MBO_DELETE, _own_id(i), side, oi[i, OI_TICK],
                    _own_qty(BX, i))
    elif ql > 0:
        _book_event(lv, od, ht, meta, t, MBO_EXECUTE, _own_id(i), side, oi[i, OI_TICK], ql)


@njit(cache=True)
def _own_qty(BX, i):
    lv, od, ht, meta = BX
    a, c, own = l3_queue_position_nb(lv, od, ht, meta, _own_id(i))
    return own if own > 0 else 0


@njit(cache=True)
def _behind(BX, i, x):
    """True when order id ``x`` sits behind own order ``i`` in their level's FIFO (False when
    ``x`` is unknown: anonymous quantity is ahead of everything)."""
    lv, od, ht, meta = BX
    mask = meta[5]  # M_HMASK
    sx = hash_get_nb(ht, mask, x)
    if sx < 0:
        return False
    me = hash_get_nb(ht, mask, _own_id(i))
    cur = od[me, OD_NEXT]
    while cur >= 0:
        if od[cur, OD_ID] == x:
            return True
        cur = od[cur, OD_NEXT]
    return False


@njit(cache=True)
def actions_l3_nb(BX, OS, F, W, sv, cf, lot, t):
    lv, od, ht, meta = BX
    orders, oi, of, live = OS
    fills, notes = F
    wt, wq = W[0], W[1]
    for j in range(sv[S_NLIVE]):
        i = live[j]
        o = orders[i]
        if o.status == NEW and oi[i, OI_ARRIVE] == t:
            s = 0 if o.side > 0 else 1
            nlev = 0
            for k in range(MAX_WALK):
                tk, q, _c = l3_level_nb(lv, meta, 1 - s, k)
                if tk == NO_TICK:
                    break
                own = 0.0  # never trade with yourself: own resting size is not liquidity
                for jj in range(sv[S_NLIVE]):
                    ii = live[jj]
                    if oi[ii, OI_REST] == 1 and orders[ii].side == -o.side and \
                            oi[ii, OI_TICK] == tk:
                        own += orders[ii].size - orders[ii].filled_size
                wt[nlev] = tk
                wq[nlev] = q * lot - own
                nlev += 1
            rests = arrive_nb(sv, cf, orders, oi, of, fills, notes, i, t, wt, wq, nlev, 0.0)
            if rests:
                ql = np.int64(round((o.size - o.filled_size) / lot))
                st = l3_add_nb(lv, od, ht, meta, _own_id(i), s, oi[i, OI_TICK], ql, t)
                if st == FULL_LEVELS or st == FULL_ORDERS:
                    sv[S_FULL] = 4
                a, c, own = l3_queue_position_nb(lv, od, ht, meta, _own_id(i))
                of[i, OF_AHEAD] = a * lot
                of[i, OF_AHEAD0] = a * lot
    for j in range(sv[S_NLIVE]):
        i = live[j]
        st = orders[i].status
        cxl = oi[i, OI_CXL] == t and (st == WORKING or st == PARTIAL or st == NEW)
        gone = orders[i].tif == GTD and orders[i].expire_ts <= t and \
            (st == WORKING or st == PARTIAL)
        if cxl or gone:
            if oi[i, OI_REST] == 1:
                side = 1 if orders[i].side > 0 else -1
                _book_event(lv, od, ht, meta, t, MBO_DELETE, _own_id(i), side,
                            oi[i, OI_TICK], _own_qty(BX, i))
            if cxl:
                set_status_nb(sv, cf, orders, oi, notes, i, t, CANCELLED, 0)
            else:
                expire_nb(sv, cf, orders, oi, notes, i, t)
    refresh_nb(sv, oi, live, orders)


@njit(cache=True)
def stops_l3_nb(BX, OS, sv, D, r):
    """Armed stops after MBO event ``r``: an execution's price (STOP_BY_TRADE) or the book's
    best prices (STOP_BY_BOOK) may trigger them."""
    lv, od, ht, meta = BX
    orders, oi, of, live = OS
    t = D[0][r]
    if sv[S_STOPTRIG] == STOP_BY_TRADE:
        e = D[2][r]
        if e == MBO_EXECUTE or e == MBO_EXECUTE_HIDDEN:
            trigger_stops_nb(sv, orders, oi, live, t, D[5][r], D[5][r])
    elif sv[S_STOPTRIG] == STOP_BY_BOOK:
        bb, _q, _c = l3_level_nb(lv, meta, 0, 0)
        ba, _q, _c = l3_level_nb(lv, meta, 1, 0)
        book_stops_nb(sv, orders, oi, live, t, bb, ba)


@njit(cache=True)
def _mbo_event_l3_nb(D, BX, OS, F, sv, cf, lot, r):
    """Own-order effects of MBO event ``r`` (before it is applied); returns orders filled."""
    m_ts, m_lts, m_ev, m_id, m_side, m_tick, m_lots, m_rank = D
    orders, oi, of, live = OS
    ev = m_ev[r]
    sd = m_side[r]
    tk = m_tick[r]
    t = m_ts[r]
    nf = 0
    for j in range(sv[S_NLIVE]):
        i = live[j]
        if oi[i, OI_REST] != 1:
            continue
        o = orders[i]
        lt = oi[i, OI_TICK]
        if ev == MBO_EXECUTE or ev == MBO_EXECUTE_HIDDEN:
            if sd != o.side:
                continue
            through = (o.side > 0 and tk < lt) or (o.side < 0 and tk > lt)
            if through or (tk == lt and (ev == MBO_EXECUTE_HIDDEN or _behind(BX, i, m_id[r]))):
                _own_fill(BX, OS, F, sv, cf, lot, i, t, m_lots[r])
                nf += 1
        elif ev == MBO_ADD and sd == -o.side:
            if (o.side > 0 and tk <= lt) or (o.side < 0 and tk >= lt):
                _own_fill(BX, OS, F, sv, cf, lot, i, t, NEVER)
                sv[S_CROSS_FILLS] += 1
                nf += 1
    return nf


@njit(cache=True)
def exchange_l3_nb(D, BX, OS, F, W, sv, cf, lot, bound, wake_note):
    """Exchange-side events with time <= ``bound`` (see :func:`exchange_l2_nb`)."""
    m_ts, m_lts, m_ev, m_id, m_side, m_tick, m_lots, m_rank = D
    lv, od, ht, meta = BX
    orders, oi, of, live = OS
    fills, notes = F
    n = m_ts.shape[0]
    while True:
        if sv[S_NORD] + CAP_MARGIN > orders.shape[0]:
            sv[S_FULL] = 1
            return W_FULL, bound
        if sv[S_NFILL] + CAP_MARGIN > fills.shape[0] or \
                sv[S_NNOTE] + 3 * CAP_MARGIN > notes.shape[0]:
            sv[S_FULL] = 2
            return W_FULL, bound
        if sv[S_FULL] != 0:
            return W_FULL, bound
        n_notes = sv[S_NNOTE]
        x = sv[S_XD]
        tact = sv[S_NACT]
        tm = m_ts[x] if x < n else NEVER
        if tm < NEVER and tm <= bound and tm <= tact:
            lim = bound if bound < tact else tact
            j = x
            armed = sv[S_NARMED] > 0
            if armed:
                pass  # one event at a time: each may trigger a stop
            elif sv[S_NRESTING] == 0:
                while j < n and m_ts[j] <= lim:
                    j += 1
            else:
                while j < n and m_ts[j] <= lim:
                    e = m_ev[j]
                    if e == MBO_EXECUTE or e == MBO_EXECUTE_HIDDEN or e == MBO_ADD:
                        break
                    j += 1
            if j == x:  # one event that may concern the resting orders
                nf = _mbo_event_l3_nb(D, BX, OS, F, sv, cf, lot, x)
                j = x + 1
                if nf > 0:
                    sv[S_TRADE_FILLS] += nf
            st, nxt = l3_replay_nb(lv, od, ht, meta, m_ts, m_ev, m_id, m_side, m_tick, m_lots,
                                   x, j)
            sv[S_XD] = nxt
            if nxt > x:
                sv[S_XNOW] = m_ts[nxt - 1]
            if st == FULL_LEVELS or st == FULL_ORDERS:
                sv[S_FULL] = 4
                return W_FULL, bound
            refresh_nb(sv, oi, live, orders)
            if armed and nxt > x:
                stops_l3_nb(BX, OS, sv, D, x)
        elif tact <= bound and tact < NEVER:
            actions_l3_nb(BX, OS, F, W, sv, cf, lot, tact)
            if tact > sv[S_XNOW]:
                sv[S_XNOW] = tact
        else:
            return W_UNTIL, bound
        if wake_note and sv[S_NNOTE] > n_notes and notes[n_notes, N_VIS] < bound:
            bound = notes[n_notes, N_VIS]


@njit(cache=True)
def advance_l3_nb(D, Q, BX, BL, OS, F, W, sv, cf, until, wake):
    """Like :func:`engine.tick.l2sim_nb.advance_l2_nb` on an MBO feed: W_BOOK after every MBO
    message (with its window corrections), W_TRADE after every execution (types 4 and 5)."""
    m_ts, m_lts, m_ev, m_id, m_side, m_tick, m_lots, m_rank = D
    q_lts, q_rank = Q
    orders, oi, of, live = OS
    fills, notes = F
    n = m_ts.shape[0]
    nq = q_lts.shape[0]
    lot = cf[C_LOT]
    while True:
        ld = sv[S_LD]
        lq = sv[S_LQ]
        hz = sv[S_HORIZON]
        if hz >= NEVER and ld >= n and lq >= nq and sv[S_XD] >= n:
            if sv[S_NACT] >= NEVER and sv[S_NSEEN] >= sv[S_NNOTE]:
                return W_END
            until = NEVER  # the data has ended: no timer wakes (see advance_l2_nb)
        t = until
        kind = W_UNTIL
        if ld < n and m_lts[ld] <= t:
            e = m_ev[ld]
            if wake & WK_BOOK or (wake & WK_TRADE and (e == MBO_EXECUTE or
                                                        e == MBO_EXECUTE_HIDDEN)):
                t = m_lts[ld]
                kind = W_BOOK if wake & WK_BOOK else W_TRADE
        if wake & WK_QUOTE and lq < nq and q_lts[lq] < t:
            t = q_lts[lq]
            kind = W_QUOTE
        t, kind = note_or_horizon_nb(sv, notes, wake, t, kind, hz)
        code, t2 = exchange_l3_nb(D, BX, OS, F, W, sv, cf, lot, t, (wake & WK_NOTE) != 0)
        if code == W_FULL:
            return W_FULL
        if t2 < t:
            t = t2
            kind = W_NOTE
        if t >= NEVER:
            t = last_nb(m_lts, settled_nb(sv, notes))
        stop = ld
        if kind == W_BOOK or kind == W_TRADE:
            stop = ld + 1
            # the message's window corrections (same ts and lts): the wake shows the book after
            while stop < n and (m_ev[stop] == MBO_ANON_LEVEL or m_ev[stop] == MBO_FORGET):
                stop += 1
        else:
            stop = local_stop_nb(m_lts, ld, t)
        if stop > ld:
            if sv[S_SHARED] == 0:
                lv, od, ht, meta = BL
                st, nxt = l3_replay_nb(lv, od, ht, meta, m_ts, m_ev, m_id, m_side, m_tick, m_lots,
                                       ld, stop)
                sv[S_LD] = nxt
                if st == FULL_LEVELS or st == FULL_ORDERS:
                    sv[S_FULL] = 5
                    return W_FULL
            else:
                sv[S_LD] = stop
        sv[S_LQ] = lq + 1 if kind == W_QUOTE else local_stop_nb(q_lts, lq, t)
        if kind == W_MORE:
            return W_MORE
        if t > sv[S_NOW]:
            sv[S_NOW] = t
        ndel = deliver_nb(sv, cf, orders, oi, of, fills, notes, t)
        if kind == W_BOOK or kind == W_TRADE or kind == W_QUOTE:
            sv[S_WROW] = ld if kind != W_QUOTE else lq
            return kind
        if kind == W_NOTE:
            if ndel > 0:
                return W_NOTE
            continue
        if until >= NEVER:
            continue
        return W_UNTIL
