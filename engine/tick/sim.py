"""Python layer of the tick simulator: configuration, state arrays, growth, submit/cancel.

    from engine.tick import TickConfig, TickSim, build_feed
    feed = build_feed(depth=depth, trade=trade, tick_size=0.1, feed_latency="recorded")
    sim = TickSim(feed, TickConfig(queue="probabilistic", entry_latency=1_000_000, seed=7))
    oid = sim.submit(BUY, 0.01, limit=64000.0, post_only=True)
    code = sim.advance(until=sim.now + 10_000_000)
    sim.fills, sim.orders, sim.position

The state lives in numpy arrays (``engine.tick.layout``) handed to the numba kernels; the
Python hook loop (:mod:`engine.tick.loop`) and compiled strategies drive the same kernels.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from data.errors import ConfigError
from engine.book.book import ticks_per_unit
from engine.book.l2_nb import l2_alloc
from engine.tick import layout as L
from engine.tick.feed import Feed
from engine.types import (
    BUY,
    FILL,
    FOK,
    GTC,
    GTD,
    IOC,
    LIMIT,
    MARKET,
    ORDER,
    SELL,
    STOP,
    STOP_LIMIT,
    TIF_NAMES,
)
from engine.types import empty as empty_records

_TIFS = {"GTC": GTC, "IOC": IOC, "FOK": FOK, "GTD": GTD}


def _series(value, argument: str) -> tuple[np.ndarray, np.ndarray]:
    """("series", times ns, latencies ns) -> validated int64 arrays."""
    try:
        ts = np.asarray(value[1], dtype=np.int64)
        lat = np.asarray(value[2], dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("a latency series needs numeric times and latencies",
                          argument=argument, value=type(value[1]).__name__,
                          fix="('series', times_ns, latencies_ns)") from None
    if ts.ndim != 1 or ts.shape != lat.shape or len(ts) == 0:
        raise ConfigError("a latency series needs two 1-D arrays of the same, non-zero length",
                          argument=argument, value=(ts.shape, lat.shape),
                          fix="('series', times_ns, latencies_ns)")
    if np.any(np.diff(ts) < 0) or not np.all(np.isfinite(lat)) or np.any(lat < 0):
        raise ConfigError("latency series times must be sorted and latencies finite, >= 0",
                          argument=argument, fix="sort by time; drop bad rows")
    return ts, np.rint(lat)


def _latency_spec(value, argument: str) -> tuple[int, float, float]:
    """ns int -> constant; ("uniform", a, b) / ("exponential", a, mean) -> seeded random;
    ("series", times, latencies) -> replayed (offset and length are set by TickSim)."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 0:
        return L.LAT_CONSTANT, float(value), 0.0
    if isinstance(value, tuple | list) and len(value) == 3 and value[0] == "series":
        ts, _ = _series(value, argument)
        return L.LAT_SERIES, 0.0, float(len(ts))
    if isinstance(value, tuple | list) and len(value) == 3 and value[0] in L.LAT_NAMES \
            and isinstance(value[1], int | float) and isinstance(value[2], int | float) \
            and value[1] >= 0 and value[2] >= 0:
        if value[0] == "uniform" and value[2] < value[1]:
            raise ConfigError("uniform latency needs low <= high", argument=argument,
                              value=value, fix="e.g. ('uniform', 500_000, 2_000_000)")
        return L.LAT_NAMES[value[0]], float(value[1]), float(value[2])
    raise ConfigError("latency must be ns >= 0 or (model, a, b)", argument=argument, value=value,
                      fix="e.g. 1_000_000, ('uniform', 500_000, 2_000_000), "
                          "('exponential', 500_000, 300_000) or ('series', times, latencies)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TickConfig:
    """Fill-simulation settings of a tick run (all times in ns)."""

    queue: str = "conservative"  # or "probabilistic" (L2); L3 feeds always use exact FIFO
    queue_power: float = 3.0  # probabilistic model: f(x) = x ** queue_power
    entry_latency: object = 0  # order / cancel entry latency: ns or (model, a, b)
    response_latency: object = 0  # exchange -> strategy responses
    maker_fee: float = 0.0  # fraction of traded value (negative: rebate)
    taker_fee: float = 0.0
    partial_fills: bool = True  # resting orders may fill partially
    impact: str = "off"  # "linear" | "sqrt" | "transient" (own taker fills move later prices)
    impact_coef: float = 0.0
    impact_tau_ns: float = 1e9
    stop_trigger: str = "trade"  # stops trigger on trades ("trade") or the best prices ("book")
    seed: int = 0

    def __post_init__(self) -> None:
        if self.queue not in L.QUEUE_NAMES:
            raise ConfigError("unknown queue model", argument="queue", value=self.queue,
                              fix=f"use one of {sorted(L.QUEUE_NAMES)}")
        if not self.queue_power > 0:
            raise ConfigError("queue_power must be > 0", argument="queue_power",
                              value=self.queue_power, fix="e.g. 3.0")
        _latency_spec(self.entry_latency, "entry_latency")
        _latency_spec(self.response_latency, "response_latency")
        if self.stop_trigger not in L.STOP_TRIGGERS:
            raise ConfigError("unknown stop trigger", argument="stop_trigger",
                              value=self.stop_trigger, fix=f"use one of {sorted(L.STOP_TRIGGERS)}")
        if self.impact not in L.IMPACT_NAMES:
            raise ConfigError("unknown impact model", argument="impact", value=self.impact,
                              fix=f"use one of {sorted(L.IMPACT_NAMES)}")
        if self.impact == "transient" and not self.impact_tau_ns > 0:
            raise ConfigError("impact_tau_ns must be > 0", argument="impact_tau_ns",
                              value=self.impact_tau_ns, fix="e.g. 1e9 (1 s)")
        for name in ("maker_fee", "taker_fee", "impact_coef"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name} must be finite", argument=name,
                                  value=getattr(self, name), fix="pass a number")


class TickSim:
    """State of one simulated account on one tick feed (see the module docstring)."""

    def __init__(self, feed: Feed, config: TickConfig | None = None, *, order_capacity: int = 4096,
                 fill_capacity: int = 8192, stream=None) -> None:
        """``stream``: a :class:`engine.tick.stream.FeedStream` whose first window is ``feed``
        (the simulator loads the next windows itself)."""
        self.feed = feed
        self.stream = stream
        self.config = cfg = config or TickConfig()
        # recorded latency series live after the fixed slots: times in sv, latencies in cf
        series = []
        for value in (cfg.entry_latency, cfg.response_latency):
            series.append(_series(value, "latency") if isinstance(value, tuple | list)
                          and len(value) == 3 and value[0] == "series" else None)
        extra = sum(len(x[0]) for x in series if x is not None)
        sv = np.zeros(L.SV_SIZE + extra, np.int64)
        cf = np.zeros(L.CF_SIZE + extra, np.float64)
        sv[L.S_QMODEL] = L.Q_L3 if feed.kind == "l3" else L.QUEUE_NAMES[cfg.queue]
        sv[L.S_ENTRY], cf[L.C_ENTRY_A], cf[L.C_ENTRY_B] = _latency_spec(cfg.entry_latency, "")
        sv[L.S_RESP], cf[L.C_RESP_A], cf[L.C_RESP_B] = _latency_spec(cfg.response_latency, "")
        off = 0
        for a_slot, ser in ((L.C_ENTRY_A, series[0]), (L.C_RESP_A, series[1])):
            if ser is not None:
                n = len(ser[0])
                sv[L.SV_SIZE + off: L.SV_SIZE + off + n] = ser[0]
                cf[L.CF_SIZE + off: L.CF_SIZE + off + n] = ser[1]
                cf[a_slot] = off
                off += n
        sv[L.S_PARTIAL] = int(cfg.partial_fills)
        sv[L.S_SHARED] = int(feed.feed_latency == "none")
        sv[L.S_BATCH] = int(feed.has_batches)
        sv[L.S_NACT] = L.NEVER
        sv[L.S_HORIZON] = L.NEVER if stream is None else stream.horizon
        sv[L.S_IMPACT] = L.IMPACT_NAMES[cfg.impact]
        sv[L.S_STOPTRIG] = L.STOP_TRIGGERS[cfg.stop_trigger]
        sv[L.S_NOW] = feed.start
        # splitmix64 seed from the config seed via numpy (explicit, no global state)
        sv[L.S_RNG] = np.random.default_rng(cfg.seed).integers(-(2**62), 2**62)
        cf[L.C_TICK] = feed.tick_size
        cf[L.C_INV] = ticks_per_unit(feed.tick_size)  # price_nb divides when it can
        cf[L.C_MAKER], cf[L.C_TAKER] = cfg.maker_fee, cfg.taker_fee
        cf[L.C_LOT] = feed.lot_size
        cf[L.C_QPOW] = cfg.queue_power
        cf[L.C_IMP_COEF], cf[L.C_IMP_TAU] = cfg.impact_coef, cfg.impact_tau_ns
        self.sv, self.cf = sv, cf
        self.orders_arr = empty_records(ORDER, order_capacity)
        self.oi = np.zeros((order_capacity, L.OI_FIELDS), np.int64)
        self.of = np.zeros((order_capacity, L.OF_FIELDS), np.float64)
        self.live = np.zeros(order_capacity, np.int64)
        self.fills_arr = np.zeros(fill_capacity, FILL)
        self.notes = np.zeros((4 * fill_capacity, L.N_FIELDS), np.int64)
        self.W = (np.zeros(L.MAX_WALK, np.int64), np.zeros(L.MAX_WALK, np.float64))
        if feed.kind == "l2":
            self.BX = l2_alloc(overflow=1024)
            self.BL = self.BX if sv[L.S_SHARED] else l2_alloc(overflow=1024)
        else:
            from engine.tick.l3sim_nb import l3_state_for

            counts = None if stream is None else stream.l3_counts
            self.BX = l3_state_for(feed, counts)
            self.BL = self.BX if sv[L.S_SHARED] else l3_state_for(feed, counts)

    # --- state tuples handed to the kernels ---------------------------------------------------
    @property
    def OS(self):  # noqa: N802
        return self.orders_arr, self.oi, self.of, self.live

    @property
    def F(self):  # noqa: N802
        return self.fills_arr, self.notes

    # --- growth -------------------------------------------------------------------------------
    def _grow_orders(self) -> None:
        n = len(self.orders_arr) * 2
        o = empty_records(ORDER, n)
        o[: len(self.orders_arr)] = self.orders_arr
        self.orders_arr = o
        for name in ("oi", "of"):
            a = getattr(self, name)
            b = np.zeros((n, a.shape[1]), a.dtype)
            b[: len(a)] = a
            setattr(self, name, b)
        live = np.zeros(n, np.int64)
        live[: len(self.live)] = self.live
        self.live = live

    def grow(self) -> None:
        """Grow whatever the last kernel call found full (sv[S_FULL])."""
        what = int(self.sv[L.S_FULL])
        self.sv[L.S_FULL] = 0
        if what == 2 or what == 3:
            f = np.zeros(len(self.fills_arr) * 2, FILL)
            f[: len(self.fills_arr)] = self.fills_arr
            self.fills_arr = f
            nt = np.zeros((len(self.notes) * 2, L.N_FIELDS), np.int64)
            nt[: len(self.notes)] = self.notes
            self.notes = nt
        elif what in (4, 5):
            from engine.book.book import _grow2

            books = [self.BX] if self.BL is self.BX else [self.BX, self.BL]
            for b in books:
                self._grow_book(b, _grow2)
        elif what == 1:
            self._grow_orders()

    def _grow_book(self, b, _grow2) -> None:
        if self.feed.kind == "l2":
            dq, ok, oq, meta = b
            new = (dq, _grow2(ok, 1, ok.shape[1] * 2), _grow2(oq, 1, oq.shape[1] * 2), meta)
        else:
            raise RuntimeError("L3 book capacity is sized from the feed")  # pragma: no cover
        if b is self.BX:
            self.BX = new
            if self.BL is b:
                self.BL = new
        else:
            self.BL = new

    # --- strategy actions ---------------------------------------------------------------------
    def to_tick(self, price: float, argument: str = "limit") -> int:
        t = price / self.feed.tick_size
        r = round(t)
        if not math.isfinite(t) or abs(t - r) > 1e-6:
            raise ConfigError(f"{argument} price is not on the tick grid", argument=argument,
                              value=price,
                              fix=f"round to a multiple of the tick size {self.feed.tick_size}")
        return int(r)

    def submit(self, side: int, size: float, *, limit: float | None = None,
               stop: float | None = None, tif: str = "GTC", expire_ts: int | None = None,
               post_only: bool = False, reduce_only: bool = False, tag: int = 0) -> int:
        """Send an order now (``self.now``); returns its id. Market order when ``limit`` and
        ``stop`` are None; ``stop``: a stop (market) or, with ``limit``, a stop-limit order
        held at the exchange until its trigger (``TickConfig.stop_trigger``). ``tif="GTD"``
        with ``expire_ts`` (exchange time, ns): the order expires after it. Invalid sizes are
        rejected by the exchange (reject reason), not raised."""
        from engine.tick.orders_nb import submit_ex_nb
        from engine.types import F_POST_ONLY, F_REDUCE_ONLY

        if side not in (BUY, SELL):
            raise ConfigError("side must be BUY (1) or SELL (-1)", argument="side", value=side,
                              fix="use engine.types.BUY / SELL")
        if tif not in _TIFS:
            raise ConfigError("unknown time in force", argument="tif", value=tif,
                              fix=f"use one of {sorted(_TIFS)} ({', '.join(TIF_NAMES)} exist)")
        if expire_ts is not None and tif == "GTC":
            tif = "GTD"
        if tif == "GTD" and (expire_ts is None or isinstance(expire_ts, bool)
                             or not isinstance(expire_ts, int | np.integer)):
            raise ConfigError("a GTD order needs expire_ts (int ns, exchange time)",
                              argument="expire_ts", value=expire_ts,
                              fix="pass expire_ts=<ns>, or another tif")
        flags = (F_POST_ONLY if post_only else 0) | (F_REDUCE_ONLY if reduce_only else 0)
        otype, tick = (MARKET, 0) if limit is None else (LIMIT, self.to_tick(limit))
        stick = 0
        if stop is not None:
            stick = self.to_tick(stop, "stop")
            otype = STOP if limit is None else STOP_LIMIT
        exp = int(expire_ts) if tif == "GTD" else 0
        while True:
            oid = submit_ex_nb(self.sv, self.cf, self.orders_arr, self.oi, self.of, self.live,
                               self.now, side, otype, _TIFS[tif], flags, float(size), tick,
                               stick, exp, int(tag))
            if oid >= 0:
                return int(oid)
            self._grow_orders()

    def cancel(self, order_id: int) -> bool:
        from engine.tick.orders_nb import cancel_nb

        return bool(cancel_nb(self.sv, self.cf, self.orders_arr, self.oi, self.now, int(order_id)))

    def advance(self, until: int | None = None, wake: int = 0) -> int:
        """Run until local time ``until`` (None: the end of the data) or a subscribed event
        (``wake``: WK_* bits). Returns the wake code (W_*)."""
        t = L.NEVER if until is None else int(until)
        while True:
            code = self._advance(t, wake)
            if code == L.W_MORE:
                self.refill()
            elif code != L.W_FULL:
                return int(code)
            else:
                self.grow()

    def refill(self) -> None:
        """Streamed feed: load the next window (W_MORE)."""
        if self.stream is None:  # pragma: no cover - the kernels return W_MORE only when streamed
            raise RuntimeError("W_MORE without a feed stream")
        self.feed = self.stream.refill(self.sv)

    def _advance(self, t: int, wake: int) -> int:
        f = self.feed
        if f.kind == "l2":
            from engine.tick.l2sim_nb import advance_l2_nb

            return advance_l2_nb(f.D, f.T, f.Q, self.BX, self.BL, self.OS, self.F, self.W,
                                 self.sv, self.cf, t, wake)
        from engine.tick.l3sim_nb import advance_l3_nb

        return advance_l3_nb(f.D, f.Q, self.BX, self.BL, self.OS, self.F, self.W, self.sv,
                             self.cf, t, wake)

    # --- views --------------------------------------------------------------------------------
    @property
    def now(self) -> int:
        return int(self.sv[L.S_NOW])

    @property
    def fills(self) -> np.ndarray:
        return self.fills_arr[: self.sv[L.S_NFILL]]

    @property
    def orders(self) -> np.ndarray:
        return self.orders_arr[: self.sv[L.S_NORD]]

    @property
    def position(self) -> float:
        """Position as the strategy knows it (responses delivered)."""
        return float(self.cf[L.C_LPOS])

    @property
    def exchange_position(self) -> float:
        return float(self.cf[L.C_POS])

    def local_status(self, order_id: int) -> int:
        return int(self.oi[order_id, L.OI_LSTAT])

    def queue_ahead(self, order_id: int) -> float:
        """Size ahead of a resting order: the L2 queue model's estimate, or the exact size
        ahead in the L3 FIFO (0.0 once the order no longer rests)."""
        if self.feed.kind == "l3":
            from engine.book.l3_query_nb import l3_queue_position_nb

            ahead, _, own = l3_queue_position_nb(*self.BX, -(int(order_id) + 1))
            return float(ahead * self.feed.lot_size) if own >= 0 else 0.0
        return float(self.of[order_id, L.OF_AHEAD])

    def delivered(self) -> np.ndarray:
        """Responses delivered by the last wake (rows of ``notes``)."""
        return self.notes[self.sv[L.S_NSEEN0]: self.sv[L.S_NSEEN]]

    def book(self):
        """The strategy's view of the book (an L2Book / L3Book over the local arrays)."""
        from engine.book.book import L2Book, L3Book

        if self.feed.kind == "l2":
            b = L2Book.__new__(L2Book)
            b.tick_size = self.feed.tick_size
            b.dq, b.ok, b.oq, b.meta = self.BL
        else:
            b = L3Book.__new__(L3Book)
            b.tick_size = self.feed.tick_size
            b.lot_size = self.feed.lot_size
            b.lv, b.od, b.ht, b.meta = self.BL
        return b
