"""No look-ahead for every registered tick strategy, Python hooks and compiled steps, on the
shipped LOBSTER GOOG day (L3) and Binance BTCUSDT capture (L2) (tests/lookahead_tick.py).

For random cut times t (exchange time), latencies, feed latencies and queue models, the events
after t are replaced by garbage, and separately cut off; the strategy's decisions at local
times <= t, the orders it sent by t, the fills and exchange status changes by t, the responses
that reached it by t and the equity sampled by t must be identical to the full run. A tick
strategy that peeks at later trades is caught.
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_oracle import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from lookahead_tick import TICK_SETUP, check, load, tick_strategies
from reliability_orders import COUNTS

from strategies.base import Strategy

STRATS = tick_strategies()
DATA = ("binance", "goog")  # L2 (depth + trades + quotes), L3 (LOBSTER messages)


def _cases():
    out = []
    for name in sorted(STRATS):
        for ds in DATA:
            modes = ["python"]
            if getattr(STRATS[name], "step_nb", None) is not None and ds == "binance":
                modes.append("compiled")  # the compiled path drives L2 feeds
            out += [pytest.param(name, ds, m, id=f"{name}-{ds}-{m}") for m in modes]
    return out


CASES = _cases()


def test_every_registered_tick_strategy_is_covered():
    assert {"avellaneda_stoikov", "grid_mm", "ofi_taker"} <= set(STRATS)
    missing = set(STRATS) - set(TICK_SETUP)
    assert not missing, f"add params on which {missing} trade to tests/lookahead_tick.py TICK_SETUP"
    assert {c.values[2] for c in CASES} == {"python", "compiled"}


def _tick(ds, entry, resp, flat, queue):
    tick = {"entry_latency": entry, "response_latency": resp, "maker_fee": -0.00005,
            "taker_fee": 0.0004}
    if ds == "binance":
        tick["queue"] = queue
        tick["feed_latency"] = flat
    else:  # LOBSTER has no receive times; L3 queues are exact FIFO
        tick["feed_latency"] = "none" if flat == "recorded" else flat
    return tick


@pytest.mark.slow
@pytest.mark.parametrize("name, ds, mode", CASES)
@fuzz_settings(2)
@given(frac=st.floats(0.05, 0.95), seed=st.integers(0, 2**32 - 1),
       entry=st.sampled_from([0, 1_000_000, ("exponential", 200_000, 500_000)]),
       resp=st.sampled_from([0, 1_000_000, ("uniform", 100_000, 3_000_000)]),
       flat=st.sampled_from(["recorded", 250_000, ("exponential", 0, 400_000)]),
       queue=st.sampled_from(["conservative", "probabilistic"]))
def test_no_look_ahead_on_order_books(name, ds, mode, frac, seed, entry, resp, flat, queue):
    data = load(ds)
    ts = data.times
    t = int(ts[0] + frac * (ts[-1] - ts[0]))
    counts = check(STRATS[name], TICK_SETUP[name][ds], data, mode,
                   _tick(ds, entry, resp, flat, queue), t, seed % 1000,
                   np.random.default_rng(seed))
    COUNTS["tick look-ahead cuts"] += 1
    for k, v in counts.items():
        COUNTS[f"tick look-ahead {k} compared"] += v


class PeekingTaker(Strategy):
    """Buys when the next trade in the feed (after now) is higher: must be caught."""

    name = "peeking_taker"
    timer_ns: int = 500_000_000

    def on_timer(self, ctx):
        f = ctx._sim.feed
        k = int(np.searchsorted(f.T[1], ctx.now, side="right"))
        if k + 1 < len(f.T[3]) and not ctx.open_orders():
            if f.T[3][k + 1] > f.T[3][k]:
                ctx.buy(size=0.01)
            elif f.T[3][k + 1] < f.T[3][k]:
                ctx.sell(size=0.01)


class ScaledByTheDay(Strategy):
    """Subtler: quotes around the mean trade price of the whole feed."""

    name = "day_mean"
    timer_ns: int = 1_000_000_000

    def on_timer(self, ctx):
        f = ctx._sim.feed
        mean = float(np.mean(f.T[3])) if len(f.T[3]) else 0.0
        b = ctx.best_ticks()[0]
        if b is not None and not ctx.open_orders():
            ctx.buy(size=0.01, limit=ctx.price_of_tick(min(b, int(mean))), tif="IOC")


@pytest.mark.parametrize("cls", [PeekingTaker, ScaledByTheDay])
def test_the_tick_harness_catches_a_strategy_that_peeks(cls):
    data = load("binance")
    ts = data.times
    tick = _tick("binance", 1_000_000, 1_000_000, "recorded", "conservative")
    with pytest.raises(AssertionError, match="look-ahead"):
        for frac in (0.3, 0.6):
            check(cls, {}, data, "python", tick, int(ts[0] + frac * (ts[-1] - ts[0])), 1,
                  np.random.default_rng(3))
