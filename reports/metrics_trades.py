"""Trade-based metrics (per CLOSED round trip of trades.csv), exposure, turnover and fees: the
frames of a run folder turned into the arrays of the kernels in :mod:`reports.metrics_nb`, which
compute them (their one implementation).

The trade metrics are labelled "per closed trade" everywhere they are shown: they are not
comparable with the per-period "win rate" of QuantStats, which counts positive days.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from reports.metrics_nb import E_SUM, X_W_ABS, X_W_ON, X_W_SUM, equity_pass, exposure_pass
from reports.metrics_nb import trade_stats as nb_trade_stats
from reports.timeutil import NS_PER_YEAR, ns


def closed_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Rows of trades.csv whose ``status`` is ``closed`` (all rows if there is no status)."""
    if "status" not in trades.columns:
        return trades
    return trades[trades["status"].astype(str).str.lower() == "closed"]


def holding_seconds(trades: pd.DataFrame) -> np.ndarray:
    if "duration_s" in trades.columns:
        return trades["duration_s"].to_numpy(dtype=np.float64)
    return (trades["exit_ts"].to_numpy(np.int64) - trades["entry_ts"].to_numpy(np.int64)) / 1e9


def trade_stats(trades: pd.DataFrame | None) -> dict[str, float | int]:
    """Per-closed-trade statistics from a trades.csv frame (see docs/RUN_FOLDER.md), computed
    by :func:`reports.metrics_nb.trade_stats_nb` (docs/metrics.md; tests/test_metrics_kernel.py
    holds it to the numpy formulas of tests/metrics_reference.py)."""
    if trades is None:
        trades = pd.DataFrame({"pnl": [], "return": [], "status": []})
    closed = closed_trades(trades)
    pnl = closed["pnl"].to_numpy(dtype=np.float64)
    ret = closed["return"].to_numpy(dtype=np.float64) if "return" in closed else None
    side = closed["side"].astype(str).str.lower() if "side" in closed else None
    hold = holding_seconds(closed) if len(closed) else np.zeros(0)
    out = nb_trade_stats(np.ones(len(closed), dtype=bool), pnl, ret,
                         np.zeros(len(closed), bool) if side is None
                         else (side == "long").to_numpy(bool), hold)
    out["n_open_trades"] = int(len(trades) - len(closed))
    out["n_short_trades"] = 0 if side is None else int((side == "short").sum())
    return out


# --- exposure, turnover, fees ----------------------------------------------------------------


def exposure_ratios(xp: np.ndarray) -> tuple[float, float]:
    """(time in market, average gross exposure) from :func:`reports.metrics_nb.exposure_pass`'s
    output: the time-weighted share of steps with a non-zero gross exposure and the
    time-weighted mean of |gross exposure| (position value / equity)."""
    w_sum = xp[X_W_SUM]
    return (float(xp[X_W_ON] / w_sum) if w_sum > 0 else math.nan, float(xp[X_W_ABS] / w_sum))


def exposure_stats(exposure: pd.Series) -> tuple[float, float]:
    """:func:`exposure_ratios` of an exposure series (each step weighs until the next one, the
    last the median spacing; :func:`reports.metrics_nb.exposure_pass_nb`)."""
    ts = ns(exposure.index)
    if ts.size == 0:
        return math.nan, math.nan
    return exposure_ratios(exposure_pass(ts, exposure.to_numpy(dtype=np.float64)))


def time_in_market(exposure: pd.Series) -> float:
    """Time-weighted share of the run with a non-zero gross exposure (:func:`exposure_stats`)."""
    return exposure_stats(exposure)[0]


def average_gross_exposure(exposure: pd.Series) -> float:
    """Time-weighted mean of |gross exposure| (:func:`exposure_stats`)."""
    return exposure_stats(exposure)[1]


def time_in_market_from_trades(trades: pd.DataFrame, start_ns: int, end_ns: int) -> float:
    """Share of ``[start, end]`` covered by the union of trade holding intervals."""
    if end_ns <= start_ns:
        return math.nan
    if trades is None or len(trades) == 0:
        return 0.0
    s = np.clip(trades["entry_ts"].to_numpy(np.int64), start_ns, end_ns)
    e = trades["exit_ts"].to_numpy(np.float64)
    e = np.clip(np.where(np.isfinite(e), e, end_ns).astype(np.int64), start_ns, end_ns)
    order = np.argsort(s, kind="stable")
    covered, cur_s, cur_e = 0, None, None
    for a, b in zip(s[order], e[order], strict=True):
        if cur_e is None or a > cur_e:
            if cur_e is not None:
                covered += cur_e - cur_s
            cur_s, cur_e = a, b
        else:
            cur_e = max(cur_e, b)
    if cur_e is not None:
        covered += cur_e - cur_s
    return covered / (end_ns - start_ns)


def turnover(fills: pd.DataFrame | None, equity: pd.Series) -> float:
    """Annualised turnover: traded notional ``sum(|size * price|)`` over mean equity, per
    calendar year (365.25 days) of the run."""
    if fills is None or len(equity) < 2:
        return math.nan
    t = ns(equity.index)
    span = (t[-1] - t[0]) / NS_PER_YEAR
    mean_eq = float(equity_pass(equity.to_numpy(np.float64))[E_SUM] / len(equity))
    return turnover_of(fills["size"].to_numpy(np.float64), fills["price"].to_numpy(np.float64),
                       mean_eq, span)


def turnover_of(size: np.ndarray, price: np.ndarray, mean_eq: float, span_years: float) -> float:
    """``sum(|size * price|) / mean_eq / span_years`` (nan when the span or the mean is not
    positive)."""
    if span_years <= 0 or mean_eq <= 0:
        return math.nan
    return float(np.abs(size * price).sum()) / mean_eq / span_years


def fees_paid(fills, trades) -> float:
    """Total fees: from fills when given, else from trades (closed and open); frames or mappings
    of arrays (the ``fee`` / ``fees`` columns)."""
    if fills is not None and "fee" in fills:
        return float(np.sum(np.asarray(fills["fee"], dtype=np.float64)))
    if trades is not None and "fees" in trades:
        return float(np.sum(np.asarray(trades["fees"], dtype=np.float64)))
    return math.nan
