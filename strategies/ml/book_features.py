"""Order-book features from tick data, sampled on a decision grid (causal).

A book source becomes :class:`BookEvents`: after every consistent book update, the best ``L``
levels of each side (prices, sizes) and its time, plus the trades (time, aggressor sign, size).
:func:`lobster_events` reads them from a LOBSTER day (the orderbook file is the book after each
message; executions of type 4/5 are the trades, aggressor = the opposite of the resting order's
direction); :func:`binance_events` replays a Binance capture's synchronised depth stream
(:func:`data.readers.sync_depth`) through :class:`engine.book.L2Book` and uses receive times
(what a trader there would have known).

:func:`book_features` samples on a grid of ``interval`` bins ``[g - interval, g)`` stamped at the
bin end ``g`` (the convention of :func:`data.resample.time_bars`). The value at ``g`` uses
events with time < g only:

==================  =========================================================================
``spread_bps``      (ask1 - bid1) / mid x 1e4 at g
``imb_k``           (bid depth - ask depth) / (bid depth + ask depth) over the k best levels
``micro_bps``       (microprice - mid) / mid x 1e4; microprice = (bid x askSz + ask x bidSz) / (bidSz + askSz)
``ofi``             order-flow imbalance of the bin (Cont, Kukanov & Stoikov 2014, best level),
                    divided by the bin's mean best-level depth (bid + ask) / 2
``tsi``             trade-sign imbalance: (buy - sell aggressor volume) / volume in the bin (0: none)
``log_trades``      log(1 + number of trades in the bin)
==================  =========================================================================

It also builds mid-price bars on the same grid (open = mid at the bin start, high/low over the
bin's updates, close = mid at g, volume = traded size) that the bar features, labels and the
backtest use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from data.errors import ConfigError, DataError
from data.schema import BAR, DEPTH_LAST
from data.timeutil import parse_duration


@dataclass
class BookEvents:
    ts: np.ndarray  # int64 ns, non-decreasing
    bid_px: np.ndarray  # float64 [n, L]; NaN where the level is empty
    bid_sz: np.ndarray
    ask_px: np.ndarray
    ask_sz: np.ndarray
    trade_ts: np.ndarray
    trade_sign: np.ndarray  # +1 buyer-initiated, -1 seller-initiated
    trade_size: np.ndarray
    symbol: str = ""

    def until(self, cut: int | None) -> BookEvents:
        """The events with time <= cut (the data a truncated run has)."""
        if cut is None:
            return self
        k = int(np.searchsorted(self.ts, cut, side="right"))
        j = int(np.searchsorted(self.trade_ts, cut, side="right"))
        return BookEvents(self.ts[:k], self.bid_px[:k], self.bid_sz[:k], self.ask_px[:k],
                          self.ask_sz[:k], self.trade_ts[:j], self.trade_sign[:j],
                          self.trade_size[:j], self.symbol)


def lobster_events(lob) -> BookEvents:
    """From a :class:`data.readers.Lobster` read with its orderbook file."""
    from data.readers.lobster import DUMMY_ASK, DUMMY_BID, PRICE_SCALE

    if lob.orderbook is None:
        raise DataError("LOBSTER book features need the orderbook file", file=lob.message_file,
                        fix="read_lobster(message_file, orderbook_file)")
    ob = lob.orderbook
    ap, asz, bp, bsz = (ob[:, i::4].astype(np.float64) for i in range(4))
    ap[(ob[:, 0::4] >= DUMMY_ASK) | (ob[:, 1::4] <= 0)] = np.nan
    bp[(ob[:, 2::4] <= DUMMY_BID) | (ob[:, 3::4] <= 0)] = np.nan
    ap /= PRICE_SCALE
    bp /= PRICE_SCALE
    asz[np.isnan(ap)] = 0.0
    bsz[np.isnan(bp)] = 0.0
    m = lob.messages
    ex = (m["event"] == 4) | (m["event"] == 5)
    return BookEvents(m["ts"].copy(), bp, bsz, ap, asz, m["ts"][ex].copy(),
                      -m["side"][ex].astype(np.float64), m["size"][ex].astype(np.float64),
                      lob.symbol)


def binance_events(stream, *, levels: int = 10, tick_size: float | None = None) -> BookEvents:
    """From a :class:`data.readers.BinanceStream`: replay the synchronised depth stream, record
    the top ``levels`` after each atomic batch (rows flagged DEPTH_LAST) while the book is valid."""
    from data.readers import sync_depth
    from engine.book import L2Book

    depth = sync_depth(stream).depth
    book = L2Book(tick_size or stream.tick_size_hint)
    ends = np.flatnonzero(depth["flags"] & DEPTH_LAST) + 1
    n = len(ends)
    bp, bs, ap, asz = (np.full((n, levels), np.nan) for _ in range(4))
    bs[:] = 0.0
    asz[:] = 0.0
    ts = np.empty(n, np.int64)
    keep = np.zeros(n, bool)
    start = 0
    for i, e in enumerate(ends):
        book.apply(depth[start:e])
        start = e
        ts[i] = depth["ts_recv"][e - 1]
        if not book.valid:
            continue
        keep[i] = True
        p, q = book.levels("bid", levels)
        bp[i, : len(p)], bs[i, : len(q)] = p, q
        p, q = book.levels("ask", levels)
        ap[i, : len(p)], asz[i, : len(q)] = p, q
    order = np.argsort(ts[keep], kind="stable")
    tr = stream.trades
    tord = np.argsort(tr["ts_recv"], kind="stable")
    return BookEvents(ts[keep][order], bp[keep][order], bs[keep][order], ap[keep][order],
                      asz[keep][order], tr["ts_recv"][tord].copy(),
                      tr["side"][tord].astype(np.float64), tr["size"][tord].astype(np.float64),
                      stream.symbol)


@dataclass
class BookFrame:
    ts: np.ndarray  # grid (bin ends)
    names: list[str]
    X: np.ndarray  # [bins, features]
    bars: np.ndarray  # BAR rows of the mid price on the grid (NaN-free rows only)
    half_spread_bps: float  # median half spread, a cost hint for bar backtests

    def feature_callables(self) -> dict:
        """{name: f(bars)} for :class:`strategies.ml.features.FeatureSet` ``custom``: each looks
        its value up by the bar's time (bars must come from this frame's grid)."""
        out = {}
        for k, nm in enumerate(self.names):
            def f(bars, k=k):
                pos = np.searchsorted(self.ts, bars["ts"])
                if (pos >= len(self.ts)).any() or (self.ts[np.minimum(pos, len(self.ts) - 1)]
                                                   != bars["ts"]).any():
                    raise DataError("bars are not on the book-feature grid", argument="bars",
                                    fix="use BookFrame.bars")
                return self.X[pos, k]
            out[nm] = f
        return out


def _grid(first: int, last: int, step: int) -> np.ndarray:
    g0 = (first // step + 1) * step  # end of the bin holding the first event
    return np.arange(g0, last + step + 1, step, dtype=np.int64)[: max((last - g0) // step + 2, 0)]


def book_features(ev: BookEvents, interval, *, levels: Sequence[int] = (1, 3, 5),
                  start: int | None = None, end: int | None = None) -> BookFrame:
    """Sample the features of the module docstring on ``interval`` bins (see there).

    The grid runs from the bin holding ``start`` (default: the first update) to the bin holding
    ``end`` (default: the last update); a truncated history passes its cut time as ``end``:
    "nothing happened until then" is information too."""
    step = parse_duration(interval, argument="interval")
    L = ev.bid_px.shape[1]
    if any(k < 1 or k > L for k in levels):
        raise ConfigError("imbalance levels must be within the book depth", argument="levels",
                          value=list(levels), fix=f"use levels between 1 and {L}")
    if len(ev.ts) == 0:
        raise DataError("no book updates", argument="events", fix="check the input files")
    first = int(ev.ts[0]) if start is None else int(start)
    last = int(ev.ts[-1]) if end is None else max(int(end), int(ev.ts[-1]))
    g = _grid(first, last, step)
    idx = np.searchsorted(ev.ts, g, side="left") - 1  # last update strictly before g
    lo = np.searchsorted(ev.ts, g - step, side="left")  # first update in the bin
    bid, ask = ev.bid_px[:, 0], ev.ask_px[:, 0]
    bq, aq = ev.bid_sz[:, 0], ev.ask_sz[:, 0]
    mid = (bid + ask) / 2.0
    ok = idx >= 0
    at = np.where(ok, idx, 0)

    def pick(a):
        out = a[at].astype(np.float64)
        out[~ok] = np.nan
        return out

    names, cols = ["spread_bps"], [pick((ask - bid) / mid * 1e4)]
    for k in levels:
        b = np.cumsum(ev.bid_sz[:, :k], axis=1)[:, -1]
        a = np.cumsum(ev.ask_sz[:, :k], axis=1)[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            names.append(f"imb_{k}")
            cols.append(pick((b - a) / (b + a)))
    with np.errstate(invalid="ignore", divide="ignore"):
        micro = (bid * aq + ask * bq) / (bq + aq)
        names.append("micro_bps")
        cols.append(pick((micro - mid) / mid * 1e4))
    # order-flow imbalance per update, summed per bin (update n vs n-1)
    e = np.zeros(len(ev.ts))
    pb, pa = np.r_[np.nan, bid[:-1]], np.r_[np.nan, ask[:-1]]
    pbq, paq = np.r_[0.0, bq[:-1]], np.r_[0.0, aq[:-1]]
    with np.errstate(invalid="ignore"):
        e = (np.where(bid >= pb, bq, 0.0) - np.where(bid <= pb, pbq, 0.0)
             - np.where(ask <= pa, aq, 0.0) + np.where(ask >= pa, paq, 0.0))
    e[~np.isfinite(e)] = 0.0
    ce = np.r_[0.0, np.cumsum(e)]
    dep = np.where(np.isfinite(bq + aq), (bq + aq) / 2.0, 0.0)
    cd = np.r_[0.0, np.cumsum(dep)]
    hi = idx + 1  # updates lo..idx are in the bin
    cnt = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        ofi = (ce[hi] - ce[lo]) / ((cd[hi] - cd[lo]) / cnt)
    ofi[(cnt <= 0) | ~np.isfinite(ofi)] = 0.0
    names.append("ofi")
    cols.append(ofi)
    tlo = np.searchsorted(ev.trade_ts, g - step, side="left")
    thi = np.searchsorted(ev.trade_ts, g, side="left")
    cs = np.r_[0.0, np.cumsum(ev.trade_sign * ev.trade_size)]
    cv = np.r_[0.0, np.cumsum(ev.trade_size)]
    vol = cv[thi] - cv[tlo]
    with np.errstate(invalid="ignore", divide="ignore"):
        tsi = np.where(vol > 0, (cs[thi] - cs[tlo]) / vol, 0.0)
    names += ["tsi", "log_trades"]
    cols += [tsi, np.log1p(thi - tlo).astype(np.float64)]
    X = np.column_stack(cols)
    X[~np.isfinite(X)] = np.nan
    # mid bars on the grid
    close = pick(mid)
    open_ = np.r_[np.nan, close[:-1]]
    mids = np.where(np.isfinite(mid), mid, -np.inf)
    hi_in = np.maximum.reduceat(mids, np.minimum(lo, len(mid) - 1)) if len(mid) else mids
    mids_lo = np.where(np.isfinite(mid), mid, np.inf)
    lo_in = np.minimum.reduceat(mids_lo, np.minimum(lo, len(mid) - 1)) if len(mid) else mids_lo
    has = cnt > 0
    high = np.fmax(np.fmax(open_, close), np.where(has, hi_in, np.nan))
    low = np.fmin(np.fmin(open_, close), np.where(has, lo_in, np.nan))
    open_ = np.where(np.isfinite(open_), open_, close)
    bars = np.zeros(len(g), BAR)
    bars["ts"], bars["open"], bars["high"], bars["low"], bars["close"], bars["volume"] = (
        g, open_, high, low, close, vol)
    good = np.isfinite(close) & np.isfinite(high) & np.isfinite(low)
    half = float(np.nanmedian(cols[0])) / 2.0 if np.isfinite(cols[0]).any() else float("nan")
    return BookFrame(g[good], names, X[good], bars[good], half)
