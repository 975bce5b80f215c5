"""One door for every file format: detect it, read it, return canonical datasets.

:func:`load_source` is what ``tape data import`` and ``tape data validate`` call. It picks a
reader (``format="auto"`` detects one) and returns a list of :class:`Dataset` — one canonical
array per (kind, symbol): a bar file gives one, a wide matrix one per column, a Binance stream
capture one per stream kind.

Built-in formats: ``bars`` (:func:`read_bars`), ``wide`` (:func:`read_wide_closes`), ``long``
(:func:`read_long_bars`), ``table`` (:func:`read_table`, any kind with a column mapping).

Tick formats (``lobster``, ``tardis``, ``binance``, ``truefx``) register themselves: each
module listed in :data:`PLUGIN_MODULES` defines ``FORMATS``, a list of dicts ``{"name": str,
"reader": callable, "kinds": tuple, "detect": callable(FileInfo | None, Path) -> bool,
"description": str}``. ``reader(path, **opts)`` returns a canonical array, a :class:`Bars`, an
object with a canonical ``.data`` array and a ``.symbol`` (such as
:class:`data.readers._tickio.Ticks`), a list of those, or a ``dict`` mapping kind -> array; it
receives ``symbol``/``tz`` and the other options only if its signature names them. A Binance
capture gives ``depth`` (the synchronised book stream of
:func:`data.readers.binance.sync_depth`), ``quote`` (bookTicker) and ``trade`` datasets.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from data.errors import DataError
from data.readers.bars import Bars, _find, _load, _symbol_from, file_sha256
from data.readers.columns import ALIASES as TABLE_ALIASES
from data.readers.sniff import READ_ERRORS, FileInfo, sniff
from data.readers.table import _is_parquet
from data.schema import KINDS, Instrument

PLUGIN_MODULES = (
    "data.readers.lobster",
    "data.readers.tardis",
    "data.readers.binance",
    "data.readers.truefx",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Dataset:
    """One canonical series read from a source."""

    kind: str
    symbol: str
    data: np.ndarray
    source: str
    sha256: str  # of the source file
    instrument: Instrument | None = None
    first_line: int | np.ndarray | None = None  # for error messages (file order only)


@dataclasses.dataclass(frozen=True)
class Format:
    name: str
    reader: Callable[..., Any]
    kinds: tuple[str, ...]
    detect: Callable[[FileInfo | None, Path], bool] | None = None
    description: str = ""


def formats() -> dict[str, Format]:
    """Every known format: built-ins first, then plug-ins found on disk."""
    out = {
        "bars": Format("bars", _read_bars_ds, ("bar",), None, "one OHLCV file (many layouts)"),
        "wide": Format("wide", _read_wide_ds, ("bar",), None, "date x symbol matrix of closes"),
        "long": Format("long", _read_long_ds, ("bar",), None, "OHLCV rows with a ticker column"),
        "table": Format("table", _read_table_ds, tuple(KINDS), None, "any CSV/Parquet + mapping"),
    }
    for mod_name in PLUGIN_MODULES:
        if importlib.util.find_spec(mod_name) is None:
            continue
        mod = importlib.import_module(mod_name)
        for spec in getattr(mod, "FORMATS", ()):
            out[spec["name"]] = Format(
                spec["name"],
                spec["reader"],
                tuple(spec.get("kinds", ())),
                spec.get("detect"),
                spec.get("description", ""),
            )
    return out


def _with_lines(path: Path, datasets: list[Dataset]) -> list[Dataset]:
    """Give a dataset file line numbers when its rows map 1:1 onto the file's data lines."""
    if len(datasets) != 1 or _is_parquet(path):
        return datasets
    try:
        info = sniff(path)
    except DataError:
        return datasets
    from data.readers.sniff import open_bytes

    raw = open_bytes(path)
    lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
    if lines - (info.first_data_line - 1) != len(datasets[0].data):
        return datasets
    return [dataclasses.replace(datasets[0], first_line=info.first_data_line)]


def detect_format(path: str | Path) -> tuple[str, str | None]:
    """(format name, kind or None) for a file, from its content and name."""
    path = Path(path)
    if _is_parquet(path):
        return "table", None
    try:
        info: FileInfo | None = sniff(path)
    except DataError:
        info = None
    for fmt in formats().values():
        if fmt.detect is not None:
            try:
                if fmt.detect(info, path):
                    return fmt.name, fmt.kinds[0] if len(fmt.kinds) == 1 else None
            except Exception:  # noqa: BLE001 - a plug-in detector must not break detection
                continue
    if "lobster" in formats():
        from data.readers.lobster import parse_lobster_name

        name = parse_lobster_name(path)
        if name is not None and name.kind == "orderbook":
            raise DataError(
                "a LOBSTER orderbook file holds book states, not events",
                file=str(path),
                fix="import/validate its message file; read_lobster(message, orderbook) pairs them",
            )
    if info is None or info.header is None:
        return "table", None
    header = [h.strip().lower() for h in info.header]
    if info.n_fields == len(header) + 1 and header[:1] in (["date"], ["datetime"], [""]):
        return "bars", "bar"  # backtrader Date,Time quirk
    if all(_find(info.header, k) is not None for k in ("open", "high", "low", "close")):
        if any(h in ("ticker", "symbol") for h in header) and _many_symbols(path, info):
            return "long", "bar"
        return "bars", "bar"
    kind = guess_kind(info.header)
    if kind is None and len(header) >= 2 and header[0] in ("date", "datetime", "", "time"):
        return ("wide", "bar") if len(header) > 2 else ("bars", "bar")
    return "table", kind


def guess_kind(columns: list[str]) -> str | None:
    """Canonical kind implied by column names (None when nothing fits)."""
    low = {c.strip().lower() for c in columns}

    def has(field: str) -> bool:
        return any(a in low for a in TABLE_ALIASES[field])

    if has("open") and has("high") and has("low") and has("close"):
        return "bar"
    if has("bid") and has("ask"):
        return "quote"
    if has("event") and has("order_id") and has("price"):
        return "mbo"
    if has("price") and has("size") and has("side") and has("flags"):
        return "depth"
    if has("price") and has("size"):
        return "trade"
    return None


def kind_for_mapping(mapping: Any, guessed: str | None) -> str | None:
    """The kind a mapping's target fields call for: ``guessed`` (from the file's columns) when
    it has them all, else the one kind that has them (``Opening=open`` -> bar); None when the
    mapping names no field (the caller asks for ``--kind``). Raises when several kinds fit."""
    from data.readers.columns import parse_mapping

    targets = set(parse_mapping(mapping).values()) - {"ts", "ts_recv"}
    if not targets or (guessed is not None and targets <= set(KINDS[guessed].names)):
        return guessed
    fits = [k for k, dt in KINDS.items() if targets <= set(dt.names)]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        return guessed  # a target no kind has: resolve_columns names it
    raise DataError(f"the mapping's fields {sorted(targets)} fit several kinds "
                    f"({', '.join(fits)})" + (f", not {guessed} (guessed from the columns)"
                                              if guessed else ""),
                    argument="kind", value=mapping, fix=f"pass --kind ({', '.join(fits)})")  # fmt: skip


def _many_symbols(path: Path, info: FileInfo) -> bool:
    col = next(h for h in info.header if h.strip().lower() in ("ticker", "symbol"))
    try:
        head = pl.read_csv(path, skip_rows=info.banner_lines, n_rows=5000, infer_schema=False,
                           separator=info.separator, columns=[col])  # fmt: skip
    except READ_ERRORS:
        return False  # damaged: the reader names the problem
    return head[col].n_unique() > 1


def load_source(
    path: str | Path,
    *,
    kind: str | None = None,
    format: str = "auto",
    symbol: str | None = None,
    mapping: Any = None,
    ts_format: str = "auto",
    tz: str | None = None,
    validate: bool = True,
    **options: Any,
) -> list[Dataset]:
    """Read ``path`` with the named (or detected) format into canonical datasets."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=str(path), fix="check the path")
    if kind is not None and kind not in KINDS:
        raise DataError("unknown kind", argument="kind", value=kind,
                        fix=f"use one of {', '.join(KINDS)}")  # fmt: skip
    known = formats()
    if format == "auto":
        format, detected = detect_format(path)
        kind = kind or kind_for_mapping(mapping, detected)
        if mapping is not None and format in ("bars", "wide", "long"):
            format = "table"  # an explicit mapping means the generic reader
    elif format == "table":
        kind = kind or kind_for_mapping(mapping, None)
    if format not in known:
        raise DataError("unknown format", argument="format", value=format,
                        fix=f"use one of {', '.join(known)}")  # fmt: skip
    fmt = known[format]
    if kind is not None and fmt.kinds and kind not in fmt.kinds:
        raise DataError(f"format {format!r} gives {'/'.join(fmt.kinds)}, not {kind}",
                        argument="kind", value=kind, fix="drop --kind or pick another --format")  # fmt: skip
    if format == "table" and kind is None:
        raise DataError("cannot tell the data kind from the columns", file=str(path),
                        argument="kind", fix=f"pass --kind ({', '.join(KINDS)})")  # fmt: skip
    if format in ("bars", "wide", "long", "table"):
        return fmt.reader(path, kind=kind, symbol=symbol, mapping=mapping, ts_format=ts_format,
                          tz=tz, validate=validate, **options)  # fmt: skip
    datasets = _plugin(fmt, path, symbol=symbol, tz=tz, **options)
    chosen = [d for d in datasets if kind is None or d.kind == kind]
    if not chosen:
        held = ", ".join(sorted({d.kind for d in datasets})) or "no rows"
        raise DataError(f"this {format} file holds {held} data, not {kind}", file=str(path),
                        argument="kind", value=kind, fix=f"use --kind {held.split(',')[0]}")  # fmt: skip
    return _with_lines(path, chosen)


def _read_bars_ds(path, *, symbol, tz, validate, **options) -> list[Dataset]:
    from data.readers.bars import read_bars

    kw = {k: v for k, v in options.items() if k in ("label", "session_close", "adjust", "interval")}
    b = read_bars(path, symbol=symbol, tz=tz, **kw)
    return [_bars_ds(b)]


def _bars_ds(b: Bars) -> Dataset:
    return Dataset(kind="bar", symbol=b.symbol, data=b.data, source=b.source, sha256=b.sha256,
                   instrument=b.instrument)  # fmt: skip


def _read_wide_ds(path, *, symbol, tz, **options) -> list[Dataset]:
    from data.readers.multi import read_wide_closes

    kw = {k: v for k, v in options.items() if k in ("label", "session_close", "calendar")}
    panel = read_wide_closes(path, symbols=[symbol] if symbol else None, tz=tz, **kw)
    return [_bars_ds(b) for b in panel.values()]


def _read_long_ds(path, *, symbol, tz, **options) -> list[Dataset]:
    from data.readers.multi import read_long_bars

    kw = {k: v for k, v in options.items() if k in ("label", "session_close", "adjust")}
    panel = read_long_bars(path, symbols=[symbol] if symbol else None, tz=tz, **kw)
    return [_bars_ds(b) for b in panel.values()]


def _read_table_ds(path, *, kind, symbol, mapping, ts_format, tz, validate, **options):
    from data.readers.table import finish_array, read_table_rows

    kw = {k: v for k, v in options.items() if k in
          ("ts_recv_format", "price_divisor", "side_map", "separator", "encoding")}  # fmt: skip
    arr, first_line = read_table_rows(path, kind=kind, mapping=mapping, ts_format=ts_format,
                                      tz=tz, **kw)  # fmt: skip
    stamp = {k: v for k, v in options.items() if k in ("label", "session_close", "interval")}
    digest = file_sha256(path)
    groups = _symbol_groups(path, len(arr), symbol)
    out = []
    for sym, idx in groups:
        part = arr if idx is None else arr[idx]
        lines = (np.arange(len(arr)) + first_line)[idx] if idx is not None else first_line
        part = finish_array(part, kind, file=str(path), first_line=lines, validate=validate,
                            tz=tz, **stamp)  # fmt: skip
        out.append(Dataset(kind=kind, symbol=sym, data=part, source=str(path), sha256=digest,
                           first_line=lines))  # fmt: skip
    return out


def _symbol_groups(path: Path, n: int, symbol: str | None):
    """Split a table by its symbol column when it holds several symbols."""
    if _is_parquet(path):
        try:
            cols = pl.read_parquet_schema(path).keys()
            sym_col = next((c for c in cols if c.lower() in ("symbol", "ticker", "instrument")),
                           None)  # fmt: skip
            values = pl.read_parquet(path, columns=[sym_col])[sym_col] if sym_col else None
        except READ_ERRORS as exc:
            raise DataError(f"Parquet file is unreadable ({str(exc).splitlines()[0]})",
                            file=str(path), fix="the file is truncated or not Parquet: re-export it") from None
    else:
        info = sniff(path)
        sym_col = next((c for c in (info.header or []) if c.lower() in ("symbol", "ticker")), None)
        values = _column(path, info, sym_col) if sym_col else None
    if values is None or len(values) != n:
        return [(symbol or _name_symbol(path), None)]
    values = values.cast(pl.String).fill_null("")
    uniq = list(dict.fromkeys(values.to_list()))
    if len(uniq) == 1:
        return [(symbol or _clean(uniq[0]) or _name_symbol(path), None)]
    if symbol is not None:
        match = [u for u in uniq if _clean(u) == _clean(symbol)]
        if not match:
            raise DataError("symbol not in the file", file=str(path), column=sym_col, value=symbol,
                            fix=f"use one of {', '.join(map(str, uniq[:20]))}")  # fmt: skip
        return [(symbol, np.flatnonzero((values == match[0]).to_numpy()))]
    return [(_clean(u), np.flatnonzero((values == u).to_numpy())) for u in uniq]


def _column(path: Path, info: FileInfo, name: str) -> pl.Series:
    """One column of a CSV as text (the file was read whole before, so it parses)."""
    try:
        return pl.read_csv(path, skip_rows=info.banner_lines, columns=[name], infer_schema=False,
                           separator=info.separator)[name]  # fmt: skip
    except READ_ERRORS as exc:
        raise DataError(f"cannot read column {name!r} ({str(exc).splitlines()[0]})",
                        file=str(path), column=name,
                        fix="check the separator, quoting and encoding") from None


def _clean(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-]", "", str(s)).upper()


def _name_symbol(path: Path) -> str:
    return _symbol_from(pl.DataFrame(), path)


def _plugin(fmt: Format, path: Path, *, symbol, tz, **options) -> list[Dataset]:
    """Call a registered reader and turn what it returns into datasets (see the module doc)."""
    params = inspect.signature(fmt.reader).parameters
    any_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kw = {k: v for k, v in options.items() if any_kw or k in params}
    if "symbol" in params and symbol is not None:
        kw["symbol"] = symbol
    if "tz" in params and tz is not None:
        kw["tz"] = tz
    result = fmt.reader(path, **kw)
    digest = file_sha256(path)

    def one(kind_hint, item) -> Dataset:
        if isinstance(item, Bars):
            return _bars_ds(item)
        data = item if isinstance(item, np.ndarray) else getattr(item, "data", None)
        kind = next((k for k, dt in KINDS.items() if getattr(data, "dtype", None) == dt), None)
        if kind is None or (kind_hint is not None and kind != kind_hint):
            raise DataError(f"format {fmt.name!r} returned an unsupported object",
                            value=type(item).__name__,
                            fix="return a canonical array, an object with .data, or a dict of them")  # fmt: skip
        sym = symbol or getattr(item, "symbol", None) or _name_symbol(path)
        return Dataset(kind=kind, symbol=sym, data=data, source=str(path), sha256=digest)

    if isinstance(result, dict):
        return [one(k, v) for k, v in result.items()]
    if isinstance(result, list | tuple):
        return [one(None, v) for v in result]
    return [one(None, result)]


# ------------------------------------------------------------------------------------------
# validation support: rows in file order, data problems collected rather than raised
# ------------------------------------------------------------------------------------------
def read_for_validation(path: Path, *, kind, format, mapping, ts_format, tz, **options):
    """(array in file order, kind, first_line or line array, extra issues) for validate_file.

    For sources holding several series the array is None, the third item is the total row
    count, and the per-series issues are in the extras.
    """
    from data.validate import Issue, check_sequence

    if format == "auto":
        format, detected = detect_format(path)
        kind = kind or kind_for_mapping(mapping, detected)
        if mapping is not None and format in ("bars", "wide", "long"):
            format = "table"
        if format in ("tardis", "truefx"):
            # one-row-per-line CSVs: the table reader reports every issue by line (the tick
            # reader stops at the first); book snapshots and headerless files keep the adapter
            info = sniff(path)
            guessed = guess_kind(info.header) if info.header else None
            if guessed is not None and (kind is None or kind == guessed):
                format, kind = "table", guessed
    extra: list[Issue] = []
    if format == "bars":
        from data.readers.bars import bar_rows

        raw = _load(path, options.get("encoding"))
        arr, lines = bar_rows(raw, tz=tz, adjust=bool(options.get("adjust", False)))
        return arr, "bar", lines, extra
    if format == "table":
        from data.readers.table import read_table_rows

        kind = kind or kind_for_mapping(mapping, None)
        if kind is None:
            raise DataError("cannot tell the data kind from the columns", file=str(path),
                            argument="kind", fix=f"pass --kind ({', '.join(KINDS)})")  # fmt: skip
        arr, first_line = read_table_rows(path, kind=kind, mapping=mapping,
                                          ts_format=ts_format, tz=tz or "UTC")  # fmt: skip
        extra = _sequence_issues(path, kind, first_line, check_sequence)
        return arr, kind, first_line, extra
    datasets = load_source(path, kind=kind, format=format, mapping=mapping, ts_format=ts_format,
                           tz=tz, validate=False, **options)  # fmt: skip
    if len(datasets) == 1:
        d = datasets[0]
        return d.data, d.kind, d.first_line, extra
    # several series (wide matrix, stream capture): check each, report them together
    from data.validate import check_array

    for d in datasets:
        extra.extend(check_array(d.data, d.kind, file=f"{path}#{d.symbol}:{d.kind}").issues)
    kinds = ",".join(sorted({d.kind for d in datasets}))
    return None, kinds, sum(len(d.data) for d in datasets), extra


def _sequence_issues(path: Path, kind: str, first_line: int, check_sequence) -> list:
    if _is_parquet(path):
        return []
    info = sniff(path)
    header = {h.lower(): h for h in info.header or []}
    out = []

    def col(name):
        return _column(path, info, header[name])

    for name in ("seq", "sequence", "seq_num", "sequence_number"):
        if name in header:
            ids = col(name).cast(pl.Int64, strict=False).to_numpy()
            out += check_sequence(ids, mode="consecutive", file=str(path), column=header[name],
                                  first_line=first_line)  # fmt: skip
    if kind == "trade":
        for name in ("trade_id", "id"):
            if name in header:
                ids = col(name).cast(pl.Int64, strict=False)
                if ids.null_count() == 0:
                    out += check_sequence(ids.to_numpy(), mode="consecutive", file=str(path),
                                          column=header[name], first_line=first_line,
                                          severity="warning")  # fmt: skip
                break
    if "last_update_id" in header and "pu" in header:
        u = col("last_update_id").cast(pl.Int64, strict=False).to_numpy()
        pu = col("pu").cast(pl.Int64, strict=False).to_numpy()
        starts = np.r_[0, np.flatnonzero(np.diff(u) != 0) + 1]  # one message spans many rows
        issues = check_sequence(u[starts], prev=pu[starts], mode="chain", file=str(path),
                                column=header["pu"], first_line=None)  # fmt: skip
        out += [dataclasses.replace(i, row=int(starts[i.row]) + first_line) for i in issues]
    return out
