"""Order-side kernels of the tick simulator, shared by the L2 and L3 paths.

Submitting and cancelling (strategy side, local time), drawing latencies and random numbers
(seeded splitmix64 state in ``sv``: no global state), writing fills and responses, taking
liquidity from a list of levels, and the L2 queue models. Layout in :mod:`engine.tick.layout`.
Kernels never raise: a submit returns the order id or -1 when the arrays are full.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.tick.layout import (
    C_ENTRY_A,
    C_ENTRY_B,
    C_IMP_COEF,
    C_IMP_PERM,
    C_IMP_T,
    C_IMP_TAU,
    C_IMP_TRANS,
    C_INV,
    C_LPOS,
    C_MAKER,
    C_POS,
    C_QPOW,
    C_RESP_A,
    C_RESP_B,
    C_TAKER,
    C_TICK,
    CF_SIZE,
    IMP_LINEAR,
    IMP_OFF,
    IMP_SQRT,
    IMP_TRANSIENT,
    LAT_CONSTANT,
    LAT_SERIES,
    LAT_UNIFORM,
    N_IDX,
    N_KIND,
    N_STATUS,
    N_VIS,
    NEVER,
    NOTE_FILL,
    NOTE_ORDER,
    OF_AHEAD,
    OF_AHEAD0,
    OF_LASTQ,
    OF_LFILLED,
    OF_TRADED,
    OI_ARMED,
    OI_ARRIVE,
    OI_CXL,
    OI_LAT,
    OI_LSTAT,
    OI_REST,
    OI_STOP,
    OI_TICK,
    S_BMAX,
    S_BMIN,
    S_ENTRY,
    S_IMPACT,
    S_LASTVIS,
    S_NACT,
    S_NARMED,
    S_NFILL,
    S_NLIVE,
    S_NNOTE,
    S_NORD,
    S_NRESTING,
    S_NSEEN,
    S_NSEEN0,
    S_PARTIAL,
    S_RESP,
    S_RNG,
    S_SMAX,
    S_SMIN,
    S_STOPTRIG,
    STOP_BY_BOOK,
    SV_SIZE,
)
from engine.types import (
    CANCELLED,
    EXPIRED,
    F_POST_ONLY,
    F_REDUCE_ONLY,
    F_TRIGGERED,
    FILLED,
    FOK,
    GTD,
    IOC,
    LIMIT,
    MAKER,
    MARKET,
    NEW,
    PARTIAL,
    R_FOK_UNFILLED,
    R_INVALID_PRICE,
    R_INVALID_SIZE,
    R_IOC_UNFILLED,
    R_POST_ONLY,
    R_REDUCE_ONLY,
    REJECTED,
    STOP,
    STOP_LIMIT,
    TAKER,
    WORKING,
)

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


# --- random numbers and latencies ------------------------------------------------------------
@njit(cache=True)
def rand_nb(sv, k):
    """Uniform float in [0, 1) from the splitmix64 state ``sv[k]`` (advanced in place)."""
    z = np.uint64(sv[k]) + np.uint64(0x9E3779B97F4A7C15)
    sv[k] = np.int64(z)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def latency_nb(sv, cf, kind, a, b, t):
    """One latency (ns) of model ``kind`` with parameters a, b (layout LAT_*) for an event at
    time ``t``. LAT_SERIES: a recorded series stored after the layouts' fixed slots
    (times in ``sv[SV_SIZE + a + j]``, latencies in ``cf[CF_SIZE + a + j]``, j < b): the
    latency recorded last at or before ``t`` (the first one before the series starts)."""
    if kind == LAT_CONSTANT:
        return np.int64(a)
    if kind == LAT_SERIES:
        off = np.int64(a)
        n = np.int64(b)
        lo = 0
        hi = n
        while lo < hi:  # first index with time > t
            mid = (lo + hi) >> 1
            if sv[SV_SIZE + off + mid] <= t:
                lo = mid + 1
            else:
                hi = mid
        j = lo - 1 if lo > 0 else 0
        return np.int64(cf[CF_SIZE + off + j])
    u = rand_nb(sv, S_RNG)
    if kind == LAT_UNIFORM:
        return np.int64(a + math.floor(u * (b - a + 1.0)))
    return np.int64(a - b * math.log(1.0 - u))  # LAT_EXPONENTIAL: a + Exp(mean b)


@njit(cache=True)
def price_nb(cf, tick):
    """Ticks -> price (exact division when 1 / tick size is an integer)."""
    if cf[C_INV] > 0.0:
        return tick / cf[C_INV]
    return tick * cf[C_TICK]


# --- responses ---------------------------------------------------------------------------------
@njit(cache=True)
def note_nb(sv, cf, notes, t, kind, idx, status):
    """Queue a response leaving the exchange at ``t``; it reaches the strategy after the
    response latency, never before an earlier response (one ordered channel)."""
    vis = t + latency_nb(sv, cf, sv[S_RESP], cf[C_RESP_A], cf[C_RESP_B], t)
    if vis < sv[S_LASTVIS]:
        vis = sv[S_LASTVIS]
    sv[S_LASTVIS] = vis
    n = sv[S_NNOTE]
    notes[n, N_VIS] = vis
    notes[n, N_KIND] = kind
    notes[n, N_IDX] = idx
    notes[n, N_STATUS] = status
    sv[S_NNOTE] = n + 1


@njit(cache=True)
def deliver_nb(sv, cf, orders, oi, of, fills, notes, t):
    """Apply every response visible at local time ``t`` to the strategy's view (order status,
    filled size, position). Returns the number delivered (sv[S_NSEEN0]..sv[S_NSEEN])."""
    k = sv[S_NSEEN]
    sv[S_NSEEN0] = k
    n = sv[S_NNOTE]
    while k < n and notes[k, N_VIS] <= t:
        idx = notes[k, N_IDX]
        if notes[k, N_KIND] == NOTE_FILL:
            f = fills[idx]
            oid = f.order_id
            of[oid, OF_LFILLED] += f.size
            cf[C_LPOS] += f.side * f.size
        else:
            oi[idx, OI_LSTAT] = notes[k, N_STATUS]
        k += 1
    sv[S_NSEEN] = k
    return k - sv[S_NSEEN0]


# --- strategy side: submit / cancel ----------------------------------------------------------
@njit(cache=True)
def submit_nb(sv, cf, orders, oi, of, live, now, side, otype, tif, flags, size, tick, tag):
    """Send an order at local time ``now``; it reaches the exchange after the entry latency.

    ``side`` BUY (1) / SELL (-1); ``otype`` MARKET / LIMIT; ``tick`` the limit price in ticks.
    Returns the order id, or -1 when the order arrays are full (the caller grows them)."""
    return submit_ex_nb(sv, cf, orders, oi, of, live, now, side, otype, tif, flags, size, tick,
                        0, 0, tag)


@njit(cache=True)
def submit_ex_nb(sv, cf, orders, oi, of, live, now, side, otype, tif, flags, size, tick,
                 stop_tick, expire_ts, tag):
    """:func:`submit_nb` with every order type: ``otype`` MARKET / LIMIT / STOP /
    STOP_LIMIT, ``stop_tick`` the stop price in ticks, ``expire_ts`` the exchange time after
    which a GTD order expires."""
    n = sv[S_NORD]
    if n >= orders.shape[0]:
        return -1
    lat = latency_nb(sv, cf, sv[S_ENTRY], cf[C_ENTRY_A], cf[C_ENTRY_B], now)
    o = orders[n]
    o.order_id = n
    o.ts = now
    o.sym = 0
    o.side = side
    o.type = otype
    o.tif = tif
    o.status = NEW
    o.flags = flags
    o.size = size
    o.limit_price = price_nb(cf, tick) if otype == LIMIT or otype == STOP_LIMIT else np.nan
    o.stop_price = price_nb(cf, stop_tick) if otype == STOP or otype == STOP_LIMIT else np.nan
    o.trail = np.nan
    o.expire_ts = expire_ts
    o.filled_size = 0.0
    o.avg_fill_price = np.nan
    o.reject_reason = 0
    o.parent_id = -1
    o.oco_id = -1
    o.tag = tag
    o.update_ts = now
    oi[n, OI_TICK] = tick
    oi[n, OI_ARRIVE] = now + lat
    oi[n, OI_LAT] = lat
    oi[n, OI_CXL] = NEVER
    oi[n, OI_LSTAT] = NEW
    oi[n, OI_REST] = 0
    oi[n, OI_STOP] = stop_tick
    oi[n, OI_ARMED] = 0
    of[n, OF_AHEAD] = 0.0
    of[n, OF_TRADED] = 0.0
    of[n, OF_AHEAD0] = 0.0
    of[n, OF_LFILLED] = 0.0
    live[sv[S_NLIVE]] = n
    sv[S_NLIVE] += 1
    sv[S_NORD] = n + 1
    if now + lat < sv[S_NACT]:
        sv[S_NACT] = now + lat
    return n


@njit(cache=True)
def cancel_nb(sv, cf, orders, oi, now, oid):
    """Request the cancel of order ``oid`` at local time ``now`` (reaches the exchange after an
    entry latency). Returns False if the order is unknown or already terminal as far as the
    strategy knows."""
    if oid < 0 or oid >= sv[S_NORD]:
        return False
    st = oi[oid, OI_LSTAT]
    if st == FILLED or st == CANCELLED or st == REJECTED or st == EXPIRED or \
            oi[oid, OI_CXL] != NEVER:
        return False
    t = now + latency_nb(sv, cf, sv[S_ENTRY], cf[C_ENTRY_A], cf[C_ENTRY_B], now)
    if t < oi[oid, OI_ARRIVE]:
        t = oi[oid, OI_ARRIVE]  # one channel: a cancel never overtakes its order
    oi[oid, OI_CXL] = t
    if t < sv[S_NACT]:
        sv[S_NACT] = t
    return True


# --- exchange side ---------------------------------------------------------------------------
@njit(cache=True)
def refresh_nb(sv, oi, live, orders):
    """Recompute the earliest pending action and the resting price bounds; drop terminal
    orders from the live list."""
    m = 0
    nact = NEVER
    bmin = NEVER
    bmax = -NEVER
    smin = NEVER
    smax = -NEVER
    nrest = 0
    narmed = 0
    for j in range(sv[S_NLIVE]):
        i = live[j]
        st = orders[i].status
        if st == FILLED or st == CANCELLED or st == REJECTED or st == EXPIRED:
            continue
        live[m] = i
        m += 1
        if st == NEW and oi[i, OI_ARRIVE] < nact:
            nact = oi[i, OI_ARRIVE]
        if oi[i, OI_CXL] < nact:
            nact = oi[i, OI_CXL]
        if st != NEW and orders[i].tif == GTD and orders[i].expire_ts < nact:
            nact = orders[i].expire_ts  # expiry: an exchange-side action at expire_ts
        narmed += oi[i, OI_ARMED]
        if oi[i, OI_REST] == 1:
            nrest += 1
            t = oi[i, OI_TICK]
            if orders[i].side > 0:
                bmin = min(bmin, t)
                bmax = max(bmax, t)
            else:
                smin = min(smin, t)
                smax = max(smax, t)
    sv[S_NLIVE] = m
    sv[S_NACT] = nact
    sv[S_BMIN] = bmin
    sv[S_BMAX] = bmax
    sv[S_SMIN] = smin
    sv[S_SMAX] = smax
    sv[S_NRESTING] = nrest
    sv[S_NARMED] = narmed


@njit(cache=True)
def is_market_nb(o):
    """Takes liquidity without a price limit: a market order or a triggered stop."""
    return o.type == MARKET or o.type == STOP


@njit(cache=True)
def set_status_nb(sv, cf, orders, oi, notes, i, t, status, reason):
    o = orders[i]
    o.status = status
    o.reject_reason = reason
    o.update_ts = t
    if status != WORKING:
        oi[i, OI_REST] = 0
        oi[i, OI_ARMED] = 0
    note_nb(sv, cf, notes, t, NOTE_ORDER, i, status)


@njit(cache=True)
def impact_shift_nb(sv, cf, t):
    """Current price shift of the impact overlay (price units, + moves prices up)."""
    k = sv[S_IMPACT]
    if k == IMP_OFF:
        return 0.0
    s = cf[C_IMP_PERM]
    if k == IMP_TRANSIENT and cf[C_IMP_TRANS] != 0.0:
        s += cf[C_IMP_TRANS] * math.exp(-(t - cf[C_IMP_T]) / cf[C_IMP_TAU])
    return s


@njit(cache=True)
def _impact_add_nb(sv, cf, t, signed_q):
    k = sv[S_IMPACT]
    if k == IMP_LINEAR:
        cf[C_IMP_PERM] += cf[C_IMP_COEF] * signed_q
    elif k == IMP_SQRT:
        cf[C_IMP_PERM] += cf[C_IMP_COEF] * math.copysign(math.sqrt(abs(signed_q)), signed_q)
    elif k == IMP_TRANSIENT:
        cur = 0.0
        if cf[C_IMP_TRANS] != 0.0:
            cur = cf[C_IMP_TRANS] * math.exp(-(t - cf[C_IMP_T]) / cf[C_IMP_TAU])
        cf[C_IMP_TRANS] = cur + cf[C_IMP_COEF] * signed_q
        cf[C_IMP_T] = t


@njit(cache=True)
def fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, q, price, liq):
    """Write one fill of ``q`` units of order ``i`` at ``price`` (exchange time ``t``); update
    the order, the exchange position and queue the responses."""
    o = orders[i]
    n = sv[S_NFILL]
    f = fills[n]
    f.fill_id = n
    f.order_id = i
    f.ts = t
    f.sym = o.sym
    f.side = o.side
    f.liquidity = liq
    f.size = q
    f.price = price
    fee_rate = cf[C_MAKER] if liq == MAKER else cf[C_TAKER]
    f.fee = fee_rate * q * price
    f.slippage = 0.0
    f.queue_ahead = of[i, OF_AHEAD0] if liq == MAKER else 0.0
    f.latency_ns = oi[i, OI_LAT]
    sv[S_NFILL] = n + 1
    done = o.filled_size
    o.avg_fill_price = price if done == 0.0 else (o.avg_fill_price * done + price * q) / (done + q)
    o.filled_size = done + q
    o.update_ts = t
    cf[C_POS] += o.side * q
    note_nb(sv, cf, notes, t, NOTE_FILL, n, 0)
    if o.filled_size >= o.size * (1.0 - 1e-12):
        o.status = FILLED
        oi[i, OI_REST] = 0
        note_nb(sv, cf, notes, t, NOTE_ORDER, i, FILLED)
    else:
        o.status = PARTIAL if oi[i, OI_REST] == 1 else o.status


@njit(cache=True)
def take_nb(sv, cf, orders, oi, of, fills, notes, i, t, ticks, qtys, nlev):
    """Take liquidity for order ``i`` from the opposite side's levels ``ticks/qtys[:nlev]`` (best
    first), within its limit; one fill per level (average price on the order). The replayed book
    is not changed (a replay cannot react); the impact overlay shifts the prices. Returns the
    quantity filled."""
    o = orders[i]
    rem = o.size - o.filled_size
    got = 0.0
    lim = oi[i, OI_TICK]
    for k in range(nlev):
        if rem <= 0.0:
            break
        tk = ticks[k]
        px = price_nb(cf, tk) + impact_shift_nb(sv, cf, t)
        if not is_market_nb(o):
            lp = price_nb(cf, lim)
            if (o.side > 0 and px > lp + 1e-12) or (o.side < 0 and px < lp - 1e-12):
                break
        q = qtys[k] if qtys[k] < rem else rem
        if q <= 0.0:
            continue
        fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, q, px, TAKER)
        _impact_add_nb(sv, cf, t, o.side * q)
        rem -= q
        got += q
    return got


@njit(cache=True)
def available_nb(sv, cf, orders, oi, i, t, ticks, qtys, nlev):
    """Quantity order ``i`` could take from the levels within its limit (for FOK)."""
    o = orders[i]
    tot = 0.0
    lp = price_nb(cf, oi[i, OI_TICK])
    for k in range(nlev):
        px = price_nb(cf, ticks[k]) + impact_shift_nb(sv, cf, t)
        if not is_market_nb(o) and ((o.side > 0 and px > lp + 1e-12) or
                                (o.side < 0 and px < lp - 1e-12)):
            break
        tot += qtys[k]
    return tot


@njit(cache=True)
def arrive_nb(sv, cf, orders, oi, of, fills, notes, i, t, ticks, qtys, nlev, own_qty):
    """Order ``i`` reaches the exchange at ``t``; ``ticks/qtys[:nlev]``: the opposite side's
    levels, best first; ``own_qty``: size resting at its limit on its own side (its queue
    ahead if it rests). Returns True if the order now rests in the book."""
    o = orders[i]
    side = o.side
    size = o.size
    mkt = is_market_nb(o)
    if not (size > 0.0) or size != size:
        set_status_nb(sv, cf, orders, oi, notes, i, t, REJECTED, R_INVALID_SIZE)
        return False
    if not mkt and o.limit_price != o.limit_price:
        set_status_nb(sv, cf, orders, oi, notes, i, t, REJECTED, R_INVALID_PRICE)
        return False
    if o.tif == GTD and o.expire_ts < t:  # reached the exchange after its expiry
        set_status_nb(sv, cf, orders, oi, notes, i, t, EXPIRED, 0)
        return False
    if (o.type == STOP or o.type == STOP_LIMIT) and not (o.flags & F_TRIGGERED):
        if o.stop_price != o.stop_price:
            set_status_nb(sv, cf, orders, oi, notes, i, t, REJECTED, R_INVALID_PRICE)
            return False
        st = oi[i, OI_STOP]
        if sv[S_STOPTRIG] == STOP_BY_BOOK and nlev > 0 and \
                ((side > 0 and ticks[0] >= st) or (side < 0 and ticks[0] <= st)):
            o.flags |= F_TRIGGERED  # already through its stop: goes on as market / limit
        else:
            oi[i, OI_ARMED] = 1  # waits at the exchange; not in the book
            set_status_nb(sv, cf, orders, oi, notes, i, t, WORKING, 0)
            return False
    if o.flags & F_REDUCE_ONLY:
        pos = cf[C_POS]
        if pos * side >= 0.0:  # flat, or would add to the position
            set_status_nb(sv, cf, orders, oi, notes, i, t, REJECTED, R_REDUCE_ONLY)
            return False
        if size > abs(pos):
            o.size = abs(pos)  # reduce-only never flips: clipped to the position
    crosses = False
    if nlev > 0:
        shift = impact_shift_nb(sv, cf, t)
        best = price_nb(cf, ticks[0]) + shift
        lp = o.limit_price
        crosses = mkt or (side > 0 and best <= lp + 1e-12) or \
            (side < 0 and best >= lp - 1e-12)
    if crosses and (o.flags & F_POST_ONLY):
        set_status_nb(sv, cf, orders, oi, notes, i, t, REJECTED, R_POST_ONLY)
        return False
    if o.tif == FOK:
        if (not crosses) or available_nb(sv, cf, orders, oi, i, t, ticks, qtys, nlev) < \
                o.size * (1.0 - 1e-12):
            set_status_nb(sv, cf, orders, oi, notes, i, t, REJECTED, R_FOK_UNFILLED)
            return False
    if mkt or o.tif == IOC or o.tif == FOK:
        if crosses:
            take_nb(sv, cf, orders, oi, of, fills, notes, i, t, ticks, qtys, nlev)
        if o.status != FILLED:
            set_status_nb(sv, cf, orders, oi, notes, i, t, CANCELLED, R_IOC_UNFILLED)
        return False
    if crosses:
        take_nb(sv, cf, orders, oi, of, fills, notes, i, t, ticks, qtys, nlev)
        if o.status == FILLED:
            return False
    # rest at the limit: behind everything visible at that price
    oi[i, OI_REST] = 1
    of[i, OF_AHEAD] = own_qty
    of[i, OF_AHEAD0] = own_qty
    of[i, OF_LASTQ] = own_qty
    of[i, OF_TRADED] = 0.0
    was_filled = o.filled_size > 0.0
    set_status_nb(sv, cf, orders, oi, notes, i, t, WORKING, 0)
    if was_filled:
        o.status = PARTIAL
    return True


@njit(cache=True)
def resting_fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, q, partial):
    """A resting order is executed for ``q`` at its limit price (maker); all of it when
    partial fills are off."""
    o = orders[i]
    rem = o.size - o.filled_size
    if not partial or q > rem:
        q = rem
    if q > 0.0:
        fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, q, o.limit_price, MAKER)


@njit(cache=True)
def queue_depth_nb(sv, cf, of, i, prev, new, model):
    """L2 queue model on a depth update at the order's level (size ``prev`` -> ``new``).

    Conservative: the queue ahead never exceeds the level size (cancels are behind you unless
    the level gets smaller than your queue). Probabilistic: a decrease not explained by trades
    at the level since the last update is a cancel ahead of you with probability
    f(ahead) / (f(ahead) + f(behind)), f(x) = x**n (a seeded draw), behind = prev - ahead."""
    ahead = of[i, OF_AHEAD]
    if model == 1:
        dec = prev - new - of[i, OF_TRADED]
        if dec > 0.0 and ahead > 0.0:
            behind = prev - ahead
            if behind < 0.0:
                behind = 0.0
            fa = ahead ** cf[C_QPOW]
            fb = behind ** cf[C_QPOW]
            p = fa / (fa + fb) if fa + fb > 0.0 else 1.0
            if rand_nb(sv, S_RNG) < p:
                ahead -= dec
                if ahead < 0.0:
                    ahead = 0.0
    of[i, OF_TRADED] = 0.0
    if ahead > new:
        ahead = new
    of[i, OF_AHEAD] = ahead


@njit(cache=True)
def trade_nb(sv, cf, orders, oi, of, fills, notes, live, t, aggr, tick, q):
    """A market trade (aggressor ``aggr``, price ``tick``, size ``q``) at exchange time ``t``:
    resting orders on the passive side at a better price than the trade are traded through
    (filled); at the trade price the queue ahead shrinks by ``q`` and the order fills by what
    exceeds it. Returns the number of orders filled."""
    partial = sv[S_PARTIAL] == 1
    nf = 0
    for j in range(sv[S_NLIVE]):
        i = live[j]
        if oi[i, OI_REST] != 1:
            continue
        o = orders[i]
        if o.side == aggr:
            continue
        lt = oi[i, OI_TICK]
        through = (o.side > 0 and tick < lt) or (o.side < 0 and tick > lt)
        if through:
            resting_fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, q, partial)
            nf += 1
        elif tick == lt:
            ahead = of[i, OF_AHEAD] - q
            of[i, OF_TRADED] += q
            if ahead < 0.0:
                resting_fill_nb(sv, cf, orders, oi, of, fills, notes, i, t, -ahead, partial)
                ahead = 0.0
                nf += 1
            of[i, OF_AHEAD] = ahead
    return nf
