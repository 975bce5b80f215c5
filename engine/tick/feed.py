"""Market data for the tick simulator: one deterministic merge of the streams and the local
(strategy-side) clock.

Merge order (DESIGN.md contract 3): by exchange timestamp, then stream priority
``trade < depth < quote`` (a trade is published before the depth change it causes; a quote
summarises the book after it), then input order. A feed that knows its exact interleaving
(the benchmark generator) passes ``seq``: the merged position of every row.

Feed latency gives each row a local receive time ``lts >= ts``, non-decreasing in merge order:

* ``"none"``: ``lts = ts`` (the strategy's book is the exchange book);
* ``"recorded"``: the data's ``ts_recv``; when the capture clock runs behind the exchange
  clock (``ts_recv < ts``, the Binance sample is ~1.5 s behind) the smallest offset seen so far
  (rows in merge order) is taken as the clock difference and removed, so no delay is negative
  and the local time of a row never depends on rows after it;
* an int: a constant delay in ns; ``("exponential", a, mean)`` / ``("uniform", a, b)``: seeded
  random delays (ns).

A window correction of an MBO feed (``data.schema.MBO_CORRECTIONS``, after its message) takes
its message's local time (its delay is drawn and ignored, so the draws of the other rows stay
the same).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import ConfigError, DataError
from data.readers.lobster import DUMMY_ASK, DUMMY_BID
from data.schema import DEPTH, MBO, MBO_CORRECTIONS, MBO_EXECUTE_HIDDEN, QUOTE, TRADE
from engine.book.book import to_ticks

STREAM_PRIORITY = {"trade": 0, "depth": 1, "mbo": 1, "quote": 2}


@dataclasses.dataclass
class Feed:
    """Kernel columns of the merged market streams (see :mod:`engine.tick.l2sim_nb`)."""

    kind: str  # "l2" (DEPTH + TRADE) or "l3" (MBO)
    tick_size: float
    lot_size: float
    D: tuple  # depth or MBO columns
    T: tuple  # trade columns (L2)
    Q: tuple  # quote columns (lts, rank)
    depth: np.ndarray | None  # the canonical arrays, for the strategy hooks
    trade: np.ndarray | None
    quote: np.ndarray | None
    mbo: np.ndarray | None
    feed_latency: str
    has_batches: bool
    init_levels: tuple = ()  # L3: (side index, tick, lots) known before the first event
    t_start: int | None = None  # streamed windows: the whole feed's start / end
    t_end: int | None = None
    #: (ts, best bid, best ask) prices after every event whose book has both sides, when the
    #: data records them (a LOBSTER orderbook file): the mid price series of the run's equity
    top: tuple | None = None

    @property
    def n_events(self) -> int:
        return len(self.D[0]) + len(self.T[0]) + len(self.Q[0])

    @property
    def start(self) -> int:
        if self.t_start is not None:
            return self.t_start
        firsts = [c[0][0] for c in (self.D, self.T) if len(c[0])]
        return int(min(firsts)) if firsts else 0

    @property
    def end(self) -> int:
        if self.t_end is not None:
            return self.t_end
        lasts = [c[1][-1] for c in (self.D, self.T) if len(c[0])]
        if len(self.Q[0]):
            lasts.append(self.Q[0][-1])
        return int(max(lasts)) if lasts else 0


@dataclasses.dataclass
class Carry:
    """What a streamed feed carries from one piece to the next (engine.tick.stream): the
    random generator of the feed latency (numpy draws are the same in pieces as in one call),
    the merged rows so far (ranks), the running maximum of the local clock and the running
    minimum of recorded ``ts_recv - ts`` (the clock offset removed so far, <= 0)."""

    rng: np.random.Generator
    rank0: int = 0
    lts_max: int = -(2**62)
    recorded_offset: int = 0
    has_batches: bool = False


def _latency_draws(model, n: int, rng: np.random.Generator, recorded: np.ndarray | None,
                   offset: int | None = None):
    if model == "none" or model is None:
        return np.zeros(n, np.int64)
    if model == "recorded":
        # the clock difference is the smallest offset seen SO FAR (in merge order): a minimum
        # over the whole capture would move the local times of early rows by stamps received
        # later (look-ahead; found by tests/test_reliability_lookahead_tick.py)
        raw = recorded.astype(np.int64)
        if not n:
            return raw
        run = np.minimum.accumulate(np.minimum(raw, 0))
        if offset is not None:  # streamed: the smallest offset of the pieces before
            np.minimum(run, offset, out=run)
        return raw - run
    if isinstance(model, int | np.integer) and not isinstance(model, bool):
        if model < 0:
            raise ConfigError("feed latency must be >= 0 ns", argument="feed_latency",
                              value=model, fix="pass a delay in ns, 'none' or 'recorded'")
        return np.full(n, int(model), np.int64)
    if isinstance(model, tuple | list) and len(model) == 3 and model[0] in ("exponential",
                                                                            "uniform"):
        kind, a, b = model
        if not (a >= 0 and b >= 0):
            raise ConfigError("feed latency parameters must be >= 0", argument="feed_latency",
                              value=model, fix="e.g. ('exponential', 200_000, 50_000)")
        if kind == "uniform":
            return rng.integers(int(a), int(b) + 1, n).astype(np.int64)
        return (a + rng.exponential(b, n)).astype(np.int64)
    raise ConfigError("unknown feed latency model", argument="feed_latency", value=model,
                      fix="use 'none', 'recorded', an int (ns), ('exponential', a, mean) or "
                          "('uniform', a, b)")


def build_feed(*, depth: np.ndarray | None = None, trade: np.ndarray | None = None,
               quote: np.ndarray | None = None, mbo: np.ndarray | None = None,
               tick_size: float, lot_size: float = 1.0, feed_latency="none", seed: int = 0,
               seq: dict | None = None, carry: Carry | None = None) -> Feed:
    """Merge canonical DEPTH / TRADE / QUOTE arrays (L2) or an MBO array (L3) into kernel
    columns. ``seq``: optional {"depth": positions, "trade": positions} of an exact
    interleaving. Prices are converted to ticks here (off-grid prices raise DataError).
    ``carry``: the arrays are one piece of a streamed feed (see :class:`Carry`)."""
    if not tick_size > 0:
        raise ConfigError("tick_size must be > 0", argument="tick_size", value=tick_size,
                          fix="pass the instrument's minimum price increment")
    streams = {}
    for name, arr, dt in (("depth", depth, DEPTH), ("trade", trade, TRADE),
                          ("quote", quote, QUOTE), ("mbo", mbo, MBO)):
        if arr is None:
            continue
        if arr.dtype != dt:
            raise DataError(f"expected a {name.upper()} array", argument=name,
                            value=str(arr.dtype), fix="use data.schema's canonical dtypes")
        streams[name] = arr
    if mbo is not None and (depth is not None or trade is not None):
        raise ConfigError("an L3 feed takes MBO events only", argument="mbo",
                          fix="pass either mbo=... or depth=/trade=")
    if not streams:
        raise ConfigError("no market data", argument="depth",
                          fix="pass depth=, trade= (L2) or mbo= (L3) arrays")
    names = list(streams)
    ts = np.concatenate([streams[k]["ts"] for k in names]).astype(np.int64)
    recv = np.concatenate([streams[k]["ts_recv"] for k in names]).astype(np.int64)
    which = np.concatenate([np.full(len(streams[k]), j, np.int64) for j, k in enumerate(names)])
    local = np.concatenate([np.arange(len(streams[k]), dtype=np.int64) for k in names])
    n = len(ts)
    if seq is not None:
        pos = np.concatenate([np.asarray(seq[k], np.int64) for k in names])
        order = np.argsort(pos, kind="stable")
    else:
        prio = np.array([STREAM_PRIORITY[k] for k in names], np.int64)[which]
        order = np.lexsort((local, prio, ts))
    if n and np.any(np.diff(ts[order]) < 0):
        raise DataError("exchange timestamps go backwards in the merged stream", column="ts",
                        fix="sort each stream by ts (or pass a consistent seq)")
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed) if carry is None else carry.rng
    off = None if carry is None else carry.recorded_offset
    lat = _latency_draws(feed_latency, n, rng, (recv - ts)[order], off)
    if mbo is not None and n:  # a window correction is received with its message
        lat[np.isin(mbo["event"], MBO_CORRECTIONS)[order]] = 0
    lts_sorted = np.maximum.accumulate(ts[order] + lat) if n else np.zeros(0, np.int64)
    if carry is not None:
        if n:
            if feed_latency == "recorded":
                carry.recorded_offset = min(carry.recorded_offset,
                                            int((recv - ts)[order].min()))
            np.maximum(lts_sorted, carry.lts_max, out=lts_sorted)
            carry.lts_max = int(lts_sorted[-1])
        rank += carry.rank0
        carry.rank0 += n
    lts = np.empty(n, np.int64)
    lts[order] = lts_sorted
    cols: dict[str, tuple] = {}
    start = 0
    for _j, k in enumerate(names):
        m = len(streams[k])
        sl = slice(start, start + m)
        cols[k] = (ts[sl].copy(), lts[sl].copy(), rank[sl].copy())
        start += m
        if m and np.any(np.diff(cols[k][2]) < 0):
            raise DataError(f"{k} rows are not in time order", column="ts",
                            fix="sort the stream by ts")
    empty_i = np.zeros(0, np.int64)
    if mbo is not None:
        from engine.book.book import L3Book

        b = L3Book(tick_size, lot_size=lot_size)
        c_ts, ev, oid, side, ticks, lots = b.kernel_arrays(mbo)
        # hidden executions (type 5) keep their price: an execution through a simulated order's
        # price fills it. Midpoint prices may be off the grid: rounded away from the book side
        # (up for bids, down for asks), so only a price at or through the order counts.
        hid = (ev == MBO_EXECUTE_HIDDEN) & np.isfinite(mbo["price"])
        if hid.any():
            x = mbo["price"][hid] / tick_size
            ticks = ticks.copy()
            ticks[hid] = np.where(side[hid] > 0, np.ceil(x - 1e-9), np.floor(x + 1e-9))
        D = (cols["mbo"][0], cols["mbo"][1], np.ascontiguousarray(ev), np.ascontiguousarray(oid),
             np.ascontiguousarray(side), ticks, lots, cols["mbo"][2])
        T = (empty_i, empty_i, np.zeros(0, np.int8), empty_i, np.zeros(0), empty_i)
        kind = "l3"
        batches = False
    else:
        if depth is not None:
            from engine.book.book import _check_depth

            _check_depth(depth)
            D = (cols["depth"][0], cols["depth"][1], np.ascontiguousarray(depth["side"]),
                 to_ticks(depth["price"], tick_size, check=depth["size"] > 0),
                 np.ascontiguousarray(depth["size"], dtype=np.float64),
                 np.ascontiguousarray(depth["flags"]), cols["depth"][2])
            batches = bool(np.any(depth["flags"] & 4)) if carry is None else carry.has_batches
        else:
            D = (empty_i, empty_i, np.zeros(0, np.int8), empty_i, np.zeros(0),
                 np.zeros(0, np.uint8), empty_i)
            batches = False
        if trade is not None:
            ok = np.isfinite(trade["price"]) & np.isfinite(trade["size"])
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise DataError("trade price or size is NaN / infinite", row=i, column="price",
                                value=float(trade["price"][i]), fix="drop the row")
            T = (cols["trade"][0], cols["trade"][1], np.ascontiguousarray(trade["side"]),
                 to_ticks(trade["price"], tick_size),
                 np.ascontiguousarray(trade["size"], dtype=np.float64), cols["trade"][2])
        else:
            T = (empty_i, empty_i, np.zeros(0, np.int8), empty_i, np.zeros(0), empty_i)
        kind = "l2"
    Q = (cols["quote"][1], cols["quote"][2]) if quote is not None else (empty_i, empty_i)
    return Feed(kind=kind, tick_size=float(tick_size), lot_size=float(lot_size), D=D, T=T, Q=Q,
                depth=depth, trade=trade, quote=quote, mbo=mbo,
                feed_latency=str(feed_latency), has_batches=batches)


def lobster_feed(lob, *, tick_size: float = 0.01, feed_latency="none", seed: int = 0,
                 strict: bool = True) -> Feed:
    """An L3 feed from a :class:`data.readers.lobster.Lobster` (sizes in shares; ``tick_size``
    the instrument's price grid, 0.01 for US equities; 0.0001 is LOBSTER's unit).

    With the orderbook file, the feed replays the book ``tape book check`` reproduces
    (docs/order_book.md): the book before the first message is the file's first row with the
    first message's effect reversed (``Feed.init_levels``, anonymous quantity ahead of every
    later order), and after each message the window rule's changes follow at the message's
    time stamp, as MBO events computed by the check's own kernel
    (:func:`engine.book.lobster.lobster_check_nb`): an MBO_FORGET of each known order on a
    level that left the top L, an MBO_ANON_LEVEL 0 for its anonymous quantity, an
    MBO_ANON_LEVEL with the orderbook file's size for each level that entered the top L from
    beyond it. The simulator's own orders are never touched by them. Without the orderbook
    file the feed is the messages alone.

    ``strict`` (default): the messages must reproduce the orderbook file at every row and
    level (the check of ``tape book check``, whose result comes with the corrections); if they
    do not (a messages file paired with another day's, depth's or symbol's orderbook file, a
    truncated or corrupted file) a :class:`~data.errors.DataError` names the first row, level,
    side and both values. ``strict=False`` builds the feed anyway (the corrections still set
    the levels entering the window to the orderbook file's sizes, so the book then follows
    neither file exactly): for deliberately altered data, e.g. the look-ahead suite's garbage
    after a cut."""
    from engine.book.lobster import check_lobster_data

    ob = lob.orderbook
    if ob is None or not len(ob):
        return build_feed(mbo=lob.messages, tick_size=tick_size, lot_size=1.0,
                          feed_latency=feed_latency, seed=seed)
    m = lob.messages
    res = check_lobster_data(lob, corrections=True)
    if strict and not res.ok:
        raise res.mismatch_error()
    corr = res.corrections
    init, rest = corr[corr[:, 0] < 0], corr[corr[:, 0] >= 0]
    n, k = len(m), len(rest)
    idx = rest[:, 0]
    mbo = np.empty(n + k, MBO)
    mbo[np.arange(n) + np.searchsorted(idx, np.arange(n), side="left")] = m
    c = np.empty(k, MBO)
    c["ts"], c["ts_recv"] = m["ts"][idx], m["ts_recv"][idx]
    c["event"], c["order_id"], c["side"] = rest[:, 1], rest[:, 2], rest[:, 3]
    c["price"], c["size"] = rest[:, 4] / 1e4, rest[:, 5]
    mbo[idx + 1 + np.arange(k)] = c
    feed = build_feed(mbo=mbo, tick_size=tick_size, lot_size=1.0, feed_latency=feed_latency,
                      seed=seed)
    ok = (ob[:, 0] != DUMMY_ASK) & (ob[:, 2] != DUMMY_BID)  # both sides present
    feed.top = (m["ts"][ok], ob[ok, 2] / 1e4, ob[ok, 0] / 1e4)
    per_tick = tick_size / 0.0001  # LOBSTER price units per tick
    levels = sorted((0 if sd == 1 else 1, int(round(p / per_tick)), int(q))
                    for sd, p, q in init[:, 3:6] if q > 0)
    feed.init_levels = tuple(levels)
    return feed
