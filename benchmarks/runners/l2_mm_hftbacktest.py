"""Market making on the generated L2 feed through hftbacktest 2.x (issue 4).

The loop (tapereader's runner must do the same, see benchmarks/README.md):
every ``interval_ns`` of exchange time, with the local book (feed latency from the data):
  bid = min(floor((best_bid_tick + best_ask_tick) / 2 - h), best_bid_tick),
  ask = max(ceil((best_bid_tick + best_ask_tick) / 2 + h), best_ask_tick)   (ticks, h = half
  spread); working orders at another price are cancelled; if no working buy order sits at
  ``bid`` and position < max_position, a post-only (GTX) limit buy of ``order_qty`` is sent
  there; the same for the ask with position > -max_position.
Exchange model: no partial fills; queue model risk-averse (the queue ahead shrinks only by
trades at the level) or power-probability 3; constant order entry / response latency; maker /
taker fees on traded value.
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import hftbacktest  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402
from hftbacktest import BUY, GTX, LIMIT, SELL, HashMapMarketDepthBacktest  # noqa: E402
from numba import njit  # noqa: E402

import _hft_common as H  # noqa: E402

VERSIONS = {"hftbacktest": hftbacktest.__version__, "numba": numba.__version__,
            "numpy": np.__version__}


@njit
def mm_nb(hbt, interval_ns, h, qty, max_pos, tick):
    next_id = 1
    n_sent = 0
    n_cancel = 0
    steps = 0
    while hbt.elapse(interval_ns) == 0:
        steps += 1
        hbt.clear_inactive_orders(0)
        d = hbt.depth(0)
        bb = d.best_bid_tick
        ba = d.best_ask_tick
        if bb <= 0 or ba >= 9_000_000_000_000_000_000 or ba <= bb:
            continue
        s2 = bb + ba
        bid_t = min((s2 - 2 * h) // 2, bb)
        ask_t = max(-((-(s2 + 2 * h)) // 2), ba)
        pos = hbt.position(0)
        have_bid = False
        have_ask = False
        values = hbt.orders(0).values()
        while values.has_next():
            o = values.get()
            if o.side == BUY:
                if o.price_tick == bid_t and pos < max_pos:
                    have_bid = True
                elif o.cancellable:
                    hbt.cancel(0, o.order_id, False)
                    n_cancel += 1
            elif o.side == SELL:
                if o.price_tick == ask_t and pos > -max_pos:
                    have_ask = True
                elif o.cancellable:
                    hbt.cancel(0, o.order_id, False)
                    n_cancel += 1
        if not have_bid and pos < max_pos:
            hbt.submit_buy_order(0, next_id, bid_t * tick, qty, GTX, LIMIT, False)
            next_id += 1
            n_sent += 1
        if not have_ask and pos > -max_pos:
            hbt.submit_sell_order(0, next_id, ask_t * tick, qty, GTX, LIMIT, False)
            next_id += 1
            n_sent += 1
    return steps, n_sent, n_cancel


def run(arr, params):
    p = dict(P.MM_DEFAULTS, **params)
    hbt = HashMapMarketDepthBacktest([H.asset(arr, p)])
    steps, n_sent, n_cancel = mm_nb(hbt, int(p["interval_ns"]), int(p["half_spread_ticks"]),
                                    float(p["order_qty"]), float(p["max_position"]), H.TICK_SIZE)
    d = hbt.depth(0)
    sv = hbt.state_values(0)
    mid = 0.5 * (d.best_bid + d.best_ask)
    out = {
        "steps": int(steps),
        "orders_sent": int(n_sent),
        "cancels_sent": int(n_cancel),
        "fills": int(sv.num_trades),
        "position": float(sv.position),
        "balance": float(sv.balance),
        "fees": float(sv.fee),
        "traded_volume": float(sv.trading_volume),
        "traded_value": float(sv.trading_value),
        "equity": float(sv.balance + sv.position * mid - sv.fee),
    }
    hbt.close()
    return out


if __name__ == "__main__":
    H.main("l2_mm", run, versions=VERSIONS, defaults=dict(P.MM_DEFAULTS))
