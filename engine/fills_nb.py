"""Bar fill model kernels: the intrabar price path, order triggering, slippage and commission.

The documented path (docs/fills.md): a bar is walked open -> nearer extreme -> other extreme
-> close, straight lines between the four points. "Nearer" compares ``high - open`` with
``open - low``; on a tie the bar goes to the high first when it closes below its open, else to
the low first. An order is checked from a starting point on that path (the open for orders
that were working before the bar; the parent's fill point for bracket children); the first
point where its condition holds gives the fill:

* limit buy at L: the start if it is already <= L (a gap: filled at that better price), else L
  where the path first reaches it; sells mirror;
* stop buy at S: the start if it is >= S (gapped through: filled at the open), else S;
* stop-limit: the stop's trigger point, then the limit from there on;
* trailing stop: its trigger follows the best price along the path; filled at the trigger
  when the path falls back to it (at the open when the bar gaps through it).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.layout import (
    K_FIXED,
    K_FRAC,
    K_FRAC_MAKER,
    K_IMPACT,
    K_MIN,
    K_PER_SHARE,
    K_SLIP_BPS,
    K_SPREAD,
)
from engine.types import F_TRAIL_PERCENT, LIMIT, MARKET, STOP, STOP_LIMIT, TRAILING_STOP


def _no_refcount() -> dict:
    """numba options for per-order kernels that allocate nothing (nor do their callees): no
    reference counting of the arrays they are given (numba otherwise counts each array
    argument in and out of every call, atomically: ~1/5 of the broker's work per order).
    ``_nrt`` is numba's own option (its unicode kernels use it); without it: no options."""
    try:
        from numba.core.options import DefaultOptions
    except ImportError:  # pragma: no cover
        return {}
    return {"_nrt": False} if hasattr(DefaultOptions, "_nrt") else {}


NO_RC = _no_refcount()


@njit(cache=True, **NO_RC)
def path_nb(o, h, lo, c, p):
    """Fill ``p`` (float64[4]) with the bar's documented path."""
    p[0] = o
    p[3] = c
    up = h - o
    dn = o - lo
    if up < dn or (up == dn and c < o):
        p[1] = h
        p[2] = lo
    else:
        p[1] = lo
        p[2] = h


@njit(cache=True, **NO_RC)
def touch_nb(p, k0, x0, level, up):
    """First point on the path from (segment k0, price x0) where price >= level (``up``) or
    <= level. Returns (segment, price) or (-1, nan). Segment k runs from p[k-1] to p[k]; k0 = 0
    is the open itself."""
    if (up and x0 >= level) or ((not up) and x0 <= level):
        return k0, x0
    for k in range(max(k0, 1), 4):
        b = p[k]
        if (up and b >= level) or ((not up) and b <= level):
            return k, level
    return -1, np.nan


@njit(cache=True)
def trail_level_nb(price, trail, pct, side):
    """Trigger of a trailing stop whose best price so far is ``price`` (side: order side)."""
    if pct:
        return price * (1.0 - trail) if side < 0 else price * (1.0 + trail)
    return price - trail if side < 0 else price + trail


@njit(cache=True, **NO_RC)
def trail_walk_nb(p, k0, x0, stop, trail, pct, side):
    """Walk a trailing stop along the path. Returns (segment, fill price, new stop)."""
    if (side < 0 and x0 <= stop) or (side > 0 and x0 >= stop):
        return k0, x0, stop
    a = x0
    for k in range(max(k0, 1), 4):
        b = p[k]
        if side < 0:
            if b > a:
                stop = max(stop, trail_level_nb(b, trail, pct, side))
            elif b <= stop:
                return k, stop, stop
        else:
            if b < a:
                stop = min(stop, trail_level_nb(b, trail, pct, side))
            elif b >= stop:
                return k, stop, stop
        a = b
    return -1, np.nan, stop


@njit(cache=True, **NO_RC)
def evaluate_nb(orders, j, p, k0, x0):
    """Where order row ``j`` fills on the path from (k0, x0).

    Returns (segment, reference price, maker). Updates a trailing stop's trigger and marks a
    stop-limit as triggered in the record (the caller decides what the fill does)."""
    otype = orders[j].type
    side = np.int64(orders[j].side)
    if otype == MARKET:
        return k0, x0, False
    if otype == LIMIT:
        k, px = touch_nb(p, k0, x0, orders[j].limit_price, side < 0)
        return k, px, True
    if otype == STOP:
        k, px = touch_nb(p, k0, x0, orders[j].stop_price, side > 0)
        return k, px, False
    if otype == STOP_LIMIT:
        kt, xt = k0, x0
        if (orders[j].flags & 512) == 0:  # F_TRIGGERED
            kt, xt = touch_nb(p, k0, x0, orders[j].stop_price, side > 0)
            if kt < 0:
                return -1, np.nan, True
            orders[j].flags |= 512
        k, px = touch_nb(p, kt, xt, orders[j].limit_price, side < 0)
        return k, px, True
    if otype == TRAILING_STOP:
        pct = (orders[j].flags & F_TRAIL_PERCENT) != 0
        k, px, stop = trail_walk_nb(p, k0, x0, orders[j].stop_price, orders[j].trail, pct, side)
        orders[j].stop_price = stop
        return k, px, False
    return -1, np.nan, False


@njit(cache=True, **NO_RC)
def slip_frac_nb(cfg, size, volume):
    """Adverse price move of a taker fill as a fraction of the reference price."""
    f = cfg[K_SLIP_BPS] * 1e-4 + 0.5 * cfg[K_SPREAD]
    if cfg[K_IMPACT] > 0.0 and volume > 0.0:
        f += cfg[K_IMPACT] * math.sqrt(size / volume)
    return f


@njit(cache=True, inline="always")
def fee_nb(cfg, size, price, maker):
    """Commission of one fill: max(rate * notional + per_unit * size, minimum) + fixed."""
    rate = cfg[K_FRAC_MAKER] if maker else cfg[K_FRAC]
    fee = size * price * rate + cfg[K_PER_SHARE] * size
    if cfg[K_MIN] > 0.0 and fee < cfg[K_MIN]:
        fee = cfg[K_MIN]
    return fee + cfg[K_FIXED]


@njit(cache=True, inline="always")
def affordable_nb(cfg, budget, price, lot, maker):
    """Most units (whole lots; fractional when lot == 0) whose cost plus commission fits in
    ``budget`` (>= 0)."""
    rate = cfg[K_FRAC_MAKER] if maker else cfg[K_FRAC]
    avail = budget - cfg[K_FIXED]
    if avail <= 0.0 or price <= 0.0:
        return 0.0
    q = avail * (1.0 - 2.0**-52) / (price * (1.0 + rate) + cfg[K_PER_SHARE])
    if cfg[K_MIN] > 0.0 and q * price * rate + cfg[K_PER_SHARE] * q < cfg[K_MIN]:
        q = max(0.0, (avail - cfg[K_MIN]) * (1.0 - 2.0**-52) / price)
    return round_lot_nb(q, lot)


@njit(cache=True, inline="always")
def round_lot_nb(q, lot):
    """Round a non-negative quantity down to whole lots (no rounding when lot == 0)."""
    if lot > 0.0:
        n = math.floor(q / lot + 1e-9)
        if n * lot > q:
            n -= 1
        return n * lot
    return q
