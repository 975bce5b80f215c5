"""Resampling and multiple timeframes, with close-time stamps and no look-ahead.

Ticks to bars:

* :func:`time_bars` — trades (or quote mids) into fixed-interval bars. A bin is
  ``[start, start + interval)``; the bar's ``ts`` is the bin end (its close time), so a trade at
  exactly 10:00:00 belongs to the bar closing at 10:01 (for 1-minute bars) and every bar becomes
  visible only after its last trade. Bins are aligned to the epoch plus ``offset`` (1-hour bins
  for a 09:30 session: ``offset="30min"``). Bins without trades give no bar.
* :func:`tick_bars`, :func:`volume_bars`, :func:`dollar_bars` — a bar closes on the trade that
  brings its count / size / notional to the threshold (trades are not split across bars); its
  ``ts`` is that trade's time. The final bar that never reached the threshold is dropped unless
  ``keep_partial=True``.

Bars to coarser bars (:func:`resample_bars`): each fine bar belongs to the coarse bin holding
``ts - 1 ns`` (just before its close), so a 1-minute bar closing at 10:00 is in the 09:00-10:00
hour and a daily bar closing at 16:00 New York is in its own date. Fixed rules (``"5min"``,
``"4h"``) are stamped at the bin end by default; calendar rules (``"D"``, ``"W"``/``"W-FRI"``,
``"M"``, ``"Q"``, ``"Y"``, in ``tz``) at the last constituent's close (a weekly bar of daily
bars closes with Friday's session). ``stamp="end"``/``"last"`` overrides. Bins without
fine bars (weekends, gaps, halts) give no bar; sessions are never bridged.

Multiple timeframes (:func:`align_asof`, :func:`asof`): for each fine time, the index of the
last coarse bar whose close ts <= that time — a coarse bar is exposed only once it has closed.

Kernels (``*_nb``) are numba-compiled and shared by every function here.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from numba import njit

from data.errors import ConfigError, DataError
from data.schema import BAR, NS_PER_DAY, dtype_for
from data.timeutil import check_tz, localize, parse_duration, wall_clock_ns

# ------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------


@njit(cache=True)
def aggregate_ohlcv_nb(group, o, h, lo, c, v):
    """Aggregate consecutive rows with equal ``group`` ids (non-decreasing) into OHLCV.

    Returns (n, first, last, open, high, low, close, volume) where rows ``first[k]..last[k]``
    form group ``k``; arrays are sized len(group) and valid up to n.
    """
    m = len(group)
    first = np.empty(m, np.int64)
    last = np.empty(m, np.int64)
    oo = np.empty(m)
    hh = np.empty(m)
    ll = np.empty(m)
    cc = np.empty(m)
    vv = np.empty(m)
    n = -1
    for i in range(m):
        if n < 0 or group[i] != group[i - 1]:
            n += 1
            first[n] = i
            oo[n] = o[i]
            hh[n] = h[i]
            ll[n] = lo[i]
            vv[n] = 0.0
        else:
            if h[i] > hh[n]:
                hh[n] = h[i]
            if lo[i] < ll[n]:
                ll[n] = lo[i]
        last[n] = i
        cc[n] = c[i]
        vv[n] += v[i]
    return n + 1, first, last, oo, hh, ll, cc, vv


@njit(cache=True)
def threshold_groups_nb(metric, threshold):
    """Group ids for threshold bars: a group ends on the row whose cumulative ``metric``
    reaches ``threshold``. Returns (group ids, number of complete groups)."""
    m = len(metric)
    out = np.empty(m, np.int64)
    g = 0
    acc = 0.0
    complete = 0
    for i in range(m):
        out[i] = g
        acc += metric[i]
        if acc >= threshold:
            g += 1
            acc = 0.0
            complete = g
    return out, complete


# ------------------------------------------------------------------------------------------
# ticks -> bars
# ------------------------------------------------------------------------------------------
def _prices(ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ts, price, size) of trades, or of quote mids (size 0)."""
    names = ticks.dtype.names or ()
    if names == dtype_for("trade").names:
        return ticks["ts"], ticks["price"].astype(np.float64), ticks["size"].astype(np.float64)
    if names == dtype_for("quote").names:
        mid = (ticks["bid"] + ticks["ask"]) / 2.0
        return ticks["ts"], mid, np.zeros(len(ticks))
    raise DataError("resampling needs a canonical trade or quote array", argument="ticks",
                    value=str(ticks.dtype), fix="read the data with data.readers first")  # fmt: skip


def _sorted(ts: np.ndarray, what: str) -> None:
    if len(ts) > 1 and bool((np.diff(ts) < 0).any()):
        raise DataError(f"{what} are not sorted by ts", argument=what,
                        fix="sort them first (np.argsort(a['ts'], kind='stable'))")  # fmt: skip


def _aggregate(group, o, h, lo, c, v):
    """Call the kernel on contiguous int64/float64 arrays: one compiled signature only."""
    f = np.ascontiguousarray
    return aggregate_ohlcv_nb(f(group, dtype=np.int64), f(o, dtype=np.float64),
                              f(h, dtype=np.float64), f(lo, dtype=np.float64),
                              f(c, dtype=np.float64), f(v, dtype=np.float64))  # fmt: skip


def _emit(ts_close: np.ndarray, res) -> np.ndarray:
    n, _, _, o, h, lo, c, v = res
    out = np.empty(n, dtype=BAR)
    out["ts"] = ts_close
    out["open"], out["high"], out["low"], out["close"], out["volume"] = (
        o[:n], h[:n], lo[:n], c[:n], v[:n])  # fmt: skip
    return out


def time_bars(ticks: np.ndarray, interval: Any, *, offset: Any = 0) -> np.ndarray:
    """Trades (or quote mids) -> fixed-interval BAR array stamped at each bin's end."""
    ts, price, size = _prices(ticks)
    _sorted(ts, "ticks")
    step = parse_duration(interval)
    off = _offset(offset)
    if len(ts) == 0:
        return np.empty(0, dtype=BAR)
    group = (ts - off) // step
    res = _aggregate(group, price, price, price, price, size)
    n, first = res[0], res[1]
    return _emit(group[first[:n]] * step + off + step, res)


def _threshold_bars(ticks, metric, threshold, keep_partial, argument) -> np.ndarray:
    ts, price, size = _prices(ticks)
    _sorted(ts, "ticks")
    if not (threshold > 0):
        raise ConfigError("threshold must be > 0", argument=argument, value=threshold,
                          fix="pass a positive size")  # fmt: skip
    if len(ts) == 0:
        return np.empty(0, dtype=BAR)
    weights = np.ascontiguousarray(metric(price, size), dtype=np.float64)
    group, complete = threshold_groups_nb(weights, float(threshold))
    res = _aggregate(group, price, price, price, price, size)
    n, last = res[0], res[2]
    bars = _emit(ts[last[:n]], res)
    return bars if keep_partial else bars[:complete]


def tick_bars(ticks: np.ndarray, n: int, *, keep_partial: bool = False) -> np.ndarray:
    """A bar every ``n`` trades, stamped at its last trade."""
    return _threshold_bars(ticks, lambda p, s: np.ones(len(p)), n, keep_partial, "n")


def volume_bars(ticks: np.ndarray, size: float, *, keep_partial: bool = False) -> np.ndarray:
    """A bar each time traded size reaches ``size`` (base units), stamped at its last trade."""
    return _threshold_bars(ticks, lambda p, s: s, size, keep_partial, "size")


def dollar_bars(ticks: np.ndarray, notional: float, *, keep_partial: bool = False) -> np.ndarray:
    """A bar each time traded notional (price x size) reaches ``notional``."""
    return _threshold_bars(ticks, lambda p, s: p * s, notional, keep_partial, "notional")


# ------------------------------------------------------------------------------------------
# bars -> coarser bars
# ------------------------------------------------------------------------------------------
_CALENDAR = re.compile(r"^(D|B|W(-(MON|TUE|WED|THU|FRI|SAT|SUN))?|M|ME|MS|Q|QE|Y|YE|A)$", re.I)
_WEEKDAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}


def resample_bars(
    bars: Any,
    rule: Any,
    *,
    tz: str = "UTC",
    offset: Any = 0,
    stamp: str | None = None,
) -> np.ndarray:
    """Aggregate BAR rows (or :class:`~data.readers.Bars`) into coarser bars (see module doc).

    ``rule``: a fixed duration (``"5min"``, ``"1h"``, int ns) or a calendar rule in ``tz``:
    ``"D"`` (local date), ``"W-FRI"`` etc. (weeks ending on that day; ``"W"`` = ``"W-SUN"``),
    ``"M"``, ``"Q"``, ``"Y"``. ``offset`` shifts fixed bins (``"30min"`` for 09:30 sessions).
    """
    data = _rows(bars)
    if not isinstance(data, np.ndarray) or data.dtype != BAR:
        raise DataError("resample_bars needs canonical bars", argument="bars",
                        value=str(getattr(data, "dtype", type(data).__name__)),
                        fix="pass a Bars or a data.schema.BAR array")  # fmt: skip
    _sorted(data["ts"], "bars")
    check_tz(tz)
    calendar = isinstance(rule, str) and bool(_CALENDAR.match(rule.strip()))
    stamp = stamp or ("last" if calendar else "end")
    if stamp not in ("end", "last"):
        raise ConfigError("stamp must be 'end' or 'last'", argument="stamp", value=stamp,
                          fix="use 'end' (bin end) or 'last' (last fine bar's close)")  # fmt: skip
    if len(data) == 0:
        return np.empty(0, dtype=BAR)
    inside = data["ts"] - 1  # a bar belongs to the bin holding the instant before its close
    if calendar:
        group, end = _calendar_bins(inside, rule.strip().upper(), tz)
    else:
        step, off = parse_duration(rule, argument="rule"), _offset(offset)
        if tz != "UTC":
            wall = wall_clock_ns(inside, tz)
            group = (wall - off) // step
            end = localize(group * step + off + step, tz, ambiguous="earliest", nonexistent="null")
        else:
            group = (inside - off) // step
            end = group * step + off + step
    res = _aggregate(group, data["open"], data["high"], data["low"], data["close"], data["volume"])
    n, first, last = res[0], res[1], res[2]
    ts = data["ts"][last[:n]] if stamp == "last" else np.asarray(end)[first[:n]]
    return _emit(ts, res)


def _calendar_bins(inside: np.ndarray, rule: str, tz: str) -> tuple[np.ndarray, np.ndarray]:
    """Group ids (non-decreasing) and each row's bin end (ns UTC) for calendar rules."""
    day = wall_clock_ns(inside, tz) // NS_PER_DAY  # local calendar day number
    if rule in ("D", "B"):
        group, end_day = day, day + 1
    elif rule.startswith("W"):
        anchor = _WEEKDAYS[rule.split("-")[1]] if "-" in rule else 6  # "W" = W-SUN, as pandas
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday (3)
        end_day = day + (anchor - weekday) % 7 + 1  # the day after the anchor day
        group = end_day
    else:
        dates = day.astype("datetime64[D]")
        unit = {"M": "M", "ME": "M", "MS": "M", "Q": "Q", "QE": "Q", "Y": "Y", "YE": "Y", "A": "Y"}[
            rule
        ]
        if unit == "Q":
            months = dates.astype("datetime64[M]").astype(np.int64)
            group = months // 3
            end_day = (
                ((group + 1) * 3).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
            )
        else:
            period = dates.astype(f"datetime64[{unit}]")
            group = period.astype(np.int64)
            end_day = (period + 1).astype("datetime64[D]").astype(np.int64)
    end = localize(np.asarray(end_day, dtype=np.int64) * NS_PER_DAY, tz, ambiguous="earliest",
                   nonexistent="null")  # fmt: skip
    return np.asarray(group, dtype=np.int64), end


def _rows(obj: Any) -> Any:
    """The structured array of a Bars-like object (numpy arrays have their own ``.data``)."""
    return obj if isinstance(obj, np.ndarray) else getattr(obj, "data", obj)


def _offset(offset: Any) -> int:
    if offset in (0, None, "", "0"):
        return 0
    return parse_duration(offset, argument="offset")


# ------------------------------------------------------------------------------------------
# multiple timeframes
# ------------------------------------------------------------------------------------------
def align_asof(fine_ts: Any, coarse_ts: Any) -> np.ndarray:
    """For each fine time, the index of the last coarse bar with close ts <= it (-1: none yet).

    Only closed coarse bars are ever exposed: at a fine time equal to a coarse close the coarse
    bar is visible (it closed at that instant), one nanosecond earlier it is not.
    """
    coarse_ts = np.asarray(getattr(coarse_ts, "ts", coarse_ts), dtype=np.int64)
    fine_ts = np.asarray(getattr(fine_ts, "ts", fine_ts), dtype=np.int64)
    _sorted(coarse_ts, "coarse bars")
    return np.searchsorted(coarse_ts, fine_ts, side="right").astype(np.int64) - 1


def asof(fine_ts: Any, coarse: Any, field: str = "close") -> np.ndarray:
    """``coarse[field]`` as seen at each fine time (NaN before the first coarse close)."""
    data = _rows(coarse)
    idx = align_asof(fine_ts, data["ts"])
    values = np.asarray(data[field], dtype=np.float64)
    out = np.full(len(idx), np.nan)
    ok = idx >= 0
    out[ok] = values[idx[ok]]
    return out


def bars_from_ticks(ticks: np.ndarray, how: str, value: Any, **kwargs: Any) -> np.ndarray:
    """Dispatch by name: ``how`` in time/tick/volume/dollar (CLI and config helper)."""
    table = {"time": time_bars, "tick": tick_bars, "volume": volume_bars, "dollar": dollar_bars}
    if how not in table:
        raise ConfigError("unknown bar type", argument="how", value=how,
                          fix="use time, tick, volume or dollar")  # fmt: skip
    return table[how](ticks, value, **kwargs)
