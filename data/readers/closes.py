"""Bar close times: the one rule every bar reader uses to stamp a bar at its close.

A bar is visible at its close (DESIGN.md, no look-ahead), so every reader that turns a file's
bar stamps into ``BAR.ts`` goes through :func:`close_rule` and :meth:`CloseRule.apply`:
:func:`data.readers.read_bars` (and the wide/long readers built on it), the generic
:func:`data.readers.read_table` / :func:`data.readers.iter_table` with ``kind="bar"``, and so
``tape data import`` (with or without ``--mapping``) and the catalog. The same date-only file
therefore gets the same stamps whichever entry point reads it.

The rule (prose in ``docs/data.md``, "Bar time stamps"):

* ``label="auto"``: stamps that are all midnight in the file's zone (date-only) -> ``"session"``;
  otherwise the reader's intraday default (``read_bars`` decides from the columns; the table
  reader takes the stamp as the close, ``"close"``).
* ``"session"``: the close is the stamp's date at ``session_close`` in ``tz`` (default 16:00
  America/New_York). Daily bars of a 24/7 market (weekend bars present, or a CryptoDataDownload
  file) close at the end of their UTC day instead (``session_close="24:00"``, ``tz="UTC"``),
  unless ``tz`` or ``session_close`` is given.
* ``"open"``: close = stamp + interval (median spacing unless given); ``"close"``: the stamp.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import DataError
from data.schema import NS_PER_DAY
from data.timeutil import localize, parse_clock, wall_clock_ns

LABELS = ("auto", "open", "close", "session")


@dataclasses.dataclass(frozen=True)
class CloseRule:
    """How one series' stamps become close times (from :func:`close_rule`)."""

    label: str  # "open" | "close" | "session" (never "auto")
    tz: str  # session: the zone of session_close; otherwise the zone of the file's stamps
    session_close: str
    stamp_tz: str  # zone the file's naive stamps were read in
    is_247: bool  # weekend bars present (or a 24/7 source): calendar "24/7"
    interval_ns: int  # bar length for label "open"
    auto: bool  # label was "auto" (decided from the stamps)

    def apply(self, stamps: np.ndarray) -> np.ndarray:
        """Close times (int64 ns UTC) of ``stamps`` (int64 ns UTC as read from the file)."""
        return close_times(stamps, self.label, interval_ns=self.interval_ns, tz=self.tz,
                           session_close=self.session_close, stamp_tz=self.stamp_tz)  # fmt: skip


def close_rule(
    stamps: np.ndarray,
    *,
    label: str = "auto",
    tz: str | None = None,
    session_close: str = "16:00",
    interval: str | int | None = None,
    intraday: str = "close",
    has_time: bool | None = None,
    always_247: bool = False,
) -> CloseRule:
    """Decide the close rule of a bar series from its file stamps (ns UTC, naive stamps read in
    ``tz`` or UTC). ``intraday`` is the label ``"auto"`` picks for stamps with a time of day;
    ``has_time`` overrides the date-only test (a reader that knows better: epoch columns);
    ``always_247`` marks a source known to trade every day."""
    if label not in LABELS:
        raise DataError(f"unknown label {label!r}", argument="label", value=label,
                        fix="use 'open', 'close', 'session' or 'auto'")  # fmt: skip
    stamp_tz = tz or "UTC"
    if has_time is None:
        has_time = has_clock_time(stamps, stamp_tz)
    is_247 = always_247 or trades_weekends(stamps)
    auto = label == "auto"
    if auto:
        label = intraday if has_time else "session"
    if label == "session" and is_247 and tz is None and session_close == "16:00":
        session_tz, session_close = "UTC", "24:00"
    else:
        session_tz = tz or "America/New_York"
    return CloseRule(
        label=label,
        tz=session_tz if label == "session" else stamp_tz,
        session_close=session_close,
        stamp_tz=stamp_tz,
        is_247=is_247,
        interval_ns=bar_interval(stamps, interval),
        auto=auto,
    )


def close_times(
    stamps: np.ndarray,
    label: str,
    *,
    interval_ns: int,
    tz: str = "America/New_York",
    session_close: str = "16:00",
    stamp_tz: str = "UTC",
) -> np.ndarray:
    """Bar close times (ns UTC) from file stamps under ``label`` ("open", "close", "session").

    For ``"session"`` the trading date is the stamp's calendar date in ``stamp_tz`` (the zone
    the file's naive dates were read in) and the close is ``session_close`` local time in ``tz``.
    """
    if label == "open":
        return stamps + interval_ns
    if label == "close":
        return stamps.copy()
    if label == "session":
        # a date-only stamp means the trading date; its close is session_close local time in tz
        days = wall_clock_ns(stamps, stamp_tz) // NS_PER_DAY
        return localize(days * NS_PER_DAY + parse_clock(session_close), tz)
    raise DataError(
        f"unknown label {label!r}",
        argument="label",
        value=label,
        fix="use 'open', 'close', 'session' or 'auto'",
    )


def check_close_times(stamps, close, label, lines, file, column) -> None:
    """Close times must rise where the stamps rise (a label that maps several bars of a day
    onto one session close, or intraday stamps read as dates, would merge bars) and must not
    run past int64. ``lines`` is the file line of each row (array) or of the first row."""
    if np.ndim(lines) == 0:
        lines = np.arange(len(stamps), dtype=np.int64) + int(lines or 1)
    over = np.flatnonzero(close < stamps) if label == "open" else np.empty(0, np.int64)
    if over.size:
        i = int(over[0])
        raise DataError("bar close time (stamp + interval) is beyond the year 2262", file=file,
                        row=int(lines[i]), column=column, value=int(stamps[i]),
                        fix="check the stamps (or pass interval=...)")  # fmt: skip
    dup = np.flatnonzero((np.diff(close) <= 0) & (np.diff(stamps) > 0)) + 1
    if dup.size:
        i = int(dup[0])
        raise DataError(
            f"label={label!r} gives several bars the same close time ({dup.size} bars)",
            file=file,
            row=int(lines[i]),
            column=column,
            value=int(close[i]),
            fix="intraday bars need label='open' or 'close'; 'session' is for one bar a day",
        )


def has_clock_time(stamps: np.ndarray, tz: str) -> bool:
    """Whether any stamp has a time of day in ``tz`` (False: date-only bars)."""
    return bool((wall_clock_ns(stamps, tz) % NS_PER_DAY != 0).any())


def trades_weekends(ts: np.ndarray) -> bool:
    """More than 10% of (at least 10) bars on Saturdays/Sundays: a 24/7 market."""
    if len(ts) < 10:
        return False
    days = (ts // NS_PER_DAY + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    return bool(np.mean(days >= 5) > 0.1)


def bar_interval(stamps: np.ndarray, interval: str | int | None) -> int:
    """``interval`` in ns, or the median spacing of the (sorted) stamps; one day for one bar."""
    if interval is not None:
        from data.timeutil import parse_duration

        return parse_duration(interval)
    if len(stamps) < 2:
        return NS_PER_DAY
    return int(np.median(np.diff(np.sort(stamps))))
