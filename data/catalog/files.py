"""Parquet and manifest helpers of the catalog (see :mod:`data.catalog`)."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data.errors import ConfigError, DataError
from data.schema import NS_PER_DAY, dtype_for

MANIFEST = "_manifest.json"
ROW_GROUP_ROWS = 131_072
_TS_FIELDS = ("ts", "ts_recv")


def check_rows(data: Any, kind: str) -> None:
    dt = dtype_for(kind)
    if not isinstance(data, np.ndarray) or data.dtype != dt:
        raise DataError(f"data is not a canonical {kind} array", argument="data",
                        value=str(getattr(data, "dtype", type(data).__name__)),
                        fix="read it with a data.readers function or data.schema.to_array")  # fmt: skip


def new_manifest(kind: str, symbol: str, data: np.ndarray) -> dict:
    return {
        "format": 1,
        "kind": kind,
        "symbol": symbol,
        "period": choose_period(kind, data),
        "dtype": [[n, data.dtype[n].str] for n in data.dtype.names],
        "partitions": {},
        "imports": [],
        "instrument": None,
        "interval_ns": None,
    }


def choose_period(kind: str, data: np.ndarray) -> str:
    if kind != "bar":
        return "day"
    step = int(np.median(np.diff(data["ts"]))) if len(data) > 1 else NS_PER_DAY
    return "year" if step >= NS_PER_DAY // 2 else "month"


def partition_ids(ts: np.ndarray, period: str) -> np.ndarray:
    """Integer partition number of each ts (UTC day, month or year since 1970): no strings."""
    days = ts // NS_PER_DAY
    if period == "day":
        return days
    unit = {"year": "Y", "month": "M"}[period]
    return days.astype("datetime64[D]").astype(f"datetime64[{unit}]").astype(np.int64)


def partition_name(pid: int, period: str) -> str:
    """``2004`` / ``2004-08`` / ``2004-08-19`` for a partition number of ``period``."""
    unit = {"year": "Y", "month": "M", "day": "D"}[period]
    return str(np.datetime_as_string(np.array(pid, dtype=f"datetime64[{unit}]"), unit=unit))


def partition_keys(ts: np.ndarray, period: str) -> np.ndarray:
    """Partition name of each ts (string array; prefer :func:`partition_ids` for speed)."""
    ids = partition_ids(ts, period)
    uniq, inverse = np.unique(ids, return_inverse=True)
    return np.array([partition_name(u, period) for u in uniq])[inverse]


def total_rows(man: dict) -> int:
    return sum(p["rows"] for p in man["partitions"].values())


def content_sha256(arr: np.ndarray) -> str:
    """sha256 of a canonical array: its dtype description, then its bytes (no copy)."""
    h = hashlib.sha256(str(arr.dtype.descr).encode())
    h.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
    return h.hexdigest()


def safe_symbol(symbol: str) -> str:
    if not symbol or symbol in (".", ".."):
        raise DataError("empty or invalid symbol", argument="symbol", value=symbol,
                        fix="pass --symbol")  # fmt: skip
    return re.sub(r"[^A-Za-z0-9._\-]", lambda m: f"%{ord(m.group()):02X}", symbol)


def write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def to_table(arr: np.ndarray, kind: str) -> pa.Table:
    cols = {}
    for name in arr.dtype.names:
        col = np.ascontiguousarray(arr[name])
        if name in _TS_FIELDS:
            cols[name] = pa.array(col.view("datetime64[ns]"), type=pa.timestamp("ns", tz="UTC"))
        else:
            cols[name] = pa.array(col)
    return pa.table(cols).replace_schema_metadata({"tapereader.kind": kind})


def from_batch(batch: pa.RecordBatch | pa.Table, dt: np.dtype) -> np.ndarray:
    out = np.empty(batch.num_rows, dtype=dt)
    for name in dt.names:
        col = batch.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        values = col.to_numpy(zero_copy_only=False)
        out[name] = values.view(np.int64) if name in _TS_FIELDS else values
    return out


def read_file(path: Path, kind: str) -> np.ndarray:
    return from_batch(pq.read_table(path), dtype_for(kind))


def iter_file(path: Path, kind: str, lo: int, hi: int, batch_rows: int) -> Iterator[np.ndarray]:
    dt = dtype_for(kind)
    f = pq.ParquetFile(path)
    groups = []
    ts_idx = f.schema_arrow.get_field_index("ts")
    for i in range(f.metadata.num_row_groups):
        st = f.metadata.row_group(i).column(ts_idx).statistics
        if st is not None and st.has_min_max:
            if _ns(st.max) < lo or _ns(st.min) > hi:
                continue
        groups.append(i)
    if not groups:
        return
    for group in groups:  # one row group at a time: iter_batches over many reads ahead
        for batch in f.iter_batches(batch_size=min(batch_rows, ROW_GROUP_ROWS), row_groups=[group]):
            arr = from_batch(batch, dt)
            if lo > np.iinfo(np.int64).min or hi < np.iinfo(np.int64).max:
                arr = arr[(arr["ts"] >= lo) & (arr["ts"] <= hi)]
            if len(arr):
                yield arr


def _ns(value: Any) -> int:
    if hasattr(value, "value"):
        return int(value.value)
    if isinstance(value, _dt.datetime):
        from data.timeutil import to_ns

        return to_ns(value)
    return int(value)


def time_range(start: Any, end: Any) -> tuple[int, int]:
    from data.timeutil import to_ns

    lo = np.iinfo(np.int64).min if start is None else to_ns(start)
    if end is None:
        hi = np.iinfo(np.int64).max
    else:
        hi = to_ns(end)
        if (
            isinstance(end, str)
            and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", end)
            or (isinstance(end, _dt.date) and not isinstance(end, _dt.datetime))
        ):
            hi += NS_PER_DAY - 1  # a date-only end covers the whole day
    if lo > hi:
        raise ConfigError("start is after end", argument="start", value=(start, end),
                          fix="swap them")  # fmt: skip
    return int(lo), int(hi)
