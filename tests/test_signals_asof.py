"""Strict as-of join of external signals, signal files, and the lexicon sentiment score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data.errors import ConfigError, DataError
from strategies.signals.asof import MISSING, OK, STALE, asof_join, make_signals, read_signals
from strategies.signals.sentiment import daily_sentiment, read_tweets, score_text, write_signal_csv

SENT = Path(__file__).resolve().parents[1] / "data" / "samples" / "sentiment"
H = 3600 * 10**9
D = 24 * H


def test_signal_is_usable_exactly_from_ts_plus_delay():
    sig = make_signals([10 * H, 20 * H], ["A", "A"], [1.0, 2.0])
    bars = np.array([9, 10, 11, 12, 19, 21, 22]) * H
    j = asof_join(sig, bars, ["A"], delay_ns=2 * H)
    # usable from 12h (first) and 22h (second), never earlier
    np.testing.assert_array_equal(j.status[:, 0], [MISSING, MISSING, MISSING, OK, OK, OK, OK])
    np.testing.assert_array_equal(j.value[3:, 0], [1.0, 1.0, 1.0, 2.0])
    np.testing.assert_array_equal(j.signal_ts[:, 0], [-1, -1, -1, 10 * H, 10 * H, 10 * H, 20 * H])
    assert np.isnan(j.value[:3, 0]).all()


def test_stale_and_missing_are_explicit():
    sig = make_signals([0, 0], ["A", "B"], [1.0, -1.0])
    bars = np.array([1, 2, 3]) * D
    j = asof_join(sig, bars, ["A", "B", "C"], max_age_ns=2 * D)
    np.testing.assert_array_equal(j.status[:, 0], [OK, OK, STALE])  # age 3d > 2d
    assert (j.status[:, 2] == MISSING).all()  # C never had a signal
    assert np.isnan(j.value[2, 0]) and j.signal_ts[2, 0] == 0
    assert j.counts() == {"ok": 4, "missing": 3, "stale": 2}
    with pytest.raises(ConfigError, match="delay"):
        asof_join(sig, bars, ["A"], delay_ns=-1)


def test_no_look_ahead_truncating_signals_after_t():
    """Rows stamped after t (or not yet usable at t) cannot change the join up to t."""
    rng = np.random.default_rng(11)
    n = 400
    ts = np.sort(rng.integers(0, 100 * D, n))
    sym = rng.choice(["A", "B", "C"], n)
    keep = np.unique(np.c_[ts, np.searchsorted(["A", "B", "C"], sym)], axis=0, return_index=True)[1]
    ts, sym = ts[keep], sym[keep]
    val = rng.normal(size=len(ts))
    bars = np.arange(1, 100) * D + 16 * H
    delay = 90 * 60 * 10**9
    full = asof_join(make_signals(ts, sym, val), bars, ["A", "B", "C"], delay_ns=delay,
                     max_age_ns=5 * D)  # fmt: skip
    for i in (10, 50, 98):
        t = bars[i]
        cut = ts + delay <= t
        part = asof_join(make_signals(ts[cut], sym[cut], val[cut]), bars[: i + 1], ["A", "B", "C"],
                         delay_ns=delay, max_age_ns=5 * D)  # fmt: skip
        np.testing.assert_array_equal(part.value, full.value[: i + 1])
        np.testing.assert_array_equal(part.status, full.status[: i + 1])
        # the join never uses a signal before its delay has passed
    used = full.signal_ts >= 0
    assert (full.signal_ts[used] + delay <= np.broadcast_to(bars[:, None], used.shape)[used]).all()


def test_read_signals_csv_and_errors(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("ts,symbol,weight\n2020-01-02,B,0.5\n2020-01-01,A,-0.5\n")
    s = read_signals(p)
    assert s.kind == "weight" and s.symbols == ["A", "B"]
    assert s.value.tolist() == [-0.5, 0.5]
    p.write_text("ts,symbol,score\n2020-01-01,A,0.1\n2020-01-01,A,0.2\n")
    with pytest.raises(DataError, match="same symbol and time"):
        read_signals(p)
    p.write_text("ts,symbol,score\n2020-01-01,A,0.1\n2020-01-02,A,abc\n")
    with pytest.raises(DataError, match="row 3.*not a number"):
        read_signals(p)
    p.write_text("ts,symbol,score,weight\n2020-01-01,A,0.1,0.2\n")
    with pytest.raises(DataError, match="value column"):
        read_signals(p)
    p.write_text("time,symbol,score\n2020-01-01,A,0.1\n")
    with pytest.raises(DataError, match="missing column"):
        read_signals(p)


def test_score_text_by_hand():
    assert score_text("Bullish on $GOOG, strong growth http://t.co/x") == (3, 0)
    assert score_text("$MSFT not a good quarter, shares drop") == (0, 2)  # negated 'good'
    assert score_text("@user $AAPL nothing here") == (0, 0)


def test_daily_sentiment_buckets_and_stamps_at_bucket_end(tmp_path):
    tweets = read_tweets([SENT / "stocknet_MSFT_tweets_2014-2016.jsonl.gz",
                          SENT / "stocknet_GOOG_tweets_2014-2016.jsonl.gz"])  # fmt: skip
    assert len(tweets) == 3601 + 7607
    assert tweets["ts"].is_monotonic_increasing
    d = daily_sentiment(tweets)
    assert set(d["symbol"]) == {"GOOG", "MSFT"}
    # every tweet counted once, and only in the bucket that ends at or after it
    assert d["n_tweets"].sum() == len(tweets)
    first = tweets.iloc[0]
    row = d[(d["symbol"] == first["symbol"])].iloc[0]
    assert row["ts"] >= first["ts"] and row["ts"] - first["ts"] < D
    assert (d["ts"] % D == 0).all()
    assert ((d["score"] > -1) & (d["score"] < 1)).all()
    r = d.iloc[5]
    assert r["score"] == pytest.approx((r["pos"] - r["neg"]) / (r["pos"] + r["neg"] + 1))
    # a 21:00 UTC cutoff (after the 16:00 New York close) moves stamps to 21:00
    d21 = daily_sentiment(tweets, cutoff="21:00")
    assert (d21["ts"] % D == 21 * H).all()
    out = write_signal_csv(d, tmp_path / "sig.csv")
    back = read_signals(out)
    assert len(back) == len(d) and back.kind == "score"
    np.testing.assert_array_equal(np.sort(back.ts), np.sort(d["ts"].to_numpy()))


def test_read_tweets_names_bad_line(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_text(
        '{"ticker":"A","created_at":"Wed Jan 01 17:36:01 +0000 2014","text":"x"}\n{"ticker":"A"}\n'
    )
    with pytest.raises(DataError, match="row 2"):
        read_tweets([p])


def test_read_signals_parquet_with_datetime_column(tmp_path):
    import polars as pl

    p = tmp_path / "s.parquet"
    pl.DataFrame(
        {
            "ts": pl.Series(["2020-01-02 21:00", "2020-01-01 21:00"]).str.to_datetime(
                time_zone="UTC"
            ),
            "symbol": ["A", "A"],
            "score": [0.25, -0.5],
        }
    ).write_parquet(p)
    s = read_signals(p)
    assert s.kind == "score" and s.value.tolist() == [-0.5, 0.25]
    assert s.ts[0] == np.datetime64("2020-01-01T21:00", "ns").astype(np.int64)
    j = asof_join(s, [s.ts[0] - 1, s.ts[0], s.ts[1] + D], ["A"])
    assert j.status[:, 0].tolist() == [MISSING, OK, OK] and j.value[2, 0] == 0.25
