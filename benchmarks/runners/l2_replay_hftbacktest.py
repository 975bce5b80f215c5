"""Pure replay of the generated L2 feed through hftbacktest 2.x (issue 4).

``mode=elapse`` (default): ``hbt.elapse(step_ns)`` in 1 s steps of exchange time, reading the
best bid/ask after each step (the Rust core applies every event; Python/numba sees only the
step boundaries). ``mode=feed``: ``wait_next_feed`` returns on every market event and the loop
reads the best bid/ask each time (what a strategy that reacts to each event pays).
The call time includes building the backtester from the in-memory event array.
"""

import _protocol  # noqa: F401, I001  (first: starts the import clock)

import hftbacktest  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
from hftbacktest import HashMapMarketDepthBacktest  # noqa: E402
from numba import njit  # noqa: E402

import _hft_common as H  # noqa: E402

VERSIONS = {"hftbacktest": hftbacktest.__version__, "numba": numba.__version__,
            "numpy": np.__version__}
DEFAULTS = {"mode": "elapse", "step_ns": 1_000_000_000}


@njit
def replay_elapse_nb(hbt, step_ns):
    steps = 0
    mid_sum = 0.0
    while hbt.elapse(step_ns) == 0:
        d = hbt.depth(0)
        mid_sum += 0.5 * (d.best_bid + d.best_ask)
        steps += 1
    return steps, mid_sum


@njit
def replay_feed_nb(hbt):
    steps = 0
    mid_sum = 0.0
    while True:
        r = hbt.wait_next_feed(False, 1_000_000_000_000)
        if r == 1:
            break
        if r == 2:
            d = hbt.depth(0)
            mid_sum += 0.5 * (d.best_bid + d.best_ask)
            steps += 1
    return steps, mid_sum


def run(arr, params):
    hbt = HashMapMarketDepthBacktest([H.asset(arr, params)])
    if params["mode"] == "elapse":
        steps, mid_sum = replay_elapse_nb(hbt, int(params["step_ns"]))
    else:
        steps, mid_sum = replay_feed_nb(hbt)
    d = hbt.depth(0)
    out = {
        "steps": int(steps),
        "mid_sum": float(mid_sum),
        "best_bid": float(d.best_bid),
        "best_ask": float(d.best_ask),
        "best_bid_qty": float(d.best_bid_qty),
        "best_ask_qty": float(d.best_ask_qty),
    }
    hbt.close()
    return out


if __name__ == "__main__":
    H.main("l2_replay", run, versions=VERSIONS, defaults=DEFAULTS)
