"""Order-book features: values against the LOBSTER orderbook rows and the Binance book."""

from __future__ import annotations

import numpy as np
import pytest

from strategies.ml.book_features import BookEvents, book_features, lobster_events

S = 1_000_000_000


@pytest.fixture(scope="module")
def amzn(samples):
    from data.readers import read_lobster

    lob = samples / "lob"
    return read_lobster(lob / "AMZN_2012-06-21_first1000_message_5.csv.gz",
                        lob / "AMZN_2012-06-21_first1000_orderbook_5.csv.gz")


def test_lobster_features_match_the_orderbook_rows(amzn):
    ev = lobster_events(amzn)
    f = book_features(ev, "1s", levels=(1, 3))
    ob = amzn.orderbook
    k = 40
    g = f.ts[k]
    i = np.searchsorted(amzn.messages["ts"], g, side="left") - 1  # last update before g
    ask, bid = ob[i, 0] / 1e4, ob[i, 2] / 1e4
    mid = (ask + bid) / 2
    col = dict(zip(f.names, f.X[k], strict=True))
    assert col["spread_bps"] == pytest.approx((ask - bid) / mid * 1e4)
    b3, a3 = ob[i, 3:12:4].sum(), ob[i, 1:12:4].sum()
    assert col["imb_3"] == pytest.approx((b3 - a3) / (b3 + a3))
    micro = (bid * ob[i, 1] + ask * ob[i, 3]) / (ob[i, 1] + ob[i, 3])
    assert col["micro_bps"] == pytest.approx((micro - mid) / mid * 1e4)
    assert f.bars["close"][k] == pytest.approx(mid)
    # executions in the bin: aggressor is the opposite of the resting order's direction
    m = amzn.messages
    inbin = (m["ts"] >= g - S) & (m["ts"] < g) & np.isin(m["event"], [4, 5])
    if inbin.any():
        signed = (-m["side"][inbin] * m["size"][inbin]).sum() / m["size"][inbin].sum()
        assert col["tsi"] == pytest.approx(signed)
        assert f.bars["volume"][k] == pytest.approx(m["size"][inbin].sum())


def test_ofi_of_a_hand_made_book():
    # bid rises with size 5 (+5), then ask size at an unchanged ask grows 2 -> 4 (-2... of ask: -(4) + 2)
    ts = np.array([1, 2, 3]) * S // 10
    bid = np.array([[10.0], [10.1], [10.1]])
    bsz = np.array([[3.0], [5.0], [5.0]])
    ask = np.array([[10.2], [10.2], [10.2]])
    asz = np.array([[2.0], [2.0], [4.0]])
    ev = BookEvents(ts, bid, bsz, ask, asz, np.array([], np.int64), np.array([]), np.array([]))
    f = book_features(ev, "1s", levels=(1,), start=0)
    # e2 = +5 (bid up: new bid size) ; e3 = -(4) + 2 = -2 (ask unchanged: size change)
    # e1 vs nothing: 0. Sum 3, divided by the bin's mean best depth (2.5 + 3.5 + 4.5) / 3
    assert f.X[0, f.names.index("ofi")] == pytest.approx(3 / 3.5)
    assert f.X[0, f.names.index("imb_1")] == pytest.approx((5 - 4) / 9)


def test_binance_book_is_valid_and_uncrossed(samples):
    from data.readers import read_binance_stream
    from strategies.ml.book_features import binance_events

    st = read_binance_stream(samples / "crypto" /
                             "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz")
    ev = binance_events(st, levels=5)
    assert len(ev.ts) > 3000 and (np.diff(ev.ts) >= 0).all()
    assert (ev.bid_px[:, 0] < ev.ask_px[:, 0]).all()
    f = book_features(ev, "1s", levels=(1, 5))
    assert len(f.ts) > 170
    assert 0 < f.half_spread_bps < 1  # BTCUSDT trades at a one-tick spread most of the time
    assert np.isfinite(f.X).all()
