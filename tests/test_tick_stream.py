"""Streamed tick runs (engine/tick/stream.py): a run that reads the feed in windows of 1,000
rows (or fewer) gives the same fills, orders and equity, bit for bit, as the run on the whole
feed: on a generated feed with random latencies (orders in flight across window ends), on the
shipped Binance BTCUSDT stream (from files and from a catalog) and on the LOBSTER GOOG day."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from benchmarks.synth import generate_l2
from data.catalog import Catalog
from data.catalog.files import content_sha256
from data.errors import ConfigError, DataError
from data.schema import Instrument
from engine.tick import TickConfig, build_feed, run_compiled, run_tick
from engine.tick import layout as L
from engine.tick.stream import FeedStream, array_facts, array_sources
from strategies.tick.market_making import (
    SLOTS,
    GridMarketMaker,
    grid_mm_run_nb,
    grid_mm_step_nb,
)

BINANCE = "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
GOOG = "lob/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
AS_PARAMS = dict(timer_ns=100_000_000, order_qty=0.01, max_position=0.05, gamma=0.05, kappa=0.5,
                 sigma2_init=4.0)
TICK = dict(tick_size=0.1, entry_latency=["exponential", 500_000, 3_000_000],
            response_latency=1_000_000, maker_fee=-0.00005, taker_fee=0.0004,
            queue="probabilistic")

pytestmark = pytest.mark.filterwarnings("ignore:.*receive time is before")


def _same_records(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and len(a) == len(b)
    assert a.tobytes() == b.tobytes()  # bit for bit, NaNs included


class _Recorder:
    """Wraps a chunk iterator: records where reading chunks end (row ts, next row ts)."""

    def __init__(self, arr: np.ndarray, rows: int) -> None:
        self.arr, self.rows = arr, rows
        self.cuts: list[tuple[int, int]] = []

    def __iter__(self):
        for i in range(0, len(self.arr), self.rows):
            if i:
                self.cuts.append((int(self.arr["ts"][i - 1]), int(self.arr["ts"][i])))
            yield self.arr[i: i + self.rows]


@pytest.fixture(scope="module")
def generated():
    g = generate_l2(40_000, seed=11)
    depth, trade = g["depth"], g["trade"]
    for a in (depth, trade):  # exchange times on a 0.2 ms grid: several rows per timestamp
        a["ts"] -= a["ts"] % 200_000
    return depth, trade


@pytest.mark.parametrize("feed_latency", ["recorded", ("exponential", 100_000, 400_000)])
def test_generated_feed_streamed_equals_whole(generated, feed_latency):
    depth, trade = generated
    cfg = TickConfig(queue="probabilistic", entry_latency=("uniform", 500_000, 5_000_000),
                     response_latency=("exponential", 200_000, 1_000_000), maker_fee=-5e-5,
                     taker_fee=7e-4, seed=5)

    def strat():
        return GridMarketMaker(timer_ns=10_000_000, order_qty=1.0, max_position=10.0,
                               half_spread_ticks=1)

    def state():
        S = np.zeros(16)
        S[:SLOTS] = -1
        return S

    whole = build_feed(depth=depth, trade=trade, tick_size=0.01, feed_latency=feed_latency,
                       seed=9)
    ref_c = run_compiled(grid_mm_step_nb, whole, cfg, params=strat().params_array(),
                         state=state(), timer_ns=10_000_000, driver=grid_mm_run_nb)
    ref_p = run_tick(strat(), whole, cfg)
    _same_records(ref_c.fills, ref_p.fills)
    assert len(ref_c.fills) > 50
    for rows in (1000, 333):
        for path in ("compiled", "python"):
            rd, rt = _Recorder(depth, rows), _Recorder(trade, rows)
            stream = FeedStream({"depth": iter(rd), "trade": iter(rt)}, tick_size=0.01,
                                feed_latency=feed_latency, seed=9, chunk_rows=rows,
                                **array_facts(feed_latency, depth=depth, trade=trade))
            horizons = []
            refill = stream.refill

            def spy(sv, _refill=refill, _h=horizons):
                out = _refill(sv)
                _h.append(int(sv[L.S_HORIZON]))
                return out

            stream.refill = spy
            if path == "compiled":
                res = run_compiled(grid_mm_step_nb, stream, cfg, params=strat().params_array(),
                                   state=state(), timer_ns=10_000_000, driver=grid_mm_run_nb)
                ref = ref_c
            else:
                res = run_tick(strat(), stream, cfg)
                ref = ref_p
            _same_records(ref.fills, res.fills)
            _same_records(ref.orders, res.orders)
            assert res.position == ref.position and res.wakes == ref.wakes
            # the windows were small: many, some reading chunks ended inside a timestamp, and
            # orders were in flight (sent, not yet at the exchange) when a window ended
            assert len(horizons) > len(depth) // rows // 2
            assert any(a == b for a, b in rd.cuts + rt.cuts)
            h = np.array([x for x in horizons if x < L.NEVER])
            o = res.orders
            arrive = res.sim.oi[: len(o), L.OI_ARRIVE]
            k = np.searchsorted(h, o["ts"], side="left")  # first horizon >= sent time
            inflight = (k < len(h)) & (h[np.minimum(k, len(h) - 1)] < arrive)
            assert inflight.sum() >= 3


def _equal_runs(a, b) -> None:
    _same_records(a.fills_rec, b.fills_rec)
    _same_records(a.orders_rec, b.orders_rec)
    pd.testing.assert_frame_equal(a.equity, b.equity, check_exact=True)
    assert json.dumps(a.stats, sort_keys=True, default=str) == \
        json.dumps(b.stats, sort_keys=True, default=str)


@pytest.mark.parametrize("mode", ["compiled", "python"])
def test_binance_streamed_from_files_and_catalog_equal_whole(samples, tmp_path, mode):
    path = str(samples / BINANCE)
    kw = dict(strategy="avellaneda_stoikov", cash=100_000.0, params=AS_PARAMS, mode=mode,
              seed=3)
    whole = engine.run(market=path, tick=TICK, **kw)
    assert len(whole.fills_rec) > 5
    chunked = engine.run(market=path, tick=dict(TICK, chunk_rows=1000), **kw)
    _equal_runs(whole, chunked)
    # the same streams in a catalog, read back 1000 rows at a time
    from data.readers.binance import read_binance_stream, sync_depth

    stream = read_binance_stream(path)
    sync = sync_depth(stream)
    cat = Catalog(tmp_path / "cat")
    inst = Instrument(symbol="BTCUSDT", tick_size=0.1, calendar="24/7")
    arrays = {"depth": sync.depth, "trade": stream.trades, "quote": stream.quotes}
    for kind, arr in arrays.items():
        cat.write(kind, "BTCUSDT", arr, instrument=inst)
    root = (tmp_path / "cat").as_posix()
    refs = [f"catalog://{k}/BTCUSDT?root={root}" for k in arrays]
    tick = {k: v for k, v in TICK.items() if k != "tick_size"}  # from the instrument
    streamed = engine.run(market=refs, tick=dict(tick, chunk_rows=1000), **kw)
    _equal_runs(whole, streamed)
    src = {s["source"]: s for s in streamed.market.sources}
    for kind, ref in zip(arrays, refs, strict=True):
        assert src[ref]["sha256"] == content_sha256(cat.load(kind, "BTCUSDT"))
        assert src[ref]["rows"] == len(arrays[kind])


def test_lobster_goog_streamed_equals_whole(samples):
    path = str(samples / GOOG)
    kw = dict(strategy="avellaneda_stoikov", cash=1_000_000.0, seed=1,
              params=dict(timer_ns=1_000_000_000, order_qty=100.0, max_position=500.0,
                          gamma=0.01, kappa=0.1, sigma2_init=100.0))
    tick = dict(tick_size=0.01, entry_latency=["uniform", 100_000, 20_000_000],
                response_latency=200_000, maker_fee=-0.00002, taker_fee=0.00003, sample="1min")
    whole = engine.run(market=path, tick=tick, **kw)
    assert len(whole.fills_rec) > 20
    chunked = engine.run(market=path, tick=dict(tick, chunk_rows=1000), **kw)
    _equal_runs(whole, chunked)


def test_truncated_catalog_stream_equals_truncated_arrays(generated, tmp_path):
    """A run over the feed cut at time t (catalog ``end=``) is the run over the cut arrays."""
    depth, trade = generated
    t = int(depth["ts"][len(depth) // 2])
    cat = Catalog(tmp_path / "c")
    cat.write("depth", "GEN", depth)
    cat.write("trade", "GEN", trade)
    root = (tmp_path / "c").as_posix()
    end = pd.Timestamp(t, tz="UTC").isoformat()
    refs = [f"catalog://{k}/GEN?root={root}&end={end}" for k in ("depth", "trade")]
    params = dict(timer_ns=10_000_000, order_qty=1.0, max_position=10.0, half_spread_ticks=1)
    tick = dict(tick_size=0.01, entry_latency=1_000_000, response_latency=1_000_000,
                chunk_rows=500, calendar="24/7")
    a = engine.run(market=refs, strategy="grid_mm", cash=10_000.0, params=params, tick=tick)
    cut = build_feed(depth=depth[depth["ts"] <= t], trade=trade[trade["ts"] <= t],
                     tick_size=0.01, feed_latency="recorded")
    b = engine.run(market=cut, strategy="grid_mm", cash=10_000.0, params=params,
                   tick={k: v for k, v in tick.items() if k != "chunk_rows"})
    _same_records(a.fills_rec, b.fills_rec)
    _same_records(a.orders_rec, b.orders_rec)
    assert a.fills_rec["ts"].max() <= t < depth["ts"][-1]


def test_stream_errors(generated):
    depth, trade = generated
    with pytest.raises(ConfigError, match="chunk_rows"):
        FeedStream(array_sources(chunk_rows=10, depth=depth), tick_size=0.01, chunk_rows=0)
    bad = depth[:3000].copy()
    bad["ts"][2500:] -= 10**12  # goes back in time inside the second chunk
    s = FeedStream(array_sources(chunk_rows=1000, depth=bad), tick_size=0.01, chunk_rows=1000)
    with pytest.raises(DataError, match="not in time order"):
        run_tick(GridMarketMaker(timer_ns=10_000_000), s, TickConfig())
    with pytest.raises(ConfigError, match="one symbol"):
        engine.run(market=["catalog://depth/A", "catalog://trade/B"], strategy="grid_mm",
                   tick={"tick_size": 0.01})


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(1, 3000), seed=st.integers(0, 2**16), trigger=st.sampled_from(
    ["trade", "book"]))
def test_any_window_size_gives_the_whole_feed_result(generated, rows, seed, trigger):
    """Property: whatever the window size, seeds and stop trigger, the streamed run is the
    whole-feed run (the grid market maker and a stop-order player, random latencies,
    probabilistic queue)."""
    depth, trade = generated
    depth, trade = depth[:6000], trade[trade["ts"] <= depth["ts"][5999]]
    lat = ("uniform", 0, 400_000)
    cfg = TickConfig(queue="probabilistic", entry_latency=("exponential", 100_000, 2_000_000),
                     response_latency=("uniform", 0, 1_000_000), stop_trigger=trigger,
                     seed=seed)
    strat = GridMarketMaker(timer_ns=5_000_000, order_qty=1.0, max_position=5.0,
                            half_spread_ticks=1)
    S = np.zeros(16)
    S[:SLOTS] = -1
    whole = build_feed(depth=depth, trade=trade, tick_size=0.01, feed_latency=lat, seed=seed)
    a = run_compiled(grid_mm_step_nb, whole, cfg, params=strat.params_array(), state=S.copy(),
                     timer_ns=5_000_000, driver=grid_mm_run_nb)
    stream = FeedStream(array_sources(chunk_rows=rows, depth=depth, trade=trade),
                        tick_size=0.01, feed_latency=lat, seed=seed, chunk_rows=rows,
                        **array_facts(lat, depth=depth, trade=trade))
    b = run_compiled(grid_mm_step_nb, stream, cfg, params=strat.params_array(), state=S.copy(),
                     timer_ns=5_000_000, driver=grid_mm_run_nb)
    _same_records(a.fills, b.fills)
    _same_records(a.orders, b.orders)
    # stop / stop-limit / GTD orders armed across window ends (tests/test_tick_stops.py)
    from tests.test_tick_stops import stop_player_step_nb

    whole = build_feed(depth=depth, trade=trade, tick_size=0.01, feed_latency=lat, seed=seed)
    a = run_compiled(stop_player_step_nb, whole, cfg, timer_ns=3_000_000, state=np.zeros(4))
    stream = FeedStream(array_sources(chunk_rows=rows, depth=depth, trade=trade),
                        tick_size=0.01, feed_latency=lat, seed=seed, chunk_rows=rows,
                        **array_facts(lat, depth=depth, trade=trade))
    b = run_compiled(stop_player_step_nb, stream, cfg, timer_ns=3_000_000, state=np.zeros(4))
    assert (a.orders["type"] >= 2).sum() > 10  # stops were sent
    _same_records(a.fills, b.fills)
    _same_records(a.orders, b.orders)
