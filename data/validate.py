"""Validation of market data: canonical arrays of every kind, and files on disk.

Two entry points for arrays:

* :func:`check_array` returns a :class:`Report` listing every :class:`Issue` (it never raises for
  data problems) — what ``tape data validate`` prints.
* :func:`validate_array` raises :class:`~data.errors.DataError` for the first error and emits a
  ``UserWarning`` (``warnings.warn``) per recoverable oddity — what readers call.

:func:`validate_file` checks a file end to end (existence, empty, encoding, truncation, field
counts, columns, then the parsed rows) and :func:`check_sequence` checks exchange sequence
numbers (consecutive trade ids, Binance-style ``pu == previous u`` chains) for the tick readers.

What each kind must satisfy (errors unless marked *warning*):

=========  ==================================================================================
all        at least one row; ``ts`` present (not the missing sentinel); ``ts_recv >= ts``
           (*warning*: receive clock before exchange clock)
bar        close times strictly increasing after sorting: duplicates are errors, unsorted or
           newest-first order a *warning* (readers sort); OHLC finite and > 0;
           ``low <= min(open, close)``, ``high >= max(open, close)``; volume finite, >= 0
trade      price finite and > 0; size finite and >= 0 (0 is a *warning*); side in {-1, 0, 1};
           unsorted ``ts`` a *warning* (readers sort stably)
quote      bid, ask finite and > 0; ``bid <= ask`` (crossed is an error, locked ``bid == ask``
           a *warning*); sizes >= 0 or NaN (unknown); unsorted ``ts`` a *warning*
depth      side in {-1, 1} (0 only with DEPTH_CLEAR); price finite and > 0 unless the row only
           clears; size finite and >= 0; ``ts`` must not go backwards (row order is meaning)
mbo        event in 1..9; side in {-1, 1} (any for halt/clear); price finite and > 0 for
           add/modify; size finite and >= 0; order_id >= 0; ``ts`` must not go backwards
=========  ==================================================================================

Row numbers: for files, the 1-based line number (``first_line`` is the line of row 0, or an
array with each row's line when rows were regrouped or reordered); for arrays without a file,
the 0-based index. Each issue names the column, the value and a fix.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import DataError
from data.schema import DEPTH_CLEAR, MBO_ANON_LEVEL, MBO_CLEAR, MBO_HALT, MBO_MODIFY, dtype_for

_MISSING_TS = np.iinfo(np.int64).min


@dataclasses.dataclass(frozen=True)
class Issue:
    """One problem found in the data."""

    severity: str  # "error" or "warning"
    code: str  # stable identifier, e.g. "ohlc_inconsistent"
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    fix: str | None = None
    count: int = 1  # rows affected (row is the first)

    def error(self) -> DataError:
        msg = self.message + (f" ({self.count} rows; first shown)" if self.count > 1 else "")
        return DataError(
            msg, file=self.file, row=self.row, column=self.column, value=self.value, fix=self.fix
        )

    def __str__(self) -> str:
        return f"{self.severity}: [{self.code}] {self.error()}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["value"] = None if self.value is None else _plain(self.value)
        return d


@dataclasses.dataclass
class Report:
    """All issues found in one source."""

    source: str
    kind: str | None
    rows: int = 0
    issues: list[Issue] = dataclasses.field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def codes(self) -> set[str]:
        return {i.code for i in self.issues}

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0].error()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind,
            "rows": self.rows,
            "ok": self.ok,
            "issues": [i.to_dict() for i in self.issues],
        }


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if isinstance(v, int | float | str | bool):
        return v
    return str(v)


class _Collector:
    def __init__(self, file: str | None, first_line: int | np.ndarray | None) -> None:
        self.file = file
        self.first_line = first_line
        self.issues: list[Issue] = []

    def row(self, i: int) -> int:
        if isinstance(self.first_line, np.ndarray):
            return int(self.first_line[i])
        return int(i) + (self.first_line if self.first_line is not None else 0)

    def add(self, severity, code, message, mask_or_idx, column, values, fix) -> None:
        idx = np.flatnonzero(mask_or_idx) if np.asarray(mask_or_idx).dtype == bool else mask_or_idx
        idx = np.asarray(idx)
        if idx.size == 0:
            return
        first = int(idx[0])
        value = values(first) if callable(values) else None if values is None else values[first]
        if column in ("ts", "ts_recv") and isinstance(value, np.integer) and value != _MISSING_TS:
            from data.timeutil import ns_to_iso

            value = f"{ns_to_iso(int(value))} ({int(value)} ns)"
        self.issues.append(
            Issue(
                severity,
                code,
                message,
                file=self.file,
                row=self.row(first),
                column=column,
                value=_plain(value) if value is not None else None,
                fix=fix,
                count=int(idx.size),
            )
        )


def check_array(
    arr: np.ndarray,
    kind: str,
    *,
    file: str | None = None,
    first_line: int | np.ndarray | None = None,
    order: bool = True,
    allow_nonpositive_prices: bool = False,
) -> Report:
    """All issues of a canonical array of ``kind`` (rows in file order). Never raises on data.

    ``order`` False skips time-order checks (a chunk of a longer stream).
    """
    dt = dtype_for(kind)
    report = Report(source=file or "<array>", kind=kind, rows=len(arr))
    c = _Collector(file, first_line)
    if not isinstance(arr, np.ndarray) or arr.dtype.names is None:
        c.issues.append(
            Issue("error", "wrong_dtype", f"not a structured array of kind {kind}", file=file,
                  value=type(arr).__name__, fix="convert with data.schema.to_array(frame, kind)")
        )  # fmt: skip
        report.issues = c.issues
        return report
    missing = [n for n in dt.names if n not in arr.dtype.names]
    if missing:
        c.issues.append(
            Issue("error", "missing_column", f"missing field(s) {missing} for kind {kind}",
                  file=file, column=missing[0], value=list(arr.dtype.names),
                  fix=f"provide the fields {list(dt.names)}")
        )  # fmt: skip
        report.issues = c.issues
        return report
    if len(arr) == 0:
        c.issues.append(
            Issue("error", "empty", "no rows", file=file, fix="check the source or the date range")
        )
        report.issues = c.issues
        return report
    ts = arr["ts"].astype(np.int64, copy=False)
    c.add("error", "missing_ts", "missing timestamp", ts == _MISSING_TS, "ts", None,
          "fill or delete the row")  # fmt: skip
    if "ts_recv" in arr.dtype.names:
        recv = arr["ts_recv"]
        bad = (recv < ts) & (recv != _MISSING_TS) & (ts != _MISSING_TS)
        c.add("warning", "recv_before_exchange", "receive time is before the exchange time",
              bad, "ts_recv", recv, "check the clocks; latency models use ts_recv - ts")  # fmt: skip
    if order:
        _check_order(c, ts, kind)
    {
        "bar": _check_bar,
        "trade": _check_trade,
        "quote": _check_quote,
        "depth": _check_depth,
        "mbo": _check_mbo,
    }[kind](c, arr, allow_nonpositive_prices)
    report.issues = c.issues
    return report


def validate_array(arr: np.ndarray, kind: str, *, stacklevel: int = 2, **options: Any) -> Report:
    """Raise a DataError for the first error; warn (``UserWarning``) for each warning.

    ``options`` are those of :func:`check_array`: ``file``, ``first_line``, ``order``,
    ``allow_nonpositive_prices``."""
    report = check_array(arr, kind, **options)
    report.raise_first()
    for issue in report.warnings:
        warnings.warn(str(issue.error()), UserWarning, stacklevel=stacklevel)
    return report


def require_rows(
    mask: np.ndarray,
    *,
    message: str,
    column: str | None,
    values: Any,
    fix: str,
    file: str | None = None,
    first_line: int | np.ndarray | None = None,
) -> None:
    """Raise a DataError naming the first row where ``mask`` holds (and how many rows do).

    For format-specific rules of a reader (LOBSTER event types, Tardis flags...) that the
    per-kind rules below do not cover; rows are numbered as in :func:`check_array`.
    """
    c = _Collector(file, first_line)
    c.add("error", "invalid", message, np.asarray(mask, dtype=bool), column, values, fix)
    if c.issues:
        raise c.issues[0].error()


# ------------------------------------------------------------------------------------------
# per-kind rules
# ------------------------------------------------------------------------------------------
def _check_order(c: _Collector, ts: np.ndarray, kind: str) -> None:
    if len(ts) < 2:
        return
    d = np.diff(ts)
    back = np.flatnonzero(d < 0) + 1
    if kind in ("depth", "mbo"):
        c.add("error", "unsorted", "timestamp goes backwards (row order carries meaning here)",
              back, "ts", ts, "sort the file by time, or read with sort=True if the order is wrong")  # fmt: skip
    elif back.size:
        if back.size == len(ts) - 1 or (d <= 0).all():
            c.add("warning", "descending", "rows are newest-first; they are reversed on read",
                  back[:1], "ts", ts, "nothing to do (or sort the file oldest-first)")  # fmt: skip
        else:
            c.add("warning", "unsorted", "timestamps out of order; rows are sorted stably by ts",
                  back, "ts", ts, "sort the file by time")  # fmt: skip
    if kind == "bar":
        s = np.sort(ts, kind="stable")
        dup = np.flatnonzero(np.diff(s) == 0)
        if dup.size:
            order = np.argsort(ts, kind="stable")
            rows = np.sort(order[dup + 1])
            c.add("error", "duplicate_ts", "two bars share the same timestamp", rows, "ts", ts,
                  "remove the duplicated bar")  # fmt: skip


def _finite_positive(c, arr, fields, allow_nonpositive, what="price") -> None:
    for f in fields:
        v = arr[f]
        c.add("error", "nan", f"{what} is NaN", np.isnan(v), f, v, "fill or delete the row")
        c.add("error", "inf", f"{what} is infinite", np.isinf(v), f, v, "fix or delete the row")
        if not allow_nonpositive:
            c.add("error", "nonpositive_price", f"{what} is not positive", v <= 0, f, v,
                  "check the column/scale; pass allow_nonpositive_prices=True for instruments "
                  "that trade at or below zero (spreads)")  # fmt: skip


def _sizes(c, arr, fields, nan_ok: bool) -> None:
    for f in fields:
        v = arr[f]
        if not nan_ok:
            c.add("error", "nan", "size is NaN", np.isnan(v), f, v, "fill or delete the row")
        c.add("error", "inf", "size is infinite", np.isinf(v), f, v, "fix or delete the row")
        c.add("error", "negative_size", "size is negative", v < 0, f, v,
              "sizes are unsigned; the side says buy or sell")  # fmt: skip


def _check_bar(c, arr, allow_np) -> None:
    _finite_positive(c, arr, ("open", "high", "low", "close"), allow_np)
    o, h, lo, cl = arr["open"], arr["high"], arr["low"], arr["close"]
    with np.errstate(invalid="ignore"):
        low_bad = lo > np.minimum(o, cl)
        high_bad = h < np.maximum(o, cl)
        bad = low_bad | high_bad | (lo > h)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        c.add("error", "ohlc_inconsistent",
              "OHLC inconsistent (each bar needs low <= open, close <= high)", bad,
              "high" if high_bad[first] and not low_bad[first] else "low",
              lambda i: (f"open={float(o[i])!r} high={float(h[i])!r} low={float(lo[i])!r} "
                         f"close={float(cl[i])!r}"),
              "check the column order (E. Chan files are date,hi,lo,cl,op,vol) or the source")  # fmt: skip
    v = arr["volume"]
    c.add("error", "nan", "volume is NaN", np.isnan(v), "volume", v, "use 0 when unknown")
    c.add("error", "inf", "volume is infinite", np.isinf(v), "volume", v, "fix the row")
    c.add("error", "negative_size", "volume is negative", v < 0, "volume", v, "fix the row")


def _check_trade(c, arr, allow_np) -> None:
    _finite_positive(c, arr, ("price",), allow_np)
    _sizes(c, arr, ("size",), nan_ok=False)
    c.add("warning", "zero_size", "trade size is 0", arr["size"] == 0, "size", arr["size"],
          "drop zero-size prints if they are not real trades")  # fmt: skip
    _sides(c, arr, allowed=(-1, 0, 1))


def _check_quote(c, arr, allow_np) -> None:
    _finite_positive(c, arr, ("bid", "ask"), allow_np)
    _sizes(c, arr, ("bid_size", "ask_size"), nan_ok=True)
    b, a = arr["bid"], arr["ask"]
    c.add("error", "crossed_quote", "quote is crossed (bid > ask)", b > a, "bid", b,
          "check that bid and ask are not swapped; drop crossed rows")  # fmt: skip
    c.add("warning", "locked_quote", "quote is locked (bid == ask)", b == a, "bid", b,
          "usually harmless; fills at the touch have zero spread cost")  # fmt: skip


def _check_depth(c, arr, allow_np) -> None:
    clear = (arr["flags"] & DEPTH_CLEAR) != 0
    side = arr["side"]
    c.add("error", "bad_side", "depth side must be 1 (bid) or -1 (ask)",
          ~np.isin(side, (-1, 1)) & ~(clear & (side == 0)), "side", side,
          "map the side column (bid/ask, b/a, 1/-1)")  # fmt: skip
    p = arr["price"]
    real = ~clear  # a clear row's price is ignored (readers write 0 or NaN there)
    c.add("error", "nan", "price is NaN", np.isnan(p) & real, "price", p, "fix the row")
    c.add("error", "inf", "price is infinite", np.isinf(p) & real, "price", p, "fix the row")
    if not allow_np:
        c.add("error", "nonpositive_price", "price is not positive", (p <= 0) & real, "price", p,
              "check the column/scale")  # fmt: skip
    _sizes(c, arr, ("size",), nan_ok=False)
    c.add("error", "bad_flags", "unknown flag bits", arr["flags"] > 7, "flags", arr["flags"],
          "use data.schema DEPTH_SNAPSHOT | DEPTH_CLEAR | DEPTH_LAST")  # fmt: skip


def _check_mbo(c, arr, allow_np) -> None:
    ev = arr["event"]
    c.add("error", "bad_event", "unknown MBO event code", (ev < 1) | (ev > 11), "event", ev,
          "use data.schema MBO_* codes 1-11")  # fmt: skip
    special = (ev == MBO_HALT) | (ev == MBO_CLEAR)
    side = arr["side"]
    c.add("error", "bad_side", "order side must be 1 (buy) or -1 (sell)",
          ~np.isin(side, (-1, 1)) & ~special, "side", side, "map the direction column")  # fmt: skip
    p = arr["price"]
    priced = (ev == 1) | (ev == MBO_MODIFY) | (ev == MBO_ANON_LEVEL)
    c.add("error", "nan", "price is NaN", np.isnan(p) & ~special, "price", p, "fix the row")
    c.add("error", "inf", "price is infinite", np.isinf(p), "price", p, "fix the row")
    if not allow_np:
        c.add("error", "nonpositive_price", "order price is not positive", (p <= 0) & priced,
              "price", p, "check the price scale (LOBSTER prices are x10000)")  # fmt: skip
    _sizes(c, arr, ("size",), nan_ok=False)
    c.add("error", "negative_order_id", "order id is negative", arr["order_id"] < 0, "order_id",
          arr["order_id"], "order ids are non-negative integers")  # fmt: skip


def _sides(c, arr, allowed) -> None:
    s = arr["side"]
    c.add("error", "bad_side", "side must be 1 (buy), -1 (sell) or 0 (unknown)",
          ~np.isin(s, allowed), "side", s, "map the side column (buy/sell, 1/-1)")  # fmt: skip


# ------------------------------------------------------------------------------------------
# sequence numbers (exchange feeds)
# ------------------------------------------------------------------------------------------
def check_sequence(
    ids: np.ndarray,
    *,
    prev: np.ndarray | None = None,
    mode: str = "consecutive",
    file: str | None = None,
    column: str | None = None,
    first_line: int | None = None,
    severity: str = "error",
) -> list[Issue]:
    """Check exchange sequence numbers; returns issues (first gap, with the number of gaps).

    ``mode``: ``"consecutive"`` (each id = previous + 1: trade ids, sequence numbers),
    ``"increasing"`` (strictly increasing, gaps allowed), or ``"chain"`` (``prev[i] == ids[i-1]``:
    Binance diff streams, where ``pu`` must equal the previous message's ``u``; pass ``u`` as
    ``ids`` and ``pu`` as ``prev``).
    """
    ids = np.asarray(ids, dtype=np.int64)
    c = _Collector(file, first_line)
    if len(ids) < 2:
        return []
    if mode == "consecutive":
        d = np.diff(ids)
        gap = np.flatnonzero(d > 1) + 1
        c.add(severity, "sequence_gap", "sequence gap (ids missing before this row)", gap, column,
              ids, "messages were lost: re-download, or resync the book from a snapshot")  # fmt: skip
        back = np.flatnonzero(d <= 0) + 1
        c.add(severity, "sequence_order", "sequence id repeats or goes backwards", back, column,
              ids, "remove duplicated messages or sort by sequence")  # fmt: skip
    elif mode == "increasing":
        back = np.flatnonzero(np.diff(ids) <= 0) + 1
        c.add(severity, "sequence_order", "sequence id repeats or goes backwards", back, column,
              ids, "remove duplicated messages or sort by sequence")  # fmt: skip
    elif mode == "chain":
        if prev is None:
            raise DataError("chain mode needs prev", argument="prev", fix="pass the pu column")
        prev = np.asarray(prev, dtype=np.int64)
        broken = np.flatnonzero(prev[1:] != ids[:-1]) + 1
        c.add(severity, "sequence_gap", "update chain broken (prev id != previous message id)",
              broken, column, prev, "messages were lost: resync the book from a snapshot")  # fmt: skip
    else:
        raise DataError(
            "unknown sequence mode",
            argument="mode",
            value=mode,
            fix="use 'consecutive', 'increasing' or 'chain'",
        )
    return c.issues


# ------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------
def validate_file(
    path: str | Path,
    *,
    kind: str | None = None,
    format: str = "auto",
    mapping: Any = None,
    ts_format: str = "auto",
    tz: str | None = None,
    **reader_options: Any,
) -> Report:
    """Check a file end to end and return a :class:`Report` (data problems never raise).

    ``kind`` None detects it (OHLC columns -> bar, bid/ask -> quote, price/size -> trade ...).
    ``format`` picks a reader (see :func:`data.readers.formats`); "auto" uses the bar reader for
    bar files and the generic table reader otherwise.
    """
    from data.readers.dispatch import read_for_validation

    path = Path(path)
    report = Report(source=str(path), kind=kind)
    try:  # file-level damage first: missing, empty, encoding, truncation, field counts
        _check_text_file(path, reader_options.get("encoding"))
    except DataError as exc:
        report.issues.append(_issue_from_error(exc))
        return report
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            arr, kind, first_line, extra = read_for_validation(
                path, kind=kind, format=format, mapping=mapping, ts_format=ts_format, tz=tz,
                **reader_options,
            )  # fmt: skip
        except DataError as exc:
            report.issues.append(_issue_from_error(exc))
            return report
    report.kind = kind
    if arr is None:  # several series: first_line holds the total row count
        report.rows = int(first_line or 0)
    else:
        report.rows = len(arr)
        report.issues.extend(check_array(arr, kind, file=str(path), first_line=first_line).issues)
    report.issues.extend(extra)
    seen = {str(i.error()) for i in report.issues}
    for w in caught:
        text = str(w.message)
        if text not in seen:
            text = text.removeprefix(f"file {path}: ")
            report.issues.append(Issue("warning", "reader", text, file=str(path)))
    return report


def _check_text_file(path: Path, encoding: str | None) -> None:
    from data.readers.sniff import diagnose, open_bytes, sniff
    from data.readers.table import _is_parquet

    if not path.exists():
        raise DataError("file not found", file=str(path), fix="check the path")
    if _is_parquet(path):
        return
    open_bytes(path)  # raises for truncated gzip
    info = sniff(path, encoding=encoding)
    diagnose(info)


def _issue_from_error(exc: DataError) -> Issue:
    text = exc.message.lower()
    rules = (
        (r"\bempty\b|no rows", "empty"),
        (r"truncated", "truncated"),
        (r"utf|decode|encoding", "encoding"),
        (r"missing .*column|missing field|not in the file|no header", "missing_column"),
        (r"fields, expected", "field_count"),
        (r"not a number|does not fit", "not_a_number"),
        (r"timestamp|time zone|local time", "bad_timestamp"),
        (r"not found|is a folder", "not_found"),
        (r"duplicate", "duplicate_ts"),
        (r"missing value", "missing_value"),
        (r"unknown side|unknown event|unknown flags", "bad_value"),
        (r"kind", "unknown_kind"),
    )
    code = next((name for pattern, name in rules if re.search(pattern, text)), "invalid")
    return Issue(
        "error",
        code,
        exc.message,
        file=exc.file,
        row=exc.row,
        column=exc.column,
        value=None if exc.value is None else _plain(exc.value),
        fix=exc.fix,
    )
