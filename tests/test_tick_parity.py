"""Parity: a strategy written with Python hooks and its compiled twin give identical fills and
orders (the same advance kernel drives both), on generated and real data."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synth import generate_l2
from engine.tick import TickConfig, build_feed, run_compiled, run_tick
from strategies.tick.market_making import (
    SLOTS,
    AvellanedaStoikov,
    GridMarketMaker,
    as_step_nb,
    grid_mm_step_nb,
)


def _same(a, b):
    assert a.dtype == b.dtype and len(a) == len(b)
    for name in a.dtype.names:
        x, y = a[name], b[name]
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert np.array_equal(x, y), name


def _state():
    s = np.zeros(16)
    s[:SLOTS] = -1
    return s


CFG = TickConfig(entry_latency=("exponential", 300_000, 200_000), response_latency=500_000,
                 maker_fee=-0.00005, taker_fee=0.0007, queue="probabilistic", seed=42,
                 partial_fills=False)


def test_grid_mm_python_hooks_equal_compiled():
    g = generate_l2(30_000, seed=5)
    feed = build_feed(depth=g["depth"], trade=g["trade"], tick_size=0.01, feed_latency="recorded",
                      seq={"depth": g["depth_seq"], "trade": g["trade_seq"]})
    strat = GridMarketMaker(timer_ns=10_000_000, max_position=5.0)
    py = run_tick(strat, feed, CFG)
    nb = run_compiled(grid_mm_step_nb, feed, CFG, params=strat.params_array(), state=_state(),
                      timer_ns=10_000_000)
    assert len(py.fills) > 20 and len(py.orders) > 50
    _same(py.fills, nb.fills)
    _same(py.orders, nb.orders)


@pytest.mark.filterwarnings("ignore:.*receive time is before")
def test_avellaneda_stoikov_python_equals_compiled_on_binance(samples):
    from data.readers.binance import read_binance_stream, sync_depth

    path = samples / "crypto" / "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
    stream = read_binance_stream(path)
    depth = sync_depth(stream).depth
    feed = build_feed(depth=depth, trade=stream.trades, tick_size=0.1, feed_latency="recorded")
    strat = AvellanedaStoikov(timer_ns=100_000_000, order_qty=0.01, max_position=0.05,
                              gamma=0.05, kappa=0.5, sigma2_init=4.0)
    py = run_tick(strat, feed, CFG)
    nb = run_compiled(as_step_nb, feed, CFG, params=strat.params_array(), state=_state(),
                      timer_ns=100_000_000)
    assert len(py.fills) > 5
    _same(py.fills, nb.fills)
    _same(py.orders, nb.orders)
