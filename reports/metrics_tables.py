"""Tables and series built from sampled returns: monthly / yearly returns, rolling Sharpe and
volatility, drawdown periods. Inputs are pandas Series of simple returns indexed by tz-aware
UTC time stamps (the time of each period's last recorded equity value)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reports.metrics_nb import excess_returns
from reports.timeutil import NS_PER_DAY, ns

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def compound(r: np.ndarray) -> float:
    """Compounded return of simple returns: ``prod(1 + r) - 1`` (the monthly / yearly tables,
    stats.json's best and worst month)."""
    return float(np.prod(1.0 + r) - 1.0)


def _compound(groups) -> pd.Series:
    return groups.apply(lambda x: compound(x.to_numpy()))


def monthly_returns(returns: pd.Series) -> pd.DataFrame:
    """Compounded return per calendar month (UTC): rows are years, columns Jan..Dec; months
    without data are NaN."""
    if returns.empty:
        return pd.DataFrame(columns=list(MONTHS), dtype=float)
    idx = returns.index
    g = _compound(returns.groupby([idx.year, idx.month]))
    table = g.unstack()
    table = table.reindex(columns=range(1, 13))
    table.columns = list(MONTHS)
    table.index = table.index.astype(int)
    table.index.name = "year"
    return table


def yearly_returns(returns: pd.Series) -> pd.Series:
    """Compounded return per calendar year (UTC)."""
    if returns.empty:
        return pd.Series(dtype=float, name="return")
    g = _compound(returns.groupby(returns.index.year))
    g.index = g.index.astype(int)
    g.index.name = "year"
    return g.rename("return")


def rolling_sharpe(
    returns: pd.Series, window: int, periods: float, risk_free: float = 0.0, ddof: int = 1
) -> pd.Series:
    """Annualised Sharpe over a trailing window of ``window`` periods (NaN until it is full)."""
    x = pd.Series(excess_returns(returns.to_numpy(), periods, risk_free), index=returns.index)
    roll = x.rolling(window)
    return (roll.mean() / roll.std(ddof=ddof) * math.sqrt(periods)).rename("rolling_sharpe")


def rolling_volatility(
    returns: pd.Series, window: int, periods: float, ddof: int = 1
) -> pd.Series:
    """Annualised volatility over a trailing window of ``window`` periods."""
    return (returns.rolling(window).std(ddof=ddof) * math.sqrt(periods)).rename(
        "rolling_volatility"
    )


def drawdown_spans(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The drawdown periods of the wealth ``w`` (float64, >= 2 values) as positions:
    ``(dd, starts, ends, valleys)`` with ``dd = w / running max(w) - 1``, ``starts`` the first
    position under water (the peak is the one before), ``ends`` the first back at the peak
    (``len(w)`` when it never recovers) and ``valleys`` the deepest position of each period.
    The one definition of the drawdown periods of stats.json and the report tables."""
    running = np.maximum.accumulate(w)
    dd = w / running - 1.0
    edges = np.diff(np.concatenate(([0], (w < running).view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    valleys = np.array([s + int(np.argmin(dd[s:e])) for s, e in zip(starts, ends, strict=True)],
                       dtype=np.int64)
    return dd, starts, ends, valleys


def drawdown_periods(wealth: pd.Series) -> pd.DataFrame:
    """Every drawdown period of a wealth (or equity) series, deepest first.

    A period starts at ``peak`` (the last time at the running high before going under water),
    reaches its deepest point at ``valley`` and ends at ``recovery``, the first time the
    series is back at or above the peak (NaT if it never recovers; durations then run to the
    last stamp). Durations are calendar days. ``depth`` is ``valley / peak - 1`` (<= 0).
    """
    cols = [
        "peak", "valley", "recovery", "depth", "duration_days", "decline_days",
        "recovery_days", "recovered", "n_periods",
    ]
    w = wealth.to_numpy(dtype=np.float64)
    if w.size < 2:
        return pd.DataFrame(columns=cols)
    dd, starts, ends, valleys = drawdown_spans(w)
    ts = ns(wealth.index)
    last = w.size - 1
    rec = ends <= last
    end_pos = np.minimum(ends, last)
    peak_ts, valley_ts, end_ts = ts[starts - 1], ts[valleys], ts[end_pos]
    out = pd.DataFrame(
        {
            "peak": pd.to_datetime(peak_ts, utc=True),
            "valley": pd.to_datetime(valley_ts, utc=True),
            "recovery": pd.to_datetime(np.where(rec, end_ts, np.iinfo(np.int64).min), utc=True),
            "depth": dd[valleys],
            "duration_days": (end_ts - peak_ts) / NS_PER_DAY,
            "decline_days": (valley_ts - peak_ts) / NS_PER_DAY,
            "recovery_days": np.where(rec, (end_ts - valley_ts) / NS_PER_DAY, np.nan),
            "recovered": rec,
            "n_periods": (ends - starts).astype(np.int64),
        },
        columns=cols,
    )
    return out.sort_values("depth", kind="stable").reset_index(drop=True)


def top_drawdowns(wealth: pd.Series, n: int = 5) -> pd.DataFrame:
    """The ``n`` deepest drawdown periods (see :func:`drawdown_periods`)."""
    return drawdown_periods(wealth).head(n)


def drawdown_durations(wealth: pd.Series) -> tuple[float, float]:
    """(longest, average) drawdown duration in calendar days, unrecovered periods counted to the
    last stamp; ``(0, 0)`` without drawdowns."""
    p = drawdown_periods(wealth)
    if p.empty:
        return 0.0, 0.0
    return float(p["duration_days"].max()), float(p["duration_days"].mean())
