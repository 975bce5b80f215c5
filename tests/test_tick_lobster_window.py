"""LOBSTER window corrections: the tick simulator's L3 book stays on LOBSTER's book.

A LOBSTER message file holds only the messages that touch the top L levels, so the feed of
``lobster_feed`` inserts, after each message, the window rule's book changes (the kernel of
``tape book check``): MBO_FORGET of known orders whose level left the top L, MBO_ANON_LEVEL
for anonymous quantity (0 when it leaves, the orderbook file's size when a level enters).
Checked here on hand-built files (each correction kind, own orders kept) and on the shipped
GOOG / AMZN / AAPL samples (the book after every message equals the orderbook file)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tick_helpers import mbo

from data.errors import DataError
from data.readers.lobster import DUMMY_ASK, DUMMY_BID, read_lobster
from data.schema import (
    MBO_ADD,
    MBO_ANON_LEVEL,
    MBO_CORRECTIONS,
    MBO_DELETE,
    MBO_FORGET,
)
from engine.book import codes as C
from engine.book.book import L3Book
from engine.book.l3_nb import l3_replay_nb
from engine.book.l3_query_nb import l3_queue_position_nb
from engine.tick import TickConfig, TickSim
from engine.tick.feed import lobster_feed
from engine.tick.l3sim_nb import l3_state_for
from engine.types import BUY, SELL, WORKING

SAMPLES = ["GOOG_2012-06-21_34200000_57600000_message_10.csv.gz",
           "GOOG_2012-06-21_34200000_57600000_message_1.csv.gz",
           "AMZN_2012-06-21_first1000_message_5.csv.gz",
           "AAPL_2012-06-21_first999_message_10.csv"]

# a level-1 day: (seconds, type, id, size, price x 10^4, direction) and the book after it
# (ask, ask size, bid, bid size). Before m0 the bid side is unknown (beyond row 0's window).
MESSAGES = [(34200.1, 1, 1, 3, 1005000, 1),  # m0: id 1 bids 100.50
            (34200.2, 1, 2, 2, 1007000, 1),  # m1: id 2 bids 100.70; 100.50 leaves the window
            (34200.3, 3, 2, 2, 1007000, 1),  # m2: id 2 deleted; 100.50 enters (4 shares)
            (34200.4, 1, 3, 1, 1006000, 1)]  # m3: id 3 bids 100.60; 100.50 leaves again
BOOK = [(1010000, 5, 1005000, 3), (1010000, 5, 1007000, 2), (1010000, 5, 1005000, 4),
        (1010000, 5, 1006000, 1)]


def _write_day(tmp_path: Path, messages=MESSAGES, book=BOOK):
    msg = tmp_path / "TEST_2012-06-21_34200000_57600000_message_1.csv"
    ob = tmp_path / "TEST_2012-06-21_34200000_57600000_orderbook_1.csv"
    msg.write_text("".join(f"{t},{e},{i},{q},{p},{d}\n" for t, e, i, q, p, d in messages))
    ob.write_text("".join(",".join(map(str, r)) + "\n" for r in book))
    return read_lobster(msg, ob)


def _rows(feed):
    D = feed.D
    return [(int(D[2][k]), int(D[3][k]), int(D[4][k]), int(D[5][k]), int(D[6][k]))
            for k in range(len(D[0]))]


def test_each_correction_kind_follows_its_message(tmp_path):
    feed = lobster_feed(_write_day(tmp_path))
    assert _rows(feed) == [
        (MBO_ADD, 1, BUY, 10050, 3),
        (MBO_ADD, 2, BUY, 10070, 2),
        (MBO_FORGET, 1, BUY, 10050, 3),  # id 1's level left the top 1: the order is forgotten
        (MBO_DELETE, 2, BUY, 10070, 2),
        (MBO_ANON_LEVEL, 0, BUY, 10050, 4),  # the level entered: learned from the row
        (MBO_ADD, 3, BUY, 10060, 1),
        (MBO_ANON_LEVEL, 0, BUY, 10050, 0),  # left again: its anonymous quantity forgotten
    ]
    assert feed.init_levels == ((1, 10100, 5),)  # the ask of row 0; the bid was unknown
    ts, lts = feed.D[0], feed.D[1]
    assert np.array_equal(ts[[2, 4, 6]], ts[[1, 3, 5]])  # at the time of their message
    assert np.array_equal(lts[[2, 4, 6]], lts[[1, 3, 5]])


def test_corrections_arrive_with_their_message_under_random_feed_latency(tmp_path):
    feed = lobster_feed(_write_day(tmp_path), feed_latency=("uniform", 1_000, 900_000), seed=3)
    lts = feed.D[1]
    assert np.array_equal(lts[[2, 4, 6]], lts[[1, 3, 5]])
    assert (np.diff(lts) >= 0).all()


def test_anon_level_and_forget_events_on_the_book():
    b = L3Book(0.01)
    b.apply(mbo([(1, MBO_ADD, 7, BUY, 100.00, 2), (2, MBO_ADD, 8, BUY, 100.00, 3),
                 (3, MBO_ANON_LEVEL, 0, BUY, 100.00, 4)]))
    assert b.best_bid() == (100.00, 9.0)  # 4 anonymous + the known 2 + 3, untouched
    assert b.queue_position(7).qty_ahead == 4.0  # anonymous: ahead of every known order
    b.apply(mbo([(4, MBO_ANON_LEVEL, 0, BUY, 100.00, 1)]))  # set exactly, not added
    assert b.best_bid() == (100.00, 6.0) and b.queue_position(8).qty_ahead == 3.0
    b.apply(mbo([(5, MBO_FORGET, 7, BUY, 100.00, 2), (6, MBO_ANON_LEVEL, 0, BUY, 100.00, 0)]))
    assert b.best_bid() == (100.00, 3.0) and b.queue_position(8).qty_ahead == 0.0
    b.apply(mbo([(7, MBO_FORGET, 8, BUY, 100.00, 3)]))
    assert b.n_levels(BUY) == 0  # no order, no anonymous quantity: the level is gone
    b.apply(mbo([(8, MBO_ANON_LEVEL, 0, SELL, 100.05, 7)]))  # a new level, anonymous only
    assert b.best_ask() == (100.05, 7.0)
    assert b.counters() == {}  # no notes: every event applied cleanly


def test_feed_validation_knows_the_correction_codes():
    b = L3Book(0.01)
    b.apply(mbo([(1, MBO_ANON_LEVEL, 0, BUY, 100.0, 1), (2, MBO_ADD, 1, BUY, 100.0, 1),
                 (3, MBO_FORGET, 1, BUY, 100.0, 1)]))
    with pytest.raises(DataError, match="unknown MBO event code"):
        b.apply(mbo([(1, 12, 0, BUY, 100.0, 1)]))
    with pytest.raises(DataError, match="side"):
        b.apply(mbo([(1, MBO_ANON_LEVEL, 0, 0, 100.0, 1)]))


def test_own_orders_survive_corrections_and_learned_quantity_is_ahead(tmp_path):
    """Our bid at 100.50 joins behind id 1; the level leaves the window (id 1 forgotten: we
    are first), re-enters with 4 anonymous shares (ahead of us: the worst case) and leaves
    again; corrections never fill, cancel or move our order out of the book."""
    feed = lobster_feed(_write_day(tmp_path))
    t = [int(x) for x in feed.D[0][[0, 1, 3, 5]]]
    sim = TickSim(feed, TickConfig(entry_latency=1_000))
    sim.advance(t[0] + 10)
    oid = sim.submit(BUY, 2.0, limit=100.50)
    sim.advance(t[0] + 5_000)
    assert sim.queue_ahead(oid) == 3.0  # behind id 1
    ahead = []
    for tm in t[1:]:
        sim.advance(tm + 1)
        ahead.append(sim.queue_ahead(oid))
        assert sim.orders[oid]["status"] == WORKING
        assert l3_queue_position_nb(*sim.BX, -(oid + 1))[2] == 2  # still in the exchange book
    assert ahead == [0.0, 4.0, 0.0]
    sim.advance(None)
    assert len(sim.fills) == 0 and sim.orders[oid]["status"] == WORKING


def test_an_execution_of_a_learned_level_does_not_fill_us_but_one_behind_us_does(tmp_path):
    msgs = MESSAGES[:3] + [(34200.4, 4, 99, 4, 1005000, 1),  # the 4 anonymous shares trade
                           (34200.5, 1, 5, 1, 1005000, 1),  # id 5 joins behind us
                           (34200.6, 4, 5, 1, 1005000, 1)]  # and trades: we would have first
    book = BOOK[:3] + [(1010000, 5, DUMMY_BID, 0), (1010000, 5, 1005000, 1),
                       (1010000, 5, DUMMY_BID, 0)]  # the market's book: our order is not in it
    feed = lobster_feed(_write_day(tmp_path, msgs, book))
    sim = TickSim(feed, TickConfig(entry_latency=1_000))
    sim.advance(int(feed.D[0][0]) + 10)
    oid = sim.submit(BUY, 2.0, limit=100.50)
    sim.advance(None)
    f = sim.fills
    assert list(f["size"]) == [1.0] and list(f["ts"]) == [int(feed.D[0][-1])]
    assert sim.orders[oid]["filled_size"] == 1.0


def _book_after_each_message(feed):
    """Best bid / ask ticks (NO_TICK: empty) after each message and its corrections, and
    whether the book was ever crossed there."""
    D = feed.D
    ev = D[2]
    starts = np.flatnonzero(~np.isin(ev, MBO_CORRECTIONS))
    ends = np.append(starts[1:], len(ev))
    lv, od, ht, meta = l3_state_for(feed)
    bid = np.empty(len(starts), np.int64)
    ask = np.empty(len(starts), np.int64)
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        st, _ = l3_replay_nb(lv, od, ht, meta, D[0], D[2], D[3], D[4], D[5], D[6], a, b)
        assert st == C.OK
        nb, na = meta[C.M_NBID], meta[C.M_NASK]
        bid[k] = lv[C.BID, C.LV_KEY, nb - 1] if nb else C.NO_TICK
        ask[k] = -lv[C.ASK, C.LV_KEY, na - 1] if na else C.NO_TICK
    return bid, ask


@pytest.mark.parametrize("name", SAMPLES)
def test_simulator_book_top_equals_the_lobster_orderbook_file(samples, name):
    msg = samples / "lob" / name
    lob = read_lobster(msg, str(msg).replace("message", "orderbook"))
    feed = lobster_feed(lob, tick_size=0.01)
    bid, ask = _book_after_each_message(feed)
    ob = lob.orderbook
    assert len(bid) == len(ob)
    want_bid = np.where(ob[:, 2] == DUMMY_BID, C.NO_TICK, ob[:, 2] // 100)
    want_ask = np.where(ob[:, 0] == DUMMY_ASK, C.NO_TICK, ob[:, 0] // 100)
    assert np.array_equal(bid, want_bid) and np.array_equal(ask, want_ask)
    both = (bid != C.NO_TICK) & (ask != C.NO_TICK)
    assert not (both & (bid >= ask)).any()  # never crossed
