"""Hedge ratios, spreads and z-scores for a pair ``y`` / ``x`` (validated Python layer).

Every series here is causal: its value at index t uses ``y[:t+1]`` and ``x[:t+1]`` only, so a
strategy may precompute it in ``init`` and read it bar by bar (truncating the inputs after t
leaves the values up to t unchanged; tests check this).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import ConfigError
from strategies.statarb.hedge_nb import (
    OK,
    kalman_hedge_nb,
    rolling_ols_nb,
    rolling_zscore_nb,
)


def _series(name: str, values) -> np.ndarray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ConfigError("expected a 1-D series", argument=name, value=arr.shape,
                          fix="pass one price per bar")  # fmt: skip
    return arr


def _pair(y, x) -> tuple[np.ndarray, np.ndarray]:
    y = _series("y", y)
    x = _series("x", x)
    if len(y) != len(x):
        raise ConfigError("y and x have different lengths", argument="x",
                          value=(len(y), len(x)), fix="align both legs on the same bars")  # fmt: skip
    return y, x


def _window(name: str, window: int) -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ConfigError("window must be an integer >= 2", argument=name, value=window,
                          fix="use e.g. 60 bars")  # fmt: skip
    return int(window)


@dataclasses.dataclass(frozen=True)
class HedgeSeries:
    """Per-bar hedge coefficients and the spread ``y - beta * x - alpha`` they give."""

    beta: np.ndarray
    alpha: np.ndarray
    spread: np.ndarray  # y - beta*x - alpha with the coefficients known at t
    zscore: np.ndarray  # standardised spread (see the producing function)


def rolling_ols(y, x, window: int) -> tuple[np.ndarray, np.ndarray]:
    """``(beta, alpha)`` of OLS ``y ~ 1 + x`` over each trailing ``window`` bars (NaN before)."""
    y, x = _pair(y, x)
    window = _window("window", window)
    beta = np.empty_like(y)
    alpha = np.empty_like(y)
    status = rolling_ols_nb(y, x, window, beta, alpha)
    if status != OK:  # pragma: no cover - lengths are checked above
        raise ConfigError("rolling OLS failed", argument="window", value=status)
    return beta, alpha


def rolling_zscore(s, window: int) -> np.ndarray:
    """``(s_t - mean) / std(ddof=1)`` over the trailing ``window`` values, NaN before."""
    s = _series("s", s)
    window = _window("z_window", window)
    out = np.empty_like(s)
    rolling_zscore_nb(s, window, out)
    return out


def ols_hedge(y, x, window: int, z_window: int | None = None) -> HedgeSeries:
    """Rolling-OLS hedge: spread with the window's coefficients, z-score of that spread over
    ``z_window`` bars (default: ``window``)."""
    beta, alpha = rolling_ols(y, x, window)
    y, x = _pair(y, x)
    spread = y - beta * x - alpha
    return HedgeSeries(beta, alpha, spread, rolling_zscore(spread, z_window or window))


def kalman_hedge(y, x, delta: float = 1e-4, ve: float = 1e-3) -> HedgeSeries:
    """Kalman-filter hedge (see :func:`strategies.statarb.hedge_nb.kalman_hedge_nb`).

    ``spread`` is the one-step forecast error ``y_t - beta_{t-1} x_t - alpha_{t-1}`` and
    ``zscore`` is that error divided by its predicted standard deviation ``sqrt(Q_t)``
    (Chan's entry signal); ``beta``/``alpha`` are the filtered coefficients after ``y_t``.
    """
    y, x = _pair(y, x)
    if not (0.0 < float(delta) < 1.0):
        raise ConfigError("delta must be in (0, 1)", argument="delta", value=delta,
                          fix="use a small value such as 1e-4")  # fmt: skip
    if not (float(ve) > 0.0):
        raise ConfigError("ve (observation variance) must be > 0", argument="ve", value=ve,
                          fix="use e.g. 1e-3")  # fmt: skip
    n = len(y)
    beta, alpha, err, q = (np.empty(n) for _ in range(4))
    kalman_hedge_nb(y, x, float(delta), float(ve), beta, alpha, err, q)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = err / np.sqrt(q)
    return HedgeSeries(beta, alpha, err, z)
