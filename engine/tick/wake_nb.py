"""Pieces of the strategy side of the simulator loop that the L2 and L3 tick simulators share
(numba): the wake on responses / at the stream horizon, the time everything has settled at, and
the local cursor of a stream. Called once per wake from :mod:`engine.tick.l2sim_nb` and
:mod:`engine.tick.l3sim_nb`.

The exchange side's per-event checks (capacity, the bound a new response sets) stay written
out in both exchange loops: as shared helpers (``inline="always"`` or not) the 1M-event l2_mm
run (the harness's generated feed) and a LOBSTER GOOG L3 run measured 5-15 % slower.
"""

from __future__ import annotations

from numba import njit

from engine.tick.layout import (
    N_VIS,
    S_NNOTE,
    S_NSEEN,
    S_XNOW,
    W_MORE,
    W_NOTE,
    WK_NOTE,
)


@njit(cache=True)
def note_or_horizon_nb(sv, notes, wake, t, kind, hz):
    """The strategy's wake (time, kind) after the market rows: an earlier response to deliver
    (``wake`` has WK_NOTE), then cut at the streamed feed's horizon ``hz`` (W_MORE)."""
    if wake & WK_NOTE and sv[S_NSEEN] < sv[S_NNOTE] and notes[sv[S_NSEEN], N_VIS] < t:
        t = notes[sv[S_NSEEN], N_VIS]
        kind = W_NOTE
    if t > hz:  # streamed feed: rows after the horizon are not loaded yet
        t = hz
        kind = W_MORE
    return t, kind


@njit(cache=True)
def settled_nb(sv, notes):
    """The time by which what the exchange has processed and every response is visible (no
    timer and nothing left on the exchange: everything is delivered)."""
    t = sv[S_XNOW]
    if sv[S_NNOTE] > 0 and notes[sv[S_NNOTE] - 1, N_VIS] > t:
        t = notes[sv[S_NNOTE] - 1, N_VIS]
    return t


@njit(cache=True)
def last_nb(lts, t):
    """``t`` or the last local time of a stream when that is later."""
    n = lts.shape[0]
    if n > 0 and lts[n - 1] > t:
        return lts[n - 1]
    return t


@njit(cache=True)
def local_stop_nb(lts, start, t):
    """The first row from ``start`` whose local time is after ``t``."""
    j = start
    n = lts.shape[0]
    while j < n and lts[j] <= t:
        j += 1
    return j
