"""Generic CSV / Parquet reader for every canonical kind (bar, trade, quote, depth, mbo).

A *mapping* says which file column feeds which canonical field (``{"px": "price"}``); columns
not mapped are matched by common names (``timestamp``/``time`` -> ``ts``, ``amount``/``qty`` ->
``size``, ``local_timestamp`` -> ``ts_recv``, ...). Headerless files are mapped by 0-based column
position (``{"0": "ts", "4": "price"}``). Timestamps go through :mod:`data.timeutil` (ISO,
epoch s/ms/us/ns, strptime formats, time zones).

Values are normalised on the way in:

* ``side``: ``buy/b/bid/1`` -> BUY, ``sell/s/ask/a/offer/-1`` -> SELL, empty/``unknown`` -> 0; a
  boolean column whose name contains ``maker`` (Binance ``m``/``is_buyer_maker``) means the
  buyer was the maker, i.e. a SELL aggressor. Anything else needs ``side_map``.
* ``event`` (mbo): integer codes (LOBSTER numbering, :mod:`data.schema`) or names
  (``add``, ``cancel``, ``delete``, ``execute``, ``hidden``, ``cross``, ``halt``, ``modify``, ``clear``).
* ``flags`` (depth): integer bit fields, or a boolean / ``snap`` column marks DEPTH_SNAPSHOT.
* missing optional fields: ``ts_recv`` = ``ts``; ``side`` = 0; quote sizes NaN (unknown);
  bar volume 0; depth flags 0.
* ``price_divisor`` divides every price field (LOBSTER: 10000); division, not multiplication
  by the inverse, so ``5805000 / 10000`` is exactly ``580.5``.

The fast path is polars end to end; when it fails, :func:`data.readers.sniff.diagnose` rescans
the file to name the exact line. Readers validate what they return
(:func:`data.validate.validate_array`): errors raise, recoverable oddities warn.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from data.errors import DataError
from data.readers.closes import CloseRule, check_close_times, close_rule
from data.readers.columns import resolve_columns, to_canonical_array
from data.readers.sniff import READ_ERRORS, FileInfo, decode, diagnose, open_bytes, sniff
from data.schema import dtype_for


def read_table_frame(path: str | Path, *, kind: str, **options: Any) -> tuple[pl.DataFrame, int]:
    """Read a CSV (plain/gzip) or Parquet file into a polars frame with the canonical columns
    of ``kind`` in file order. Returns ``(frame, first_line)`` (line number of row 0); the
    options are those of :func:`read_table` up to ``encoding``, and for bars ``label``,
    ``session_close`` and ``interval`` (close times as :func:`read_table` gives them)."""
    stamp = {k: options.pop(k) for k in ("label", "session_close", "interval") if k in options}
    arr, first_line = read_table_rows(path, kind=kind, **options)
    if kind == "bar":
        arr, _ = stamp_bars(arr, tz=options.get("tz"), file=str(path), first_line=first_line,
                            **stamp)  # fmt: skip
    return pl.DataFrame({n: arr[n] for n in arr.dtype.names}), first_line


def read_table_rows(
    path: str | Path,
    *,
    kind: str,
    mapping: Mapping[Any, str] | str | None = None,
    ts_format: str = "auto",
    tz: str | None = None,
    ts_recv_format: str | None = None,
    price_divisor: float = 1.0,
    side_map: Mapping[Any, int] | None = None,
    separator: str | None = None,
    encoding: str | None = None,
) -> tuple[np.ndarray, int]:
    """Read a CSV/Parquet file into a canonical array **in file order**, not validated.
    Returns ``(rows, first_line)`` (line number of row 0). Bar ``ts`` are the file's stamps:
    :func:`finish_array` (or :func:`stamp_bars`) turns them into close times."""
    path = Path(path)
    dtype_for(kind)
    if _is_parquet(path):
        try:
            df = pl.read_parquet(path)
        except READ_ERRORS as exc:
            raise _parquet_error(exc, path) from None
        cols = resolve_columns(df.columns, kind, mapping, file=str(path))
        first_line = 1
    else:
        info = sniff(path, separator=separator, encoding=encoding)
        df, cols = _read_csv(info, kind, mapping, ts_format)
        first_line = info.first_data_line
    if len(df) == 0:
        raise DataError("file has a header but no rows", file=str(path), fix="check the export")
    rows = to_canonical_array(
        df,
        kind,
        cols,
        ts_format=ts_format,
        tz=tz or "UTC",
        ts_recv_format=ts_recv_format,
        price_divisor=price_divisor,
        side_map=side_map,
        file=str(path),
        first_line=first_line,
    )
    return rows, first_line


def read_table(
    path: str | Path,
    *,
    kind: str,
    sort: bool | None = None,
    validate: bool = True,
    label: str = "auto",
    session_close: str = "16:00",
    interval: str | int | None = None,
    **options: Any,
) -> np.ndarray:
    """Read any CSV/Parquet file into a canonical array of ``kind`` (see the module docstring).

    ``options`` are those of :func:`read_table_rows`: ``mapping``, ``ts_format`` ("auto"),
    ``tz`` (None), ``ts_recv_format``, ``price_divisor`` (1.0), ``side_map``, ``separator``,
    ``encoding``. ``sort`` None sorts bars, trades and quotes stably by ``ts`` when they are out
    of order (with a warning) and leaves depth/mbo in file order (their order carries meaning).
    ``validate`` runs :func:`data.validate.validate_array` on the rows in file order, so errors
    name lines. For ``kind="bar"`` the stamps become close times by the rule
    :func:`data.readers.read_bars` uses (:mod:`data.readers.closes`): date-only bars close at
    ``session_close`` in ``tz`` (16:00 America/New_York by default; the end of the UTC day for
    24/7 markets); stamps with a time of day are taken as the close (``label="auto"``/
    ``"close"``), or as the open with ``label="open"`` (close = stamp + ``interval``, default
    the median spacing).
    """
    arr, first_line = read_table_rows(path, kind=kind, **options)
    return finish_array(arr, kind, file=str(path), first_line=first_line, sort=sort,
                        validate=validate, label=label, tz=options.get("tz"),
                        session_close=session_close, interval=interval)  # fmt: skip


def finish_array(
    arr: np.ndarray,
    kind: str,
    *,
    file: str | None,
    first_line: int | np.ndarray | None,
    sort: bool | None = None,
    validate: bool = True,
    label: str = "auto",
    tz: str | None = None,
    session_close: str = "16:00",
    interval: str | int | None = None,
) -> np.ndarray:
    """Validate rows in file order, then sort stably by ts where the kind allows it; bars get
    their close times (:func:`stamp_bars`; ``label``..``interval`` are its options)."""
    if validate:
        from data.validate import validate_array

        validate_array(arr, kind, file=file, first_line=first_line, stacklevel=4)
    if sort is None:
        sort = kind in ("bar", "trade", "quote")
    lines = first_line
    if sort and len(arr) > 1 and bool((np.diff(arr["ts"]) < 0).any()):
        perm = np.argsort(arr["ts"], kind="stable")
        arr = arr[perm]
        if lines is not None:
            lines = _line_array(lines, len(perm))[perm]
    if kind == "bar":
        arr, _ = stamp_bars(arr, label=label, tz=tz, session_close=session_close,
                            interval=interval, file=file, first_line=lines, check=validate)  # fmt: skip
    return arr


def stamp_bars(
    arr: np.ndarray,
    *,
    label: str = "auto",
    tz: str | None = None,
    session_close: str = "16:00",
    interval: str | int | None = None,
    file: str | None = None,
    first_line: int | np.ndarray | None = None,
    check: bool = True,
    rule: CloseRule | None = None,
) -> tuple[np.ndarray, CloseRule]:
    """BAR rows with the file's stamps -> a copy with close times, by the one rule of
    :mod:`data.readers.closes` (the one :func:`data.readers.read_bars` uses); stamps with a time
    of day are the close under ``label="auto"``. ``rule`` (from an earlier call) skips the
    decision (a stream decided on the whole file). Returns ``(bars, rule)``."""
    stamps = arr["ts"]
    if rule is None:
        rule = close_rule(stamps, label=label, tz=tz, session_close=session_close,
                          interval=interval, intraday="close")  # fmt: skip
    out = arr.copy()
    out["ts"] = rule.apply(stamps)
    if check:
        lines = first_line if first_line is not None else 1
        check_close_times(stamps, out["ts"], rule.label, lines, file, "ts")
    return out, rule


def _line_array(first_line: int | np.ndarray, n: int) -> np.ndarray:
    if np.ndim(first_line):
        return np.asarray(first_line)
    return np.arange(n, dtype=np.int64) + int(first_line)


def iter_table(
    path: str | Path,
    *,
    kind: str,
    chunk_rows: int = 1_000_000,
    mapping: Mapping[Any, str] | str | None = None,
    ts_format: str = "auto",
    tz: str | None = None,
    ts_recv_format: str | None = None,
    price_divisor: float = 1.0,
    side_map: Mapping[Any, int] | None = None,
    separator: str | None = None,
    validate: bool = True,
    label: str = "auto",
    session_close: str = "16:00",
    interval: str | int | None = None,
) -> Iterator[np.ndarray]:
    """Stream a large CSV/Parquet file as canonical arrays of at most ``chunk_rows`` rows, in
    file order, with memory bounded by the chunk size (polars streaming engine).

    Bars get the close times :func:`read_table` gives them: the rule is decided on the whole
    file's stamps, read in a first pass (8 bytes a row held), then applied to every chunk."""
    opts = dict(kind=kind, chunk_rows=chunk_rows, mapping=mapping, ts_format=ts_format,
                tz=tz or "UTC", ts_recv_format=ts_recv_format, price_divisor=price_divisor,
                side_map=side_map, separator=separator)  # fmt: skip
    if kind != "bar":
        for arr, _ in _iter_rows(Path(path), validate=validate, **opts):
            yield arr
        return
    stamps = [arr["ts"] for arr, _ in _iter_rows(Path(path), validate=False, **opts)]
    all_ts = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
    rule = close_rule(all_ts, label=label, tz=tz, session_close=session_close, interval=interval,
                      intraday="close")  # fmt: skip
    del stamps, all_ts
    for arr, line in _iter_rows(Path(path), validate=validate, **opts):
        out, _ = stamp_bars(arr, rule=rule, file=str(path), first_line=line, check=validate)
        yield out


def _iter_rows(path: Path, *, kind, chunk_rows, mapping, ts_format, tz, ts_recv_format,
               price_divisor, side_map, separator, validate) -> Iterator[tuple[np.ndarray, int]]:  # fmt: skip
    """The chunks of :func:`iter_table` with the file's own stamps, and each one's first line."""
    dtype_for(kind)
    if _is_parquet(path):
        lf = pl.scan_parquet(path)
        try:
            names = lf.collect_schema().names()
        except READ_ERRORS as exc:
            raise _parquet_error(exc, path) from None
        cols = resolve_columns(names, kind, mapping, file=str(path))
        first_line = 1
    else:
        info = sniff(path, separator=separator)
        if info.encoding != "utf8":
            raise DataError(
                "streaming needs UTF-8 text",
                file=str(path),
                value=info.encoding,
                fix="convert the file to UTF-8 or read it with read_table(encoding=...)",
            )
        lf, cols = _scan_csv(info, kind, mapping, ts_format)
        first_line = info.first_data_line
    line = first_line
    for df in _batches(lf, chunk_rows, info if not _is_parquet(path) else None, path):
        if len(df) == 0:
            continue
        for start in range(0, len(df), chunk_rows):
            part = df.slice(start, chunk_rows)
            arr = to_canonical_array(
                part,
                kind,
                cols,
                ts_format=ts_format,
                tz=tz,
                ts_recv_format=ts_recv_format,
                price_divisor=price_divisor,
                side_map=side_map,
                file=str(path),
                first_line=line,
            )
            if validate:
                from data.validate import validate_array

                validate_array(
                    arr, kind, file=str(path), first_line=line, order=False, stacklevel=4
                )
            yield arr, line
            line += len(part)
    if _is_parquet(path):
        _check_parquet_rows(path, line - first_line)


def _check_parquet_rows(path: Path, streamed: int) -> None:
    """polars' streaming reader can lose a worker's panic on a damaged Parquet file and just
    end the stream: compare with the row count of the file's footer."""
    import pyarrow.parquet as pq

    try:
        expected = pq.read_metadata(path).num_rows
    except Exception as exc:  # noqa: BLE001 - any footer failure means a damaged file
        expected = f"unknown ({type(exc).__name__})"
    if expected != streamed:
        raise DataError(
            f"Parquet file is damaged: {streamed} rows streamed, its footer says {expected}",
            file=str(path),
            fix="the file is truncated or corrupt: re-export it",
        )


def _parquet_error(exc: BaseException, path: Path) -> DataError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataError(f"Parquet file is truncated or unreadable ({text})", file=str(path),
                     fix="the file is truncated or not Parquet: re-export it")


def _batches(lf: pl.LazyFrame, chunk_rows: int, info: FileInfo | None, path: Path):
    """``lf.collect_batches`` with parse failures turned into precise DataErrors."""
    it = lf.collect_batches(chunk_size=chunk_rows)
    while True:
        try:
            df = next(it)
        except StopIteration:
            return
        except READ_ERRORS as exc:
            if info is not None:
                open_bytes(info.path)  # a truncated gzip raises its own clear error here
                diagnose(info)
            raise DataError(
                f"cannot read the file ({str(exc).splitlines()[0]})",
                file=str(path),
                fix="check the separator, quoting and encoding (or re-export a damaged Parquet "
                "file)",
            ) from None
        yield df


# ------------------------------------------------------------------------------------------
# CSV plumbing
# ------------------------------------------------------------------------------------------
def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


def _csv_options(info: FileInfo) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "separator": info.separator,
        "skip_rows": info.banner_lines,
        "has_header": info.header is not None,
        "infer_schema": False,  # every column as text; we convert only what is used
        "truncate_ragged_lines": False,
    }
    if info.header is None:
        opts["new_columns"] = [str(i) for i in range(info.n_fields)]
    return opts


def _columns(info: FileInfo) -> list[str]:
    return info.header if info.header is not None else [str(i) for i in range(info.n_fields)]


def _source(info: FileInfo) -> Any:
    if info.encoding == "utf8":
        return info.path
    text, _, _ = decode(open_bytes(info.path), info.path, info.encoding)
    return io.BytesIO(text.encode("utf-8"))


def _read_csv(info: FileInfo, kind: str, mapping, ts_format: str):
    cols = resolve_columns(_columns(info), kind, mapping, file=str(info.path))
    used = sorted(set(cols.values()), key=_columns(info).index)
    fast = _fast_schema(info, cols, kind)
    fast |= _integer_stamp_columns(info, cols, used)
    try:
        df = _read(info, used, fast)
        if fast and any(df[c].null_count() for c in fast):
            raise pl.exceptions.ComputeError("nulls in a numeric column")
    except pl.exceptions.NoDataError:
        raise DataError(
            "file has a header but no rows", file=str(info.path), fix="check the export"
        ) from None
    except READ_ERRORS:
        try:
            df = _read(info, used, {})
        except READ_ERRORS as exc:
            open_bytes(info.path)  # a truncated gzip raises its own clear error here
            diagnose(info)
            raise DataError(
                f"cannot parse the file as CSV ({str(exc).splitlines()[0]})",
                file=str(info.path),
                fix="check the separator, quoting and encoding",
            ) from None
    if df.height and any(df[c].null_count() for c in used):
        diagnose(info)  # a short line (e.g. a truncated last line) gets its precise error
    return df, cols


def _fast_schema(info: FileInfo, cols: dict[str, str], kind: str) -> dict[str, Any]:
    """Float64 for price/size columns and Int64 for integer epoch stamps: no string detour."""
    schema: dict[str, Any] = {}
    for field, col in cols.items():
        if field in ("side", "event", "flags", "ts", "ts_recv"):
            continue
        schema[col] = pl.Int64 if field == "order_id" else pl.Float64
    return schema


def _read(info: FileInfo, used: list[str], schema: dict, n_rows: int | None = None) -> pl.DataFrame:
    opts = _csv_options(info)
    if info.header is None:  # headerless: select by position, name columns "0", "1", ...
        opts.pop("new_columns")
        idx = [int(c) for c in used]
        schema = {f"column_{int(c) + 1}": v for c, v in schema.items()}
        df = pl.read_csv(_source(info), columns=idx, schema_overrides=schema, n_rows=n_rows,
                         **opts)  # fmt: skip
        return df.rename(dict(zip(df.columns, used, strict=True)))
    return pl.read_csv(_source(info), columns=used, schema_overrides=schema, n_rows=n_rows, **opts)


def _integer_stamp_columns(info: FileInfo, cols: dict[str, str], used: list[str]) -> dict[str, Any]:
    """Timestamp columns holding plain integers (epoch stamps) are read as Int64 directly."""
    stamp_cols = [cols[f] for f in ("ts", "ts_recv") if f in cols]
    try:
        head = _read(info, used, {}, n_rows=200)
    except READ_ERRORS:
        return {}  # a damaged file: the full read fails and diagnoses it
    out = {}
    for col in stamp_cols:
        s = head[col].drop_nulls()
        if len(s) and bool(s.str.contains(r"^\s*-?\d{9,19}\s*$").all()):
            out[col] = pl.Int64
    return out


def _scan_csv(info: FileInfo, kind: str, mapping, ts_format: str):
    cols = resolve_columns(_columns(info), kind, mapping, file=str(info.path))
    used = sorted(set(cols.values()), key=_columns(info).index)
    opts = _csv_options(info)
    opts["schema_overrides"] = _fast_schema(info, cols, kind) | _integer_stamp_columns(
        info, cols, used
    )
    new_columns = opts.pop("new_columns", None)
    lf = pl.scan_csv(info.path, **opts)
    if new_columns:
        try:
            names = lf.collect_schema().names()
        except READ_ERRORS:
            names = []  # unreadable: diagnosed below
        if len(names) != len(new_columns):
            open_bytes(info.path)  # a truncated gzip raises its own clear error here
            diagnose(info)
            raise DataError(f"the file's first line has {len(names)} fields, expected "
                            f"{len(new_columns)}", file=str(info.path), row=info.first_data_line,
                            fix="check the separator and the line ends")  # fmt: skip
        lf = lf.rename(dict(zip(names, new_columns, strict=True)))
    return lf.select(used), cols
