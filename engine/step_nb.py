"""One bar of the broker for every working order, and the compiled run loop.

``process_bar_into_nb`` is THE kernel both paths call (``process_bar_nb``: the same with its
scratch arrays allocated per call): the Python-strategy loop calls it (``Broker.step``) once per
bar that has working orders (or a borrow charge due); the compiled loops (``run_targets_nb``,
``stepfn_nb.run_step_nb``) call it on every bar where something can happen. ``submit_nb`` writes an order record exactly as the Python layer does. At the
end of each call the margin check (engine/margin_nb.py) runs at the bar's close.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.fills_nb import (
    NO_RC,
    affordable_nb,
    evaluate_nb,
    fee_nb,
    path_nb,
    round_lot_nb,
    slip_frac_nb,
)
from engine.hints_nb import prefetch_nb
from engine.layout import (
    A_CASH,
    C_BLOWN,
    C_DAY,
    C_FILLS,
    C_FIRST,
    C_ORDERS,
    C_SNAPS,
    C_TRADES,
    C_WATCH,
    DONE,
    K_AT_CLOSE,
    K_BORROW,
    K_MAXLEV,
    K_VOLCAP,
    M_CLOSE,
    M_HIGH,
    M_LOW,
    M_MARK,
    M_OPEN,
    M_VOLUME,
    NS_DAY,
    REPEAT,
    S_LOT,
    S_MAXPOS,
    S_SHORTABLE,
)
from engine.margin_nb import margin_check_nb
from engine.portfolio_nb import accrue_borrow_nb, book_fill_nb, snapshot_nb
from engine.records_nb import finish_nb as _finish_nb
from engine.records_nb import submit_nb
from engine.records_nb import terminal_nb as _terminal
from engine.types import (
    CANCELLED,
    DAY,
    EXPIRED,
    F_AT_CLOSE,
    F_LIQUIDATION,
    F_REDUCE_ONLY,
    F_STOP_LOSS,
    F_TARGET,
    F_TARGET_VALUE,
    F_TARGETS,
    F_WAS_TARGET,
    FILLED,
    FOK,
    IOC,
    LIMIT,
    MARKET,
    NEW,
    PARTIAL,
    PENDING,
    R_ACCOUNT_BLOWN,
    R_BUYING_POWER,
    R_FOK_UNFILLED,
    R_INVALID_PRICE,
    R_INVALID_SIZE,
    R_IOC_UNFILLED,
    R_MAX_LEVERAGE,
    R_MAX_POSITION,
    R_NOT_SHORTABLE,
    R_OCO,
    R_PARENT,
    R_REDUCE_ONLY,
    R_SUPERSEDED,
    REJECTED,
    STOP,
    STOP_LIMIT,
    TRAILING_STOP,
    WORKING,
)

i64 = np.int64  # literal ints as arguments would compile one specialization per value


@njit(cache=True, inline="always")
def price_now_nb(mkt, i, phase, k):
    """Price of symbol ``k`` at the moment orders fill on bar ``i``: the close in phase 1; in
    phase 0 this bar's open when the symbol has a bar, else its last close."""
    if phase == 1:
        return mkt[M_MARK, i, k]
    op = mkt[M_OPEN, i, k]
    if op == op:
        return op
    return mkt[M_MARK, i - 1, k] if i > 0 else np.nan


@njit(cache=True, inline="always")
def valuation_nb(mkt, i, phase, open_tr, s, pos_s, px, cash):
    """(equity, gross exposure) with symbol ``s`` holding ``pos_s`` valued at ``px`` and the
    other symbols at their prices at that moment (``price_now_nb``)."""
    pv = pos_s * px
    gross = abs(pv)
    for k in range(open_tr.shape[0]):
        if k != s and open_tr[k].size > 0.0:
            v = open_tr[k].side * open_tr[k].size * price_now_nb(mkt, i, phase, k)
            pv += v
            gross += abs(v)
    return cash + pv, gross


@njit(cache=True, inline="always")
def target_units_nb(orders, j, px, i, phase, mkt, open_tr, acct, cfg, symcfg, maker):
    """Signed target position (units) of target order ``j`` at fill price ``px``."""
    o = orders[j]
    s = o.sym
    lot = symcfg[s, S_LOT]
    want = o.side * o.size
    if o.flags & F_TARGET:
        if want >= 0:
            return round_lot_nb(want, lot)
        return -round_lot_nb(-want, lot)
    pos = open_tr[s].side * open_tr[s].size
    if o.flags & F_TARGET_VALUE:
        budget = want
    else:  # F_TARGET_PCT: a fraction of the liquidation value at the fill price
        eq, _ = valuation_nb(mkt, i, phase, open_tr, s, pos, px, acct[A_CASH])
        if pos != 0.0:
            eq -= fee_nb(cfg, abs(pos), px, maker)
        budget = want * eq
    q = affordable_nb(cfg, abs(budget), px, lot, maker)
    return q if budget >= 0 else -q


@njit(cache=True, **NO_RC)
def execute_nb(j, i, phase, px0, maker, mkt, ts, orders, fills, trades, open_tr, acct, cnt,
               cfg, symcfg, used):
    """Fill order ``j`` at reference price ``px0`` (risk checks, volume cap, slippage, fees,
    booking). Returns the filled quantity (0: nothing filled)."""
    o = orders[j]
    s = o.sym
    t = ts[i]
    vol = mkt[M_VOLUME, i, s]
    pos = open_tr[s].side * open_tr[s].size
    lot = symcfg[s, S_LOT]
    if o.flags & F_TARGETS:
        tgt = target_units_nb(orders, j, px0, i, phase, mkt, open_tr, acct, cfg, symcfg, maker)
        delta = tgt - pos
        sf = slip_frac_nb(cfg, abs(delta), vol) if not maker and delta != 0.0 else 0.0
        if sf != 0.0:  # (with none, the slipped price is px0 and the target the same)
            sd = 1.0 if delta > 0 else -1.0
            pxs = px0 * (1.0 + sd * sf)
            tgt2 = target_units_nb(orders, j, pxs, i, phase, mkt, open_tr, acct, cfg, symcfg, maker)
            if (tgt2 - pos) * delta > 0:
                delta = tgt2 - pos
        if abs(delta) <= 1e-12 * max(1.0, abs(pos)):
            _finish_nb(orders, j, i64(CANCELLED), i64(R_INVALID_SIZE), t)
            return 0.0
        o.side = 1 if delta > 0 else -1
        o.size = abs(delta)
        o.flags = (o.flags & ~F_TARGETS) | F_WAS_TARGET
    side = o.side
    q = o.size - o.filled_size
    if o.flags & F_REDUCE_ONLY:  # (liquidation orders) never more than the position
        if pos * side >= 0.0:
            _finish_nb(orders, j, i64(CANCELLED),
                       i64(o.reject_reason if o.flags & F_LIQUIDATION else R_REDUCE_ONLY), t)
            return 0.0
        q = min(q, abs(pos))
    if cfg[K_VOLCAP] > 0.0:
        avail = cfg[K_VOLCAP] * vol - used[s] if vol > 0.0 else 0.0
        qmax = round_lot_nb(max(avail, 0.0), lot)
        if qmax < q:
            if o.tif == FOK:
                _finish_nb(orders, j, i64(CANCELLED), i64(R_FOK_UNFILLED), t)
                return 0.0
            q = qmax
        if q <= 0.0:
            if o.tif == IOC:
                _finish_nb(orders, j, i64(CANCELLED), i64(R_IOC_UNFILLED), t)
            return 0.0
    px = px0 if maker else px0 * (1.0 + side * slip_frac_nb(cfg, q, vol))
    fee = fee_nb(cfg, q, px, maker)
    newpos = pos + side * q
    if abs(newpos) > abs(pos) * (1.0 + 1e-12) or newpos * pos < 0.0:
        reason = 0
        if newpos < 0.0 and symcfg[s, S_SHORTABLE] == 0.0:
            reason = R_NOT_SHORTABLE
        elif abs(newpos) > symcfg[s, S_MAXPOS] * (1.0 + 1e-12):
            reason = R_MAX_POSITION
        else:
            cash_after = acct[A_CASH] - side * q * px - fee
            eq, gross = valuation_nb(mkt, i, phase, open_tr, s, newpos, px, cash_after)
            lev = cfg[K_MAXLEV]
            tol = 1e-9 * max(abs(eq), 1.0)
            if side > 0 and cash_after < -(lev - 1.0) * eq - tol:
                reason = R_BUYING_POWER
            elif gross > lev * eq + tol:
                reason = R_MAX_LEVERAGE
        if reason != 0:
            _finish_nb(orders, j, i64(REJECTED), i64(reason), t)
            return 0.0
    book_fill_nb(s, side, q, px, fee, t, open_tr, trades, cnt, acct)
    nf = cnt[C_FILLS]
    f = fills[nf]
    f.fill_id = nf
    f.order_id = o.order_id
    f.ts = t
    f.sym = s
    f.side = side
    f.liquidity = 1 if maker else 2
    f.size = q
    f.price = px
    f.fee = fee
    f.slippage = side * (px - px0) + 0.0
    f.queue_ahead = np.nan
    f.latency_ns = 0
    cnt[C_FILLS] = nf + 1
    used[s] += q
    if o.filled_size > 0.0:
        o.avg_fill_price = (o.filled_size * o.avg_fill_price + q * px) / (o.filled_size + q)
    else:
        o.avg_fill_price = px
    o.filled_size += q
    o.update_ts = t
    if o.filled_size >= o.size * (1.0 - 1e-12):
        o.status = FILLED
    else:
        o.status = PARTIAL
        if o.tif == IOC or o.tif == FOK:
            _finish_nb(orders, j, i64(CANCELLED), i64(R_IOC_UNFILLED), t)
        elif (o.flags & F_REDUCE_ONLY) and open_tr[s].size == 0.0:  # nothing left to reduce
            _finish_nb(orders, j, i64(CANCELLED),
                       i64(o.reject_reason if o.flags & F_LIQUIDATION else R_REDUCE_ONLY), t)
    return q


@njit(cache=True, **NO_RC)
def _activate_nb(orders, j, i, ts, symcfg):
    """NEW -> WORKING on the order's first eligible bar (or REJECTED with a reason)."""
    o = orders[j]
    t = ts[i]
    lot = symcfg[o.sym, S_LOT]
    reason = 0
    if not (o.size >= 0.0) or (o.size == 0.0 and (o.flags & F_TARGETS) == 0):
        reason = R_INVALID_SIZE
    elif ((o.flags & (F_TARGETS | F_LIQUIDATION)) == 0 and lot > 0.0
          and round_lot_nb(o.size, lot) < o.size * (1 - 1e-9)):
        reason = R_INVALID_SIZE
    elif (o.type == LIMIT or o.type == STOP_LIMIT) and not (o.limit_price > 0.0):
        reason = R_INVALID_PRICE
    elif (o.type == STOP or o.type == STOP_LIMIT or o.type == TRAILING_STOP) and not (
            o.stop_price > 0.0):
        reason = R_INVALID_PRICE
    if reason != 0:
        _finish_nb(orders, j, i64(REJECTED), i64(reason), t)
        return False
    if o.tif == DAY and o.expire_ts == 0:
        o.expire_ts = (t // NS_DAY + 1) * NS_DAY - 1
    o.status = WORKING
    o.update_ts = t
    return True


@njit(cache=True, **NO_RC)
def _children_nb(orders, j, t, n):
    """Bracket children of order ``j`` (rows j+1.. with parent_id == j): activate them when the
    parent is done with a fill, cancel them when it ended without one."""
    n_child = 0
    o = orders[j]
    k = j + 1
    while k < n and k < j + 3 and orders[k].parent_id == o.order_id:
        c = orders[k]
        if c.status == PENDING:
            if o.filled_size > 0.0:
                c.size = o.filled_size
                c.status = WORKING
                c.update_ts = t
                n_child += 1
            else:
                _finish_nb(orders, k, i64(CANCELLED), i64(R_PARENT), t)
        k += 1
    return n_child


@njit(cache=True, inline="always")
def _oco_pick_nb(ka, kb, flags_a, flags_b):
    """Which of an OCO pair fills on one bar's path, from their segments (-1: not reached):
    1 = a, 2 = b, 0 = neither. Both reached: the earlier segment, unless either is a
    stop-loss: then the stop-loss (pessimistic)."""
    if ka >= 0 and kb >= 0:
        if ka != kb and not ((flags_a & F_STOP_LOSS) or (flags_b & F_STOP_LOSS)):
            return 1 if ka < kb else 2
        return 1 if (flags_a & F_STOP_LOSS) else 2
    if ka >= 0:
        return 1
    if kb >= 0:
        return 2
    return 0


@njit(cache=True, **NO_RC)
def _finer_first_nb(a, b, i, p, orders, fine, fine_at, pxa, ma, pxb, mb):
    """Which of the OCO pair (a, b), both reached on bar ``i`` from its open, the finer bars of
    that bar reach first: the bar's finer bars of the pair's symbol (rows open, high,
    low, close of ``fine``) are walked in time order, each along
    the documented intrabar path, and the first one where only one of the two fills decides
    it, at that finer bar's price (a finer bar reaching both: the stop-loss, pessimistic).
    ``fine_at[0, s, i]`` / ``fine_at[1, s, i]``: the first / end row in ``fine`` of the finer
    bars inside symbol s's bar i (engine/intrabar.py).
    Returns (1: a / 2: b / -1: undecided, then a's and b's price and maker flag). Stateful
    orders (trailing stop, stop-limit) are left to the coarse rule (-1)."""
    oa, ob = orders[a], orders[b]
    if (oa.type == TRAILING_STOP or oa.type == STOP_LIMIT or ob.type == TRAILING_STOP
            or ob.type == STOP_LIMIT):
        return -1, pxa, ma, pxb, mb
    s = oa.sym
    for f in range(fine_at[0, s, i], fine_at[1, s, i]):
        fo = fine[0, f]
        if not (fo == fo):
            continue
        path_nb(fo, fine[1, f], fine[2, f], fine[3, f], p)
        ka, xa, fa = evaluate_nb(orders, a, p, i64(0), fo)
        kb, xb, fb = evaluate_nb(orders, b, p, i64(0), fo)
        w = _oco_pick_nb(ka, kb, oa.flags, ob.flags)  # (the coarse rule, on this finer bar)
        if w == 1:
            return 1, xa, fa, pxb, mb
        if w == 2:
            return 2, pxa, ma, xb, fb
    return -1, pxa, ma, pxb, mb


@njit(cache=True, **NO_RC)
def _oco_pair_nb(j, i, phase, p, k0, x0, mkt, ts, orders, fills, trades, open_tr, acct, cnt,
                 cfg, symcfg, used, fine, fine_at):
    """Evaluate bracket children j (and its OCO sibling) from (k0, x0); when both would fill
    on this bar, the finer bars of this bar decide (:func:`_finer_first_nb`) when the run has
    them, else the stop-loss wins (pessimistic). ``p`` is overwritten."""
    t = ts[i]
    a = j
    b = orders[j].oco_id
    if _terminal(orders[a].status):
        return
    if b < 0 or _terminal(orders[b].status):
        k, px, maker = evaluate_nb(orders, a, p, k0, x0)
        if k >= 0:
            execute_nb(a, i, phase, px, maker, mkt, ts, orders, fills, trades, open_tr, acct,
                       cnt, cfg, symcfg, used)
        return
    ka, pxa, ma = evaluate_nb(orders, a, p, k0, x0)
    kb, pxb, mb = evaluate_nb(orders, b, p, k0, x0)
    w = _oco_pick_nb(ka, kb, orders[a].flags, orders[b].flags)
    if ka >= 0 and kb >= 0 and phase == 0 and k0 == 0 and fine_at.shape[1] > 0:
        f, pxa, ma, pxb, mb = _finer_first_nb(a, b, i, p, orders, fine, fine_at, pxa, ma,
                                              pxb, mb)
        if f > 0:
            w = f
    if w == 0:
        return
    win = a if w == 1 else b
    lose = b if win == a else a
    px = pxa if win == a else pxb
    mk = ma if win == a else mb
    q = execute_nb(win, i, phase, px, mk, mkt, ts, orders, fills, trades, open_tr, acct, cnt,
                   cfg, symcfg, used)
    if q > 0.0 and orders[win].status == FILLED:
        _finish_nb(orders, lose, i64(CANCELLED), i64(R_OCO), t)
    elif q > 0.0:  # partial: the sibling protects only what is left
        orders[lose].size = orders[win].size - orders[win].filled_size + orders[lose].filled_size


@njit(cache=True, **NO_RC)
def _supersede_nb(i, phase, ts, orders, j0, n, newest):
    """A target order that starts working on this bar (phase) cancels the older live target
    orders of its symbol (reason ``superseded``): the latest target wins, so partly filled
    older targets never carry the position past it. Returns True when it cancelled any.
    ``newest``: float64[n_sym] scratch (overwritten; no allocation, see NO_RC)."""
    t = ts[i]
    found = False
    n_live = 0  # live target orders: nothing to supersede with fewer than two
    for j in range(j0, n):
        o = orders[j]
        if (o.flags & (F_TARGETS | F_WAS_TARGET)) and not _terminal(o.status):
            n_live += 1
            if o.status == NEW and (o.flags & F_TARGETS):
                found = True
    if not found or n_live < 2:
        return False
    for s in range(newest.shape[0]):
        newest[s] = 0.0
    done = False
    for j in range(n - 1, j0 - 1, -1):
        o = orders[j]
        if (o.flags & (F_TARGETS | F_WAS_TARGET)) == 0 or _terminal(o.status):
            continue
        if newest[o.sym] != 0.0:
            _finish_nb(orders, j, i64(CANCELLED), i64(R_SUPERSEDED), t)
            done = True
        elif o.status == NEW and (o.flags & F_TARGETS) and (
                o.ts < t if phase == 0 else (o.ts == t and (o.flags & F_AT_CLOSE) != 0)):
            newest[o.sym] = 1.0
    return done


@njit(cache=True)
def process_bar_nb(i, phase, mkt, ts, orders, fills, trades, open_tr, acct, cnt, cfg, symcfg,
                   snap):
    """Every working order against bar ``i`` (phase 0: open + intrabar path; phase 1: the
    close, for market orders sent on this bar with F_AT_CLOSE). Books fills, charges borrow
    fees at a new UTC day, records a state snapshot when anything changed. Returns the number
    of fills made. Capacity: the caller guarantees room for 2 fills / trades per working
    order and one snapshot."""
    return process_bar_into_nb(i, phase, mkt, ts, orders, fills, trades, open_tr, acct, cnt,
                               cfg, symcfg, snap, np.empty(mkt.shape[2]), np.empty(4),
                               np.empty((4, 0)), np.empty((2, 0, 0), np.int64))


@njit(cache=True, **NO_RC)
def process_bar_into_nb(i, phase, mkt, ts, orders, fills, trades, open_tr, acct, cnt, cfg,
                        symcfg, snap, used, p, fine, fine_at):
    """:func:`process_bar_nb` with its scratch arrays given (``used``: float64[n_sym], the
    volume taken per symbol on this bar; ``p``: float64[4], the bar's path; ``fine`` float64[4, m]
    / ``fine_at`` int64[2, n_sym, n_bars]: the run's finer bars, see :func:`_finer_first_nb`;
    shapes (4, 0) / (2, 0, 0) without), so that the
    compiled loops allocate them once instead of once per call."""
    t = ts[i]
    n_fill0 = cnt[C_FILLS]
    changed = False
    day = t // NS_DAY
    last = cnt[C_DAY]
    if phase == 0 and last >= 0 and day > last and cfg[K_BORROW] > 0.0:
        changed = accrue_borrow_nb(i, day - last, cfg[K_BORROW], mkt, open_tr, acct)
    cnt[C_DAY] = day  # (a short opened now is charged from the next day on)
    n = cnt[C_ORDERS]
    j0 = cnt[C_FIRST]
    while j0 < n and _terminal(orders[j0].status):
        j0 += 1
    cnt[C_FIRST] = j0
    if j0 == n:
        margin_check_nb(i, mkt, ts, orders, open_tr, acct, cnt, cfg, symcfg)
        if changed:
            snapshot_nb(i, open_tr, acct, cnt, snap)
        return 0
    if _supersede_nb(i, phase, ts, orders, j0, n, used):  # (used: its scratch, reset below)
        changed = True
    for k in range(used.shape[0]):
        used[k] = 0.0
    # the volume cap is per bar: the close phase counts what the open phase of this bar took
    k = cnt[C_FILLS] - 1
    while k >= 0 and fills[k].ts == t:
        used[fills[k].sym] += fills[k].size
        k -= 1
    skip_to = -1
    for j in range(j0, 2 * n - j0):  # pass 1 (j < n): target orders that trade against the
        sells_first = j < n           # position they resolve to; pass 2: every order in id order
        if not sells_first:
            j -= n - j0
        if j < skip_to:
            continue
        o = orders[j]
        st = o.status
        if _terminal(st) or st == PENDING:
            continue
        s = o.sym
        if phase == 1:
            if not ((o.flags & F_AT_CLOSE) and o.type == MARKET and o.ts == t and st == NEW):
                continue
        elif o.ts >= t:
            continue
        op = mkt[M_OPEN, i, s]
        if not (op == op):
            continue
        if sells_first and (o.flags & F_LIQUIDATION) == 0:  # (liquidations go first too)
            if (o.flags & F_TARGETS) == 0 or o.type != MARKET:
                continue
            pos = open_tr[s].side * open_tr[s].size
            ref = op if phase == 0 else mkt[M_CLOSE, i, s]
            tgt = target_units_nb(orders, j, ref, i, phase, mkt, open_tr, acct, cfg, symcfg,
                                  np.bool_(False))
            if not ((tgt - pos) * pos < 0.0):
                continue
        if st == NEW:
            if cnt[C_BLOWN] > 0 and (o.flags & F_LIQUIDATION) == 0:
                _finish_nb(orders, j, i64(REJECTED), i64(R_ACCOUNT_BLOWN), t)
                changed = True
                _children_nb(orders, j, t, n)
                continue
            if not _activate_nb(orders, j, i, ts, symcfg):
                changed = True
                _children_nb(orders, j, t, n)
                continue
        if o.expire_ts > 0 and t > o.expire_ts:
            _finish_nb(orders, j, i64(EXPIRED), i64(0), t)
            _children_nb(orders, j, t, n)
            changed = True
            continue
        if phase == 1:
            k, px, maker = 3, mkt[M_CLOSE, i, s], False
            p[3] = px
        else:
            path_nb(op, mkt[M_HIGH, i, s], mkt[M_LOW, i, s], mkt[M_CLOSE, i, s], p)
            if o.oco_id >= 0 and o.parent_id >= 0:
                _oco_pair_nb(j, i, phase, p, i64(0), op, mkt, ts, orders, fills, trades, open_tr,
                             acct, cnt, cfg, symcfg, used, fine, fine_at)
                changed = True
                skip_to = max(j, o.oco_id) + 1
                continue
            k, px, maker = evaluate_nb(orders, j, p, i64(0), op)
        if k < 0:
            if o.tif == IOC:
                _finish_nb(orders, j, i64(CANCELLED), i64(R_IOC_UNFILLED), t)
            elif o.tif == FOK:
                _finish_nb(orders, j, i64(CANCELLED), i64(R_FOK_UNFILLED), t)
            changed = True
            continue
        q = execute_nb(j, i, phase, px, maker, mkt, ts, orders, fills, trades, open_tr, acct,
                       cnt, cfg, symcfg, used)
        changed = True
        if _terminal(orders[j].status) and j + 1 < n and orders[j + 1].parent_id == o.order_id:
            if _children_nb(orders, j, t, n) > 0 and q > 0.0 and phase == 0:
                # the first child that is working now (a child cancelled before the parent
                # filled stays cancelled; its sibling then works alone, oco_id -1)
                c = j + 1
                if orders[c].status != WORKING:
                    c = j + 2
                if orders[c].oco_id >= 0:
                    _oco_pair_nb(c, i, phase, p, k, px, mkt, ts, orders, fills, trades,
                                 open_tr, acct, cnt, cfg, symcfg, used, fine, fine_at)
                else:
                    k2, px2, m2 = evaluate_nb(orders, c, p, k, px)
                    if k2 >= 0:
                        execute_nb(c, i, phase, px2, m2, mkt, ts, orders, fills, trades,
                                   open_tr, acct, cnt, cfg, symcfg, used)
                # skip the children only (an order after a one-child bracket is not one)
                skip_to = j + 2
                if j + 2 < n and orders[j + 2].parent_id == o.order_id:
                    skip_to = j + 3
    margin_check_nb(i, mkt, ts, orders, open_tr, acct, cnt, cfg, symcfg)
    n = cnt[C_ORDERS]
    while j0 < n and _terminal(orders[j0].status):
        j0 += 1
    cnt[C_FIRST] = j0
    if changed or cnt[C_FILLS] > n_fill0:
        snapshot_nb(i, open_tr, acct, cnt, snap)
    return cnt[C_FILLS] - n_fill0


@njit(cache=True, **NO_RC)
def run_targets_nb(i0, e0, mkt, ts, ev_i, ev_s, ev_v, mode, orders, fills, trades, open_tr,
                   acct, cnt, cfg, symcfg, snap, last, work, fine, fine_at):
    """The compiled path for vectorised targets, from bar ``i0`` (and target event ``e0``).

    Every bar: the working orders (the same kernel and the same calling condition as the
    Python loop), then a target order for each target event of the bar (``ev_i`` bar, ``ev_s``
    symbol, ``ev_v`` value; sorted by bar then symbol) whose value differs from the last one
    sent for that symbol (``mode``: F_TARGET / F_TARGET_VALUE / F_TARGET_PCT). Returns DONE,
    or the bar to resume at after the caller grew the arrays. ``last``: float64[n_sym], the
    last target sent per symbol (kept across resumes); ``work``: float64[n_sym + 4] scratch
    (the caller allocates both: this kernel allocates nothing, see NO_RC); ``fine`` /
    ``fine_at``: the finer bars (:func:`process_bar_into_nb`)."""
    n_bars = ts.shape[0]
    n_sym = mkt.shape[2]
    n_ev = ev_i.shape[0]
    repeat = (mode & REPEAT) != 0
    flags = mode & ~REPEAT
    borrow = cfg[K_BORROW] > 0.0
    if cfg[K_AT_CLOSE] != 0.0:
        flags |= F_AT_CLOSE
    e = e0
    used = work[:n_sym]
    p = work[n_sym:n_sym + 4]
    i = i0
    ahead = -1  # the target event whose bars were prefetched (engine/hints_nb.py)
    while i < n_bars:
        room = 2 * (cnt[C_ORDERS] - cnt[C_FIRST]) + 2 * n_sym + 4
        if (cnt[C_ORDERS] + 3 * n_sym >= orders.shape[0] or cnt[C_FILLS] + room >= fills.shape[0]
                or cnt[C_TRADES] + room >= trades.shape[0] or cnt[C_SNAPS] + 2 >= snap.shape[0]):
            return i
        # the same condition as the Python loop (engine/loop.py), so C_DAY evolves alike
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
        sent = False
        while e < n_ev and ev_i[e] == i:
            s = ev_s[e]
            x = ev_v[e]
            e += 1
            if repeat or x != last[s]:
                last[s] = x
                side = 1 if x >= 0 else -1
                submit_nb(orders, cnt, ts[i], s, side, i64(MARKET), i64(0), flags, abs(x), np.nan,
                          np.nan, np.nan, i64(0), i64(-1), i64(-1), i64(0), mkt[M_CLOSE, i, s])
                sent = True
        if sent and cfg[K_AT_CLOSE] != 0.0:
            process_bar_into_nb(i, i64(1), mkt, ts, orders, fills, trades, open_tr, acct, cnt,
                                cfg, symcfg, snap, used, p, fine, fine_at)
        if e < n_ev and e != ahead:  # the next event's bar and the bar its order meets
            ahead = e
            b = ev_i[e]
            s = ev_s[e]
            prefetch_nb(ts, (b,))
            prefetch_nb(mkt, (i64(M_CLOSE), b, s))
            if b + 1 < n_bars:
                prefetch_nb(ts, (b + 1,))
                for k in range(mkt.shape[0]):
                    prefetch_nb(mkt, (k, b + 1, s))
        i += 1
        # bars where nothing can happen are skipped: no live order, no target event, no
        # margin check due (cnt[C_WATCH]) and no borrow charge (a day change with a short)
        if not borrow and cnt[C_FIRST] == cnt[C_ORDERS]:
            nxt = cnt[C_WATCH]
            if e < n_ev and ev_i[e] < nxt:
                nxt = ev_i[e]
            if nxt > i:
                i = min(nxt, n_bars)
    return DONE
