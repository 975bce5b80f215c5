"""``engine.run`` on order-book data: the tick simulator behind the same Result / run folder.

A run is a tick run when the config has a ``[tick]`` section, the market is a
:class:`~engine.tick.feed.Feed`, a LOBSTER message file or a Binance USD-M capture, or the
strategy defines a tick hook (``on_book``, ``on_trade``, ``on_quote``, ``on_timer``).
``[tick]`` keys (all optional):

| key | meaning |
| --- | --- |
| ``tick_size``, ``lot_size`` | instrument grid (default: LOBSTER 0.01 / 1; Binance the capture's price decimals / 1) |
| ``queue``, ``queue_power`` | L2 queue model (``conservative`` / ``probabilistic``); L3 data is exact FIFO |
| ``entry_latency``, ``response_latency`` | ns, or ``["uniform", a, b]`` / ``["exponential", a, mean]`` |
| ``feed_latency`` | ``"recorded"`` (default), ``"none"``, ns or a random model |
| ``maker_fee``, ``taker_fee`` | fractions of traded value (negative: rebate) |
| ``partial_fills`` | resting orders may fill partially (default true) |
| ``impact``, ``impact_coef``, ``impact_tau_ns`` | impact overlay (off by default) |
| ``timer_ns`` | ``on_timer`` interval (default: the strategy's ``timer_ns``) |
| ``sample_ns`` | equity / prices sampling interval (default 1 s); metrics use every step (``[metrics] sampling = "none"`` unless set) |
| ``calendar`` | ``"24/7"`` or ``"session"`` (default: 24/7 for Binance, session for LOBSTER) |

Fills are booked by the core's accountant kernels (``engine.portfolio_nb``) in fill order; the
equity is marked at the mid price at the end of every ``sample_ns`` step; ``prices.parquet``
holds the mid resampled to that step (OHLC) and the traded volume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError, DataError
from data.schema import BAR, Instrument
from engine import types as T
from engine.result import Result
from engine.tick.feed import Feed, build_feed, lobster_feed
from engine.tick.sim import TickConfig

TICK_HOOKS = ("on_book", "on_trade", "on_quote", "on_timer")
_SIM_KEYS = ("queue", "queue_power", "entry_latency", "response_latency", "maker_fee",
             "taker_fee", "partial_fills", "impact", "impact_coef", "impact_tau_ns")


def is_tick_run(cfg, strat, market) -> bool:
    from engine.tick.loop import _defines

    if cfg.tick or isinstance(market, Feed):
        return True
    if any(_defines(strat, h) for h in TICK_HOOKS):
        return True
    paths = [market] if isinstance(market, str | Path) else []
    for p in paths:
        if Path(p).exists():
            from data.readers.dispatch import detect_format

            try:
                if detect_format(p)[0] in ("lobster", "binance"):
                    return True
            except DataError:
                return False
    return False


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclasses.dataclass
class TickMarket:
    feed: Feed
    symbol: str
    calendar: str
    sources: list
    volume_ts: np.ndarray  # market trades (for the volume column of prices.parquet)
    volume: np.ndarray
    top: tuple | None = None  # (ts, bid, ask) after every event when the data has it


def load_tick_market(market: Any, tick: dict, seed: int) -> TickMarket:
    """A LOBSTER message file (orderbook file next to it), a Binance USD-M capture or a Feed."""
    flat = tick.get("feed_latency", "recorded")
    if isinstance(flat, list):
        flat = tuple(flat)
    if isinstance(market, Feed):
        t = market.T
        return TickMarket(market, "ASSET", tick.get("calendar", "24/7"),
                          [{"symbol": "ASSET", "source": "<feed>", "sha256": "",
                            "rows": market.n_events}], t[0], t[4])
    if isinstance(market, list | tuple) and len(market) == 1:
        market = market[0]
    if not isinstance(market, str | Path) or not Path(market).exists():
        raise ConfigError("tick data not found", argument="data", value=str(market),
                          fix="pass a LOBSTER message file or a Binance capture path")
    from data.readers.dispatch import detect_format

    path = Path(market)
    fmt = detect_format(path)[0]
    if fmt == "lobster":
        from data.readers.lobster import read_lobster

        ob = Path(str(path).replace("message", "orderbook"))
        lob = read_lobster(path, ob if ob.exists() else None)
        if tick.get("book", "l3") != "l3":
            raise ConfigError("LOBSTER data runs on the L3 book", argument="tick.book",
                              value=tick["book"], fix='use book = "l3" (exact FIFO)')
        feed = lobster_feed(lob, tick_size=float(tick.get("tick_size", 0.01)),
                            feed_latency="none" if flat == "recorded" else flat, seed=seed)
        m = lob.messages
        ex = np.isin(m["event"], (4, 5))
        top = None
        if lob.orderbook is not None:
            o = lob.orderbook
            ok = (np.abs(o[:, 0]) < 9_999_999_999) & (np.abs(o[:, 2]) < 9_999_999_999)
            top = (m["ts"][ok], o[ok, 2] / 1e4, o[ok, 0] / 1e4)
        return TickMarket(feed, lob.symbol, tick.get("calendar", "session"),
                          [{"symbol": lob.symbol, "source": str(path), "sha256": _sha256(path),
                            "rows": int(len(m))}], m["ts"][ex], m["size"][ex], top)
    if fmt == "binance":
        from data.readers.binance import read_binance_stream, sync_depth

        stream = read_binance_stream(path)
        sync = sync_depth(stream)
        ts_ = float(tick.get("tick_size") or stream.tick_size_hint)
        feed = build_feed(depth=sync.depth, trade=stream.trades, quote=stream.quotes,
                          tick_size=ts_, lot_size=float(tick.get("lot_size", 0.0)) or 1.0,
                          feed_latency=flat, seed=seed)
        return TickMarket(feed, stream.symbol, tick.get("calendar", "24/7"),
                          [{"symbol": stream.symbol, "source": str(path),
                            "sha256": _sha256(path), "rows": int(feed.n_events)}],
                          stream.trades["ts"], stream.trades["size"])
    raise ConfigError("not tick data this engine can replay", argument="data", value=str(path),
                      fix="tick runs take LOBSTER message files or Binance USD-M captures "
                          f"(this file looks like {fmt!r})")


def _mid_series(tm: TickMarket) -> tuple[np.ndarray, np.ndarray]:
    if tm.top is not None:
        ts, bid, ask = tm.top
        return ts, 0.5 * (bid + ask)
    f = tm.feed
    from engine.book.book import L2Book
    from engine.book.codes import NO_TICK

    book = L2Book(f.tick_size)
    D = f.D
    ticks, _ = book.apply_arrays(D[0], D[2], D[3], D[4], D[5], record_top=True)
    ok = (ticks[:, 0] != NO_TICK) & (ticks[:, 1] != NO_TICK) & (ticks[:, 0] < ticks[:, 1])
    return D[0][ok], book.price_of(0.5 * (ticks[ok, 0] + ticks[ok, 1]))


def _mid_bars(tm: TickMarket, sample_ns: int):
    """Bars of the mid price closing every ``sample_ns`` from the first event."""
    ts, mid = _mid_series(tm)
    if len(ts) == 0:
        raise DataError("the book never has both sides: no mid price", argument="data",
                        fix="check the data (a snapshot is needed before the diffs)")
    start = tm.feed.start
    end = max(tm.feed.end, int(ts[-1]))
    n = int((end - start) // sample_ns) + 1
    grid = start + (np.arange(n, dtype=np.int64) + 1) * sample_ns
    k = np.searchsorted(grid, ts, side="left")
    bars = np.zeros(n, BAR)
    bars["ts"] = grid
    close = np.full(n, np.nan)
    has = np.zeros(n, bool)
    has[k] = True
    first = np.searchsorted(k, np.arange(n), side="left")
    last = np.searchsorted(k, np.arange(n), side="right") - 1
    hi = np.full(n, -np.inf)
    lo = np.full(n, np.inf)
    np.maximum.at(hi, k, mid)
    np.minimum.at(lo, k, mid)
    close[has] = mid[last[has]]
    open_ = np.full(n, np.nan)
    open_[has] = mid[first[has]]
    idx = np.where(has, np.arange(n), 0)
    np.maximum.accumulate(idx, out=idx)
    prev = np.where(has[idx], close[idx], mid[0])
    bars["close"] = np.where(has, close, prev)
    bars["open"] = np.where(has, open_, prev)
    bars["high"] = np.where(has, hi, prev)
    bars["low"] = np.where(has, lo, prev)
    kv = np.clip(np.searchsorted(grid, tm.volume_ts, side="left"), 0, n - 1)
    bars["volume"] = np.bincount(kv, weights=tm.volume, minlength=n)[:n]
    return bars


class TickRunResult(Result):
    """A :class:`engine.result.Result` of a tick run (same frames, stats and run folder; fills
    carry ``queue_ahead`` and ``latency_ns``)."""

    def __init__(self, cfg, strat, tm: TickMarket, tres, sample_ns: int, timings: dict,
                 mode: str) -> None:
        from types import SimpleNamespace

        from engine.layout import (
            A_CASH,
            A_INIT,
            M_CLOSE,
            M_HIGH,
            M_LOW,
            M_MARK,
            M_OPEN,
            M_VOLUME,
            N_ACCT,
            N_CNT,
            N_MKT,
            SNAP0,
        )
        from engine.market import Market
        from engine.portfolio_nb import mark_nb
        from engine.tick.account_nb import book_tick_fills_nb

        bars = _mid_bars(tm, sample_ns)
        mkt = np.empty((N_MKT, len(bars), 1))
        for k, fld in ((M_OPEN, "open"), (M_HIGH, "high"), (M_LOW, "low"), (M_CLOSE, "close"),
                       (M_VOLUME, "volume")):
            mkt[k, :, 0] = bars[fld]
        mkt[M_MARK, :, 0] = bars["close"]
        inst = Instrument(symbol=tm.symbol, tick_size=tm.feed.tick_size, lot_size=0.0,
                          calendar=tm.calendar)
        self.market = Market(symbols=[tm.symbol], ts=bars["ts"], mkt=mkt, instruments=[inst],
                             sources=tm.sources, bars={tm.symbol: bars})
        self.config = cfg
        self.strategy = strat
        self.symbols = [tm.symbol]
        self.mode = mode
        self.timings = dict(timings)
        self.tick = tres
        fills = np.ascontiguousarray(tres.fills)
        self.orders_rec = tres.orders.copy()
        self.fills_rec = fills.copy()
        n = len(fills)
        open_tr = np.zeros(1, T.TRADE_REC)
        open_tr["entry_price"] = np.nan
        trades = np.zeros(n + 1, T.TRADE_REC)
        cnt = np.zeros(N_CNT, np.int64)
        acct = np.zeros(N_ACCT)
        acct[A_CASH] = acct[A_INIT] = cfg.cash
        snap = np.zeros((n + 1, SNAP0 + 1))
        bar_of = np.clip(np.searchsorted(bars["ts"], fills["ts"], side="left"), 0,
                         len(bars) - 1).astype(np.int64)
        if n:
            book_tick_fills_nb(fills, bar_of, open_tr, trades, cnt, acct, snap)
        from engine.layout import C_SNAPS

        self.equity_rec = np.empty(len(bars), dtype=T.EQUITY_REC)
        mark_nb(mkt, bars["ts"], snap, int(cnt[C_SNAPS]), acct, self.equity_rec)
        broker = SimpleNamespace(trades=trades, cnt=cnt, open_tr=open_tr, market=self.market)
        self.trades_rec = self._trades(broker)
        self.initial_cash = float(acct[A_INIT])
        self._stats = None
        self._frames = {}

    @property
    def stats(self):
        """The core's stats; a missing time span (NaT: no drawdown recovered within a short
        tick run) is written as null."""
        st = Result.stats.fget(self)
        for k, v in st.items():
            if v is not None and type(v).__name__ == "NaTType":
                st[k] = None
        return st

    @property
    def fills(self):
        if "fills_tick" not in self._frames:
            df = Result.fills.fget(self).copy()
            df["queue_ahead"] = self.fills_rec["queue_ahead"]
            df["latency_ns"] = self.fills_rec["latency_ns"]
            self._frames["fills_tick"] = df
        return self._frames["fills_tick"]


def run_tick_backtest(cfg, strat, market, t0: float) -> TickRunResult:
    """The tick path of :func:`engine.run` (see the module docstring)."""
    from engine.tick.loop import run_compiled, run_tick

    tick = dict(cfg.tick)
    if "sampling" not in cfg.metrics:  # metrics on the declared sampling step, not daily
        cfg = dataclasses.replace(cfg, metrics={**cfg.metrics, "sampling": "none"})
    unknown = set(tick) - set(_SIM_KEYS) - {"book", "tick_size", "lot_size", "feed_latency",
                                            "timer_ns", "sample_ns", "calendar"}
    if unknown:
        raise ConfigError("unknown tick key", argument=f"tick.{sorted(unknown)[0]}",
                          fix="see engine/tick/backtest.py for the [tick] keys")
    c = cfg.commission
    if c.model != "none" and (c.rate or c.maker or c.per_share or c.fixed or c.minimum):
        raise ConfigError("tick runs take their fees from [tick]", argument="broker.commission",
                          value=c.as_dict(), fix="set tick.maker_fee / tick.taker_fee instead")
    if cfg.slippage.model != "none":
        raise ConfigError("tick runs fill on the order book: no slippage model",
                          argument="broker.slippage", value=cfg.slippage.as_dict(),
                          fix="remove it (impact overlays: tick.impact)")
    for key in ("start", "end"):
        if getattr(cfg, key) is not None:
            raise ConfigError("tick runs replay the whole file", argument=f"data.{key}",
                              value=getattr(cfg, key), fix="cut the data file instead")
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in tick.items() if k in _SIM_KEYS}
    tcfg = TickConfig(**kw, seed=cfg.seed)
    tm = load_tick_market(market, tick, cfg.seed)
    timer_ns = tick.get("timer_ns", getattr(strat, "timer_ns", None))
    sample_ns = int(tick.get("sample_ns", 1_000_000_000))
    if sample_ns <= 0:
        raise ConfigError("sample_ns must be > 0", argument="tick.sample_ns", value=sample_ns,
                          fix="e.g. 1_000_000_000 (1 s)")
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    mode = cfg.mode
    step = getattr(type(strat), "step_nb", None)
    if mode == "compiled" or (mode == "auto" and step is not None and tm.feed.kind == "l2"):
        if step is None:
            from data.errors import StrategyError

            raise StrategyError("mode 'compiled' needs a strategy with a step_nb kernel",
                                argument="mode", value=type(strat).__name__,
                                fix="use mode='python'")
        tres = run_compiled(step, tm.feed, tcfg, params=strat.params_array(),
                            state=strat.initial_state(), timer_ns=int(timer_ns or 0),
                            driver=getattr(type(strat), "run_nb", None))
        mode = "compiled"
    else:
        tres = run_tick(strat, tm.feed, tcfg, timer_ns=timer_ns)
        mode = "python"
    t_run = time.perf_counter() - t1
    return TickRunResult(cfg, strat, tm, tres, sample_ns, {"load": t_load, "run": t_run}, mode)
