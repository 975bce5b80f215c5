"""Order, fill and record dtypes and their integer codes (DESIGN.md contract 2).

Declared once here and shared by every fill model (bar path, tick simulator), the broker, the
portfolio accountant, the compiled path, the RL environments and the run-folder writers. Numba
kernels take and return arrays of these dtypes and the plain integer codes below; they never
raise, they set ``status`` / ``reject_reason`` instead.

Conventions:

* ``ts`` fields are int64 nanoseconds since the Unix epoch, UTC.
* ``sym`` is the index of the instrument in the run's symbol list (0..n_symbols-1).
* ``side`` is :data:`BUY` (+1) or :data:`SELL` (-1) (same constants as ``data.schema``).
* Sizes are positive float64 quantities; the side carries the sign.
* Prices not set are ``nan``.
"""

from __future__ import annotations

import numpy as np

from data.schema import BUY, SELL  # noqa: F401  (re-exported: one definition of the sides)

# --- order types ---------------------------------------------------------------------------
MARKET = 0
LIMIT = 1
STOP = 2
STOP_LIMIT = 3
TRAILING_STOP = 4
ORDER_TYPE_NAMES = ("market", "limit", "stop", "stop_limit", "trailing_stop")

# --- time in force -------------------------------------------------------------------------
GTC = 0  # good till cancelled
DAY = 1  # expires at the end of the instrument's session day (UTC day for 24/7 markets)
IOC = 2  # immediate or cancel: what cannot fill on the first eligible market event is cancelled
FOK = 3  # fill or kill: fills completely on the first eligible market event or is cancelled
GTD = 4  # good till date: expires after ``expire_ts``
TIF_NAMES = ("GTC", "DAY", "IOC", "FOK", "GTD")

# --- order status (legal transitions: NEW -> WORKING -> PARTIAL -> FILLED, or a terminal
# CANCELLED / REJECTED / EXPIRED from any non-terminal state; PENDING waits for a parent) ----
NEW = 0  # created, not yet seen by the market (latency not elapsed / next bar not reached)
WORKING = 1  # accepted and resting / waiting to trigger
PARTIAL = 2  # partially filled, rest working
FILLED = 3
CANCELLED = 4
REJECTED = 5
EXPIRED = 6
PENDING = 7  # child of a bracket waiting for its parent's fill
STATUS_NAMES = ("new", "working", "partial", "filled", "cancelled", "rejected", "expired", "pending")
TERMINAL = (FILLED, CANCELLED, REJECTED, EXPIRED)


class OrderRecords(np.ndarray):
    """ORDER records as a numpy structured array that, like a list, is false when empty
    (``if not ctx.open_orders():``); numpy arrays refuse a truth value when empty or longer
    than one. Everything else is the ndarray's."""

    def __bool__(self) -> bool:
        return self.size > 0

# --- reject reasons (visible to the strategy through on_order / order records) --------------
R_NONE = 0
R_BUYING_POWER = 1  # not enough cash / buying power
R_MAX_POSITION = 2  # would exceed the instrument's max position
R_MAX_LEVERAGE = 3  # would exceed the account's max gross leverage
R_NOT_SHORTABLE = 4  # short sale of an instrument that cannot be shorted
R_INVALID_SIZE = 5  # size <= 0, nan, or not a multiple of the lot size
R_INVALID_PRICE = 6  # missing / non-positive limit or stop price
R_FOK_UNFILLED = 7  # FOK could not fill completely
R_POST_ONLY = 8  # post-only order would have crossed
R_REDUCE_ONLY = 9  # reduce-only order would increase the position
R_UNKNOWN_ORDER = 10  # cancel/replace of an order that does not exist or is terminal
R_NO_MARKET = 11  # no further market data to fill against (end of data)
R_IOC_UNFILLED = 12  # IOC remainder cancelled
R_OCO = 13  # cancelled because its OCO sibling filled
R_PARENT = 14  # cancelled because its bracket parent was cancelled / rejected
R_LIQUIDATION = 15  # a margin call: forced close (the order) or cancelled by it (docs/fills.md)
R_ACCOUNT_BLOWN = 16  # equity <= 0 at a close: trading stopped, later orders are rejected
R_SUPERSEDED = 17  # a target order replaced by a newer target order for the same symbol
REJECT_NAMES = (
    "",
    "buying_power",
    "max_position",
    "max_leverage",
    "not_shortable",
    "invalid_size",
    "invalid_price",
    "fok_unfilled",
    "post_only",
    "reduce_only",
    "unknown_order",
    "no_market",
    "ioc_unfilled",
    "oco",
    "parent",
    "liquidation",
    "account_blown",
    "superseded",
)

# --- order flags (bit field) ----------------------------------------------------------------
F_POST_ONLY = 1
F_REDUCE_ONLY = 2
F_STOP_LOSS = 4  # child stop-loss of a bracket
F_TAKE_PROFIT = 8  # child take-profit of a bracket
F_TRAIL_PERCENT = 16  # trailing amount is a fraction of price, not an absolute amount
F_AT_CLOSE = 32  # bar model: fill at the signal bar's close instead of the next open
# target orders (bar model): the order size is resolved at the fill from the target and the
# position then; side * size holds the target in units / value / fraction of equity
F_TARGET = 64
F_TARGET_VALUE = 128
F_TARGET_PCT = 256
F_TARGETS = F_TARGET | F_TARGET_VALUE | F_TARGET_PCT
F_TRIGGERED = 512  # a stop-limit whose stop has triggered (now a plain limit)
F_LIQUIDATION = 1024  # sent by the broker on a margin call (reduce-only market order)
F_WAS_TARGET = 2048  # a target order whose size was resolved at its first fill

# --- liquidity ------------------------------------------------------------------------------
MAKER = 1
TAKER = 2

ORDER = np.dtype(
    [
        ("order_id", "<i8"),
        ("ts", "<i8"),  # creation time (the strategy's "now")
        ("sym", "<i4"),
        ("side", "i1"),
        ("type", "i1"),
        ("tif", "i1"),
        ("status", "i1"),
        ("flags", "<i4"),
        ("size", "<f8"),
        ("limit_price", "<f8"),
        ("stop_price", "<f8"),  # trigger price; trailing stops keep their current trigger here
        ("trail", "<f8"),  # trailing amount (price units) or fraction (F_TRAIL_PERCENT)
        ("expire_ts", "<i8"),  # GTD expiry (0: none)
        ("filled_size", "<f8"),
        ("avg_fill_price", "<f8"),
        ("reject_reason", "<i2"),
        ("parent_id", "<i8"),  # bracket parent (-1: none)
        ("oco_id", "<i8"),  # one-cancels-other sibling (-1: none)
        ("tag", "<i8"),  # strategy-defined label
        ("update_ts", "<i8"),  # time of the last status change
    ]
)

FILL = np.dtype(
    [
        ("fill_id", "<i8"),
        ("order_id", "<i8"),
        ("ts", "<i8"),
        ("sym", "<i4"),
        ("side", "i1"),
        ("liquidity", "i1"),  # MAKER / TAKER
        ("size", "<f8"),
        ("price", "<f8"),  # executed price (slippage included)
        ("fee", "<f8"),
        ("slippage", "<f8"),  # price difference vs the reference price, in quote currency per unit
        ("queue_ahead", "<f8"),  # tick runs: size ahead in the queue when the order rested
        ("latency_ns", "<i8"),  # tick runs: order entry latency applied
    ]
)

# round-trip trades (status: 0 closed, 1 open and marked to the last price)
TRADE_REC = np.dtype(
    [
        ("trade_id", "<i8"),
        ("sym", "<i4"),
        ("side", "i1"),  # BUY long, SELL short
        ("status", "i1"),
        ("size", "<f8"),
        ("entry_ts", "<i8"),
        ("entry_price", "<f8"),
        ("exit_ts", "<i8"),
        ("exit_price", "<f8"),
        ("pnl", "<f8"),  # net of fees
        ("fees", "<f8"),
    ]
)
TRADE_CLOSED = 0
TRADE_OPEN = 1

# one row per recorded step
EQUITY_REC = np.dtype(
    [
        ("ts", "<i8"),
        ("equity", "<f8"),
        ("cash", "<f8"),
        ("positions_value", "<f8"),
        ("gross_exposure", "<f8"),  # sum |position value| / equity
        ("net_exposure", "<f8"),  # sum position value / equity
        ("fees", "<f8"),  # cumulative
    ]
)


_ROW: dict[np.dtype, np.ndarray | None] = {}  # default row per dtype (None: all zero bytes)


def empty(dtype: np.dtype, n: int = 0) -> np.ndarray:
    """A zero-filled record array with the unset prices as nan and ids as -1 where relevant."""
    try:
        row = _ROW[dtype]
    except KeyError:
        row = np.zeros(1, dtype=dtype)
        for name in ("limit_price", "stop_price", "trail", "avg_fill_price", "entry_price",
                     "exit_price"):
            if name in dtype.names:
                row[name] = np.nan
        for name in ("parent_id", "oco_id"):
            if name in dtype.names:
                row[name] = -1
        # the row's bytes (a record array's copy of it is a byte pattern per row)
        row = row.view(np.uint8) if row.view(np.uint8).any() else None
        _ROW[dtype] = row
    if row is None:  # all zeros: calloc'd pages, touched only when written
        return np.zeros(n, dtype=dtype)
    out = np.empty(n, dtype=dtype)
    # the default row's bytes broadcast over the rows as uint8 (a structured broadcast copy,
    # or zeros plus a pass per nan / -1 field, cost 5-10x more)
    out.view(np.uint8).reshape(n, dtype.itemsize)[...] = row
    return out
