"""OHLCV bar readers for the CSV shapes real users have.

``read_bars(path)`` detects the layout (backtesting.py index CSV, Yahoo/backtrader with
``Adj Close``, Bitstamp/CryptoDataDownload newest-first with a URL line, E. Chan style
``date,hi,lo,cl,op,vol``, FXCM ``timestamp,open,high,low,close``, backtrader intraday with
separate ``Date,Time`` columns) and returns a :class:`Bars`: a canonical ``BAR`` array whose
``ts`` is the bar's **close** time in int64 ns UTC, plus the instrument and provenance.

Bar time stamps in files mean different things. ``label`` says which:

* ``"open"``: the stamp is the bar's start; close time = stamp + interval (FXCM, Bitstamp,
  backtesting.py intraday files).
* ``"close"``: the stamp is the bar's end (backtrader intraday files).
* ``"session"``: date-only daily bars; the close time is the date at ``session_close`` in ``tz``
  (default 16:00 America/New_York for exchange-traded daily data).
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from data.errors import DataError
from data.schema import BAR, NS_PER_DAY, Instrument

Label = Literal["auto", "open", "close", "session"]

_ALIASES = {
    "open": ("open", "op", "o"),
    "high": ("high", "hi", "h"),
    "low": ("low", "lo", "l"),
    "close": ("close", "cl", "c", "last", "price"),
    "volume": ("volume", "vol", "v", "volume btc", "volume_btc", "volume base"),
    "adj_close": ("adj close", "adj_close", "adjclose", "adjusted close"),
}
_DATE_NAMES = ("date", "datetime", "timestamp", "time", "dt", "unnamed: 0", "")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bars:
    """A canonical bar series of one instrument with where it came from."""

    symbol: str
    data: np.ndarray  # dtype data.schema.BAR, sorted by ts, unique ts
    instrument: Instrument
    interval_ns: int  # typical bar length in ns (median spacing)
    source: str = ""  # file path or catalog reference
    sha256: str = ""  # of the source file's bytes

    def __len__(self) -> int:
        return len(self.data)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(
                "gzip file is truncated or corrupt", file=str(path), fix="re-download the file"
            ) from exc
    if not raw.strip():
        raise DataError("file is empty", file=str(path), fix="check the download or the path")
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise DataError("cannot decode file as text", file=str(path), fix="save it as UTF-8")


def _find(cols: dict[str, str], key: str) -> str | None:
    for alias in _ALIASES[key]:
        if alias in cols:
            return cols[alias]
    return None


def read_bars(
    path: str | Path,
    *,
    symbol: str | None = None,
    label: Label = "auto",
    tz: str | None = None,
    session_close: str = "16:00",
    adjust: bool = False,
    instrument: Instrument | None = None,
) -> Bars:
    """Read an OHLCV CSV (optionally gzipped) into canonical bars.

    ``symbol`` defaults to the file name's first token. ``tz`` is the time zone of naive
    stamps in the file (default UTC; stamps with an offset are converted). ``adjust`` scales
    open/high/low/close by ``Adj Close / Close`` when the file has that column.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=str(path), fix="check the path")
    text = _read_text(path)
    lines = text.splitlines()
    skip = 0
    crypto_dl = lines[0].lower().startswith("http")  # CryptoDataDownload puts its URL first
    if crypto_dl:
        skip = 1
    header = [h.strip() for h in lines[skip].split(",")]
    first_row = lines[skip + 1].split(",") if len(lines) > skip + 1 else []
    if len(lines) <= skip + 1:
        raise DataError("file has a header but no rows", file=str(path), fix="check the export")
    body = "\n".join(lines[skip:])
    if len(first_row) == len(header) + 1:
        # backtrader quirk: header names Date,... but rows are date,time,...
        df = pd.read_csv(io.StringIO(body), header=None, skiprows=1, dtype=str)
        df.columns = ["date", "time"] + [h.lower() for h in header[1:]]
    else:
        df = pd.read_csv(io.StringIO(body), dtype=str, skipinitialspace=True)
        df.columns = [str(c).strip().lower() for c in df.columns]
    cols = {c: c for c in df.columns}
    missing = [k for k in ("open", "high", "low", "close") if _find(cols, k) is None]
    if missing:
        raise DataError(
            f"missing OHLC column(s) {missing}",
            file=str(path),
            column=missing[0],
            value=list(df.columns),
            fix="rename the columns to open/high/low/close or use data.read_csv with a mapping",
        )

    stamps, has_time = _parse_stamps(df, path, tz or "UTC", crypto_dl)
    ohlc = {}
    for key in ("open", "high", "low", "close"):
        ohlc[key] = _numeric(df[_find(cols, key)], path, key, skip)
    vol_col = _find(cols, "volume")
    volume = _numeric(df[vol_col], path, vol_col, skip) if vol_col else np.zeros(len(df))
    if adjust:
        adj_col = _find(cols, "adj_close")
        if adj_col is None:
            raise DataError(
                "adjust=True but the file has no 'Adj Close' column",
                file=str(path),
                argument="adjust",
                fix="drop adjust or use a file with adjusted closes",
            )
        factor = _numeric(df[adj_col], path, adj_col, skip) / ohlc["close"]
        for key in ("open", "high", "low", "close"):
            ohlc[key] = ohlc[key] * factor

    order = np.argsort(stamps, kind="stable")  # newest-first files (Bitstamp) become oldest-first
    stamps = stamps[order]
    dup = np.flatnonzero(np.diff(stamps) == 0)
    if dup.size:
        raise DataError(
            "duplicate timestamp",
            file=str(path),
            row=int(order[dup[0] + 1]) + skip + 2,
            column="date",
            value=str(pd.Timestamp(stamps[dup[0]], tz="UTC")),
            fix="remove the duplicated bar",
        )
    interval = int(np.median(np.diff(stamps))) if len(stamps) > 1 else NS_PER_DAY
    if label == "auto":
        if not has_time or interval >= NS_PER_DAY and _all_midnight(stamps, tz or "UTC"):
            label = "open" if crypto_dl else "session"
        elif crypto_dl or "timestamp" in df.columns or df.columns[0] in ("unnamed: 0", ""):
            label = "open"
        else:
            label = "close"
    if label == "open":
        close_ts = stamps + interval
    elif label == "close":
        close_ts = stamps
    elif label == "session":
        close_ts = _session_close(stamps, tz or "America/New_York", session_close)
    else:
        raise DataError(
            f"unknown label {label!r}", argument="label", value=label,
            fix="use 'open', 'close', 'session' or 'auto'",
        )

    out = np.empty(len(stamps), dtype=BAR)
    out["ts"] = close_ts
    for key in ("open", "high", "low", "close"):
        out[key] = ohlc[key][order]
    out["volume"] = volume[order]
    sym = symbol or _symbol_from(df, path)
    inst = instrument or Instrument(
        symbol=sym,
        calendar="24/7" if crypto_dl or _trades_weekends(close_ts) else "session",
        timezone=tz or ("UTC" if has_time else "America/New_York"),
    )
    return Bars(
        symbol=sym,
        data=out,
        instrument=inst,
        interval_ns=interval,
        source=str(path),
        sha256=file_sha256(path),
    )


_NOT_SYMBOLS = {"DAILY", "CSV", "TXT", "GZ", "MIN", "BID", "ASK", "INDEX", "ARCH", "FXCM", "BITSTAMP"}


def _symbol_from(df: pd.DataFrame, path: Path) -> str:
    """Best guess of the symbol: a ``symbol`` column, else the first ticker-like name token."""
    if "symbol" in df.columns and df["symbol"].nunique() == 1:
        return re.sub(r"[^A-Za-z0-9]", "", str(df["symbol"].iloc[0])).upper()
    for token in re.split(r"[_\-.]", path.name):
        if re.fullmatch(r"[A-Za-z]{1,5}[A-Za-z0-9]{0,5}", token) and token.isupper():
            if token.upper() not in _NOT_SYMBOLS:
                return token.upper()
    return re.split(r"[_\-.]", path.name)[0].upper() or "BARS"


def _numeric(col: pd.Series, path: Path, name: str, skip: int) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(np.isnan(values) & col.notna().to_numpy())
    if bad.size:
        raise DataError(
            "value is not a number",
            file=str(path),
            row=int(bad[0]) + skip + 2,
            column=name,
            value=col.iloc[bad[0]],
            fix="fix or remove the row",
        )
    return values


def _parse_stamps(df: pd.DataFrame, path: Path, tz: str, crypto_dl: bool):
    if crypto_dl and "unix" in df.columns:
        unix = pd.to_numeric(df["unix"], errors="coerce").to_numpy(dtype=np.float64)
        unix = np.where(unix > 1e11, unix / 1000.0, unix)  # some exports use ms
        return (unix * 1e9).astype(np.int64), True
    if "date" in df.columns and "time" in df.columns:
        raw = df["date"].astype(str) + " " + df["time"].astype(str)
    else:
        name = next((c for c in df.columns if c in _DATE_NAMES), df.columns[0])
        raw = df[name].astype(str)
    if raw.str.fullmatch(r"\d{8}").all():
        parsed = pd.to_datetime(raw, format="%Y%m%d", errors="coerce")
    else:
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    if parsed.isna().any():
        bad = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(
            "cannot parse timestamp",
            file=str(path),
            row=bad + 2,
            column="date",
            value=raw.iloc[bad],
            fix="use ISO 8601 stamps (YYYY-MM-DD[ HH:MM:SS])",
        )
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
    has_time = bool((parsed.dt.tz_convert(tz).dt.normalize() != parsed.dt.tz_convert(tz)).any())
    ns = parsed.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    return ns, has_time


def _all_midnight(stamps: np.ndarray, tz: str) -> bool:
    local = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(tz)
    return bool((local == local.normalize()).all())


def _session_close(stamps: np.ndarray, tz: str, session_close: str) -> np.ndarray:
    # stamps are midnight of the trading date (localised in the file's tz); re-anchor the date in
    # the exchange tz and add the session close time there.
    dates = pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert("UTC").normalize()
    hh, mm = (int(x) for x in session_close.split(":")[:2])
    local = dates.tz_localize(None).tz_localize(tz) + pd.Timedelta(hours=hh, minutes=mm)
    return local.tz_convert("UTC").as_unit("ns").asi8.copy()


def _trades_weekends(ts: np.ndarray) -> bool:
    if len(ts) < 10:
        return False
    days = (ts // NS_PER_DAY + 3) % 7  # 0 = Monday for the epoch (a Thursday) offset
    return bool(np.mean(days >= 5) > 0.1)
