"""Small task functions for the sweep machinery tests (importable by worker processes)."""

from __future__ import annotations

import os
import time

import numpy as np

from reports import metrics_returns as mr


def strategy_returns(close, fast: int, slow: int, cost: float = 0.0) -> np.ndarray:
    """Long when the fast mean is above the slow one (decided at the close, held the next
    period), minus ``cost`` per unit of position change."""
    r = np.diff(close) / close[:-1]
    c = np.cumsum(np.insert(close, 0, 0.0))
    f = (c[fast:] - c[:-fast]) / fast
    s = (c[slow:] - c[:-slow]) / slow
    n = len(s)
    sig = (f[-n:] > s).astype(np.float64)[:-1]
    return sig * r[-(n - 1):] - cost * np.abs(np.diff(np.insert(sig, 0, 0.0)))


def sma_task(shared, params_list, fixed):
    """A real little computation on the shared prices, stats of the strategy's returns.
    Deterministic, independent per parameter set."""
    out = []
    for p in params_list:
        strat = strategy_returns(shared["close"], int(p["fast"]), int(p["slow"]),
                                 p.get("cost", 0.0))
        eq = np.cumprod(1.0 + strat)
        out.append({
            "total_return": float(eq[-1] - 1.0),
            "sharpe": mr.sharpe(strat, 252),
            "n_periods": int(strat.size),
            "skew": mr.skew(strat),
            "kurtosis": mr.kurtosis(strat),
            "pid_free": "x",
            "conventions": {"periods_per_year": 252},
        })
    delay = fixed.get("delay", 0.0)
    if delay:
        time.sleep(delay * len(params_list))
    return out


def failing_task(shared, params_list, fixed):
    """Fails for fast == 13, works otherwise."""
    if any(p["fast"] == 13 for p in params_list):
        raise ValueError("13 is unlucky")
    return sma_task(shared, params_list, fixed)


def pid_task(shared, params_list, fixed):
    """Reports which process ran it and whether the shared array is a file mapping."""
    time.sleep(0.05)  # long enough that both workers get chunks
    base = shared["close"]
    while getattr(base, "base", None) is not None:
        base = base.base
    return [{"pid": os.getpid(), "mapped": type(base).__name__,
             "writeable": bool(shared["close"].flags.writeable)} for _ in params_list]
