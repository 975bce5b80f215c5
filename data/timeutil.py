"""Timestamp parsing and time-zone handling shared by every reader.

Everything returns int64 nanoseconds since the Unix epoch, UTC (DESIGN.md contract 1). Parsing
runs in polars (vectorised, exact to the nanosecond); pandas is only a fallback for odd formats.

Formats (``fmt``):

* ``"auto"``: detect from the values: ISO 8601 (``2020-01-02``, ``2020-01-02 09:30:00.123``,
  ``T`` separator, ``Z`` or ``+01:00`` offsets), ``YYYYMMDD``, US/European slash dates (decided by
  a field > 12; ``M/D/Y`` when nothing tells them apart), integer or decimal epoch numbers (unit
  inferred from magnitude, see :func:`infer_epoch_unit`).
* ``"iso"``: ISO 8601 only.
* ``"s"``, ``"ms"``, ``"us"``, ``"ns"``: epoch numbers in that unit (decimal strings are parsed
  exactly, ``"1582329602.111"`` with ``"s"`` gives ``1582329602111000000``).
* ``"epoch"``: epoch numbers, unit inferred from magnitude.
* anything containing ``%``: a strptime/chrono format, e.g. ``"%d.%m.%Y %H:%M"``.

Naive stamps are wall-clock times in ``tz`` (default UTC) and are converted to UTC; stamps that
carry an offset or ``Z`` are converted directly and ``tz`` is ignored for them. Non-existent
(spring-forward) and ambiguous (fall-back) local times raise by default; pass
``nonexistent="null"``/``ambiguous="earliest"|"latest"`` to resolve them.

Errors name the file, the row (1-based line in the file when ``first_line`` is given, else the
0-based position), the column, the value and the fix.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import numpy as np
import polars as pl

from data.errors import DataError
from data.schema import NS_PER_DAY, NS_PER_SECOND

UNITS_NS = {"s": NS_PER_SECOND, "ms": 1_000_000, "us": 1_000, "ns": 1}

_RE_NUMERIC = re.compile(r"^\s*[+-]?\d+(\.\d*)?\s*$")
_RE_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:(?P<sep>[T ])(\d{2}):(\d{2})(?P<sec>:(\d{2})(?P<frac>\.\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_RE_SLASH = re.compile(r"^(\d{1,2})(?P<sep>[/.-])(\d{1,2})(?P=sep)(\d{4})"
                       r"(?P<time>\s+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


# ------------------------------------------------------------------------------------------
# epoch numbers
# ------------------------------------------------------------------------------------------
def infer_epoch_unit(values: np.ndarray) -> str:
    """Epoch unit implied by magnitudes: dates 1973..2286 need < 1e10 s, < 1e13 ms, < 1e16 us.

    Uses the median absolute value, so a few zeros or outliers do not change the answer.
    """
    v = np.abs(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return "s"
    m = float(np.median(v))
    if m < 1e11:
        return "s"
    if m < 1e14:
        return "ms"
    if m < 1e17:
        return "us"
    return "ns"


def decimal_strings_to_int(values: pl.Series, digits: int) -> pl.Series:
    """Exact fixed-point parse: ``"34200.0151"`` with ``digits=9`` -> ``34200015100000``.

    Strings are split at the dot, so no float rounding happens (LOBSTER times, prices x 10^k,
    epoch seconds with fractions). Returns Int64 with nulls where a value is not a decimal number
    or does not fit int64 nanoseconds.
    """
    s = values.cast(pl.String).str.strip_chars()
    neg = s.str.starts_with("-")
    s = s.str.strip_prefix("-").str.strip_prefix("+")
    parts = s.str.split_exact(".", 1)
    whole = parts.struct.field("field_0")
    frac = parts.struct.field("field_1").fill_null("")
    ok = whole.str.contains(r"^\d+$") & frac.str.contains(r"^\d*$")
    frac = (
        frac.str.slice(0, digits).str.pad_end(digits, "0") if digits > 0 else frac.str.slice(0, 0)
    )
    scale = 10**digits
    whole_i = whole.cast(pl.Int64, strict=False)
    # whole * scale + frac must fit int64 (polars integer arithmetic wraps silently)
    ok = ok & (whole_i <= (2**63 - 1 - (scale - 1)) // scale).fill_null(False)
    frac_i = frac.cast(pl.Int64, strict=False).fill_null(0) if digits > 0 else 0
    out = pl.select(
        pl.when(pl.lit(ok)).then(pl.lit(whole_i) * scale + frac_i).otherwise(None)
    ).to_series()
    out = pl.select(pl.when(pl.lit(neg)).then(-out).otherwise(out)).to_series()
    return out.alias(values.name)


def epoch_to_ns(values: Any, unit: str | None = None) -> np.ndarray:
    """Epoch numbers (ints, floats or decimal strings) in ``unit`` to int64 ns.

    ``unit`` None infers it from magnitude. Strings are parsed exactly; floats are rounded to the
    nearest nanosecond of the unit (float64 carries ~16 significant digits: epoch seconds keep
    sub-microsecond precision, epoch microseconds as floats are exact). Values that are not
    numbers or do not fit int64 nanoseconds (about 1677-2262) become the missing-stamp sentinel
    (int64 min), which validation reports; :func:`parse_timestamps` raises for them instead.
    """
    return _null_to_min(_epoch_series(_as_series(values), unit))


def _epoch_series(s: pl.Series, unit: str | None) -> pl.Series:
    """Epoch numbers -> Int64 ns, null where a value is not a number or overflows int64 ns
    (integer arithmetic would wrap silently: 2**62 s times 1e9 is 0 in int64)."""
    if s.dtype == pl.String:
        if unit is None:
            unit = infer_epoch_unit(s.cast(pl.Float64, strict=False).to_numpy())
        digits = {"s": 9, "ms": 6, "us": 3, "ns": 0}[unit]
        return decimal_strings_to_int(s, digits)
    if s.dtype == pl.Boolean or not s.dtype.is_numeric():
        return pl.Series(s.name, [None] * len(s), dtype=pl.Int64)
    if unit is None:
        unit = infer_epoch_unit(s.cast(pl.Float64).to_numpy())
    mult = UNITS_NS[unit]
    if s.dtype.is_integer():
        v = s.cast(pl.Int64, strict=False)  # UInt64 beyond int64 -> null
        lim = (2**63 - 1) // mult
        return pl.select(
            pl.when((v <= lim) & (v >= -lim)).then(v * mult).otherwise(None)
        ).to_series()
    with np.errstate(invalid="ignore", over="ignore"):
        x = np.round(s.cast(pl.Float64).to_numpy() * mult)  # nulls are NaN here
        ok = np.isfinite(x) & (np.abs(x) < 9.2e18)
        out = np.where(ok, x, 0.0).astype(np.int64)
    return pl.select(pl.when(pl.Series(ok)).then(pl.Series(out)).otherwise(None)).to_series()


# ------------------------------------------------------------------------------------------
# the main entry point
# ------------------------------------------------------------------------------------------
def parse_timestamps(
    values: Any,
    *,
    fmt: str = "auto",
    tz: str = "UTC",
    ambiguous: str = "raise",
    nonexistent: str = "raise",
    file: str | None = None,
    column: str | None = None,
    first_line: int | np.ndarray | None = None,
) -> np.ndarray:
    """Parse a column of timestamps into int64 ns UTC (see the module docstring for ``fmt``).

    ``values`` may be a polars/pandas Series, a numpy array or a list of strings, numbers,
    datetimes or dates. ``first_line`` is the file line number of ``values[0]``, or an array of
    each value's line (for errors).
    """
    s = _as_series(values)
    ctx = {"file": file, "column": column, "first_line": first_line}
    if s.dtype == pl.Datetime or s.dtype == pl.Date:
        return _finish(s, s, tz, ambiguous, nonexistent, ctx)
    if s.dtype.is_numeric():
        if fmt == "auto" and s.dtype.is_integer() and _looks_yyyymmdd(s):
            fmt = "%Y%m%d"
        if fmt in ("auto", "epoch") or fmt in UNITS_NS:
            unit = None if fmt in ("auto", "epoch") else fmt
            return _check_numeric(s, _epoch_series(s, unit), ctx)
        s = s.cast(pl.String)
        if fmt == "%Y%m%d":
            s = s.str.replace(r"\.0$", "")
    if s.dtype != pl.String:
        s = s.cast(pl.String)
    s = s.str.strip_chars()
    if fmt in UNITS_NS or fmt == "epoch":
        return _check_numeric(s, _epoch_series(s, None if fmt == "epoch" else fmt), ctx)
    if fmt == "auto":
        fmt = _detect_format(s, ctx)
        if fmt in UNITS_NS or fmt == "epoch":
            return _check_numeric(s, _epoch_series(s, None if fmt == "epoch" else fmt), ctx)
    elif fmt == "iso":
        fmt = _detect_format(s, ctx, iso_only=True)
    parsed = _strptime(s, fmt, ctx)
    return _finish(s, parsed, tz, ambiguous, nonexistent, ctx)


def localize(
    naive_ns: Any, tz: str, *, ambiguous: str = "raise", nonexistent: str = "raise"
) -> np.ndarray:
    """Wall-clock times in ``tz`` (int64 ns as if UTC) -> int64 ns UTC."""
    s = pl.Series(np.asarray(naive_ns, dtype=np.int64)).cast(pl.Datetime("ns"))
    return _finish(
        s, s, tz, ambiguous, nonexistent, {"file": None, "column": None, "first_line": None}
    )


def to_local(ns: Any, tz: str) -> pl.Series:
    """int64 ns UTC -> polars datetime series in ``tz`` (for display and calendar logic)."""
    return (
        pl.Series(np.asarray(ns, dtype=np.int64))
        .cast(pl.Datetime("ns", "UTC"))
        .dt.convert_time_zone(tz)
    )


def wall_clock_ns(ns: Any, tz: str) -> np.ndarray:
    """int64 ns UTC -> wall-clock ns in ``tz`` (local time expressed as if it were UTC)."""
    return to_local(ns, tz).dt.replace_time_zone(None).dt.epoch("ns").to_numpy()


def local_dates(ns: Any, tz: str = "UTC") -> np.ndarray:
    """Calendar date (numpy datetime64[D]) of each UTC ns stamp in ``tz``."""
    return (wall_clock_ns(ns, tz) // NS_PER_DAY).astype("datetime64[D]")


def day_offset_to_ns(
    offset_ns: Any, date: Any, tz: str, *, ambiguous: str = "raise", nonexistent: str = "raise"
) -> np.ndarray:
    """Times given as ns after local midnight of ``date`` in ``tz`` (LOBSTER style) -> ns UTC.

    The offset is read as wall-clock time of day, so 34200 s is 09:30 local on any day.
    """
    day = np.datetime64(_to_date(date), "D").astype(np.int64) * NS_PER_DAY
    return localize(
        np.asarray(offset_ns, dtype=np.int64) + day,
        tz,
        ambiguous=ambiguous,
        nonexistent=nonexistent,
    )


def session_close_ns(dates: Any, tz: str, close: str = "16:00") -> np.ndarray:
    """For each calendar date, the instant ``close`` (HH:MM[:SS]) local time in ``tz``, ns UTC."""
    d = np.asarray(dates)
    if d.dtype.kind == "M":
        days = d.astype("datetime64[D]").astype(np.int64)
    else:  # int64 ns stamps at (any time of) the date, already wall-clock
        days = np.asarray(d, dtype=np.int64) // NS_PER_DAY
    return localize(days * NS_PER_DAY + parse_clock(close), tz)


def parse_clock(text: str) -> int:
    """``"16:00"`` / ``"09:30:15.5"`` -> ns after midnight."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*", str(text))
    if not m:
        raise DataError(
            "not a time of day", argument="session_close", value=text, fix="use HH:MM, e.g. 16:00"
        )
    hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    frac = int(round(float(m.group(4) or 0) * NS_PER_SECOND))
    if hh > 24 or mm > 59 or ss > 60:
        raise DataError(
            "time of day out of range", argument="session_close", value=text, fix="use HH:MM"
        )
    return ((hh * 60 + mm) * 60 + ss) * NS_PER_SECOND + frac


# ------------------------------------------------------------------------------------------
# scalars, durations, display
# ------------------------------------------------------------------------------------------
def to_ns(value: Any, tz: str = "UTC") -> int:
    """One instant -> int ns UTC: int ns, ISO string, datetime/date, numpy/pandas timestamps."""
    if isinstance(value, bool):
        raise DataError("not a timestamp", value=value, fix="pass an ISO date or int ns")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[ns]").astype(np.int64))
    if hasattr(value, "value") and hasattr(value, "tz_localize"):  # pandas Timestamp
        ts = value if value.tzinfo is not None else value.tz_localize(tz)
        return int(ts.tz_convert("UTC").as_unit("ns").value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            return int(localize([_naive_dt_ns(value)], tz)[0])
        return _naive_dt_ns(value.astimezone(_dt.UTC).replace(tzinfo=None))
    if isinstance(value, _dt.date):
        return int(
            localize([_naive_dt_ns(_dt.datetime(value.year, value.month, value.day))], tz)[0]
        )
    if isinstance(value, str):
        return int(parse_timestamps([value], tz=tz, column="time")[0])
    raise DataError(
        "not a timestamp", value=value, fix="pass an ISO date string, datetime or int ns"
    )


def _naive_dt_ns(value: _dt.datetime) -> int:
    delta = value - _dt.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * 1_000


_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_SECOND,
    "sec": NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "min": 60 * NS_PER_SECOND,
    "t": 60 * NS_PER_SECOND,
    "h": 3600 * NS_PER_SECOND,
    "hour": 3600 * NS_PER_SECOND,
    "d": NS_PER_DAY,
    "day": NS_PER_DAY,
    "w": 7 * NS_PER_DAY,
    "week": 7 * NS_PER_DAY,
}


def parse_duration(value: Any, *, argument: str = "interval") -> int:
    """A fixed duration -> int ns: ``"5min"``, ``"1m"`` (minute), ``"1h"``, ``"250ms"``, ``"1d"``,
    ``datetime.timedelta``, ``pandas.Timedelta`` or int ns. Months/years are not fixed durations."""
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        ns = int(value)
    elif isinstance(value, _dt.timedelta):
        ns = (value.days * 86_400 + value.seconds) * NS_PER_SECOND + value.microseconds * 1000
    elif hasattr(value, "value") and hasattr(value, "total_seconds"):
        ns = int(value.value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)?\s*([A-Za-z]+)\s*", value)
        unit = ""
        if m:
            unit = m.group(2) if m.group(2) in ("ns", "us", "ms", "s") else m.group(2).lower()
            if unit not in _DURATION_UNITS and unit.endswith("s"):
                unit = unit[:-1]  # "mins", "hours", "days"
        if not m or unit not in _DURATION_UNITS:
            raise DataError(
                "not a fixed duration",
                argument=argument,
                value=value,
                fix="use e.g. '500ms', '1s', '5min', '1h', '1d' (months/years are calendar rules)",
            )
        ns = int(round(float(m.group(1) or 1) * _DURATION_UNITS[unit]))
    else:
        raise DataError("not a duration", argument=argument, value=value, fix="use e.g. '5min'")
    if ns <= 0:
        raise DataError(
            "duration must be positive", argument=argument, value=value, fix="use e.g. '5min'"
        )
    return ns


def ns_to_iso(ns: Any, *, zero: str | None = None) -> Any:
    """int64 ns UTC -> ISO 8601 text with ``Z`` (a str for a scalar, a list for an array).

    Fractional seconds are printed only as far as needed (``.5``-style digits trimmed to 3/6/9).
    ``zero``: the text for a timestamp of 0 (records use 0 for "no time"), instead of the epoch.
    """
    scalar = np.ndim(ns) == 0
    arr = np.atleast_1d(np.asarray(ns, dtype=np.int64))
    dt = arr.astype("datetime64[ns]")
    sub = arr % NS_PER_SECOND
    if not sub.any():
        unit = "s"
    elif not (sub % 1_000_000).any():
        unit = "ms"
    elif not (sub % 1_000).any():
        unit = "us"
    else:
        unit = "ns"
    text = np.char.add(np.datetime_as_string(dt, unit=unit), "Z")
    if zero is not None:
        text = np.where(arr == 0, zero, text)
    return str(text[0]) if scalar else text.tolist()


# ------------------------------------------------------------------------------------------
# internals
# ------------------------------------------------------------------------------------------
def _as_series(values: Any) -> pl.Series:
    if isinstance(values, pl.Series):
        return values
    if (
        hasattr(values, "to_numpy")
        and hasattr(values, "dtype")
        and not isinstance(values, np.ndarray)
    ):
        try:  # pandas Series / Index
            return pl.from_pandas(values)
        except Exception:  # noqa: BLE001 - fall through to numpy conversion
            values = values.to_numpy()
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        return pl.Series(arr.astype("datetime64[ns]"))
    if arr.dtype.kind in "OU":
        return pl.Series([None if v is None else v for v in arr.tolist()], strict=False)
    return pl.Series(arr)


def _detect_format(s: pl.Series, ctx: dict, iso_only: bool = False) -> str:
    sample = _sample(s)
    if not sample:
        return "%Y-%m-%d"
    if not iso_only and all(_RE_NUMERIC.match(v) for v in sample):
        if all(
            len(v) == 8 and v.isdigit() and 1800 <= int(v[:4]) <= 2200 and 1 <= int(v[4:6]) <= 12
            for v in sample
        ):
            return "%Y%m%d"
        return "epoch"
    iso = [_RE_ISO.match(v) for v in sample]
    if all(iso):
        sep = next((m.group("sep") for m in iso if m.group("sep")), None)
        if sep is None:
            return "%Y-%m-%d"
        fmt = f"%Y-%m-%d{sep}%H:%M"
        if any(m.group("sec") for m in iso):
            fmt += ":%S%.f"
        tzs = {m.group("tz") for m in iso}
        if tzs == {None}:
            return fmt
        return fmt + "%#z" if None not in tzs else "mixed"
    if not iso_only:
        sl = [_RE_SLASH.match(v) for v in sample]
        if all(sl) and len({m.group("sep") for m in sl}) == 1:
            sep = sl[0].group("sep")
            first = max(int(m.group(1)) for m in sl)
            second = max(int(m.group(3)) for m in sl)
            timed = [m.group("time") for m in sl if m.group("time")]
            clock = (" %H:%M" + (":%S%.f" if any(t.count(":") == 2 for t in timed) else "")
                     if timed else "")
            day_first, month_first = (f"%d{sep}%m{sep}%Y{clock}", f"%m{sep}%d{sep}%Y{clock}")
            if first > 12 and second <= 12:
                return day_first
            if first <= 12 and second <= 12:  # every value fits both orders
                return _day_month_order(s, day_first, month_first, sep, ctx)
            return month_first
    return "mixed"


def _day_month_order(s: pl.Series, day_first: str, month_first: str, sep: str,
                     ctx: dict) -> str:
    """Day/month order of dates whose days and months are all <= 12: the order in which the
    column is in time order (bar files are sorted, either way round). When both or neither
    are, dotted dates are read day first and the others month first, with a warning."""
    ok = []
    for fmt in (day_first, month_first):
        v = _strptime(s, fmt, ctx).drop_nulls().cast(pl.Int64).to_numpy()
        d = np.diff(v)
        if len(v) == len(s.drop_nulls()) and ((d >= 0).all() or (d <= 0).all()):
            ok.append(fmt)
    if len(ok) == 1:
        return ok[0]
    chosen = day_first if sep == "." else month_first
    import warnings

    where = f"file {ctx['file']}, " if ctx.get("file") else ""
    col = f"column {ctx['column']!r}: " if ctx.get("column") else ""
    warnings.warn(f"{where}{col}day/month order of the dates is ambiguous (no day above 12, "
                  f"and {'both orders are' if ok else 'neither order is'} in time order); "
                  f"read as {chosen!r}. Fix: write the dates as YYYY-MM-DD", UserWarning,
                  stacklevel=4)
    return chosen


def _looks_yyyymmdd(s: pl.Series) -> bool:
    v = s.drop_nulls().to_numpy()
    if v.size == 0 or v.min() < 18000101 or v.max() > 22001231:
        return False
    month, day = (v // 100) % 100, v % 100
    return bool(((month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)).all())


def _sample(s: pl.Series) -> list[str]:
    n = len(s)
    if n <= 400:
        vals = s.to_list()
    else:
        idx = np.unique(
            np.r_[np.arange(200), np.arange(n - 200, n), np.linspace(0, n - 1, 200).astype(int)]
        )
        vals = s.gather(idx).to_list()
    return [v for v in vals if v not in (None, "")]


_RE_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})\s*$"


def _strptime(s: pl.Series, fmt: str, ctx: dict) -> pl.Series:
    """Parse strings with ``fmt`` (or pandas' mixed parser) into Datetime("ns"); values that
    do not parse or lie outside what int64 ns can hold (1677-09-22 .. 2262-04-11) are null.

    polars' ``to_datetime(time_unit="ns")`` wraps out-of-range dates silently (9999-12-31
    comes back as 1816-03-29), so the parse runs in microseconds, out-of-range values become
    null in the cast to ns, and only files with sub-microsecond digits are parsed again in ns.
    """
    if fmt == "mixed":
        import pandas as pd

        has_tz = s.str.contains(_RE_OFFSET).fill_null(False)
        if has_tz.any() and not has_tz.all():
            raise _error_at(s, int((has_tz != has_tz[0]).arg_max()), ctx,
                            "timestamps mix stamps with and without a UTC offset",
                            "write every stamp with its offset (or none, and pass tz=...)")
        utc = bool(has_tz.any())
        parsed = pd.to_datetime(s.to_pandas(), errors="coerce", format="mixed", utc=utc)
        return pl.from_pandas(parsed).cast(pl.Datetime("ns", "UTC" if utc else None), strict=False)
    us = s.str.to_datetime(fmt, time_unit="us", strict=False, exact=True)
    out = us.cast(pl.Datetime("ns", us.dtype.time_zone), strict=False)
    if out.null_count() < len(out) and bool(s.str.contains(r"\.\d{7}").any()):
        ns = s.str.to_datetime(fmt, time_unit="ns", strict=False, exact=True)
        out = pl.select(pl.when(out.is_not_null()).then(ns).otherwise(None)).to_series()
    return out


def _finish(
    raw: pl.Series, parsed: pl.Series, tz: str, ambiguous: str, nonexistent: str, ctx: dict
) -> np.ndarray:
    if parsed.dtype == pl.Date:
        parsed = parsed.cast(pl.Datetime("ns"), strict=False)  # out of range -> null
    if parsed.dtype.time_unit != "ns":
        parsed = parsed.cast(pl.Datetime("ns", parsed.dtype.time_zone), strict=False)
    _check_parsed(
        raw, parsed, ctx,
        "cannot parse timestamp (or it lies outside 1677-09-22..2262-04-11, the range of "
        "int64 nanoseconds)",
        "use ISO 8601 (YYYY-MM-DD[ HH:MM:SS]) or pass the format (e.g. --ts-format '%d.%m.%Y')",
    )  # fmt: skip
    if parsed.dtype.time_zone is None:
        check_tz(tz)
        try:
            parsed = parsed.dt.replace_time_zone(
                tz, ambiguous=ambiguous, non_existent="null" if nonexistent == "null" else "raise"
            )
        except pl.exceptions.PolarsError as exc:
            raise _error_at(
                raw, _first_bad_local(parsed, tz), ctx,
                f"local time does not exist or is ambiguous in time zone {tz} ({exc.__class__.__name__})",
                "pass nonexistent='null' / ambiguous='earliest' or the right tz (UTC if the file is UTC)",
            ) from None  # fmt: skip
    return _null_to_min(parsed.dt.convert_time_zone("UTC").dt.epoch("ns"))


def check_tz(tz: str) -> str:
    """Raise a DataError naming ``tz`` unless it is a known IANA time zone; return it."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DataError(
            "unknown time zone",
            argument="tz",
            value=tz,
            fix="use an IANA name such as America/New_York or UTC",
        ) from None
    return tz


def _check_numeric(raw: pl.Series, out: pl.Series, ctx: dict) -> np.ndarray:
    _check_parsed(
        raw, out, ctx,
        "cannot parse epoch timestamp (not a number, or beyond the years 1677-2262)",
        "timestamps must be numbers of seconds/ms/us/ns since 1970-01-01 UTC "
        "(pass --ts-format s/ms/us/ns when the unit is not the one guessed)",
    )  # fmt: skip
    return _null_to_min(out)


def _check_parsed(raw: pl.Series, out: pl.Series, ctx: dict, message: str, fix: str) -> None:
    """Raise at the first row whose value (not blank) did not parse (null in ``out``)."""
    bad_mask = out.is_null() & raw.is_not_null()
    if raw.dtype == pl.String:
        bad_mask = bad_mask & (raw.str.strip_chars() != "")
    if bad_mask.any():
        raise _error_at(raw, int(bad_mask.arg_max()), ctx, message, fix)


def _error_at(raw: pl.Series, i: int | None, ctx: dict, message: str, fix: str) -> DataError:
    """The DataError naming row ``i`` of the parsed column (its file line) and its value."""
    return DataError(message, file=ctx["file"], row=_row(i, ctx), column=ctx["column"],
                     value=None if i is None else str(raw[i]), fix=fix)  # fmt: skip


def _null_to_min(s: pl.Series) -> np.ndarray:
    """Missing stamps become int64 min (validation reports them); others pass unchanged."""
    if s.null_count():
        s = s.fill_null(np.iinfo(np.int64).min)
    return s.cast(pl.Int64).to_numpy()


def _first_bad_local(parsed: pl.Series, tz: str) -> int | None:
    nulled = parsed.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
    mask = nulled.is_null() & parsed.is_not_null()
    return int(mask.arg_max()) if mask.any() else None


def _row(i: int | None, ctx: dict) -> int | None:
    if i is None:
        return None
    first = ctx.get("first_line")
    if isinstance(first, np.ndarray):
        return int(first[i])
    return i + first if first is not None else i


def _to_date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[D]").astype(object)
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return _dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise DataError("not a date", argument="date", value=value, fix="use YYYY-MM-DD")
