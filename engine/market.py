"""The market a run sees: bars of one or more symbols on one clock of close times.

``load_market`` accepts a path, a ``catalog://`` reference, a canonical BAR array, a
:class:`data.readers.Bars`, a :class:`data.readers.BarPanel`, or a ``{symbol: any of these}``
dict, and returns a :class:`Market`: the union of every symbol's close times (``ts``) and the
``mkt`` array of :mod:`engine.layout` (nan where a symbol has no bar at a time).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError, DataError
from data.schema import BAR, Instrument
from engine.layout import M_CLOSE, M_HIGH, M_LOW, M_MARK, M_OPEN, M_VOLUME, N_MKT


@dataclasses.dataclass
class Market:
    symbols: list[str]
    ts: np.ndarray  # int64 ns UTC close times (union over symbols)
    mkt: np.ndarray  # float64[N_MKT, n_bars, n_sym]
    instruments: list[Instrument]
    sources: list[dict]  # {"symbol", "source", "sha256", "rows"}
    bars: dict[str, np.ndarray]  # each symbol's own BAR rows (after start/end)
    # finer bars inside the bars (engine/intrabar.py): open/high/low/close rows, and the first
    # / end row of each symbol's bar; empty without (the coarse intrabar rule)
    fine: np.ndarray = dataclasses.field(default_factory=lambda: np.empty((4, 0)))
    fine_at: np.ndarray = dataclasses.field(
        default_factory=lambda: np.empty((2, 0, 0), np.int64))
    intrabar: list | None = None  # the finer bars' sources, as ``sources`` (engine/intrabar.py)

    @property
    def n_bars(self) -> int:
        return int(self.ts.shape[0])

    def sym_index(self, sym: str | None) -> int:
        if sym is None:
            if len(self.symbols) == 1:
                return 0
            raise ConfigError("several symbols: name the one you mean", argument="sym",
                              value=None, fix=f"pass one of {self.symbols}")
        try:
            return self.symbols.index(sym)
        except ValueError:
            raise ConfigError("unknown symbol", argument="sym", value=sym,
                              fix=f"use one of {self.symbols}") from None


def parse_time(value: Any, argument: str, *, end_of_day: bool = False) -> int | None:
    """ISO date/time (UTC when naive), pandas Timestamp or int ns -> int64 ns. With
    ``end_of_day``, a date without a time means the last nanosecond of that UTC day."""
    if value is None or value == "":
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    import pandas as pd

    try:
        t = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"not a date/time: {exc}", argument=argument, value=value,
                          fix="use an ISO date such as 2010-01-31 or 2010-01-31T16:00Z") from None
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    ns = int(t.tz_convert("UTC").value)
    if end_of_day and isinstance(value, str) and len(value.strip()) == 10:
        ns += 86_400_000_000_000 - 1
    return ns


def _ffill(a: np.ndarray) -> np.ndarray:
    """Carry the last non-nan value forward along axis 0 (nan before the first)."""
    idx = np.where(np.isnan(a), 0, np.arange(a.shape[0]).reshape((-1,) + (1,) * (a.ndim - 1)))
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = np.take_along_axis(a, idx, axis=0)
    return out


def _not_increasing(src: str) -> None:
    raise DataError("bar times are not strictly increasing", file=src, column="ts",
                    fix="sort the bars and drop duplicate times")


def _one(obj: Any, symbol: str | None):
    """-> (symbol, BAR array, Instrument | None, source, sha256)."""
    if isinstance(obj, np.ndarray):
        if obj.dtype != BAR:
            missing = [n for n in BAR.names if n not in (obj.dtype.names or ())]
            if missing:
                raise DataError("market array is not a canonical BAR array", argument="market",
                                column=missing[0], value=str(obj.dtype),
                                fix="use data.schema.BAR (ts, open, high, low, close, volume)")
            obj = np.asarray(obj[list(BAR.names)]).astype(BAR)
        return symbol or "ASSET", obj, None, "<array>", ""
    from data.readers import Bars, read_bars

    if isinstance(obj, Bars):
        return obj.symbol, obj.data, obj.instrument, obj.source, obj.sha256
    if isinstance(obj, str | Path):
        text = str(obj)
        if text.startswith("catalog://"):
            from data.catalog import resolve

            b = resolve(text)
            return b.symbol, b.data, b.instrument, text, b.sha256
        if not Path(text).exists():
            where = ("" if Path(text).is_absolute() else
                     f"; relative paths are read from the current folder, {Path.cwd()}, also "
                     "in a config file: run from the folder the path is relative to")
            raise ConfigError("data file not found", argument="data", value=text,
                              fix=f"check the path{where}")
        b = read_bars(text, symbol=symbol)
        return b.symbol, b.data, b.instrument, text, b.sha256
    raise ConfigError("unsupported market data", argument="market", value=type(obj).__name__,
                      fix="pass a path, a catalog:// reference, a BAR array, Bars, a BarPanel "
                          "or a {symbol: ...} dict")


def _expand(obj: Any, symbol: str | None) -> list[tuple]:
    """Like :func:`_one`, but a file holding several symbols (a wide close matrix or a long
    OHLCV table, as :func:`data.readers.dispatch.detect_format` sees it) gives one item per
    symbol (``symbol`` then selects one of them)."""
    if isinstance(obj, str | Path) and not str(obj).startswith("catalog://") and Path(obj).exists():
        from data.readers.dispatch import detect_format, load_source

        fmt, _ = detect_format(obj)
        if fmt in ("wide", "long"):
            return [(d.symbol, d.data, d.instrument, str(obj), d.sha256)
                    for d in load_source(obj, kind="bar", format=fmt, symbol=symbol)]
    return [_one(obj, symbol)]


def load_market(market: Any, *, symbol: str | None = None, start: Any = None,
                end: Any = None) -> Market:
    """The :class:`Market` of ``market`` (see the module docstring). A Market is returned as
    it is when no start/end is given (no copy: ``engine.run(market=load_market(...))`` in a
    loop prepares the arrays once); with start/end its bars are cut again."""
    if isinstance(market, Market):
        if start is None and end is None:
            return market
        market = dict(market.bars)
    items: list[tuple] = []
    if type(market).__name__ == "BarPanel":
        for sym in market.symbols:
            items.append(_one(market[sym], sym))
    elif isinstance(market, dict):
        for sym, obj in market.items():
            one = _one(obj, str(sym))
            items.append((str(sym), *one[1:]))
    elif isinstance(market, list | tuple):
        for obj in market:
            items.extend(_expand(obj, None))
    else:
        items.extend(_expand(market, symbol))
    if not items:
        raise ConfigError("no market data", argument="market", value=market,
                          fix="pass at least one data file or array")
    names = [it[0] for it in items]
    if len(set(names)) != len(names):
        raise ConfigError("the same symbol appears twice", argument="market", value=names,
                          fix="give each data source its own symbol")
    t0, t1 = parse_time(start, "start"), parse_time(end, "end", end_of_day=True)
    if t0 is not None and t1 is not None and t0 > t1:
        raise ConfigError("start is after end", argument="start/end", value=(start, end),
                          fix=f"swap them (start={end}, end={start}): the range is "
                              "start <= bar close time <= end")
    # one symbol, whole range: the order check and the copy into the layout in one pass
    one_pass = len(items) == 1 and t0 is None and t1 is None and items[0][1].dtype == BAR
    bars: dict[str, np.ndarray] = {}
    sources, instruments = [], []
    for sym, data, inst, src, sha in items:
        data = np.ascontiguousarray(data)
        full = data
        if not one_pass and len(data) > 1 and (data["ts"][1:] <= data["ts"][:-1]).any():
            _not_increasing(src)
        if t0 is not None or t1 is not None:  # no mask (a full-length temporary) otherwise
            keep = np.ones(len(data), bool)
            if t0 is not None:
                keep &= data["ts"] >= t0
            if t1 is not None:
                keep &= data["ts"] <= t1
            data = data[keep] if not keep.all() else data
        if len(data) == 0:
            from data.timeutil import ns_to_iso

            span = (f"the data of {sym} runs from {ns_to_iso(int(full['ts'].min()))} to "
                    f"{ns_to_iso(int(full['ts'].max()))} (bar close times, UTC)"
                    if len(full) else f"the data of {sym} has no bars")
            raise DataError("no bars left for this symbol in the start/end range", file=src,
                            argument="start/end", value=(start, end),
                            fix=f"widen start/end: {span}")
        bars[sym] = data
        sources.append({"symbol": sym, "source": src, "sha256": sha, "rows": int(len(data))})
        instruments.append(inst or Instrument(symbol=sym))
    if one_pass:
        from engine.market_nb import MKT_NAN_CLOSE, MKT_OK, bars_to_mkt_nb

        data = next(iter(bars.values()))
        ts = np.empty(len(data), np.int64)
        mkt = np.empty((N_MKT, len(ts), 1))
        r = bars_to_mkt_nb(data, ts, mkt)
        if r == MKT_NAN_CLOSE:
            mkt[M_MARK, :, 0] = _ffill(mkt[M_CLOSE, :, 0])
        elif r != MKT_OK:
            _not_increasing(sources[0]["source"])
    elif len(bars) == 1:
        data = next(iter(bars.values()))
        ts = data["ts"].copy()
        mkt = np.empty((N_MKT, len(ts), 1))
        for k, f in ((M_OPEN, "open"), (M_HIGH, "high"), (M_LOW, "low"), (M_CLOSE, "close"),
                     (M_VOLUME, "volume")):
            mkt[k, :, 0] = data[f]
        mkt[M_MARK, :, 0] = mkt[M_CLOSE, :, 0]
        if np.isnan(mkt[M_CLOSE, :, 0]).any():
            mkt[M_MARK, :, 0] = _ffill(mkt[M_CLOSE, :, 0])
    else:
        ts = np.unique(np.concatenate([b["ts"] for b in bars.values()]))
        mkt = np.full((N_MKT, len(ts), len(bars)), np.nan)
        for j, b in enumerate(bars.values()):
            at = np.searchsorted(ts, b["ts"])
            for k, f in ((M_OPEN, "open"), (M_HIGH, "high"), (M_LOW, "low"),
                         (M_CLOSE, "close"), (M_VOLUME, "volume")):
                mkt[k, at, j] = b[f]
        mkt[M_MARK] = _ffill(mkt[M_CLOSE])
    return Market(symbols=list(bars), ts=ts, mkt=mkt, instruments=instruments, sources=sources,
                  bars=bars)
