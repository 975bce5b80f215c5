"""Order-stream invariants on generated bars (hypothesis), Python path.

A random trader (tests/reliability_orders.py) sends market / limit / stop / stop-limit /
trailing orders, brackets with one or two children, target orders, all time-in-force codes,
invalid sizes and prices, cancels and replaces, on one to three symbols of random bars (gaps,
flat bars, zero volume, symbols missing bars, irregular spacing, prices from 0.05 to 50,000),
under random costs, lots, volume caps, leverage, borrow fees and both fill options. Checked
after every bar and at the end (see :func:`reliability_orders.check_run`):

* the order state machine of engine/types.py: terminal orders never change again, statuses
  move only along legal transitions, the Python side only cancels / replaces / adds;
* no fill after a cancel / reject / expiry, no double fill (fills per order == filled_size,
  never above the size; FILLED is complete, PARTIAL partial, REJECTED unfilled);
* bracket children never fill more together than their parent did (OCO never both), and
  never before the parent filled;
* fill reference prices inside the bar's low..high, at-close fills at the close, fills only
  on bars of the symbol and after the order was sent;
* cash, fees, positions and equity the strategy sees at each bar, and the recorded equity
  curve, equal what the fill log implies; cash + positions value == equity at every bar;
  fills conserve quantity into round-trip trades; starting cash + trade P&L == final equity;
* lots, volume caps and shortability respected.
"""

from __future__ import annotations

import numpy as np
from fuzz_oracle import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from reliability_orders import DAY, HOUR, RandomTrader, check_run, random_market

import engine

COSTS = [0.0, 0.001, {"model": "per_share", "per_share": 0.01, "minimum": 1.0},
         {"model": "fixed", "fixed": 2.0}]
SLIPS = [0.0, 5.0, {"model": "half_spread", "spread": 0.002},
         {"model": "sqrt_impact", "coef": 0.1}]


def run_random(seed, n_sym, n_bars, step, lot, fill_at, vcap, lev, commission, slippage,
               borrow, shortable, rate, cash0=100_000.0):
    rng = np.random.default_rng(seed)
    market = random_market(rng, n_sym, n_bars, step=step)
    trader = RandomTrader(seed=seed, rate=rate, lot=lot)
    res = engine.run(market=market, strategy=trader, cash=cash0, fill_at=fill_at,
                     volume_cap=vcap, max_leverage=lev, commission=commission,
                     slippage=slippage, borrow_rate=borrow, lot_size=lot, shortable=shortable,
                     mode="python")
    check_run(res, trader, cash0, lot=lot or None, vcap=vcap)
    return res


@fuzz_settings(150)
@given(seed=st.integers(0, 2**32 - 1), n_sym=st.sampled_from([1, 1, 2, 3]),
       n_bars=st.integers(3, 60), step=st.sampled_from([DAY, HOUR, 7 * HOUR]),
       lot=st.sampled_from([1.0, 0.0, 100.0, 0.001]),
       fill_at=st.sampled_from(["next_open", "signal_close"]),
       vcap=st.sampled_from([0.0, 0.0, 0.01, 0.5]), lev=st.sampled_from([1.0, 2.0, 10.0]),
       commission=st.sampled_from(COSTS), slippage=st.sampled_from(SLIPS),
       borrow=st.sampled_from([0.0, 0.1]), shortable=st.sampled_from([None, False]),
       rate=st.sampled_from([0.3, 0.8, 1.0]))
def test_random_order_streams_on_random_bars_keep_every_invariant(
        seed, n_sym, n_bars, step, lot, fill_at, vcap, lev, commission, slippage, borrow,
        shortable, rate):
    res = run_random(seed, n_sym, n_bars, step, lot, fill_at, vcap, lev, commission, slippage,
                     borrow, shortable, rate)
    if shortable is False:
        assert np.all(res.trades_rec["side"] > 0)


def test_the_random_trader_reaches_every_order_type_status_and_reason():
    """The stream is not vacuous: over a few seeds every type, status and the main reject
    reasons occur, brackets fill children, and the checks see many fills."""
    statuses, types, reasons, kids = set(), set(), set(), 0
    nfills = 0
    for seed in range(6):
        res = run_random(seed, 1 + seed % 3, 60, DAY, 1.0, "next_open", 0.01 * (seed % 2), 2.0,
                         0.001, 0.0, 0.0, None, 1.0)
        o = res.orders_rec
        statuses |= set(o["status"].tolist())
        types |= set(o["type"].tolist())
        reasons |= set(o["reject_reason"].tolist())
        kids += int(((o["parent_id"] >= 0) & (o["filled_size"] > 0)).sum())
        nfills += len(res.fills_rec)
    from engine import types as T

    assert statuses >= {T.FILLED, T.CANCELLED, T.REJECTED, T.EXPIRED, T.WORKING}
    assert types == {T.MARKET, T.LIMIT, T.STOP, T.STOP_LIMIT, T.TRAILING_STOP}
    assert reasons >= {T.R_INVALID_SIZE, T.R_BUYING_POWER, T.R_OCO, T.R_PARENT,
                       T.R_IOC_UNFILLED, T.R_FOK_UNFILLED}
    assert kids > 5 and nfills > 300
