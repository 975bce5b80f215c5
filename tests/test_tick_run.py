"""Tick runs through engine.run / tape run: run folders on the shipped LOBSTER GOOG day and the
Binance BTCUSDT stream, accounting through the core's kernels, the impact command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from tick_helpers import documented_results

import engine
from data.errors import ConfigError

BINANCE = "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
GOOG = "lob/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
AS_PARAMS = dict(timer_ns=100_000_000, order_qty=0.01, max_position=0.05, gamma=0.05, kappa=0.5,
                 sigma2_init=4.0)
TICK = dict(tick_size=0.1, entry_latency=1_000_000, response_latency=1_000_000,
            maker_fee=-0.00005, taker_fee=0.0004, queue="probabilistic")

pytestmark = pytest.mark.filterwarnings("ignore:.*receive time is before")


def _run_binance(samples, mode):
    return engine.run(market=str(samples / BINANCE), strategy="avellaneda_stoikov",
                      cash=100_000.0, params=AS_PARAMS, tick=TICK, mode=mode, seed=3)


def test_binance_market_making_run_folder(samples, tmp_path):
    res = _run_binance(samples, "auto")
    assert res.mode == "compiled" and len(res.fills_rec) > 5
    out = res.save(tmp_path / "run")
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "complete" and man["counts"]["fills"] == len(res.fills_rec)
    fills = pd.read_csv(out / "fills.csv")
    assert {"queue_ahead", "latency_ns"} <= set(fills.columns)
    assert (fills["latency_ns"] == 1_000_000).all()
    prices = pd.read_parquet(out / "prices.parquet")
    assert len(prices) == len(res.equity) and (prices["high"] >= prices["low"]).all()
    assert (out / "report.html").stat().st_size > 10_000
    cfg = (out / "config.toml").read_text()
    assert "[tick]" in cfg and 'sampling = "none"' in cfg
    # accounting: the core's kernels booked every fill
    f = res.fills_rec
    cash = 100_000.0 - (f["side"] * f["size"] * f["price"]).sum() - f["fee"].sum()
    assert res.equity["cash"].iloc[-1] == pytest.approx(cash)
    pos = (f["side"] * f["size"]).sum()
    mark = prices["close"].iloc[-1]
    assert res.final_equity == pytest.approx(cash + pos * mark)


def test_binance_python_hooks_equal_compiled_through_engine_run(samples):
    a = _run_binance(samples, "python")
    b = _run_binance(samples, "compiled")
    assert a.mode == "python" and b.mode == "compiled"
    for name in a.fills_rec.dtype.names:
        assert np.array_equal(a.fills_rec[name], b.fills_rec[name], equal_nan=True)
    assert a.final_equity == b.final_equity


def test_goog_ofi_taker_from_the_example_config(samples, tmp_path, monkeypatch):
    from cli import main

    repo = samples.parents[1]
    monkeypatch.chdir(repo)
    out = tmp_path / "ofi"
    r = CliRunner().invoke(main, ["run", "examples/tick_ofi_goog.toml", "-o", str(out)])
    assert r.exit_code == 0, r.output
    fills = pd.read_csv(out / "fills.csv")
    orders = pd.read_csv(out / "orders.csv")
    assert len(fills) > 10 and (fills["liquidity"] == "taker").all()
    # the summary line counts equity samples and fills, not "bars"
    assert f"equity samples ({len(fills)} fills)" in r.output and " bars," not in r.output
    sent = orders.set_index("order_id")["ts"]
    assert (fills["ts"].to_numpy() >= sent[fills["order_id"]].to_numpy() + 200_000).all()
    trades = pd.read_csv(out / "trades.csv")
    assert (trades["status"] == "closed").sum() > 5
    assert (out / "report.html").exists()
    doc = documented_results()["tick_ofi_goog"]  # the table of docs/tick_fills.md
    stats = json.loads((out / "stats.json").read_text())
    assert (len(orders), len(fills), stats["n_trades"]) == (doc["orders"], doc["fills"],
                                                            doc["trades"])
    assert round(stats["final_equity"], 2) == doc["final_equity"]


def test_goog_market_making_exact_fifo_run(samples):
    res = engine.run(str(samples.parents[1] / "examples" / "tick_mm_goog.toml"),
                     data=str(samples / GOOG))
    f = res.fills_rec
    assert len(f) > 20 and (f["liquidity"] == 1).all()  # post-only quotes: maker fills only
    mid = res.market.bars["GOOG"]
    assert f["price"].min() > mid["low"].min() - 1.0 and f["price"].max() < mid["high"].max() + 1
    assert res.mode == "python"  # L3 feeds run the Python hooks
    doc = documented_results()["tick_mm_goog"]  # the table of docs/tick_fills.md
    assert (len(res.orders_rec), len(f), res.stats["n_trades"]) == (doc["orders"], doc["fills"],
                                                                   doc["trades"])
    assert round(res.stats["final_equity"], 2) == doc["final_equity"]


def test_tick_config_errors(samples):
    with pytest.raises(ConfigError, match="tick.queue|queue"):
        engine.run(market=str(samples / BINANCE), strategy="avellaneda_stoikov",
                   tick=dict(queue="lifo"))
    with pytest.raises(ConfigError, match="unknown"):
        engine.run(market=str(samples / BINANCE), strategy="avellaneda_stoikov",
                   tick=dict(latency=5))
    with pytest.raises(ConfigError, match="broker.commission"):
        engine.run(market=str(samples / BINANCE), strategy="avellaneda_stoikov",
                   commission=0.001, tick=dict(tick_size=0.1))


def test_impact_estimate_is_positive_and_linear_for_small_imbalance(samples):
    from engine.tick.impact import estimate_impact

    est = estimate_impact(samples / GOOG, interval_ns=10_000_000_000)
    assert est.ofi.slope > 0 and est.ofi.t_stat > 5
    assert est.ofi_small.slope > 0 and est.ofi_small.t_stat > 3
    assert est.trade_flow.slope > 0
    means = [d[1] for d in est.deciles]
    assert means[0] < 0 < means[-1]  # price falls with selling pressure, rises with buying
    b = estimate_impact(samples / BINANCE, interval_ns=1_000_000_000, tick_size=0.1)
    assert b.ofi.slope > 0 and b.ofi.n > 100


def test_tape_tick_impact_command(samples, tmp_path):
    from cli import main

    r = CliRunner().invoke(main, ["tick", "impact", str(samples / GOOG), "--interval", "30"])
    assert r.exit_code == 0, r.output
    assert "dMid ~ OFI" in r.output and "impact_coef=" in r.output
    j = CliRunner().invoke(main, ["tick", "impact", str(samples / GOOG), "--interval", "30",
                                  "--json"])
    assert j.exit_code == 0, j.output
    doc = json.loads(j.stdout)
    from engine.tick.impact import estimate_impact

    est = estimate_impact(samples / GOOG, interval_ns=30_000_000_000)
    assert doc["interval_s"] == 30.0 and doc["n_updates"] == est.n_updates
    for name in ("ofi", "ofi_small", "trade_flow"):
        fit = getattr(est, name)
        assert doc["regressions"][name] == {"slope": fit.slope, "intercept": fit.intercept,
                                            "t_stat": fit.t_stat, "r2": fit.r2, "n": fit.n}
    assert doc["impact_coef"] == est.trade_flow.slope
    assert [(d["mean_ofi"], d["mean_dmid"], d["intervals"]) for d in doc["deciles"]] == [
        tuple(float(v) for v in d[:2]) + (int(d[2]),) for d in est.deciles]
    # the text shows the same numbers
    assert f"{doc['n_updates']:,} best-quote updates" in r.stdout
    assert f"impact_coef={doc['impact_coef']:.4g}" in r.stdout
    q = CliRunner().invoke(main, ["tick", "impact", str(samples / GOOG), "--interval", "30", "-q"])
    assert q.exit_code == 0 and q.stdout == ""
    # bad input keeps the documented exit code with either flag (4: bad market data)
    lone = tmp_path / "X_2012-06-21_34200000_57600000_message_1.csv"
    lone.write_text("34200.0,1,1,100,5000000,1\n")
    for flag in ("--json", "-q"):
        bad = CliRunner().invoke(main, ["tick", "impact", str(lone), flag])
        assert bad.exit_code == 4 and bad.stdout == "" and "orderbook file" in bad.stderr


def test_prepared_lobster_feed_equals_the_file_run(samples):
    """engine.run(market=<L3 Feed>) marks equity on the orderbook file's top that the feed
    carries: the same fills and the same equity as the run from the message file."""
    from data.readers.lobster import read_lobster
    from engine.tick.feed import lobster_feed

    cfg = str(samples.parents[1] / "examples" / "tick_ofi_goog.toml")
    a = engine.run(cfg, data=str(samples / GOOG))
    ob = str(samples / GOOG).replace("message", "orderbook")
    b = engine.run(cfg, market=lobster_feed(read_lobster(samples / GOOG, ob), tick_size=0.01))
    assert len(a.fills_rec) > 10
    for name in a.fills_rec.dtype.names:
        assert np.array_equal(a.fills_rec[name], b.fills_rec[name], equal_nan=True), name
    assert np.array_equal(a.equity["equity"].to_numpy(), b.equity["equity"].to_numpy())
    # (annualised metrics differ by calendar: a file is known to be an equity session, a bare
    # Feed defaults to 24/7)
    for k in ("total_return", "max_drawdown", "n_trades"):
        assert a.stats[k] == b.stats[k], k


def test_mbo_feed_without_a_recorded_top_marks_on_its_own_book():
    """A generated full-depth MBO feed has no orderbook file: the mid is its replayed book's."""
    from data.schema import MBO, MBO_ADD, MBO_EXECUTE
    from engine.tick import build_feed

    rows = [(0, MBO_ADD, 1, 1, 99.98, 50), (0, MBO_ADD, 2, -1, 100.02, 50),
            (10**9, MBO_ADD, 3, 1, 99.99, 20), (2 * 10**9, MBO_EXECUTE, 2, -1, 100.02, 50),
            (2 * 10**9, MBO_ADD, 4, -1, 100.05, 30), (3 * 10**9, MBO_ADD, 5, -1, 100.03, 5)]
    mbo = np.zeros(len(rows), MBO)
    for i, (t, ev, oid, side, px, q) in enumerate(rows):
        mbo[i]["ts"], mbo[i]["ts_recv"], mbo[i]["event"] = t, t, ev
        mbo[i]["order_id"], mbo[i]["side"], mbo[i]["price"], mbo[i]["size"] = oid, side, px, q
    feed = build_feed(mbo=mbo, tick_size=0.01, lot_size=1.0)
    res = engine.run(market=feed, strategy="buy_and_hold", cash=10_000.0,
                     tick=dict(sample="1s"))
    bars = res.market.bars["ASSET"]
    # mids: 100.00 (t=0), 100.005 (t=1 s), 100.02 (t=2 s: ask 100.02 executed, 100.05 added),
    # 100.01 (t=3 s), carried to the bar closing after the end
    assert bars["ts"].tolist() == [k * 10**9 for k in range(5)]
    assert bars["close"].tolist() == pytest.approx([100.0, 100.005, 100.02, 100.01, 100.01])
