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

from data.errors import ConfigError, DataError, RunError
from data.schema import NS_PER_DAY, dtype_for

MANIFEST = "_manifest.json"
ROW_GROUP_ROWS = 131_072
_TS_FIELDS = ("ts", "ts_recv")


_PART_FILE = re.compile(r"date=\d{4}(-\d{2}){0,2}/part-[0-9a-f]{1,64}\.parquet")
_ENTRY_INTS = ("rows", "ts_min", "ts_max", "bytes")
_MANIFEST_FIX = "restore it from a backup, or delete the dataset folder and import it again"


def read_manifest(path: Path, kind: str, symbol: str | None) -> dict:
    """Load and check a dataset manifest: plain JSON only (nothing in a catalog is executed or
    unpickled), the expected keys and types, partition files that are relative
    ``date=.../part-<hex>.parquet`` names (no ``..``, no absolute paths)."""
    try:
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"catalog manifest is unreadable ({exc.__class__.__name__}: {exc})",
                        file=str(path), fix=_MANIFEST_FIX) from None

    def bad(what: str, value: Any = None) -> DataError:
        return DataError(f"catalog manifest is invalid: {what}", file=str(path), value=value,
                         fix=_MANIFEST_FIX)

    if not isinstance(man, dict):
        raise bad("not a JSON object")
    if man.get("kind") != kind or not isinstance(man.get("symbol"), str) or (
        symbol is not None and man["symbol"] != symbol
    ):
        raise bad(f"it describes {man.get('kind')}/{man.get('symbol')}, not {kind}/{symbol}")
    if man.get("period") not in ("day", "month", "year"):
        raise bad("unknown period", man.get("period"))
    parts, imports = man.get("partitions"), man.get("imports")
    if not isinstance(parts, dict) or not isinstance(imports, list):
        raise bad("'partitions' must be an object and 'imports' a list")
    for key, entry in parts.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise bad(f"partition {key!r} has no file name", entry)
        if not _PART_FILE.fullmatch(entry["file"]):
            raise bad(f"partition {key!r} names a file outside its dataset folder", entry["file"])
        if any(type(entry.get(k)) is not int for k in _ENTRY_INTS):
            raise bad(f"partition {key!r} needs integer {', '.join(_ENTRY_INTS)}", entry)
        if not (0 < entry["rows"] < 2**48 and 0 <= entry["bytes"] < 2**62
                and -(2**63) <= entry["ts_min"] <= entry["ts_max"] < 2**63):
            raise bad(f"partition {key!r} has impossible rows / bytes / time range", entry)
    if not all(isinstance(i, dict) and isinstance(i.get("content_sha256"), str) for i in imports):
        raise bad("every import needs a content_sha256")
    inst = man.get("instrument")
    if inst is not None and not isinstance(inst, dict):
        raise bad("'instrument' must be an object", inst)
    return man


def inside(root: Path, path: Path, what: str) -> Path:
    """``path`` with symbolic links resolved, refused when it leaves ``root``."""
    real, base = path.resolve(), root.resolve()
    if real != base and base not in real.parents:
        raise DataError(f"catalog {what} leads outside the catalog (a symbolic link?)",
                        file=str(path), value=str(real),
                        fix=f"keep catalog data inside {base}; remove the link")
    return real


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


def open_new(path: Path):
    """A new file at ``path`` opened for binary writing. A file or link already there (a temp
    file left by a killed import, or a link planted to redirect the write) is removed, never
    written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        path.unlink()
        fd = os.open(path, flags, 0o644)
    return os.fdopen(fd, "wb")


@contextlib.contextmanager
def naming(path: Path):
    """Give an OSError raised while writing ``path`` the file name (writes through a file
    object report none)."""
    try:
        yield
    except OSError as exc:
        if not isinstance(exc.filename, str):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def replace_file(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Atomically replace ``path`` with ``data``: a temp file in the same folder (never written
    through a link planted at its name), fsync, ``os.replace``, then (``sync_dir``) an fsync of
    the folder. OSError propagates; the temp file is removed on failure."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with naming(tmp), open_new(tmp) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if sync_dir:
        with contextlib.suppress(OSError, AttributeError):
            fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, sync_dir: bool = False) -> None:
    """:func:`replace_file` for run outputs: an OSError becomes a RunError naming the file."""
    path = Path(path)
    try:
        replace_file(path, data, sync_dir=sync_dir)
    except OSError as exc:
        raise RunError(f"cannot write {path.name}: {exc.strerror or exc}", file=str(path),
                       fix="check free disk space and permissions") from exc


def write_json(path: Path, obj: Any) -> None:
    """Atomically replace ``path`` with ``obj`` as JSON (temp file, fsync, rename, dir fsync)."""
    replace_file(path, json.dumps(obj, indent=1, sort_keys=True).encode("utf-8"))


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


def write_pieces(fh, pieces: list, kind: str) -> tuple[int, int, int] | None:
    """Write time-ordered pieces (arrays or spilled piece files) to one Parquet file in row
    groups of ``ROW_GROUP_ROWS`` rows, holding at most one piece plus one row group in memory.
    Returns (rows, ts_min, ts_max), or None as soon as a piece breaks the time order."""
    writer = None
    buf: list[np.ndarray] = []
    held = rows = 0
    lo = hi = None
    try:
        for p in pieces:
            a = p if isinstance(p, np.ndarray) else read_file(p, kind)
            if len(a) == 0:
                continue
            ts = a["ts"]
            if (hi is not None and int(ts[0]) < hi) or (len(a) > 1 and bool((np.diff(ts) < 0).any())):
                return None
            lo = int(ts[0]) if lo is None else lo
            hi = int(ts[-1])
            rows += len(a)
            buf.append(a)
            held += len(a)
            if held >= ROW_GROUP_ROWS:
                whole = np.concatenate(buf)
                cut = held - held % ROW_GROUP_ROWS
                table = to_table(whole[:cut], kind)
                if writer is None:
                    writer = pq.ParquetWriter(fh, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                buf, held = [whole[cut:].copy()], held - cut  # a copy: frees ``whole``
                del whole, table
        if rows == 0:
            return None
        if held:
            table = to_table(np.concatenate(buf), kind)
            if writer is None:
                writer = pq.ParquetWriter(fh, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    finally:
        if writer is not None:
            writer.close()
    return rows, lo, hi


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


def write_error(exc: OSError, root: Path) -> RunError:
    """An OSError of an import as a RunError naming the file and the fix."""
    import errno

    where = exc.filename or str(root)
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        fix = "free disk space (or raise the quota) or import into another catalog (--catalog)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "check the catalog folder's permissions, or import into another catalog (--catalog)"
    else:
        fix = "check the disk and the catalog folder, then import again"
    return RunError(f"cannot write the catalog ({reason}); the catalog is unchanged",
                    file=where, fix=fix)


def read_guard(batches: Iterator[np.ndarray], path: Path) -> Iterator[np.ndarray]:
    """Turn I/O and Parquet errors of a partition read into a DataError naming the file."""
    import pyarrow as pa

    try:
        yield from batches
    except (OSError, pa.ArrowException) as exc:
        text = getattr(exc, "strerror", None) or str(exc).splitlines()[0] if str(exc) else ""
        raise DataError(f"cannot read catalog file ({type(exc).__name__}: {text})",
                        file=str(path), fix="check the file's permissions, or delete the dataset "
                        "and import it again if the file is damaged") from None
