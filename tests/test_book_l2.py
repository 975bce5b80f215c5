"""L2 price-level book: deltas, snapshots, clear/reset flags, the strategy view, properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.errors import DataError
from data.readers.tardis import read_tardis
from data.schema import BUY, DEPTH, DEPTH_CLEAR, DEPTH_LAST, DEPTH_SNAPSHOT, SELL
from engine.book import L2Book, l2_nb
from engine.book import codes as C


def _depth(rows):
    out = np.zeros(len(rows), DEPTH)
    for i, (side, price, size, flags) in enumerate(rows):
        out[i] = (i, i, side, price, size, flags)
    return out


def test_view_best_levels_spread_microprice_imbalance():
    b = L2Book(0.5)
    b.apply(_depth([
        (BUY, 100.0, 3, 0), (BUY, 99.5, 1, 0), (BUY, 98.0, 6, 0),
        (SELL, 101.0, 1, 0), (SELL, 102.5, 4, DEPTH_LAST),
    ]))
    assert b.best() == (100.0, 3.0, 101.0, 1.0)
    assert b.spread() == 1.0 and b.mid() == 100.5
    assert b.microprice() == pytest.approx((100.0 * 1 + 101.0 * 3) / 4)
    assert b.imbalance(1) == pytest.approx((3 - 1) / 4)
    assert b.imbalance(2) == pytest.approx((4 - 5) / 9)
    p, q = b.levels("bid", 5)
    assert p.tolist() == [100.0, 99.5, 98.0] and q.tolist() == [3, 1, 6]
    assert b.levels("ask", 1)[0].tolist() == [101.0]
    assert b.size_at("bid", 99.5) == 1.0 and b.size_at("bid", 99.0) == 0.0
    assert l2_nb.l2_level_nb(*b.state, 0, 2) == (196, 6.0)
    assert l2_nb.l2_level_nb(*b.state, 1, 0) == (202, 1.0)
    assert l2_nb.l2_level_nb(*b.state, 1, 5)[0] == C.NO_TICK


def test_delete_update_and_delete_of_a_missing_level():
    b = L2Book(1.0)
    b.apply(_depth([(BUY, 10, 1, 0), (BUY, 10, 5, 0), (BUY, 9, 2, 0), (BUY, 10, 0, 0),
                    (BUY, 7, 0, 0)]))
    assert b.best_bid() == (9.0, 2.0)
    assert b.counters() == {"price level not in book": 1}


def test_snapshot_clear_and_reset_flags():
    b = L2Book(1.0)
    b.apply(_depth([(BUY, 10, 1, 0), (SELL, 12, 1, 0), (SELL, 13, 1, DEPTH_LAST)]))
    # a snapshot: clear both sides, then levels
    b.apply(_depth([(0, np.nan, 0, DEPTH_CLEAR | DEPTH_SNAPSHOT), (BUY, 20, 2, DEPTH_SNAPSHOT),
                    (SELL, 21, 3, DEPTH_SNAPSHOT | DEPTH_LAST)]))
    assert b.best() == (20.0, 2.0, 21.0, 3.0) and b.n_levels("ask") == 1 and b.valid
    # clearing one side only
    b.apply(_depth([(SELL, 25, 1, DEPTH_CLEAR | DEPTH_LAST)]))
    assert b.levels("ask")[0].tolist() == [25.0] and b.best_bid() == (20.0, 2.0)
    # a reset (both sides, no snapshot flag) invalidates the book until a snapshot
    b.apply(_depth([(0, np.nan, 0, DEPTH_CLEAR | DEPTH_LAST)]))
    assert not b.valid and b.n_levels("bid") == 0 and np.isnan(b.best_bid()[0])
    b.apply(_depth([(BUY, 5, 1, DEPTH_SNAPSHOT | DEPTH_LAST)]))
    assert b.valid


def test_crossed_batches_are_counted():
    b = L2Book(1.0)
    b.apply(_depth([(BUY, 10, 1, 0), (SELL, 10, 1, DEPTH_LAST), (SELL, 10, 0, 0),
                    (SELL, 11, 1, DEPTH_LAST)]))
    assert b.counters() == {"crossed book after a batch": 1}
    assert not b.is_crossed()


def test_window_overflow_growth_and_off_grid_prices():
    b = L2Book(0.1, window=64, overflow=16)
    n = 1000
    rows = [(BUY, round(1000 - 0.1 * i, 1), 1 + i, 0) for i in range(n)]
    rec = b.apply(_depth(rows), record_top=True)
    assert b.n_levels("bid") == n and b.ok.shape[1] >= n - 64
    assert (rec[0][:, 0] == 10000).all() and (rec[1][:, 0] == 1).all()
    p, q = b.levels("bid", n)
    assert np.allclose(p, 1000 - 0.1 * np.arange(n)) and (q == 1 + np.arange(n)).all()
    assert (rec[0][:, 1] == C.NO_TICK).all()
    with pytest.raises(DataError, match="tick size"):
        b.apply(_depth([(SELL, 1000.05, 1, 0)]))


def test_tardis_snapshots_rebuild_the_files_top_of_book(samples):
    """Independent check: after each Tardis book_snapshot_25 the book's top equals the row."""
    path = samples / "crypto" / "tardis_binance-futures_BTCUSDT_book_snapshot_25_2020-09-01.csv"
    t = read_tardis(path)
    b = L2Book(0.01)
    top_t, top_q = b.apply(t.data, record_top=True)
    last = np.flatnonzero(t.data["flags"] & DEPTH_LAST)
    raw = np.genfromtxt(path, delimiter=",", skip_header=1, usecols=(4, 5, 6, 7))
    assert len(last) == len(raw) == 10
    np.testing.assert_array_equal(top_t[last, 1], np.rint(raw[:, 0] / 0.01))  # best ask
    np.testing.assert_array_equal(top_q[last, 1], raw[:, 1])
    np.testing.assert_array_equal(top_t[last, 0], np.rint(raw[:, 2] / 0.01))  # best bid
    np.testing.assert_array_equal(top_q[last, 0], raw[:, 3])
    assert b.n_levels("bid") == 25 and b.n_levels("ask") == 25


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(0, 40),
                              st.sampled_from([0.0, 0.0, 1.0, 2.5, 7.0, 1e-3]),
                              st.sampled_from([0, 0, 0, 0, DEPTH_CLEAR])), max_size=200),
       window=st.sampled_from([4, 8, 32, 1 << 16]), drift=st.integers(-3, 3))
def test_l2_matches_a_dict_reference_and_never_crosses_on_consistent_input(ops, window, drift):
    """Small windows force levels into the overflow and the window to move (the mid drifts by
    ``drift`` ticks per row)."""
    ref = {BUY: {}, SELL: {}}
    rows = []
    tops = []
    for i, (side, off, size, flags) in enumerate(ops):
        # consistent input: a bid is set below the best ask and vice versa
        mid = 1000 + drift * i
        if side == BUY:
            price = mid - off
            if size > 0 and ref[SELL] and price >= min(ref[SELL]):
                continue
        else:
            price = mid + 1 + off
            if size > 0 and ref[BUY] and price <= max(ref[BUY]):
                continue
        if flags & DEPTH_CLEAR:
            ref[side].clear()
        if size > 0:
            ref[side][price] = size
        else:
            ref[side].pop(price, None)
        rows.append((side, float(price), size, flags | DEPTH_LAST))
        tops.append((max(ref[BUY]) if ref[BUY] else C.NO_TICK,
                     min(ref[SELL]) if ref[SELL] else C.NO_TICK))
    b = L2Book(1.0, window=window, overflow=16)
    top_t, top_q = b.apply(_depth(rows), record_top=True) if rows else (None, None)
    for side, name in ((BUY, "bid"), (SELL, "ask")):
        want = sorted(ref[side].items(), reverse=(side == BUY))
        p, q = b.levels(name, 1000)
        assert list(zip(p.tolist(), q.tolist(), strict=True)) == [(float(k), v) for k, v in want]
    assert not b.is_crossed()
    assert "crossed book after a batch" not in b.counters()
    if rows:
        assert top_t.tolist() == [list(t) for t in tops]  # best bid/ask after every row
        for s, side in ((0, BUY), (1, SELL)):
            want = (max(ref[side]) if side == BUY else min(ref[side])) if ref[side] else C.NO_TICK
            assert top_t[-1, s] == want
            assert l2_nb.l2_qty_at_nb(*b.state, s, want) == (ref[side][want] if ref[side] else 0)
