"""Helpers for the RL tests: synthetic learnable bars and shipped sample paths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data.schema import BAR

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
GOOG = SAMPLES / "equities_daily" / "GOOG_2004-2013_backtesting.csv"
KO = SAMPLES / "pairs" / "daily-KO.csv"
PEP = SAMPLES / "pairs" / "daily-PEP.csv"
DAY = 86_400_000_000_000


def ar_bars(n: int = 1500, phi: float = -0.6, sigma: float = 0.01, seed: int = 0) -> np.ndarray:
    """Bars whose close-to-close log returns are AR(1) with coefficient ``phi`` (learnable:
    the sign of the last return predicts the next), each bar opening at the last close."""
    rng = np.random.default_rng(seed)
    r = np.zeros(n)
    eps = rng.normal(0.0, sigma, n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + eps[t]
    close = 100.0 * np.exp(np.cumsum(r))
    out = np.zeros(n, BAR)
    out["ts"] = 1_600_000_000_000_000_000 // DAY * DAY + 20 * 3_600_000_000_000 + DAY * np.arange(n)
    out["open"] = np.concatenate([[close[0]], close[:-1]])
    out["close"] = close
    out["high"] = np.maximum(out["open"], close) * 1.001
    out["low"] = np.minimum(out["open"], close) * 0.999
    out["volume"] = 1e6
    return out
