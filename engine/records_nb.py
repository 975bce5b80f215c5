"""Writing order records: a new order row (``submit_nb``) and a terminal status (``finish_nb``).

Shared by the broker kernel (engine/step_nb.py), the margin check (engine/margin_nb.py), the
compiled loops and the Python order entry, so every order row is written the same way.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.fills_nb import NO_RC, trail_level_nb
from engine.layout import C_ORDERS
from engine.types import (
    CANCELLED,
    EXPIRED,
    F_TRAIL_PERCENT,
    FILLED,
    NEW,
    PENDING,
    REJECTED,
    TRAILING_STOP,
)


@njit(cache=True, **NO_RC)
def finish_nb(orders, j, status, reason, t):
    """Terminal status for order ``j``; a filled_size > 0 order that is stopped is CANCELLED."""
    o = orders[j]
    if status == REJECTED and o.filled_size > 0.0:
        status = CANCELLED
    o.status = status
    o.reject_reason = reason
    o.update_ts = t


@njit(cache=True)
def terminal_nb(st):
    return st == FILLED or st == CANCELLED or st == REJECTED or st == EXPIRED


@njit(cache=True, **NO_RC)
def submit_nb(orders, cnt, t, s, side, otype, tif, flags, size, limit, stop, trail, expire_ts,
              parent, oco, tag, ref_price):
    """Write one order row (status NEW, or PENDING for a bracket child). Trailing stops start
    their trigger from ``ref_price`` (the close the strategy saw). Returns the order id."""
    n = cnt[C_ORDERS]
    o = orders[n]
    o.order_id = n
    o.ts = t
    o.sym = s
    o.side = side
    o.type = otype
    o.tif = tif
    o.status = PENDING if parent >= 0 else NEW
    o.flags = flags
    o.size = size
    o.limit_price = limit
    o.stop_price = stop
    o.trail = trail
    if otype == TRAILING_STOP and not (stop == stop):
        o.stop_price = trail_level_nb(ref_price, trail, (flags & F_TRAIL_PERCENT) != 0, side)
    o.expire_ts = expire_ts
    o.filled_size = 0.0
    o.avg_fill_price = np.nan
    o.reject_reason = 0
    o.parent_id = parent
    o.oco_id = oco
    o.tag = tag
    o.update_ts = t
    cnt[C_ORDERS] = n + 1
    return n
