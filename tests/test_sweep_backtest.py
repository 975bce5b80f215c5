"""Strategy sweeps on shipped real data: every row is exactly the stats.json of the same run
made alone; cost parameters sweep; values are checked before anything runs; the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import engine
from cli import main
from data.errors import ConfigError
from engine.sweep_backtest import sweep

REPO = Path(__file__).resolve().parents[1]
KO = REPO / "data" / "samples" / "pairs" / "daily-KO.csv"
GOOG = REPO / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv"


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return a == b


@pytest.fixture(scope="module")
def ko_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("ko") / "sweep"
    res = sweep("sma_cross", str(KO), grid=["fast=5:20:5", "slow=20:60:20", "commission=0,0.001"],
                constraints=["fast < slow"], options={"cash": 50_000.0}, out=out, workers=1,
                progress=False)
    return res


def test_rows_are_the_stats_of_each_run_alone(ko_sweep):
    t = ko_sweep.table
    assert list(t.columns[:3]) == ["fast", "slow", "commission"]
    assert len(t) == 2 * sum(1 for f in (5, 10, 15, 20) for s in (20, 40, 60) if f < s)
    for _, row in t.iloc[[0, 5, len(t) - 1]].iterrows():
        alone = engine.run(market=str(KO), strategy="sma_cross", cash=50_000.0,
                           commission=float(row["commission"]),
                           params={"fast": int(row["fast"]), "slow": int(row["slow"])}).stats
        diff = {k: (v, row[k]) for k, v in alone.items()
                if k != "conventions" and not _same(v, row[k])}
        assert not diff
    # the commission axis really changes results
    g = t.groupby("commission")["fees_paid"].sum()
    assert g[0.0] == 0.0 and g[0.001] > 0


def test_batched_sweep_rows_equal_per_run_rows(tmp_path):
    # only strategy parameters swept: chunks go through engine.batch.run_batch_stats
    kw = dict(grid=["fast=3:15:3", "slow=10,20,40"], constraints=["fast < slow"],
              options={"cash": 25_000.0, "commission": 0.001}, workers=1, progress=False,
              report=False)
    a = sweep("sma_cross", str(GOOG), out=tmp_path / "batched", **kw)
    b = sweep("sma_cross", str(GOOG), out=tmp_path / "per_run", batch=False, **kw)
    assert a.n_run == b.n_run == len(a.table) > 8
    assert ((tmp_path / "batched" / "results.csv").read_bytes()
            == (tmp_path / "per_run" / "results.csv").read_bytes())
    row = a.table.iloc[-1]
    alone = engine.run(market=str(GOOG), strategy="sma_cross", cash=25_000.0, commission=0.001,
                       params={"fast": int(row["fast"]), "slow": int(row["slow"])}).stats
    assert {k: v for k, v in alone.items()
            if k != "conventions" and not _same(v, row[k])} == {}


def test_report_written_and_spec_records_data_hash(ko_sweep):
    spec = json.loads((ko_sweep.out / "sweep.json").read_text())
    assert spec["sources"][0]["sha256"] and spec["strategy"] == "sma_cross"
    assert spec["conventions"]["periods_per_year"] == 252
    html = (ko_sweep.out / "report.html").read_text()
    assert 'id="heatmap"' in html and "fast" in html


def test_values_checked_before_running(tmp_path):
    with pytest.raises(ConfigError) as e:
        sweep("sma_cross", str(KO), grid=["fast=5:20:5", "slow=10,20"], out=tmp_path / "a",
              workers=1, progress=False)
    assert "refuses the combination" in str(e.value) and "--constraint" in str(e.value)
    with pytest.raises(ConfigError, match="did you mean 'slow'"):
        sweep("sma_cross", str(KO), grid=["slw=20"], out=tmp_path / "b", workers=1)
    with pytest.raises(ConfigError, match="is a int"):
        sweep("sma_cross", str(KO), grid=["fast=2.5,3"], out=tmp_path / "c", workers=1)
    assert not (tmp_path / "a").exists()  # nothing ran, nothing written


def test_random_search_is_reproducible(tmp_path):
    kw = dict(grid=["fast=2:30", "slow=20:120:5"], constraints=["fast < slow"], random=12,
              seed=3, workers=1, progress=False, report=False)
    a = sweep("sma_cross", str(KO), out=tmp_path / "a", **kw)
    sweep("sma_cross", str(KO), out=tmp_path / "b", **kw)
    assert len(a.table) == 12
    assert (tmp_path / "a" / "results.csv").read_bytes() == (tmp_path / "b" / "results.csv").read_bytes()


def test_cli_sweep_json_and_resume(tmp_path):
    out = tmp_path / "s"
    args = ["sweep", "--strategy", "sma_cross", "--data", str(GOOG), "--grid", "fast=5:20:5",
            "--grid", "slow=30,60", "--constraint", "fast < slow", "--param", "cash=20000",
            "--out", str(out), "--workers", "1", "--json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["status"] == "complete" and doc["n_total"] == 8 and doc["n_run"] == 8
    assert set(doc["best"]) == {"fast", "slow"} and doc["files"]["report"].endswith("report.html")
    t = pd.read_csv(out / "results.csv")
    assert (t["initial_equity"] == 20000).all()
    r2 = CliRunner().invoke(main, args)
    assert json.loads(r2.stdout)["n_resumed"] == 8 and json.loads(r2.stdout)["n_run"] == 0
    r3 = CliRunner().invoke(main, args[:-1] + ["--quiet"])
    assert r3.exit_code == 0 and r3.stdout == ""
    r4 = CliRunner().invoke(main, [a if a != "fast=5:20:5" else "fast=5:25:5" for a in args])
    assert r4.exit_code == 3 and "different sweep" in r4.output  # ConfigError


def test_cli_exit_codes(tmp_path):
    base = ["sweep", "--strategy", "sma_cross", "--data", str(KO), "--out", str(tmp_path / "o")]
    r = CliRunner().invoke(main, base + ["--grid", "fast=5:x"])
    assert r.exit_code == 3 and "'x' is not a number" in r.output
    r = CliRunner().invoke(main, base + ["--grid", "fast=5", "--constraint", "__import__('os')"])
    assert r.exit_code == 3
    r = CliRunner().invoke(main, ["sweep", "--strategy", "nope", "--data", str(KO), "--grid",
                                  "fast=5", "--out", str(tmp_path / "p")])
    assert r.exit_code == 3 and "unknown strategy" in r.output
    r = CliRunner().invoke(main, ["sweep", "--strategy", "sma_cross", "--grid", "fast=5"])
    assert r.exit_code == 2  # usage: --data and --out missing
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2020-01-01,1,1,1,x,1\n")
    r = CliRunner().invoke(main, ["sweep", "--strategy", "sma_cross", "--data", str(bad),
                                  "--grid", "fast=5", "--grid", "slow=10",
                                  "--out", str(tmp_path / "q")])
    assert r.exit_code == 4, r.output  # DataError


def test_plugin_file_strategy_sweeps_in_workers(tmp_path):
    """A strategy from a file reference is resolved again inside each worker process."""
    p = tmp_path / "strat.py"
    p.write_text(
        "from strategies.builtin.sma_cross import SmaCross\n"
        "class Fast(SmaCross):\n    name = 'fast_cross'\n")
    res = sweep(f"{p}:Fast", str(KO), grid=["fast=5,10", "slow=30,40"], out=tmp_path / "s",
                workers=2, progress=False, report=False)
    ref = sweep("sma_cross", str(KO), grid=["fast=5,10", "slow=30,40"], out=tmp_path / "r",
                workers=1, progress=False, report=False)
    assert res.n_errors == 0
    cols = [c for c in ref.table.columns]
    assert res.table[cols].equals(ref.table[cols])
    assert np.isfinite(res.table["sharpe"]).all()
