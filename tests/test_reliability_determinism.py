"""Determinism: the same inputs give bit-identical outputs — run to run, process to process
(different hash seeds), and between the Python and the compiled paths of every registered
strategy that has both, on random markets with partial fills, costs and both fill options.
(Sweeps across executors, local vs Ray: tests/test_reliability_sweeps.py once sweeps exist.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from fuzz_oracle import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st
from lookahead import has, strategies_under_test
from reliability_orders import COUNTS, DAY, HOUR, RandomTrader, random_market

import engine

REPO = Path(__file__).resolve().parents[1]
GOOG = REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv"
RECORDS = ("orders_rec", "fills_rec", "trades_rec", "equity_rec")
#: manifest keys that may differ between two runs of the same inputs
VOLATILE = {"created_at", "timings"}

STRATS = strategies_under_test()
BOTH = sorted(n for n, c in STRATS.items() if has(c, "on_bar") and has(c, "targets"))


def same(a, b, names=RECORDS) -> None:
    for name in names:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name


def test_a_rerun_is_bit_identical_records_and_stats():
    def go():
        rng = np.random.default_rng(11)
        return engine.run(market=random_market(rng, 3, 80), strategy=RandomTrader(seed=11,
                          rate=1.0), cash=100_000.0, commission=0.001, slippage=3.0,
                          volume_cap=0.05, max_leverage=2.0, borrow_rate=0.05)

    a, b = go(), go()
    same(a, b)
    assert len(a.fills_rec) > 20
    assert json.dumps(a.stats, sort_keys=True) == json.dumps(b.stats, sort_keys=True)


def _folder(run: Path) -> dict[str, bytes]:
    out = {p.name: p.read_bytes() for p in sorted(run.iterdir())}
    m = json.loads(out.pop("manifest.json"))
    for k in VOLATILE:
        m.pop(k)
    out["manifest.json"] = json.dumps(m, sort_keys=True).encode()
    return out


SAVE = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import engine
    res = engine.run(market=sys.argv[2], strategy="sma_cross", cash=100_000.0,
                     commission=0.001, params={"fast": 7, "slow": 30}, mode=sys.argv[4])
    res.save(sys.argv[3])
""")


@pytest.mark.parametrize("mode", ["python", "compiled"])
def test_run_folders_from_two_processes_are_identical_but_for_timings(tmp_path, mode):
    folders = []
    for k, hashseed in enumerate(("1", "4242")):
        run = tmp_path / f"p{k}" / "run"  # the same folder name (the report's title)
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        proc = subprocess.run([sys.executable, "-c", SAVE, str(REPO), str(GOOG), str(run), mode],
                              capture_output=True, timeout=600, env=env)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        folders.append(_folder(run))
    a, b = folders
    assert set(a) == set(b) and "report.html" in a
    for name in a:
        assert a[name] == b[name], f"{name} differs between two processes"
    COUNTS["identical run-folder files"] += len(a)


@pytest.mark.parametrize("name", BOTH)
@fuzz_settings(12)
@given(seed=st.integers(0, 2**32 - 1), n_bars=st.integers(30, 400),
       step=st.sampled_from([DAY, HOUR]), fill_at=st.sampled_from(["next_open", "signal_close"]),
       vcap=st.sampled_from([0.0, 0.0, 0.001, 0.05]), lot=st.sampled_from([1.0, 0.0, 10.0]),
       commission=st.sampled_from([0.0, 0.001, {"model": "per_share", "per_share": 0.01,
                                                "minimum": 1.0}]),
       slippage=st.sampled_from([0.0, 2.0, {"model": "sqrt_impact", "coef": 0.05}]),
       n_sym=st.sampled_from([1, 2, 4]))
def test_python_and_compiled_paths_are_bit_identical_on_random_markets(
        name, seed, n_bars, step, fill_at, vcap, lot, commission, slippage, n_sym):
    rng = np.random.default_rng(seed)
    cls = STRATS[name]
    if name == "sma_cross":  # one symbol only
        n_sym = 1
    market = random_market(rng, n_sym, n_bars, step=step)
    params = {"fast": 3, "slow": 8} if name == "sma_cross" else {}
    runs = [engine.run(market=market, strategy=cls, params=params, mode=mode, cash=50_000.0,
                       fill_at=fill_at, volume_cap=vcap, lot_size=lot, commission=commission,
                       slippage=slippage) for mode in ("python", "compiled")]
    same(runs[0], runs[1], ("fills_rec", "trades_rec", "equity_rec"))
    o0, o1 = runs[0].orders_rec, runs[1].orders_rec
    assert o0[["ts", "status", "filled_size"]].tolist() == o1[["ts", "status", "filled_size"]].tolist()
    COUNTS["path-parity runs"] += 2


def _stats(res) -> str:
    return json.dumps(res.stats, sort_keys=True, default=str)


@pytest.mark.parametrize("name", BOTH)
def test_python_and_compiled_paths_give_identical_stats(name):
    """The records above, and the stats computed from them (stats.json), on shipped data."""
    params = {"fast": 5, "slow": 20} if name == "sma_cross" else {}
    runs = [engine.run(market=str(GOOG), strategy=name, params=params, mode=mode,
                       cash=100_000.0, commission=0.001) for mode in ("python", "compiled")]
    same(runs[0], runs[1], ("fills_rec", "trades_rec", "equity_rec"))
    assert _stats(runs[0]) == _stats(runs[1])
    COUNTS["path-parity runs"] += 2


TICK_CFG = {"queue": "probabilistic", "entry_latency": ["exponential", 300_000, 500_000],
            "response_latency": ["uniform", 100_000, 2_000_000], "feed_latency": "recorded",
            "maker_fee": -0.00005, "taker_fee": 0.0004, "partial_fills": True}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["avellaneda_stoikov", "grid_mm"])
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_tick_runs_rerun_and_python_vs_compiled_are_bit_identical(name):
    """Tick runs with seeded random latencies and the probabilistic queue: a rerun and the
    other path give the same orders, fills, trades, equity and stats, bit for bit."""
    from lookahead_tick import BINANCE, TICK_SETUP

    def go(mode):
        return engine.run(market=str(BINANCE), strategy=name, mode=mode, cash=100_000.0,
                          params=TICK_SETUP[name]["binance"], tick=TICK_CFG, seed=9)

    py, py2, nb = go("python"), go("python"), go("compiled")
    assert len(py.fills_rec) > 5
    for other in (py2, nb):
        same(py, other)
        assert _stats(py) == _stats(other)
    COUNTS["path-parity runs"] += 3
