"""Market making on the generated L2 feed through tapereader's tick simulator (issue 4).

The loop of benchmarks/README.md ("l2_mm loop"), the same as runners/l2_mm_hftbacktest.py:
every 10 ms of local time the grid market maker (strategies/tick/market_making.py) quotes
bid = min(floor(mid - h), best bid), ask = max(ceil(mid + h), best ask) with post-only limit
orders of 1 lot while |position| < 10, cancelling working orders at other prices. Simulator:
conservative queue model (hftbacktest's risk-averse: the queue ahead shrinks by trades at the
level and never exceeds the level), no partial fills, constant 1 ms entry and response
latency, the data's receive times as feed latency, maker -0.5 bp / taker 7 bp.
``path=compiled`` (default) runs ``grid_mm_step_nb`` in the compiled driver; ``path=python``
the same strategy through Python hooks (``on_timer``).
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import numba  # noqa: E402
import numpy as np  # noqa: E402

import _tape_tick as TT  # noqa: E402
from engine.book.l2_nb import l2_best_nb  # noqa: E402
from engine.tick import TickConfig, run_compiled, run_tick  # noqa: E402
from engine.tick.layout import NEVER, OI_CXL  # noqa: E402
from strategies.tick.market_making import (  # noqa: E402
    SLOTS,
    GridMarketMaker,
    grid_mm_run_nb,
    grid_mm_step_nb,
)

VERSIONS = {"numba": numba.__version__, "numpy": np.__version__}


def run(feed, params):
    p = dict(P.MM_DEFAULTS, **params)
    cfg = TickConfig(queue={"risk_adverse": "conservative", "power3": "probabilistic"}[p["queue"]],
                     entry_latency=int(p["entry_latency_ns"]),
                     response_latency=int(p["response_latency_ns"]),
                     maker_fee=float(p["maker_fee"]), taker_fee=float(p["taker_fee"]),
                     partial_fills=False)
    strat = GridMarketMaker(timer_ns=int(p["interval_ns"]), order_qty=float(p["order_qty"]),
                            max_position=float(p["max_position"]),
                            half_spread_ticks=int(p["half_spread_ticks"]))
    if p.get("path", "compiled") == "python":
        res = run_tick(strat, feed, cfg)
    else:
        S = np.zeros(16)
        S[:SLOTS] = -1
        res = run_compiled(grid_mm_step_nb, feed, cfg, params=strat.params_array(), state=S,
                           timer_ns=int(p["interval_ns"]), driver=grid_mm_run_nb)
    f = res.fills
    dq, ok, oq, meta = res.sim.BL
    bb, _ = l2_best_nb(dq, ok, oq, meta, 0)
    ba, _ = l2_best_nb(dq, ok, oq, meta, 1)
    mid = 0.5 * (bb + ba) / 100
    balance = float(-(f["side"] * f["size"] * f["price"]).sum())
    fees = float(f["fee"].sum())
    return {
        "steps": int(res.wakes),
        "orders_sent": int(len(res.orders)),
        "cancels_sent": int((res.sim.oi[: len(res.orders), OI_CXL] != NEVER).sum()),
        "fills": int(len(f)),
        "position": float(res.position),
        "balance": balance,
        "fees": fees,
        "traded_volume": float(f["size"].sum()),
        "traded_value": float((f["size"] * f["price"]).sum()),
        "equity": balance + res.position * mid - fees,
    }


if __name__ == "__main__":
    P.main(
        task="l2_mm",
        engine="tapereader",
        load=TT.load,
        run=run,
        fingerprint=lambda r: r,
        n_items=lambda feed, params: feed.n_events,
        unit="events",
        versions=VERSIONS,
        defaults=dict(P.MM_DEFAULTS),
    )
