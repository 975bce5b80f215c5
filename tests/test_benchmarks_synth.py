"""The benchmark data generators and runner-protocol helpers (benchmarks/): determinism,
OHLC consistency, an L2 feed that never crosses, and both feed encodings carrying the same
events."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import synth
from benchmarks.runners import _protocol as P
from data.schema import BAR, BUY, DEPTH, SELL, TRADE


def test_bars_are_deterministic_and_consistent():
    a = synth.generate_bars(5000, seed=3)
    b = synth.generate_bars(5000, seed=3)
    c = synth.generate_bars(5000, seed=4)
    assert a.dtype == BAR
    assert np.array_equal(a, b)
    assert not np.array_equal(a["close"], c["close"])
    assert (a["high"] >= np.maximum(a["open"], a["close"])).all()
    assert (a["low"] <= np.minimum(a["open"], a["close"])).all()
    assert (a["low"] > 0).all() and (a["volume"] >= 1).all()
    assert (np.diff(a["ts"]) == synth.BAR_INTERVAL_NS).all()
    # the open gaps only slightly from the previous close
    gap = np.abs(np.log(a["open"][1:] / a["close"][:-1]))
    assert gap.max() < 0.01


def test_bars_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEREADER_BENCH_HOME", str(tmp_path))
    npy = synth.bars_path(300, seed=5)
    csv = synth.bars_path(300, seed=5, csv=True)
    assert npy.parent == tmp_path / "data"
    arr = np.load(npy)
    assert np.array_equal(arr, synth.generate_bars(300, seed=5))
    import pandas as pd

    df = pd.read_csv(csv)
    assert list(df.columns) == ["datetime", "open", "high", "low", "close", "volume"]
    assert np.array_equal(df["close"].to_numpy(), arr["close"])  # floats written exactly
    ts = np.array([s.rstrip("Z") for s in df["datetime"]], dtype="datetime64[ns]").astype(np.int64)
    assert np.array_equal(ts, arr["ts"])


def test_l2_feed_same_events_in_both_encodings():
    feed = synth.generate_l2(20_000, seed=11)
    depth, trade, hft = feed["depth"], feed["trade"], feed["hft"]
    assert depth.dtype == DEPTH and trade.dtype == TRADE
    assert depth.size + trade.size == hft.size == 20_000
    assert np.array_equal(np.sort(np.r_[feed["depth_seq"], feed["trade_seq"]]), np.arange(20_000))
    # exchange and receive times are monotone and receive is never before exchange time
    assert (np.diff(hft["exch_ts"]) >= 0).all() and (np.diff(hft["local_ts"]) >= 0).all()
    assert (hft["local_ts"] >= hft["exch_ts"]).all()
    is_trade = (hft["ev"] & synth.HFT_TRADE_EVENT) != 0
    assert np.array_equal(np.flatnonzero(is_trade), feed["trade_seq"])
    for rows, seq in ((depth, feed["depth_seq"]), (trade, feed["trade_seq"])):
        h = hft[seq]
        assert np.array_equal(rows["ts"], h["exch_ts"])
        assert np.array_equal(rows["ts_recv"], h["local_ts"])
        assert np.array_equal(rows["price"], h["px"]) and np.array_equal(rows["size"], h["qty"])
        buy = (h["ev"] & synth.HFT_BUY_EVENT) != 0
        assert np.array_equal(rows["side"] == BUY, buy)
        assert np.array_equal(rows["side"] == SELL, ~buy)
    # prices on the tick grid, integer lots, every trade at a price with a depth update after it
    ticks = depth["price"] / synth.TICK_SIZE
    assert np.allclose(ticks, np.round(ticks))
    assert (trade["size"] >= 1).all() and (np.mod(trade["size"], 1) == 0).all()
    assert (trade["size"] > 0).all() and (depth["size"] >= 0).all()


def test_l2_book_never_crosses_and_trades_hit_the_touch():
    feed = synth.generate_l2(50_000, seed=2)
    assert synth.check_l2_book(feed["depth"])["crossed_rows"] == 0
    # replay the merged stream: a buy trade prints at the best ask, a sell at the best bid
    hft = feed["hft"]
    bids, asks = {}, {}
    for row in hft:
        px = round(row["px"] / synth.TICK_SIZE)
        buy = bool(row["ev"] & synth.HFT_BUY_EVENT)
        if row["ev"] & synth.HFT_TRADE_EVENT:
            book = asks if buy else bids
            best = min(book) if buy else max(book)
            assert px == best
            assert row["qty"] <= book[px]
        else:
            book = bids if buy else asks
            if row["qty"] > 0:
                book[px] = row["qty"]
            else:
                book.pop(px, None)


def test_l2_is_deterministic():
    a = synth.generate_l2(5_000, seed=9)["hft"]
    b = synth.generate_l2(5_000, seed=9)["hft"]
    assert np.array_equal(a, b)


def test_sweep_grid_shapes():
    g100, g1000 = P.sweep_grid(100), P.sweep_grid(1000)
    assert len(g100) == len(set(g100)) == 100
    assert len(g1000) == len(set(g1000)) == 1000
    assert all(f < s for f, s in g100 + g1000)
    with pytest.raises(ValueError):
        P.sweep_grid(10)


def test_trades_from_fills_reversal_and_open_trade():
    fills = [(3, 10.0, 100.0, 1.0), (7, -25.0, 110.0, 2.5), (9, 15.0, 90.0, 1.5)]
    trades = P.trades_from_fills(fills, last_close=95.0, last_bar=12)
    assert [t["side"] for t in trades] == ["long", "short"]
    t0, t1 = trades
    assert (t0["entry_bar"], t0["exit_bar"], t0["size"]) == (3, 7, 10.0)
    assert t0["fees"] == pytest.approx(1.0 + 1.0)  # 10 of the 25 units close the long
    assert t0["pnl"] == pytest.approx(10 * 10 - 2.0)
    assert (t1["entry_bar"], t1["exit_bar"], t1["size"], t1["status"]) == (7, 9, 15.0, "closed")
    assert t1["pnl"] == pytest.approx(15 * 20 - 1.5 - 1.5)
    open_ = P.trades_from_fills([(2, -4.0, 50.0, 0.2)], last_close=45.0, last_bar=5)
    assert open_[0]["status"] == "open" and open_[0]["exit_price"] == 45.0
    assert open_[0]["pnl"] == pytest.approx(4 * 5 - 0.2)
