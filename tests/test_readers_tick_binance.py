"""Binance USD-M capture reader: kinds, both clocks, sequence gaps, errors; sync procedure."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from data.errors import DataError
from data.readers.binance import (
    APPLIED,
    STALE,
    STRADDLE_MISS,
    WAITING,
    read_binance_stream,
    sync_depth,
)
from data.schema import BUY, DEPTH_CLEAR, DEPTH_LAST, DEPTH_SNAPSHOT, SELL

SAMPLE = "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"


def test_sample_capture_counts_clocks_and_spot_values(samples):
    s = read_binance_stream(samples / SAMPLE)
    assert s.symbol == "BTCUSDT"
    assert (len(s.diffs), len(s.quotes), len(s.trades), len(s.snapshots)) == (3326, 7113, 974, 1)
    assert len(s.agg_trades) == 0 and s.other == {} and len(s.gaps) == 0
    snap = s.snapshots[0]
    assert (snap.last_update_id, snap.line, snap.ts_recv) == (4984028384061, 14, 1721347021281597601)
    assert snap.depth["flags"][0] == DEPTH_CLEAR | DEPTH_SNAPSHOT and snap.depth["side"][0] == 0
    assert snap.depth["flags"][-1] & DEPTH_LAST
    assert snap.depth["price"][1] == 63943.90 and snap.depth["size"][1] == 46.372
    d0 = s.diffs[0]
    assert (d0["first_id"], d0["last_id"], d0["prev_id"]) == (4984028367545, 4984028370730, 4984028367494)
    assert d0["ts"] == 1721347022504 * 10**6 and d0["ts_recv"] == 1721347020984480942
    rows = s.depth[d0["start"]:d0["stop"]]
    assert rows["price"][0] == 1000.0 and rows["size"][0] == 569.567 and rows["side"][0] == BUY
    assert (rows["flags"][:-1] == 0).all() and rows["flags"][-1] == DEPTH_LAST
    q = s.quotes[0]
    assert (q["bid"], q["bid_size"], q["ask"], q["ask_size"]) == (63943.90, 46.371, 63944.00, 0.095)
    assert q["ts"] == 1721347022507 * 10**6 and s.quote_update_id[0] == 4984028370881
    t = s.trades[0]
    assert (t["price"], t["size"], t["side"]) == (63943.90, 0.003, SELL)  # m=true: seller hit
    assert s.trade_id[0] == 5182005737 and t["ts_recv"] == 1721347021434994132
    assert s.depth["ts_recv"][-1] == 1721347198986000156
    assert s.tick_size_hint == 0.01
    # local receive clock runs about 1.5 s behind the exchange clock in this capture
    assert -2.0e9 < np.median(s.quotes["ts_recv"] - s.quotes["ts"]) < -1.0e9


def test_sample_sync_follows_the_documented_procedure(samples):
    s = read_binance_stream(samples / SAMPLE)
    sync = sync_depth(s)
    lid = s.snapshots[0].last_update_id
    applied = sync.diff_status == APPLIED
    assert applied.sum() == 3321 and (sync.diff_status == STALE).sum() == 5
    assert (s.diffs["last_id"][sync.diff_status == STALE] < lid).all()
    first = np.flatnonzero(applied)[0]
    assert s.diffs["first_id"][first] <= lid <= s.diffs["last_id"][first]
    # buffered diffs received before the snapshot are applied when it arrives
    assert sync.depth["ts_recv"][sync.diff_end_row[first]] == s.snapshots[0].ts_recv
    assert sync.resets == [] and sync.snapshots_used == [0]
    assert (np.diff(sync.depth["ts_recv"]) >= 0).all()


def _line(recv, obj):
    return f"{recv} {json.dumps(obj)}"


def _diff(U, u, pu, bids=(), asks=(), E=1000):
    return {"stream": "x@depth@0ms", "data": {"e": "depthUpdate", "E": E, "T": E, "s": "XUSDT",
            "U": U, "u": u, "pu": pu, "b": [list(b) for b in bids], "a": [list(a) for a in asks]}}


def _snap(lid, bids, asks):
    return {"lastUpdateId": lid, "E": 1, "T": 1, "bids": [list(b) for b in bids],
            "asks": [list(a) for a in asks]}


def test_sync_stale_straddle_gap_and_resync(tmp_path):
    lines = [
        _line(1, _diff(80, 90, 70, bids=[("10.0", "1")])),          # stale: u < lid
        _line(2, _diff(91, 105, 90, bids=[("10.0", "2")])),         # straddles lid=100
        _line(3, _snap(100, [("10.0", "5"), ("9.0", "1")], [("11.0", "3")])),
        _line(4, _diff(106, 110, 105, asks=[("11.0", "4")])),       # chains
        _line(5, _diff(120, 130, 115, asks=[("11.0", "9")])),       # gap: pu 115 != 110
        _line(6, _diff(131, 140, 130, bids=[("9.5", "1")])),        # waits for a snapshot
        _line(7, _snap(140, [("9.5", "1")], [("11.0", "7")])),      # resync: 131..140 straddles
        _line(8, _diff(141, 150, 140, bids=[("9.5", "0")], asks=[("12.0", "1")])),
    ]
    f = tmp_path / "cap.txt"
    f.write_text("\n".join(lines) + "\n")
    s = read_binance_stream(f)
    assert [(g["stream"], g["line"], g["expected"], g["got"]) for g in s.gaps] == [
        ("depth", 5, 110, 115)]
    sync = sync_depth(s)
    assert sync.diff_status.tolist() == [STALE, APPLIED, APPLIED, STALE, APPLIED, APPLIED]
    assert sync.resets == [5] and sync.snapshots_used == [0, 1]
    from engine.book import L2Book

    b = L2Book(0.1)
    b.apply(sync.depth)
    bid, bid_size, ask, ask_size = b.best()
    assert np.isnan(bid) and bid_size == 0.0 and (ask, ask_size) == (11.0, 7.0)
    assert b.levels("ask")[0].tolist() == [11.0, 12.0]
    # right after the gap the book is empty and invalid, until the second snapshot
    flags = sync.depth["flags"]
    is_reset = ((flags & DEPTH_CLEAR) > 0) & (sync.depth["side"] == 0) & ((flags & DEPTH_SNAPSHOT) == 0)
    reset_row = int(np.flatnonzero(is_reset)[0])
    b2 = L2Book(0.1)
    b2.apply(sync.depth[: reset_row + 1])
    assert not b2.valid and b2.n_levels("bid") == 0 and b2.n_levels("ask") == 0
    b2.apply(sync.depth[reset_row + 1:])
    assert b2.valid


def test_snapshot_too_old_is_a_gap_and_the_book_waits(tmp_path):
    lines = [
        _line(1, _snap(100, [("10.0", "5")], [("11.0", "3")])),
        _line(2, _diff(150, 160, 140, bids=[("10.0", "2")])),  # U > lid: cannot straddle
        _line(3, _diff(161, 170, 160, bids=[("10.0", "3")])),
    ]
    f = tmp_path / "cap.txt"
    f.write_text("\n".join(lines))
    sync = sync_depth(read_binance_stream(f))
    assert sync.diff_status.tolist() == [STRADDLE_MISS, WAITING]
    assert len(sync.resets) == 1


def test_trade_and_aggtrade_ids_gaps_and_aggressor(tmp_path):
    def trade(t, m, kind="trade"):
        key = "t" if kind == "trade" else "a"
        return {"stream": "x", "data": {"e": kind, "E": 5, "T": 4, "s": "XUSDT", key: t,
                                        "p": "1.5", "q": "2", "m": m}}
    lines = [_line(1, trade(10, True)), _line(2, trade(11, False)), _line(3, trade(13, False)),
             _line(4, trade(7, True, "aggTrade")), _line(5, trade(8, False, "aggTrade")),
             _line(6, {"e": "markPriceUpdate", "E": 1})]
    f = tmp_path / "cap.txt"
    f.write_text("\n".join(lines))
    s = read_binance_stream(f)
    assert s.trades["side"].tolist() == [SELL, BUY, BUY]
    assert s.agg_trades["side"].tolist() == [SELL, BUY]
    assert s.trades["ts"][0] == 4 * 10**6 and s.trades["ts_recv"][0] == 1
    assert [(g["stream"], g["line"], g["expected"], g["got"]) for g in s.gaps] == [
        ("trade", 3, 12, 13)]
    assert s.other == {"markPriceUpdate": 1}


def test_several_files_chain_in_order(samples, tmp_path):
    raw = gzip.open(samples / SAMPLE, "rt").read().splitlines()
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(raw[:5000]))
    b.write_text("\n".join(raw[5000:]))
    whole = read_binance_stream(samples / SAMPLE)
    both = read_binance_stream([a, b])
    assert len(both.diffs) == len(whole.diffs) and len(both.gaps) == 0
    np.testing.assert_array_equal(both.quote_line, whole.quote_line)
    with pytest.raises(DataError, match="back in time"):
        read_binance_stream([b, a])


@pytest.mark.parametrize(("text", "match"), [
    ("12x {}", "receive time"),
    ("123", "no JSON"),
    ('123 {"stream": "x", "data": {"e": "depthUpdate", "E": 1', "invalid JSON"),
    ('123 {"stream": "x", "data": {"e": "depthUpdate", "E": 1, "U": 1}}', "malformed depthUpdate"),
    ("123 [1, 2]", "not an object"),
])
def test_malformed_lines_name_file_and_line(tmp_path, text, match):
    f = tmp_path / "cap.txt"
    f.write_text('1 {"e": "x"}\n' + text + "\n")
    with pytest.raises(DataError, match=match) as exc:
        read_binance_stream(f)
    assert exc.value.row == 2 and exc.value.file == str(f)
