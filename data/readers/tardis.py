"""Tardis.dev CSV datasets: trades, incremental_book_L2, book_snapshot_N, quotes.

All Tardis timestamps are microseconds since the epoch, UTC: ``timestamp`` is the exchange's
time (``ts``), ``local_timestamp`` the time Tardis received the message (``ts_recv``).

* ``trades``: exchange,symbol,timestamp,local_timestamp,id,side,price,amount -> TRADE
  (``side`` is the aggressor: buy / sell / unknown).
* ``incremental_book_L2``: exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,
  amount -> DEPTH (amount is the new level size, 0 deletes). Following Tardis's rule, a run of
  ``is_snapshot=true`` rows that follows non-snapshot rows (or starts the file) replaces the
  book: a clear row (side 0, DEPTH_CLEAR | DEPTH_SNAPSHOT) is inserted before it. Rows sharing a
  ``local_timestamp`` are one message: its last row carries DEPTH_LAST.
* ``book_snapshot_N``: exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,
  bids[0].price,bids[0].amount,... -> DEPTH: per snapshot a clear row, then every non-empty
  level flagged DEPTH_SNAPSHOT, the last one also DEPTH_LAST.
* ``quotes``: exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,
  bid_amount -> QUOTE.

:func:`read_tardis` detects the dataset from the header.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import polars as pl

from data.errors import DataError
from data.readers._tickio import Ticks, first_line, map_values, parse_csv, read_raw, require_order
from data.schema import BUY, DEPTH, DEPTH_CLEAR, DEPTH_LAST, DEPTH_SNAPSHOT, QUOTE, SELL, TRADE
from data.timeutil import epoch_to_ns
from data.validate import require_rows, validate_array

_HEAD = ["exchange", "symbol", "timestamp", "local_timestamp"]
_LAYOUTS = {
    "trade": _HEAD + ["id", "side", "price", "amount"],
    "incremental_book_L2": _HEAD + ["is_snapshot", "side", "price", "amount"],
    "quote": _HEAD + ["ask_amount", "ask_price", "bid_price", "bid_amount"],
}
_FIX = "use a Tardis.dev CSV export (trades, incremental_book_L2, book_snapshot_N or quotes)"


def _meta(df: pl.DataFrame) -> tuple[str, str]:
    ex = df["exchange"].unique().to_list()
    sym = df["symbol"].unique().to_list()
    return ",".join(sorted(map(str, ex))), ",".join(sorted(map(str, sym)))


def _times(df: pl.DataFrame, path) -> tuple[np.ndarray, np.ndarray]:
    """Exchange and local stamps (microseconds) -> int64 ns; local stamps must not go back."""
    out = []
    for name in ("timestamp", "local_timestamp"):
        us = df[name].to_numpy()
        ns = epoch_to_ns(us, "us")  # beyond int64 ns: the missing sentinel
        require_rows((us <= 0) | (ns == np.iinfo(np.int64).min), column=name, values=us,
                     message="timestamp must be microseconds since the epoch (1970-2262)",
                     fix=_FIX, file=str(path), first_line=2)
        out.append(ns)
    require_order(out[1], path, column="local_timestamp", first_line=2,
                  shown=df["local_timestamp"].to_numpy(),
                  fix="Tardis files are in local_timestamp order; do not sort or edit them")
    return out[0], out[1]


def _read(path: Path, cols: dict[str, type], raw: bytes | None = None,
          allow_null=()) -> tuple[pl.DataFrame, np.ndarray, np.ndarray]:
    """Parse a Tardis CSV with its (header-named) columns -> (frame, ts, ts_recv)."""
    cols = cols | {"timestamp": int, "local_timestamp": int}
    df = parse_csv(read_raw(path) if raw is None else raw, path, cols, header=True, fix=_FIX,
                   allow_null=allow_null)
    return (df, *_times(df, path))


def _validated(ticks: Ticks, first_line: int | np.ndarray, rows: np.ndarray | None = None) -> Ticks:
    """Run the canonical checks (prices, sizes, sides, flags) on ``rows`` (default all); Tardis
    files are in ``local_timestamp`` order, so the exchange stamps' order is not an error here."""
    data = ticks.data
    if rows is not None:
        lines = np.arange(len(data)) + first_line if np.ndim(first_line) == 0 else first_line
        data, first_line = data[rows], lines[rows]
    validate_array(data, ticks.kind, file=ticks.source, first_line=first_line, order=False,
                   stacklevel=4)
    return ticks


def read_tardis_trades(path: str | Path) -> Ticks:
    """Tardis ``trades`` CSV -> TRADE (with exchange trade ids when numeric)."""
    path = Path(path)
    cols = dict.fromkeys(_LAYOUTS["trade"], str) | {"price": float, "amount": float}
    df, ts, recv = _read(path, cols)
    out = np.empty(df.height, dtype=TRADE)
    out["ts"], out["ts_recv"] = ts, recv
    out["price"] = df["price"].to_numpy()
    out["size"] = df["amount"].to_numpy()
    out["side"] = map_values(df["side"].to_numpy(), {"buy": BUY, "sell": SELL, "unknown": 0},
                             path, "side", 2, "side must be buy, sell or unknown")
    ids_s = df["id"]
    ids = None
    gaps = 0
    as_int = ids_s.cast(pl.Int64, strict=False)  # ids beyond int64 are not numeric ids
    if ids_s.str.contains(r"^\d+$").all() and as_int.null_count() == 0:
        ids = as_int.to_numpy()
        gaps = int(np.count_nonzero(np.diff(ids) != 1))
    ex, sym = _meta(df)
    return _validated(Ticks(kind="trade", symbol=sym, exchange=ex, data=out, source=str(path),
                            ids=ids, id_gaps=gaps), 2)


def read_tardis_quotes(path: str | Path) -> Ticks:
    """Tardis ``quotes`` CSV -> QUOTE (empty sides become NaN prices with size 0)."""
    path = Path(path)
    df, ts, recv = _read(path, dict.fromkeys(_LAYOUTS["quote"], str),
                         allow_null=set(_LAYOUTS["quote"][4:]))
    out = np.empty(df.height, dtype=QUOTE)
    out["ts"], out["ts_recv"] = ts, recv
    for src, dst in (("ask_price", "ask"), ("bid_price", "bid"), ("ask_amount", "ask_size"),
                     ("bid_amount", "bid_size")):
        vals = _floats(df, src, path)
        out[dst] = vals if dst in ("ask", "bid") else np.nan_to_num(vals)
    ex, sym = _meta(df)
    two_sided = ~(np.isnan(out["bid"]) | np.isnan(out["ask"]))
    if not two_sided.all():
        warnings.warn(f"file {path}: {int((~two_sided).sum())} quote(s) with an empty side "
                      "(NaN price, size 0)", UserWarning, stacklevel=2)
    ticks = Ticks(kind="quote", symbol=sym, exchange=ex, data=out, source=str(path))
    return _validated(ticks, 2, rows=two_sided)


def read_tardis_incremental_l2(path: str | Path) -> Ticks:
    """Tardis ``incremental_book_L2`` CSV -> DEPTH (see module docstring for the flags)."""
    path = Path(path)
    cols = dict.fromkeys(_LAYOUTS["incremental_book_L2"], str) | {"price": float, "amount": float}
    df, ts, recv = _read(path, cols)
    snap = map_values(df["is_snapshot"].str.to_lowercase().to_numpy(), {"true": 1, "false": 0},
                      path, "is_snapshot", 2, "is_snapshot must be true or false").astype(bool)
    side = map_values(df["side"].to_numpy(), {"bid": BUY, "ask": SELL}, path, "side", 2,
                      "side must be bid or ask")
    price = df["price"].to_numpy()
    size = df["amount"].to_numpy()
    n = df.height
    starts = snap & np.concatenate([[True], ~snap[:-1]])  # snapshot runs replace the book
    last = np.concatenate([recv[1:] != recv[:-1], [True]])
    out = np.zeros(n + int(starts.sum()), dtype=DEPTH)
    pos = np.arange(n) + np.cumsum(starts)  # room for one clear row before each run
    out["ts"][pos], out["ts_recv"][pos] = ts, recv
    out["side"][pos], out["price"][pos], out["size"][pos] = side, price, size
    out["flags"][pos] = np.where(snap, DEPTH_SNAPSHOT, 0) | np.where(last, DEPTH_LAST, 0)
    clear = pos[starts] - 1
    out["ts"][clear], out["ts_recv"][clear] = ts[starts], recv[starts]
    out["price"][clear] = np.nan
    out["flags"][clear] = DEPTH_CLEAR | DEPTH_SNAPSHOT
    lines = np.zeros(len(out), dtype=np.int64)
    lines[pos] = np.arange(n) + 2
    lines[clear] = lines[clear + 1]  # an inserted clear row takes its snapshot's first line
    ex, sym = _meta(df)
    return _validated(Ticks(kind="depth", symbol=sym, exchange=ex, data=out, source=str(path)),
                      lines)


def _floats(df: pl.DataFrame, name: str, path) -> np.ndarray:
    """A text column as floats; empty cells -> NaN, anything else unparsable is an error."""
    col = df[name].str.strip_chars()
    vals = col.cast(pl.Float64, strict=False)
    bad = (vals.is_null() & (col.str.len_chars() > 0)).fill_null(False)
    require_rows(bad.to_numpy(), column=name, values=col.to_numpy(),
                 message="cannot parse value as float", fix=_FIX, file=str(path), first_line=2)
    return vals.fill_null(np.nan).to_numpy()


_LEVEL = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")


def read_tardis_book_snapshot(path: str | Path) -> Ticks:
    """Tardis ``book_snapshot_N`` CSV -> DEPTH (one clear row + levels per snapshot)."""
    path = Path(path)
    raw = read_raw(path)
    header = [h.strip() for h in first_line(raw).split(",")]
    levels = [_LEVEL.match(h) for h in header[4:]]
    if header[:4] != _HEAD or not levels or not all(levels):
        raise DataError("not a Tardis book_snapshot header", file=str(path), row=1,
                        value=",".join(header[:8]), fix=_FIX)
    names = {(m[1], m[2], m[3]) for m in levels}
    unpaired = [f"{m[1]}[{m[2]}]" for m in levels
                if (m[1], m[2], "amount" if m[3] == "price" else "price") not in names]
    if unpaired or len(names) != len(levels):
        raise DataError("book_snapshot header must name each level's price and amount once",
                        file=str(path), row=1, column=(unpaired or [None])[0],
                        value=",".join(header[4:12]), fix=_FIX)
    df, ts, recv = _read(path, dict.fromkeys(header, str), raw, allow_null=set(header[4:]))
    n = df.height
    k = len(levels) // 2
    px = np.full((n, k), np.nan)
    sz = np.zeros((n, k))
    sd = np.zeros((n, k), np.int8)
    j = 0
    for m in levels:
        if m[3] != "price":
            continue
        name = f"{m[1]}[{m[2]}]"
        p = _floats(df, f"{name}.price", path)
        q = _floats(df, f"{name}.amount", path)
        px[:, j] = p
        sz[:, j] = q  # NaN where a listed level has no amount: validation names it
        sd[:, j] = BUY if m[1] == "bids" else SELL
        j += 1
    present = ~np.isnan(px)  # empty cells are absent levels; bad prices fail validation
    per_row = present.sum(axis=1) + 1
    out = np.zeros(int(per_row.sum()), dtype=DEPTH)
    first = np.concatenate([[0], np.cumsum(per_row)[:-1]])
    out["ts"] = np.repeat(ts, per_row)
    out["ts_recv"] = np.repeat(recv, per_row)
    out["price"][first] = np.nan
    out["flags"][first] = DEPTH_CLEAR | DEPTH_SNAPSHOT
    rows = np.flatnonzero(np.ones(len(out), bool) & ~np.isin(np.arange(len(out)), first))
    out["side"][rows] = sd[present]
    out["price"][rows] = px[present]
    out["size"][rows] = sz[present]
    out["flags"][rows] = DEPTH_SNAPSHOT
    out["flags"][first + per_row - 1] |= DEPTH_LAST
    ex, sym = _meta(df)
    return _validated(Ticks(kind="depth", symbol=sym, exchange=ex, data=out, source=str(path)),
                      np.repeat(np.arange(n) + 2, per_row))


def read_tardis(path: str | Path) -> Ticks:
    """Read any supported Tardis CSV, detecting the dataset from its header."""
    path = Path(path)
    header = [h.strip() for h in first_line(read_raw(path)).split(",")]
    if header == _LAYOUTS["trade"]:
        return read_tardis_trades(path)
    if header == _LAYOUTS["incremental_book_L2"]:
        return read_tardis_incremental_l2(path)
    if header == _LAYOUTS["quote"]:
        return read_tardis_quotes(path)
    if header[:4] == _HEAD and len(header) > 4 and _LEVEL.match(header[4]):
        return read_tardis_book_snapshot(path)
    raise DataError("unrecognised Tardis CSV header", file=str(path), row=1,
                    value=",".join(header[:8]), fix=_FIX)


def _detect(info, path: Path) -> bool:
    head = [h.lower() for h in (info.header or [])] if info else []
    return head[:4] == _HEAD


FORMATS = [{
    "name": "tardis",
    "reader": read_tardis,
    "kinds": ("trade", "quote", "depth"),
    "detect": _detect,
    "description": "Tardis.dev CSV: trades, quotes, incremental_book_L2, book_snapshot_25",
}]  # fmt: skip
"""Registration with :func:`data.readers.dispatch.formats` (``tape data import/validate``)."""
