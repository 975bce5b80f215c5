"""One test per core bug the reliability suites found, named after what it reproduces
(docs/reliability.md lists them with the suite that found each)."""

from __future__ import annotations

from core_helpers import Scripted, bars

import engine
from engine import types as T


def _run(rows, script, **opts):
    strat = Scripted(script)
    res = engine.run(market={"X": bars(rows, volume=opts.pop("volume", 1e6))}, strategy=strat,
                     cash=opts.pop("cash", 100_000.0), mode="python", **opts)
    return res, strat


def test_volume_cap_counts_the_open_and_the_close_phase_of_one_bar_together():
    # bar 1: a limit sent on bar 0 fills at the open, a market order sent on bar 1 at the
    # close; the cap (1% of 500 = 5 units) is for the whole bar, not per phase
    rows = [(100, 101, 99, 100), (100, 102, 98, 101), (101, 102, 100, 101)]
    res, _ = _run(rows, {0: lambda c: c.buy(size=4, limit=101.0), 1: lambda c: c.sell(size=4)},
                  fill_at="signal_close", volume_cap=0.01, volume=500.0)
    f = res.fills_rec
    on_bar1 = f[f["ts"] == res.market.ts[1]]
    assert on_bar1["size"].sum() <= 5.0
    assert list(on_bar1["size"]) == [4.0, 1.0]


def test_a_cancelled_stop_loss_child_does_not_fill_when_its_parent_fills():
    # bar 0: bracket (sl 90, tp 110), then the stop-loss child is cancelled; bar 1: the parent
    # fills at the open and the low (85) crosses the cancelled stop
    rows = [(100, 101, 99, 100), (100, 101, 85, 95), (95, 96, 94, 95)]

    def send(c):
        oid = c.buy(size=10, sl=90.0, tp=110.0)
        assert c.cancel(oid + 1)
        return oid

    res, _ = _run(rows, {0: send})
    o = res.orders_rec
    assert o["status"][0] == T.FILLED
    assert o["status"][1] == T.CANCELLED and o["filled_size"][1] == 0.0
    assert o["status"][2] == T.WORKING  # the take-profit still protects the position
    assert list(res.fills_rec["order_id"]) == [0]


def test_a_cancelled_take_profit_child_does_not_fill_when_its_parent_fills():
    rows = [(100, 101, 99, 100), (100, 115, 99, 101), (101, 102, 100, 101)]

    def send(c):
        oid = c.buy(size=10, sl=90.0, tp=110.0)
        assert c.cancel(oid + 2)
        return oid

    res, _ = _run(rows, {0: send})
    o = res.orders_rec
    assert o["status"][2] == T.CANCELLED and o["filled_size"][2] == 0.0
    assert list(res.fills_rec["order_id"]) == [0]


def test_an_order_after_a_one_child_bracket_is_not_skipped_on_the_parents_fill_bar():
    # bar 0: a bracket with only a stop-loss (orders 0, 1) and an unrelated limit buy at 99
    # (order 2); bar 1 trades down to 95: the limit must fill on bar 1, at 99
    rows = [(100, 101, 99, 100), (100, 101, 95, 97), (97, 98, 96, 97)]

    def send(c):
        c.buy(size=10, sl=80.0)
        return c.buy(size=5, limit=99.0)

    res, _ = _run(rows, {0: send})
    f = res.fills_rec
    lim = f[f["order_id"] == 2]
    assert len(lim) == 1
    assert lim["ts"][0] == res.market.ts[1] and lim["price"][0] == 99.0


def test_a_run_ending_in_its_deepest_drawdown_saves_its_stats(tmp_path):
    # the deepest drawdown never recovers: its recovery time is NaT, which stats.json could
    # not hold (Result.save raised TypeError)
    rows = [(100, 101, 99, 100), (100, 110, 99, 110), (110, 111, 60, 60), (60, 70, 55, 65)]
    res, _ = _run(rows, {0: lambda c: c.buy(size=500)})
    assert res.stats["max_drawdown_recovery"] is None
    import json

    run = res.save(tmp_path / "run", report=False)
    assert json.loads((run / "stats.json").read_text())["max_drawdown_recovery"] is None


def test_recorded_top_after_a_window_recentre_reads_the_size_where_the_level_moved():
    """L2 ``record_top``: a row that recentred the dense window read the best level's size with
    the layout from before the move (out of bounds: garbage sizes, a segfault on the wild prices
    of the tick look-ahead harness's garbage feeds)."""
    import numpy as np

    from data.schema import DEPTH, DEPTH_LAST
    from engine.book import L2Book

    rows = np.zeros(2, DEPTH)
    rows[0] = (0, 0, T.BUY, 10_000.0, 1.0, 0)
    rows[1] = (1, 1, T.SELL, 9_997.0, 2.0, DEPTH_LAST)  # crosses: the window recentres
    ticks, sizes = L2Book(1.0, window=4).apply(rows, record_top=True)
    assert ticks[1].tolist() == [10_000, 9_997]
    assert sizes[1].tolist() == [1.0, 2.0]


def test_recorded_feed_latency_of_early_rows_does_not_depend_on_later_receive_stamps():
    """feed_latency="recorded" removed the smallest receive offset of the whole capture as the
    clock difference, so a row received late in the file moved the local times of every earlier
    row (look-ahead; the tick harness caught ofi_taker's wakes moving by 0.3 ms on the Binance
    sample cut at 30%). The offset is now the smallest one seen so far."""
    import numpy as np

    from data.schema import TRADE
    from engine.tick import build_feed

    tr = np.zeros(4, TRADE)
    tr["ts"] = [1_000, 2_000, 3_000, 4_000]
    tr["ts_recv"] = tr["ts"] + np.array([-100, -50, -400, -300])  # the capture clock is behind
    tr["price"], tr["size"], tr["side"] = 10.0, 1.0, T.BUY
    full = build_feed(trade=tr, tick_size=0.5, feed_latency="recorded")
    cut = build_feed(trade=tr[:2], tick_size=0.5, feed_latency="recorded")
    assert full.T[1][:2].tolist() == cut.T[1].tolist() == [1_000, 2_050]
    assert (full.T[1] >= full.T[0]).all()  # no negative delay


def test_a_tick_strategy_sending_an_order_on_every_timer_ends_with_the_data():
    """The tick loop woke on_timer after the data had ended as long as something was in flight,
    so a strategy sending an IOC on every timer never finished (found by the tick look-ahead
    harness's day-mean peeker). Timers stop with the data; what is in flight still settles."""
    import numpy as np

    from data.schema import TRADE
    from engine.tick import TickConfig, build_feed, run_tick
    from strategies.base import Strategy

    tr = np.zeros(5, TRADE)
    tr["ts"] = tr["ts_recv"] = np.arange(1, 6) * 1_000_000_000
    tr["price"], tr["size"], tr["side"] = 100.0, 1.0, T.BUY

    class EveryTimer(Strategy):
        name = "every_timer"

        def init(self, ctx):
            self.wakes = []

        def on_timer(self, ctx):
            self.wakes.append(ctx.now)
            assert len(self.wakes) < 1_000, "timers after the end of the data"
            ctx.buy(size=1.0, limit=50.0, tif="IOC")

    s = EveryTimer()
    res = run_tick(s, build_feed(trade=tr, tick_size=0.5), TickConfig(entry_latency=1_000),
                   timer_ns=250_000_000)
    assert max(s.wakes) <= 5_000_000_000 and len(s.wakes) == 16
    assert (res.orders["status"] == T.CANCELLED).all()  # the last IOC settled and was told
    assert all(res.sim.local_status(i) == T.CANCELLED for i in range(len(res.orders)))
