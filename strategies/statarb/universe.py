"""Load a universe of bar files into aligned close matrices (for the screen and the basket)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import ConfigError
from data.timeutil import to_ns


def load_bars(sources: Sequence[str | Path], symbols: Sequence[str] | None = None,
              **reader_options) -> dict[str, np.ndarray]:  # fmt: skip
    """``{symbol: BAR array}`` from one or more files (single-symbol, wide or long layouts),
    read with :func:`data.readers.dispatch.load_source`; ``symbols`` selects and orders them."""
    from data.readers.dispatch import load_source

    bars: dict[str, np.ndarray] = {}
    for src in sources:
        for ds in load_source(src, kind="bar", **reader_options):
            if ds.symbol in bars:
                raise ConfigError("symbol appears in two sources", argument="sources",
                                  value=ds.symbol, fix="pass each symbol once")  # fmt: skip
            bars[ds.symbol] = ds.data
    if symbols:
        missing = [s for s in symbols if s not in bars]
        if missing:
            raise ConfigError("symbol not found in the sources", argument="symbols",
                              value=missing[0], fix=f"use some of {', '.join(list(bars)[:30])}")  # fmt: skip
        bars = {s: bars[s] for s in symbols}
    return bars


def close_frame(bars: Mapping[str, np.ndarray], field: str = "close") -> pd.DataFrame:
    """Closes of every symbol on the union of close times (index int64 ns; NaN where a symbol
    has no bar at that time), columns in the mapping's order."""
    ts = np.unique(np.concatenate([b["ts"] for b in bars.values()])) if bars else np.empty(0, "i8")
    out = np.full((len(ts), len(bars)), np.nan)
    for j, b in enumerate(bars.values()):
        out[np.searchsorted(ts, b["ts"]), j] = b[field]
    return pd.DataFrame(out, index=pd.Index(ts, name="ts"), columns=list(bars))


def between(frame: pd.DataFrame, start=None, end=None) -> pd.DataFrame:
    """Rows with ``start <= ts <= end`` (dates/ISO strings in UTC, or int ns; None = open)."""
    ts = frame.index.to_numpy()
    keep = np.ones(len(ts), dtype=bool)
    if start is not None:
        keep &= ts >= to_ns(start)
    if end is not None:
        # a bare date includes that whole day
        e = to_ns(end)
        if isinstance(end, str) and len(end.strip()) == 10:
            e += 86_400 * 1_000_000_000 - 1
        keep &= ts <= e
    return frame.loc[keep]
