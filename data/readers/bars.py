"""OHLCV bar readers for the CSV shapes real users have.

``read_bars(path)`` detects the layout and returns a :class:`Bars`: a canonical ``BAR`` array
whose ``ts`` is the bar's **close** time in int64 ns UTC, plus the instrument and provenance.
Layouts recognised (header names are matched case-insensitively):

* backtesting.py: unnamed first column holding the date/datetime index, ``Open..Volume``;
* Yahoo / backtrader daily: ``Date,Open,High,Low,Close[,Adj Close],Volume[,OpenInterest]``
  (``Adj Close`` anywhere; ``adjust=True`` scales OHLC by ``Adj Close / Close`` and volume by the
  inverse, as backtrader's ``adjvolume`` does); US ``M/D/YYYY`` dates;
* Bitstamp / CryptoDataDownload: a URL banner line, newest-first rows, ``unix`` seconds (or ms),
  ``Volume BTC``/``Volume USD`` (rows where the two are swapped, a known quirk of these exports,
  are detected from ``Volume USD ~ Volume BTC x price`` and repaired with a warning);
* E. Chan: ``date,hi,lo,cl,op,vol`` with ``YYYYMMDD`` dates (columns matched by name, not order);
* FXCM: ``timestamp,open,high,low,close`` with ``+00:00`` offsets, no volume (volume 0);
* backtrader intraday: separate ``Date,Time`` columns, including the files whose header names
  7 columns (``Date,Open,...,OpenInterest``) while every row has 8 fields (date, time, ...).

Close-time semantics (``label``); full prose in ``docs/data.md``:

* ``"open"``: the stamp is the bar's start; close = stamp + interval (FXCM, Bitstamp hourly,
  backtesting.py intraday, most vendor minute bars). ``interval`` defaults to the median spacing.
* ``"close"``: the stamp is the bar's end (backtrader intraday files: the first 5-minute bar
  of a 09:00 session is stamped 09:05).
* ``"session"``: date-only bars; close = the date at ``session_close`` in ``tz`` (default 16:00
  America/New_York). For 24/7 markets (weekend bars present, or a CryptoDataDownload file) the
  default is the end of the UTC day (``session_close="24:00"``, ``tz="UTC"``).
* ``"auto"`` (default): date-only -> ``"session"``; intraday with a ``timestamp``/``unix`` column
  or an unnamed index column -> ``"open"``; separate ``Date,Time`` columns -> ``"close"``.

``tz`` is the time zone of naive stamps in the file (default UTC for intraday data, and the
exchange zone for session closes); stamps with an offset are converted exactly.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from data.errors import DataError
from data.readers.closes import check_close_times, close_rule, has_clock_time
from data.readers.sniff import READ_ERRORS, FileInfo, decode, diagnose, open_bytes, sniff
from data.schema import BAR, Instrument
from data.timeutil import check_tz, parse_timestamps

Label = Literal["auto", "open", "close", "session"]

_ALIASES = {
    "open": ("open", "op", "o"),
    "high": ("high", "hi", "h"),
    "low": ("low", "lo", "l"),
    "close": ("close", "cl", "c", "last", "price"),
    "volume": ("volume", "vol", "v", "volume btc", "volume_btc", "volume base", "volume_base"),
    "quote_volume": ("volume usd", "volume_usd", "volume quote", "volume_quote", "volume usdt"),
    "adj_close": ("adj close", "adj_close", "adjclose", "adjusted close", "adjusted_close"),
}
MISSING = ["", ".", "na", "n/a", "nan", "null", "none", "-"]  # markers of a missing value
_DATE_NAMES = ("date", "datetime", "timestamp", "time", "dt", "unnamed: 0", "", "index", "day")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bars:
    """A canonical bar series of one instrument with where it came from."""

    symbol: str
    data: np.ndarray  # dtype data.schema.BAR, sorted by ts, unique ts
    instrument: Instrument
    interval_ns: int  # typical bar length in ns (median spacing)
    source: str = ""  # file path or catalog reference
    sha256: str = ""  # of the source file's bytes (catalog: of the data)

    def __len__(self) -> int:
        return len(self.data)

    @property
    def ts(self) -> np.ndarray:
        """Close times, int64 ns UTC."""
        return self.data["ts"]

    def to_polars(self) -> pl.DataFrame:
        """Columns ts (datetime ns UTC, the close time), open, high, low, close, volume."""
        df = pl.DataFrame({n: self.data[n] for n in BAR.names})
        return df.with_columns(pl.col("ts").cast(pl.Datetime("ns", "UTC")))

    def to_pandas(self):
        """pandas DataFrame indexed by close time (UTC) with open..volume columns."""
        import pandas as pd

        idx = pd.DatetimeIndex(self.data["ts"].astype("datetime64[ns]"), name="ts").tz_localize(
            "UTC"
        )
        return pd.DataFrame({n: self.data[n] for n in BAR.names[1:]}, index=idx)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _find(cols: list[str], key: str) -> str | None:
    lower = {c.strip().lower(): c for c in cols}
    for alias in _ALIASES[key]:
        if alias in lower:
            return lower[alias]
    return None


@dataclasses.dataclass
class _Raw:
    """A bar file read as text columns, before interpretation."""

    df: pl.DataFrame
    info: FileInfo
    date_col: str | None
    time_col: str | None
    crypto_dl: bool
    lines: np.ndarray  # 1-based file line of each row

    @property
    def first_line(self) -> int:
        return int(self.lines[0]) if len(self.lines) else self.info.first_data_line

    def subset(self, mask: pl.Series) -> _Raw:
        keep = mask.to_numpy()
        return dataclasses.replace(self, df=self.df.filter(mask), lines=self.lines[keep])


def _load(path: Path, encoding: str | None = None) -> _Raw:
    info = sniff(path, encoding=encoding)
    if info.header is None:
        raise DataError(
            "bar file has no header row",
            file=str(path),
            fix="add a header (Date,Open,High,Low,Close,Volume) or use read_table with a mapping",
        )
    header = list(info.header)
    crypto_dl = info.banner_lines > 0 and "cryptodatadownload" in _banner(info).lower()
    opts = dict(separator=info.separator, infer_schema=False, has_header=False)
    src = (
        path
        if info.encoding == "utf8"
        else _reencoded(info)  # UTF-16 / latin-1 text: polars wants UTF-8 bytes
    )
    date_col = time_col = None
    if info.n_fields == len(header) + 1 and header[0].strip().lower() in ("date", "datetime", ""):
        # backtrader quirk: the header names Date,Open,... but rows are date,time,open,...
        names = ["Date", "Time", *header[1:]]
        date_col, time_col = "Date", "Time"
    else:
        names = [h if h else "index" for h in header]
        if len(set(names)) != len(names):
            raise DataError(
                "duplicate column names in header", file=str(path), value=header, fix="rename them"
            )
    try:
        df = pl.read_csv(
            src,
            skip_rows=info.banner_lines + 1,
            new_columns=names,
            truncate_ragged_lines=False,
            **opts,
        )
    except pl.exceptions.NoDataError:
        raise DataError(
            "file has a header but no rows", file=str(path), fix="check the export"
        ) from None
    except READ_ERRORS as exc:
        open_bytes(path)  # a truncated gzip raises its own clear error here
        diagnose(info)
        raise DataError(
            f"cannot parse the file as CSV ({str(exc).splitlines()[0]})",
            file=str(path),
            fix="check the separator, quoting and encoding",
        ) from None
    if df.height == 0:
        raise DataError("file has a header but no rows", file=str(path), fix="check the export")
    if any(df[c].null_count() for c in df.columns[:1]) or (
        df.height and df.row(df.height - 1).count(None) > 0
    ):
        diagnose(info)
    if date_col is None:
        lower = {c.strip().lower(): c for c in df.columns}
        if "date" in lower and "time" in lower:
            date_col, time_col = lower["date"], lower["time"]
        elif crypto_dl and "unix" in lower:
            date_col = lower["unix"]
        else:
            date_col = next((lower[n] for n in _DATE_NAMES if n in lower), df.columns[0])
    lines = np.arange(df.height, dtype=np.int64) + info.first_data_line
    return _Raw(
        df=df, info=info, date_col=date_col, time_col=time_col, crypto_dl=crypto_dl, lines=lines
    )


def _banner(info: FileInfo) -> str:
    head = open_bytes(info.path, 4096)
    text, _, _ = decode(head, info.path, None if info.encoding == "utf8" else info.encoding)
    return "\n".join(text.splitlines()[: info.banner_lines])


def _reencoded(info: FileInfo):
    import io

    text, _, _ = decode(open_bytes(info.path), info.path, info.encoding)
    return io.BytesIO(text.encode("utf-8"))


def _numeric(raw: _Raw, col: str) -> np.ndarray:
    s = raw.df[col].str.strip_chars()
    vals = s.cast(pl.Float64, strict=False)
    bad = vals.is_null() & s.is_not_null() & (s != "")
    if bad.any():
        i = int(bad.arg_max())
        raise DataError(
            "value is not a number",
            file=str(raw.info.path),
            row=int(raw.lines[i]),
            column=col,
            value=raw.df[col][i],
            fix="fix or remove the row",
        )
    if vals.null_count():
        i = int(vals.is_null().arg_max())
        raise DataError(
            "missing value",
            file=str(raw.info.path),
            row=int(raw.lines[i]),
            column=col,
            fix="fill the empty field or delete the row",
        )
    return vals.to_numpy()


_EPOCH_FLOOR_NS = 315_532_800 * 10**9  # 1980-01-01


def _check_guessed_epoch(raw: _Raw, ns: np.ndarray, path: str) -> None:
    """A first column taken as the time only because no column is named like one, holding plain
    numbers read as epoch stamps before 1980, is not a time column: ``a,b\n1,2`` would
    otherwise be a 1970 bar series. Refused, naming the column and the fix."""
    col = raw.date_col
    if col is None or col.strip().lower() in _DATE_NAMES or col.strip().lower() == "unix":
        return
    numeric = raw.df[col].str.strip_chars().str.contains(r"^-?\d+(\.\d*)?$").all()
    if numeric and len(ns) and int(ns.min()) < _EPOCH_FLOOR_NS:
        i = int(np.argmin(ns))
        raise DataError(
            "no time column: the first column has no time-like name and its numbers read as "
            "epoch stamps before 1980",
            file=path, row=int(raw.lines[i]), column=col, value=raw.df[col][i],
            fix="name the time column date, datetime, timestamp or time (or give dates such "
                "as 2020-01-31); epoch stamps after 1980 are accepted under any name",
        )  # fmt: skip


def _stamps(raw: _Raw, tz: str) -> tuple[np.ndarray, bool]:
    """Bar stamps as ns UTC (naive stamps are wall-clock in ``tz``) and whether they hold times."""
    df, path = raw.df, str(raw.info.path)
    if raw.crypto_dl and raw.date_col and raw.date_col.lower() == "unix":
        ns = parse_timestamps(df[raw.date_col], fmt="epoch", file=path, column=raw.date_col,
                              first_line=raw.lines)  # fmt: skip
        return ns, True
    if raw.time_col is not None:
        text = df[raw.date_col].str.strip_chars() + " " + df[raw.time_col].str.strip_chars()
        column = f"{raw.date_col}+{raw.time_col}"
    else:
        text, column = df[raw.date_col], raw.date_col
    ns = parse_timestamps(text, tz=tz, file=path, column=column, first_line=raw.lines)
    if raw.time_col is None:
        _check_guessed_epoch(raw, ns, path)
    return ns, has_clock_time(ns, tz)


def read_bars(
    path: str | Path,
    *,
    tz: str | None = None,
    encoding: str | None = None,
    **options: Any,
) -> Bars:
    """Read an OHLCV CSV (optionally gzipped) into canonical bars (see the module docstring).

    ``options`` are those of :func:`build_bars`: ``symbol`` (default: a ``symbol`` column or
    the file name's first ticker-like token), ``label`` ("auto"), ``session_close`` ("16:00"),
    ``adjust`` (False), ``instrument``, ``interval`` (the bar length used for ``label="open"``;
    default: median spacing).
    """
    path = Path(path)
    if tz is not None:
        check_tz(tz)
    return build_bars(_load(path, encoding), tz=tz, **options)


def bar_rows(raw: _Raw, *, tz: str | None = None, adjust: bool = False):
    """Parse a loaded bar file into BAR rows **in file order** with raw stamps (ns UTC).

    Returns ``(rows, lines)`` where ``lines[i]`` is the file line of ``rows[i]``; validation
    runs on this (so errors name lines) before :func:`build_bars` sorts and stamps close times.
    """
    parsed = _parse_rows(raw, tz=tz, adjust=adjust)
    return parsed.rows, parsed.raw.lines


@dataclasses.dataclass
class _Parsed:
    rows: np.ndarray
    raw: _Raw
    has_time: bool
    close_only: str | None


def _parse_rows(raw: _Raw, *, tz: str | None, adjust: bool) -> _Parsed:
    path = raw.info.path
    cols = raw.df.columns
    missing = [k for k in ("open", "high", "low", "close") if _find(cols, k) is None]
    if missing and _close_only_column(raw) is None:
        raise DataError(
            f"missing OHLC column(s) {missing}",
            file=str(path),
            column=missing[0],
            value=cols,
            fix="rename the file's columns to Open, High, Low, Close (and Volume), or read it "
                "with data.readers.read_table(kind='bar', mapping=...): both give the bars the "
                "same close times (docs/data.md)",
        )
    raw = _drop_empty_rows(raw)
    close_only = _close_only_column(raw)
    if close_only is not None:
        closes = _numeric(raw, close_only)
        ohlc = {k: closes for k in ("open", "high", "low", "close")}
    else:
        ohlc = {k: _numeric(raw, _find(cols, k)) for k in ("open", "high", "low", "close")}
    vol_col = _find(cols, "volume")
    volume = _numeric(raw, vol_col) if vol_col else np.zeros(raw.df.height)
    qv_col = _find(cols, "quote_volume")
    if raw.crypto_dl and vol_col and qv_col:
        volume = _unswap_volumes(volume, _numeric(raw, qv_col), ohlc, str(path))
    if adjust:
        adj_col = _find(cols, "adj_close")
        if adj_col is None:
            raise DataError(
                "adjust=True but the file has no 'Adj Close' column",
                file=str(path),
                argument="adjust",
                fix="drop adjust or use a file with adjusted closes",
            )
        factor = _numeric(raw, adj_col) / ohlc["close"]
        for key in ohlc:
            ohlc[key] = ohlc[key] * factor
        volume = volume / factor
    stamps, has_time = _stamps(raw, tz or "UTC")
    out = np.empty(len(stamps), dtype=BAR)
    out["ts"] = stamps
    for key in ("open", "high", "low", "close"):
        out[key] = ohlc[key]
    out["volume"] = volume
    return _Parsed(rows=out, raw=raw, has_time=has_time, close_only=close_only)


def build_bars(
    raw: _Raw,
    *,
    symbol: str | None = None,
    label: Label = "auto",
    tz: str | None = None,
    session_close: str = "16:00",
    adjust: bool = False,
    instrument: Instrument | None = None,
    interval: str | int | None = None,
    sha256: str | None = None,
) -> Bars:
    """Interpret a loaded bar file (or one symbol's rows of it) as canonical :class:`Bars`."""
    path = raw.info.path
    parsed = _parse_rows(raw, tz=tz, adjust=adjust)
    out, raw, has_time, close_only = parsed.rows, parsed.raw, parsed.has_time, parsed.close_only

    # newest-first files (Bitstamp) are reversed silently; other disorder is reported below
    lines = raw.lines
    if len(out) > 1 and bool((np.diff(out["ts"]) < 0).all()):
        out, lines = out[::-1].copy(), lines[::-1]
    from data.validate import validate_array

    validate_array(out, "bar", file=str(path), first_line=lines, stacklevel=4)
    perm = np.argsort(out["ts"], kind="stable")
    out, lines = out[perm], lines[perm]
    stamps = out["ts"].copy()
    sym = symbol
    if sym is None and close_only is not None and _find([close_only], "close") is None:
        sym = close_only.strip().upper()  # a close-only file names its series (SP500, vix)
    sym = sym or _symbol_from(raw.df, path)
    named_open = raw.crypto_dl or raw.date_col.strip().lower() in ("timestamp", "unix", "", "index")
    rule = close_rule(stamps, label=label, tz=tz, session_close=session_close, interval=interval,
                      intraday="open" if named_open else "close", has_time=has_time,
                      always_247=raw.crypto_dl)  # fmt: skip
    out["ts"] = rule.apply(stamps)
    check_close_times(stamps, out["ts"], rule.label, lines, str(path), raw.date_col)
    inst = instrument or Instrument(
        symbol=sym, calendar="24/7" if rule.is_247 else "session", timezone=rule.tz
    )
    return Bars(
        symbol=sym,
        data=out,
        instrument=inst,
        interval_ns=rule.interval_ns,
        source=str(path),
        sha256=sha256 if sha256 is not None else file_sha256(path),
    )


def _drop_empty_rows(raw: _Raw) -> _Raw:
    """Rows with a date but every value missing (empty, ``.`` as FRED writes it, ``NA``,
    ``null``: no trading data that day) are skipped with a warning."""
    values = [c for c in raw.df.columns if c not in (raw.date_col, raw.time_col)]
    values = [c for c in values if c.strip().lower() not in ("symbol", "ticker", "unix", "date")]
    empty = pl.all_horizontal(
        pl.col(c).is_null() | pl.col(c).str.strip_chars().str.to_lowercase().is_in(MISSING)
        for c in values
    )
    mask = raw.df.select(empty).to_series()
    n = int(mask.sum())
    if n == 0:
        return raw
    first = int(raw.lines[int(mask.arg_max())])
    warnings.warn(
        f"file {raw.info.path}: {n} row(s) have a date but no values (first at row {first}); "
        "skipped",
        UserWarning,
        stacklevel=5,
    )
    return raw.subset(~mask)


def _close_only_column(raw: _Raw) -> str | None:
    """A file of closes only (index levels, a single price series): its value column, if any."""
    cols = raw.df.columns
    if all(_find(cols, k) is not None for k in ("open", "high", "low")):
        return None
    if any(_find(cols, k) is not None for k in ("open", "high", "low")):
        return None  # some OHLC columns under unknown names: the caller names the missing ones
    if _find(cols, "close") is not None:
        return _find(cols, "close")
    values = [c for c in cols if c not in (raw.date_col, raw.time_col)]
    return values[0] if len(values) == 1 else None


def _unswap_volumes(base: np.ndarray, quote: np.ndarray, ohlc: dict, file: str) -> np.ndarray:
    """CryptoDataDownload files swap 'Volume BTC' and 'Volume USD' in some rows: repair them.

    A row is swapped when base x price is far from quote but quote x price matches base.
    """
    lo, hi = ohlc["low"], ohlc["high"]
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = quote / base  # the average price if the columns are right
        ok = (implied >= lo * 0.5) & (implied <= hi * 2.0)
        swapped_implied = base / quote
        swapped = ~ok & (swapped_implied >= lo * 0.5) & (swapped_implied <= hi * 2.0)
    n = int(swapped.sum())
    if n:
        warnings.warn(
            f"file {file}: {n} rows have the base and quote volume columns swapped "
            "(a CryptoDataDownload quirk); repaired",
            UserWarning,
            stacklevel=5,
        )
    return np.where(swapped, quote, base)


_NOT_SYMBOLS = {
    "DAILY", "CSV", "TXT", "GZ", "MIN", "BID", "ASK", "INDEX", "ARCH", "FXCM", "BITSTAMP",
    "SKFOLIO", "TRUEFX", "TARDIS", "LOBSTER", "STOCKNET", "OHLCV", "ADJCLOSE", "H1", "M1", "D",
}  # fmt: skip


def _symbol_from(df: pl.DataFrame, path: Path) -> str:
    """Best guess of the symbol: a ``symbol`` column, else the first ticker-like name token."""
    lower = {c.strip().lower(): c for c in df.columns}
    if "symbol" in lower:
        values = df[lower["symbol"]].unique()
        if len(values) == 1 and values[0]:
            return re.sub(r"[^A-Za-z0-9]", "", str(values[0])).upper()
    for token in re.split(r"[_\-.]", path.name):
        if re.fullmatch(r"[A-Za-z]{1,6}[A-Za-z0-9]{0,5}", token) and token.isupper():
            if token.upper() not in _NOT_SYMBOLS:
                return token.upper()
    for token in re.split(r"[_\-.]", path.name):  # lowercase names like daily-KO.csv / nvda-...
        if re.fullmatch(r"[A-Za-z]{1,5}", token) and token.upper() not in _NOT_SYMBOLS:
            return token.upper()
    stem = path.name.split(".")[0]
    return stem.upper() or "BARS"
