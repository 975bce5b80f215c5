"""Walk-forward windows over a timeline of bar close times.

    ws = split(ts, train="504", test="126")                 # rolling: 504 bars in, 126 out
    ws = split(ts, train="2Y", test="6M", anchored=True)    # expanding train from the start

A length is a bar count (``252``) or a calendar span (``90D``, ``4W``, ``6M``, ``2Y``; months
and years are calendar months/years in UTC). Windows are half-open index ranges into ``ts``:
``train = [train_start, train_end)``, ``test = [test_start, test_end)`` with
``test_start == train_end``; consecutive test windows are adjacent and never overlap (each step
moves forward by one test window), so their out-of-sample returns can be stitched. The last test window may be shorter than ``test`` (it
ends with the data); a window whose test part would be empty is not produced.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd

from data.errors import ConfigError

_SPAN = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Window:
    index: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int

    def as_dict(self, ts: np.ndarray) -> dict:
        def t(i: int) -> str:
            return pd.Timestamp(int(ts[i]), tz="UTC").isoformat().replace("+00:00", "Z")

        return {"window": self.index, "train_start": t(self.train_start),
                "train_end": t(self.train_end - 1), "test_start": t(self.test_start),
                "test_end": t(self.test_end - 1), "train_bars": self.train_end - self.train_start,
                "test_bars": self.test_end - self.test_start}


def parse_length(text: str | int, argument: str) -> int | tuple[int, str]:
    """A bar count (int) or ``(n, unit)`` for a calendar span."""
    if isinstance(text, int) and not isinstance(text, bool):
        n = text
    else:
        s = str(text).strip()
        m = _SPAN.match(s)
        if m:
            n = int(m.group(1))
            if n < 1:
                raise ConfigError("a window length must be positive", argument=argument,
                                  value=text, fix="e.g. 252 (bars) or 1Y")
            return n, m.group(2).upper()
        try:
            n = int(s)
        except ValueError:
            raise ConfigError("a window length is a bar count or a span like 90D, 4W, 6M, 2Y",
                              argument=argument, value=text, fix="e.g. --train 2Y --test 6M"
                              ) from None
    if n < 1:
        raise ConfigError("a window length must be positive", argument=argument, value=text,
                          fix="e.g. 252 (bars) or 1Y")
    return n


def _offset(length: tuple[int, str]):
    n, unit = length
    return {"D": pd.Timedelta(days=n), "W": pd.Timedelta(weeks=n),
            "M": pd.DateOffset(months=n), "Y": pd.DateOffset(years=n)}[unit]


def _forward(ts: np.ndarray, start: int, length: int | tuple[int, str]) -> int:
    """Index just past ``length`` from ``start``: bars, or the first bar at or after the span."""
    if isinstance(length, int):
        return start + length
    t0 = pd.Timestamp(int(ts[start]), tz="UTC")
    return int(np.searchsorted(ts, (t0 + _offset(length)).value, side="left"))


def _backward(ts: np.ndarray, end: int, length: int | tuple[int, str]) -> int:
    """Start index of a window of ``length`` ending just before ``end``."""
    if isinstance(length, int):
        return max(0, end - length)
    t1 = pd.Timestamp(int(ts[end]), tz="UTC")
    return int(np.searchsorted(ts, (t1 - _offset(length)).value, side="left"))


def split(ts: np.ndarray, *, train: str | int, test: str | int,
          anchored: bool = False) -> list[Window]:
    """Walk-forward windows over the sorted timeline ``ts`` (int64 ns); see the module doc.
    Each step moves forward by one test window; rolling train windows keep their length and
    end where the test window starts; with ``anchored`` they start at the first bar
    (expanding windows)."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.ndim != 1 or ts.size < 2 or np.any(np.diff(ts) <= 0):
        raise ConfigError("the timeline must hold at least two increasing timestamps",
                          argument="data", value=int(ts.size), fix="give more data")
    tr = parse_length(train, "--train")
    te = parse_length(test, "--test")
    n = ts.size
    out: list[Window] = []
    test_start = _forward(ts, 0, tr)
    while test_start < n:
        test_end = min(n, max(test_start + 1, _forward(ts, test_start, te)))
        train_start = 0 if anchored else _backward(ts, test_start, tr)
        out.append(Window(len(out), train_start, test_start, test_start, test_end))
        test_start = test_end
    if not out:
        raise ConfigError("the data is shorter than one train window plus one test bar",
                          argument="--train", value=train, fix="use a shorter --train")
    return out
