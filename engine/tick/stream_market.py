"""Streamed tick runs for :func:`engine.run`: the catalog market (``catalog://depth/SYM`` +
``catalog://trade/SYM`` [+ ``catalog://quote/SYM``], or ``catalog://mbo/SYM``) and the sampled
mid-price bars built piece by piece.

Memory of a streamed run: the simulator's window (about ``[tick] chunk_rows`` rows, 250,000
by default), one catalog chunk per stream, a second L2 book that follows the depth rows for the
mid price, and the outputs (orders, fills, one bar per sampling interval). The feed's length
does not enter (benchmarks/bench_tick_stream.py).
"""

from __future__ import annotations

import hashlib

import numpy as np

from data.errors import ConfigError, DataError
from data.schema import BAR

DEFAULT_CHUNK_ROWS = 250_000


class MidBars:
    """Bars of the mid price closing every ``step`` ns from ``start`` (bar k closes at
    ``start + k * step`` and holds the mids with ``ts`` in ``(close - step, close]``), and the
    traded volume; fed in time order, in as many pieces as wanted, with the same result."""

    def __init__(self, start: int, step: int) -> None:
        self.start, self.step = int(start), int(step)
        self.cap = 0
        self.open = self.high = self.low = self.close = self.volume = np.zeros(0)
        self.has = np.zeros(0, bool)
        self.first_mid: float | None = None
        self.last_ts: int | None = None

    def _k(self, ts) -> np.ndarray:
        return -((self.start - np.asarray(ts, np.int64)) // self.step)  # ceil

    def _ensure(self, n: int) -> None:
        if n <= self.cap:
            return
        cap = max(n, 2 * self.cap, 1024)
        for name in ("open", "high", "low", "close", "volume"):
            a = np.zeros(cap)
            a[: self.cap] = getattr(self, name)
            setattr(self, name, a)
        h = np.zeros(cap, bool)
        h[: self.cap] = self.has
        self.has = h
        self.cap = cap

    def add_mids(self, ts, mid) -> None:
        if not len(ts):
            return
        if self.first_mid is None:
            self.first_mid = float(mid[0])
        self.last_ts = int(ts[-1])
        k = self._k(ts)
        self._ensure(int(k[-1]) + 1)
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        ends = np.r_[starts[1:], len(k)] - 1
        ks = k[starts]
        seen = self.has[ks]
        self.open[ks[~seen]] = mid[starts[~seen]]
        self.close[ks] = mid[ends]
        hi = np.maximum.reduceat(mid, starts)
        lo = np.minimum.reduceat(mid, starts)
        self.high[ks] = np.where(seen, np.maximum(self.high[ks], hi), hi)
        self.low[ks] = np.where(seen, np.minimum(self.low[ks], lo), lo)
        self.has[ks] = True

    def add_volume(self, ts, size) -> None:
        if not len(ts):
            return
        k = self._k(ts)
        self._ensure(int(k.max()) + 1)
        np.add.at(self.volume, k, np.asarray(size, np.float64))  # in order, as bincount sums

    def bars(self, end: int) -> np.ndarray:
        """The BAR array up to the bar that closes after ``end`` (and after the last mid)."""
        if self.first_mid is None:
            raise DataError("the book never has both sides: no mid price", argument="data",
                            fix="check the data (a snapshot is needed before the diffs)")
        end = max(int(end), self.last_ts)
        n = int((end - self.start) // self.step) + 2
        self._ensure(n)
        has = self.has[:n]
        bars = np.zeros(n, BAR)
        bars["ts"] = self.start + np.arange(n, dtype=np.int64) * self.step
        close = np.where(has, self.close[:n], np.nan)
        idx = np.where(has, np.arange(n), 0)
        np.maximum.accumulate(idx, out=idx)
        prev = np.where(has[idx], close[idx], self.first_mid)
        bars["close"] = np.where(has, close, prev)
        bars["open"] = np.where(has, self.open[:n], prev)
        bars["high"] = np.where(has, self.high[:n], prev)
        bars["low"] = np.where(has, self.low[:n], prev)
        bars["volume"] = self.volume[:n]
        return bars


class L2Mids:
    """Mid prices after every depth row of an L2 feed, piece by piece (a second L2 book)."""

    def __init__(self, tick_size: float) -> None:
        from engine.book.book import L2Book

        self.book = L2Book(tick_size)

    def __call__(self, D) -> tuple[np.ndarray, np.ndarray]:
        from engine.book.codes import NO_TICK

        ticks, _ = self.book.apply_arrays(D[0], D[2], D[3], D[4], D[5], record_top=True)
        ok = (ticks[:, 0] != NO_TICK) & (ticks[:, 1] != NO_TICK) & (ticks[:, 0] < ticks[:, 1])
        return D[0][ok], self.book.price_of(0.5 * (ticks[ok, 0] + ticks[ok, 1]))


class _Hash:
    """sha256 of a stream read in pieces: equal to data.catalog.files.content_sha256 of it."""

    def __init__(self) -> None:
        self.h = None
        self.rows = 0

    def add(self, arr) -> None:
        if arr is None or not len(arr):
            return
        if self.h is None:
            self.h = hashlib.sha256(str(arr.dtype.descr).encode())
        self.h.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
        self.rows += len(arr)

    def hexdigest(self) -> str:
        return "" if self.h is None else self.h.hexdigest()


def stream_of_arrays(*, depth=None, trade=None, quote=None, mbo=None, tick_size: float,
                     lot_size: float = 1.0, feed_latency="none", seed: int = 0,
                     chunk_rows: int = DEFAULT_CHUNK_ROWS, init_levels: tuple = ()):
    """A :class:`engine.tick.stream.FeedStream` over in-memory canonical arrays (what a
    ``[tick] chunk_rows`` run of a file does; the same results as the whole-feed run)."""
    from engine.tick.l3sim_nb import l3_counts
    from engine.tick.stream import FeedStream, array_facts, array_sources

    arrays = {k: v for k, v in (("depth", depth), ("trade", trade), ("quote", quote),
                                ("mbo", mbo)) if v is not None}
    counts = None
    if mbo is not None:
        from engine.book.book import L3Book

        c = L3Book(tick_size, lot_size=lot_size).kernel_arrays(mbo)
        counts = l3_counts(c[1], c[4])
    return FeedStream(array_sources(chunk_rows=chunk_rows, **arrays), tick_size=tick_size,
                      lot_size=lot_size, feed_latency=feed_latency, seed=seed,
                      chunk_rows=chunk_rows, init_levels=init_levels, l3_counts=counts,
                      **array_facts(feed_latency, **arrays))


def is_catalog_market(market) -> bool:
    from data.catalog import is_ref

    items = market if isinstance(market, list | tuple) else [market]
    return bool(items) and all(is_ref(m) for m in items)


def load_catalog_market(market, tick: dict, seed: int, sample_ns: int):
    """A streamed :class:`engine.tick.backtest.TickMarket` from catalog references: one symbol,
    kinds depth + trade (+ quote) or mbo, the same start / end on every reference."""
    from data.catalog import Catalog, parse_ref
    from engine.tick.backtest import TickMarket
    from engine.tick.stream import FeedStream, catalog_facts, catalog_sources

    refs = list(market) if isinstance(market, list | tuple) else [market]
    parsed = [parse_ref(r) for r in refs]
    syms = {p.symbol for p in parsed}
    spans = {(p.start, p.end, p.root) for p in parsed}
    kinds = [p.kind for p in parsed]
    if len(syms) != 1 or len(spans) != 1 or len(set(kinds)) != len(kinds):
        raise ConfigError("a streamed tick run takes one symbol: one reference per kind, the "
                          "same start / end / root on each", argument="data", value=refs,
                          fix='e.g. ["catalog://depth/BTCUSDT", "catalog://trade/BTCUSDT"]')
    if not set(kinds) <= {"depth", "trade", "quote", "mbo"} or ("mbo" in kinds and len(kinds) > 1) \
            or not ({"depth", "trade", "mbo"} & set(kinds)):
        raise ConfigError("tick runs stream depth + trade (+ quote) or mbo data",
                          argument="data", value=kinds,
                          fix="reference catalog://depth/SYM and catalog://trade/SYM")
    symbol = syms.pop()
    start, end, root = parsed[0].start, parsed[0].end, parsed[0].root
    cat = Catalog(root)
    inst = None
    for k in kinds:
        inst = inst or cat.instrument(k, symbol)
    tick_size = tick.get("tick_size") or (inst.tick_size if inst is not None else None)
    if not tick_size:
        raise ConfigError("the tick size of a catalog tick run is unknown",
                          argument="tick.tick_size", value=None,
                          fix="set [tick] tick_size (the instrument's price increment)")
    chunk = tick.get("chunk_rows", DEFAULT_CHUNK_ROWS)
    flat = tick.get("feed_latency", "recorded")
    if isinstance(flat, list):
        flat = tuple(flat)
    if "mbo" in kinds:
        raise ConfigError("catalog MBO data is not streamed yet (its L3 book is sized from the "
                          "whole feed)", argument="data", value=refs,
                          fix="run the LOBSTER files (tick.chunk_rows streams them in windows)")
    order = [k for k in ("depth", "trade", "quote") if k in kinds]
    facts = catalog_facts(cat, symbol, order, flat, start=start, end=end, chunk_rows=chunk)
    stream = FeedStream(catalog_sources(cat, symbol, order, start=start, end=end,
                                        chunk_rows=chunk),
                        tick_size=float(tick_size), lot_size=float(tick.get("lot_size", 1.0)),
                        feed_latency=flat, seed=seed, chunk_rows=chunk, **facts)
    hashes = {k: _Hash() for k in order}
    mids = L2Mids(float(tick_size))
    state: dict = {}

    def on_piece(piece) -> None:
        if "bars" not in state:
            state["bars"] = MidBars(stream.t_start, sample_ns)
        acc = state["bars"]
        for k, arr in (("depth", piece.depth), ("trade", piece.trade), ("quote", piece.quote)):
            if k in hashes:
                hashes[k].add(arr)
        acc.add_mids(*mids(piece.D))
        acc.add_volume(piece.T[0], piece.T[4])

    stream.on_piece = on_piece
    sources = [{"symbol": symbol, "source": r, "sha256": "", "rows": 0} for r in refs]

    def finish() -> np.ndarray:
        for src, p in zip(sources, parsed, strict=True):
            src["sha256"] = hashes[p.kind].hexdigest()
            src["rows"] = hashes[p.kind].rows
        return state["bars"].bars(stream.t_end)

    calendar = tick.get("calendar") or (inst.calendar if inst is not None else "24/7")
    tm = TickMarket(None, symbol, calendar, sources, np.zeros(0, np.int64), np.zeros(0))
    tm.stream = stream
    tm.finish_bars = finish
    return tm
