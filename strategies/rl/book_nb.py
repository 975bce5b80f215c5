"""Numba kernels of the tick-mode environment's observation (the fills, latency, queues and
fees are the tick simulator's: :mod:`engine.tick`; the accounting is the core accountant's).

``book_features_nb`` reads the engine's L2 book state ``(dq, ok, oq, meta)`` (the strategy's
local view in :class:`engine.tick.TickSim`); ``obs_nb`` adds the mid's recent log returns and
the account state.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.book.codes import NO_TICK
from engine.book.l2_nb import l2_best_nb, l2_depth_nb

N_BOOK_FEAT = 5  # spread, L1 imbalance, top-5 imbalance, microprice offset, trade flow


@njit(cache=True)
def book_features_nb(book, flow, lot, out):
    """Book features at the current state into ``out[:N_BOOK_FEAT]``."""
    dqa, ok, oq, meta = book
    bt, bq = l2_best_nb(dqa, ok, oq, meta, 0)
    at, aq = l2_best_nb(dqa, ok, oq, meta, 1)
    if bt == NO_TICK or at == NO_TICK:
        for k in range(N_BOOK_FEAT):
            out[k] = 0.0
        return
    out[0] = min(float(at - bt), 100.0) / 10.0
    out[1] = (bq - aq) / (bq + aq) if bq + aq > 0 else 0.0
    lt = np.empty(5, np.int64)
    lq = np.empty(5)
    sb = 0.0
    sa = 0.0
    nb = l2_depth_nb(dqa, ok, oq, meta, 0, 5, lt, lq)
    for k in range(nb):
        sb += lq[k]
    na = l2_depth_nb(dqa, ok, oq, meta, 1, 5, lt, lq)
    for k in range(na):
        sa += lq[k]
    out[2] = (sb - sa) / (sb + sa) if sb + sa > 0 else 0.0
    micro = (bt * aq + at * bq) / (bq + aq) if bq + aq > 0 else 0.5 * (bt + at)
    out[3] = micro - 0.5 * (bt + at)
    out[4] = max(-10.0, min(10.0, flow / (10.0 * lot)))


@njit(cache=True)
def obs_nb(book, flow, lot, mids, window, k, inv, max_inv, eq, cash0, out):
    """Observation at step ``k``: book features, the mid's log returns over the last
    ``window`` steps (bps), inventory / max inventory, position value / equity,
    log(equity / starting cash)."""
    book_features_nb(book, flow, lot, out)
    j = N_BOOK_FEAT
    for w in range(window):
        a = mids[k - window + w]
        b = mids[k - window + w + 1]
        out[j] = 1e4 * math.log(b / a) if a > 0 and b > 0 else 0.0
        j += 1
    out[j] = inv / max_inv
    out[j + 1] = inv * mids[k] / eq if eq > 0 else 0.0
    out[j + 2] = math.log(eq / cash0) if eq > 0 else -10.0
