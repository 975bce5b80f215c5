"""The sweep report: heatmap, top table, sensitivity and the deflated Sharpe of the best with the
true trial count."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import sweep_tasks
from metrics_reference import deflated_sharpe

from data.errors import ConfigError
from engine.sweep import run_sweep
from engine.sweep_space import Constraint, Space, parse_axis
from reports.sweep_report import deflated_best, heatmap, ranked, write_sweep_report


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    close = 100.0 * np.exp(np.cumsum(np.random.default_rng(4).normal(0.0002, 0.01, 2500)))
    combos = Space([parse_axis("fast=2:20:3"), parse_axis("slow=10:60:10"),
                    parse_axis("cost=0,0.002")], constraints=[Constraint("fast < slow")]).grid()
    res = run_sweep(sweep_tasks.sma_task, combos, out, shared={"close": close}, workers=1,
                    progress=False, spec={"strategy": "sma_task", "data": "synthetic"})
    return out, res, close


def test_deflated_sharpe_of_best_equals_the_metrics_function(sweep_dir):
    out, res, close = sweep_dir
    t = res.table
    best = ranked(t, "sharpe").iloc[0]
    d = deflated_best(t, best, 252)
    assert d["n_trials"] == len(t) == res.n_total
    r = sweep_tasks.strategy_returns(close, int(best["fast"]), int(best["slow"]), best["cost"])
    std = float(np.std(t["sharpe"].to_numpy() / math.sqrt(252), ddof=1))
    expect = deflated_sharpe(r, 252, n_trials=len(t), trials_sharpe_std=std)
    assert d["deflated_sharpe"] == pytest.approx(expect, rel=1e-12)
    # more trials make the same best result less convincing
    fewer = deflated_best(t.iloc[: len(t) // 4], best, 252)
    assert fewer["n_trials"] < d["n_trials"]
    assert d["expected_max_sharpe"] > 0


def test_heatmap_takes_best_over_other_params(sweep_dir):
    _, res, _ = sweep_dir
    t = res.table
    h = heatmap(t, "fast", "slow", "total_return")
    assert h["aggregated"]  # cost is a third swept parameter
    cell = t[(t.fast == 5) & (t.slow == 30)]["total_return"].max()
    row = h["rows"][[r["y"] for r in h["rows"]].index("30")]
    assert row["cells"][h["xs"].index("5")]["text"] == f"{cell * 100:.2f}%"
    # invalid (fast >= slow) cells are blank
    row10 = h["rows"][[r["y"] for r in h["rows"]].index("10")]
    assert row10["cells"][h["xs"].index("11")]["text"] == ""
    assert sum(c["best"] for r in h["rows"] for c in r["cells"]) == 1


def test_report_html(sweep_dir):
    out, res, _ = sweep_dir
    path = write_sweep_report(out, metric="sharpe", top=5)
    html = path.read_text()
    assert 'id="heatmap"' in html and 'id="top"' in html and 'id="dsr"' in html
    assert f"Trials (true count)</div><div class=\"v\">{res.n_total}<" in html
    assert html.count("<tr><td>") >= 5
    assert "<script" not in html and "src=\"http" not in html  # self-contained, no requests


def test_unknown_metric_and_axis(sweep_dir):
    out, _, _ = sweep_dir
    with pytest.raises(ConfigError, match="did you mean 'sharpe'"):
        write_sweep_report(out, metric="sharp")
    with pytest.raises(ConfigError, match="--x"):
        write_sweep_report(out, x="nope")


def test_ranked_skips_undefined():
    t = pd.DataFrame({"a": [1, 2, 3], "sharpe": [0.5, None, 1.0]})
    assert ranked(t, "sharpe")["a"].tolist() == [3, 1]
