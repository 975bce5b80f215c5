"""TrueFX top-of-book FX quote ticks -> QUOTE.

Two layouts are accepted:

* TrueFX's own monthly files: no header, ``PAIR,YYYYMMDD HH:MM:SS.fff,bid,ask``
  (e.g. ``USD/JPY,20130101 22:00:00.295,86.655,86.728``), times in UTC;
* the same ticks with a header ``timestamp,bid,ask`` and ISO stamps (with or without an offset;
  naive stamps are UTC).

TrueFX quotes carry no sizes: ``bid_size`` / ``ask_size`` are NaN (unknown, not zero). TrueFX
has a single clock, so ``ts_recv == ts``. Quotes with bid > ask are kept (they occur in
aggregated FX feeds) and reported with a warning. Rows out of time order are sorted stably
with a warning, as every quote reader does (:mod:`data.validate`).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from data.errors import DataError
from data.readers._tickio import Ticks, first_line, has_text_header, parse_csv, read_raw
from data.schema import QUOTE
from data.timeutil import parse_timestamps
from data.validate import check_array

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
        ts = parse_timestamps(df["timestamp"], fmt="iso", file=str(path), column="timestamp",
                              first_line=2)
        sym = symbol or _symbol_from_name(path)
        off = 2
    else:
        # PAIR,YYYYMMDD HH:MM:SS.fff,bid,ask; the pair (first field) is text, so "header"
        # detection is not informative here: TrueFX files have no header.
        cols = {"pair": str, "timestamp": str, "bid": float, "ask": float}
        df = parse_csv(raw, path, cols, header=False, fix=_FIX)
        ts = parse_timestamps(df["timestamp"], fmt="%Y%m%d %H:%M:%S%.f", file=str(path),
                              column="timestamp", first_line=1)
        pairs = df["pair"].unique().to_list()
        if len(pairs) > 1 and symbol is None:
            raise DataError("file mixes several currency pairs", file=str(path), column="pair",
                            value=pairs[:5], fix="split the file by pair")
        sym = symbol or str(pairs[0])
        off = 1
    out = np.empty(len(ts), dtype=QUOTE)
    out["ts"] = ts
    out["ts_recv"] = ts
    out["bid"], out["ask"] = df["bid"].to_numpy(), df["ask"].to_numpy()
    out["bid_size"] = np.nan
    out["ask_size"] = np.nan
    # crossed quotes occur in aggregated FX feeds: kept, with one warning for all of them
    report = check_array(out, "quote", file=str(path), first_line=off)
    crossed = [i for i in report.errors if i.code == "crossed_quote"]
    report.issues = [i for i in report.issues if i.code != "crossed_quote"]
    report.raise_first()
    for issue in report.warnings:
        warnings.warn(str(issue.error()), UserWarning, stacklevel=2)
    if crossed:
        warnings.warn(f"{path}: {crossed[0].count} quote(s) with bid > ask (kept; first at row "
                      f"{crossed[0].row})", UserWarning, stacklevel=2)
    if len(out) > 1 and bool((np.diff(out["ts"]) < 0).any()):
        out = out[np.argsort(out["ts"], kind="stable")]  # as read_table does for quotes
    return Ticks(kind="quote", symbol=sym, exchange="truefx", data=out, source=str(path))


def _detect(info, path: Path) -> bool:
    if info is None:
        return False
    if info.header is None:
        from data.readers.sniff import open_bytes

        head = open_bytes(path, 128).decode("utf-8", errors="replace")
        return re.match(r"^[A-Z]{3}/[A-Z]{3},\d{8} \d", head) is not None
    return "truefx" in path.name.lower() and [h.lower() for h in info.header] == [
        "timestamp", "bid", "ask"]  # fmt: skip


FORMATS = [{
    "name": "truefx",
    "reader": read_truefx,
    "kinds": ("quote",),
    "detect": _detect,
    "description": "TrueFX quote ticks",
}]  # fmt: skip
"""Registration with :func:`data.readers.dispatch.formats` (``tape data import/validate``)."""
