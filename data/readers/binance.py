"""Raw Binance USD-M futures stream captures: ``<local receive ns> <json>`` per line.

Lines hold either a REST depth snapshot (``{"lastUpdateId", "E", "T", "bids", "asks"}``) or a
websocket message, combined-stream (``{"stream": ..., "data": {...}}``) or raw (``{"e": ...}``):
``depthUpdate`` diffs (``U`` first / ``u`` final / ``pu`` previous final update id, ``b`` /
``a`` levels whose quantity is the new total, 0 = remove), ``bookTicker`` (best bid/ask with
update id ``u``), ``trade`` and ``aggTrade`` (``m`` true = the buyer is the maker, so the
aggressor sold). Every kind keeps both clocks: ``ts`` is the exchange time (``T`` transaction
time when present, else ``E`` event time), ``ts_recv`` the capture's local receive time.

:func:`read_binance_stream` parses one or several consecutive files into a
:class:`BinanceStream` and reports sequence gaps (depth ``pu`` chain, trade / aggTrade ids).
Fields are parsed strictly (prices and quantities are Binance's decimal strings, times and ids
integers that fit int64 ns) and every stream is checked with :mod:`data.validate`; a malformed
message or value is a DataError naming the line (counted across the files in order).
:func:`sync_depth` turns snapshots + diffs into a canonical DEPTH stream following Binance's
documented procedure for USD-M futures (see docs/order_book.md):

1. buffer diffs until a snapshot arrives; drop diffs with ``u < lastUpdateId``;
2. the first diff applied must straddle the snapshot: ``U <= lastUpdateId <= u``;
3. every next diff must chain: ``pu == previous u``. A break is a gap: the book is reset
   (a DEPTH row flagged CLEAR on both sides without SNAPSHOT: invalid) and diffs are buffered
   again until a later snapshot re-initialises it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from data.errors import DataError
from data.readers._tickio import Ticks, read_raw
from data.schema import (
    BUY,
    DEPTH,
    DEPTH_CLEAR,
    DEPTH_LAST,
    DEPTH_SNAPSHOT,
    QUOTE,
    SELL,
    TRADE,
)

DIFF = np.dtype([
    ("ts", "<i8"), ("ts_recv", "<i8"), ("first_id", "<i8"), ("last_id", "<i8"),
    ("prev_id", "<i8"), ("start", "<i8"), ("stop", "<i8"), ("line", "<i8"),
])
"""One depth diff message: exchange/receive time, U / u / pu, its rows in ``depth``, file line."""

GAP = np.dtype([("stream", "U12"), ("line", "<i8"), ("expected", "<i8"), ("got", "<i8")])
"""A sequence break: expected id (previous u, or previous trade id + 1) vs the one seen."""

_FIX = "each line must be '<receive ns> <json message>' as written by a Binance stream capture"
NS_PER_MS = 1_000_000
_MAX_MS = (2**63 - 1) // NS_PER_MS  # exchange times beyond this overflow int64 ns (year 2262)


def _ms(value) -> int:
    """Exchange time in ms -> int ns (ValueError when it is not a time int64 ns can hold)."""
    ms = int(value)
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"time {value!r} is not milliseconds since the epoch (1970-2262)")
    return ms * NS_PER_MS


def _id(value) -> int:
    """An update / trade id (``pu`` may be -1) as an int (ValueError when out of range)."""
    x = int(value)
    if not -1 <= x < 2**62:
        raise ValueError(f"id {value!r} is not an update / trade id (0 <= id < 2**62)")
    return x


def _price_text(value) -> str:
    """Prices and quantities are JSON strings in Binance messages (exact decimals)."""
    if not isinstance(value, str):
        raise TypeError(f"expected a decimal string, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class DepthSnapshot:
    """A REST depth snapshot (rows flagged DEPTH_SNAPSHOT; first row clears both sides)."""

    last_update_id: int
    ts: int
    ts_recv: int
    line: int
    depth: np.ndarray  # DEPTH


@dataclasses.dataclass(frozen=True, kw_only=True)
class BinanceStream:
    """Everything in a capture, per kind, in file order."""

    symbol: str
    depth: np.ndarray  # DEPTH rows of every diff (DEPTH_LAST on each message's last row)
    diffs: np.ndarray  # DIFF, one per depthUpdate message
    snapshots: list[DepthSnapshot]
    quotes: np.ndarray  # QUOTE from bookTicker
    quote_update_id: np.ndarray  # int64 bookTicker u
    quote_line: np.ndarray  # int64 file line (global order across files)
    trades: np.ndarray  # TRADE from @trade
    trade_id: np.ndarray
    agg_trades: np.ndarray  # TRADE from @aggTrade
    agg_trade_id: np.ndarray
    gaps: np.ndarray  # GAP
    price_decimals: int  # most decimals seen in prices (tick size hint 10**-decimals)
    other: dict[str, int]  # counts of messages of other kinds (skipped)
    sources: tuple[str, ...]

    @property
    def tick_size_hint(self) -> float:
        return 10.0 ** (-self.price_decimals)


def _decimals(text: str) -> int:
    dot = text.find(".")
    return 0 if dot < 0 else len(text) - dot - 1


class _Builder:
    def __init__(self) -> None:
        self.d_ts, self.d_recv, self.d_side, self.d_px, self.d_q, self.d_flags = ([] for _ in range(6))
        self.diffs: list[tuple] = []
        self.snaps: list[DepthSnapshot] = []
        self.quotes: list[tuple] = []
        self.trades: list[tuple] = []
        self.aggs: list[tuple] = []
        self.other: dict[str, int] = {}
        self.decimals = 0
        self.symbols: set[str] = set()

    def levels(self, ts, recv, side, levels, flags):
        for px, q in levels:
            px = _price_text(px)
            self.d_ts.append(ts)
            self.d_recv.append(recv)
            self.d_side.append(side)
            self.d_px.append(float(px))
            self.d_q.append(float(_price_text(q)))
            self.d_flags.append(flags)
            if _decimals(px) > self.decimals:
                self.decimals = _decimals(px)

    def depth_update(self, d, recv, line):
        ts = _ms(d.get("T", d["E"]))
        first, last, prev = _id(d["U"]), _id(d["u"]), _id(d.get("pu", -1))
        start = len(self.d_ts)
        self.levels(ts, recv, BUY, d["b"], 0)
        self.levels(ts, recv, SELL, d["a"], 0)
        if len(self.d_ts) > start:
            self.d_flags[-1] = DEPTH_LAST
        self.diffs.append((ts, recv, first, last, prev, start, len(self.d_ts), line))

    def snapshot(self, d, recv, line):
        ts = _ms(d.get("T", d.get("E", 0)))
        lid = _id(d["lastUpdateId"])
        rows = [(ts, recv, 0, np.nan, 0.0, DEPTH_CLEAR | DEPTH_SNAPSHOT)]
        for side, key in ((BUY, "bids"), (SELL, "asks")):
            for px, q in d[key]:
                px = _price_text(px)
                rows.append((ts, recv, side, float(px), float(_price_text(q)), DEPTH_SNAPSHOT))
                if _decimals(px) > self.decimals:
                    self.decimals = _decimals(px)
        arr = np.array(rows, dtype=DEPTH)
        arr["flags"][-1] |= DEPTH_LAST
        self.snaps.append(DepthSnapshot(lid, ts, recv, line, arr))


def _parse_line(b: _Builder, text: str, recv: int, line: int, path) -> None:
    try:
        msg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", file=str(path), row=line,
                        value=text[:120], fix=_FIX) from None
    if not isinstance(msg, dict):
        raise DataError("JSON message is not an object", file=str(path), row=line,
                        value=text[:120], fix=_FIX)
    d = msg.get("data", msg)
    kind = d.get("e") if isinstance(d, dict) else None
    try:
        if "lastUpdateId" in msg and "bids" in msg:
            kind = "depth snapshot"
            b.snapshot(msg, recv, line)
            return
        if "s" in d:
            if not isinstance(d["s"], str):
                raise TypeError(f"symbol 's' must be a string, got {d['s']!r}")
            b.symbols.add(d["s"])
        if kind == "depthUpdate":
            b.depth_update(d, recv, line)
        elif kind == "bookTicker" or (kind is None and "b" in d and "B" in d and "u" in d):
            ts = _ms(d.get("T", d.get("E", 0)))
            b.quotes.append((ts, recv, *(float(_price_text(d[k])) for k in ("b", "a", "B", "A")),
                             _id(d["u"]), line))
        elif kind in ("trade", "aggTrade"):
            ts = _ms(d.get("T", d["E"]))
            if not isinstance(d["m"], bool):
                raise TypeError(f"'m' (buyer is maker) must be true or false, got {d['m']!r}")
            side = SELL if d["m"] else BUY
            tid = _id(d["t"] if kind == "trade" else d["a"])
            row = (ts, recv, float(_price_text(d["p"])), float(_price_text(d["q"])), side, tid,
                   line)
            (b.trades if kind == "trade" else b.aggs).append(row)
        else:
            name = str(kind or msg.get("stream") or "unknown")
            b.other[name] = b.other.get(name, 0) + 1
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise DataError(f"malformed {kind} message ({type(exc).__name__}: {exc})",
                        file=str(path), row=line, value=text[:120],
                        fix="check the capture; fields follow Binance's USD-M stream docs") from None


def read_binance_stream(paths: str | Path | list[str | Path]) -> BinanceStream:
    """Parse one capture file, or several consecutive ones (in order), into a BinanceStream."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not paths:
        raise DataError("no file given", argument="paths", fix="pass at least one capture file")
    b = _Builder()
    line_base = 0
    last_recv = None
    for path in paths:
        raw = read_raw(path).decode("utf-8", errors="replace")
        lines = raw.splitlines()
        for n, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            head, sep, body = text.partition(" ")
            try:
                recv = int(head)
                if not 0 < recv < 2**63:
                    raise ValueError(head)
            except ValueError:
                raise DataError("line does not start with a receive time in ns", file=str(path),
                                row=n, value=text[:80], fix=_FIX) from None
            if not sep or not body.strip():
                raise DataError("line has no JSON message after the receive time",
                                file=str(path), row=n, value=text[:80], fix=_FIX)
            if last_recv is not None and recv < last_recv:
                raise DataError("receive time goes back in time", file=str(path), row=n,
                                value=recv, fix="pass capture files in the order they were written")
            last_recv = recv
            _parse_line(b, body, recv, line_base + n, path)
        line_base += len(lines)
    return _finish(b, tuple(str(p) for p in paths))


def _finish(b: _Builder, sources: tuple[str, ...]) -> BinanceStream:
    depth = np.empty(len(b.d_ts), dtype=DEPTH)
    depth["ts"], depth["ts_recv"], depth["side"] = b.d_ts, b.d_recv, b.d_side
    depth["price"], depth["size"], depth["flags"] = b.d_px, b.d_q, b.d_flags
    diffs = np.array(b.diffs, dtype=DIFF) if b.diffs else np.zeros(0, DIFF)
    q = np.array(b.quotes, dtype=object).reshape(-1, 8) if b.quotes else np.zeros((0, 8))
    quotes = np.empty(len(q), dtype=QUOTE)
    for j, name in enumerate(QUOTE.names):
        quotes[name] = q[:, j].astype(QUOTE[name])
    trades, trade_id, trade_line = _trades(b.trades)
    aggs, agg_id, agg_line = _trades(b.aggs)
    gaps = []
    for i in range(1, len(diffs)):
        if diffs["prev_id"][i] != diffs["last_id"][i - 1]:
            gaps.append(("depth", diffs["line"][i], diffs["last_id"][i - 1], diffs["prev_id"][i]))
    for name, ids, lines in (("trade", trade_id, trade_line), ("aggTrade", agg_id, agg_line)):
        for i in np.flatnonzero(np.diff(ids) != 1):
            gaps.append((name, lines[i + 1], ids[i] + 1, ids[i + 1]))
    _validate(sources, depth, diffs, b.snaps, quotes, q[:, 7].astype(np.int64),
              (trades, trade_line), (aggs, agg_line))
    return BinanceStream(
        symbol=",".join(sorted(b.symbols)) or "?",
        depth=depth, diffs=diffs, snapshots=b.snaps, quotes=quotes,
        quote_update_id=q[:, 6].astype(np.int64), quote_line=q[:, 7].astype(np.int64),
        trades=trades, trade_id=trade_id, agg_trades=aggs, agg_trade_id=agg_id,
        gaps=np.array(gaps, dtype=GAP), price_decimals=b.decimals, other=b.other,
        sources=sources,
    )


def _validate(sources, depth, diffs, snaps, quotes, quote_line, *trade_sets) -> None:
    """The canonical checks of every kind (prices > 0, sizes >= 0 and finite, bid <= ask...);
    rows are named by their line (counted across the files in order). Time order is the
    capture's receive order, checked while reading, so exchange stamps are not checked here."""
    import warnings

    from data.validate import check_array

    file = ", ".join(sources)
    lines = np.repeat(diffs["line"], diffs["stop"] - diffs["start"])
    checks = [(depth, "depth", lines), (quotes, "quote", quote_line)]
    checks += [(s.depth, "depth", np.full(len(s.depth), s.line)) for s in snaps]
    checks += [(arr, "trade", line) for arr, line in trade_sets]
    noted: dict[str, list] = {}  # one warning per kind of oddity, however many streams show it
    for arr, kind, first_line in checks:
        if len(arr):
            report = check_array(arr, kind, file=file, first_line=first_line, order=False)
            report.raise_first()
            for issue in report.warnings:
                noted.setdefault(issue.code, []).append((kind, issue))
    for found in noted.values():
        first = min((i for _, i in found), key=lambda i: i.row)
        kinds = ", ".join(sorted({k for k, _ in found}))
        count = sum(i.count for _, i in found)
        warnings.warn(f"file {file}, row {first.row}: {first.message} ({count} {kinds} rows). "
                      f"Fix: {first.fix}", UserWarning, stacklevel=4)


def _trades(rows):
    out = np.empty(len(rows), dtype=TRADE)
    if not rows:
        return out, np.zeros(0, np.int64), np.zeros(0, np.int64)
    a = np.array(rows, dtype=object)
    for j, name in enumerate(TRADE.names):
        out[name] = a[:, j].astype(TRADE[name])
    return out, a[:, 5].astype(np.int64), a[:, 6].astype(np.int64)


# --- synchronisation: snapshot + diffs -> canonical DEPTH ----------------------------------
APPLIED, STALE, WAITING, STRADDLE_MISS, GAP_BREAK = 0, 1, 2, 3, 4
DIFF_STATUS = {APPLIED: "applied", STALE: "dropped (u < lastUpdateId)",
               WAITING: "no valid book (waiting for a snapshot)",
               STRADDLE_MISS: "snapshot too old (first diff U > lastUpdateId)",
               GAP_BREAK: "gap (pu != previous u)"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class SyncedDepth:
    """Canonical DEPTH stream of a synchronised book, with how each diff was handled."""

    depth: np.ndarray  # DEPTH: snapshots, applied diffs, reset rows (arrival order)
    diff_status: np.ndarray  # int8 per diff: APPLIED, STALE, WAITING, STRADDLE_MISS, GAP_BREAK
    diff_end_row: np.ndarray  # int64 per diff: depth row after which it is applied (-1: not)
    snapshots_used: list[int]  # indices into stream.snapshots
    resets: list[int]  # file lines of diffs where the book was reset (gaps)

    def summary(self) -> dict[str, int]:
        return {DIFF_STATUS[k]: int(np.count_nonzero(self.diff_status == k)) for k in DIFF_STATUS}


def sync_depth(stream: BinanceStream) -> SyncedDepth:
    """Apply Binance's USD-M book procedure; see the module docstring."""
    diffs, depth = stream.diffs, stream.depth
    nd = len(diffs)
    status = np.full(nd, WAITING, np.int8)
    end_row = np.full(nd, -1, np.int64)
    pieces: list[np.ndarray] = []
    n_rows = 0
    used: list[int] = []
    resets: list[int] = []
    items = [(int(d["line"]), 1, j) for j, d in enumerate(diffs)]
    items += [(s.line, 0, k) for k, s in enumerate(stream.snapshots)]
    items.sort()
    state = "wait"  # wait -> first -> synced
    lid = -1
    prev_u = -1
    buffer: list[int] = []

    def emit(rows: np.ndarray, recv: int) -> None:
        nonlocal n_rows
        if len(rows):
            rows = rows.copy()
            rows["ts_recv"] = np.maximum(rows["ts_recv"], recv)
            pieces.append(rows)
            n_rows += len(rows)

    def reset(j: int) -> None:
        nonlocal state
        r = np.zeros(1, DEPTH)
        r["ts"], r["ts_recv"] = diffs["ts"][j], diffs["ts_recv"][j]
        r["price"], r["flags"] = np.nan, DEPTH_CLEAR | DEPTH_LAST
        emit(r, 0)
        resets.append(int(diffs["line"][j]))
        state = "wait"

    def process(j: int, recv: int) -> None:
        nonlocal state, prev_u
        d = diffs[j]
        if state == "wait":
            buffer.append(j)
            return
        if state == "first":
            if d["last_id"] < lid:
                status[j] = STALE
                return
            if not d["first_id"] <= lid:
                status[j] = STRADDLE_MISS
                reset(j)
                buffer.append(j)
                return
            state = "synced"
        elif d["prev_id"] != prev_u:
            status[j] = GAP_BREAK
            reset(j)
            buffer.append(j)
            return
        emit(depth[d["start"] : d["stop"]], recv)
        status[j] = APPLIED
        end_row[j] = n_rows - 1
        prev_u = int(d["last_id"])

    for _line, kind, idx in items:
        if kind == 1:
            process(idx, 0)
            continue
        snap = stream.snapshots[idx]
        if state == "synced":
            continue  # already in sync: the snapshot is not needed
        lid = snap.last_update_id
        used.append(idx)
        emit(snap.depth, 0)
        state = "first"
        pending, buffer[:] = list(buffer), []
        for j in pending:
            status[j] = WAITING
            process(j, snap.ts_recv)
    out = np.concatenate(pieces) if pieces else np.zeros(0, DEPTH)
    return SyncedDepth(depth=out, diff_status=status, diff_end_row=end_row,
                       snapshots_used=used, resets=resets)


def read_binance_ticks(paths: str | Path | list[str | Path]) -> list[Ticks]:
    """A capture as canonical series: ``depth`` (the synchronised book stream of
    :func:`sync_depth`), ``quote`` (bookTicker) and ``trade`` — those that have rows."""
    stream = read_binance_stream(paths)
    series = {"depth": sync_depth(stream).depth, "quote": stream.quotes, "trade": stream.trades}
    return [Ticks(kind=k, symbol=stream.symbol, exchange="binance-usdm", data=v,
                  source=", ".join(stream.sources)) for k, v in series.items() if len(v)]


def _detect(info, path: Path) -> bool:
    import re

    from data.readers.sniff import open_bytes

    head = open_bytes(path, 64).decode("utf-8", errors="replace")
    return re.match(r"^\d{16,20} \{", head) is not None


FORMATS = [{
    "name": "binance",
    "reader": read_binance_ticks,
    "kinds": ("depth", "quote", "trade"),
    "detect": _detect,
    "description": "Binance USD-M capture: '<recv ns> <json>' lines",
}]  # fmt: skip
"""Registration with :func:`data.readers.dispatch.formats` (``tape data import/validate``)."""
