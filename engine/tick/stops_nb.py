"""Stop orders and GTD expiry at the exchange (tick simulator; docs/tick_fills.md "Orders").

A stop or stop-limit order reaches the exchange after its entry latency like any order and is
*armed* there (``OI_ARMED``; status WORKING, not in the book). It triggers on the first market
event after its arrival that reaches its stop price: a trade at or through it
(``STOP_BY_TRADE``, the default), or the best price it would trade at (``STOP_BY_BOOK``: best
ask >= stop for a buy, best bid <= stop for a sell; checked on arrival too). A triggered stop
becomes an order arriving at the trigger time, after the market rows of that timestamp: a
market order (STOP) or a limit order (STOP_LIMIT, ``F_TRIGGERED`` set). A GTD order expires
after ``expire_ts`` (exchange time): it can fill on market rows at ``expire_ts`` and is gone
for later ones.
"""

from __future__ import annotations

from numba import njit

from engine.book.codes import NO_TICK
from engine.tick.layout import NEVER, OI_ARMED, OI_ARRIVE, OI_STOP, S_NLIVE
from engine.tick.orders_nb import refresh_nb, set_status_nb
from engine.types import EXPIRED, F_TRIGGERED, GTD, NEW, PARTIAL, WORKING


@njit(cache=True)
def trigger_stops_nb(sv, orders, oi, live, t, buy_px, sell_px):
    """Armed stop orders whose trigger is reached at exchange time ``t``: buy stops with stop
    tick <= ``buy_px``, sell stops with stop tick >= ``sell_px``. Each becomes an order
    arriving at ``t`` (after the market rows of ``t``), a market order (STOP) or a limit order
    (STOP_LIMIT). Returns how many triggered."""
    n = 0
    for j in range(sv[S_NLIVE]):
        i = live[j]
        if oi[i, OI_ARMED] != 1:
            continue
        o = orders[i]
        if (o.side > 0 and buy_px >= oi[i, OI_STOP]) or (o.side < 0 and sell_px <= oi[i, OI_STOP]):
            oi[i, OI_ARMED] = 0
            o.flags |= F_TRIGGERED
            o.status = NEW
            o.update_ts = t
            oi[i, OI_ARRIVE] = t
            n += 1
    if n > 0:
        refresh_nb(sv, oi, live, orders)
    return n


@njit(cache=True)
def book_stops_nb(sv, orders, oi, live, t, bb, ba):
    """STOP_BY_BOOK: trigger the armed stops the best bid / ask ticks ``bb`` / ``ba`` reach
    (``NO_TICK``: that side is empty and reaches none)."""
    return trigger_stops_nb(sv, orders, oi, live, t, -NEVER if ba == NO_TICK else ba,
                            NEVER if bb == NO_TICK else bb)


@njit(cache=True)
def expire_nb(sv, cf, orders, oi, notes, i, t):
    """True when GTD order ``i`` is past its expiry at ``t`` (then it is EXPIRED)."""
    o = orders[i]
    if o.tif != GTD or o.expire_ts > t or o.status == NEW:
        return False
    if o.status == WORKING or o.status == PARTIAL:
        oi[i, OI_ARMED] = 0
        set_status_nb(sv, cf, orders, oi, notes, i, t, EXPIRED, 0)
        return True
    return False
