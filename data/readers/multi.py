"""Multi-symbol bar files and bid/ask bar pairs.

* :func:`read_wide_closes`: a date column and one column of (adjusted) closes per symbol
  (skfolio's 20-stock matrix, the 467-stock S&P 500 matrix, factor ETFs). Each symbol becomes
  close-only bars (open = high = low = close, volume 0); empty cells are skipped for that symbol
  (it was not trading yet).
* :func:`read_long_bars`: one OHLCV row per symbol and date with a ticker column (StockNet's
  88-stock file): every symbol read with the same rules as :func:`data.readers.read_bars`.
* :class:`BarPanel`: the result of both, a read-only mapping ``symbol -> Bars`` that also gives
  aligned matrices (``panel.matrix("close")``) over the union of close times.
* :func:`read_bidask_bars` / :class:`BidAskBars`: FXCM-style separate bid and ask bar files
  joined on their time stamps, with mid bars, the spread and top-of-book QUOTE events.
"""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import polars as pl

from data.errors import DataError
from data.readers.bars import MISSING, Bars, Label, _load, build_bars, file_sha256
from data.readers.closes import close_rule
from data.schema import BAR, QUOTE, Instrument
from data.timeutil import check_tz, parse_timestamps


class BarPanel(Mapping[str, Bars]):
    """Bars of many symbols: ``panel["KO"]`` is a :class:`Bars`; iteration is in symbol order
    of the source file."""

    def __init__(self, bars: Mapping[str, Bars], *, source: str = "", sha256: str = "") -> None:
        self._bars = dict(bars)
        self.source = source
        self.sha256 = sha256

    def __getitem__(self, symbol: str) -> Bars:
        try:
            return self._bars[symbol]
        except KeyError:
            raise DataError(
                "symbol not in the panel",
                file=self.source or None,
                argument="symbol",
                value=symbol,
                fix=f"use one of {', '.join(list(self._bars)[:20])}",
            ) from None

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._bars

    def __iter__(self) -> Iterator[str]:
        return iter(self._bars)

    def __len__(self) -> int:
        return len(self._bars)

    def __repr__(self) -> str:
        return f"BarPanel({len(self)} symbols, {len(self.ts)} close times, source={self.source!r})"

    @property
    def symbols(self) -> list[str]:
        return list(self._bars)

    @property
    def ts(self) -> np.ndarray:
        """Sorted union of every symbol's close times (int64 ns UTC)."""
        if not self._bars:
            return np.empty(0, np.int64)
        return np.unique(np.concatenate([b.ts for b in self._bars.values()]))

    def matrix(self, field: str = "close", symbols: list[str] | None = None) -> np.ndarray:
        """``(len(ts), n_symbols)`` float64 matrix of ``field``; NaN where a symbol has no bar."""
        if field not in BAR.names[1:]:
            raise DataError("not a bar field", argument="field", value=field,
                            fix="use open, high, low, close or volume")  # fmt: skip
        symbols = symbols or self.symbols
        ts = self.ts
        out = np.full((len(ts), len(symbols)), np.nan)
        for j, sym in enumerate(symbols):
            b = self[sym]
            out[np.searchsorted(ts, b.ts), j] = b.data[field]
        return out

    def to_pandas(self, field: str = "close"):
        """pandas DataFrame (index: close time UTC; one column per symbol) of ``field``."""
        import pandas as pd

        idx = pd.DatetimeIndex(self.ts.astype("datetime64[ns]"), name="ts").tz_localize("UTC")
        return pd.DataFrame(self.matrix(field), index=idx, columns=self.symbols)


def read_wide_closes(
    path: str | Path,
    *,
    symbols: list[str] | None = None,
    label: Label = "auto",
    tz: str | None = None,
    session_close: str = "16:00",
    calendar: str = "session",
) -> BarPanel:
    """Read a date x symbol matrix of closes into close-only bars per symbol.

    ``symbols`` selects columns (default: all). Dates without a time are stamped at
    ``session_close`` in ``tz`` (default 16:00 America/New_York), as :func:`read_bars` does.
    """
    path = Path(path)
    if tz is not None:
        check_tz(tz)
    raw = _load(path)
    df = raw.df
    value_cols = [c for c in df.columns if c not in (raw.date_col, raw.time_col)]
    if symbols is not None:
        unknown = [s for s in symbols if s not in value_cols]
        if unknown:
            raise DataError("symbol column(s) not in the file", file=str(path), column=unknown[0],
                            value=value_cols[:30], fix="pick symbols from the header")  # fmt: skip
        value_cols = list(symbols)
    stamps = parse_timestamps(df[raw.date_col], tz=tz or "UTC", file=str(path),
                              column=raw.date_col, first_line=raw.lines)  # fmt: skip
    rule = close_rule(stamps, label=label, tz=tz, session_close=session_close)
    interval = rule.interval_ns
    close_ts = rule.apply(stamps)
    order = np.argsort(close_ts, kind="stable")
    digest = file_sha256(path)
    numbers = df.select(
        pl.when(pl.col(c).str.strip_chars().str.to_lowercase().is_in(MISSING))
        .then(None)
        .otherwise(pl.col(c).str.strip_chars())
        .cast(pl.Float64, strict=False)
        .alias(c)
        for c in value_cols
    )
    from data.validate import validate_array

    bars: dict[str, Bars] = {}
    for col in value_cols:
        if not col.strip() or col == "index":
            raise DataError("a value column has no name (its symbol)", file=str(path), row=1,
                            column=col, fix="name every column of the header")  # fmt: skip
        raw_text = df[col]
        v = numbers[col]
        missing = raw_text.str.strip_chars().str.to_lowercase().is_in(MISSING)
        bad = v.is_null() & raw_text.is_not_null() & ~missing
        if bad.any():
            i = int(bad.arg_max())
            raise DataError("value is not a number", file=str(path), row=int(raw.lines[i]),
                            column=col, value=raw_text[i], fix="fix the cell or leave it empty")  # fmt: skip
        vals = v.fill_null(np.nan).to_numpy()[order]
        keep = ~np.isnan(vals)
        arr = np.zeros(int(keep.sum()), dtype=BAR)
        arr["ts"] = close_ts[order][keep]
        for f in ("open", "high", "low", "close"):
            arr[f] = vals[keep]
        if len(arr) == 0:
            warnings.warn(f"file {path}: column {col!r} has no values; skipped", stacklevel=2)
            continue
        validate_array(arr, "bar", file=str(path), first_line=raw.lines[order][keep], stacklevel=3)
        sym = col.strip()
        bars[sym] = Bars(
            symbol=sym,
            data=arr,
            instrument=Instrument(symbol=sym, calendar=calendar, timezone=rule.tz),
            interval_ns=int(np.median(np.diff(arr["ts"]))) if len(arr) > 1 else interval,
            source=f"{path}#{sym}",
            sha256=digest,
        )
    return BarPanel(bars, source=str(path), sha256=digest)


def read_long_bars(
    path: str | Path,
    *,
    symbol_column: str | None = None,
    symbols: list[str] | None = None,
    label: Label = "auto",
    tz: str | None = None,
    session_close: str = "16:00",
    adjust: bool = False,
) -> BarPanel:
    """Read a long OHLCV file (one row per symbol and date, a ticker column) into a panel."""
    path = Path(path)
    if tz is not None:
        check_tz(tz)
    raw = _load(path)
    lower = {c.strip().lower(): c for c in raw.df.columns}
    col = symbol_column or next(
        (lower[n] for n in ("ticker", "symbol", "sym", "code", "instrument") if n in lower), None
    )
    if col is None or col not in raw.df.columns:
        raise DataError("no symbol column found", file=str(path), argument="symbol_column",
                        value=raw.df.columns, fix="pass symbol_column='Ticker' (the ticker column)")  # fmt: skip
    digest = file_sha256(path)
    names = raw.df[col].str.strip_chars()
    empty = names.is_null() | (names == "")
    if empty.any():
        i = int(empty.arg_max())
        raise DataError("row has no symbol", file=str(path), row=int(raw.lines[i]), column=col,
                        fix="fill the ticker or delete the row")  # fmt: skip
    wanted = symbols or list(dict.fromkeys(names.to_list()))
    bars: dict[str, Bars] = {}
    for sym in wanted:
        mask = names == sym
        if not mask.any():
            raise DataError("symbol not in the file", file=str(path), column=col, value=sym,
                            fix="check the ticker spelling")  # fmt: skip
        sub = raw.subset(mask)
        b = build_bars(sub, symbol=sym, label=label, tz=tz, session_close=session_close,
                       adjust=adjust, sha256=digest)  # fmt: skip
        bars[sym] = dataclasses.replace(b, source=f"{path}#{sym}")
    return BarPanel(bars, source=str(path), sha256=digest)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BidAskBars:
    """Bid and ask bars of one instrument on the same close times."""

    symbol: str
    bid: np.ndarray  # BAR
    ask: np.ndarray  # BAR
    instrument: Instrument
    interval_ns: int
    source: str = ""
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.bid)

    @property
    def ts(self) -> np.ndarray:
        return self.bid["ts"]

    @property
    def spread(self) -> np.ndarray:
        """Close-time spread ask.close - bid.close (quote currency)."""
        return self.ask["close"] - self.bid["close"]

    def mid(self) -> Bars:
        """Mid bars: open/close are exact mids; high/low are the mids of the bid and ask
        extremes, an approximation (the extremes need not occur at the same instant)."""
        out = np.empty(len(self.bid), dtype=BAR)
        out["ts"] = self.bid["ts"]
        for f in ("open", "high", "low", "close"):
            out[f] = (self.bid[f] + self.ask[f]) / 2.0
        out["volume"] = self.bid["volume"]
        return Bars(symbol=self.symbol, data=out, instrument=self.instrument,
                    interval_ns=self.interval_ns, source=self.source, sha256=self.sha256)  # fmt: skip

    def side(self, which: str) -> Bars:
        """The bid or ask side as plain :class:`Bars`."""
        if which not in ("bid", "ask"):
            raise DataError("side must be 'bid' or 'ask'", argument="which", value=which,
                            fix="use 'bid' or 'ask'")  # fmt: skip
        return Bars(symbol=self.symbol, data=getattr(self, which), instrument=self.instrument,
                    interval_ns=self.interval_ns, source=self.source, sha256=self.sha256)  # fmt: skip

    def to_quotes(self, *, drop_crossed: bool = True) -> np.ndarray:
        """Top of book at each bar close as QUOTE events (sizes unknown: NaN).

        Crossed closes (ask < bid) are dropped unless ``drop_crossed=False``: a crossed quote
        would break a book or a spread model downstream.
        """
        q = np.empty(len(self.bid), dtype=QUOTE)
        q["ts"] = q["ts_recv"] = self.bid["ts"]
        q["bid"], q["ask"] = self.bid["close"], self.ask["close"]
        q["bid_size"] = q["ask_size"] = np.nan
        if drop_crossed:
            q = q[q["ask"] >= q["bid"]]
        return q


def read_bidask_bars(
    bid_path: str | Path,
    ask_path: str | Path,
    *,
    symbol: str | None = None,
    label: Label = "auto",
    tz: str | None = None,
    instrument: Instrument | None = None,
    on_crossed: str = "warn",
) -> BidAskBars:
    """Join a bid-bar file and an ask-bar file (FXCM) on their close times.

    Bars present in only one file are dropped with a warning. Real FX bars sometimes close
    crossed (ask < bid by a pip or two: FXCM GBP/USD 2012-02 has 347 of 30,117); those warn
    (``on_crossed="error"`` raises). Crossed in most bars means the files are swapped: an error.
    """
    bid = _read_side(bid_path, symbol, label, tz)
    ask = _read_side(ask_path, symbol or bid.symbol, label, tz)
    common, ib, ia = np.intersect1d(bid.ts, ask.ts, assume_unique=True, return_indices=True)
    dropped = len(bid) + len(ask) - 2 * len(common)
    if dropped:
        warnings.warn(f"{dropped} bars are in only one of {bid_path} / {ask_path}; dropped",
                      UserWarning, stacklevel=2)  # fmt: skip
    b, a = bid.data[ib], ask.data[ia]
    crossed = np.flatnonzero(a["close"] < b["close"])
    if crossed.size:
        i = int(crossed[0])
        where = f"{bid_path} + {ask_path}"
        if crossed.size > len(common) // 2:
            raise DataError("ask close below bid close in most bars", file=where, column="close",
                            value={"bid": float(b["close"][i]), "ask": float(a["close"][i])},
                            fix="the bid and ask files look swapped")  # fmt: skip
        if on_crossed == "error":
            raise DataError(f"ask close below bid close in {crossed.size} bars", file=where,
                            column="close", value={"bid": float(b["close"][i]), "ask": float(a["close"][i])},
                            fix="pass on_crossed='warn' to keep them (real FX feeds have brief crosses)")  # fmt: skip
        warnings.warn(f"{where}: ask close below bid close in {crossed.size} of {len(common)} "
                      "bars (kept in the bars; to_quotes() drops them)", UserWarning, stacklevel=2)  # fmt: skip
    h = hashlib.sha256((bid.sha256 + ask.sha256).encode()).hexdigest()
    inst = instrument or dataclasses.replace(bid.instrument, symbol=bid.symbol)
    return BidAskBars(symbol=bid.symbol, bid=b, ask=a, instrument=inst,
                      interval_ns=bid.interval_ns, source=f"{bid_path}|{ask_path}", sha256=h)  # fmt: skip


def _read_side(path, symbol, label, tz) -> Bars:
    from data.readers.bars import read_bars

    return read_bars(path, symbol=symbol, label=label, tz=tz)


def panel_from_files(paths: Mapping[str, str | Path] | list[str | Path], **kwargs) -> BarPanel:
    """Read several single-symbol bar files into one panel (``{symbol: path}`` or paths)."""
    from data.readers.bars import read_bars

    items = paths.items() if isinstance(paths, Mapping) else ((None, p) for p in paths)
    bars = {}
    for sym, p in items:
        b = read_bars(p, symbol=sym, **kwargs)
        bars[b.symbol] = b
    return BarPanel(bars, source=",".join(str(b.source) for b in bars.values()))
