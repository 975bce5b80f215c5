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
from data.readers.sniff import FileInfo, decode, diagnose, open_bytes, sniff
from data.schema import BUY, DEPTH_SNAPSHOT, SELL, dtype_for
from data.timeutil import parse_timestamps

ALIASES: dict[str, tuple[str, ...]] = {
    "ts": (
        "ts",
        "timestamp",
        "time",
        "datetime",
        "date_time",
        "date",
        "dt",
        "t",
        "exchange_timestamp",
        "event_time",
        "transact_time",
        "unix",
        "epoch",
    ),
    "ts_recv": (
        "ts_recv",
        "local_timestamp",
        "recv_ts",
        "recv_time",
        "receive_time",
        "local_ts",
        "ts_local",
        "received_at",
    ),
    "price": ("price", "px", "p", "last", "trade_price", "rate"),
    "size": ("size", "amount", "qty", "quantity", "volume", "q", "sz", "trade_size"),
    "side": (
        "side",
        "aggressor",
        "aggressor_side",
        "taker_side",
        "direction",
        "is_buyer_maker",
        "buyer_maker",
        "m",
    ),
    "bid": ("bid", "bid_price", "bidprice", "best_bid", "bid_px", "bp", "bid_rate"),
    "ask": ("ask", "ask_price", "askprice", "best_ask", "ask_px", "ap", "offer", "offer_price"),
    "bid_size": ("bid_size", "bidsize", "bid_qty", "bid_amount", "bid_sz", "bid_volume", "bs"),
    "ask_size": (
        "ask_size",
        "asksize",
        "ask_qty",
        "ask_amount",
        "ask_sz",
        "ask_volume",
        "as",
        "offer_size",
    ),
    "order_id": ("order_id", "orderid", "oid", "order", "id"),
    "event": ("event", "event_type", "type", "action", "msg_type"),
    "flags": ("flags", "is_snapshot", "snapshot", "update_type"),
    "open": ("open", "op", "o", "open_price"),
    "high": ("high", "hi", "h", "high_price"),
    "low": ("low", "lo", "l", "low_price"),
    "close": ("close", "cl", "c", "close_price", "last"),
    "volume": ("volume", "vol", "v", "base_volume"),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "bar": ("ts", "open", "high", "low", "close"),
    "trade": ("ts", "price", "size"),
    "quote": ("ts", "bid", "ask"),
    "depth": ("ts", "side", "price", "size"),
    "mbo": ("ts", "event", "order_id", "side", "price", "size"),
}

PRICE_FIELDS = {"open", "high", "low", "close", "price", "bid", "ask"}

SIDE_WORDS = {
    "buy": BUY, "b": BUY, "bid": BUY, "bids": BUY, "long": BUY, "1": BUY, "+1": BUY, "1.0": BUY,
    "sell": SELL, "s": SELL, "ask": SELL, "asks": SELL, "a": SELL, "offer": SELL, "short": SELL,
    "-1": SELL, "-1.0": SELL,
    "": 0, "0": 0, "unknown": 0, "none": 0, "n": 0, "?": 0,
}  # fmt: skip

EVENT_WORDS = {
    "add": 1, "new": 1, "insert": 1, "submit": 1,
    "cancel": 2, "partial_cancel": 2, "reduce": 2,
    "delete": 3, "del": 3, "remove": 3,
    "execute": 4, "exec": 4, "fill": 4, "trade": 4, "execution": 4,
    "hidden": 5, "execute_hidden": 5, "hidden_execution": 5,
    "cross": 6, "auction": 6,
    "halt": 7,
    "modify": 8, "replace": 8, "update": 8,
    "clear": 9, "reset": 9,
}  # fmt: skip


def parse_mapping(mapping: Mapping[Any, str] | str | None) -> dict[str, str]:
    """``{"px": "price"}`` or ``"px=price,time=ts"`` -> ``{file column: canonical field}``."""
    if mapping is None:
        return {}
    if isinstance(mapping, str):
        out = {}
        for item in filter(None, (p.strip() for p in mapping.split(","))):
            if "=" not in item:
                raise DataError(
                    "mapping items look like file_column=field",
                    argument="mapping",
                    value=item,
                    fix="e.g. --mapping 'time=ts,px=price,qty=size'",
                )
            col, field = item.split("=", 1)
            out[col.strip()] = field.strip()
        return out
    return {str(k): str(v) for k, v in mapping.items()}


def resolve_columns(
    columns: list[str],
    kind: str,
    mapping: Mapping[Any, str] | str | None,
    *,
    file: str | None = None,
) -> dict[str, str]:
    """Pick the file column for each canonical field of ``kind``: {field: file column}."""
    dt = dtype_for(kind)
    fields = list(dt.names)
    chosen: dict[str, str] = {}
    for col, field in parse_mapping(mapping).items():
        if field not in fields:
            raise DataError(
                f"mapping target {field!r} is not a field of kind {kind!r}",
                argument="mapping",
                value=f"{col}={field}",
                fix=f"map to one of {', '.join(fields)}",
            )
        if col not in columns:
            raise DataError(
                f"mapped column {col!r} is not in the file",
                file=file,
                column=col,
                value=columns,
                fix="use a column name from the header (or a 0-based position for headerless files)",
            )
        chosen[field] = col
    lower = {c.strip().lower(): c for c in columns}
    used = set(chosen.values())
    for field in fields:
        if field in chosen:
            continue
        for alias in ALIASES.get(field, ()):
            col = lower.get(alias)
            if col is not None and col not in used:
                chosen[field] = col
                used.add(col)
                break
    missing = [f for f in REQUIRED[kind] if f not in chosen]
    if missing:
        raise DataError(
            f"missing column(s) for {missing} (kind {kind})",
            file=file,
            column=missing[0],
            value=columns,
            fix="rename the file's columns or pass a mapping, e.g. --mapping 'Time=ts,Px=price'",
        )
    return chosen


def read_table_frame(
    path: str | Path,
    *,
    kind: str,
    mapping: Mapping[Any, str] | str | None = None,
    ts_format: str = "auto",
    tz: str = "UTC",
    ts_recv_format: str | None = None,
    price_divisor: float = 1.0,
    side_map: Mapping[Any, int] | None = None,
    separator: str | None = None,
    encoding: str | None = None,
) -> tuple[pl.DataFrame, int]:
    """Read a CSV (plain/gzip) or Parquet file into a polars frame with the canonical columns
    of ``kind`` in file order. Returns ``(frame, first_line)`` (line number of row 0)."""
    path = Path(path)
    dtype_for(kind)
    if _is_parquet(path):
        df = pl.read_parquet(path)
        cols = resolve_columns(df.columns, kind, mapping, file=str(path))
        first_line = 1
    else:
        info = sniff(path, separator=separator, encoding=encoding)
        df, cols = _read_csv(info, kind, mapping, ts_format)
        first_line = info.first_data_line
    if len(df) == 0:
        raise DataError("file has a header but no rows", file=str(path), fix="check the export")
    frame = to_canonical(
        df,
        kind,
        cols,
        ts_format=ts_format,
        tz=tz,
        ts_recv_format=ts_recv_format,
        price_divisor=price_divisor,
        side_map=side_map,
        file=str(path),
        first_line=first_line,
    )
    return frame, first_line


def read_table(
    path: str | Path,
    *,
    kind: str,
    mapping: Mapping[Any, str] | str | None = None,
    ts_format: str = "auto",
    tz: str = "UTC",
    ts_recv_format: str | None = None,
    price_divisor: float = 1.0,
    side_map: Mapping[Any, int] | None = None,
    separator: str | None = None,
    encoding: str | None = None,
    sort: bool | None = None,
    validate: bool = True,
) -> np.ndarray:
    """Read any CSV/Parquet file into a canonical array of ``kind`` (see the module docstring).

    ``sort`` None sorts bars, trades and quotes stably by ``ts`` when they are out of order (with
    a warning) and leaves depth/mbo in file order (their order carries meaning). ``validate``
    runs :func:`data.validate.validate_array` on the rows in file order, so errors name lines.
    """
    frame, first_line = read_table_frame(
        path,
        kind=kind,
        mapping=mapping,
        ts_format=ts_format,
        tz=tz,
        ts_recv_format=ts_recv_format,
        price_divisor=price_divisor,
        side_map=side_map,
        separator=separator,
        encoding=encoding,
    )
    arr = frame_to_array(frame, kind)
    return finish_array(
        arr, kind, file=str(path), first_line=first_line, sort=sort, validate=validate
    )


def finish_array(
    arr: np.ndarray,
    kind: str,
    *,
    file: str | None,
    first_line: int | None,
    sort: bool | None = None,
    validate: bool = True,
) -> np.ndarray:
    """Validate rows in file order, then sort stably by ts where the kind allows it."""
    if validate:
        from data.validate import validate_array

        validate_array(arr, kind, file=file, first_line=first_line, stacklevel=4)
    if sort is None:
        sort = kind in ("bar", "trade", "quote")
    if sort and len(arr) > 1 and bool((np.diff(arr["ts"]) < 0).any()):
        arr = arr[np.argsort(arr["ts"], kind="stable")]
    return arr


def iter_table(
    path: str | Path,
    *,
    kind: str,
    chunk_rows: int = 1_000_000,
    mapping: Mapping[Any, str] | str | None = None,
    ts_format: str = "auto",
    tz: str = "UTC",
    ts_recv_format: str | None = None,
    price_divisor: float = 1.0,
    side_map: Mapping[Any, int] | None = None,
    separator: str | None = None,
    validate: bool = True,
) -> Iterator[np.ndarray]:
    """Stream a large CSV/Parquet file as canonical arrays of at most ``chunk_rows`` rows, in
    file order, with memory bounded by the chunk size (polars streaming engine)."""
    path = Path(path)
    dtype_for(kind)
    if _is_parquet(path):
        lf = pl.scan_parquet(path)
        cols = resolve_columns(lf.collect_schema().names(), kind, mapping, file=str(path))
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
    for df in lf.collect_batches(chunk_size=chunk_rows):
        if len(df) == 0:
            continue
        for start in range(0, len(df), chunk_rows):
            part = df.slice(start, chunk_rows)
            frame = to_canonical(
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
            arr = frame_to_array(frame, kind)
            if validate:
                from data.validate import validate_array

                validate_array(
                    arr, kind, file=str(path), first_line=line, order=False, stacklevel=3
                )
            line += len(part)
            yield arr


# ------------------------------------------------------------------------------------------
# conversion
# ------------------------------------------------------------------------------------------
def to_canonical(
    df: pl.DataFrame,
    kind: str,
    cols: dict[str, str],
    *,
    ts_format: str = "auto",
    tz: str = "UTC",
    ts_recv_format: str | None = None,
    price_divisor: float = 1.0,
    side_map: Mapping[Any, int] | None = None,
    file: str | None = None,
    first_line: int | None = None,
) -> pl.DataFrame:
    """Turn a raw frame (file columns) into the canonical columns/dtypes of ``kind``."""
    dt = dtype_for(kind)
    out: dict[str, Any] = {}
    n = len(df)
    ctx = {"file": file, "first_line": first_line}
    for field in dt.names:
        col = cols.get(field)
        if field == "ts":
            out["ts"] = parse_timestamps(
                df[col], fmt=ts_format, tz=tz, file=file, column=col, first_line=first_line
            )
        elif field == "ts_recv":
            if col is None:
                out["ts_recv"] = out["ts"]
            else:
                out["ts_recv"] = parse_timestamps(
                    df[col],
                    fmt=ts_recv_format or ts_format,
                    tz=tz,
                    file=file,
                    column=col,
                    first_line=first_line,
                )
        elif field == "side":
            out["side"] = (
                np.zeros(n, np.int8) if col is None else _sides(df[col], side_map, col, ctx)
            )
        elif field == "event":
            out["event"] = _events(df[col], col, ctx)
        elif field == "flags":
            out["flags"] = np.zeros(n, np.uint8) if col is None else _flags(df[col], col, ctx)
        elif field == "order_id":
            out["order_id"] = _numeric(df[col], col, ctx, pl.Int64)
        elif col is None:
            fill = 0.0 if field == "volume" else np.nan
            out[field] = np.full(n, fill)
        else:
            values = _numeric(df[col], col, ctx, pl.Float64)
            if field in PRICE_FIELDS and price_divisor != 1.0:
                values = values / price_divisor
            out[field] = values
    return pl.DataFrame({k: out[k] for k in dt.names}, schema=_polars_schema(dt))


def frame_to_array(frame: pl.DataFrame, kind: str) -> np.ndarray:
    """Canonical polars frame -> structured numpy array (one copy per column)."""
    dt = dtype_for(kind)
    arr = np.empty(len(frame), dtype=dt)
    for name in dt.names:
        arr[name] = frame[name].to_numpy()
    return arr


def _polars_schema(dt: np.dtype) -> dict[str, Any]:
    kinds = {"i8": pl.Int64, "f8": pl.Float64, "i1": pl.Int8, "u1": pl.UInt8}
    return {name: kinds[dt[name].str[1:]] for name in dt.names}


def _numeric(s: pl.Series, col: str, ctx: dict, dtype) -> np.ndarray:
    if s.dtype == pl.Boolean:
        s = s.cast(pl.Int8)
    if s.dtype == pl.String:
        stripped = s.str.strip_chars()
        vals = stripped.cast(dtype, strict=False)
        bad = vals.is_null() & stripped.is_not_null() & (stripped != "")
        if bad.any():
            i = int(bad.arg_max())
            raise DataError(
                "value is not a number",
                file=ctx["file"],
                row=_line(i, ctx),
                column=col,
                value=s[i],
                fix="fix or remove the row (or map another column)",
            )
        s = vals
    elif s.dtype != dtype:
        try:
            s = s.cast(dtype, strict=True)
        except pl.exceptions.PolarsError:
            vals = s.cast(dtype, strict=False)
            i = int((vals.is_null() & s.is_not_null()).arg_max())
            raise DataError(
                f"value does not fit {dtype}",
                file=ctx["file"],
                row=_line(i, ctx),
                column=col,
                value=s[i],
                fix="fix the value",
            ) from None
    if s.null_count():
        i = int(s.is_null().arg_max())
        raise DataError(
            "missing value",
            file=ctx["file"],
            row=_line(i, ctx),
            column=col,
            fix="fill the empty field or delete the row (a short last line means a truncated file)",
        )
    return s.to_numpy()


def _sides(s: pl.Series, side_map: Mapping[Any, int] | None, col: str, ctx: dict) -> np.ndarray:
    if side_map:
        table = {str(k).strip().lower(): int(v) for k, v in side_map.items()}
        key = s.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")
    elif s.dtype == pl.Boolean or (
        s.dtype == pl.String and "maker" in col.lower() or col.strip() == "m"
    ):
        if "maker" not in col.lower() and col.strip() != "m":
            raise DataError(
                "boolean side column is ambiguous",
                file=ctx["file"],
                column=col,
                fix="pass side_map, e.g. {'true': 1, 'false': -1}",
            )
        # buyer is maker -> the seller hit the bid: SELL aggressor
        table = {"true": SELL, "false": BUY, "1": SELL, "0": BUY}
        key = s.cast(pl.String).str.to_lowercase().fill_null("")
    else:
        table = SIDE_WORDS
        key = s.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")
    out = key.replace_strict(table, default=None, return_dtype=pl.Int8)
    if out.null_count():
        i = int(out.is_null().arg_max())
        raise DataError(
            "unknown side value",
            file=ctx["file"],
            row=_line(i, ctx),
            column=col,
            value=s[i],
            fix="use buy/sell, bid/ask, 1/-1, or pass side_map={'X': 1, 'Y': -1}",
        )
    return out.to_numpy()


def _events(s: pl.Series, col: str, ctx: dict) -> np.ndarray:
    if s.dtype.is_integer():
        return s.cast(pl.Int8, strict=False).fill_null(-1).to_numpy()
    key = s.cast(pl.String).str.strip_chars().str.to_lowercase()
    table = dict(EVENT_WORDS) | {str(i): i for i in range(1, 10)}
    out = key.replace_strict(table, default=None, return_dtype=pl.Int8)
    if out.null_count():
        i = int(out.is_null().arg_max())
        raise DataError(
            "unknown event type",
            file=ctx["file"],
            row=_line(i, ctx),
            column=col,
            value=s[i],
            fix="use codes 1-9 (data.schema MBO_*) or add/cancel/delete/execute/modify/clear",
        )
    return out.to_numpy()


def _flags(s: pl.Series, col: str, ctx: dict) -> np.ndarray:
    if s.dtype == pl.Boolean:
        return (s.fill_null(False).cast(pl.UInt8) * DEPTH_SNAPSHOT).to_numpy()
    if s.dtype == pl.String:
        key = s.str.strip_chars().str.to_lowercase().fill_null("")
        table = {"true": DEPTH_SNAPSHOT, "snap": DEPTH_SNAPSHOT, "snapshot": DEPTH_SNAPSHOT}
        table |= {"false": 0, "set": 0, "update": 0, "delta": 0, "": 0}
        out = key.replace_strict(table, default=None, return_dtype=pl.UInt8)
        if out.null_count():
            i = int(out.is_null().arg_max())
            raise DataError(
                "unknown flags value",
                file=ctx["file"],
                row=_line(i, ctx),
                column=col,
                value=s[i],
                fix="use an integer bit field (data.schema DEPTH_*) or true/false for snapshots",
            )
        return out.to_numpy()
    return _numeric(s, col, ctx, pl.UInt8).astype(np.uint8)


def _line(i: int, ctx: dict) -> int:
    return i + ctx["first_line"] if ctx.get("first_line") is not None else i


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
    except (pl.exceptions.PolarsError, OSError):
        try:
            df = _read(info, used, {})
        except (pl.exceptions.PolarsError, OSError) as exc:
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
    head = _read(info, used, {}, n_rows=200)
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
        lf = lf.rename(dict(zip(lf.collect_schema().names(), new_columns, strict=True)))
    return lf.select(used), cols
