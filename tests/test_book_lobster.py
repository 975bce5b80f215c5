"""LOBSTER reproduction: replaying a message file reproduces its orderbook file exactly.

Real data: the shipped GOOG (level 1 and 10 full days), AMZN (level 5) and AAPL (level 10)
samples. Synthetic data: an independent full-depth reference book written out the way LOBSTER
does (only messages touching the top L levels, top-L rows, dummy levels), with hidden
executions, cross trades and halts mixed in.
"""

from __future__ import annotations

import datetime as dt
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.readers.lobster import DUMMY_ASK, DUMMY_BID, Lobster, read_lobster
from data.schema import BUY, MBO, SELL
from engine.book.lobster import check_lobster, check_lobster_data

LOB = "lob"
PAIRS = [
    ("GOOG_2012-06-21_34200000_57600000_message_10.csv.gz", 147_916, 10),
    ("GOOG_2012-06-21_34200000_57600000_message_1.csv.gz", 49_482, 1),
    ("AMZN_2012-06-21_first1000_message_5.csv.gz", 1_000, 5),
    ("AAPL_2012-06-21_first999_message_10.csv", 999, 10),
]


@pytest.mark.parametrize(("name", "rows", "levels"), PAIRS)
def test_shipped_lobster_files_reproduce_exactly_at_every_depth(samples, name, rows, levels):
    msg = samples / LOB / name
    res = check_lobster(msg, samples / LOB / name.replace("message", "orderbook"))
    assert res.levels == levels
    assert res.rows == rows
    assert res.matching == (rows,) * levels
    assert res.first_mismatch == (-1,) * levels
    assert res.ok and res.first_difference is None
    # the initial book is learned from row 1: at most L levels per side
    assert 0 < res.learned_initial <= 2 * levels
    # levels may be learned only at the window's edge (position L): never inside it
    assert res.learned_rows[: levels - 1] == (0,) * (levels - 1)


def test_goog_level10_window_can_be_narrowed(samples):
    """Any L' <= L is a valid window: messages about levels L'+1..L are applied, then forgotten."""
    msg = samples / LOB / PAIRS[0][0]
    res = check_lobster(msg, str(msg).replace("message", "orderbook"), levels=3)
    assert res.levels == 3 and res.ok and res.rows == 147_916


def test_a_corrupted_message_is_detected(samples):
    lob = read_lobster(samples / LOB / PAIRS[2][0], samples / LOB / PAIRS[2][0].replace(
        "message", "orderbook"))
    msgs = lob.messages.copy()
    adds = np.flatnonzero(msgs["event"] == 1)
    i = int(adds[len(adds) // 2])
    msgs["size"][i] += 1  # one share more on one add
    bad = Lobster(symbol=lob.symbol, date=lob.date, messages=msgs, price_int=lob.price_int,
                  orderbook=lob.orderbook, levels=lob.levels, message_file="x",
                  orderbook_file="y")
    res = check_lobster_data(bad)
    assert not res.ok
    assert min(res.first_mismatch) == i
    assert res.depth_ok[i] < 5
    # the first difference: that row, at the first level that disagrees, both values differ
    row, level, side, bp, bs, fp, fs = res.first_difference
    assert (row, level) == (i, res.depth_ok[i]) and (bp, bs) != (fp, fs)
    assert side == (0 if msgs["side"][i] == BUY else 1)


# --- an independent LOBSTER-style writer over a full-depth reference book -------------------
class _RefBook:
    """Full-depth price -> FIFO of [id, size] per side, in plain Python."""

    def __init__(self):
        self.side = {BUY: {}, SELL: {}}
        self.orders = {}

    def best_first(self, s):
        return sorted(self.side[s], reverse=(s == BUY))

    def rank(self, s, price):  # levels strictly better than price
        return sum(1 for p in self.side[s] if (p > price if s == BUY else p < price))

    def add(self, oid, s, price, size):
        self.side[s].setdefault(price, deque()).append([oid, size])
        self.orders[oid] = (s, price)

    def reduce(self, oid, size):
        s, price = self.orders[oid]
        q = self.side[s][price]
        for o in q:
            if o[0] == oid:
                o[1] -= size
                if o[1] == 0:
                    q.remove(o)
                    del self.orders[oid]
                break
        if not q:
            del self.side[s][price]

    def size_of(self, oid):
        s, price = self.orders[oid]
        return next(o[1] for o in self.side[s][price] if o[0] == oid)

    def row(self, L):
        out = []
        asks = self.best_first(SELL)
        bids = self.best_first(BUY)
        for k in range(L):
            for levels, s, dummy in ((asks, SELL, DUMMY_ASK), (bids, BUY, DUMMY_BID)):
                if k < len(levels):
                    p = levels[k]
                    out += [p, sum(o[1] for o in self.side[s][p])]
                else:
                    out += [dummy, 0]
        return out


def _lobster_like(seed: int, L: int, n_events: int, warmup: int) -> Lobster:
    """Random order flow on a full book; keep only what LOBSTER would write for depth L."""
    rng = np.random.default_rng(seed)
    book = _RefBook()
    msgs, rows = [], []
    next_id = 1
    mid = 1_000_000
    halted = False
    for step in range(warmup + n_events):
        write = step >= warmup
        u = rng.random()
        if write and u < 0.03:  # hidden execution, cross trade or halt: book unchanged
            kind = int(rng.choice([5, 6, 7]))
            if kind == 7:
                halted = not halted
                msgs.append((7, 0, 0, -1 if halted else 1, -1))
            else:
                msgs.append((kind, 0, int(rng.integers(1, 50)), mid + 100 * int(rng.integers(-3, 4)),
                             int(rng.choice([BUY, SELL]))))
            rows.append(rows[-1] if rows else book.row(L))
            continue
        asks, bids = book.best_first(SELL), book.best_first(BUY)
        if u < 0.5 or not book.orders:
            s = BUY if rng.random() < 0.5 else SELL
            off = int(rng.geometric(0.3))
            if s == BUY:
                ref = asks[0] if asks else mid + 100
                price = ref - 100 * off
            else:
                ref = bids[0] if bids else mid - 100
                price = ref + 100 * off
            size = int(rng.integers(1, 300))
            touches = book.rank(s, price) < L
            book.add(next_id, s, price, size)
            ev = (1, next_id, size, price, s)
            next_id += 1
        elif u < 0.8:
            oid = int(rng.choice(list(book.orders)))
            s, price = book.orders[oid]
            touches = book.rank(s, price) < L
            have = book.size_of(oid)
            if rng.random() < 0.3 and have > 1:
                size = int(rng.integers(1, have))
                ev = (2, oid, size, price, s)
            else:
                size = have
                ev = (3, oid, size, price, s)
            book.reduce(oid, size)
        else:
            s = BUY if rng.random() < 0.5 else SELL
            levels = bids if s == BUY else asks
            if not levels:
                continue
            price = levels[0]
            oid, have = book.side[s][price][0]
            size = int(rng.integers(1, have + 1))
            touches = True
            ev = (4, oid, size, price, s)
            book.reduce(oid, size)
        if write and touches:
            msgs.append(ev)
            rows.append(book.row(L))
    n = len(msgs)
    arr = np.zeros(n, dtype=MBO)
    m = np.array(msgs, dtype=np.int64).reshape(-1, 5)
    arr["ts"] = 1_000 + np.arange(n)
    arr["ts_recv"] = arr["ts"]
    arr["event"], arr["order_id"], arr["size"] = m[:, 0], m[:, 1], m[:, 2]
    arr["price"] = m[:, 3] / 10_000
    arr["side"] = np.where(m[:, 0] == 7, 0, m[:, 4])
    return Lobster(symbol="SYN", date=dt.date(2012, 6, 21), messages=arr, price_int=m[:, 3].copy(),
                   orderbook=np.array(rows, dtype=np.int64).reshape(n, 4 * L), levels=L,
                   message_file="synthetic", orderbook_file="synthetic")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), L=st.integers(1, 6), n=st.integers(50, 400),
       warmup=st.integers(0, 200))
def test_lobster_style_output_of_a_random_book_is_reproduced(seed, L, n, warmup):
    lob = _lobster_like(seed, L, n, warmup)
    res = check_lobster_data(lob)
    assert res.ok, (res.matching, res.first_mismatch)


def test_halts_cross_trades_and_hidden_executions_leave_the_book_unchanged():
    lob = _lobster_like(7, 3, 400, 100)
    kinds = set(lob.messages["event"].tolist())
    assert {5, 6, 7} <= kinds
    res = check_lobster_data(lob)
    assert res.ok


def test_dummy_levels_when_a_side_is_thin():
    # a side emptied to fewer than L levels shows dummies; the book must show none there
    lob = _lobster_like(3, 6, 300, 0)  # no warmup: the book starts empty, dummies early
    ob = lob.orderbook
    assert (ob[:, 2::4] == DUMMY_BID).any() and (ob[:, 0::4] == DUMMY_ASK).any()
    res = check_lobster_data(lob)
    assert res.ok


def test_hand_written_pair_with_halt_and_levels_entering_the_window(tmp_path):
    """Two levels visible (L=2); the best bid is executed away, so level 3 enters the window
    and must be learned; a halt row repeats the book; a hidden execution changes nothing."""
    msg = tmp_path / "TEST_2012-06-21_34200000_57600000_message_2.csv"
    ob = tmp_path / "TEST_2012-06-21_34200000_57600000_orderbook_2.csv"
    msg.write_text(
        "34200.000000001,1,10,100,1000000,1\n"   # new bid 100.00 x100 behind the unknown size
        "34200.5,5,0,7,1000100,-1\n"             # hidden execution
        "34201,7,0,0,-1,-1\n"                    # halt
        "34202,7,0,0,1,-1\n"                     # resume
        "34203,4,5,250,1000000,1\n"              # unknown order 5 executed (anonymous qty)
        "34203.1,4,10,100,1000000,1\n"           # our order executed: level 100.00 gone
        "34204,3,7,40,1000300,-1\n"              # unknown ask order deleted at 100.03
    )
    ob.write_text(
        "1000200,50,1000000,350,1000300,40,999900,10\n"
        "1000200,50,1000000,350,1000300,40,999900,10\n"
        "1000200,50,1000000,350,1000300,40,999900,10\n"
        "1000200,50,1000000,350,1000300,40,999900,10\n"
        "1000200,50,1000000,100,1000300,40,999900,10\n"
        "1000200,50,999900,10,1000300,40,999800,30\n"
        "1000200,50,999900,10,9999999999,0,999800,30\n"
    )
    res = check_lobster(msg, ob)
    assert res.ok, res.table()
    assert res.learned == 1  # bid 99.98 entered the window at row 6
    assert res.learned_initial == 4
    assert res.counters.get("unknown order id") == 2
