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
| ``stop_trigger`` | ``"trade"`` (default: a trade at or through the stop) or ``"book"`` (best ask >= stop for a buy stop, best bid <= stop for a sell stop) |
| ``timer_ns`` | ``on_timer`` interval (default: the strategy's ``timer_ns``) |
| ``sample`` | equity / prices sampling interval: ``"1s"`` (default), ``"1min"``, ``"1d"``, int ns (``sample_ns`` is the old spelling) |
| ``calendar`` | ``"24/7"`` or ``"session"`` (default: 24/7 for Binance, session for LOBSTER) |
| ``chunk_rows`` | stream the feed in windows of about this many rows (catalog data: always, default 250,000; files: when set). Same fills as the whole-feed run |
| ``session`` | length of a trading session for ``calendar = "session"`` (default ``"6.5h"``) |

Metrics use every sampled step (``[metrics] sampling = "none"``) and, unless ``[metrics]
periods_per_year`` is set, ``periods_per_year`` follows the interval and the calendar (see
:func:`tick_periods_per_year`); both are stated in stats.json ``conventions`` (``step``,
``periods_basis``) and in the report.

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

from data.errors import ConfigError, DataError, RunError
from data.schema import Instrument
from engine import types as T
from engine.result import Result
from engine.tick.feed import Feed, build_feed, lobster_feed
from engine.tick.sim import TickConfig

TICK_HOOKS = ("on_book", "on_trade", "on_quote", "on_timer")
_SIM_KEYS = ("queue", "queue_power", "entry_latency", "response_latency", "maker_fee",
             "taker_fee", "partial_fills", "impact", "impact_coef", "impact_tau_ns",
             "stop_trigger")


NS_PER_DAY = 86_400 * 10**9


def tick_periods_per_year(sample_ns: int, calendar: str,
                          session_ns: int = 23_400 * 10**9) -> tuple[float, str]:
    """Periods per year of equity sampled every ``sample_ns`` and how it was derived.

    24/7 markets (crypto): ``365 * 86400 s / interval``. Equity sessions: ``252 * session /
    interval`` for intervals up to one session, ``252 / days`` for whole days (a day is one
    session); anything in between has no sensible count and is refused.
    """
    if calendar == "24/7":
        return 365 * NS_PER_DAY / sample_ns, f"24/7: 365 * 86400 s / {sample_ns / 1e9:g} s"
    if calendar != "session":
        raise ConfigError("unknown calendar", argument="tick.calendar", value=calendar,
                          fix='use "24/7" (crypto) or "session" (exchange trading hours)')
    if sample_ns <= session_ns:
        return (252 * session_ns / sample_ns,
                f"session: 252 * {session_ns / 1e9:g} s / {sample_ns / 1e9:g} s")
    if sample_ns % NS_PER_DAY == 0:
        d = sample_ns // NS_PER_DAY
        return 252 / d, f"session: 252 / {d} day(s)"
    raise ConfigError("a sampling interval longer than the session must be whole days",
                      argument="tick.sample", value=f"{sample_ns / 1e9:g} s",
                      fix='use at most the session length (e.g. "1min") or "1d"')


def _sample_ns(tick: dict) -> tuple[int, str]:
    from data.timeutil import parse_duration

    if "sample" in tick and "sample_ns" in tick:
        raise ConfigError("give either tick.sample or tick.sample_ns", argument="tick.sample",
                          value=tick["sample"], fix="remove tick.sample_ns")
    raw = tick.get("sample", tick.get("sample_ns", "1s"))
    try:
        v = parse_duration(raw, argument="tick.sample")
    except DataError as exc:
        raise ConfigError("not a sampling interval", argument="tick.sample", value=raw,
                          fix="use e.g. \"1s\", \"1min\" or \"1d\"") from exc
    if v <= 0:
        raise ConfigError("the sampling interval must be > 0", argument="tick.sample", value=raw,
                          fix='e.g. "1s"')
    return v, raw if isinstance(raw, str) else f"{v / 1e9:g}s"


def is_tick_run(cfg, strat, market) -> bool:
    from engine.tick.loop import _defines

    if cfg.tick or isinstance(market, Feed):
        return True
    from engine.tick.stream_market import is_catalog_market

    if is_catalog_market(market):
        from data.catalog import parse_ref

        items = market if isinstance(market, list | tuple) else [market]
        return any(parse_ref(m).kind in ("depth", "mbo") for m in items)
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
    stream: Any = None  # a FeedStream: the run reads the feed window by window
    finish_bars: Any = None  # streamed catalog runs: () -> the mid bars built piece by piece


def load_tick_market(market: Any, tick: dict, seed: int, sample_ns: int = 10**9) -> TickMarket:
    """A LOBSTER message file (orderbook file next to it), a Binance USD-M capture, a Feed,
    or catalog references (streamed). ``[tick] chunk_rows`` streams a file's feed in windows."""
    from engine.tick.stream_market import is_catalog_market, load_catalog_market

    if is_catalog_market(market):
        return load_catalog_market(market, tick, seed, sample_ns)
    tm = _load_tick_file(market, tick, seed)
    if "chunk_rows" in tick:
        from engine.tick.stream_market import stream_of_arrays

        if isinstance(market, Feed):
            raise ConfigError("a prepared Feed cannot be streamed", argument="tick.chunk_rows",
                              value=tick["chunk_rows"], fix="pass the data file (or drop chunk_rows)")
        f = tm.feed
        flat = tick.get("feed_latency", "recorded")
        flat = tuple(flat) if isinstance(flat, list) else flat
        if f.kind == "l3":
            flat = "none" if flat == "recorded" else flat
        tm.stream = stream_of_arrays(depth=f.depth, trade=f.trade, quote=f.quote, mbo=f.mbo,
                                     tick_size=f.tick_size, lot_size=f.lot_size,
                                     feed_latency=flat, seed=seed,
                                     chunk_rows=int(tick["chunk_rows"]),
                                     init_levels=f.init_levels)
    return tm


def _load_tick_file(market: Any, tick: dict, seed: int) -> TickMarket:
    flat = tick.get("feed_latency", "recorded")
    if isinstance(flat, list):
        flat = tuple(flat)
    if isinstance(market, Feed):
        vol_ts, vol = market.T[0], market.T[4]
        if market.kind == "l3" and market.mbo is not None:  # executions are the trades
            ex = np.isin(market.mbo["event"], (4, 5))
            vol_ts, vol = market.mbo["ts"][ex], market.mbo["size"][ex]
        return TickMarket(market, "ASSET", tick.get("calendar", "24/7"),
                          [{"symbol": "ASSET", "source": "<feed>", "sha256": "",
                            "rows": market.n_events}], vol_ts, vol, market.top)
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
        return TickMarket(feed, lob.symbol, tick.get("calendar", "session"),
                          [{"symbol": lob.symbol, "source": str(path), "sha256": _sha256(path),
                            "rows": int(len(m))}], m["ts"][ex], m["size"][ex], feed.top)
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
    if f.kind == "l3":
        return _l3_mid_series(f)
    from engine.book.book import L2Book
    from engine.book.codes import NO_TICK

    book = L2Book(f.tick_size)
    D = f.D
    ticks, _ = book.apply_arrays(D[0], D[2], D[3], D[4], D[5], record_top=True)
    ok = (ticks[:, 0] != NO_TICK) & (ticks[:, 1] != NO_TICK) & (ticks[:, 0] < ticks[:, 1])
    return D[0][ok], book.price_of(0.5 * (ticks[ok, 0] + ticks[ok, 1]))


def _l3_mid_series(f: Feed) -> tuple[np.ndarray, np.ndarray]:
    """The mid price after every MBO event of an L3 feed that does not record its top (a
    generated or full-depth MBO feed): the feed replayed on its own L3 book, from its initial
    levels. Exact for a full-depth feed; a depth-limited one (LOBSTER) records its top."""
    from engine.book.book import ticks_to_price
    from engine.tick.l3sim_nb import l3_mids_nb, l3_state_for

    lv, od, ht, meta = l3_state_for(f)
    D = f.D
    ts, bid, ask, st = l3_mids_nb(lv, od, ht, meta, D[0], D[2], D[3], D[4], D[5], D[6])
    if st:
        raise RunError("the L3 book sized for this feed overflowed while computing mid prices",
                       argument="market", value=int(st), fix="report this as a bug")
    return ts, 0.5 * (ticks_to_price(bid, f.tick_size) + ticks_to_price(ask, f.tick_size))


def _mid_bars(tm: TickMarket, sample_ns: int):
    """Bars of the mid price closing every ``sample_ns`` from the first event; the first bar
    closes AT the first event, so the equity starts at the initial capital (no fill can come
    before the first market event) and a run shorter than one interval still has a return."""
    from engine.tick.stream_market import MidBars

    ts, mid = _mid_series(tm)
    acc = MidBars(tm.feed.start, sample_ns)
    acc.add_mids(ts, mid)
    acc.add_volume(tm.volume_ts, tm.volume)
    return acc.bars(tm.feed.end)


class TickRunResult(Result):
    """A :class:`engine.result.Result` of a tick run (same frames, stats and run folder; fills
    carry ``queue_ahead`` and ``latency_ns``)."""

    def __init__(self, cfg, strat, tm: TickMarket, tres, bars: np.ndarray, timings: dict,
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

        mkt = np.empty((N_MKT, len(bars), 1))
        for k, fld in ((M_OPEN, "open"), (M_HIGH, "high"), (M_LOW, "low"), (M_CLOSE, "close"),
                       (M_VOLUME, "volume")):
            mkt[k, :, 0] = bars[fld]
        mkt[M_MARK, :, 0] = bars["close"]
        inst = Instrument(symbol=tm.symbol, tick_size=tres.sim.feed.tick_size, lot_size=0.0,
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


def _tick_metrics(cfg, tick: dict, calendar: str, sample_ns: int, sample_txt: str):
    """``[metrics]`` of a tick run: every sampled step, periods per year from the interval."""
    from data.timeutil import parse_duration

    m = dict(cfg.metrics)
    m.setdefault("sampling", "none")
    session = parse_duration(tick.get("session", "6.5h"), argument="tick.session")
    ppy, basis = tick_periods_per_year(sample_ns, calendar, session)
    if m["sampling"] == "none":
        m.setdefault("step", sample_txt)
        if "periods_per_year" not in m:
            m["periods_per_year"] = ppy
            m["periods_basis"] = basis
    return dataclasses.replace(cfg, metrics=m)


def run_tick_backtest(cfg, strat, market, t0: float) -> TickRunResult:
    """The tick path of :func:`engine.run` (see the module docstring)."""
    from engine.tick.loop import run_compiled, run_tick

    tick = dict(cfg.tick)
    unknown = set(tick) - set(_SIM_KEYS) - {"book", "tick_size", "lot_size", "feed_latency",
                                            "timer_ns", "sample_ns", "sample", "session",
                                            "calendar", "chunk_rows"}
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
    sample_ns, sample_txt = _sample_ns(tick)
    tm = load_tick_market(market, tick, cfg.seed, sample_ns)
    feed = tm.stream if tm.stream is not None else tm.feed
    cfg = _tick_metrics(cfg, tick, tm.calendar, sample_ns, sample_txt)
    timer_ns = tick.get("timer_ns", getattr(strat, "timer_ns", None))
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    mode = cfg.mode
    step = getattr(type(strat), "step_nb", None)
    if mode == "compiled" or (mode == "auto" and step is not None and feed.kind == "l2"):
        if step is None:
            from data.errors import StrategyError

            raise StrategyError("mode 'compiled' needs a strategy with a step_nb kernel",
                                argument="mode", value=type(strat).__name__,
                                fix="use mode='python'")
        tres = run_compiled(step, feed, tcfg, params=strat.params_array(),
                            state=strat.initial_state(), timer_ns=int(timer_ns or 0),
                            driver=getattr(type(strat), "run_nb", None))
        mode = "compiled"
    else:
        tres = run_tick(strat, feed, tcfg, timer_ns=timer_ns)
        mode = "python"
    t_run = time.perf_counter() - t1
    bars = tm.finish_bars() if tm.finish_bars is not None else _mid_bars(tm, sample_ns)
    return TickRunResult(cfg, strat, tm, tres, bars, {"load": t_load, "run": t_run}, mode)
