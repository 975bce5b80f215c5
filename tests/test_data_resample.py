"""Resampling cross-checked against pandas on real sample data; threshold bars against an
independent loop; as-of alignment never exposes a coarse bar before it closes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from data.errors import ConfigError, DataError
from data.readers import read_bars, read_table
from data.resample import (
    align_asof,
    asof,
    bars_from_ticks,
    dollar_bars,
    resample_bars,
    tick_bars,
    time_bars,
    volume_bars,
)

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
OHLC = ["open", "high", "low", "close"]


@pytest.fixture(scope="module")
def trades():
    from conftest import SAMPLES

    return read_table(SAMPLES / "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv",
                      kind="trade")  # fmt: skip


def _frame(bars):
    return np.c_[[bars[f] for f in OHLC]].T


def _pandas_ticks(ts, price, size, rule):
    df = pd.DataFrame({"p": price, "s": size}, index=pd.DatetimeIndex(ts.astype("datetime64[ns]")))
    out = df["p"].resample(rule, closed="left", label="right").ohlc()
    out["volume"] = df["s"].resample(rule, closed="left", label="right").sum()
    return out.dropna()


@pytest.mark.parametrize("rule", ["15s", "1min", "5min", "1h"])
def test_time_bars_match_pandas(trades, rule):
    bars = time_bars(trades, rule)
    ref = _pandas_ticks(trades["ts"], trades["price"], trades["size"], rule)
    assert np.array_equal(bars["ts"], ref.index.asi8)  # stamped at the bin end (close time)
    assert np.array_equal(_frame(bars), ref[OHLC].to_numpy())
    assert np.allclose(bars["volume"], ref["volume"], rtol=1e-12, atol=0)


def test_quote_mids_make_bars(samples):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = read_table(samples / "fx/truefx_USDJPY_ticks_2013-01.csv", kind="quote")
    bars = time_bars(q, "1min")
    ref = _pandas_ticks(q["ts"], (q["bid"] + q["ask"]) / 2, np.zeros(len(q)), "1min")
    assert np.array_equal(bars["ts"], ref.index.asi8)
    assert np.array_equal(_frame(bars), ref[OHLC].to_numpy())
    assert np.all(bars["volume"] == 0)


def test_trade_on_a_bin_edge_goes_to_the_next_bar(trades):
    t = trades[:3].copy()
    t["ts"] = [60 * 10**9 - 1, 60 * 10**9, 60 * 10**9 + 1]
    bars = time_bars(t, "1min")
    assert list(bars["ts"]) == [60 * 10**9, 120 * 10**9]
    assert bars["close"][0] == t["price"][0] and bars["open"][1] == t["price"][1]


def _loop_bars(trades, metric, threshold):
    out, acc, start = [], 0.0, 0
    for i in range(len(trades)):
        acc += metric(trades[i])
        if acc >= threshold:
            seg = trades[start : i + 1]
            out.append((seg["ts"][-1], seg["price"][0], seg["price"].max(), seg["price"].min(),
                        seg["price"][-1], seg["size"].sum()))  # fmt: skip
            acc, start = 0.0, i + 1
    return out, start


@pytest.mark.parametrize(
    "fn, metric, threshold",
    [
        (tick_bars, lambda r: 1.0, 250),
        (volume_bars, lambda r: float(r["size"]), 25.0),
        (dollar_bars, lambda r: float(r["price"] * r["size"]), 250_000.0),
    ],
    ids=["tick", "volume", "dollar"],
)
def test_threshold_bars_match_an_independent_loop(trades, fn, metric, threshold):
    bars = fn(trades, threshold)
    ref, leftover = _loop_bars(trades, metric, threshold)
    assert len(bars) == len(ref) > 10
    for got, want in zip(bars.tolist(), ref, strict=True):
        assert got[:5] == want[:5] and got[5] == pytest.approx(want[5], rel=1e-12)
    partial = fn(trades, threshold, keep_partial=True)
    assert len(partial) == len(bars) + (leftover < len(trades))
    assert partial["ts"][-1] == trades["ts"][-1]


def test_one_minute_bars_compose_into_five_minute_bars(trades):
    direct = time_bars(trades, "5min")
    composed = resample_bars(time_bars(trades, "1min"), "5min")
    assert np.array_equal(direct["ts"], composed["ts"])
    assert np.array_equal(_frame(direct), _frame(composed))
    assert np.allclose(direct["volume"], composed["volume"], rtol=1e-12)


def _pandas_bars(bars, rule, index_shift_ns, **kw):
    df = bars.to_pandas()
    df.index = df.index - pd.Timedelta(index_shift_ns, "ns")  # index by bar open time
    if "tz" in kw:
        df.index = df.index.tz_convert(kw.pop("tz"))
    return df.resample(rule, closed="left", label="right", **kw).agg(AGG).dropna()


def test_fxcm_minutes_to_hours_match_pandas(samples):
    bid = read_bars(samples / "fx/fxcm_GBPUSD_m1_bid_2012-02.csv.gz")
    hours = resample_bars(bid, "1h")
    ref = _pandas_bars(bid, "1h", bid.interval_ns)
    assert len(hours) == len(ref) > 400
    assert np.array_equal(hours["ts"], ref.index.asi8)
    assert np.array_equal(_frame(hours), ref[OHLC].to_numpy())
    # the last 1-minute bar of an hour (closing at hh:00) belongs to that hour
    assert hours["close"][0] == bid.data["close"][bid.ts <= hours["ts"][0]][-1]


def test_intraday_session_to_hours_with_offset(samples):
    five = read_bars(samples / "intraday/2006-min-005.txt")  # 09:05 .. 17:30 each day
    hours = resample_bars(five, "1h", offset="30min")
    ref = _pandas_bars(five, "1h", five.interval_ns, offset="30min")
    assert np.array_equal(hours["ts"], ref.index.asi8)
    assert np.array_equal(_frame(hours), ref[OHLC].to_numpy())
    # no bar bridges the overnight gap: each hour has bars of one session only
    days = (hours["ts"] - 1) // 86_400_000_000_000
    assert len(np.unique(days)) == len(np.unique(five.ts // 86_400_000_000_000))


@pytest.mark.parametrize("rule", ["W-FRI", "W", "M", "Q", "Y"])
def test_daily_to_calendar_bars_match_pandas(samples, rule):
    goog = read_bars(samples / "equities_daily/GOOG_2004-2013_backtesting.csv")
    got = resample_bars(goog, rule, tz="America/New_York")
    df = goog.to_pandas()
    df.index = df.index.tz_convert("America/New_York")
    pd_rule = {"M": "ME", "Q": "QE", "Y": "YE"}.get(rule, rule)
    ref = df.resample(pd_rule).agg(AGG).dropna()
    assert len(got) == len(ref)
    assert np.array_equal(_frame(got), ref[OHLC].to_numpy())
    assert np.array_equal(got["volume"], ref["volume"].to_numpy())
    # stamped at the last constituent's close: that day's 16:00 New York
    last_close = df.index.to_series().resample(pd_rule).max().dropna()
    assert np.array_equal(got["ts"], last_close.dt.tz_convert("UTC").astype("int64").to_numpy())


def test_stamp_end_is_the_calendar_bin_end(samples):
    goog = read_bars(samples / "equities_daily/GOOG_2004-2013_backtesting.csv")
    weeks = resample_bars(goog, "W-FRI", tz="America/New_York", stamp="end")
    first = pd.Timestamp(int(weeks["ts"][0]), tz="UTC").tz_convert("America/New_York")
    assert (first.day_name(), first.hour, first.minute) == ("Saturday", 0, 0)
    assert np.all(weeks["ts"] > resample_bars(goog, "W-FRI", tz="America/New_York")["ts"])


def test_crypto_hours_to_utc_days(samples):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hourly = read_bars(samples / "crypto/Bitstamp_BTCUSD_1h_2018-2022.csv.gz")
    days = resample_bars(hourly, "D")
    ref = _pandas_bars(hourly, "1D", hourly.interval_ns)
    assert np.array_equal(_frame(days), ref[OHLC].to_numpy())
    complete = days["ts"] % 86_400_000_000_000 == 0  # a full day closes at UTC midnight
    assert complete.mean() > 0.99


def test_align_asof_only_exposes_closed_bars(samples):
    five = read_bars(samples / "intraday/2006-min-005.txt")
    hours = resample_bars(five, "1h")
    idx = align_asof(five.ts, hours["ts"])
    ok = idx >= 0
    assert np.all(hours["ts"][idx[ok]] <= five.ts[ok])  # never a bar that has not closed
    nxt = idx + 1
    inside = nxt < len(hours)
    assert np.all(hours["ts"][nxt[inside]] > five.ts[inside])  # and always the latest closed one
    t = hours["ts"][3]
    assert align_asof([t - 1, t], hours["ts"]).tolist() == [2, 3]
    values = asof(five.ts, hours, "close")
    assert np.isnan(values[~ok]).all() and np.array_equal(values[ok], hours["close"][idx[ok]])
    assert align_asof([0], hours["ts"])[0] == -1


def test_errors_name_the_argument(trades):
    with pytest.raises(DataError, match="not sorted"):
        time_bars(trades[::-1], "1min")
    with pytest.raises(DataError, match="trade or quote"):
        time_bars(np.zeros(3, dtype=[("ts", "<i8")]), "1min")
    with pytest.raises(DataError, match="fixed duration"):
        resample_bars(time_bars(trades, "1min"), "fortnight")
    with pytest.raises(ConfigError, match="threshold"):
        volume_bars(trades, 0)
    with pytest.raises(ConfigError, match="stamp"):
        resample_bars(time_bars(trades, "1min"), "5min", stamp="middle")
    with pytest.raises(ConfigError, match="unknown bar type"):
        bars_from_ticks(trades, "range", 5)
    assert len(bars_from_ticks(trades, "tick", 1000)) == 9
