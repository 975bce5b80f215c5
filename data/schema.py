"""Canonical in-memory market data: one numpy structured dtype per kind.

Every reader in ``data/`` returns arrays of these dtypes (or polars frames with exactly these
columns, which convert with :func:`to_array`). The engine never sees any other shape.

Conventions (DESIGN.md contracts 1 and 2):

* ``ts`` is int64 nanoseconds since the Unix epoch, UTC. For BAR it is the bar's **close** time:
  a bar becomes visible to a strategy at ``ts`` and never earlier.
* ``ts_recv`` (tick kinds only) is the local receive time of the event, int64 ns UTC. Readers
  whose source has a single clock set ``ts_recv == ts``. Feed-latency models use the difference.
* Prices are float64 in quote currency at the edges; order books convert them to integer ticks
  (``round(price / tick_size)``) with the instrument's tick size.
* Sizes are float64 (crypto trades fractional units); books convert to integer lots where the
  instrument has a lot size.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

NS_PER_SECOND = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_SECOND

# --- sides -------------------------------------------------------------------------------
BUY = 1  # bid side / buyer-initiated (aggressor) trade
SELL = -1  # ask side / seller-initiated trade
UNKNOWN_SIDE = 0

# --- DEPTH flags (bit field) ----------------------------------------------------------------
DEPTH_SNAPSHOT = 1  # the row is part of a snapshot (a full image of the side(s))
DEPTH_CLEAR = 2  # clear the row's side (side 0: both sides) before applying this row
DEPTH_LAST = 4  # last row of an atomic batch (book is consistent after applying it)

# --- MBO / L3 event types (1-7 follow LOBSTER's numbering) ---------------------------------
MBO_ADD = 1  # new limit order
MBO_CANCEL = 2  # partial cancellation (size = size removed)
MBO_DELETE = 3  # total deletion of the order
MBO_EXECUTE = 4  # execution of a visible order (size = size executed)
MBO_EXECUTE_HIDDEN = 5  # execution of a hidden order (no effect on the visible book)
MBO_CROSS = 6  # cross / auction trade (no effect on the visible book)
MBO_HALT = 7  # trading halt indicator (see LOBSTER docs: price -1 halt, 0 quote, 1 resume)
MBO_MODIFY = 8  # order replaced in place: new price and/or size (feeds that have it)
MBO_CLEAR = 9  # clear the whole book (session start, resync)
# Window corrections (10, 11): book changes the data states without a message. A LOBSTER feed
# (engine.tick.feed.lobster_feed) inserts them after a message, at its time stamp, from the
# orderbook file (the window rule of engine.book.lobster / docs/order_book.md). They are not
# market events: nothing trades, and the simulator's own orders are never touched by them.
#: set the anonymous quantity of level (side, price) to ``size`` exactly: size resting there
#: whose orders the data never showed, ahead of every known order of the level (known orders
#: untouched; order_id unused). 0 when a level leaves the top L, the orderbook file's size when
#: a level enters the top L from beyond it.
MBO_ANON_LEVEL = 10
#: forget known order ``order_id`` (its level left the top L): removed like MBO_DELETE
MBO_FORGET = 11
MBO_CORRECTIONS = (MBO_ANON_LEVEL, MBO_FORGET)

BAR = np.dtype(
    [
        ("ts", "<i8"),
        ("open", "<f8"),
        ("high", "<f8"),
        ("low", "<f8"),
        ("close", "<f8"),
        ("volume", "<f8"),
    ]
)

TRADE = np.dtype(
    [
        ("ts", "<i8"),
        ("ts_recv", "<i8"),
        ("price", "<f8"),
        ("size", "<f8"),
        ("side", "i1"),  # aggressor: BUY, SELL or UNKNOWN_SIDE
    ]
)

QUOTE = np.dtype(
    [
        ("ts", "<i8"),
        ("ts_recv", "<i8"),
        ("bid", "<f8"),
        ("ask", "<f8"),
        ("bid_size", "<f8"),
        ("ask_size", "<f8"),
    ]
)

DEPTH = np.dtype(
    [
        ("ts", "<i8"),
        ("ts_recv", "<i8"),
        ("side", "i1"),  # BUY (bid) or SELL (ask); 0 only with DEPTH_CLEAR (both sides)
        ("price", "<f8"),
        ("size", "<f8"),  # new total size at the level; 0 deletes the level
        ("flags", "u1"),
    ]
)

MBO = np.dtype(
    [
        ("ts", "<i8"),
        ("ts_recv", "<i8"),
        ("event", "i1"),  # MBO_* code
        ("order_id", "<i8"),
        ("side", "i1"),  # BUY or SELL
        ("price", "<f8"),
        ("size", "<f8"),
    ]
)

KINDS: dict[str, np.dtype] = {
    "bar": BAR,
    "trade": TRADE,
    "quote": QUOTE,
    "depth": DEPTH,
    "mbo": MBO,
}

Kind = Literal["bar", "trade", "quote", "depth", "mbo"]


def dtype_for(kind: str) -> np.dtype:
    """Return the canonical dtype of ``kind`` (one of :data:`KINDS`)."""
    try:
        return KINDS[kind]
    except KeyError:
        from data.errors import DataError

        raise DataError(
            f"unknown data kind {kind!r}",
            value=kind,
            fix=f"use one of {', '.join(sorted(KINDS))}",
        ) from None


def empty(kind: str, n: int = 0) -> np.ndarray:
    """A zero-filled array of ``n`` events of ``kind``."""
    return np.zeros(n, dtype=dtype_for(kind))


def to_array(frame, kind: str) -> np.ndarray:
    """Convert a polars or pandas frame with the canonical columns of ``kind`` to its dtype.

    Columns are taken by name, in the dtype's order; extra columns are ignored.
    """
    dt = dtype_for(kind)
    out = np.empty(len(frame), dtype=dt)
    for name in dt.names:
        col = frame[name]
        out[name] = col.to_numpy() if hasattr(col, "to_numpy") else np.asarray(col)
    return out


def to_polars(arr: np.ndarray):
    """A polars DataFrame view of a canonical array (one column per field)."""
    import polars as pl

    return pl.DataFrame({name: arr[name] for name in arr.dtype.names})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Instrument:
    """Static description of a tradable instrument.

    ``calendar`` is ``"24/7"`` for markets that trade every day (crypto: metrics then annualise
    with 365 periods) or ``"session"`` for exchange sessions (equities, futures: 252).
    ``lot_size`` 0 means fractional quantities are allowed; otherwise quantities are whole
    multiples of it. ``multiplier`` converts price x quantity into notional (futures).
    """

    symbol: str
    tick_size: float = 0.01
    lot_size: float = 1.0
    currency: str = "USD"
    calendar: Literal["24/7", "session"] = "session"
    timezone: str = "UTC"
    multiplier: float = 1.0
    shortable: bool = True

    def __post_init__(self) -> None:
        from data.errors import DataError

        if not self.symbol:
            raise DataError("instrument symbol is empty", column="symbol", fix="give a symbol")
        if not (self.tick_size > 0):
            raise DataError(
                f"tick_size must be > 0 for {self.symbol}",
                column="tick_size",
                value=self.tick_size,
                fix="pass the exchange's minimum price increment, e.g. 0.01",
            )
        if self.lot_size < 0:
            raise DataError(
                f"lot_size must be >= 0 for {self.symbol}",
                column="lot_size",
                value=self.lot_size,
                fix="use 0 for fractional quantities or the minimum tradable quantity",
            )
        if self.calendar not in ("24/7", "session"):
            raise DataError(
                f"calendar must be '24/7' or 'session' for {self.symbol}",
                column="calendar",
                value=self.calendar,
                fix="use '24/7' for crypto and 'session' for exchange-traded instruments",
            )

    @property
    def periods_per_year(self) -> int:
        """Daily periods per year implied by the calendar (365 for 24/7, else 252)."""
        return 365 if self.calendar == "24/7" else 252
