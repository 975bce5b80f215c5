"""LOBSTER message and orderbook files (NASDAQ TotalView-ITCH reconstructions).

File layout (see ``data/samples/lob/LOBSTER_SampleFiles_ReadMe.txt``):

* ``TICKER_YYYY-MM-DD_<start>_<end>_message_<L>.csv``: Time (seconds after midnight, exchange
  local time America/New_York, up to 9 decimals), Type (1 submit, 2 partial cancel, 3 delete,
  4 visible execution, 5 hidden execution, 6 cross trade, 7 halt), Order ID, Size, Price
  (dollars x 10000), Direction (1 buy / -1 sell limit order).
* ``..._orderbook_<L>.csv``: row i is the book after message i: AskPrice1, AskSize1, BidPrice1,
  BidSize1, AskPrice2, ...; empty levels carry the dummy prices 9999999999 (ask) and
  -9999999999 (bid) with size 0.

Variants seen in the wild and accepted here: gzip, a header row, CRLF line endings, no final
newline, times rounded to fewer decimals.

:func:`read_lobster_messages` returns the canonical ``MBO`` array (``ts == ts_recv``: LOBSTER
has a single clock). Halts (type 7) keep LOBSTER's code in ``price`` (-1 halt, 0 quoting,
1 resume) with side 0. :func:`read_lobster_orderbook` returns the raw int64 matrix in LOBSTER
units (the book checks compare integers exactly).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
from pathlib import Path

import numpy as np

from data.errors import DataError
from data.readers._tickio import Ticks, has_text_header, parse_csv, read_raw, require_order
from data.schema import BUY, MBO, MBO_HALT, NS_PER_DAY, SELL
from data.timeutil import day_offset_to_ns, decimal_strings_to_int
from data.validate import require_rows, validate_array

PRICE_SCALE = 10_000  # LOBSTER prices are dollars x 10000
DUMMY_ASK = 9_999_999_999
DUMMY_BID = -9_999_999_999
LOBSTER_TZ = "America/New_York"

_NAME = re.compile(
    r"^(?P<symbol>[A-Za-z0-9.\-]+?)_(?P<date>\d{4}-\d{2}-\d{2})_(?:.*_)?"
    r"(?P<kind>message|orderbook)_(?P<level>\d+)(?:_[A-Za-z0-9]+)?\.csv(?:\.gz)?$"
)
_MSG_COLS = {"time": str, "type": int, "order_id": int, "size": int, "price": int,
             "direction": int}
_MSG_FIX = ("LOBSTER message rows are Time,Type,OrderID,Size,Price,Direction "
            "(e.g. 34200.015105074,1,15818974,100,5794000,1)")
_OB_FIX = "LOBSTER orderbook rows are AskPrice1,AskSize1,BidPrice1,BidSize1,... as integers"


@dataclasses.dataclass(frozen=True)
class LobsterName:
    """What a LOBSTER file name says: symbol, date, kind (message/orderbook) and level."""

    symbol: str
    date: _dt.date
    kind: str
    level: int


def parse_lobster_name(path: str | Path) -> LobsterName | None:
    """Parse ``TICKER_YYYY-MM-DD_..._message_L.csv[.gz]``; None when the name does not fit."""
    m = _NAME.match(Path(path).name)
    if not m:
        return None
    try:
        date = _dt.date.fromisoformat(m["date"])
    except ValueError:
        return None
    return LobsterName(m["symbol"], date, m["kind"], int(m["level"]))


@dataclasses.dataclass(frozen=True, kw_only=True)
class Lobster:
    """A LOBSTER message file (and optionally its orderbook file) in canonical form."""

    symbol: str
    date: _dt.date
    messages: np.ndarray  # data.schema.MBO
    price_int: np.ndarray  # int64 message prices in LOBSTER units (dollars x 10000)
    orderbook: np.ndarray | None  # int64 (n, 4 * levels), LOBSTER units, or None
    levels: int | None
    message_file: str
    orderbook_file: str | None = None

    def __len__(self) -> int:
        return len(self.messages)


def _resolve_date(path: Path, date) -> tuple[_dt.date, str]:
    name = parse_lobster_name(path)
    if date is not None:
        if isinstance(date, str):
            try:
                date = _dt.date.fromisoformat(date)
            except ValueError:
                raise DataError("cannot parse date", argument="date", value=date,
                                fix="pass the trading date as YYYY-MM-DD") from None
        elif isinstance(date, _dt.datetime):
            date = date.date()
        return date, (name.symbol if name else path.name.split("_")[0])
    if name is None:
        raise DataError(
            "cannot read the trading date from the file name",
            file=str(path),
            argument="date",
            fix="pass date='YYYY-MM-DD' or keep LOBSTER's TICKER_YYYY-MM-DD_..._message_L.csv name",
        )
    return name.date, name.symbol


def read_lobster_messages(
    path: str | Path, *, date: _dt.date | str | None = None, tz: str = LOBSTER_TZ
) -> tuple[np.ndarray, np.ndarray]:
    """Read a LOBSTER message file -> (MBO array, int64 prices in LOBSTER units).

    ``date`` defaults to the date in the file name; ``tz`` is the exchange time zone the
    seconds-after-midnight refer to (America/New_York for NASDAQ).
    """
    path = Path(path)
    day, _ = _resolve_date(path, date)
    raw = read_raw(path)
    header = has_text_header(raw)
    df = parse_csv(raw, path, _MSG_COLS, header=header, fix=_MSG_FIX)
    off = 1 + int(header)  # file line of row 0
    text = df["time"].to_numpy()
    secs = decimal_strings_to_int(df["time"], 9)  # exact: no float rounding of the ns digits
    typ = df["type"].to_numpy()
    oid = df["order_id"].to_numpy()
    size = df["size"].to_numpy()
    price = df["price"].to_numpy()
    direction = df["direction"].to_numpy()

    def check(mask, column, values, message):
        require_rows(mask, message=message, column=column, values=values, fix=_MSG_FIX,
                     file=str(path), first_line=off)

    secs_ns = secs.fill_null(-1).to_numpy()
    check((secs_ns < 0) | (secs_ns >= 2 * NS_PER_DAY), "time", text,
          "time is not seconds after midnight")
    check((typ < 1) | (typ > 7), "type", typ, "event type must be 1..7")
    check((direction != 1) & (direction != -1), "direction", direction,
          "direction must be 1 (buy) or -1 (sell)")
    book_event = typ <= 4
    check(book_event & (price <= 0), "price", price, "non-positive price on a book event")
    check(book_event & (size == 0), "size", size, "zero size on a book event")
    require_order(secs_ns, path, column="time", first_line=off, shown=text,
                  fix="LOBSTER message files are in time order; do not sort or edit them")
    try:
        ts = day_offset_to_ns(secs_ns, day, tz)
    except DataError as exc:  # a wall-clock time that does not exist on a DST day
        raise DataError(exc.message, file=str(path), column="time", argument="tz", value=tz,
                        fix=exc.fix) from None
    out = np.empty(len(df), dtype=MBO)
    out["ts"] = ts
    out["ts_recv"] = ts
    out["event"] = typ
    out["order_id"] = oid
    out["side"] = np.where(direction == 1, BUY, SELL)
    out["side"][typ == MBO_HALT] = 0
    out["price"] = np.where(typ == MBO_HALT, price, price / PRICE_SCALE)
    out["size"] = size
    validate_array(out, "mbo", file=str(path), first_line=off, stacklevel=3)
    return out, price.astype(np.int64)


def read_lobster_orderbook(path: str | Path, *, levels: int | None = None) -> np.ndarray:
    """Read a LOBSTER orderbook file -> int64 (n, 4 * levels) in LOBSTER units.

    ``levels`` defaults to the number of columns / 4; when given it must not exceed it
    (the first ``levels`` levels are returned).
    """
    path = Path(path)
    raw = read_raw(path)
    header = has_text_header(raw)
    lines = raw.splitlines()[int(header):]
    if not lines:
        raise DataError("file has no data rows", file=str(path), fix=_OB_FIX)
    ncol = len(lines[0].split(b","))
    if ncol % 4:
        raise DataError(
            f"orderbook rows must have 4 columns per level, found {ncol}",
            file=str(path), row=1 + int(header), fix=_OB_FIX,
        )
    file_levels = ncol // 4
    names = {}
    for k in range(1, file_levels + 1):
        for part in ("ask_price", "ask_size", "bid_price", "bid_size"):
            names[f"{part}_{k}"] = int
    df = parse_csv(raw, path, names, header=header, fix=_OB_FIX)
    book = df.to_numpy().astype(np.int64, copy=False)
    off = 1 + int(header)
    if levels is not None:
        if not 1 <= levels <= file_levels:
            raise DataError(
                f"levels={levels} but the file has {file_levels} level(s)",
                file=str(path), argument="levels", value=levels,
                fix=f"use a value between 1 and {file_levels}",
            )
        book = np.ascontiguousarray(book[:, : 4 * levels])
    ask_px, ask_sz = book[:, 0::4], book[:, 1::4]
    bid_px, bid_sz = book[:, 2::4], book[:, 3::4]
    for px, sz, dummy, nm in ((ask_px, ask_sz, DUMMY_ASK, "ask"), (bid_px, bid_sz, DUMMY_BID, "bid")):
        bad = ((px <= 0) & (px != dummy)) | (sz < 0) | ((px == dummy) & (sz != 0))
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise DataError(
                f"bad {nm} level {c + 1} (non-positive price, negative size, or dummy price "
                "with non-zero size)",
                file=str(path), row=int(r) + off, column=f"{nm}_price_{c + 1}",
                value=[int(px[r, c]), int(sz[r, c])], fix=_OB_FIX,
            )
    return book


def read_lobster(
    message_file: str | Path,
    orderbook_file: str | Path | None = None,
    *,
    date: _dt.date | str | None = None,
    levels: int | None = None,
    tz: str = LOBSTER_TZ,
) -> Lobster:
    """Read a LOBSTER message file and, if given, its orderbook file (same row count)."""
    message_file = Path(message_file)
    day, symbol = _resolve_date(message_file, date)
    messages, price_int = read_lobster_messages(message_file, date=day, tz=tz)
    book = None
    if orderbook_file is not None:
        book = read_lobster_orderbook(orderbook_file, levels=levels)
        if len(book) != len(messages):
            raise DataError(
                f"orderbook has {len(book)} rows but the message file has {len(messages)}",
                file=str(orderbook_file),
                fix="pass the orderbook file that belongs to this message file (same rows)",
            )
        levels = book.shape[1] // 4
    elif levels is None:
        name = parse_lobster_name(message_file)
        levels = name.level if name else None
    return Lobster(
        symbol=symbol,
        date=day,
        messages=messages,
        price_int=price_int,
        orderbook=book,
        levels=levels,
        message_file=str(message_file),
        orderbook_file=None if orderbook_file is None else str(orderbook_file),
    )


def _ticks(path: str | Path, *, tz: str = LOBSTER_TZ) -> Ticks:
    """The message file as a :class:`Ticks` of MBO events (what ``tape data import`` stores)."""
    lob = read_lobster(path, tz=tz)
    return Ticks(kind="mbo", symbol=lob.symbol, exchange="nasdaq", data=lob.messages,
                 source=str(path))


def _detect(info, path: Path) -> bool:
    name = parse_lobster_name(path)
    return name is not None and name.kind == "message"


FORMATS = [{
    "name": "lobster",
    "reader": _ticks,
    "kinds": ("mbo",),
    "detect": _detect,
    "description": "LOBSTER message file (+ its orderbook file beside it)",
}]  # fmt: skip
"""Registration with :func:`data.readers.dispatch.formats` (``tape data import/validate``)."""
