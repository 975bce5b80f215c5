"""Decimation keeps the extremes of long series."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from reports.decimate import envelope, minmax_decimate, minmax_indices


def test_short_series_untouched():
    y = np.arange(10.0)
    assert np.array_equal(minmax_indices(y, 5), np.arange(10))


def test_million_points_keep_every_bucket_extreme():
    rng = np.random.Generator(np.random.PCG64(3))
    y = np.cumsum(rng.normal(size=1_000_000))
    y[123_457] = 1e6  # a one-point spike
    y[876_543] = -1e6
    idx = minmax_indices(y, 1000)
    assert idx.size <= 2 * 1000 + 2
    assert np.all(np.diff(idx) > 0)
    kept = y[idx]
    assert kept.max() == 1e6 and kept.min() == -1e6
    assert idx[0] == 0 and idx[-1] == y.size - 1
    k = -(-y.size // 1000)
    for b in range(0, y.size, k):
        seg = y[b:b + k]
        in_seg = kept[(idx >= b) & (idx < b + k)]
        assert in_seg.max() == seg.max() and in_seg.min() == seg.min()


def test_nan_is_ignored_for_extremes():
    y = np.full(100, np.nan)
    y[50] = 3.0
    x, d = minmax_decimate(np.arange(100), y, 10)
    assert 3.0 in d


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 3000), elements=st.floats(-1e9, 1e9)),
       st.integers(1, 200))
def test_extremes_and_drawdown_survive(y, buckets):
    idx = minmax_indices(y, buckets)
    kept = y[idx]
    assert kept.max() == y.max() and kept.min() == y.min()
    assert idx[0] == 0 and idx[-1] == y.size - 1
    if y.min() > 0:
        # the underwater chart decimates the drawdown path computed on the full series,
        # so the deepest drawdown is drawn exactly
        dd = y / np.maximum.accumulate(y) - 1.0
        assert dd[minmax_indices(dd, buckets)].min() == dd.min()


def test_decimating_equity_itself_would_not_keep_the_drawdown():
    """Why the underwater chart decimates the drawdown path, not the equity: a peak and a
    trough in one bucket whose maximum comes later lose the peak."""
    y = np.array([5.0, 10.0, 2.0, 20.0])
    kept = y[minmax_indices(y, 1)]
    assert np.min(kept / np.maximum.accumulate(kept)) != np.min(y / np.maximum.accumulate(y))


def test_envelope_keeps_high_low():
    rng = np.random.Generator(np.random.PCG64(5))
    lo = rng.normal(size=50_001)
    hi = lo + rng.random(50_001)
    x, elo, ehi = envelope(np.arange(lo.size), lo, hi, 100)
    assert elo.min() == lo.min() and ehi.max() == hi.max()
    assert x.size <= 101
