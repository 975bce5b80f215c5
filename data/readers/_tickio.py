"""Private helpers shared by the tick readers (LOBSTER, Tardis, Binance, TrueFX).

Reading is fast-path first: polars parses the whole file with a fixed schema. When that fails
(a bad cell, a ragged line), a slow line-by-line scan finds the first offending row and column
so the :class:`~data.errors.DataError` can name them, the value and the fix.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import gzip
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from data.errors import DataError

NS_PER_US = 1_000
NS_PER_MS = 1_000_000


def read_raw(path: str | Path) -> bytes:
    """The file's bytes, gunzipped if needed; errors for missing, empty or corrupt files."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path), fix="check the path")
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
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    return raw


def first_line(raw: bytes) -> str:
    end = raw.find(b"\n")
    line = raw if end < 0 else raw[:end]
    return line.decode("utf-8", errors="replace").strip()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def has_text_header(raw: bytes) -> bool:
    """True when the first line's first field is not a number (a header row)."""
    return not _is_number(first_line(raw).split(",")[0].strip())


def _cell_ok(kind: type, text: str) -> bool:
    text = text.strip()
    if kind is int:
        try:
            int(text)
        except ValueError:
            return False
        return True
    if kind is float:
        return _is_number(text)
    return True


def parse_csv(
    raw: bytes,
    path: str | Path,
    columns: dict[str, type],
    *,
    header: bool,
    fix: str,
    ragged_ok: bool = False,
    allow_null: tuple[str, ...] | set[str] = (),
) -> pl.DataFrame:
    """Parse ``raw`` as CSV with the given column names and Python types (int, float, str).

    ``header`` says whether the first line is a header to skip; ``allow_null`` names columns
    that may be empty. Row numbers in errors are 1-based file line numbers (the header, when
    present, is line 1).
    """
    pl_types = {int: pl.Int64, float: pl.Float64, str: pl.String}
    schema = {name: pl_types[kind] for name, kind in columns.items()}
    try:
        df = pl.read_csv(
            io.BytesIO(raw),
            has_header=False,
            skip_rows=1 if header else 0,
            schema=schema,
            truncate_ragged_lines=ragged_ok,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        _locate_bad_cell(raw, path, columns, header=header, fix=fix)
        raise DataError(f"cannot parse CSV: {exc}", file=str(path), fix=fix) from exc
    if df.height == 0:
        raise DataError("file has no data rows", file=str(path), fix="check the export")
    nulls = [name for name in df.columns if name not in allow_null and df[name].null_count()]
    if nulls:
        name = nulls[0]
        row = int(np.flatnonzero(df[name].is_null().to_numpy())[0])
        raise DataError(
            "missing value (short line or empty cell)",
            file=str(path),
            row=row + 1 + int(header),
            column=name,
            fix=fix,
        )
    return df


def _locate_bad_cell(
    raw: bytes, path: str | Path, columns: dict[str, type], *, header: bool, fix: str
) -> None:
    """Scan line by line; raise a DataError for the first bad line or cell (if any)."""
    names = list(columns)
    text = raw.decode("utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), start=1):
        if header and lineno == 1:
            continue
        if not line.strip():
            continue
        cells = line.rstrip("\r").split(",")
        if len(cells) != len(names):
            raise DataError(
                f"expected {len(names)} fields, found {len(cells)}",
                file=str(path),
                row=lineno,
                value=line[:120],
                fix=fix,
            )
        for name, cell in zip(names, cells, strict=True):
            if not _cell_ok(columns[name], cell):
                raise DataError(
                    f"cannot parse value as {columns[name].__name__}",
                    file=str(path),
                    row=lineno,
                    column=name,
                    value=cell,
                    fix=fix,
                )


def first_true(mask: np.ndarray) -> int:
    """Index of the first True of ``mask`` (or -1)."""
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else -1


def check_rows(
    mask_bad: np.ndarray,
    path: str | Path,
    *,
    column: str,
    values: np.ndarray,
    message: str,
    fix: str,
    row_offset: int = 1,
) -> None:
    """Raise a DataError naming the first row where ``mask_bad`` holds."""
    i = first_true(mask_bad)
    if i >= 0:
        value = values[i]
        value = value.item() if hasattr(value, "item") else value
        raise DataError(message, file=str(path), row=i + row_offset, column=column,
                        value=value, fix=fix)


def local_day_to_utc_ns(date: _dt.date, seconds_ns: np.ndarray, tz: str) -> np.ndarray:
    """Wall-clock ``seconds after midnight`` (ns) on ``date`` in ``tz`` -> int64 ns UTC.

    One UTC offset is used for the whole day unless the day has a DST transition; then each
    stamp is localised on its own (pandas, ``nonexistent``/``ambiguous`` raise).
    """
    zone = ZoneInfo(tz)
    start = _dt.datetime(date.year, date.month, date.day, tzinfo=zone)
    end = start + _dt.timedelta(hours=23, minutes=59)
    midnight_naive = (
        np.datetime64(_dt.datetime(date.year, date.month, date.day), "ns").astype(np.int64)
    )
    local = midnight_naive + seconds_ns.astype(np.int64)
    if start.utcoffset() == end.utcoffset():
        offset = int(start.utcoffset().total_seconds()) * 1_000_000_000
        return local - offset
    import pandas as pd

    idx = pd.DatetimeIndex(local.astype("datetime64[ns]")).tz_localize(
        tz, ambiguous="raise", nonexistent="raise"
    )
    return idx.tz_convert("UTC").as_unit("ns").asi8.copy()


def iso_to_utc_ns(values: pl.Series, path: str | Path, column: str, tz: str = "UTC") -> np.ndarray:
    """Parse ISO-like timestamp strings (with or without offset) to int64 ns UTC."""
    import pandas as pd

    texts = values.to_list()
    parsed = pd.to_datetime(pd.Series(texts), errors="coerce", format="mixed", utc=False)
    if parsed.isna().any():
        bad = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(
            "cannot parse timestamp",
            file=str(path),
            row=bad + 2,
            column=column,
            value=texts[bad],
            fix="use ISO 8601 stamps such as 2013-01-01 22:00:00.295+00:00",
        )
    if parsed.dt.tz is None:
        parsed = parsed.dt.tz_localize(tz)
    return parsed.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()


def require_sorted(ts: np.ndarray, path: str | Path, column: str, row_offset: int, fix: str,
                   warn_only: bool = False) -> None:
    """Error (or warn) at the first row whose stamp goes back in time."""
    back = np.flatnonzero(np.diff(ts) < 0)
    if back.size:
        i = int(back[0]) + 1
        msg = "timestamp goes back in time"
        if warn_only:
            import warnings

            warnings.warn(
                f"{path}: row {i + row_offset}: {msg} ({ts[i - 1]} -> {ts[i]}); {fix}",
                stacklevel=3,
            )
            return
        raise DataError(msg, file=str(path), row=i + row_offset, column=column,
                        value=int(ts[i]), fix=fix)


def map_values(col: np.ndarray, mapping: dict, path: str | Path, column: str,
               row_offset: int, fix: str, out_dtype=np.int8) -> np.ndarray:
    """Map categorical string values through ``mapping``; error on the first unknown value."""
    out = np.zeros(len(col), dtype=out_dtype)
    seen = np.zeros(len(col), dtype=bool)
    for key, val in mapping.items():
        m = col == key
        out[m] = val
        seen |= m
    check_rows(~seen, path, column=column, values=col, message="unexpected value",
               fix=fix, row_offset=row_offset)
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ticks:
    """A canonical tick array (TRADE, QUOTE or DEPTH) with where it came from."""

    kind: str  # "trade", "quote" or "depth" (data.schema.KINDS)
    symbol: str
    exchange: str
    data: np.ndarray
    source: str
    ids: np.ndarray | None = None  # exchange trade ids when the file has them
    id_gaps: int = 0  # places where consecutive trade ids are not +1 (informational)

    def __len__(self) -> int:
        return len(self.data)
