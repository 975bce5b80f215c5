"""Python layer of the order books: :class:`L2Book` and :class:`L3Book`.

Both keep their state in a few numpy arrays driven by the numba kernels of ``l2_nb`` /
``l3_nb``; the same arrays can be handed to a compiled replay loop (``book.state``). Prices
are converted to integer ticks once, here (``round(price / tick_size)``; prices off the tick
grid are a :class:`~data.errors.DataError`), and back to floats in the view methods.

The view (:class:`BookView`, shared by both books) is what a strategy reads: ``best()``,
``levels()``, ``spread()``, ``mid()``, ``microprice()``, ``imbalance(k)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import ConfigError, DataError
from data.schema import (
    BUY,
    DEPTH,
    DEPTH_CLEAR,
    MBO,
    MBO_ADD,
    MBO_ANON_LEVEL,
    MBO_CANCEL,
    MBO_DELETE,
    MBO_EXECUTE,
    MBO_FORGET,
    MBO_MODIFY,
    SELL,
)
from engine.book import codes as C
from engine.book import l2_nb, l3_nb, l3_query_nb

_OFF_GRID_TOL = 1e-6  # in ticks


def _side_index(side) -> int:
    """'bid'/'buy'/BUY -> kernel index BID; 'ask'/'sell'/SELL -> ASK."""
    key = side.lower() if isinstance(side, str) else side
    if key in ("bid", "buy", "b") or (not isinstance(key, str) and key == BUY):
        return C.BID
    if key in ("ask", "sell", "a", "s") or (not isinstance(key, str) and key == SELL):
        return C.ASK
    raise ConfigError("side must be 'bid'/'ask' or BUY/SELL", argument="side", value=side,
                      fix="pass 'bid' or 'ask' (or data.schema.BUY / SELL)")


MAX_TICKS = 2**60  # |price / tick| beyond this would overflow the kernels' int64 arithmetic


def to_ticks(prices, tick_size: float, *, what: str = "price", check=None) -> np.ndarray:
    """``round(price / tick_size)`` as int64. Rows selected by ``check`` (default: all rows)
    must be finite, on the grid and within +-2**60 ticks, else a DataError names the first
    offending row; other rows that are not finite become 0."""
    prices = np.asarray(prices, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        t = prices / tick_size
        r = np.rint(t)
    mask = np.ones(len(prices), bool) if check is None else np.asarray(check, bool)
    finite = np.isfinite(r) & (np.abs(r) <= MAX_TICKS)
    bad = np.flatnonzero(mask & ~finite)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{what} is NaN, infinite or too large for the tick size {tick_size}",
            row=i, column=what, value=float(prices[i]),
            fix="drop the row or fix the value (and pass the instrument's real tick size)",
        )
    bad = np.flatnonzero(mask & (np.abs(t - r) > _OFF_GRID_TOL))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{what} is not a multiple of the tick size {tick_size}",
            row=i, column=what, value=float(prices[i]),
            fix="pass the instrument's real tick size (or a finer one)",
        )
    out = np.zeros(len(prices), dtype=np.int64)
    out[finite] = r[finite].astype(np.int64)
    return out


def _grow2(a: np.ndarray, axis: int, new: int) -> np.ndarray:
    shape = list(a.shape)
    shape[axis] = new
    out = np.zeros(shape, dtype=a.dtype)
    sl = [slice(None)] * a.ndim
    sl[axis] = slice(0, a.shape[axis])
    out[tuple(sl)] = a
    return out


def _check_depth(depth: np.ndarray) -> None:
    """DEPTH rows the kernel would have to ignore are refused here, naming the row: a side
    other than BUY/SELL (0 only on clear rows), unknown flag bits, a NaN or infinite size."""
    from data.validate import require_rows

    side, flags, size = depth["side"], depth["flags"], depth["size"]
    clear = (flags & DEPTH_CLEAR) != 0
    require_rows(~np.isin(side, (BUY, SELL)) & ~(clear & (side == 0)), column="side",
                 values=side, message="depth side must be BUY (1) or SELL (-1)",
                 fix="map the side column; side 0 only on DEPTH_CLEAR rows")  # fmt: skip
    require_rows(flags > 7, column="flags", values=flags, message="unknown flag bits",
                 fix="use data.schema DEPTH_SNAPSHOT | DEPTH_CLEAR | DEPTH_LAST")  # fmt: skip
    require_rows(~np.isfinite(size), column="size", values=size,
                 message="size is NaN or infinite", fix="drop or fix the row (0 deletes a level)")


def _check_mbo(mbo: np.ndarray, book_ev: np.ndarray) -> None:
    """MBO events that would corrupt or be ignored by the kernel are refused here, naming the
    row: unknown event codes, sides other than BUY/SELL on book events, NaN / infinite /
    negative sizes, negative order ids."""
    from data.validate import require_rows

    ev, side, size, oid = mbo["event"], mbo["side"], mbo["size"], mbo["order_id"]
    require_rows((ev < 1) | (ev > 11), column="event", values=ev,
                 message="unknown MBO event code", fix="use data.schema MBO_* codes 1-11")
    require_rows(book_ev & ~np.isin(side, (BUY, SELL)), column="side", values=side,
                 message="order side must be BUY (1) or SELL (-1)", fix="map the side column")
    require_rows(book_ev & ~(np.isfinite(size) & (size >= 0)), column="size", values=size,
                 message="size is negative, NaN or infinite",
                 fix="sizes are unsigned; drop or fix the row")  # fmt: skip
    require_rows(book_ev & (oid < 0), column="order_id", values=oid,
                 message="order id is negative", fix="order ids are non-negative integers")


def ticks_per_unit(tick_size: float) -> float:
    """``1 / tick_size`` when it is an integer (a decimal tick such as 0.01), else 0.0."""
    inv = 1.0 / tick_size
    return float(round(inv)) if abs(inv - round(inv)) < 1e-9 * inv else 0.0


def ticks_to_price(ticks, tick_size: float):
    """Ticks -> prices. With a decimal tick (1/tick an integer) this divides, so 9999 ticks of
    0.01 give exactly the float 99.99 (a product would give 99.99000000000001); the compiled
    twin is ``engine.tick.orders_nb.price_nb``."""
    inv = ticks_per_unit(tick_size)
    if inv > 0.0:
        return np.asarray(ticks) / inv
    return np.asarray(ticks) * tick_size


class BookView:
    """Read-only queries shared by the L2 and L3 books (prices as floats, best first)."""

    tick_size: float

    def price_of(self, ticks):
        """Ticks -> prices (:func:`ticks_to_price`)."""
        return ticks_to_price(ticks, self.tick_size)

    meta: np.ndarray  # scalar state of the book (layout in engine.book.codes)

    def _top(self, s: int, k: int) -> tuple[np.ndarray, np.ndarray]:  # ticks, sizes
        raise NotImplementedError

    def n_levels(self, side) -> int:
        return int(self.meta[_side_index(side)])

    def counters(self) -> dict[str, int]:
        """Non-fatal notes counted so far, by name (unknown order ids, missing levels...)."""
        return {C.NAMES[c]: int(self.meta[C.M_COUNT0 + c]) for c in range(1, C.N_CODES)
                if self.meta[C.M_COUNT0 + c]}

    def levels(self, side, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Prices and sizes of the ``k`` best levels of ``side`` ('bid'/'ask'), best first."""
        ticks, sizes = self._top(_side_index(side), k)
        return self.price_of(ticks), sizes.astype(np.float64)

    def best_bid(self) -> tuple[float, float]:
        """(price, size) of the best bid; (nan, 0.0) when the side is empty."""
        t, q = self._top(C.BID, 1)
        return (float(self.price_of(t[0])), float(q[0])) if len(t) else (np.nan, 0.0)

    def best_ask(self) -> tuple[float, float]:
        """(price, size) of the best ask; (nan, 0.0) when the side is empty."""
        t, q = self._top(C.ASK, 1)
        return (float(self.price_of(t[0])), float(q[0])) if len(t) else (np.nan, 0.0)

    def best(self) -> tuple[float, float, float, float]:
        """(bid, bid_size, ask, ask_size)."""
        return (*self.best_bid(), *self.best_ask())

    def spread(self) -> float:
        """Best ask - best bid (nan if a side is empty)."""
        return self.best_ask()[0] - self.best_bid()[0]

    def mid(self) -> float:
        return 0.5 * (self.best_ask()[0] + self.best_bid()[0])

    def microprice(self) -> float:
        """Size-weighted mid: (bid * ask_size + ask * bid_size) / (bid_size + ask_size)."""
        b, bq, a, aq = self.best()
        if not (bq + aq > 0):
            return np.nan
        return (b * aq + a * bq) / (bq + aq)

    def imbalance(self, k: int = 1) -> float:
        """(bid depth - ask depth) / (bid depth + ask depth) over the ``k`` best levels, in
        [-1, 1]; nan when both sides are empty."""
        bq = float(self._top(C.BID, k)[1].sum())
        aq = float(self._top(C.ASK, k)[1].sum())
        return (bq - aq) / (bq + aq) if bq + aq > 0 else np.nan

    def is_crossed(self) -> bool:
        b, a = self.best_bid()[0], self.best_ask()[0]
        return bool(b >= a)


class L2Book(BookView):
    """Price-level book on integer ticks (numba kernels in :mod:`engine.book.l2_nb`).

    ``window`` ticks per side are stored densely around the market (default 65,536: one
    store per update); levels outside it live in sorted overflow arrays that grow on demand.
    """

    def __init__(self, tick_size: float, *, window: int = l2_nb.DEFAULT_WINDOW,
                 overflow: int = 256) -> None:
        if not tick_size > 0:
            raise ConfigError("tick_size must be > 0", argument="tick_size", value=tick_size,
                              fix="pass the instrument's minimum price increment")
        if window < 4:
            raise ConfigError("window must be >= 4 ticks", argument="window", value=window,
                              fix="use the default (65536) or a power of two")
        self.tick_size = float(tick_size)
        self.dq, self.ok, self.oq, self.meta = l2_nb.l2_alloc(int(window), max(16, int(overflow)))

    @property
    def state(self):
        """``(dq, ok, oq, meta)`` for compiled loops calling the ``l2_nb`` kernels."""
        return self.dq, self.ok, self.oq, self.meta

    @property
    def valid(self) -> bool:
        return bool(self.meta[C.M_VALID])


    def _grow(self) -> None:
        cap = self.ok.shape[1] * 2
        self.ok = _grow2(self.ok, 1, cap)
        self.oq = _grow2(self.oq, 1, cap)

    def _top(self, s, k):
        m = min(int(k), int(self.meta[s]))
        t = np.empty(m, np.int64)
        q = np.empty(m, np.float64)
        m = l2_nb.l2_depth_nb(self.dq, self.ok, self.oq, self.meta, s, m, t, q)
        return t[:m], q[:m]

    def apply(self, depth: np.ndarray, *, record_top: bool = False):
        """Apply canonical ``DEPTH`` rows in order (growing the overflow when full).

        With ``record_top`` returns (ticks int64[n, 2], sizes float64[n, 2]): best bid / ask
        after each row (``codes.NO_TICK`` for an empty side).
        """
        if depth.dtype != DEPTH:
            raise DataError("expected a DEPTH array", argument="depth", value=str(depth.dtype),
                            fix="convert with data.schema.to_array(frame, 'depth')")
        _check_depth(depth)
        ticks = to_ticks(depth["price"], self.tick_size, check=depth["size"] > 0)
        return self.apply_arrays(depth["ts"], depth["side"], ticks, depth["size"],
                                 depth["flags"], record_top=record_top)

    def apply_arrays(self, ts, side, ticks, size, flags, *, record_top: bool = False):
        """Like :meth:`apply` on separate, already tick-converted columns."""
        n = len(ts)
        shape = (n, 2) if record_top else (0, 2)
        rec_t = np.empty(shape, dtype=np.int64)
        rec_q = np.empty(shape, dtype=np.float64)
        start = 0
        ts = np.ascontiguousarray(ts, dtype=np.int64)
        side = np.ascontiguousarray(side, dtype=np.int8)
        ticks = np.ascontiguousarray(ticks, dtype=np.int64)
        flags = np.ascontiguousarray(flags, dtype=np.uint8)
        size = np.ascontiguousarray(size, dtype=np.float64)
        while start < n:
            view_t = rec_t[start:] if record_top else rec_t
            view_q = rec_q[start:] if record_top else rec_q
            st, start = l2_nb.l2_replay_nb(self.dq, self.ok, self.oq, self.meta, ts, side, ticks,
                                           size, flags, start, n, view_t, view_q)
            if st == C.FULL_LEVELS:
                self._grow()
        return (rec_t, rec_q) if record_top else None

    def set_level(self, side, price: float, size: float) -> None:
        """Set one level (size 0 deletes it)."""
        s = _side_index(side)
        tick = int(to_ticks([price], self.tick_size)[0])
        if not np.isfinite(size):
            raise DataError("size is NaN or infinite", argument="size", value=size,
                            fix="pass a finite size (0 deletes the level)")
        while l2_nb.l2_set(self.dq, self.ok, self.oq, self.meta, s, tick,
                           float(size)) == C.FULL_LEVELS:
            self._grow()

    def size_at(self, side, price: float) -> float:
        s = _side_index(side)
        tick = int(to_ticks([price], self.tick_size)[0])
        return float(l2_nb.l2_qty_at_nb(self.dq, self.ok, self.oq, self.meta, s, tick))

    def clear(self) -> None:
        for s in (C.BID, C.ASK):
            l2_nb.l2_clear_side_nb(self.dq, self.ok, self.oq, self.meta, s)


@dataclasses.dataclass(frozen=True)
class QueuePosition:
    """FIFO position of a resting order: size and known orders ahead of it at its level."""

    order_id: int
    side: int  # BUY / SELL
    price: float
    size: float
    qty_ahead: float  # includes the level's anonymous (pre-existing) quantity
    orders_ahead: int  # known orders ahead (anonymous quantity not counted)


class L3Book(BookView):
    """Order-by-order book with FIFO queues (numba kernels in :mod:`engine.book.l3_nb`).

    Sizes are integer lots (``round(size / lot_size)``), so adds and executions never drift.
    """

    def __init__(self, tick_size: float, *, lot_size: float = 1.0, level_capacity: int = 1024,
                 order_capacity: int = 1 << 16) -> None:
        if not tick_size > 0 or not lot_size > 0:
            raise ConfigError("tick_size and lot_size must be > 0", argument="tick_size",
                              value=(tick_size, lot_size),
                              fix="pass the instrument's tick and lot sizes")
        self.tick_size = float(tick_size)
        self.lot_size = float(lot_size)
        self.lv, self.od, self.ht, self.meta = l3_nb.l3_alloc(max(16, int(level_capacity)),
                                                               max(16, int(order_capacity)))

    @property
    def state(self):
        """``(lv, od, ht, meta)`` for compiled loops calling the ``l3_nb`` kernels."""
        return self.lv, self.od, self.ht, self.meta

    @property
    def n_orders(self) -> int:
        return int(self.meta[C.M_NORD])


    def _top(self, s, k):
        n = int(self.meta[s])
        m = min(k, n)
        keys = self.lv[s, C.LV_KEY, n - m : n][::-1]
        sizes = self.lv[s, C.LV_QTY, n - m : n][::-1] * self.lot_size
        return (keys if s == C.BID else -keys), sizes

    # --- growth ------------------------------------------------------------------------------
    def _grow_levels(self) -> None:
        self.lv = _grow2(self.lv, 2, self.lv.shape[2] * 2)

    def _grow_orders(self) -> None:
        old = self.od.shape[0]
        new = old * 2
        od = _grow2(self.od, 0, new)
        od[old:, C.OD_NEXT] = np.arange(old + 1, new + 1)
        od[new - 1, C.OD_NEXT] = self.meta[C.M_FREE]
        self.meta[C.M_FREE] = old
        hcap = 1 << int(np.ceil(np.log2(2 * new)))
        ht = np.empty((hcap, 2), dtype=np.int64)
        ht[:, 0] = C.HASH_EMPTY
        ht[:, 1] = -1
        self.meta[C.M_HMASK] = hcap - 1
        l3_query_nb.l3_rehash_nb(od, ht, self.meta)
        self.od, self.ht = od, ht

    def _grow_for(self, st: int) -> None:
        if st == C.FULL_LEVELS:
            self._grow_levels()
        elif st == C.FULL_ORDERS:
            self._grow_orders()

    # --- applying events -----------------------------------------------------------------------
    def kernel_arrays(self, mbo: np.ndarray):
        """MBO array -> kernel columns (ts, event, order_id, side, tick, lots)."""
        if mbo.dtype != MBO:
            raise DataError("expected an MBO array", argument="mbo", value=str(mbo.dtype),
                            fix="convert with data.schema.to_array(frame, 'mbo')")
        ev = mbo["event"]
        book_ev = np.isin(ev, (MBO_ADD, MBO_CANCEL, MBO_DELETE, MBO_EXECUTE, MBO_MODIFY,
                               MBO_ANON_LEVEL, MBO_FORGET))
        _check_mbo(mbo, book_ev)
        ticks = to_ticks(np.where(book_ev, mbo["price"], 0.0), self.tick_size, check=book_ev)
        lots = to_ticks(mbo["size"], self.lot_size, what="size", check=book_ev)
        return (np.ascontiguousarray(mbo["ts"]), np.ascontiguousarray(ev),
                np.ascontiguousarray(mbo["order_id"]), np.ascontiguousarray(mbo["side"]),
                ticks, lots)

    def apply(self, mbo: np.ndarray) -> None:
        """Apply canonical ``MBO`` events in order."""
        self.apply_arrays(*self.kernel_arrays(mbo))

    def apply_arrays(self, ts, event, oid, side, ticks, lots) -> None:
        n = len(ts)
        start = 0
        while start < n:
            st, start = l3_nb.l3_replay_nb(self.lv, self.od, self.ht, self.meta, ts, event, oid,
                                           side, ticks, lots, start, n)
            self._grow_for(st)

    def _event(self, event, order_id, side, price, size, ts) -> int:
        for name, v in (("order_id", order_id), ("ts", ts)):
            if not -(2**63) <= int(v) < 2**63:
                raise DataError(f"{name} does not fit int64", argument=name, value=v,
                                fix="pass a 64-bit integer")
        side = side if side in (BUY, SELL) else 0  # anything else is BAD_SIDE
        tick = int(to_ticks([price], self.tick_size)[0]) if np.isfinite(price) else 0
        lots = int(to_ticks([size], self.lot_size, what="size")[0])
        while True:
            st = l3_nb.l3_apply(self.lv, self.od, self.ht, self.meta, int(ts), event,
                                   int(order_id), side, tick, lots)
            if st not in C.FATAL:
                return st
            self._grow_for(st)

    def add(self, order_id: int, side: int, price: float, size: float, ts: int = 0) -> int:
        """Add a limit order at the tail of its level. Returns the status code."""
        return self._event(MBO_ADD, order_id, side, price, size, ts)

    def cancel(self, order_id: int, size: float, *, side: int = BUY, price: float = np.nan) -> int:
        """Partially cancel ``size`` (side/price locate the level for unknown ids)."""
        return self._event(MBO_CANCEL, order_id, side, price, size, 0)

    def execute(self, order_id: int, size: float, *, side: int = BUY, price: float = np.nan) -> int:
        return self._event(MBO_EXECUTE, order_id, side, price, size, 0)

    def delete(self, order_id: int, *, size: float | None = None, side: int = BUY,
               price: float = np.nan) -> int:
        """Remove an order whole (``size`` only checked against the book when given)."""
        if size is None:
            pos = self.queue_position(order_id)
            size = pos.size if pos else 0.0
        return self._event(MBO_DELETE, order_id, side, price, size, 0)

    def modify(self, order_id: int, side: int, price: float, size: float, ts: int = 0) -> int:
        """Replace price/size (a size decrease at the same price keeps priority)."""
        return self._event(MBO_MODIFY, order_id, side, price, size, ts)

    def set_level(self, side, price: float, size: float) -> None:
        """Declare the visible size of a level (snapshot): the part not explained by known
        orders becomes anonymous quantity at the front of its queue."""
        s = _side_index(side)
        tick = int(to_ticks([price], self.tick_size)[0])
        lots = int(to_ticks([size], self.lot_size, what="size")[0])
        while True:
            st = l3_nb.l3_set_anon_nb(self.lv, self.od, self.ht, self.meta, s, tick, lots)
            if st not in C.FATAL:
                return
            self._grow_for(st)

    def forget_beyond(self, side, keep: int) -> int:
        """Forget levels of ``side`` beyond the best ``keep`` (and their orders)."""
        return int(l3_nb.l3_forget_beyond_nb(self.lv, self.od, self.ht, self.meta,
                                             _side_index(side), int(keep)))

    def clear(self) -> None:
        l3_nb.l3_clear_nb(self.lv, self.od, self.ht, self.meta)

    # --- queries -----------------------------------------------------------------------------
    def queue_position(self, order_id: int) -> QueuePosition | None:
        """FIFO position of ``order_id`` at its level, or None if the order is not live."""
        ahead, count, own = l3_query_nb.l3_queue_position_nb(self.lv, self.od, self.ht, self.meta,
                                                      int(order_id))
        if own < 0:
            return None
        slot = l3_nb.hash_get_nb(self.ht, self.meta[C.M_HMASK], int(order_id))
        s = int(self.od[slot, C.OD_SIDE])
        return QueuePosition(
            order_id=int(order_id), side=BUY if s == C.BID else SELL,
            price=float(self.price_of(self.od[slot, C.OD_TICK])),
            size=float(own * self.lot_size), qty_ahead=float(ahead * self.lot_size),
            orders_ahead=int(count),
        )

    def orders_at(self, side, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Order ids and sizes in the FIFO of the k-th best level of ``side`` (front first);
        anonymous quantity is not listed (see :meth:`anonymous_at`)."""
        s = _side_index(side)
        n = int(self.meta[s])
        if not 0 <= k < n:
            return np.zeros(0, np.int64), np.zeros(0)
        cnt = int(self.lv[s, C.LV_CNT, n - 1 - k])
        ids = np.empty(cnt, np.int64)
        q = np.empty(cnt, np.int64)
        m = l3_query_nb.l3_level_orders_nb(self.lv, self.od, self.meta, s, k, ids, q)
        return ids[:m], q[:m] * self.lot_size

    def anonymous_at(self, side, k: int = 0) -> float:
        """Anonymous (unattributed) quantity at the front of the k-th best level."""
        s = _side_index(side)
        n = int(self.meta[s])
        return float(self.lv[s, C.LV_ANON, n - 1 - k] * self.lot_size) if 0 <= k < n else 0.0
