"""The tick event loop: wakes a strategy on trades, quotes, book updates, timers and responses.

Python hooks (:func:`run_tick`): a strategy object with any of ``init(ctx)``,
``on_trade(ctx, trade)``, ``on_quote(ctx, quote)``, ``on_book(ctx)``, ``on_timer(ctx)``,
``on_fill(ctx, fill)``, ``on_order(ctx, order)``, ``on_stop(ctx)``; it is woken only for the
hooks it defines (a strategy without ``on_book`` costs one kernel call per timer tick, not one
per depth row). Market events reach it in the merged order at their local (receive) time; it
sees the book as of that time and nothing later.

Compiled path (:func:`run_compiled`): an njit function ``step(code, D, T, BL, OS, sv, cf, P, S)``
called by a compiled driver on the same wakes; it reads the book with the ``l2_nb`` / ``l3``
queries and trades with :func:`engine.tick.orders_nb.submit_nb` / ``cancel_nb``. Both paths
call the same advance kernel, so the same decisions give the same fills (parity test).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from data.errors import ConfigError, StrategyError
from engine.tick import layout as L
from engine.tick.feed import Feed
from engine.tick.l2sim_nb import advance_l2_nb
from engine.tick.sim import TickConfig, TickSim
from engine.types import BUY, CANCELLED, EXPIRED, FILLED, REJECTED, SELL

_HOOKS = (("on_book", L.WK_BOOK), ("on_trade", L.WK_TRADE), ("on_quote", L.WK_QUOTE),
          ("on_fill", L.WK_NOTE), ("on_order", L.WK_NOTE))
_TERMINAL_LOCAL = (FILLED, CANCELLED, REJECTED, EXPIRED)


def _defines(strategy, name: str) -> bool:
    """True when the strategy's class provides hook ``name`` (a no-op inherited from the core's
    ``strategies.base.Strategy`` does not count)."""
    fn = getattr(type(strategy), name, None)
    if fn is None:
        return False
    try:
        from strategies.base import Strategy
    except ImportError:  # the core's base class is not there yet
        return True
    return fn is not getattr(Strategy, name, None)


def wake_mask(strategy) -> int:
    m = 0
    for name, bit in _HOOKS:
        if _defines(strategy, name):
            m |= bit
    return m


class TickContext:
    """What a tick strategy sees and trades through (local time, its own book view)."""

    def __init__(self, sim: TickSim) -> None:
        self._sim = sim
        self.symbols = ["0"]

    @property
    def now(self) -> int:
        """Local time (int64 ns UTC) of the event being handled."""
        return self._sim.now

    @property
    def book(self):
        """The book as the strategy knows it (:class:`engine.book.BookView`)."""
        return self._sim.book()

    def position(self, sym=None) -> float:
        """Position from the fills the strategy has been told about."""
        return self._sim.position

    def open_orders(self, sym=None) -> list[int]:
        """Ids of the orders not known to be filled, cancelled or rejected."""
        s = self._sim
        n = int(s.sv[L.S_NORD])
        st = s.oi[:n, L.OI_LSTAT]
        return [int(i) for i in np.flatnonzero(~np.isin(st, _TERMINAL_LOCAL))]

    def order(self, order_id: int) -> np.record:
        """The order record as the exchange holds it, with the status the strategy knows."""
        o = self._sim.orders_arr[order_id].copy()
        o["status"] = self._sim.local_status(order_id)
        return o

    def _send(self, side, size, limit, stop, tif, expire, post_only, reduce_only, tag):
        if not (isinstance(size, int | float | np.integer | np.floating) and size > 0):
            raise StrategyError("order size must be a number > 0", argument="size", value=size,
                                fix="pass size=<quantity>")
        if expire is not None and not isinstance(expire, int | np.integer):
            from data.timeutil import to_ns

            expire = int(to_ns(expire))
        return self._sim.submit(side, float(size), limit=limit, stop=stop, tif=tif,
                                expire_ts=expire, post_only=post_only,
                                reduce_only=reduce_only, tag=tag)

    def buy(self, sym=None, *, size, limit=None, stop=None, tif="GTC", expire=None,
            post_only=False, reduce_only=False, tag=0) -> int:
        """Send a buy; returns the order id. Market order without ``limit`` / ``stop``;
        ``stop``: stop (market) order, with ``limit`` a stop-limit, held at the exchange until
        a trade (or the best price: ``[tick] stop_trigger = "book"``) reaches the stop;
        ``expire``: exchange time (ns or a timestamp) after which the order expires (GTD)."""
        return self._send(BUY, size, limit, stop, tif, expire, post_only, reduce_only, tag)

    def sell(self, sym=None, *, size, limit=None, stop=None, tif="GTC", expire=None,
             post_only=False, reduce_only=False, tag=0) -> int:
        return self._send(SELL, size, limit, stop, tif, expire, post_only, reduce_only, tag)

    def cancel(self, order_id: int) -> bool:
        return self._sim.cancel(order_id)

    def best_ticks(self) -> tuple[int | None, int | None]:
        """Best bid and ask of the strategy's book in integer ticks (None: empty side)."""
        from engine.book.codes import NO_TICK
        from engine.book.l2_nb import l2_best_nb

        sim = self._sim
        if sim.feed.kind != "l2":
            b = sim.book()
            t = [b._top(s, 1)[0] for s in (0, 1)]
            return tuple(int(x[0]) if len(x) else None for x in t)
        out = []
        for s in (0, 1):
            t, _ = l2_best_nb(*sim.BL, s)
            out.append(None if t == NO_TICK else int(t))
        return out[0], out[1]

    @property
    def tick_size(self) -> float:
        return self._sim.feed.tick_size

    def price_of_tick(self, tick: int) -> float:
        """Ticks -> price, exactly as the simulator converts them."""
        inv = self._sim.cf[L.C_INV]
        return tick / inv if inv > 0 else tick * self._sim.feed.tick_size

    def order_tick(self, order_id: int) -> int:
        return int(self._sim.oi[order_id, L.OI_TICK])

    def cancel_pending(self, order_id: int) -> bool:
        """True once a cancel was sent for the order."""
        return bool(self._sim.oi[order_id, L.OI_CXL] != L.NEVER)

    def queue_ahead(self, order_id: int) -> float:
        """Size ahead of a resting order in the simulator's queue model (exchange side)."""
        return self._sim.queue_ahead(order_id)


@dataclasses.dataclass
class TickResult:
    """Outcome of a tick run: FILL and ORDER records, the simulator, the wake count."""

    fills: np.ndarray
    orders: np.ndarray
    sim: TickSim
    wakes: int
    position: float

    @property
    def fees(self) -> float:
        return float(self.fills["fee"].sum())

    def cash_flow(self) -> float:
        """Sum of -side * size * price - fee over the fills (no starting cash)."""
        f = self.fills
        return float(-(f["side"] * f["size"] * f["price"]).sum() - f["fee"].sum())


def _sim_for(feed, config) -> TickSim:
    """A simulator on a Feed, or on the first window of a streamed feed (FeedStream)."""
    from engine.tick.stream import FeedStream

    if isinstance(feed, FeedStream):
        return TickSim(feed.first(), config, stream=feed)
    return TickSim(feed, config)


def run_tick(strategy, feed: Feed, config: TickConfig | None = None, *,
             timer_ns: int | None = None) -> TickResult:
    """Run a Python tick strategy over ``feed`` (see the module docstring). ``timer_ns``
    (default: the strategy's ``timer_ns`` attribute, if any) wakes ``on_timer`` every interval
    of local time from the first market event. ``feed``: a Feed or a
    :class:`engine.tick.stream.FeedStream` (read window by window, same results)."""
    sim = _sim_for(feed, config)
    feed = sim.feed
    ctx = TickContext(sim)
    timer_ns = timer_ns if timer_ns is not None else getattr(strategy, "timer_ns", None)
    if timer_ns is not None and (not isinstance(timer_ns, int | np.integer) or timer_ns <= 0):
        raise ConfigError("timer_ns must be a positive int (ns)", argument="timer_ns",
                          value=timer_ns, fix="e.g. 100_000_000 for 100 ms")
    has_timer = timer_ns is not None and _defines(strategy, "on_timer")
    wake = wake_mask(strategy)
    on_fill = strategy.on_fill if _defines(strategy, "on_fill") else None
    on_order = strategy.on_order if _defines(strategy, "on_order") else None
    if _defines(strategy, "init"):
        strategy.init(ctx)
    nxt = feed.start + timer_ns if has_timer else None
    wakes = 0
    while True:
        code = sim.advance(nxt, wake)
        wakes += 1
        if on_fill is not None or on_order is not None:
            for _vis, kind, idx, status in sim.delivered():
                if kind == L.NOTE_FILL and on_fill is not None:
                    on_fill(ctx, sim.fills_arr[idx].copy())
                elif kind == L.NOTE_ORDER and on_order is not None:
                    o = sim.orders_arr[idx].copy()
                    o["status"] = status
                    on_order(ctx, o)
        if code == L.W_END:
            break
        if code == L.W_BOOK:
            strategy.on_book(ctx)
        elif code == L.W_TRADE:  # sim.feed: the current window of a streamed feed
            strategy.on_trade(ctx, sim.feed.trade[sim.sv[L.S_WROW]])
        elif code == L.W_QUOTE:
            strategy.on_quote(ctx, sim.feed.quote[sim.sv[L.S_WROW]])
        elif code == L.W_UNTIL:
            strategy.on_timer(ctx)
            nxt += timer_ns
    if _defines(strategy, "on_stop"):
        strategy.on_stop(ctx)
    return TickResult(fills=sim.fills.copy(), orders=sim.orders.copy(), sim=sim, wakes=wakes,
                      position=sim.exchange_position)


@njit(cache=True)
def drive_l2_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, step, P, S, timer, wake):
    """Compiled loop: advance to the next wake, call ``step``; returns W_END or W_FULL (the
    caller grows the arrays and calls again: the timer lives in sv[S_TIMER])."""
    while True:
        code = advance_l2_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, sv[L.S_TIMER], wake)
        if code == L.W_END or code == L.W_FULL or code == L.W_MORE:
            return code
        sv[L.S_STEPS] += 1
        step(code, D, T, BL, OS, sv, cf, P, S)
        if code == L.W_UNTIL:
            sv[L.S_TIMER] += timer


def run_compiled(step, feed: Feed, config: TickConfig | None = None, *, params=None,
                 state=None, timer_ns: int = 0, wake: int = 0, driver=None) -> TickResult:
    """Run an njit ``step`` function (see the module docstring) over ``feed``. ``params`` /
    ``state``: float64 arrays passed to every call (``state`` is the strategy's memory).

    ``driver``: an njit loop with the signature of :func:`drive_l2_nb` minus ``step`` (see
    ``strategies.tick.market_making.grid_mm_run_nb``). Numba cannot cache a function that
    receives another jitted function as an argument, so the generic driver compiles again in
    every new process (seconds); a driver that calls its step by name is cached on disk."""
    if feed.kind != "l2":
        raise ConfigError("the compiled path drives L2 feeds", argument="feed",
                          value=feed.kind, fix="use run_tick for MBO (L3) feeds")
    sim = _sim_for(feed, config)
    feed = sim.feed
    P = np.zeros(0) if params is None else np.ascontiguousarray(params, np.float64)
    S = np.zeros(16) if state is None else np.ascontiguousarray(state, np.float64)
    sim.sv[L.S_TIMER] = feed.start + timer_ns if timer_ns > 0 else L.NEVER
    while True:
        f = sim.feed  # streamed feeds: the current window
        args = (f.D, f.T, f.Q, sim.BX, sim.BL, sim.OS, sim.F, sim.W, sim.sv, sim.cf)
        if driver is not None:
            code = driver(*args, P, S, int(timer_ns), int(wake))
        else:
            code = drive_l2_nb(*args, step, P, S, int(timer_ns), int(wake))
        if code == L.W_MORE:
            sim.refill()
        elif code == L.W_FULL:
            sim.grow()
        else:
            break
    return TickResult(fills=sim.fills.copy(), orders=sim.orders.copy(), sim=sim,
                      wakes=int(sim.sv[L.S_STEPS]), position=sim.exchange_position)
