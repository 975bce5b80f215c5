"""Walk-forward window splitting (engine.windows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data.errors import ConfigError
from engine.windows import split

DAY = 86_400_000_000_000


def _daily(n, start="2020-01-01"):
    return pd.bdate_range(start, periods=n, tz="UTC").as_unit("ns").asi8


def test_rolling_bar_windows_are_adjacent_and_cover_the_rest():
    ts = np.arange(1000, dtype=np.int64) * DAY
    ws = split(ts, train=300, test=100)
    assert [(w.train_start, w.train_end, w.test_start, w.test_end) for w in ws[:2]] == \
        [(0, 300, 300, 400), (100, 400, 400, 500)]
    assert all(w.train_end - w.train_start == 300 for w in ws)
    assert ws[-1].test_end == 1000
    assert all(a.test_end == b.test_start for a, b in zip(ws, ws[1:], strict=False))
    assert len(ws) == 7


def test_anchored_windows_expand_from_the_first_bar():
    ts = np.arange(1000, dtype=np.int64) * DAY
    ws = split(ts, train="300", test="250", anchored=True)
    assert [(w.train_start, w.train_end, w.test_end) for w in ws] == \
        [(0, 300, 550), (0, 550, 800), (0, 800, 1000)]


def test_short_last_window_and_no_look_ahead():
    ts = np.arange(455, dtype=np.int64) * DAY
    ws = split(ts, train=300, test=100)
    assert ws[-1].test_end - ws[-1].test_start == 55
    for w in ws:
        assert w.train_end <= w.test_start  # training never sees the test bars


def test_calendar_spans():
    ts = _daily(900)  # business days from 2020-01-01
    ws = split(ts, train="1Y", test="6M")
    first = ws[0]
    assert pd.Timestamp(ts[first.test_start], tz="UTC") >= pd.Timestamp("2021-01-01", tz="UTC")
    assert pd.Timestamp(ts[first.test_start - 1], tz="UTC") < pd.Timestamp("2021-01-01", tz="UTC")
    assert pd.Timestamp(ts[first.test_end], tz="UTC") >= pd.Timestamp("2021-07-01", tz="UTC")
    # a rolling 1Y train window starts a year before its test window
    w2 = ws[1]
    t_test = pd.Timestamp(ts[w2.test_start], tz="UTC")
    assert pd.Timestamp(ts[w2.train_start], tz="UTC") >= t_test - pd.DateOffset(years=1)
    assert pd.Timestamp(ts[w2.train_start - 1], tz="UTC") < t_test - pd.DateOffset(years=1)
    d = ws[0].as_dict(ts)
    assert d["test_start"].endswith("Z") and d["train_bars"] == first.train_end


@pytest.mark.parametrize("kw, frag", [
    (dict(train=0, test=10), "positive"),
    (dict(train="1X", test=10), "bar count or a span"),
    (dict(train=5000, test=10), "shorter than one train window"),
])
def test_bad_lengths(kw, frag):
    with pytest.raises(ConfigError, match=frag):
        split(np.arange(100, dtype=np.int64) * DAY, **kw)
