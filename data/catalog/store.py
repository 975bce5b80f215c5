"""The catalog store: imports, partitions, manifests, bounded reads (see :mod:`data.catalog`)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from data.catalog.files import (
    MANIFEST,
    ROW_GROUP_ROWS,
    check_rows,
    inside,
    iter_file,
    naming,
    new_manifest,
    open_new,
    partition_ids,
    partition_name,
    read_file,
    read_guard,
    read_manifest,
    safe_symbol,
    time_range,
    to_table,
    total_rows,
    write_error,
    write_json,
    write_pieces,
)
from data.errors import ConfigError, DataError
from data.schema import KINDS, Instrument, dtype_for

ENV_VAR = "TAPEREADER_CATALOG"
_TABLE_OPTIONS = ("ts_format", "tz", "ts_recv_format", "price_divisor", "side_map", "separator",
                  "label", "session_close", "interval")  # fmt: skip


def default_root() -> Path:
    """``$TAPEREADER_CATALOG``, else the platform's user data folder + ``tapereader/catalog``."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "tapereader" / "catalog"


@dataclasses.dataclass(frozen=True)
class ImportResult:
    kind: str
    symbol: str
    rows_added: int  # rows in the import (0 when it was already in the catalog)
    rows_total: int  # rows stored for (kind, symbol) afterwards
    skipped: bool  # True when the content was already imported
    content_sha256: str
    partitions_written: int


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    kind: str
    symbol: str
    rows: int
    ts_min: int
    ts_max: int
    partitions: int
    bytes: int
    imports: int
    period: str


class Catalog:
    """A Parquet catalog rooted at ``root`` (default :func:`default_root`)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_root()

    def __repr__(self) -> str:
        return f"Catalog({str(self.root)!r})"

    # -------------------------------------------------------------------------------- paths
    def _dir(self, kind: str, symbol: str) -> Path:
        dtype_for(kind)
        folder = self.root / kind / safe_symbol(symbol)
        if folder.exists() or folder.is_symlink():
            inside(self.root, folder, "dataset folder")
        return folder

    def _file(self, folder: Path, entry: dict) -> Path:
        """A partition file named by a (checked) manifest entry, refused if a link leads out."""
        return inside(self.root, folder / entry["file"], "partition file")

    def manifest(self, kind: str, symbol: str) -> dict[str, Any] | None:
        """The dataset's manifest (None when the catalog has no such dataset)."""
        path = self._dir(kind, symbol) / MANIFEST
        if not path.exists():
            return None
        return read_manifest(path, kind, symbol)

    # -------------------------------------------------------------------------------- writes
    def write(
        self,
        kind: str,
        symbol: str,
        data: np.ndarray,
        *,
        source: str = "",
        source_key: str | None = None,
        instrument: Instrument | None = None,
        mode: str = "replace",
    ) -> ImportResult:
        """Import a canonical array. Bars, trades and quotes are sorted stably by ``ts``;
        depth and mbo rows must already be in time order (their order carries meaning)."""
        check_rows(data, kind)
        unsorted = len(data) > 1 and bool((np.diff(data["ts"]) < 0).any())
        if unsorted and kind in ("bar", "trade", "quote"):
            data = data[np.argsort(data["ts"], kind="stable")]
        return self.write_chunks(kind, symbol, [data], source=source, source_key=source_key,
                                 instrument=instrument, mode=mode)  # fmt: skip

    def write_chunks(
        self,
        kind: str,
        symbol: str,
        chunks: Iterable[np.ndarray],
        *,
        source: str = "",
        source_key: str | None = None,
        instrument: Instrument | None = None,
        mode: str = "replace",
        spill_bytes: int = 256 << 20,
    ) -> ImportResult:
        """Import a stream of canonical arrays with memory bounded by ``spill_bytes`` plus one
        partition (one chunk and one row group for a new tick partition, written piece by
        piece): chunks are split by partition (spilled to a staging folder past
        ``spill_bytes``), each affected partition is merged and written under a new name, the
        new files are made durable, and then the manifest is replaced (the commit). The content
        hash covers the rows in the order given, so sorted input hashes like :meth:`write`."""
        if mode not in ("replace", "append"):
            raise ConfigError("unknown import mode", argument="mode", value=mode,
                              fix="use 'replace' or 'append'")  # fmt: skip
        try:
            return self._write_chunks(kind, symbol, chunks, source, source_key, instrument,
                                      mode, spill_bytes)
        except OSError as exc:  # disk full, permissions, read-only file system...
            self._cleanup_after_failure(kind, symbol)
            raise write_error(exc, self.root) from exc

    def _write_chunks(self, kind, symbol, chunks, source, source_key, instrument, mode,
                      spill_bytes) -> ImportResult:
        dt = dtype_for(kind)
        with self._locked(kind, symbol) as folder:
            self._sweep_staging(folder)
            man = self.manifest(kind, symbol)
            staging = folder / f".staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            h = hashlib.sha256(str(dt.descr).encode())
            total, lo, hi, last, in_memory = 0, None, None, None, 0
            pieces: dict[str, list[np.ndarray | Path]] = {}
            for chunk in chunks:
                check_rows(chunk, kind)
                if len(chunk) == 0:
                    continue
                ts = chunk["ts"]
                if kind in ("depth", "mbo") and (
                    bool((np.diff(ts) < 0).any()) or (last is not None and ts[0] < last)
                ):
                    raise DataError(f"{kind} rows are not in time order", argument="data",
                                    fix="sort the source by time first (row order carries meaning)")  # fmt: skip
                last = int(ts[-1])
                h.update(memoryview(np.ascontiguousarray(chunk)).cast("B"))
                total += len(chunk)
                lo = int(ts.min()) if lo is None else min(lo, int(ts.min()))
                hi = int(ts.max()) if hi is None else max(hi, int(ts.max()))
                if man is None:
                    man = new_manifest(kind, symbol, chunk)
                ids = partition_ids(ts, man["period"])
                starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
                for s, e in zip(starts, np.r_[starts[1:], len(ids)], strict=True):
                    key = partition_name(int(ids[s]), man["period"])
                    pieces.setdefault(key, []).append(chunk[s:e])
                in_memory += chunk.nbytes
                if in_memory > spill_bytes:
                    _spill(pieces, staging, kind)
                    in_memory = 0
            if total == 0:
                raise DataError(
                    "nothing to import: no rows", argument="data", fix="check the source"
                )
            content = h.hexdigest()
            if any(i["content_sha256"] == content for i in man["imports"]):
                self._sweep(folder, man)  # leftovers of an interrupted earlier import too
                return ImportResult(kind, symbol, 0, total_rows(man), True, content, 0)
            written = self._merge(folder, man, pieces, lo, hi, mode, kind, content)
            man["imports"].append({
                "content_sha256": content,
                "source": str(source),
                "source_key": source_key,
                "rows": total,
                "ts_min": lo,
                "ts_max": hi,
                "mode": mode,
                "imported_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            })  # fmt: skip
            if instrument is not None:
                man["instrument"] = dataclasses.asdict(instrument)
            write_json(folder / MANIFEST, man)  # the commit point
            self._sweep(folder, man)
            return ImportResult(kind, symbol, total, total_rows(man), False, content, written)

    def _merge(self, folder, man, pieces, lo, hi, mode, kind, import_id) -> int:
        """Write the merged partition files durably; update ``man`` in memory only."""
        dt = dtype_for(kind)
        affected = set(pieces)
        if mode == "replace":
            affected |= {
                k for k, p in man["partitions"].items() if p["ts_max"] >= lo and p["ts_min"] <= hi
            }
        pending: list[tuple[Path, Path]] = []
        for key in sorted(affected):
            if kind != "bar" and key not in man["partitions"] and pieces.get(key):
                # a new partition of a tick kind: written piece by piece, so a day of 50M events
                # never sits in memory whole (None: the pieces were not in time order)
                done = self._write_partition(folder, key, pieces[key], kind, import_id)
                if done is not None:
                    pieces.pop(key)
                    man["partitions"][key] = done[0]
                    pending.append((done[1], folder / done[0]["file"]))
                    continue
            parts = [
                p if isinstance(p, np.ndarray) else read_file(p, kind) for p in pieces.get(key, [])
            ]
            new = np.concatenate(parts) if parts else np.empty(0, dtype=dt)
            pieces.pop(key, None)
            old_entry = man["partitions"].get(key)
            if old_entry is not None:
                old = read_file(self._file(folder, old_entry), kind)
                if mode == "replace":
                    old = old[(old["ts"] < lo) | (old["ts"] > hi)]
                new = np.concatenate([old, new])
            if len(new) > 1 and bool((np.diff(new["ts"]) < 0).any()):
                new = new[np.argsort(new["ts"], kind="stable")]
            if kind == "bar" and len(new) > 1 and bool((np.diff(new["ts"]) == 0).any()):
                i = int(np.flatnonzero(np.diff(new["ts"]) == 0)[0])
                raise DataError("import would store two bars with the same close time",
                                argument="mode", value=int(new["ts"][i]),
                                fix="use mode='replace' (the default) to overwrite the overlap")  # fmt: skip
            if kind == "bar" and not man.get("interval_ns") and len(new) > 1:
                man["interval_ns"] = int(np.median(np.diff(new["ts"])))
            if len(new) == 0:
                man["partitions"].pop(key, None)
                continue
            entry, tmp = self._write_partition(folder, key, new, kind, import_id)
            man["partitions"][key] = entry
            pending.append((tmp, folder / entry["file"]))
        _make_durable(pending)
        return len(pending)

    def _write_partition(self, folder: Path, key: str, arr, kind: str, import_id: str):
        """Write ``arr`` to a temp file beside its final name ``part-<import id>.parquet``
        (unique: an import writes one file per partition). Returns (manifest entry, temp path);
        :func:`_make_durable` fsyncs and renames the temp files before the manifest commit.

        ``arr`` may also be a list of pieces (arrays or spilled piece files) in time order: they
        are read and written one at a time, in the same row groups as one array would be. If
        the pieces turn out not to be in time order, the temp file is removed and None is
        returned (the caller sorts them in memory)."""
        rel = f"date={key}/part-{import_id[:20]}.parquet"
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        inside(self.root, path.parent, "partition folder")
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        if isinstance(arr, np.ndarray):
            with naming(tmp), open_new(tmp) as fh:
                pq.write_table(to_table(arr, kind), fh, row_group_size=ROW_GROUP_ROWS,
                               compression="zstd")  # fmt: skip
            rows, lo, hi = len(arr), int(arr["ts"].min()), int(arr["ts"].max())
        else:
            with naming(tmp), open_new(tmp) as fh:
                span = write_pieces(fh, arr, kind)
            if span is None:
                tmp.unlink(missing_ok=True)
                return None
            rows, lo, hi = span
        entry = {
            "file": rel,
            "rows": rows,
            "ts_min": lo,
            "ts_max": hi,
            "import": import_id,
            "bytes": tmp.stat().st_size,
        }
        return entry, tmp

    def _sweep_staging(self, folder: Path) -> None:
        """Remove staging folders of interrupted imports (the caller holds the lock)."""
        for d in folder.glob(".staging-*"):
            if d.is_symlink():
                d.unlink(missing_ok=True)
            else:
                shutil.rmtree(d, ignore_errors=True)

    def _cleanup_after_failure(self, kind: str, symbol: str) -> None:
        """Best effort after a failed import: remove its new files (the manifest on disk, which
        the failure left as it was, says what is live); frees the space a full disk needs."""
        with contextlib.suppress(OSError, DataError):
            folder = self._dir(kind, symbol)
            if folder.is_dir():
                self._sweep(folder, self.manifest(kind, symbol) or {"partitions": {}})

    def _sweep(self, folder: Path, man: dict) -> None:
        """Delete partition files and temp files the manifest does not reference. Symbolic
        links are never followed (a link is removed, never what it points to)."""
        self._sweep_staging(folder)
        live = {folder / p["file"] for p in man["partitions"].values()}
        for d in folder.glob("date=*"):
            if d.is_symlink() or not d.is_dir():
                continue
            for path in d.iterdir():
                if path not in live:
                    with contextlib.suppress(OSError):
                        path.unlink()
            with contextlib.suppress(OSError):
                d.rmdir()  # only succeeds when empty
        for tmp in folder.glob(f"{MANIFEST}.tmp-*"):
            with contextlib.suppress(OSError):
                tmp.unlink()

    @contextlib.contextmanager
    def _locked(self, kind: str, symbol: str) -> Iterator[Path]:
        folder = self._dir(kind, symbol)
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "a+b")  # noqa: SIM115 - held for the block
        try:
            try:
                import fcntl

                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            except ImportError:  # Windows: single-writer use assumed
                pass
            yield folder
        finally:
            lock.close()

    def delete(self, kind: str, symbol: str) -> bool:
        """Remove a dataset (manifest first, so readers never see a half-deleted one)."""
        folder = self._dir(kind, symbol)
        if not (folder / MANIFEST).exists():
            return False
        with self._locked(kind, symbol):
            (folder / MANIFEST).unlink()
            self._sweep(folder, {"partitions": {}})
        return True

    # -------------------------------------------------------------------------------- reads
    def ls(self) -> list[DatasetInfo]:
        """Every dataset in the catalog, sorted by kind then symbol."""
        out = []
        if not self.root.exists():
            return out
        for man_path in sorted(self.root.glob(f"*/*/{MANIFEST}")):
            kind = man_path.parent.parent.name
            if kind not in KINDS:
                continue  # not a dataset of this catalog
            inside(self.root, man_path, "manifest")
            man = read_manifest(man_path, kind, None)
            if safe_symbol(man["symbol"]) != man_path.parent.name:
                raise DataError("catalog manifest is invalid: its symbol does not match its "
                                "folder", file=str(man_path), value=man["symbol"],
                                fix="restore it, or delete the folder and import again")  # fmt: skip
            parts = man["partitions"].values()
            out.append(DatasetInfo(
                kind=man["kind"], symbol=man["symbol"], rows=total_rows(man),
                ts_min=min((p["ts_min"] for p in parts), default=0),
                ts_max=max((p["ts_max"] for p in parts), default=0),
                partitions=len(man["partitions"]), bytes=sum(p["bytes"] for p in parts),
                imports=len(man["imports"]), period=man["period"],
            ))  # fmt: skip
        return out

    def scan(
        self,
        kind: str,
        symbol: str,
        start: Any = None,
        end: Any = None,
        *,
        chunk_rows: int = 1_000_000,
    ) -> Iterator[np.ndarray]:
        """Yield the dataset's rows with ``start <= ts <= end`` in time order, as canonical
        arrays of at most ``chunk_rows`` rows (memory bounded by one chunk + one row group)."""
        if chunk_rows < 1:
            raise ConfigError("chunk_rows must be >= 1", argument="chunk_rows", value=chunk_rows,
                              fix="use e.g. 1_000_000")  # fmt: skip
        man = self._require(kind, symbol)
        lo, hi = time_range(start, end)
        dt = dtype_for(kind)
        folder = self._dir(kind, symbol)
        buf = np.empty(chunk_rows, dtype=dt)
        n = 0
        for key in sorted(man["partitions"]):
            entry = man["partitions"][key]
            if entry["ts_max"] < lo or entry["ts_min"] > hi:
                continue
            path = self._file(folder, entry)
            if not path.exists():
                raise DataError(f"catalog data for {kind}/{symbol} changed during the read",
                                file=str(path), fix="read again (an import replaced this partition)")  # fmt: skip
            for batch in read_guard(iter_file(path, kind, lo, hi, chunk_rows), path):
                pos = 0
                while pos < len(batch):
                    take = min(chunk_rows - n, len(batch) - pos)
                    buf[n : n + take] = batch[pos : pos + take]
                    n += take
                    pos += take
                    if n == chunk_rows:
                        yield buf.copy()
                        n = 0
        if n:
            yield buf[:n].copy()

    def load(self, kind: str, symbol: str, start: Any = None, end: Any = None) -> np.ndarray:
        """All rows with ``start <= ts <= end`` as one canonical array."""
        man = self._require(kind, symbol)
        lo, hi = time_range(start, end)
        total = sum(
            p["rows"] for p in man["partitions"].values() if p["ts_max"] >= lo and p["ts_min"] <= hi
        )
        if total == 0:
            return np.empty(0, dtype=dtype_for(kind))
        # the manifest sizes the buffer, but is not trusted with memory: at most 16M rows a chunk
        parts = list(self.scan(kind, symbol, start, end, chunk_rows=min(total, 1 << 24)))
        if not parts:
            return np.empty(0, dtype=dtype_for(kind))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def instrument(self, kind: str, symbol: str) -> Instrument | None:
        man = self._require(kind, symbol)
        inst = man.get("instrument")
        if not inst:
            return None
        try:
            return Instrument(**inst)
        except (TypeError, DataError) as exc:
            raise DataError(f"catalog manifest is invalid: bad instrument ({exc})",
                            file=str(self._dir(kind, symbol) / MANIFEST), value=inst,
                            fix="restore it, or delete the dataset folder and import again") from None

    def _require(self, kind: str, symbol: str) -> dict:
        man = self.manifest(kind, symbol)
        if man is None:
            have = [f"{d.kind}/{d.symbol}" for d in self.ls()]
            raise DataError(f"catalog has no {kind} data for {symbol!r}", file=str(self.root),
                            value=f"{kind}/{symbol}",
                            fix="import it with `tape data import PATH --kind ... --symbol ...`"
                                + (f"; available: {', '.join(have[:20])}" if have else ""))  # fmt: skip
        return man

    # -------------------------------------------------------------------------------- files
    def import_file(
        self,
        path: str | Path,
        *,
        kind: str | None = None,
        symbol: str | None = None,
        format: str = "auto",
        mapping: Any = None,
        mode: str = "replace",
        chunk_rows: int = 1_000_000,
        stream_bytes: int = 64 << 20,
        **options: Any,
    ) -> list[ImportResult]:
        """Read a file with :func:`data.readers.dispatch.load_source` and import every series.

        A file whose bytes and reader options were imported before is skipped without parsing.
        Generic tables larger than ``stream_bytes`` holding one symbol are streamed in chunks
        of ``chunk_rows`` (memory bounded by a chunk plus a partition, not by the file).
        """
        from data.readers.bars import file_sha256
        from data.readers.dispatch import load_source

        path = Path(path)
        if not path.exists():
            raise DataError("file not found", file=str(path), fix="check the path")
        opts = {"kind": kind, "symbol": symbol, "format": format, "mapping": mapping, **options}
        key = hashlib.sha256(
            (file_sha256(path) + json.dumps(opts, sort_keys=True, default=str)).encode()
        ).hexdigest()
        known = self._datasets_with_key(key)
        if known:
            return [
                ImportResult(k, s, 0, total_rows(self.manifest(k, s)), True, "", 0)
                for k, s in known
            ]
        stream = _stream_plan(path, kind, symbol, format, mapping, stream_bytes)
        if stream is not None:
            from data.readers.table import iter_table

            kind, symbol = stream
            kw = {k: v for k, v in options.items() if k in _TABLE_OPTIONS}
            chunks = iter_table(path, kind=kind, mapping=mapping, chunk_rows=chunk_rows, **kw)
            return [self.write_chunks(kind, symbol, chunks, source=str(path), source_key=key,
                                      mode=mode)]  # fmt: skip
        results = []
        for ds in load_source(path, kind=kind, format=format, symbol=symbol, mapping=mapping,
                              **options):  # fmt: skip
            results.append(self.write(ds.kind, ds.symbol, ds.data, source=str(path),
                                      source_key=key, instrument=ds.instrument, mode=mode))  # fmt: skip
        return results

    def _datasets_with_key(self, key: str) -> list[tuple[str, str]]:
        out = []
        for info in self.ls():
            man = self.manifest(info.kind, info.symbol)
            if any(i.get("source_key") == key for i in man["imports"]):
                out.append((info.kind, info.symbol))
        return out


_TABLE_OPTIONS = ("ts_format", "tz", "ts_recv_format", "price_divisor", "side_map", "separator",
                  "label", "session_close", "interval")  # fmt: skip


def _spill(pieces: dict, staging: Path, kind: str) -> None:
    """Move the in-memory pieces of an import to Parquet files in its staging folder."""
    for key, items in pieces.items():
        for i, item in enumerate(items):
            if isinstance(item, np.ndarray):
                path = staging / key / f"piece-{uuid.uuid4().hex[:12]}.parquet"
                path.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(to_table(item, kind), path, compression="lz4")
                items[i] = path


def _make_durable(pending: list[tuple[Path, Path]]) -> None:
    """fsync the new files (in parallel: the journal batches them), rename them into place,
    then fsync their folders, so the manifest written next never points at lost data."""
    if not pending:
        return

    def sync(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    with ThreadPoolExecutor(max_workers=min(16, len(pending))) as pool:
        list(pool.map(sync, [tmp for tmp, _ in pending]))
    for tmp, final in pending:
        os.replace(tmp, final)
    if os.name == "posix":
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(sync, sorted({final.parent for _, final in pending})))


def _stream_plan(path, kind, symbol, format, mapping, stream_bytes) -> tuple[str, str] | None:
    """(kind, symbol) when ``path`` should be streamed, else None."""
    from data.readers.dispatch import _clean, _name_symbol, detect_format, kind_for_mapping
    from data.readers.sniff import sniff
    from data.readers.table import _is_parquet

    if path.stat().st_size < stream_bytes:
        return None
    fmt, detected = detect_format(path) if format == "auto" else (format, kind)
    kind = kind or kind_for_mapping(mapping, detected)
    if fmt != "table" or kind is None:
        return None
    import polars as pl

    if _is_parquet(path):
        names = list(pl.read_parquet_schema(path))
        lf = pl.scan_parquet(path)
    else:
        info = sniff(path)
        if info.header is None or info.encoding != "utf8":
            return (kind, symbol) if symbol and info.header is None else None
        names = info.header
        lf = pl.scan_csv(path, skip_rows=info.banner_lines, separator=info.separator,
                         infer_schema=False)  # fmt: skip
    col = next((c for c in names if c.lower() in ("symbol", "ticker")), None)
    if col is None:
        return kind, symbol or _name_symbol(path)
    values = lf.select(pl.col(col).unique()).collect()[col].to_list()
    if len(values) != 1:
        return None  # several symbols: the in-memory path splits them
    return kind, symbol or _clean(values[0])
