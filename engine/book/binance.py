"""Rebuild the Binance USD-M L2 book from a capture and compare it with the bookTicker stream.

Both streams carry Binance's book update ids. A depth diff covers every book update of the
symbol with id in ``[U, u]``, and consecutive diffs chain (``pu`` = previous ``u``), so no
update of this book has an id between one diff's ``u`` and the next diff's ``U``. A bookTicker
carries the id ``u`` of the update that produced it and is pushed on every change of the best
bid/ask price or size. Two exact comparisons follow:

* **per diff** (the main number): after applying diff j the best bid/ask must equal the last
  bookTicker with ``u <= u_j`` (no best-level change can have happened since: it would have
  produced a later ticker with id <= u_j). Every state the depth stream exposes is checked.
* **per ticker**: a ticker with ``u_j <= X < U_{j+1}`` shows exactly the state after diff j.
  Tickers with ``U_{j+1} <= X < u_{j+1}`` show a state *inside* a diff batch (``@depth@0ms``
  merges many updates into one message) that the depth stream never exposes: not comparable.

A naive comparison by arrival order (each ticker against the book after the diffs received
before it) is reported for contrast: it mostly compares different states.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.readers.binance import APPLIED, BinanceStream, SyncedDepth, sync_depth
from engine.book import codes as C
from engine.book.book import L2Book, to_ticks


@dataclasses.dataclass(frozen=True)
class TickerAgreement:
    """Best bid/ask of the rebuilt book vs the bookTicker events."""

    diffs_compared: int  # applied diffs with a bookTicker at or before their final id
    diffs_agree: int  # ... whose book best bid/ask (prices and sizes) equal that ticker
    diffs_agree_prices: int
    tickers: int  # bookTicker events in the stream
    tickers_comparable: int  # tickers whose id falls between two chained applied diffs
    tickers_agree: int  # ... equal to the book after the earlier diff (prices and sizes)
    tickers_inside_batch: int  # tickers whose id falls inside a diff's [U, u] range
    tickers_outside: int  # before the first synced diff, across a reset, or after the last
    arrival_compared: int
    arrival_agree: int  # naive: vs the book as of the ticker's arrival (prices and sizes)
    arrival_agree_prices: int
    diff_mismatches: np.ndarray  # indices (into stream.diffs) of disagreeing diffs
    sync: SyncedDepth

    @property
    def rate(self) -> float:
        """Per-diff agreement (prices and sizes)."""
        return self.diffs_agree / self.diffs_compared if self.diffs_compared else float("nan")

    @property
    def ticker_rate(self) -> float:
        return self.tickers_agree / self.tickers_comparable if self.tickers_comparable else float("nan")

    def report(self) -> str:
        def pct(a, b):
            return f"{100 * a / b:.3f}%" if b else "n/a"

        return "\n".join([
            f"per diff (book after diff j vs last bookTicker with u <= u_j): "
            f"{self.diffs_agree:,} / {self.diffs_compared:,} = "
            f"{pct(self.diffs_agree, self.diffs_compared)} (prices only "
            f"{pct(self.diffs_agree_prices, self.diffs_compared)})",
            f"per ticker (id between two diffs): {self.tickers_agree:,} / "
            f"{self.tickers_comparable:,} = {pct(self.tickers_agree, self.tickers_comparable)}; "
            f"of {self.tickers:,} tickers {self.tickers_inside_batch:,} fall inside a diff batch "
            f"and {self.tickers_outside:,} outside the synced range",
            f"naive, by arrival order: {pct(self.arrival_agree, self.arrival_compared)} "
            f"(prices only {pct(self.arrival_agree_prices, self.arrival_compared)}) of "
            f"{self.arrival_compared:,}",
            "diffs: " + ", ".join(f"{k} {v:,}" for k, v in self.sync.summary().items() if v),
        ])


def rebuild_book(stream: BinanceStream, tick_size: float | None = None):
    """Synchronise and replay the depth; returns (SyncedDepth, L2Book, top ticks, top sizes)
    where top[r] is (best bid, best ask) after synced DEPTH row r."""
    tick = tick_size or stream.tick_size_hint
    sync = sync_depth(stream)
    book = L2Book(tick, overflow=1024)
    top_t, top_q = book.apply(sync.depth, record_top=True)
    return sync, book, top_t, top_q


def compare_book_ticker(stream: BinanceStream, tick_size: float | None = None) -> TickerAgreement:
    """Compare the rebuilt book's best bid/ask with the bookTicker stream (module docstring)."""
    tick = tick_size or stream.tick_size_hint
    sync, _book, top_t, top_q = rebuild_book(stream, tick)
    q = stream.quotes
    nq = len(q)
    qt = np.stack([to_ticks(q["bid"], tick), to_ticks(q["ask"], tick)], axis=1)
    qq = np.stack([q["bid_size"], q["ask_size"]], axis=1)
    diffs = stream.diffs
    applied = np.flatnonzero(sync.diff_status == APPLIED)
    U = diffs["first_id"][applied]
    u = diffs["last_id"][applied]
    rows = sync.diff_end_row[applied]
    X = stream.quote_update_id
    order = np.argsort(X, kind="stable")

    def same(r, qi):
        peq = (top_t[r] == qt[qi]).all(axis=1)
        return peq, peq & (top_q[r] == qq[qi]).all(axis=1)

    # per diff: last ticker with id <= u_j
    k = np.searchsorted(X[order], u, side="right") - 1
    has = k >= 0
    qi = order[np.maximum(k, 0)]
    d_peq, d_eq = same(rows, qi) if len(applied) else (np.zeros(0, bool),) * 2
    d_peq &= has
    d_eq &= has

    # per ticker: between two chained applied diffs (same synced segment)
    chained = np.zeros(len(applied), bool)  # applied[i] chains onto applied[i - 1]
    if len(applied) > 1:
        chained[1:] = (diffs["prev_id"][applied[1:]] == u[:-1]) & (rows[:-1] < rows[1:])
        resets = np.flatnonzero((sync.depth["flags"] & 2).astype(bool) & (sync.depth["side"] == 0))
        if len(resets):
            nxt_reset = np.searchsorted(resets, rows[:-1], side="right")
            ok = nxt_reset < len(resets)
            chained[1:] &= ~(ok & (resets[np.minimum(nxt_reset, len(resets) - 1)] < rows[1:]))
    j = np.searchsorted(u, X, side="right") - 1
    nxt = j + 1
    inner = (j >= 0) & (nxt < len(applied))
    nxt_c = np.minimum(nxt, max(len(applied) - 1, 0))
    inner &= chained[nxt_c] if len(applied) else False
    comparable = inner & (X < U[nxt_c]) if len(applied) else np.zeros(nq, bool)
    inside = inner & ~comparable
    t_eq = same(rows[np.maximum(j, 0)], np.arange(nq))[1] & comparable if len(applied) else comparable

    arr_cmp, arr_ok, arr_pok = _arrival(stream, sync, top_t, top_q, qt, qq)
    return TickerAgreement(
        diffs_compared=int(has.sum()), diffs_agree=int(d_eq.sum()),
        diffs_agree_prices=int(d_peq.sum()), tickers=nq,
        tickers_comparable=int(comparable.sum()), tickers_agree=int(t_eq.sum()),
        tickers_inside_batch=int(inside.sum()), tickers_outside=int((~inner).sum()),
        arrival_compared=arr_cmp, arrival_agree=arr_ok, arrival_agree_prices=arr_pok,
        diff_mismatches=applied[has & ~d_eq], sync=sync,
    )


def _arrival(stream, sync, top_t, top_q, qt, qq):
    diffs = stream.diffs
    applied = np.flatnonzero(sync.diff_status == APPLIED)
    if not len(applied):
        return 0, 0, 0
    lines = diffs["line"][applied]
    rows = sync.diff_end_row[applied]
    k = np.searchsorted(lines, stream.quote_line, side="left") - 1
    r = rows[np.maximum(k, 0)]
    t, s = top_t[r], top_q[r]
    valid = (k >= 0) & (t[:, 0] != C.NO_TICK) & (t[:, 1] != C.NO_TICK)
    peq = (t == qt).all(axis=1) & valid
    eq = peq & (s == qq).all(axis=1)
    return int(valid.sum()), int(eq.sum()), int(peq.sum())
