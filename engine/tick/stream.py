"""Streamed tick feeds: the simulator replays a window of the merged feed at a time, so memory
stays bounded by the window (about ``chunk_rows`` rows) plus the outputs, whatever the length
of the feed.

    from engine.tick.stream import FeedStream, catalog_sources
    stream = FeedStream(catalog_sources(cat, "BTCUSDT", ("depth", "trade")), tick_size=0.1,
                        feed_latency="recorded", chunk_rows=1_000_000, **catalog_facts(...))
    sim = TickSim(stream.first(), cfg, stream=stream)     # then run_tick / run_compiled as usual

How it stays exact. Each stream (depth, trade, quote or MBO) is read in time order, chunk by
chunk. Rows are merged into the feed's order (exchange time, then ``trade < depth < quote``,
then input order: the order :func:`engine.tick.feed.build_feed` gives the whole feed) only up
to a frontier below which every stream is complete: the smallest last timestamp read among
the streams not yet exhausted. The simulator's window holds the merged rows not yet consumed
by both its clocks plus the new piece, and ``sv[S_HORIZON]`` = the frontier - 1: every market
row with exchange time <= the horizon is in the window, and since local times are never
earlier than exchange times, so is every row the strategy can have received by then. The
advance kernels stop at the horizon (``W_MORE``) without delivering anything to the strategy;
:meth:`TickSim.advance` and :func:`engine.tick.loop.run_compiled` then load the next window
and call again. Ranks, the local clock's running maximum and the seeded feed-latency draws
are carried across pieces (:class:`engine.tick.feed.Carry`), so a streamed run gives the same
fills, orders and equity as the same run on the whole feed, bit for bit
(``tests/test_tick_stream.py``, with windows of 1,000 rows).

One fact about the whole feed is needed before the first row: whether depth rows mark batch
ends (``DEPTH_LAST`` anywhere). :func:`catalog_facts` reads it in one pass over the depth
rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from data.errors import ConfigError, DataError
from engine.tick import layout as L
from engine.tick.feed import STREAM_PRIORITY, Carry, Feed, build_feed

_KINDS = ("depth", "trade", "quote", "mbo")


def array_sources(*, chunk_rows: int, **arrays) -> dict[str, Iterator[np.ndarray]]:
    """In-memory canonical arrays cut into chunks of ``chunk_rows`` rows (tests, and chunked
    runs of files that are read whole)."""
    def chunks(arr):
        for i in range(0, len(arr), chunk_rows):
            yield arr[i: i + chunk_rows]

    return {k: chunks(arr) for k, arr in arrays.items() if arr is not None}


def array_facts(feed_latency=None, **arrays) -> dict:
    """:func:`catalog_facts` for in-memory arrays."""
    depth = arrays.get("depth")
    return {"has_batches": depth is not None and bool(np.any(depth["flags"] & 4))}


def catalog_sources(catalog, symbol: str, kinds, *, start=None, end=None,
                    chunk_rows: int = 1_000_000) -> dict[str, Iterator[np.ndarray]]:
    """One :meth:`data.catalog.Catalog.scan` per kind (bounded memory per stream)."""
    return {k: catalog.scan(k, symbol, start, end, chunk_rows=chunk_rows) for k in kinds}


def catalog_facts(catalog, symbol: str, kinds, feed_latency=None, *, start=None, end=None,
                  chunk_rows: int = 1_000_000) -> dict:
    """Whether the depth rows mark batch ends (a bounded pass, stopping at the first mark)."""
    if "depth" in kinds:
        for arr in catalog.scan("depth", symbol, start, end, chunk_rows=chunk_rows):
            if np.any(arr["flags"] & 4):
                return {"has_batches": True}
    return {"has_batches": False}


class _Reader:
    """One stream: a buffer of rows read but not merged yet, and the reader behind it."""

    def __init__(self, name: str, it: Iterator[np.ndarray]) -> None:
        self.name = name
        self.it = iter(it)
        self.buf: np.ndarray | None = None
        self.done = False
        self.rows_read = 0
        self.last_ts: int | None = None

    def pull(self) -> bool:
        """Read one more chunk into the buffer; False when the stream is exhausted."""
        if self.done:
            return False
        for arr in self.it:
            if not len(arr):
                continue
            if self.last_ts is not None and arr["ts"][0] < self.last_ts:
                raise DataError(f"{self.name} rows are not in time order", column="ts",
                                row=self.rows_read, value=int(arr["ts"][0]),
                                fix="sort the stream by ts")
            if len(arr) > 1 and np.any(np.diff(arr["ts"]) < 0):
                i = int(np.flatnonzero(np.diff(arr["ts"]) < 0)[0]) + 1
                raise DataError(f"{self.name} rows are not in time order", column="ts",
                                row=self.rows_read + i, fix="sort the stream by ts")
            self.rows_read += len(arr)
            self.last_ts = int(arr["ts"][-1])
            self.buf = arr if self.buf is None or not len(self.buf) else \
                np.concatenate([self.buf, arr])
            return True
        self.done = True
        return False

    @property
    def pending(self) -> int:
        return 0 if self.buf is None else len(self.buf)

    def take_before(self, frontier: int) -> np.ndarray | None:
        """Rows with ts < frontier (removed from the buffer)."""
        if self.buf is None:
            return None
        k = int(np.searchsorted(self.buf["ts"], frontier, side="left"))
        out, self.buf = self.buf[:k], self.buf[k:]
        return out


class FeedStream:
    """A feed read in pieces (see the module docstring). ``sources``: {kind: iterator of
    canonical arrays in time order}, kinds among depth / trade / quote (L2) or mbo (L3)."""

    def __init__(self, sources: dict[str, Iterator[np.ndarray]], *, tick_size: float,
                 lot_size: float = 1.0, feed_latency="none", seed: int = 0,
                 chunk_rows: int = 1_000_000, has_batches: bool = False,
                 init_levels: tuple = (),
                 l3_counts: tuple[int, int] | None = None) -> None:
        if not isinstance(chunk_rows, int | np.integer) or chunk_rows < 1:
            raise ConfigError("chunk_rows must be an int >= 1", argument="chunk_rows",
                              value=chunk_rows, fix="e.g. 1_000_000")
        unknown = set(sources) - set(_KINDS)
        if unknown:
            raise ConfigError("unknown stream kind", argument="sources", value=sorted(unknown),
                              fix=f"use {', '.join(_KINDS)}")
        if "mbo" in sources and len(sources) > 1:
            raise ConfigError("an L3 feed takes MBO events only", argument="sources",
                              value=sorted(sources), fix="stream either mbo or depth/trade")
        self.kind = "l3" if "mbo" in sources else "l2"
        # streams in the order build_feed concatenates them (its input order tie-break)
        self.readers = [_Reader(k, sources[k]) for k in _KINDS if k in sources]
        self.tick_size = float(tick_size)
        self.lot_size = float(lot_size)
        self.feed_latency = feed_latency
        self.chunk_rows = int(chunk_rows)
        self.carry = Carry(rng=np.random.default_rng(seed), has_batches=bool(has_batches))
        self.init_levels = tuple(init_levels)
        self.l3_counts = l3_counts
        self.t_start: int | None = None
        self.t_end = 0
        self.window: Feed | None = None
        self.pieces = 0
        self.on_piece = None  # callback(piece Feed) for sidecars (mid prices, volume, hashes)

    # -------------------------------------------------------------------------------- merge
    def _next_piece(self) -> tuple[Feed | None, int]:
        """Merge the next rows (about chunk_rows) below the frontier; returns (piece, horizon)."""
        while True:
            live = [r for r in self.readers if not r.done]
            while live and (sum(r.pending for r in self.readers) < self.chunk_rows
                            or any(r.pending == 0 for r in live)):
                short = [r for r in live if r.pending == 0] or \
                    [min(live, key=lambda r: r.pending)]
                for r in short:
                    r.pull()
                live = [r for r in self.readers if not r.done]
            if not live:
                frontier = L.NEVER
            else:
                frontier = min(r.last_ts for r in live)
            parts = {r.name: r.take_before(frontier) for r in self.readers}
            n = sum(0 if p is None else len(p) for p in parts.values())
            if n == 0 and frontier < L.NEVER:
                for r in live:  # one timestamp fills the buffers: read on until it ends
                    if r.last_ts == frontier:
                        r.pull()
                continue
            if n == 0:
                return None, L.NEVER
            horizon = frontier - 1 if frontier < L.NEVER else L.NEVER
            kw = {k: (v if v is not None and len(v) else None) for k, v in parts.items()}
            if self.kind == "l3":
                piece = build_feed(mbo=kw["mbo"], tick_size=self.tick_size,
                                   lot_size=self.lot_size, feed_latency=self.feed_latency,
                                   carry=self.carry)
            else:
                piece = build_feed(depth=kw.get("depth"), trade=kw.get("trade"),
                                   quote=kw.get("quote"), tick_size=self.tick_size,
                                   lot_size=self.lot_size, feed_latency=self.feed_latency,
                                   carry=self.carry)
            self.pieces += 1
            return piece, horizon

    def first(self) -> Feed:
        """The first window (the simulator is created on it)."""
        starts = []
        for r in self.readers:  # the feed starts at its first depth / trade / MBO row
            if r.pending == 0:
                r.pull()
            if r.name != "quote" and r.pending:
                starts.append(int(r.buf["ts"][0]))
        piece, horizon = self._next_piece()
        if piece is None or not starts:
            raise DataError("no market data in the streams", argument="data",
                            fix="check the catalog range / the data")
        self.t_start = min(starts)
        self._observe(piece)
        self.window = self._with_meta(piece)
        self.horizon = horizon
        return self.window

    def _observe(self, piece: Feed) -> None:
        for c in (piece.D, piece.T):
            if len(c[0]):
                self.t_end = max(self.t_end, int(c[1][-1]))
        if len(piece.Q[0]):
            self.t_end = max(self.t_end, int(piece.Q[0][-1]))
        if self.on_piece is not None:
            self.on_piece(piece)

    def _with_meta(self, feed: Feed) -> Feed:
        feed.t_start = self.t_start
        feed.t_end = None  # known at the end only (TickSim reads start, never end)
        feed.has_batches = self.carry.has_batches
        feed.init_levels = self.init_levels
        return feed

    # -------------------------------------------------------------------------------- refill
    def refill(self, sv: np.ndarray) -> Feed:
        """The next window: rows not yet consumed by both clocks + the next piece. Shifts the
        simulator's cursors in ``sv`` and sets ``sv[S_HORIZON]``."""
        w = self.window
        piece, horizon = self._next_piece()
        if self.kind == "l2":
            cd = min(sv[L.S_XD], sv[L.S_LD])
            ct = min(sv[L.S_XT], sv[L.S_LT])
        else:
            cd = min(sv[L.S_XD], sv[L.S_LD])
            ct = 0
        cq = sv[L.S_LQ]
        if piece is not None:
            self._observe(piece)
        new = _join(w, piece, int(cd), int(ct), int(cq))
        sv[L.S_XD] -= cd
        sv[L.S_LD] -= cd
        if self.kind == "l2":
            sv[L.S_XT] -= ct
            sv[L.S_LT] -= ct
        sv[L.S_LQ] -= cq
        sv[L.S_HORIZON] = horizon
        self.horizon = horizon
        self.window = self._with_meta(new)
        return self.window


def _cut(cols: tuple, k: int) -> tuple:
    return tuple(c[k:] for c in cols)


def _cat(a: tuple, b: tuple) -> tuple:
    return tuple(np.concatenate([x, y]) if len(y) else x.copy() for x, y in zip(a, b, strict=True))


def _cat_arr(a, k, b):
    if a is None:
        return b
    a = a[k:]
    if b is None or not len(b):
        return a.copy()
    return np.concatenate([a, b])


def _join(w: Feed, piece: Feed | None, cd: int, ct: int, cq: int) -> Feed:
    """Window ``w`` without its first cd / ct / cq depth (MBO) / trade / quote rows, then
    ``piece``."""
    D, T, Q = _cut(w.D, cd), _cut(w.T, ct), _cut(w.Q, cq)
    if piece is None:
        return Feed(kind=w.kind, tick_size=w.tick_size, lot_size=w.lot_size,
                    D=tuple(c.copy() for c in D), T=tuple(c.copy() for c in T),
                    Q=tuple(c.copy() for c in Q),
                    depth=None if w.depth is None else w.depth[cd:].copy(),
                    trade=None if w.trade is None else w.trade[ct:].copy(),
                    quote=None if w.quote is None else w.quote[cq:].copy(),
                    mbo=None if w.mbo is None else w.mbo[cd:].copy(),
                    feed_latency=w.feed_latency, has_batches=w.has_batches)
    return Feed(kind=w.kind, tick_size=w.tick_size, lot_size=w.lot_size,
                D=_cat(D, piece.D), T=_cat(T, piece.T), Q=_cat(Q, piece.Q),
                depth=_cat_arr(w.depth, cd, piece.depth), trade=_cat_arr(w.trade, ct, piece.trade),
                quote=_cat_arr(w.quote, cq, piece.quote), mbo=_cat_arr(w.mbo, cd, piece.mbo),
                feed_latency=w.feed_latency, has_batches=w.has_batches)


__all__ = ["FeedStream", "array_facts", "array_sources", "catalog_facts", "catalog_sources",
           "STREAM_PRIORITY"]
