"""External-signal long-short strategy: weights by hand, strict as-of timing on the engine,
no look-ahead, and the tweet-sentiment example end to end."""

from __future__ import annotations

import numpy as np
import pytest
from statarb_helpers import TWEETS, goog_msft, run, truncate

from data.errors import StrategyError
from data.timeutil import ns_to_iso
from strategies.signals.longshort import SignalLongShort, long_short_weights
from strategies.signals.sentiment import daily_sentiment, read_tweets, write_signal_csv

H = 3600 * 10**9


def test_long_short_weights_by_hand():
    names = ["A", "B", "C", "D", "E"]
    s = np.array([3.0, 1.0, 2.0, np.nan, 0.0])
    w = long_short_weights(s, quantile=0.25, weighting="equal", gross=1.0, long_only=False,
                           min_names=2, names=names)  # fmt: skip
    np.testing.assert_array_equal(w, [0.5, 0, 0, 0, -0.5])  # 4 usable -> 1 per side
    w = long_short_weights(s, quantile=0.5, weighting="score", gross=1.0, long_only=False,
                           min_names=2, names=names)  # fmt: skip
    # mean 1.5: long A (1.5), C (0.5) -> 0.375, 0.125; short E (1.5), B (0.5)
    np.testing.assert_allclose(w, [0.375, -0.125, 0.125, 0, -0.375])
    w = long_short_weights(s, quantile=0.5, weighting="equal", gross=1.0, long_only=True,
                           min_names=2, names=names)  # fmt: skip
    np.testing.assert_allclose(w, [0.5, 0, 0.5, 0, 0])
    flat = long_short_weights(np.array([1.0, np.nan]), quantile=0.5, weighting="equal",
                              gross=1.0, long_only=False, min_names=2, names=names[:2])  # fmt: skip
    assert not flat.any()  # fewer than min_names usable signals
    ties = long_short_weights(np.array([1.0, 1.0]), quantile=0.5, weighting="equal", gross=1.0,
                              long_only=False, min_names=2, names=names[:2])  # fmt: skip
    assert not ties.any()  # no information


def write(tmp_path, rows, name="sig.csv", col="score"):
    p = tmp_path / name
    p.write_text(
        f"ts,symbol,{col}\n" + "".join(f"{ns_to_iso(int(t))},{s},{v!r}\n" for t, s, v in rows)
    )
    return p


def test_signal_is_traded_only_from_ts_plus_delay(tmp_path):
    market = goog_msft("2015-01-01", "2015-03-31")
    bars = market["GOOG"]["ts"]
    t0 = int(bars[10]) - H  # an hour before bar 10's close
    sig = write(tmp_path, [(t0, "GOOG", 1.0), (t0, "MSFT", -1.0)])
    for delay, first in (("0", 10), ("1h", 10), ("61min", 11), ("1d", 11)):
        strat = SignalLongShort(signals=str(sig), quantile=0.5, delay=delay)
        run(market, strat)
        active = [d[1] for d in strat.decisions if d[2].any()]
        assert active[0] == first, delay
        w = strat.decisions[first][2]
        assert w.tolist() == [0.5, -0.5]  # long GOOG, short MSFT
        assert all(not d[2].any() for d in strat.decisions[:first])


def test_missing_and_stale_signals_go_flat(tmp_path):
    market = goog_msft("2015-01-01", "2015-03-31")
    bars = market["GOOG"]["ts"]
    sig = write(tmp_path, [(int(bars[5]), "GOOG", 1.0), (int(bars[5]), "MSFT", -1.0),
                           (int(bars[20]), "GOOG", 0.5)])  # fmt: skip
    strat = SignalLongShort(signals=str(sig), quantile=0.5, max_age="4d")
    run(market, strat)
    active = [d[1] for d in strat.decisions if d[2].any()]
    assert active[0] == 5
    # signals of bar 5 go stale after 4 days: flat until bar 20 brings GOOG back, but MSFT
    # stays stale, so fewer than min_names=2 usable signals: still flat
    assert max(active) < 20
    st = strat.report_stats()
    assert st["signal_missing"] == 2 * 5 and st["signal_stale"] > 0
    assert st["signal_ok"] + st["signal_missing"] + st["signal_stale"] == 2 * len(bars)


def test_weight_files_are_targets(tmp_path):
    market = goog_msft("2015-01-01", "2015-02-28")
    t = int(market["GOOG"]["ts"][3])
    sig = write(tmp_path, [(t, "GOOG", 0.3), (t, "MSFT", 0.2)], col="weight")
    strat = SignalLongShort(signals=str(sig))
    res = run(market, strat)
    assert strat.decisions[3][2].tolist() == [0.3, 0.2]
    assert len(res.fills) == 2


def test_no_look_ahead_on_the_sentiment_signal(tmp_path):
    tweets = read_tweets(TWEETS)
    sig = write_signal_csv(daily_sentiment(tweets, cutoff="20:00"), tmp_path / "s.csv")
    market = goog_msft()
    full = SignalLongShort(signals=str(sig), quantile=0.5)
    run(market, full)
    t = int(market["GOOG"]["ts"][250])
    # the signal file cut at t, and the market cut at t: decisions up to t are unchanged
    cut = daily_sentiment(tweets[tweets["ts"] <= t], cutoff="20:00")
    sig_cut = write_signal_csv(cut[cut["ts"] <= t], tmp_path / "cut.csv")
    part = SignalLongShort(signals=str(sig_cut), quantile=0.5)
    run(truncate(market, t), part)
    assert len(part.decisions) == 251
    for a, b in zip(part.decisions, full.decisions[:251], strict=True):
        assert a[:2] == b[:2]
        np.testing.assert_array_equal(a[2], b[2])


def test_sentiment_example_end_to_end(tmp_path):
    sig = write_signal_csv(daily_sentiment(read_tweets(TWEETS), cutoff="20:00"), tmp_path / "s.csv")
    strat = SignalLongShort(signals=str(sig), quantile=0.5)
    res = run(goog_msft(), strat)
    st = strat.report_stats()
    assert st["signal_decisions"] == len(goog_msft()["GOOG"])
    assert 0 < st["signal_flat_decisions"] < st["signal_decisions"]
    assert len(res.fills) > 50


def test_a_signal_file_for_other_symbols_is_an_error(tmp_path):
    market = goog_msft("2015-01-01", "2015-02-28")
    sig = write(tmp_path, [(int(market["GOOG"]["ts"][0]), "AAPL", 1.0)])
    with pytest.raises(StrategyError, match="no symbol of the signal file"):
        run(market, SignalLongShort(signals=str(sig)))


def test_bad_parameters():
    with pytest.raises(StrategyError, match="signal file"):
        SignalLongShort()
    with pytest.raises(StrategyError, match="quantile"):
        SignalLongShort(signals="x.csv", quantile=0.0)
