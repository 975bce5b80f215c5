"""Replaying a LOBSTER message file through the L3 book must reproduce its orderbook file.

The reproduction rule (docs/order_book.md): LOBSTER writes only the messages that touch the top
L levels, so the book can know only those levels. After each message:

1. the message is applied to the L3 book (unknown order ids act on the anonymous quantity of
   their level, found by side and price);
2. levels beyond the best L on a side have left the visible window: they are forgotten (with
   their orders), since later changes to them are not in the file;
3. when a side then holds fewer than L levels and the orderbook row shows more, those deeper
   levels have entered the window from beyond it: they are learned from the row, and only
   those (each must be worse than every level the book holds);
4. the book's top N levels are compared with the row for every N = 1..L (prices and sizes,
   both sides; dummy levels are empty levels).

Before the first message the book is unknown: it is learned from row 0 with message 0's
effect reversed (reported apart as the initial levels).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from numba import njit

from data.errors import ConfigError, DataError
from data.readers.lobster import DUMMY_ASK, DUMMY_BID, Lobster, read_lobster
from data.schema import (
    MBO_ADD,
    MBO_ANON_LEVEL,
    MBO_CANCEL,
    MBO_DELETE,
    MBO_EXECUTE,
    MBO_FORGET,
)
from engine.book import codes as C
from engine.book.l3_nb import (
    l3_alloc,
    l3_forget_beyond_nb,
    l3_replay_nb,
    l3_set_anon_nb,
)


@njit(cache=True, inline="always")
def _row_level(ob, i, s, k):
    """(price, size) of level k of side s in orderbook row i; price NO_TICK for a dummy."""
    col = 4 * k + (2 if s == 0 else 0)
    p = ob[i, col]
    if p == DUMMY_ASK or p == DUMMY_BID:
        return C.NO_TICK, 0
    return p, ob[i, col + 1]


@njit(cache=True)
def _qty_at(lv, meta, s, tick):
    n = meta[s]
    key = tick if s == 0 else -tick
    for j in range(n - 1, -1, -1):
        if lv[s, C.LV_KEY, j] == key:
            return lv[s, C.LV_QTY, j]
    return 0


@njit(cache=True, inline="always")
def _put(corr, counts, row, ev, oid, s, tick, q):
    """Record one window correction (written only while ``corr`` has room; always counted)."""
    k = counts[4]
    if k < corr.shape[0]:
        corr[k, 0] = row
        corr[k, 1] = ev
        corr[k, 2] = oid
        corr[k, 3] = 1 if s == 0 else -1
        corr[k, 4] = tick
        corr[k, 5] = q
    counts[4] = k + 1


@njit(cache=True)
def lobster_window_nb(lv, od, ht, meta, ob, i, L, corr, counts):
    """The window rule after message ``i`` (steps 2-3 of the module doc) on a market-only book;
    every change is also recorded in ``corr`` as an MBO event (see :func:`lobster_check_nb`).
    Returns (status, shallowest depth learned at this row, L if none)."""
    first_learned = L
    for s in range(2):
        n = meta[s]
        if n > L:
            for j in range(n - L):  # the levels beyond the best L, worst first
                key = lv[s, C.LV_KEY, j]
                tk = key if s == 0 else -key
                slot = lv[s, C.LV_HEAD, j]
                while slot >= 0:
                    _put(corr, counts, i, MBO_FORGET, od[slot, C.OD_ID], s, tk,
                         od[slot, C.OD_QTY])
                    counts[5] += 1
                    slot = od[slot, C.OD_NEXT]
                if lv[s, C.LV_ANON, j] > 0:
                    _put(corr, counts, i, MBO_ANON_LEVEL, 0, s, tk, 0)
                    counts[6] += 1
            counts[2] += l3_forget_beyond_nb(lv, od, ht, meta, s, L)
        k = meta[s]
        while k < L:
            p, sz = _row_level(ob, i, s, k)
            if p == C.NO_TICK:
                break
            key = p if s == 0 else -p
            if k > 0 and not key < lv[s, C.LV_KEY, 0]:
                break  # not beyond the book's worst level: a disagreement, not an entry
            st = l3_set_anon_nb(lv, od, ht, meta, s, p, sz)
            if st != C.OK:
                return st, first_learned
            _put(corr, counts, i, MBO_ANON_LEVEL, 0, s, p, sz)
            counts[1] += 1
            if k < first_learned:
                first_learned = k
            k += 1
    return C.OK, first_learned


@njit(cache=True)
def lobster_check_nb(lv, od, ht, meta, ts, event, oid, side, tick, q, ob, L,
                     match, first_bad, depth_ok, learned_rows, counts, corr, diff):
    """Run the reproduction check; returns a status (fatal codes stop at their row).

    Outputs: ``match[N-1]`` rows whose top N levels match; ``first_bad[N-1]`` first row not
    matching at depth N (-1 if none); ``depth_ok[i]`` matching depth of row i;
    ``learned_rows[N-1]`` rows whose top N held a level learned from that very row; ``counts``:
    [initial levels learned, levels learned later, levels forgotten, rows, corrections,
    forgotten known orders, forgotten anonymous quantities]; ``diff`` (int64[7]) the first
    disagreement: (row, level index, side 0 bid / 1 ask, book price, book size, file price,
    file size), prices NO_TICK for an empty level; ``diff[0]`` stays -1 if every row matches.

    ``corr`` (int64[cap, 6]) receives the book changes the orderbook file made, as MBO events
    that turn a replay of the messages into this one: rows (message index, event, order id,
    side BUY=1 / SELL=-1, tick, quantity), the changes after message i at index i, the
    initial levels at index -1 (MBO_ANON_LEVEL each). Only the first ``cap`` are written;
    ``counts[4]`` is the total, so a caller sizes ``corr`` from a first run."""
    n = ts.shape[0]
    if n == 0:
        return C.OK
    # initial book: row 0 with message 0 reversed
    for s in range(2):
        for k in range(L):
            p, sz = _row_level(ob, 0, s, k)
            if p == C.NO_TICK:
                break
            st = l3_set_anon_nb(lv, od, ht, meta, s, p, sz)
            if st != C.OK:
                return st
            counts[0] += 1
    e0 = event[0]
    s0 = 0 if side[0] == 1 else 1
    if e0 == MBO_ADD:
        l3_set_anon_nb(lv, od, ht, meta, s0, tick[0], _qty_at(lv, meta, s0, tick[0]) - q[0])
    elif e0 == MBO_CANCEL or e0 == MBO_DELETE or e0 == MBO_EXECUTE:
        l3_set_anon_nb(lv, od, ht, meta, s0, tick[0], _qty_at(lv, meta, s0, tick[0]) + q[0])
    for s in range(2):
        for j in range(meta[s] - 1, -1, -1):
            key = lv[s, C.LV_KEY, j]
            _put(corr, counts, -1, MBO_ANON_LEVEL, 0, s, key if s == 0 else -key,
                 lv[s, C.LV_ANON, j])
    for i in range(n):
        st, _ = l3_replay_nb(lv, od, ht, meta, ts, event, oid, side, tick, q, i, i + 1)
        if st != C.OK:
            return st
        st, first_learned = lobster_window_nb(lv, od, ht, meta, ob, i, L, corr, counts)
        if st != C.OK:
            return st
        m = 0
        while m < L:
            same = True
            for s in range(2):
                p, sz = _row_level(ob, i, s, m)
                nl = meta[s]
                mine, mine_sz = C.NO_TICK, 0
                if m < nl:
                    key = lv[s, C.LV_KEY, nl - 1 - m]
                    mine = key if s == 0 else -key
                    mine_sz = lv[s, C.LV_QTY, nl - 1 - m]
                if mine != p or mine_sz != sz:
                    if same and diff[0] < 0:
                        diff[0], diff[1], diff[2] = i, m, s
                        diff[3], diff[4], diff[5], diff[6] = mine, mine_sz, p, sz
                    same = False
            if not same:
                break
            m += 1
        depth_ok[i] = m
        for d in range(m):
            match[d] += 1
        for d in range(m, L):
            if first_bad[d] < 0:
                first_bad[d] = i
        for d in range(first_learned, L):
            learned_rows[d] += 1
        counts[3] += 1
    return C.OK


@dataclasses.dataclass(frozen=True)
class LobsterCheck:
    """Outcome of :func:`check_lobster`."""

    message_file: str
    orderbook_file: str
    levels: int
    rows: int
    matching: tuple[int, ...]  # per depth N = 1..levels
    first_mismatch: tuple[int, ...]  # row index per depth, -1 if none
    learned_rows: tuple[int, ...]  # per depth: rows whose top N held a level learned there
    learned_initial: int  # levels taken from row 0 (the book before the file starts)
    learned: int  # levels that entered the window from beyond it, learned from the rows
    forgotten: int  # levels that left the window
    counters: dict[str, int]  # book notes (unknown order ids, ...)
    depth_ok: np.ndarray  # matching depth of each row
    forgotten_orders: int = 0  # known orders forgotten with their levels
    forgotten_anon: int = 0  # forgotten levels that held anonymous quantity
    #: with ``corrections=True``: int64[m, 6] rows (message index, MBO event, order id, side,
    #: tick in LOBSTER price units, quantity), the window rule's changes as MBO events
    #: (:func:`lobster_check_nb`); index -1: the initial levels
    corrections: np.ndarray | None = None
    #: the first disagreement, None if every row matches: (row index, level index, side 0 bid
    #: / 1 ask, book price, book size, orderbook file price, file size), LOBSTER price units,
    #: price NO_TICK for an empty level (see :meth:`mismatch_error`)
    first_difference: tuple[int, ...] | None = None

    @property
    def ok(self) -> bool:
        return all(m == self.rows for m in self.matching)

    def first_difference_text(self) -> str:
        """The first disagreement in words ('' when every row matches)."""
        if self.first_difference is None:
            return ""
        i, k, s, bp, bs, fp, fs = self.first_difference
        nm = "bid" if s == 0 else "ask"
        return (f"after message {i + 1} the book replayed from the messages has {nm} level "
                f"{k + 1} {_level_text(bp, bs)}, the orderbook file {_level_text(fp, fs)}")

    def mismatch_error(self) -> DataError:
        """The :class:`DataError` for a failed check (``ok`` False): the first message row whose
        book disagrees with the orderbook file, the level, side and column, both values."""
        i, k, s, bp, bs, fp, fs = self.first_difference
        col = f"{'bid' if s == 0 else 'ask'}_{'price' if bp != fp else 'size'}_{k + 1}"
        bad = self.rows - self.matching[-1]
        return DataError(
            f"the LOBSTER messages do not reproduce the orderbook file: "
            f"{self.first_difference_text()} (message file {self.message_file}; {bad:,} of "
            f"{self.rows:,} rows disagree)",
            file=self.orderbook_file, row=i + 1, column=col,
            value={"messages": [bp if bp != C.NO_TICK else None, bs],
                   "orderbook": [fp if fp != C.NO_TICK else None, fs]},
            fix="pair the message file with its own orderbook file (LOBSTER writes them "
                "together: same symbol, day, time window and level; `tape run` takes the file "
                "named like the message file with 'message' replaced by 'orderbook'), or "
                "replay the messages alone (read_lobster without the orderbook file; for "
                "`tape run`, move the orderbook file away), or build the feed on them anyway "
                "with lobster_feed(lob, strict=False) (docs/tick_fills.md); `tape book check "
                "MESSAGE ORDERBOOK` prints the comparison at every depth")

    def table(self) -> str:
        lines = [f"{'depth N':>8} {'rows compared':>14} {'rows matching':>14} {'match %':>9} "
                 f"{'rows w/ level learned there':>28}"]
        for d, m in enumerate(self.matching, start=1):
            pct = 100.0 * m / self.rows if self.rows else 100.0
            bad = "" if m == self.rows else f"   first mismatch at row {self.first_mismatch[d - 1] + 1}"
            lines.append(f"{d:>8} {self.rows:>14,} {m:>14,} {pct:>8.4f}% "
                         f"{self.learned_rows[d - 1]:>28,}{bad}")
        lines.append(f"levels learned from the orderbook file: {self.learned_initial} initial "
                     f"(row 1), {self.learned:,} entering the window later; "
                     f"levels forgotten on leaving it: {self.forgotten:,} (with "
                     f"{self.forgotten_orders:,} known orders, {self.forgotten_anon:,} "
                     f"anonymous quantities)")
        if self.counters:
            notes = ", ".join(f"{k}: {v:,}" for k, v in self.counters.items())
            lines.append(f"book notes: {notes}")
        return "\n".join(lines)


def check_lobster_data(lob: Lobster, *, levels: int | None = None,
                       corrections: bool = False) -> LobsterCheck:
    """Run the reproduction check on an already read :class:`Lobster` (with orderbook).
    ``corrections``: also return the window rule's book changes as MBO events (what the tick
    simulator's LOBSTER feed inserts after each message, ``engine.tick.feed.lobster_feed``)."""
    if lob.orderbook is None:
        raise DataError("the LOBSTER data has no orderbook file", argument="orderbook_file",
                        fix="read it with read_lobster(message_file, orderbook_file)")
    file_levels = lob.orderbook.shape[1] // 4
    L = file_levels if levels is None else int(levels)
    if not 1 <= L <= file_levels:
        raise ConfigError(f"levels={levels} but the orderbook file has {file_levels} level(s)",
                          file=lob.orderbook_file, argument="levels", value=levels,
                          fix=f"use a value between 1 and {file_levels}")
    ev = lob.messages
    n = len(ev)
    book_ev = np.isin(ev["event"], (MBO_ADD, MBO_CANCEL, MBO_DELETE, MBO_EXECUTE))
    tick = np.where(book_ev, lob.price_int, 0).astype(np.int64)
    cols = (ev["ts"].copy(), ev["event"].copy(), ev["order_id"].copy(), ev["side"].copy(), tick,
            ev["size"].astype(np.int64))
    n_adds = int(np.count_nonzero(ev["event"] == MBO_ADD))
    distinct = len(np.unique(tick[book_ev])) if n else 0
    ob = np.ascontiguousarray(lob.orderbook)
    cap = (n + 64) if corrections else 0
    while True:
        lv, od, ht, meta = l3_alloc(level_cap=distinct + 4 * L + 16, order_cap=n_adds + 16)
        match = np.zeros(L, np.int64)
        first_bad = np.full(L, -1, np.int64)
        depth_ok = np.zeros(n, np.int64)
        learned_rows = np.zeros(L, np.int64)
        counts = np.zeros(7, np.int64)
        corr = np.zeros((cap, 6), np.int64)
        diff = np.full(7, -1, np.int64)
        st = lobster_check_nb(lv, od, ht, meta, *cols, ob, L, match, first_bad, depth_ok,
                              learned_rows, counts, corr, diff)
        if st != C.OK:  # capacities are sized from the data: cannot happen
            raise RuntimeError(f"LOBSTER check stopped: {C.NAMES.get(st, st)}")
        if counts[4] <= cap or not corrections:
            break
        cap = int(counts[4])  # the exact count: one more run
    counters = {C.NAMES[c]: int(meta[C.M_COUNT0 + c]) for c in range(1, C.N_CODES)
                if meta[C.M_COUNT0 + c]}
    return LobsterCheck(
        message_file=lob.message_file, orderbook_file=str(lob.orderbook_file), levels=L,
        rows=int(counts[3]), matching=tuple(int(x) for x in match),
        first_mismatch=tuple(int(x) for x in first_bad),
        learned_rows=tuple(int(x) for x in learned_rows), learned_initial=int(counts[0]),
        learned=int(counts[1]), forgotten=int(counts[2]), counters=counters, depth_ok=depth_ok,
        forgotten_orders=int(counts[5]), forgotten_anon=int(counts[6]),
        corrections=corr[: counts[4]].copy() if corrections else None,
        first_difference=tuple(int(x) for x in diff) if diff[0] >= 0 else None,
    )


def _level_text(price: int, size: int) -> str:
    if price == C.NO_TICK:
        return "empty (no level)"
    return f"price {price / 1e4:.4f} size {size:,}"


def check_lobster(message_file: str | Path, orderbook_file: str | Path, *,
                  levels: int | None = None, date=None) -> LobsterCheck:
    """Replay ``message_file`` and compare with ``orderbook_file`` on every row and depth."""
    if date is None and _needs_date(message_file):
        date = "1970-01-01"  # time stamps play no part in the check
    lob = read_lobster(message_file, orderbook_file, date=date)
    return check_lobster_data(lob, levels=levels)


def _needs_date(path) -> bool:
    from data.readers.lobster import parse_lobster_name

    return parse_lobster_name(path) is None
