"""Column mapping and value normalisation shared by the table readers.

:func:`resolve_columns` picks the file column for each canonical field (explicit mapping first,
then the common names in :data:`ALIASES`); :func:`to_canonical` converts a raw polars frame to
the canonical columns and dtypes of a kind (see :mod:`data.readers.table` for the rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from data.errors import DataError
from data.schema import BUY, DEPTH_SNAPSHOT, KINDS, SELL, dtype_for
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
    "anon_level": 10, "forget": 11,
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
            other = [k for k in KINDS if field in KINDS[k].names]
            raise DataError(
                f"mapping target {field!r} is not a field of kind {kind!r}",
                argument="mapping",
                value=f"{col}={field}",
                fix=f"map to one of {', '.join(fields)}"
                + (f", or pass --kind {other[0]} (kind='{other[0]}')" if other else ""),
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
            fix="rename the file's columns or pass a mapping, e.g. --mapping 'Time=ts,Px=price' "
                "(a column with an empty header name: '=ts')",
        )
    return chosen


# ------------------------------------------------------------------------------------------
# conversion
# ------------------------------------------------------------------------------------------
def to_canonical_array(
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
) -> np.ndarray:
    """Turn a raw frame (file columns) into a canonical array of ``kind``, field by field
    (each converted column goes straight into the structured array: no second frame)."""
    dt = dtype_for(kind)
    out = np.empty(len(df), dtype=dt)
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
    return out


def to_canonical(df: pl.DataFrame, kind: str, cols: dict[str, str], **kwargs: Any) -> pl.DataFrame:
    """Like :func:`to_canonical_array`, as a polars frame with the canonical columns/dtypes."""
    arr = to_canonical_array(df, kind, cols, **kwargs)
    dt = arr.dtype
    return pl.DataFrame({k: arr[k] for k in dt.names}, schema=_polars_schema(dt))


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


def _lookup(s: pl.Series, table: Mapping[str, int], dtype) -> pl.Series:
    """Map values through ``table`` after strip + lower-case, working on the few distinct raw
    values only (a 10M-row side column has two), nulls where a value is not in the table."""
    raw = s.cast(pl.String).fill_null("")
    uniq = raw.unique().to_list()
    direct = {u: table.get(u.strip().lower()) for u in uniq}
    direct = {k: v for k, v in direct.items() if v is not None}
    return raw.replace_strict(direct, default=None, return_dtype=dtype)


def _bad(out: pl.Series, s: pl.Series, what: str, col: str, ctx: dict, fix: str) -> None:
    if out.null_count():
        i = int(out.is_null().arg_max())
        raise DataError(what, file=ctx["file"], row=_line(i, ctx), column=col, value=s[i], fix=fix)


def _sides(s: pl.Series, side_map: Mapping[Any, int] | None, col: str, ctx: dict) -> np.ndarray:
    maker = "maker" in col.lower() or col.strip() == "m"
    if side_map:
        table = {str(k).strip().lower(): int(v) for k, v in side_map.items()}
    elif maker:
        # buyer is maker -> the seller hit the bid: SELL aggressor
        table = {"true": SELL, "false": BUY, "1": SELL, "0": BUY}
    elif s.dtype == pl.Boolean:
        raise DataError(
            "boolean side column is ambiguous",
            file=ctx["file"],
            column=col,
            fix="pass side_map, e.g. {'true': 1, 'false': -1}",
        )
    else:
        table = SIDE_WORDS
    out = _lookup(s, table, pl.Int8)
    _bad(out, s, "unknown side value", col, ctx,
         "use buy/sell, bid/ask, 1/-1, or pass side_map={'X': 1, 'Y': -1}")  # fmt: skip
    return out.to_numpy()


def _events(s: pl.Series, col: str, ctx: dict) -> np.ndarray:
    if s.dtype.is_integer():
        return s.cast(pl.Int8, strict=False).fill_null(-1).to_numpy()
    out = _lookup(s, dict(EVENT_WORDS) | {str(i): i for i in range(1, 12)}, pl.Int8)
    _bad(out, s, "unknown event type", col, ctx,
         "use codes 1-11 (data.schema MBO_*) or add/cancel/delete/execute/modify/clear/"
         "anon_level/forget")  # fmt: skip
    return out.to_numpy()


def _flags(s: pl.Series, col: str, ctx: dict) -> np.ndarray:
    if s.dtype == pl.Boolean:
        return (s.fill_null(False).cast(pl.UInt8) * DEPTH_SNAPSHOT).to_numpy()
    if s.dtype == pl.String:
        table = {"true": DEPTH_SNAPSHOT, "snap": DEPTH_SNAPSHOT, "snapshot": DEPTH_SNAPSHOT}
        table |= {"false": 0, "set": 0, "update": 0, "delta": 0, "": 0}
        out = _lookup(s, table, pl.UInt8)
        _bad(out, s, "unknown flags value", col, ctx,
             "use an integer bit field (data.schema DEPTH_*) or true/false for snapshots")  # fmt: skip
        return out.to_numpy()
    return _numeric(s, col, ctx, pl.UInt8).astype(np.uint8)


def _line(i: int, ctx: dict) -> int:
    return i + ctx["first_line"] if ctx.get("first_line") is not None else i
