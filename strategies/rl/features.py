"""Observation features of the RL environments (numpy / pandas only: no gymnasium).

Row i of every feature array uses bars <= i only (no look-ahead); nan -> 0. A saved policy
records the feature set by name, so ``rl_policy`` rebuilds the same observation in a backtest.
"""

from __future__ import annotations

import numpy as np

from data.errors import ConfigError


def _sma(x: np.ndarray, n: int) -> np.ndarray:
    c = np.cumsum(np.nan_to_num(x), axis=0)
    out = np.full(x.shape, np.nan)
    out[n - 1:] = c[n - 1:]
    out[n:] -= c[:-n]
    out[n - 1:] /= n
    return out


def spread_features(close: np.ndarray, beta_window: int = 60, z_window: int = 20) -> np.ndarray:
    """Pair features, float64[bars, 2, 3] (the same for both symbols): z-score of the log
    spread ``log(p0) - beta log(p1)`` over ``z_window`` bars, its change since the last bar,
    and ``beta`` (rolling OLS slope of log(p0) on log(p1) over ``beta_window`` bars). Row i
    uses bars <= i only; nan -> 0."""
    import pandas as pd

    close = np.asarray(close, np.float64)
    if close.ndim != 2 or close.shape[1] != 2:
        raise ConfigError("spread features need exactly two symbols", argument="features",
                          value=close.shape, fix="pass a pair, e.g. {'KO': ..., 'PEP': ...}")
    lx, ly = pd.Series(np.log(close[:, 0])), pd.Series(np.log(close[:, 1]))
    beta = lx.rolling(beta_window).cov(ly) / ly.rolling(beta_window).var()
    spread = lx - beta * ly
    z = (spread - spread.rolling(z_window).mean()) / spread.rolling(z_window).std()
    f = np.stack([z.to_numpy(), z.diff().to_numpy(), beta.to_numpy()], axis=1)
    f[~np.isfinite(f)] = 0.0
    f = np.clip(f, -50.0, 50.0)
    return np.repeat(f[:, None, :], 2, axis=1)


def compute_features(name: str, close, high, low) -> np.ndarray:
    """Features by name (what a saved policy records): "bars" or "spread"."""
    if name == "bars":
        return bar_features(close, high, low)
    if name == "spread":
        return spread_features(close)
    raise ConfigError("unknown feature set", argument="features", value=name,
                      fix="use 'bars', 'spread' or an array [bars, symbols, features]")


def bar_features(close: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Default features, float64[bars, symbols, 3]; row i uses bars <= i only; nan -> 0."""
    close = np.asarray(close, np.float64).reshape(len(close), -1)
    high = np.asarray(high, np.float64).reshape(close.shape)
    low = np.asarray(low, np.float64).reshape(close.shape)
    f = np.zeros(close.shape + (3,))
    with np.errstate(invalid="ignore", divide="ignore"):
        f[1:, :, 0] = 100.0 * np.log(close[1:] / close[:-1])
        f[:, :, 1] = 10.0 * (close / _sma(close, 20) - 1.0)
        f[:, :, 2] = 100.0 * np.log(high / low)
    f[~np.isfinite(f)] = 0.0
    return np.clip(f, -50.0, 50.0)
