"""Rebalance schedules: which bars of a time axis are decision bars."""

from __future__ import annotations

import numpy as np

from data.errors import ConfigError
from data.schema import NS_PER_DAY

RULES = ("daily", "weekly", "monthly")


def rebalance_mask(ts: np.ndarray, every: int | str, *, start: int = 0) -> np.ndarray:
    """Boolean mask over ``ts`` (int64 ns, sorted): True on decision bars.

    ``every`` is a number of bars (every N-th bar counted from index ``start``) or a calendar
    rule on the UTC date of the bar's close: ``daily`` (first bar of each date), ``weekly``
    (first bar of each Monday-based week), ``monthly`` (first bar of each month). Bars before
    ``start`` are never decision bars. The mask at t depends only on ``ts[:t+1]``.
    """
    ts = np.asarray(ts, dtype=np.int64)
    n = len(ts)
    mask = np.zeros(n, dtype=bool)
    if isinstance(every, str) and every.strip().isdigit():
        every = int(every)
    if isinstance(every, int | np.integer) and not isinstance(every, bool):
        if every < 1:
            raise ConfigError("rebalance interval must be >= 1 bar", argument="rebalance",
                              value=every, fix="use e.g. 5 or 'weekly'")  # fmt: skip
        mask[start::every] = True
        return mask
    if every not in RULES:
        raise ConfigError("unknown rebalance rule", argument="rebalance", value=every,
                          fix=f"use a number of bars or one of {', '.join(RULES)}")  # fmt: skip
    days = ts // NS_PER_DAY
    if every == "daily":
        key = days
    elif every == "weekly":
        key = (days + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Mondays
    else:
        key = ts.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    first = np.ones(n, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    mask[:] = first
    mask[:start] = False
    return mask


class Schedule:
    """Incremental form of :func:`rebalance_mask` for ``on_bar``: ``due(i, now_ns)`` must be
    called once per bar in order and returns the mask value of that bar."""

    def __init__(self, every: int | str, *, start: int = 0) -> None:
        rebalance_mask(np.zeros(1, np.int64), every)  # validate once, same errors
        if isinstance(every, str) and every.strip().isdigit():
            every = int(every)
        self.every = every
        self.start = start
        self._last_key: int | None = None

    def _key(self, now_ns: int) -> int:
        days = now_ns // NS_PER_DAY
        if self.every == "daily":
            return days
        if self.every == "weekly":
            return (days + 3) // 7
        return int(np.datetime64(now_ns, "ns").astype("datetime64[M]").astype(np.int64))

    def due(self, i: int, now_ns: int) -> bool:
        if isinstance(self.every, int):
            return i >= self.start and (i - self.start) % self.every == 0
        key = self._key(int(now_ns))
        first = key != self._last_key
        self._last_key = key
        return first and i >= self.start
