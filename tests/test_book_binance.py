"""Rebuilding the Binance USD-M book from the shipped capture agrees with bookTicker.

Threshold: the comparison by update id is exact by construction (docs/order_book.md): a
bookTicker is pushed on every best-level change and carries the id of the update that caused
it, so the book after diff j must equal the last ticker with id <= u_j. On the shipped capture
(and on the 5-minute continuation in the shared data) every one of the 3,321 applied diffs and
every comparable ticker agrees: the test asserts 100%. A mismatch would mean a bug, a lost
websocket message or a wrong tick size, never noise.
"""

from __future__ import annotations

import gzip
import json

import numpy as np

from data.readers.binance import APPLIED, STALE, read_binance_stream
from engine.book import L2Book
from engine.book.binance import compare_book_ticker, rebuild_book

SAMPLE = "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"


def test_rebuilt_book_agrees_with_every_comparable_book_ticker(samples):
    s = read_binance_stream(samples / SAMPLE)
    r = compare_book_ticker(s)
    assert r.diffs_compared == 3321
    assert r.diffs_agree == r.diffs_compared  # 100%, see the module docstring
    assert r.tickers_comparable == 194 and r.tickers_agree == 194
    assert r.tickers_comparable + r.tickers_inside_batch + r.tickers_outside == r.tickers == 7113
    # matching by arrival compares different states: far from exact (contrast in the docs)
    assert r.arrival_agree < 0.1 * r.arrival_compared
    assert len(r.diff_mismatches) == 0
    assert "100.000%" in r.report()


def test_wrong_sizes_would_be_caught(samples):
    s = read_binance_stream(samples / SAMPLE)
    s.quotes["bid_size"][100:110] += 0.001  # ten tickers now disagree with the book
    r = compare_book_ticker(s)
    assert r.diffs_agree < r.diffs_compared


def test_book_is_never_crossed_and_final_state_is_plausible(samples):
    s = read_binance_stream(samples / SAMPLE)
    sync, book, top_t, _ = rebuild_book(s)
    valid = (top_t[:, 0] > -(2**61)) & (top_t[:, 1] > -(2**61))
    batch_end = (sync.depth["flags"] & 4) > 0
    assert (top_t[valid & batch_end, 0] < top_t[valid & batch_end, 1]).all()
    # deletes of levels the book never held are normal here: the REST snapshot has the best
    # 1000 levels, the diffs also remove deeper ones
    assert set(book.counters()) == {"price level not in book"} and book.valid
    assert book.best_bid()[0] == s.quotes["bid"][-1] and book.best_ask()[0] == s.quotes["ask"][-1]
    assert book.n_levels("bid") > 1000 and book.n_levels("ask") > 1000


def test_gap_then_resync_from_a_later_snapshot_on_real_data(samples, tmp_path):
    """Drop one diff (a gap), then insert a snapshot taken later: the diffs in between are not
    applied, the book is invalid meanwhile, and after the resync it agrees again."""
    lines = gzip.open(samples / SAMPLE, "rt").read().splitlines()
    clean = read_binance_stream(samples / SAMPLE)
    sync0, _, _, _ = rebuild_book(clean)
    d = clean.diffs
    k_gap, k_snap = 1000, 1200
    # the true book after diff k_snap, as a REST snapshot with lastUpdateId = u_k_snap
    book = L2Book(0.01)
    book.apply(sync0.depth[: sync0.diff_end_row[k_snap] + 1])
    bids = [[f"{p:.2f}", repr(float(q))] for p, q in zip(*book.levels("bid", 10_000), strict=True)]
    asks = [[f"{p:.2f}", repr(float(q))] for p, q in zip(*book.levels("ask", 10_000), strict=True)]
    snap_line = int(d["line"][k_snap])
    recv = lines[snap_line - 1].split(" ", 1)[0]
    snap = json.dumps({"lastUpdateId": int(d["last_id"][k_snap]), "E": 1, "T": 1,
                       "bids": bids, "asks": asks})
    out = list(lines)
    out.insert(snap_line, f"{recv} {snap}")  # right after diff k_snap's line
    del out[int(d["line"][k_gap]) - 1]  # drop diff k_gap
    f = tmp_path / "gap.txt"
    f.write_text("\n".join(out))
    s = read_binance_stream(f)
    assert len(s.gaps) == 1 and s.gaps["stream"][0] == "depth"
    r = compare_book_ticker(s)
    st = r.sync.diff_status
    # diffs after the gap (index k_gap onwards in the new stream) up to k_snap - 2 are dropped
    # as stale once the snapshot arrives; diff k_snap - 1 (the old k_snap) straddles it
    assert (st[:k_gap] == APPLIED).sum() == k_gap - 5
    assert (st[k_gap : k_snap - 1] == STALE).all()
    assert (st[k_snap - 1 :] == APPLIED).all()
    assert len(r.sync.resets) == 1 and r.sync.snapshots_used == [0, 1]
    assert r.diffs_agree == r.diffs_compared == (st == APPLIED).sum()
    assert np.isin(np.arange(k_gap, k_snap - 1), r.diff_mismatches).sum() == 0
