"""Tick runs book their fills through the core's portfolio accountant kernels
(``engine.portfolio_nb``): one set of accounting kernels for bar and tick runs."""

from __future__ import annotations

from numba import njit

from engine.portfolio_nb import book_fill_nb, snapshot_nb


@njit(cache=True)
def book_tick_fills_nb(fills, bar_of_fill, open_tr, trades, cnt, acct, snap):
    """Book every fill (in order) and snapshot the state at the sampling step it falls in."""
    for k in range(fills.shape[0]):
        f = fills[k]
        book_fill_nb(f.sym, f.side, f.size, f.price, f.fee, f.ts, open_tr, trades, cnt, acct)
        snapshot_nb(bar_of_fill[k], open_tr, acct, cnt, snap)
