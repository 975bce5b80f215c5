"""Labels: what the model learns to predict, and when each label becomes known.

Every label function returns ``(y, end)``: ``y[i]`` the label of the decision at bar i (NaN when
the future it needs is not in the data) and ``end[i]`` the index of the last bar whose price the
label uses. A label is *known* at bar ``end[i]``'s close; walk-forward training
(:mod:`strategies.ml.splits`) only uses samples whose ``end`` lies before the test period
(purging) and an embargo gap earlier.

* :func:`forward_return` — log(close[i+h] / close[i]) (regression target).
* :func:`direction` — 1.0 when that return is > ``threshold``, else 0.0 (classification).
* :func:`triple_barrier` — López de Prado's triple-barrier method (Advances in Financial Machine
  Learning, 2018, ch. 3): an upper barrier ``close[i] * exp(+up * sigma[i])``, a lower one
  ``close[i] * exp(-down * sigma[i])`` and a vertical one h bars later; 1.0 when the upper
  barrier is touched first, 0.0 when the lower is, and the sign of the return at the vertical
  barrier otherwise. ``sigma`` is a causal volatility estimate (std of one-bar log returns over
  ``vol_window`` bars up to i). Touches are checked on bar highs/lows after bar i; a bar that
  touches both is counted as the lower (the conservative reading of an unknown path).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from data.errors import ConfigError
from strategies.ml.features import rolling_std

LABELS = ("direction", "return", "triple_barrier")


def _check_h(h: int) -> None:
    if not isinstance(h, int | np.integer) or h < 1:
        raise ConfigError("the label horizon must be a positive number of bars",
                          argument="horizon", value=h, fix="e.g. horizon=4")


def forward_return(close: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    _check_h(h)
    close = np.asarray(close, dtype=np.float64)
    n = len(close)
    y = np.full(n, np.nan)
    if n > h:
        y[:-h] = np.log(close[h:] / close[:-h])
    return y, np.arange(n, dtype=np.int64) + h


def direction(close: np.ndarray, h: int, threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r, end = forward_return(close, h)
    y = np.where(np.isnan(r), np.nan, (r > threshold).astype(np.float64))
    return y, end


@njit(cache=True)
def triple_barrier_nb(close, high, low, sigma, h, up, down):
    n = close.shape[0]
    y = np.full(n, np.nan)
    end = np.arange(n) + h
    for i in range(n - h):
        s = sigma[i]
        if not np.isfinite(s) or s <= 0.0:
            continue
        hi = close[i] * np.exp(up * s)
        lo = close[i] * np.exp(-down * s)
        lab = np.nan
        for j in range(i + 1, i + h + 1):
            if low[j] <= lo:
                lab = 0.0
                end[i] = j
                break
            if high[j] >= hi:
                lab = 1.0
                end[i] = j
                break
        if np.isnan(lab):
            lab = 1.0 if close[i + h] > close[i] else 0.0
        y[i] = lab
    return y, end


def triple_barrier(bars: np.ndarray, h: int, *, up: float = 1.0, down: float = 1.0,
                   vol_window: int = 24) -> tuple[np.ndarray, np.ndarray]:
    _check_h(h)
    if not (up > 0 and down > 0):
        raise ConfigError("barrier widths must be > 0 (multiples of volatility)",
                          argument="barrier", value=(up, down), fix="e.g. up=1.0, down=1.0")
    close = np.ascontiguousarray(bars["close"], dtype=np.float64)
    r = np.diff(np.log(close), prepend=np.nan)
    sigma = rolling_std(r, vol_window) * np.sqrt(h)  # horizon-scaled one-bar volatility
    return triple_barrier_nb(close, np.ascontiguousarray(bars["high"], dtype=np.float64),
                             np.ascontiguousarray(bars["low"], dtype=np.float64),
                             np.ascontiguousarray(sigma), int(h), float(up), float(down))


def make_labels(bars: np.ndarray, kind: str, h: int, *, threshold: float = 0.0,
                up: float = 1.0, down: float = 1.0, vol_window: int = 24):
    """(y, end, task) for a label kind; task is "classification" or "regression"."""
    if kind == "direction":
        return (*direction(bars["close"], h, threshold), "classification")
    if kind == "return":
        return (*forward_return(bars["close"], h), "regression")
    if kind == "triple_barrier":
        return (*triple_barrier(bars, h, up=up, down=down, vol_window=vol_window),
                "classification")
    raise ConfigError("unknown label", argument="label", value=kind, fix=f"use one of {LABELS}")
