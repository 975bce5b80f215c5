"""Pure replay of the generated L2 feed through tapereader (issue 4).

``mode=kernel`` (default): the merged stream (depth rows and trades in the file's exact
order) through one L2 book: runs of depth rows between two trades with one ``l2_replay_nb``
call each, every trade read. ``mode=sim``: the whole tick simulator with an exchange book and a
strategy-side book (recorded feed latency) and a compiled strategy woken every 1 s of local
time that reads the best bid/ask (what hftbacktest's ``elapse`` runner does).
The feed conversion (prices to ticks, merge order, local clock) is in ``load``.
"""

import _protocol  # noqa: F401, I001  (first: starts the import clock)

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

import _tape_tick as TT  # noqa: E402
from benchmarks.bench_book import replay_merged_nb  # noqa: E402
from engine.book.codes import NO_TICK  # noqa: E402
from engine.book.l2_nb import l2_alloc, l2_best_nb  # noqa: E402
from engine.tick import TickConfig, run_compiled  # noqa: E402
from engine.tick.l2sim_nb import advance_l2_nb  # noqa: E402
from engine.tick.layout import S_TIMER, W_END, W_UNTIL  # noqa: E402

VERSIONS = {"numba": numba.__version__, "numpy": np.__version__}
DEFAULTS = {"mode": "kernel", "step_ns": 1_000_000_000}


@njit(cache=True)
def mid_probe_step_nb(code, D, T, BL, OS, sv, cf, P, S):
    if code != W_UNTIL:
        return
    dq, ok, oq, meta = BL
    bb, _q = l2_best_nb(dq, ok, oq, meta, 0)
    ba, _q = l2_best_nb(dq, ok, oq, meta, 1)
    if bb != NO_TICK and ba != NO_TICK:
        S[0] += 0.5 * (bb + ba) * cf[0]
        S[1] += 1.0


@njit(cache=True)
def probe_run_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, P, S, timer, wake):
    while True:
        code = advance_l2_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, sv[S_TIMER], wake)
        if code >= W_END:  # W_END, W_FULL or W_MORE (streamed feed)
            return code
        mid_probe_step_nb(code, D, T, BL, OS, sv, cf, P, S)
        if code == W_UNTIL:
            sv[S_TIMER] += timer


def run(feed, params):
    D, T = feed.D, feed.T
    if params["mode"] == "kernel":
        dq, ok, oq, meta = l2_alloc(overflow=4096)
        ts = replay_merged_nb(dq, ok, oq, meta, D[0], D[2], D[3], D[4], D[5], D[6], T[3], T[5])
        bb, bq = l2_best_nb(dq, ok, oq, meta, 0)
        ba, aq = l2_best_nb(dq, ok, oq, meta, 1)
        return {"events": feed.n_events, "trade_tick_sum": int(ts), "best_bid": bb / 100,
                "best_ask": ba / 100, "best_bid_qty": bq, "best_ask_qty": aq}
    S = np.zeros(4)
    res = run_compiled(mid_probe_step_nb, feed, TickConfig(), state=S,
                       timer_ns=int(params["step_ns"]), driver=probe_run_nb)
    dq, ok, oq, meta = res.sim.BL
    bb, bq = l2_best_nb(dq, ok, oq, meta, 0)
    ba, aq = l2_best_nb(dq, ok, oq, meta, 1)
    return {"steps": int(S[1]), "mid_sum": float(S[0]), "best_bid": bb / 100,
            "best_ask": ba / 100, "best_bid_qty": bq, "best_ask_qty": aq}


if __name__ == "__main__":
    TT.main("l2_replay", run, versions=VERSIONS, defaults=DEFAULTS)
