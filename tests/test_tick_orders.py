"""Hand-computed scenarios for the L2 tick simulator: order types, queue models, latency,
fees, impact. Book (tests/tick_helpers.BOOK): bids 99 x 10, 98 x 10; asks 101 x 5, 102 x 7."""

from __future__ import annotations

import numpy as np
import pytest
from tick_helpers import BOOK, sim_for

from data.errors import ConfigError
from engine.tick import layout as L
from engine.types import (
    BUY,
    CANCELLED,
    FILLED,
    MAKER,
    NEW,
    R_FOK_UNFILLED,
    R_IOC_UNFILLED,
    R_POST_ONLY,
    R_REDUCE_ONLY,
    REJECTED,
    SELL,
    TAKER,
    WORKING,
)


def test_market_order_walks_the_book_with_average_price_and_taker_fees():
    sim = sim_for(BOOK + [(100, -1, 101.0, 5)], entry_latency=10, taker_fee=0.001)
    sim.advance(5)
    oid = sim.submit(BUY, 8.0)
    sim.advance(None)
    f = sim.fills
    assert list(f["price"]) == [101.0, 102.0] and list(f["size"]) == [5.0, 3.0]
    assert (f["liquidity"] == TAKER).all() and (f["ts"] == 15).all()
    assert (f["latency_ns"] == 10).all() and (f["queue_ahead"] == 0).all()
    assert np.allclose(f["fee"], [0.001 * 505, 0.001 * 306])
    o = sim.orders[oid]
    assert o["status"] == FILLED and o["avg_fill_price"] == pytest.approx((505 + 306) / 8)
    assert sim.position == 8.0


def test_market_order_larger_than_the_book_cancels_the_rest():
    sim = sim_for(BOOK)
    oid = sim.submit(BUY, 20.0)
    sim.advance(None)
    assert sim.fills["size"].sum() == 12.0
    o = sim.orders[oid]
    assert o["status"] == CANCELLED and o["reject_reason"] == R_IOC_UNFILLED


@pytest.mark.parametrize("partial, expect", [(True, [1.0, 2.0]), (False, [3.0])])
def test_conservative_queue_advances_only_on_trades_and_level_shrink(partial, expect):
    # buy 3 @ 99 joins behind 10; trade 4 -> 6 ahead; the level shrinks to 5 -> 5 ahead;
    # trade 6 -> 1 executed for us (partial) ; trade 2 -> the rest
    d = BOOK + [(30, 1, 99.0, 25), (40, 1, 99.0, 5)]
    t = [(20, SELL, 99.0, 4), (50, SELL, 99.0, 6), (60, SELL, 99.0, 2)]
    sim = sim_for(d, t, entry_latency=1, maker_fee=-0.0001, partial_fills=partial)
    oid = sim.submit(BUY, 3.0, limit=99.0)
    sim.advance(25)
    assert sim.queue_ahead(oid) == 6.0
    sim.advance(35)
    assert sim.queue_ahead(oid) == 6.0  # others joining behind do not push us back
    sim.advance(45)
    assert sim.queue_ahead(oid) == 5.0
    sim.advance(None)
    f = sim.fills
    assert list(f["size"]) == expect and (f["price"] == 99.0).all()
    assert (f["liquidity"] == MAKER).all() and (f["queue_ahead"] == 10.0).all()
    assert list(f["ts"]) == ([50, 60] if partial else [50])
    assert np.allclose(f["fee"], -0.0001 * 99.0 * f["size"])
    assert sim.orders[oid]["status"] == FILLED


def test_probabilistic_queue_cancel_ahead_when_little_is_behind():
    # we join behind 10 (behind: 0); 1 joins behind us; 5 cancelled: p(ahead) = 10^3/(10^3+1^3)
    d = BOOK + [(20, 1, 99.0, 11), (30, 1, 99.0, 6)]
    cons = sim_for(d, entry_latency=1)
    prob = sim_for(d, entry_latency=1, queue="probabilistic", queue_power=3.0, seed=3)
    ids = [s.submit(BUY, 1.0, limit=99.0) for s in (cons, prob)]
    for s in (cons, prob):
        s.advance(None)
    assert cons.queue_ahead(ids[0]) == 6.0  # min(10, level 6)
    assert prob.queue_ahead(ids[1]) == 5.0  # 10 - 5


def test_probabilistic_queue_trades_are_not_counted_twice():
    d = BOOK + [(21, 1, 99.0, 7)]  # the depth update that follows the trade of 3
    sim = sim_for(d, [(20, SELL, 99.0, 3)], entry_latency=1, queue="probabilistic", seed=1)
    oid = sim.submit(BUY, 1.0, limit=99.0)
    sim.advance(None)
    assert sim.queue_ahead(oid) == 7.0


def test_probabilistic_queue_is_a_seeded_coin_with_the_documented_probability():
    # ahead 10, behind 10: p = 1/2; the decrease of 4 is ahead of us or not
    d = BOOK + [(20, 1, 99.0, 20), (30, 1, 99.0, 16)]
    res = []
    for seed in range(300):
        sim = sim_for(d, entry_latency=1, queue="probabilistic", seed=seed)
        oid = sim.submit(BUY, 1.0, limit=99.0)
        sim.advance(None)
        res.append(sim.queue_ahead(oid))
    assert set(res) == {6.0, 10.0}
    assert 0.4 < np.mean(np.array(res) == 6.0) < 0.6
    again = sim_for(d, entry_latency=1, queue="probabilistic", seed=7)
    oid = again.submit(BUY, 1.0, limit=99.0)
    again.advance(None)
    assert again.queue_ahead(oid) == res[7]  # same seed, same draw


def test_entry_latency_no_fill_before_arrival_and_response_latency_delays_the_news():
    # a trade through our price at 12 happens before the order arrives (5 + 10 = 15)
    t = [(12, SELL, 98.0, 50), (30, SELL, 98.0, 50)]
    sim = sim_for(BOOK, t, entry_latency=10, response_latency=7)
    sim.advance(5)
    oid = sim.submit(BUY, 2.0, limit=99.0)
    sim.advance(20)
    assert len(sim.fills) == 0 and sim.orders[oid]["status"] == WORKING
    assert sim.local_status(oid) == NEW  # the acknowledgement arrives at 15 + 7 = 22
    sim.advance(22)
    assert sim.local_status(oid) == WORKING
    sim.advance(36)
    assert list(sim.fills["ts"]) == [30]
    assert sim.position == 0.0 and sim.exchange_position == 2.0  # the fill is known at 37
    sim.advance(37)
    assert sim.position == 2.0 and sim.local_status(oid) == FILLED


def test_random_entry_latency_is_seeded_and_within_bounds():
    lats = []
    for seed in (1, 1, 2):
        sim = sim_for(BOOK, entry_latency=("uniform", 100, 200), seed=seed)
        oids = [sim.submit(BUY, 1.0) for _ in range(50)]
        sim.advance(None)
        lat = sim.oi[oids, L.OI_LAT]
        assert lat.min() >= 100 and lat.max() <= 200
        assert (sim.fills["ts"] >= sim.orders["ts"][sim.fills["order_id"]] + 100).all()
        lats.append(lat.copy())
    assert np.array_equal(lats[0], lats[1]) and not np.array_equal(lats[0], lats[2])


def test_latency_replayed_from_a_recorded_series():
    # entry latency 100 ns before t=10, 5 ns from t=10; responses 50 ns throughout
    series = ("series", np.array([0, 10]), np.array([100.0, 5.0]))
    sim = sim_for(BOOK, entry_latency=series, response_latency=("series", [0], [50]))
    a = sim.submit(BUY, 1.0)  # sent at 0: arrives at 100
    sim.advance(12)
    b = sim.submit(BUY, 1.0)  # sent at 12: arrives at 17, before a
    sim.advance(None)
    assert list(sim.oi[[a, b], L.OI_LAT]) == [100, 5]
    assert list(sim.fills["order_id"]) == [b, a] and list(sim.fills["ts"]) == [17, 100]
    assert sim.notes[0, L.N_VIS] == 67  # 17 + 50
    with pytest.raises(ConfigError, match="sorted"):
        sim_for(BOOK, entry_latency=("series", [5, 1], [1, 1]))


def test_post_only_rejected_when_crossing_and_rests_otherwise():
    sim = sim_for(BOOK)
    a = sim.submit(BUY, 1.0, limit=101.0, post_only=True)
    b = sim.submit(BUY, 1.0, limit=100.0, post_only=True)
    sim.advance(None)
    o = sim.orders
    assert o[a]["status"] == REJECTED and o[a]["reject_reason"] == R_POST_ONLY
    assert o[b]["status"] == WORKING and len(sim.fills) == 0
    assert sim.queue_ahead(b) == 0.0


def test_ioc_fills_what_it_can_and_cancels_the_rest():
    sim = sim_for(BOOK)
    oid = sim.submit(BUY, 10.0, limit=101.0, tif="IOC")
    sim.advance(None)
    assert sim.fills["size"].sum() == 5.0
    assert sim.orders[oid]["status"] == CANCELLED
    assert sim.orders[oid]["reject_reason"] == R_IOC_UNFILLED


def test_fok_all_or_nothing():
    sim = sim_for(BOOK)
    a = sim.submit(BUY, 10.0, limit=101.0, tif="FOK")  # only 5 within 101
    b = sim.submit(BUY, 10.0, limit=102.0, tif="FOK")  # 5 + 7 within 102
    sim.advance(None)
    o = sim.orders
    assert o[a]["status"] == REJECTED and o[a]["reject_reason"] == R_FOK_UNFILLED
    assert o[b]["status"] == FILLED
    assert list(sim.fills["order_id"]) == [b, b] and sim.fills["size"].sum() == 10.0


def test_reduce_only_rejected_when_flat_and_clipped_to_the_position():
    sim = sim_for(BOOK, entry_latency=1)
    a = sim.submit(SELL, 1.0, reduce_only=True)
    sim.advance(5)
    assert sim.orders[a]["reject_reason"] == R_REDUCE_ONLY
    sim.submit(BUY, 4.0)
    sim.advance(10)
    c = sim.submit(SELL, 10.0, reduce_only=True)
    sim.advance(None)
    assert sim.orders[c]["size"] == 4.0 and sim.orders[c]["status"] == FILLED
    assert sim.exchange_position == 0.0


def test_no_fill_after_cancel_and_cancel_after_fill_changes_nothing():
    t = [(50, SELL, 98.0, 100)]
    sim = sim_for(BOOK, t, entry_latency=10)
    oid = sim.submit(BUY, 1.0, limit=99.0)
    sim.advance(30)
    assert sim.cancel(oid)
    sim.advance(None)  # cancel reaches the exchange at 40, the trade at 50
    assert len(sim.fills) == 0 and sim.orders[oid]["status"] == CANCELLED
    assert not sim.cancel(oid)
    sim2 = sim_for(BOOK, [(20, SELL, 98.0, 100)], entry_latency=10)
    o2 = sim2.submit(BUY, 1.0, limit=99.0)
    sim2.advance(25)
    sim2.cancel(o2)  # arrives at 35, after the fill at 20
    sim2.advance(None)
    assert sim2.orders[o2]["status"] == FILLED and len(sim2.fills) == 1


def test_a_level_crossing_a_resting_order_fills_it_at_its_price():
    d = BOOK + [(20, -1, 99.0, 3)]  # an ask appears at our bid
    sim = sim_for(d, entry_latency=1)
    oid = sim.submit(BUY, 2.0, limit=99.0)
    sim.advance(None)
    f = sim.fills
    assert len(f) == 1 and f["price"][0] == 99.0 and f["liquidity"][0] == MAKER
    assert sim.orders[oid]["status"] == FILLED and sim.sv[L.S_CROSS_FILLS] == 1


def test_linear_impact_moves_the_prices_later_orders_see():
    sim = sim_for(BOOK, entry_latency=1, impact="linear", impact_coef=0.5)
    sim.submit(BUY, 2.0)
    sim.advance(3)
    sim.submit(BUY, 2.0)
    sim.advance(None)
    # first: 2 @ 101 then shift = 1.0; second: 2 @ 101 + 1.0
    assert list(sim.fills["price"]) == [101.0, 102.0]


def test_transient_impact_decays():
    sim = sim_for(BOOK + [(10**9, -1, 101.0, 5)], entry_latency=1, impact="transient",
                  impact_coef=0.5, impact_tau_ns=1e3)
    sim.submit(BUY, 2.0)
    sim.advance(10**6)
    sim.submit(BUY, 2.0)  # 1e6 ns later: exp(-1000) ~ 0
    sim.advance(None)
    assert sim.fills["price"][-1] == pytest.approx(101.0)


def test_config_errors_name_the_argument():
    with pytest.raises(ConfigError, match="queue"):
        sim_for(BOOK, queue="fifo")
    with pytest.raises(ConfigError, match="entry_latency"):
        sim_for(BOOK, entry_latency=-5)
    with pytest.raises(ConfigError, match="limit"):
        sim_for(BOOK, tick=1.0).submit(BUY, 1.0, limit=99.5)
