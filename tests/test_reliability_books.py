"""Book invariants under hypothesis-generated event streams, malformed ones included.

L2: the book equals a dict reference after every batch (levels, sizes: quantity is
conserved), crossed batches are counted exactly when the reference is crossed (never on
consistent input), a snapshot replaces the whole book whatever came before, a reset leaves it
invalid until the next snapshot. L3: the book equals a plain-Python reference of the documented
rules (FIFO per level, anonymous quantity ahead of known orders, unknown ids, over-executes,
duplicate ids, size mismatches, modifies, snapshots, forgetting levels) event by event,
including the status code of each event; queue positions never grow under cancels ahead; the
structural invariants of tests/fuzz_books.py hold after every event. Malformed values give a
DataError at the Python layer and a status code (state untouched) in the raw kernels.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from fuzz_books import check_l2, check_l3
from fuzz_oracle import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from data.errors import DataError
from data.schema import (
    BUY,
    DEPTH,
    DEPTH_CLEAR,
    DEPTH_LAST,
    DEPTH_SNAPSHOT,
    MBO,
    MBO_ADD,
    MBO_CANCEL,
    MBO_CLEAR,
    MBO_DELETE,
    MBO_EXECUTE,
    SELL,
)
from engine.book import L2Book, L3Book, l2_nb, l3_nb
from engine.book import codes as C

SETTINGS = fuzz_settings(200)  # TAPEREADER_FUZZ_EXAMPLES=N runs N random streams instead


# ============================================================================ L2
def _depth(rows):
    out = np.zeros(len(rows), DEPTH)
    for i, (side, price, size, flags) in enumerate(rows):
        out[i] = (i, i, side, price, size, flags)
    return out


_l2_row = st.tuples(
    st.sampled_from(["set", "set", "set", "delete", "snapshot", "clear_side", "reset"]),
    st.sampled_from([BUY, SELL]),
    st.integers(-60, 60),  # offset from the drifting mid, in ticks
    st.sampled_from([1.0, 2.5, 7.0, 1e-3, 1e6]),
    st.integers(1, 6),  # levels in a snapshot
)


def _check_recorded_top(rows, top_t, top_q, model):
    """``record_top``: the best bid / ask (tick, size) after every row equal a row-by-row
    replay (a recentre of the window used to make the size lookup read out of bounds)."""
    for k, (side, price, size, flags) in enumerate(rows):
        if flags & DEPTH_CLEAR:
            for sd in (BUY, SELL):
                if side in (0, sd):
                    model[sd].clear()
        if side != 0 and not (flags & DEPTH_CLEAR and not size > 0):
            if size > 0:
                model[side][int(price)] = size
            else:
                model[side].pop(int(price), None)
        for j, sd, pick in ((0, BUY, max), (1, SELL, min)):
            if model[sd]:
                best = pick(model[sd])
                assert (top_t[k, j], top_q[k, j]) == (best, model[sd][best])
            else:
                assert top_t[k, j] == C.NO_TICK


@SETTINGS
@given(batches=st.lists(st.lists(_l2_row, min_size=1, max_size=6), max_size=40),
       window=st.sampled_from([4, 16, 64, 1 << 16]), drift=st.integers(-40, 40),
       consistent=st.booleans())
def test_l2_equals_reference_counts_crossed_batches_and_replaces_on_snapshots(
        batches, window, drift, consistent):
    ref = {BUY: {}, SELL: {}}
    model = {BUY: {}, SELL: {}}  # replayed row by row for the recorded tops
    valid, crossed = True, 0
    book = L2Book(1.0, window=window, overflow=16)
    for b, batch in enumerate(batches):
        mid = 10_000 + drift * b
        rows = []
        for op, side, off, size, nsnap in batch:
            price = mid - abs(off) if side == BUY else mid + 1 + abs(off)
            if not consistent:
                price = mid + off  # anywhere: the book may cross
            if op == "set" and consistent and ref[-side]:
                opp = ref[-side]
                if (side == BUY and price >= min(opp)) or (side == SELL and price <= max(opp)):
                    continue
            if op == "set":
                rows.append((side, float(price), size, 0))
                ref[side][price] = size
            elif op == "delete":
                rows.append((side, float(price), 0.0, 0))
                ref[side].pop(price, None)
            elif op == "snapshot":
                rows.append((0, np.nan, 0.0, DEPTH_CLEAR | DEPTH_SNAPSHOT))
                ref = {BUY: {}, SELL: {}}
                for k in range(nsnap):
                    rows.append((BUY, float(mid - k), size, DEPTH_SNAPSHOT))
                    rows.append((SELL, float(mid + 1 + k), size, DEPTH_SNAPSHOT))
                    ref[BUY][mid - k] = ref[SELL][mid + 1 + k] = size
                valid = True
            elif op == "clear_side":
                rows.append((side, np.nan, 0.0, DEPTH_CLEAR))
                ref[side] = {}
            else:  # reset: both sides, no snapshot flag
                rows.append((0, np.nan, 0.0, DEPTH_CLEAR))
                ref = {BUY: {}, SELL: {}}
                valid = False
        if not rows:
            continue
        s, p, q, f = rows[-1]
        rows[-1] = (s, p, q, f | DEPTH_LAST)
        top_t, top_q = book.apply(_depth(rows), record_top=True)
        _check_recorded_top(rows, top_t, top_q, model)
        if ref[BUY] and ref[SELL] and max(ref[BUY]) >= min(ref[SELL]):
            crossed += 1
        for side, name in ((BUY, "bid"), (SELL, "ask")):
            want = sorted(ref[side].items(), reverse=(side == BUY))
            p_, q_ = book.levels(name, 10_000)
            assert list(zip(p_.tolist(), q_.tolist(), strict=True)) == [
                (float(k), v) for k, v in want]
        total = sum(book.levels(x, 10_000)[1].sum() for x in ("bid", "ask"))
        assert total == pytest.approx(sum(sum(d.values()) for d in ref.values()))
        assert book.valid == valid
        assert book.counters().get("crossed book after a batch", 0) == crossed
        check_l2(book)
    if consistent:
        assert crossed == 0 and not book.is_crossed()


@SETTINGS
@given(before=st.lists(st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 500),
                                 st.floats(0.5, 9.0)), max_size=30),
       snap=st.lists(st.tuples(st.integers(0, 20), st.floats(0.5, 9.0)), min_size=1, max_size=10))
def test_l2_snapshot_replaces_whatever_the_book_held(before, snap):
    book = L2Book(0.5, window=32)
    book.apply(_depth([(s, 0.5 * t, q, 0) for s, t, q in before]))
    rows = [(0, np.nan, 0.0, DEPTH_CLEAR | DEPTH_SNAPSHOT)]
    want = {}
    for k, q in snap:
        rows.append((BUY, 100.0 - 0.5 * k, q, DEPTH_SNAPSHOT))
        want[100.0 - 0.5 * k] = q
    rows.append((SELL, 120.0, 1.0, DEPTH_SNAPSHOT | DEPTH_LAST))
    book.apply(_depth(rows))
    p, q = book.levels("bid", 100)
    assert dict(zip(p.tolist(), q.tolist(), strict=True)) == want
    assert book.levels("ask", 100)[0].tolist() == [120.0] and book.valid
    check_l2(book)


def test_l2_malformed_rows_are_refused_by_the_python_layer_and_ignored_by_the_kernel():
    good = _depth([(BUY, 100.0, 1.0, 0), (SELL, 101.0, 2.0, DEPTH_LAST)])
    for side, price, size, flags, column in (
        (5, 100.0, 1.0, 0, "side"), (0, 100.0, 1.0, 0, "side"), (BUY, np.nan, 1.0, 0, "price"),
        (BUY, 100.0, np.nan, 0, "size"), (BUY, 100.0, np.inf, 0, "size"),
        (BUY, 1e300, 1.0, 0, "price"), (BUY, 100.0, 1.0, 8, "flags"),
    ):
        book = L2Book(1.0)
        book.apply(good)
        bad = _depth([(side, price, size, flags)])
        with pytest.raises(DataError) as exc:
            book.apply(bad)
        assert exc.value.column == column and exc.value.row == 0 and exc.value.fix
        assert book.best() == (100.0, 1.0, 101.0, 2.0)  # nothing was applied
    # a compiled caller that skips the Python layer gets a status and an untouched book
    book = L2Book(1.0)
    book.apply(good)
    before = [a.copy() for a in book.state]
    ts = np.zeros(2, np.int64)
    side = np.array([5, BUY], np.int8)
    ticks = np.array([100, 100], np.int64)
    size = np.array([1.0, np.nan])
    flags = np.zeros(2, np.uint8)
    rec = np.empty((0, 2), np.int64)
    st_, nxt = l2_nb.l2_replay_nb(*book.state, ts, side, ticks, size, flags, 0, 2, rec,
                                  rec.astype(np.float64))
    assert (st_, nxt) == (C.OK, 2)
    assert book.counters() == {"bad side": 1, "bad event code": 1}
    for a, b in zip(before, book.state, strict=True):
        if a.dtype == np.float64:
            np.testing.assert_array_equal(a, b)
    assert book.best() == (100.0, 1.0, 101.0, 2.0)


# ============================================================================ L3
class _Ref:
    """The documented L3 rules in plain Python (docs/order_book.md)."""

    def __init__(self):
        self.levels = {BUY: {}, SELL: {}}  # price -> [anon, deque([[oid, qty], ...])]
        self.orders = {}  # oid -> (side, price)
        self.notes = {}

    def note(self, code):
        if code != C.OK:
            self.notes[C.NAMES[code]] = self.notes.get(C.NAMES[code], 0) + 1
        return code

    def _level(self, s, p):
        return self.levels[s].get(p)

    def _drop_level_if_empty(self, s, p):
        lv = self.levels[s].get(p)
        if lv is not None and lv[0] <= 0 and not lv[1]:
            del self.levels[s][p]

    def add(self, oid, s, p, q):
        if s not in (BUY, SELL):
            return self.note(C.BAD_SIDE)
        if q < 0:
            return self.note(C.BAD_EVENT)
        if q == 0:
            return self.note(C.BAD_EVENT)
        if oid in self.orders:
            return self.note(C.DUPLICATE_ORDER)
        self.levels[s].setdefault(p, [0, deque()])[1].append([oid, q])
        self.orders[oid] = (s, p)
        return C.OK

    def _find(self, oid):
        s, p = self.orders[oid]
        for o in self.levels[s][p][1]:
            if o[0] == oid:
                return s, p, o

    def _remove(self, oid):
        s, p, o = self._find(oid)
        self.levels[s][p][1].remove(o)
        del self.orders[oid]
        self._drop_level_if_empty(s, p)

    def reduce(self, ev, oid, s, p, q):
        if s not in (BUY, SELL):
            return self.note(C.BAD_SIDE)
        if q < 0:
            return self.note(C.BAD_EVENT)
        if oid not in self.orders:
            lv = self._level(s, p)
            if lv is None:
                return self.note(C.MISSING_LEVEL)
            d = min(q, lv[0])
            lv[0] -= d
            self._drop_level_if_empty(s, p)
            return self.note(C.UNKNOWN_ORDER if d == q else C.OVER_REDUCE)
        s2, p2, o = self._find(oid)
        code = C.OK
        if ev == MBO_DELETE:
            code = C.SIZE_MISMATCH if q != o[1] else C.OK
            d = o[1]
        elif q > o[1]:
            code, d = C.OVER_REDUCE, o[1]
        else:
            d = q
        o[1] -= d
        if o[1] == 0:
            self._remove(oid)
        return self.note(code)

    def modify(self, oid, s, p, q):
        if s not in (BUY, SELL):
            return self.note(C.BAD_SIDE)
        if q < 0:
            return self.note(C.BAD_EVENT)
        if oid not in self.orders:
            code = self.add(oid, s, p, q)
            if code == C.OK:
                return self.note(C.UNKNOWN_ORDER)
            return code
        s2, p2, o = self._find(oid)
        if s2 == s and p2 == p and 0 < q <= o[1]:
            o[1] = q
            return C.OK
        self._remove(oid)
        if q <= 0:
            return C.OK
        return self.add(oid, s, p, q)

    def set_level(self, s, p, q):
        lv = self._level(s, p)
        if lv is None:
            if q <= 0:
                return
            lv = self.levels[s][p] = [0, deque()]
        known = sum(o[1] for o in lv[1])
        lv[0] = max(q - known, 0)
        self._drop_level_if_empty(s, p)

    def forget_beyond(self, s, keep):
        prices = sorted(self.levels[s], reverse=(s == BUY))
        for p in prices[keep:]:
            for oid, _ in self.levels[s][p][1]:
                del self.orders[oid]
            del self.levels[s][p]
        return max(0, len(prices) - keep)

    def clear(self):
        self.levels = {BUY: {}, SELL: {}}
        self.orders = {}

    def position(self, oid):
        s, p = self.orders[oid]
        anon, fifo = self.levels[s][p]
        ahead, count = anon, 0
        for o in fifo:
            if o[0] == oid:
                return ahead, count
            ahead += o[1]
            count += 1


_l3_op = st.tuples(
    st.sampled_from(["add"] * 5 + ["add_dup", "cancel", "cancel", "execute", "execute_big",
                     "delete", "delete_wrong", "unknown", "unknown_missing", "modify",
                     "modify_unknown", "set_level", "forget", "clear", "bad_side", "negative"]),
    st.integers(0, 2**31), st.integers(-4, 4), st.integers(1, 30),
)


def _compare(book, ref):
    for side, name in ((BUY, "bid"), (SELL, "ask")):
        prices = sorted(ref.levels[side], reverse=(side == BUY))
        p, q = book.levels(name, 10_000)
        assert p.tolist() == prices
        assert q.tolist() == [ref.levels[side][x][0] + sum(o[1] for o in ref.levels[side][x][1])
                              for x in prices]
        for k, x in enumerate(prices):
            ids, sizes = book.orders_at(name, k)
            assert ids.tolist() == [o[0] for o in ref.levels[side][x][1]]
            assert sizes.tolist() == [o[1] for o in ref.levels[side][x][1]]
            assert book.anonymous_at(name, k) == ref.levels[side][x][0]
    assert book.n_orders == len(ref.orders)
    assert book.counters() == ref.notes


@fuzz_settings(300)
@given(ops=st.lists(_l3_op, max_size=120), small=st.booleans())
def test_l3_equals_the_documented_rules_event_by_event_malformed_events_included(ops, small):
    book = L3Book(1.0, level_capacity=16 if small else 1024, order_capacity=16 if small else 4096)
    ref = _Ref()
    next_id = 1
    for op, r, off, q in ops:
        rnd = np.random.default_rng(r)
        side = BUY if r % 2 else SELL
        price = 100 + off if side == BUY else 105 + off  # may cross: L3 does not match
        live = list(ref.orders)
        pick = live[r % len(live)] if live else None
        positions = {o: ref.position(o) for o in live}
        touched = set()
        if op == "add" or (op in ("add_dup", "cancel", "execute", "execute_big", "delete",
                                  "delete_wrong", "modify") and pick is None):
            got, want = book.add(next_id, side, price, q), ref.add(next_id, side, price, q)
            next_id += 1
        elif op == "add_dup":
            got, want = book.add(pick, side, price, q), ref.add(pick, side, price, q)
        elif op in ("cancel", "execute", "execute_big", "delete", "delete_wrong"):
            s, p = ref.orders[pick]
            have = ref._find(pick)[2][1]
            size = {"cancel": min(q, have), "execute": min(q, have), "execute_big": have + q,
                    "delete": have, "delete_wrong": have + 1}[op]
            ev = {"cancel": MBO_CANCEL, "delete": MBO_DELETE, "delete_wrong": MBO_DELETE}.get(
                op, MBO_EXECUTE)
            got = book._event(ev, pick, s, float(p), float(size), 0)
            want = ref.reduce(ev, pick, s, p, size)
        elif op in ("unknown", "unknown_missing"):
            lvls = sorted(ref.levels[side]) if op == "unknown" else []
            p = lvls[r % len(lvls)] if lvls else price + 1000
            ev = (MBO_CANCEL, MBO_EXECUTE, MBO_DELETE)[r % 3]
            got = book._event(ev, 10**9 + r, side, float(p), float(q), 0)
            want = ref.reduce(ev, 10**9 + r, side, p, q)
        elif op == "modify":
            s = ref.orders[pick][0]
            newp = ref.orders[pick][1] + int(rnd.integers(-1, 2))
            got, want = book.modify(pick, s, newp, q), ref.modify(pick, s, newp, q)
            touched.add(pick)
        elif op == "modify_unknown":
            got = book.modify(next_id, side, price, q)
            want = ref.modify(next_id, side, price, q)
            next_id += 1
        elif op == "set_level":
            book.set_level("bid" if side == BUY else "ask", price, q)
            ref.set_level(side, price, q)
            got = want = C.OK
            positions = {}  # a snapshot may add anonymous quantity ahead: no monotonicity
        elif op == "forget":
            keep = r % 4
            got = book.forget_beyond("bid" if side == BUY else "ask", keep)
            want = ref.forget_beyond(side, keep)
        elif op == "clear":
            ev = np.zeros(1, MBO)
            ev["event"] = MBO_CLEAR
            book.apply(ev)
            ref.clear()
            got = want = C.OK
        elif op == "bad_side":
            got, want = book.add(next_id, 0, price, q), ref.add(next_id, 0, price, q)
        else:  # negative size on a live order: refused by the kernel, book untouched
            target = pick if pick is not None else 77
            s, p = ref.orders.get(target, (side, price))
            got = book.cancel(target, -float(q), side=s, price=float(p))
            want = ref.reduce(MBO_CANCEL, target, s, p, -q)
        assert got == want, (op, got, want)
        _compare(book, ref)
        check_l3(book)
        for oid, (ahead, count) in positions.items():  # queue position never grows
            if oid in ref.orders and oid not in touched:
                pos = book.queue_position(oid)
                assert pos.qty_ahead <= ahead and pos.orders_ahead <= count
                assert (pos.qty_ahead, pos.orders_ahead) == ref.position(oid)


def test_l3_python_layer_refuses_values_that_would_corrupt_the_book():
    base = np.zeros(1, MBO)
    base[0] = (0, 0, MBO_ADD, 1, BUY, 100.0, 5.0)
    for field, value, column in (("size", -5.0, "size"), ("size", np.nan, "size"),
                                 ("order_id", -1, "order_id"), ("side", 0, "side"),
                                 ("event", 12, "event"), ("price", np.inf, "price")):
        ev = base.copy()
        ev[field] = value
        book = L3Book(1.0)
        with pytest.raises(DataError) as exc:
            book.apply(ev)
        assert exc.value.column == column and exc.value.fix
        assert book.n_orders == 0
        check_l3(book)
    # the raw kernel ignores them with a status (compiled callers), state untouched
    book = L3Book(1.0)
    book.add(1, BUY, 100, 5)
    lv, od, ht, meta = (a.copy() for a in book.state)
    for oid, lots in ((1, -3), (C.HASH_EMPTY, 4)):
        st_ = l3_nb.l3_apply(*book.state, 0, MBO_CANCEL if oid == 1 else MBO_ADD, oid, BUY,
                             100, lots)
        assert st_ == C.BAD_EVENT
    np.testing.assert_array_equal(book.lv, lv)
    np.testing.assert_array_equal(book.od, od)
    np.testing.assert_array_equal(book.ht, ht)
    assert book.counters() == {"bad event code": 2}


def test_l3_replays_of_the_shipped_lobster_files_keep_every_invariant(samples):
    from data.readers import read_lobster

    for name in ("AAPL_2012-06-21_first999_message_10.csv",
                 "AMZN_2012-06-21_first1000_message_5.csv.gz"):
        lob = read_lobster(samples / "lob" / name)
        book = L3Book(1e-4)
        for chunk in np.array_split(lob.messages, 7):
            book.apply(chunk)
            check_l3(book)
        # orders resting since before the file: notes, never fatal, never corrupting
        notes = book.counters()
        assert notes and set(notes) <= {"unknown order id", "price level not in book",
                                        "reduce larger than available"}
