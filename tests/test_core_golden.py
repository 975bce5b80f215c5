"""sma_cross on shipped real data equals the peers' golden files (backtesting.py, backtrader,
vectorbt agree to ~1e-10): every round trip and the equity at every bar, both run paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import engine

REPO = Path(__file__).resolve().parents[1]
FILES = sorted((REPO / "tests" / "golden" / "peers").glob("sma_cross_*.json"))


@pytest.mark.parametrize("mode", ["python", "compiled"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_sma_cross_matches_peers(path, mode):
    g = json.loads(path.read_text())
    p = g["params"]
    res = engine.run(market=str(REPO / g["data"]["file"]), strategy="sma_cross",
                     params={"fast": p["fast"], "slow": p["slow"], "long_only": p["long_only"]},
                     cash=p["cash"], commission=p["commission"], mode=mode)
    assert res.mode == mode
    scale = max(g["equity"]["equity"])
    eq = res.equity["equity"].to_numpy()
    assert len(eq) == g["data"]["rows"]
    np.testing.assert_allclose(eq, g["equity"]["equity"], rtol=0, atol=1e-9 * scale)
    assert res.final_equity == pytest.approx(g["final_equity"], abs=1e-9 * scale)
    tr = res.trades
    assert len(tr) == len(g["trades"])
    ts = res.equity["ts"].to_numpy()
    for row, gt in zip(tr.itertuples(index=False), g["trades"], strict=True):
        assert row.side == gt["side"] and row.status == gt["status"]
        assert row.size == gt["size"]
        assert row.entry_ts == ts[gt["entry_bar"]] and row.exit_ts == ts[gt["exit_bar"]]
        for k in ("entry_price", "exit_price", "fees", "pnl"):
            assert getattr(row, k) == pytest.approx(gt[k], abs=1e-9 * scale), k
    assert res.stats["n_trades"] == g["n_trades"]
    assert res.fills["fee"].sum() == pytest.approx(g["total_fees"], rel=1e-9, abs=1e-9)


def test_rerun_is_identical():
    f = str(REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv")
    a = engine.run(market=f, strategy="sma_cross", commission=0.001)
    b = engine.run(market=f, strategy="sma_cross", commission=0.001)
    for name in ("equity_rec", "fills_rec", "orders_rec", "trades_rec"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
