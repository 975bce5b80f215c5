"""Readers that turn files into canonical arrays (see data.schema).

* :func:`read_bars` — one OHLCV file -> :class:`Bars` (close-time stamps; many vendor layouts).
* :func:`read_wide_closes`, :func:`read_long_bars` — multi-symbol files -> :class:`BarPanel`.
* :func:`read_bidask_bars` — FXCM bid + ask bar files -> :class:`BidAskBars` (mid, spread, quotes).
* :func:`read_table` / :func:`iter_table` — any CSV/Parquet of any kind with a column mapping.
"""

from data.readers.bars import Bars, close_times, file_sha256, read_bars
from data.readers.multi import (
    BarPanel,
    BidAskBars,
    panel_from_files,
    read_bidask_bars,
    read_long_bars,
    read_wide_closes,
)
from data.readers.table import iter_table, read_table, read_table_frame, read_table_rows

__all__ = [
    "BarPanel",
    "Bars",
    "BidAskBars",
    "close_times",
    "file_sha256",
    "iter_table",
    "panel_from_files",
    "read_bars",
    "read_bidask_bars",
    "read_long_bars",
    "read_table",
    "read_table_frame",
    "read_table_rows",
    "read_wide_closes",
]
