"""Walk-forward on shipped real data: choices come from the train window only, out-of-sample
returns are the test runs' own, stitched exactly; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cli import main
from engine.walkforward import walk_forward
from reports.sweep_report import ranked

REPO = Path(__file__).resolve().parents[1]
GOOG = REPO / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv"


@pytest.fixture(scope="module")
def wf(tmp_path_factory):
    out = tmp_path_factory.mktemp("wf") / "goog"
    return walk_forward("sma_cross", str(GOOG), grid=["fast=5:20:5", "slow=30,60,90"],
                        train=500, test=250, out=out, workers=1, progress=False)


def test_each_choice_is_the_best_of_its_train_window_only(wf):
    assert len(wf.windows) == 7  # 2148 bars: 500 to train, then 6 x 250 + 148
    for _, w in wf.windows.iterrows():
        d = wf.out / "windows" / f"{int(w['window']):03d}"
        t = pd.read_csv(d / "train" / "results.csv")
        best = ranked(t, "sharpe").iloc[0]
        assert (best["fast"], best["slow"]) == (w["fast"], w["slow"])
        assert w["is_sharpe"] == best["sharpe"]
        # the train sweep saw nothing at or after the test window's first bar
        assert (pd.to_datetime(t["end"]) < pd.Timestamp(w["test_start"])).all()
        assert (t["n_steps"] == 500).all()


def test_stitched_equity_chains_the_test_runs_returns(wf):
    eq = pd.read_csv(wf.out / "oos" / "equity.csv")
    r_stitched = eq["equity"].to_numpy()[1:] / eq["equity"].to_numpy()[:-1] - 1.0
    parts = []
    for _, w in wf.windows.iterrows():
        run = pd.read_csv(wf.out / "windows" / f"{int(w['window']):03d}" / "test" / "equity.csv")
        t0 = pd.Timestamp(w["test_start"]).value
        k = int(np.searchsorted(run["ts"].to_numpy(), t0))
        e = run["equity"].to_numpy()
        assert k > 0  # the run started before the test window (warm-up)
        parts.append(e[k:] / e[k - 1:-1] - 1.0)
    np.testing.assert_allclose(r_stitched, np.concatenate(parts), rtol=0, atol=1e-12)
    assert len(eq) == 1 + int(wf.windows["test_bars"].sum())
    assert eq["equity"].iloc[0] == 10_000.0
    stats = json.loads((wf.out / "oos" / "stats.json").read_text())
    assert stats["final_equity"] == pytest.approx(eq["equity"].iloc[-1])
    assert json.loads((wf.out / "oos" / "manifest.json").read_text())["status"] == "complete"
    html = (wf.out / "report.html").read_text()
    assert 'id="windows"' in html and 'id="stability"' in html
    oos_html = (wf.out / "oos" / "report.html").read_text()
    assert "walkforward-oos" in oos_html and "No manifest.json yet" not in oos_html


def test_parameter_stability(wf):
    doc = json.loads((wf.out / "walkforward.json").read_text())
    st = doc["stability"]["fast"]
    v = wf.windows["fast"].tolist()
    assert st["values"] == v
    assert st["changes"] == sum(a != b for a, b in zip(v, v[1:], strict=False))


def test_cli_walkforward_anchored_json(tmp_path):
    r = CliRunner().invoke(main, [
        "walkforward", "--strategy", "sma_cross", "--data", str(GOOG), "--grid", "fast=5,10",
        "--grid", "slow=30,60", "--train", "3Y", "--test", "2Y", "--anchored", "--warmup", "100",
        "--out", str(tmp_path / "w"), "--workers", "1", "--json", "--no-report"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["windows"] == len(doc["windows_table"]) >= 2
    starts = {w["train_start"] for w in doc["windows_table"]}
    assert len(starts) == 1  # anchored: every train window starts at the first bar
    assert not (tmp_path / "w" / "report.html").exists()
    r = CliRunner().invoke(main, [
        "walkforward", "--strategy", "sma_cross", "--data", str(GOOG), "--grid", "fast=5",
        "--grid", "slow=30", "--train", "30Y", "--test", "1Y", "--out", str(tmp_path / "x")])
    assert r.exit_code == 3 and "shorter than one train window" in r.output
