"""Private helpers shared by the tick readers (LOBSTER, Tardis, Binance, TrueFX).

Time parsing lives in :mod:`data.timeutil` and array checks in :mod:`data.validate` (the tick
readers validate what they return with :func:`data.validate.validate_array`, and name
format-specific problems with :func:`data.validate.require_rows`). What is left here is the
fixed-schema CSV fast path: polars parses the whole file with a fixed schema; when that fails
(a bad cell, a ragged line), a slow line-by-line scan finds the first offending row and column
so the :class:`~data.errors.DataError` can name them, the value and the fix.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import polars as pl

from data.errors import DataError
from data.readers.sniff import _NUMERIC, READ_ERRORS, decode, open_bytes
from data.validate import require_rows

_I64 = (-(2**63), 2**63 - 1)


def read_raw(path: str | Path) -> bytes:
    """The file's text as UTF-8 bytes without a BOM (gunzipped; UTF-16 with a BOM is
    converted); errors for missing, empty, corrupt or wrongly encoded files."""
    path = Path(path)
    raw = open_bytes(path)  # not found, a folder, truncated gzip
    try:
        text, encoding, bom = decode(raw, path)
    except DataError as exc:
        raise DataError(exc.message, file=str(path), row=exc.row, value=exc.value,
                        fix="convert the file to UTF-8 (iconv -f latin1 -t utf-8 FILE)") from None
    if not text.strip():
        raise DataError("file is empty", file=str(path), fix="check the download or the path")
    return raw if encoding == "utf8" and not bom else text.encode("utf-8")


def first_line(raw: bytes) -> str:
    end = raw.find(b"\n")
    line = raw if end < 0 else raw[:end]
    return line.decode("utf-8", errors="replace").strip()


def has_text_header(raw: bytes) -> bool:
    """True when the first line's first field is not a number (a header row)."""
    return not _NUMERIC.match(first_line(raw).split(",")[0])


def _cell_ok(kind: type, text: str) -> bool:
    text = text.strip()
    if kind is int:
        try:
            return _I64[0] <= int(text) <= _I64[1]
        except ValueError:
            return False
    if kind is float:
        try:
            float(text)
        except ValueError:
            return False
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
    except READ_ERRORS as exc:
        _locate_bad_cell(raw, path, columns, header=header, fix=fix)
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"cannot parse CSV ({text})", file=str(path), fix=fix) from None
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


def map_values(col: np.ndarray, mapping: dict, path: str | Path, column: str,
               row_offset: int, fix: str, out_dtype=np.int8) -> np.ndarray:
    """Map categorical string values through ``mapping``; error on the first unknown value."""
    out = np.zeros(len(col), dtype=out_dtype)
    seen = np.zeros(len(col), dtype=bool)
    for key, val in mapping.items():
        m = col == key
        out[m] = val
        seen |= m
    require_rows(~seen, message="unexpected value", column=column, values=col, fix=fix,
                 file=str(path), first_line=row_offset)
    return out


def require_order(values: np.ndarray, path: str | Path, *, column: str, first_line: int,
                  fix: str, shown: np.ndarray | None = None) -> None:
    """Error at the first row whose ``values`` (stamps in file order) go back in time."""
    back = np.zeros(len(values), dtype=bool)
    back[1:] = values[1:] < values[:-1]
    require_rows(back, message="timestamp goes back in time", column=column,
                 values=values if shown is None else shown, fix=fix, file=str(path),
                 first_line=first_line)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ticks:
    """A canonical tick array (TRADE, QUOTE, DEPTH or MBO) with where it came from."""

    kind: str  # "trade", "quote", "depth" or "mbo" (data.schema.KINDS)
    symbol: str
    exchange: str
    data: np.ndarray
    source: str
    ids: np.ndarray | None = None  # exchange trade ids when the file has them
    id_gaps: int = 0  # places where consecutive trade ids are not +1 (informational)

    def __len__(self) -> int:
        return len(self.data)
