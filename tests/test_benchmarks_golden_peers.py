"""The peer golden files (tests/golden/peers/) against their own stated semantics.

The files were written by benchmarks/make_golden_peers.py from backtesting.py, backtrader and
vectorbt (which agreed to 1e-10). Here a plain loop re-derives every signal, fill, size, fee,
round trip and per-bar equity value from the shipped sample and the ``semantics`` the file
states, so a file that drifts from its documentation (or from the data) fails.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "peers"
FILES = sorted(GOLDEN.glob("sma_cross_*.json"))
ALL_IN = 1.0 - 2.0**-52


def _simulate(df: pd.DataFrame, fast: int, slow: int, cash: float, c: float, long_only: bool):
    o, cl = df["open"].to_numpy(float), df["close"].to_numpy(float)
    n = len(cl)
    f = pd.Series(cl).rolling(fast).mean().to_numpy()
    s = pd.Series(cl).rolling(slow).mean().to_numpy()
    pos, entry, entry_bar, entry_fee = 0, 0.0, -1, 0.0
    trades, equity, pending = [], np.empty(n), 0
    for i in range(n):
        if pending:
            want, pending = pending, 0
            if not ((want > 0 and pos > 0) or (want < 0 and (pos < 0 or (pos == 0 and long_only)))):
                if pos:
                    fee = abs(pos) * o[i] * c
                    cash += pos * o[i] - fee
                    trades.append(dict(entry_bar=entry_bar, exit_bar=i, entry_price=entry,
                                       exit_price=o[i], side="long" if pos > 0 else "short",
                                       size=float(abs(pos)), fees=entry_fee + fee,
                                       pnl=pos * (o[i] - entry) - entry_fee - fee,
                                       status="closed"))
                    pos = 0
                if not (want < 0 and long_only):
                    size = math.floor(cash * ALL_IN / (o[i] * (1 + c)))
                    if size > 0:
                        pos, entry, entry_bar = want * size, o[i], i
                        entry_fee = size * o[i] * c
                        cash -= pos * o[i] + entry_fee
        equity[i] = cash + pos * cl[i]
        if i >= 1 and not np.isnan(s[i - 1]):
            if f[i - 1] < s[i - 1] and f[i] > s[i]:
                pending = 1
            elif f[i - 1] > s[i - 1] and f[i] < s[i]:
                pending = -1
        if i == n - 1:
            pending = 0
    if pos:
        trades.append(dict(entry_bar=entry_bar, exit_bar=n - 1, entry_price=entry,
                           exit_price=cl[-1], side="long" if pos > 0 else "short",
                           size=float(abs(pos)), fees=entry_fee,
                           pnl=pos * (cl[-1] - entry) - entry_fee, status="open"))
    return trades, equity


@pytest.fixture(scope="module", params=FILES, ids=[p.stem for p in FILES])
def golden(request):
    return json.loads(request.param.read_text())


def test_golden_files_exist():
    names = {p.name for p in FILES}
    assert "sma_cross_GOOG_10_20.json" in names
    assert "sma_cross_GOOG_10_20_long_only.json" in names
    assert any(n.startswith("sma_cross_KO_") for n in names)


def test_golden_matches_its_semantics(golden):
    path = REPO / golden["data"]["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == golden["data"]["sha256"]
    df = pd.read_csv(path, index_col=0, parse_dates=True)
    df.columns = [c.lower() for c in df.columns]
    p = golden["params"]
    trades, equity = _simulate(df, p["fast"], p["slow"], p["cash"], p["commission"],
                               p["long_only"])
    assert len(df) == golden["data"]["rows"] == len(golden["equity"]["equity"])
    scale = max(abs(x) for x in equity)
    np.testing.assert_allclose(golden["equity"]["equity"], equity, rtol=0, atol=1e-9 * scale)
    assert golden["final_equity"] == pytest.approx(equity[-1], abs=1e-9 * scale)
    assert len(golden["trades"]) == len(trades)
    for g, t in zip(golden["trades"], trades, strict=True):
        for k in ("entry_bar", "exit_bar", "side", "status", "size"):
            assert g[k] == t[k], (k, g, t)
        assert g["signal_bar"] == g["entry_bar"] - 1
        for k in ("entry_price", "exit_price", "fees", "pnl"):
            assert g[k] == pytest.approx(t[k], abs=1e-9 * scale), (k, g, t)
    closed = [t for t in trades if t["status"] == "closed"]
    assert golden["n_trades"] == len(closed)
    # the accounting identity the file implies: cash + sum of round-trip pnl = final equity
    assert p["cash"] + sum(t["pnl"] for t in golden["trades"]) == pytest.approx(
        golden["final_equity"], abs=1e-8 * scale)


def test_golden_records_peer_agreement(golden):
    a = golden["agreement"]
    assert set(a["engines"]) == {"backtesting.py", "backtrader", "vectorbt"}
    assert a["same_trades"] is True
    assert a["max_abs_equity_diff"] <= a["tolerance_relative_to_max_equity"] * max(
        golden["equity"]["equity"])
    for key in ("signal", "fill", "size", "open_trade_at_end", "equity"):
        assert key in golden["semantics"]
