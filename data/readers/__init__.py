"""Readers that turn files into canonical arrays (see data.schema).

* :func:`read_bars` — one OHLCV file -> :class:`Bars` (close-time stamps; many vendor layouts).
* :func:`read_wide_closes`, :func:`read_long_bars` — multi-symbol files -> :class:`BarPanel`.
* :func:`read_bidask_bars` — FXCM bid + ask bar files -> :class:`BidAskBars` (mid, spread, quotes).
* :func:`read_table` / :func:`iter_table` — any CSV/Parquet of any kind with a column mapping.
* Tick formats: :func:`read_lobster` (LOBSTER message/orderbook -> :class:`Lobster`),
  :func:`read_tardis` (Tardis.dev CSVs -> :class:`Ticks`), :func:`read_binance_stream` /
  :func:`sync_depth` / :func:`read_binance_ticks` (Binance USD-M captures),
  :func:`read_truefx` (TrueFX quotes -> :class:`Ticks`). They register themselves with
  :func:`data.readers.dispatch.formats` through their ``FORMATS`` lists.
"""

from data.readers._tickio import Ticks
from data.readers.bars import Bars, file_sha256, read_bars
from data.readers.binance import BinanceStream, read_binance_stream, read_binance_ticks, sync_depth
from data.readers.closes import close_times
from data.readers.lobster import (
    Lobster,
    read_lobster,
    read_lobster_messages,
    read_lobster_orderbook,
)
from data.readers.multi import (
    BarPanel,
    BidAskBars,
    panel_from_files,
    read_bidask_bars,
    read_long_bars,
    read_wide_closes,
)
from data.readers.table import iter_table, read_table, read_table_frame, read_table_rows
from data.readers.tardis import read_tardis
from data.readers.truefx import read_truefx

__all__ = [
    "BarPanel",
    "Bars",
    "BidAskBars",
    "BinanceStream",
    "Lobster",
    "Ticks",
    "close_times",
    "file_sha256",
    "iter_table",
    "panel_from_files",
    "read_bars",
    "read_bidask_bars",
    "read_binance_stream",
    "read_binance_ticks",
    "read_lobster",
    "read_lobster_messages",
    "read_lobster_orderbook",
    "read_long_bars",
    "read_table",
    "read_table_frame",
    "read_table_rows",
    "read_tardis",
    "read_truefx",
    "read_wide_closes",
    "sync_depth",
]
