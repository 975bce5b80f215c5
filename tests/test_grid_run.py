"""tape grid on shipped real data: assets x costs x periods x seeds, per-run folders, baseline,
summaries that match the per-run rows, resume, the CLI and the shipped example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import engine
from cli import main
from engine.experiments import parse_grid
from engine.grid_run import run_grid

REPO = Path(__file__).resolve().parents[1]
STOCKS = REPO / "data" / "samples" / "cross_section" / "skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"

GRID = f"""
strategy = "sma_cross"
baseline = "buy_and_hold"
metrics = ["total_return", "sharpe", "max_drawdown"]
reports = false
seeds = [1, 2]

[params]
fast = 10
slow = 40

[[assets]]
name = "EWA"
data = "{REPO / 'data' / 'samples' / 'pairs' / 'EWA_daily_2006-2012.csv'}"

[[assets]]
name = "MSFT"
data = "{STOCKS}"
symbols = ["MSFT"]

[[costs]]
name = "free"
commission = 0.0

[[costs]]
name = "20bp"
commission = 0.002

[[periods]]
name = "A"
start = "2007-01-01"
end = "2008-06-30"

[[periods]]
name = "B"
start = "2008-07-01"
end = "2009-12-31"
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    d = tmp_path_factory.mktemp("grid")
    f = d / "grid.toml"
    f.write_text(GRID)
    return run_grid(f, out=d / "out", workers=1, progress=False)


def test_every_run_has_a_row_and_a_folder(grid):
    t = pd.read_csv(grid.out / "results.csv")
    assert len(t) == 2 * 2 * 2 * 2
    assert list(t.columns[:4]) == ["asset", "cost", "period", "seed"]
    for _, r in t.iterrows():
        run = grid.out / "runs" / r["asset"] / r["cost"] / r["period"] / f"seed{r['seed']}"
        stats = json.loads((run / "stats.json").read_text())
        assert stats["total_return"] == pytest.approx(r["total_return"], rel=0, abs=0)
        assert json.loads((run / "manifest.json").read_text())["status"] == "complete"
    assert (grid.out / "runs" / "EWA" / "free" / "A" / "baseline" / "stats.json").exists()


def test_a_row_equals_the_same_run_made_alone(grid):
    t = pd.read_csv(grid.out / "results.csv")
    r = t[(t.asset == "MSFT") & (t.cost == "20bp") & (t.period == "B") & (t.seed == 1)].iloc[0]
    from engine.grid_run import load_asset

    bars = load_asset(str(STOCKS), ("MSFT",))
    alone = engine.run(market=bars, strategy="sma_cross", params={"fast": 10, "slow": 40},
                       commission=0.002, start="2008-07-01", end="2009-12-31T23:59:59.999999999Z")
    assert alone.stats["total_return"] == r["total_return"]
    assert alone.stats["start"] == r["start"] and alone.stats["end"] == r["end"]
    b = engine.run(market=bars, strategy="buy_and_hold", commission=0.002,
                   start="2008-07-01", end="2009-12-31T23:59:59.999999999Z")
    assert b.stats["sharpe"] == r["baseline_sharpe"]


def test_periods_and_costs_change_the_runs(grid):
    t = pd.read_csv(grid.out / "results.csv")
    a = t[t.period == "A"]
    assert (pd.to_datetime(a["start"]) >= pd.Timestamp("2007-01-01", tz="UTC")).all()
    assert (pd.to_datetime(a["end"]) <= pd.Timestamp("2008-07-01", tz="UTC")).all()
    assert (t[t.cost == "free"]["fees_paid"] == 0).all() and (t[t.cost == "20bp"]["fees_paid"] > 0).all()


def test_summaries_are_means_and_stds_of_the_rows(grid):
    t = pd.read_csv(grid.out / "results.csv")
    s = pd.read_csv(grid.out / "summary.csv")
    assert len(s) == 2 * 2 * 2
    row = s[(s.asset == "EWA") & (s.cost == "free") & (s.period == "B")].iloc[0]
    runs = t[(t.asset == "EWA") & (t.cost == "free") & (t.period == "B")]
    assert row["runs"] == 2
    assert row["sharpe_mean"] == pytest.approx(runs["sharpe"].mean())
    assert row["sharpe_std"] == pytest.approx(runs["sharpe"].std(ddof=1))  # 0: deterministic
    assert row["baseline_sharpe_mean"] == pytest.approx(runs["baseline_sharpe"].mean())
    agg = pd.read_csv(grid.out / "aggregates.csv")
    overall = agg[agg.group == "overall"].iloc[0]
    assert overall["runs"] == 16
    assert overall["total_return_mean"] == pytest.approx(t["total_return"].mean())
    by_cost = agg[agg.group == "by cost"].set_index("cost")
    assert by_cost.loc["20bp", "total_return_mean"] == pytest.approx(
        t[t.cost == "20bp"]["total_return"].mean())
    html = (grid.out / "report.html").read_text()
    assert 'id="cells"' in html and "buy_and_hold" in html


def test_cli_grid_json_resume_and_bad_file(grid, tmp_path):
    f = tmp_path / "g.toml"
    f.write_text(GRID)
    r = CliRunner().invoke(main, ["grid", str(f), "--out", str(grid.out), "--workers", "1",
                                  "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["n_resumed"] == 16 and doc["n_run"] == 0 and doc["cells"] == 8
    assert set(doc["overall"]) == {"total_return", "sharpe", "max_drawdown"}
    bad = tmp_path / "bad.toml"
    bad.write_text(GRID.replace("[[costs]]\nname = \"free\"", "[[cost]]\nname = \"free\"", 1))
    r = CliRunner().invoke(main, ["grid", str(bad), "--out", str(tmp_path / "x")])
    assert r.exit_code == 3 and "did you mean 'costs'" in r.output and str(bad) in r.output


def test_shipped_example_grid_parses():
    spec = parse_grid(REPO / "examples" / "grid_stocks20.toml")
    assert len(spec.assets) == 20 and len(spec.costs) == 2 and len(spec.periods) == 5
    assert len(spec.combos()) == 200
    assert all(Path(a.data).exists() for a in spec.assets)
    assert np.unique([a.symbols for a in spec.assets]).size == 20
