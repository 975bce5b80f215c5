"""Decimation of long series for plotting without losing extremes.

``minmax_indices(y, n_buckets)`` splits the series into equal buckets and keeps, per bucket, the
positions of its minimum and its maximum (in time order), plus the very first and last points.
A line through the kept points has exactly the same minimum and maximum per bucket as the full
series, so spikes and crashes survive; a 1M-point equity curve becomes ~4,000 points. Derived
paths (the drawdown) are computed on the full series first and decimated afterwards, so the
deepest drawdown is drawn exactly.
"""

from __future__ import annotations

import numpy as np


def minmax_indices(y: np.ndarray, n_buckets: int = 2000) -> np.ndarray:
    """Sorted unique positions of each bucket's min and max plus the first and last point.

    NaNs are ignored when looking for extremes (a bucket of only NaN keeps its first point).
    Series shorter than ``2 * n_buckets`` are returned whole.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    if n <= 2 * n_buckets or n_buckets < 1:
        return np.arange(n, dtype=np.int64)
    k = -(-n // n_buckets)  # bucket length (ceil)
    m = -(-n // k)
    pad = m * k - n
    lo_vals = np.concatenate((np.where(np.isnan(y), np.inf, y), np.full(pad, np.inf)))
    hi_vals = np.concatenate((np.where(np.isnan(y), -np.inf, y), np.full(pad, -np.inf)))
    base = np.arange(m, dtype=np.int64) * k
    lo = base + np.argmin(lo_vals.reshape(m, k), axis=1)
    hi = base + np.argmax(hi_vals.reshape(m, k), axis=1)
    keep = np.concatenate(([0, n - 1], np.minimum(lo, n - 1), np.minimum(hi, n - 1)))
    return np.unique(keep)


def minmax_decimate(x: np.ndarray, y: np.ndarray, n_buckets: int = 2000):
    """``(x[idx], y[idx])`` for :func:`minmax_indices`."""
    idx = minmax_indices(y, n_buckets)
    return np.asarray(x)[idx], np.asarray(y)[idx]


def minmax_decimate_multi(x: np.ndarray, ys: list[np.ndarray], n_buckets: int = 2000):
    """Decimate several series on the same x, keeping the extremes of every one of them."""
    if not ys:
        return np.asarray(x), []
    idx = np.unique(np.concatenate([minmax_indices(y, n_buckets) for y in ys]))
    return np.asarray(x)[idx], [np.asarray(y)[idx] for y in ys]


def envelope(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, n_buckets: int = 2000):
    """Per bucket: first x, min of ``lo``, max of ``hi`` (a high-low band that keeps every
    extreme). Short series are returned whole."""
    x, lo, hi = np.asarray(x), np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    n = x.size
    if n <= 2 * n_buckets:
        return x, lo, hi
    k = -(-n // n_buckets)
    starts = np.arange(0, n, k)
    return x[starts], np.fmin.reduceat(lo, starts), np.fmax.reduceat(hi, starts)
