"""engine.run(...).save(): the complete run folder of docs/RUN_FOLDER.md, and the CLI."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import engine
from cli import main
from reports.runfolder import read_run

REPO = Path(__file__).resolve().parents[1]
GOOG = REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv"
FILES = ("config.toml", "manifest.json", "stats.json", "equity.csv", "trades.csv", "orders.csv",
         "fills.csv", "prices.parquet", "report.html")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "goog"
    res = engine.run(market=str(GOOG), strategy="sma_cross", params={"fast": 10, "slow": 20},
                     cash=10_000.0, commission=0.002)
    res.save(out)
    return res, out


def test_folder_has_every_file(saved):
    res, out = saved
    for name in FILES:
        assert (out / name).is_file(), name
    assert not list(out.glob("*.tmp-*"))
    man = json.loads((out / "manifest.json").read_text())
    assert man["status"] == "complete"
    assert man["data"][0]["sha256"] == (
        "60e961a567490b157f71888df9e6afb36190a34a40a6286aa38988e2343f1b1a")
    assert man["counts"]["bars"] == 2148
    assert man["counts"]["trades"] == 93 and man["counts"]["open_trades"] == 1
    assert set(man["timings"]) >= {"load", "run", "report", "total"}
    import hashlib

    assert man["config_sha256"] == hashlib.sha256((out / "config.toml").read_bytes()).hexdigest()


def test_stats_and_csv_round_trip(saved):
    res, out = saved
    stats = json.loads((out / "stats.json").read_text())
    for key in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar",
                "volatility", "n_trades", "win_rate", "profit_factor", "final_equity",
                "exposure"):
        assert key in stats, key
    assert stats["max_drawdown"] <= 0
    assert stats["final_equity"] == pytest.approx(res.final_equity, rel=1e-12)
    eq = pd.read_csv(out / "equity.csv")
    assert list(eq.columns[:5]) == ["time", "ts", "equity", "cash", "exposure"]
    assert "benchmark" in eq.columns
    assert np.array_equal(eq["equity"].to_numpy(), res.equity["equity"].to_numpy())  # repr-exact
    assert eq["time"].iloc[0].endswith("Z")
    run = read_run(out)
    assert run.strategy == "sma_cross" and run.params["fast"] == 10
    tr = pd.read_csv(out / "trades.csv")
    assert set(tr["status"]) == {"closed", "open"}
    assert tr["pnl"].sum() + 10_000.0 == pytest.approx(res.final_equity, rel=1e-12)


def test_config_toml_reruns_identically(saved, tmp_path):
    res, out = saved
    cfg = tomllib.loads((out / "config.toml").read_text())
    assert cfg["strategy"]["params"] == {"fast": 10, "slow": 20, "long_only": False}
    again = engine.run(out / "config.toml")
    assert np.array_equal(again.equity_rec, res.equity_rec)


def test_tape_run_flags_and_config(tmp_path):
    r = CliRunner().invoke(main, ["run", "--strategy", "sma_cross", "--data", str(GOOG),
                                  "--param", "fast=5", "--param", "slow=30", "--cash", "10000",
                                  "--commission", "0", "--out", str(tmp_path / "a"),
                                  "--no-report"])
    assert r.exit_code == 0, r.output
    assert "run folder" in r.output
    stats = json.loads((tmp_path / "a" / "stats.json").read_text())
    golden = json.loads((REPO / "tests/golden/peers/sma_cross_GOOG_5_30_c0.json").read_text())
    assert stats["final_equity"] == pytest.approx(golden["final_equity"], rel=1e-12)
    assert not (tmp_path / "a" / "report.html").exists()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[strategy]\nname = "sma_cross"\nparams = {{ fast = 5, slow = 30 }}\n'
                   f'[data]\npath = {json.dumps(str(GOOG))}\n[broker]\ncash = 10000.0\n')
    r = CliRunner().invoke(main, ["run", str(cfg), "--out", str(tmp_path / "b"), "--no-report"])
    assert r.exit_code == 0, r.output
    s2 = json.loads((tmp_path / "b" / "stats.json").read_text())
    assert s2["final_equity"] == stats["final_equity"]


def test_tape_run_errors_name_the_key(tmp_path):
    r = CliRunner().invoke(main, ["run", "--strategy", "sma_cros", "--data", str(GOOG),
                                  "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "sma_cross" in r.output
    r = CliRunner().invoke(main, ["run", "--strategy", "sma_cross", "--data", str(GOOG),
                                  "--param", "fats=3", "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "'fats'" in r.output and "fast" in r.output
    cfg = tmp_path / "c.toml"
    cfg.write_text('[broker]\ncahs = 5\n')
    r = CliRunner().invoke(main, ["run", str(cfg), "--out", str(tmp_path / "x")])
    assert r.exit_code != 0 and "broker.cahs" in r.output and "broker.cash" in r.output


def test_tape_demo(tmp_path):
    r = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "demo" / "report.html").is_file()
    assert str(tmp_path / "demo" / "report.html") in r.output
    man = json.loads((tmp_path / "demo" / "manifest.json").read_text())
    assert man["status"] == "complete" and man["strategy"] == "sma_cross"


def test_catalog_reference_start_end_and_symbol(tmp_path):
    from data.catalog import Catalog

    cat = Catalog(tmp_path / "cat")
    cat.import_file(GOOG)
    ref = f"catalog://bar/GOOG?root={tmp_path / 'cat'}"
    r = CliRunner().invoke(main, ["run", "--strategy", "sma_cross", "--data", ref,
                                  "--start", "2006-01-01", "--end", "2010-12-31",
                                  "--out", str(tmp_path / "c"), "--no-report"])
    assert r.exit_code == 0, r.output
    eq = pd.read_csv(tmp_path / "c" / "equity.csv")
    assert eq["time"].iloc[0].startswith("2006-01-03") and eq["time"].iloc[-1].startswith(
        "2010-12-31")
    man = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert man["data"][0]["source"] == ref and len(man["data"][0]["sha256"]) == 64
    direct = engine.run(market=str(GOOG), strategy="sma_cross", start="2006-01-01",
                        end="2010-12-31")
    assert json.loads((tmp_path / "c" / "stats.json").read_text())["final_equity"] == (
        pytest.approx(direct.final_equity, rel=1e-15))


def test_multi_symbol_run_folder_with_unrecovered_drawdown(tmp_path):
    # regression: stats with an unrecovered drawdown hold NaT, which json could not write
    pairs = REPO / "data/samples/pairs"
    r = CliRunner().invoke(main, ["run", "--strategy", "rebalance",
                                  "--data", str(pairs / "EWA_daily_2006-2012.csv"),
                                  "--data", str(pairs / "GLD_daily_2004-2007.csv"),
                                  "--param", "every=63", "--commission", "0.001",
                                  "--cash", "100000", "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    stats = json.loads((tmp_path / "m" / "stats.json").read_text())
    assert "max_drawdown_recovery" in stats
    prices = pd.read_parquet(tmp_path / "m" / "prices.parquet")
    assert set(prices["symbol"]) == {"EWA", "GLD"}
    run = read_run(tmp_path / "m")
    assert set(run.symbols) == {"EWA", "GLD"} and (tmp_path / "m" / "report.html").is_file()
    assert json.loads((tmp_path / "m" / "manifest.json").read_text())["symbols"] == ["EWA", "GLD"]
