"""Purged, embargoed walk-forward splits and the labels that feed them."""

from __future__ import annotations

import numpy as np
import pytest

from data.errors import ConfigError
from data.schema import BAR
from strategies.ml.labels import direction, forward_return, make_labels, triple_barrier
from strategies.ml.splits import walk_forward


def _split(n=100, h=5, **kw):
    bar = np.arange(n)
    end = bar + h
    return walk_forward(bar, end, n, **kw), bar, end


@pytest.mark.parametrize("embargo", [0, 3])
def test_purging_and_embargo_boundaries(embargo):
    h = 5
    folds, bar, end = _split(h=h, first_test=30, retrain_every=20, embargo=embargo)
    assert [f.test_start for f in folds] == [30, 50, 70, 90]
    for f in folds:
        s = f.test_start
        assert (end[f.train] < s - embargo).all()  # no training label reaches the test block
        # the boundary sample is in, the next one (its label ends at s - embargo) is out
        assert f.train.max() == s - embargo - h - 1
        assert (s - embargo - h) not in f.train
        assert list(f.test) == list(range(s, min(s + 20, 100)))


def test_rolling_window_and_min_train():
    folds, bar, end = _split(first_test=30, retrain_every=20, window="rolling", train_bars=15)
    for f in folds:
        assert bar[f.train].min() == f.test_start - 15
    assert _split(first_test=30, retrain_every=20, min_train=50)[0][0].test_start == 70


def test_folds_do_not_depend_on_later_data():
    """Truncating the timeline leaves every earlier fold as it was (the audit's premise)."""
    full, _, _ = _split(n=100, first_test=30, retrain_every=20, embargo=2)
    part, _, _ = _split(n=77, first_test=30, retrain_every=20, embargo=2)
    for a, b in zip(part, full, strict=False):
        assert a.test_start == b.test_start
        np.testing.assert_array_equal(a.train, b.train)
    assert part[-1].test_stop == 77


def test_split_arguments_are_checked():
    with pytest.raises(ConfigError, match="retrain_every"):
        _split(first_test=30, retrain_every=0)
    with pytest.raises(ConfigError, match="rolling"):
        _split(first_test=30, retrain_every=10, window="rolling")
    with pytest.raises(ConfigError, match="training window"):
        _split(first_test=30, retrain_every=10, window="sliding")


def test_forward_return_and_direction_labels():
    c = np.array([100.0, 101, 99, 99, 105])
    y, end = forward_return(c, 2)
    np.testing.assert_allclose(y[:3], np.log([99 / 100, 99 / 101, 105 / 99]))
    assert np.isnan(y[3:]).all()
    assert list(end) == [2, 3, 4, 5, 6]
    d, _ = direction(c, 2)
    assert list(d[:3]) == [0.0, 0.0, 1.0]
    with pytest.raises(ConfigError, match="horizon"):
        forward_return(c, 0)


def test_triple_barrier_first_touch_and_end():
    n = 40
    b = np.zeros(n, BAR)
    rng = np.random.default_rng(1)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, n)))
    b["ts"] = np.arange(n)
    b["close"], b["open"] = c, c
    b["high"], b["low"] = c, c
    i = 30
    b["high"][i + 2] = c[i] * 1.5  # upper touched 2 bars after i
    b["low"][i + 3] = c[i] * 0.5  # lower later: upper wins
    y, end = triple_barrier(b, 5, up=1.0, down=1.0, vol_window=10)
    assert y[i] == 1.0 and end[i] == i + 2
    assert y[i + 1] == 1.0 and end[i + 1] == i + 2  # the same spike
    # barriers far away: the vertical barrier decides by the sign of the h-bar return
    y2, end2 = triple_barrier(b, 5, up=50.0, down=50.0, vol_window=10)
    j = i - 10
    assert end2[j] == j + 5 and y2[j] == float(c[j + 5] > c[j])
    b["low"][j + 1] = c[j] * 0.5  # a lower touch first: 0, ending there
    y3, end3 = triple_barrier(b, 5, up=1.0, down=1.0, vol_window=10)
    assert y3[j] == 0.0 and end3[j] == j + 1
    assert np.isnan(y[-5:]).all()
    _, _, task = make_labels(b, "triple_barrier", 5, vol_window=10)
    assert task == "classification"
    with pytest.raises(ConfigError, match="unknown label"):
        make_labels(b, "sign", 5)
