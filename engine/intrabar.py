"""Finer bars inside the run's bars: what decides a bracket whose stop-loss and take-profit are
both reached within one bar.

With OHLC bars alone the order of the touches inside a bar is unknown and the bar model takes
the pessimistic outcome (the stop-loss fills; docs/fills.md). Given finer bars of the same
instrument (e.g. hourly bars under daily ones: ``engine.run(..., intrabar=...)``,
``[data] intrabar`` in a config, ``tape run --intrabar``), the broker kernel walks the finer
bars inside that bar in time order, each along the documented intrabar path, and the first
finer bar where only one of the two orders fills decides, at that finer bar's price
(``engine.step_nb._finer_first_nb``). A finer bar that reaches both is pessimistic again;
stateful orders (trailing stops, stop-limits) keep the coarse rule.

A finer bar belongs to the run's bar of its symbol whose interval holds its close time:
``previous bar's close < finer close <= this bar's close`` (the first bar of a symbol has no
interval: no finer bars; no order can work on it anyway). Finer bars outside the run's range
are ignored; a bar without finer bars keeps the coarse rule.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from data.errors import ConfigError


def _sources(market, intrabar: Any) -> dict[str, Any]:
    """{symbol: source} from a path / array / Bars (one symbol), a list (symbols read from the
    files) or a {symbol: source} dict."""
    from engine.market import _expand

    if isinstance(intrabar, dict):
        out = {str(k): v for k, v in intrabar.items()}
    elif isinstance(intrabar, list | tuple):
        out = {}
        for obj in intrabar:
            for sym, data, *_ in _expand(obj, None):
                out[sym] = data
    elif len(market.symbols) == 1:
        out = {market.symbols[0]: intrabar}
    else:
        raise ConfigError("intrabar data for several symbols must name them",
                          argument="intrabar", value=type(intrabar).__name__,
                          fix="pass {symbol: path, ...} or a list of files that name their "
                              "symbols")
    unknown = sorted(set(out) - set(market.symbols))
    if unknown:
        raise ConfigError("intrabar data for a symbol not in the run", argument="intrabar",
                          value=unknown, fix=f"use symbols of the run: {market.symbols}")
    return out


def attach_intrabar(market, intrabar: Any):
    """A copy of ``market`` (:class:`engine.market.Market`) carrying the finer bars of
    ``intrabar`` (see the module docstring) in ``fine`` (float64[4, m]: open, high, low,
    close) and ``fine_at`` (int64[2, n_sym, n_bars]: first / end row of each bar's finer
    bars). The finer data is read and checked like market data (strictly increasing times);
    ``intrabar`` lists its sources as ``sources`` does (symbol, source, sha256, rows: the run
    folder's manifest.json keeps them)."""
    from engine.market import load_market

    if intrabar is None:
        return market
    parts, sources, n_bars = [], [], market.n_bars
    fine_at = np.zeros((2, len(market.symbols), n_bars), np.int64)
    off = 0
    for sym, obj in _sources(market, intrabar).items():
        s = market.symbols.index(sym)
        fm = load_market({sym: obj})
        fb = fm.bars[sym]
        sources.extend(fm.sources)
        ts = market.bars[sym]["ts"]  # the symbol's own bars (a union clock has bars it lacks)
        own = np.searchsorted(market.ts, ts)
        if own.size < 2 or fb.size == 0:
            continue
        at = np.searchsorted(fb["ts"], ts, side="right")  # finer bars closed by each bar
        lo, hi = int(at[0]), int(at[-1])  # the finer rows inside the symbol's bars
        fine_at[0, s, own[1:]] = off - lo + at[:-1]
        fine_at[1, s, own[1:]] = off - lo + at[1:]
        rows = fb[lo:hi]
        parts.append(np.stack([rows["open"], rows["high"], rows["low"], rows["close"]]))
        off += hi - lo
    fine = np.concatenate(parts, axis=1) if parts else np.empty((4, 0))
    return dataclasses.replace(market, fine=np.ascontiguousarray(fine), fine_at=fine_at,
                               intrabar=sources)
