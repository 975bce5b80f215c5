"""TrueFX top-of-book FX quote ticks -> QUOTE.

Two layouts are accepted:

* TrueFX's own monthly files: no header, ``PAIR,YYYYMMDD HH:MM:SS.fff,bid,ask``
  (e.g. ``USD/JPY,20130101 22:00:00.295,86.655,86.728``), times in UTC;
* the same ticks with a header ``timestamp,bid,ask`` and ISO stamps (with or without an offset;
  naive stamps are UTC).

TrueFX quotes carry no sizes: ``bid_size`` / ``ask_size`` are NaN (unknown, not zero). TrueFX
has a single clock, so ``ts_recv == ts``. Quotes with bid > ask are kept (they occur in
aggregated FX feeds) and reported with a warning.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from data.errors import DataError
from data.readers._tickio import (
    Ticks,
    check_rows,
    first_line,
    has_text_header,
    iso_to_utc_ns,
    parse_csv,
    read_raw,
    require_sorted,
)
from data.schema import QUOTE

_FIX = ("TrueFX rows are PAIR,YYYYMMDD HH:MM:SS.fff,bid,ask (or a header timestamp,bid,ask "
        "with ISO stamps)")


def _symbol_from_name(path: Path) -> str:
    """'truefx_USDJPY_ticks_2013-01.csv' -> 'USD/JPY' (first 6-letter token not 'TRUEFX')."""
    for token in re.split(r"[_.\-]", path.name.upper()):
        if re.fullmatch(r"[A-Z]{6}", token) and token != "TRUEFX":
            return f"{token[:3]}/{token[3:]}"
    return path.name.split("_")[0].upper()


def read_truefx(path: str | Path, *, symbol: str | None = None) -> Ticks:
    """Read a TrueFX tick file (either layout, optionally gzipped) into QUOTE ticks."""
    path = Path(path)
    raw = read_raw(path)
    header = has_text_header(raw)
    if header and first_line(raw).lower().split(",")[:1] == ["timestamp"]:
        df = parse_csv(raw, path, {"timestamp": str, "bid": float, "ask": float}, header=True,
                       fix=_FIX)
        ts = iso_to_utc_ns(df["timestamp"], path, "timestamp")
        sym = symbol or _symbol_from_name(path)
        off = 2
    else:
        # PAIR,YYYYMMDD HH:MM:SS.fff,bid,ask; the pair (first field) is text, so "header"
        # detection is not informative here: TrueFX files have no header.
        cols = {"pair": str, "timestamp": str, "bid": float, "ask": float}
        df = parse_csv(raw, path, cols, header=False, fix=_FIX)
        parsed = df["timestamp"].str.strip_chars().str.to_datetime(
            "%Y%m%d %H:%M:%S%.f", time_unit="ns", strict=False)
        bad = parsed.is_null().to_numpy()
        check_rows(bad, path, column="timestamp", values=df["timestamp"].to_numpy(),
                   message="cannot parse timestamp", fix=_FIX, row_offset=1)
        ts = parsed.cast(pl.Int64).to_numpy()
        pairs = df["pair"].unique().to_list()
        if len(pairs) > 1 and symbol is None:
            raise DataError("file mixes several currency pairs", file=str(path), column="pair",
                            value=pairs[:5], fix="split the file by pair")
        sym = symbol or str(pairs[0])
        off = 1
    bid = df["bid"].to_numpy()
    ask = df["ask"].to_numpy()
    for name, vals in (("bid", bid), ("ask", ask)):
        check_rows(~(vals > 0), path, column=name, values=vals, message="non-positive price",
                   fix="fix or drop the row", row_offset=off)
    require_sorted(ts, path, "timestamp", off, "TrueFX files are in time order")
    crossed = int(np.count_nonzero(bid > ask))
    if crossed:
        warnings.warn(f"{path}: {crossed} quote(s) with bid > ask (kept)", stacklevel=2)
    out = np.empty(len(ts), dtype=QUOTE)
    out["ts"] = ts
    out["ts_recv"] = ts
    out["bid"], out["ask"] = bid, ask
    out["bid_size"] = np.nan
    out["ask_size"] = np.nan
    return Ticks(kind="quote", symbol=sym, exchange="truefx", data=out, source=str(path))
