"""Multi-asset golden: the ``rebalance`` built-in on shipped EWA / EWC / GLD / GDX daily bars
(different date ranges: a union clock with gaps), re-derived by an independent plain loop
from the documented semantics (docs/fills.md):

* target orders sent at bar i's close fill at bar i+1's open (a symbol without a bar there
  waits for its next bar; a newer target for the symbol replaces it: reason ``superseded``);
* target units = floor(w * E * (1 - 2**-52) / (p * (1 + c))), E the liquidation value at the
  fill (cash + other positions at their price then: this bar's open, or the last close when
  they have no bar + this position at the fill price minus its closing commission);
* within a bar, orders that sell toward their target fill before the others; a buy that would
  leave cash < 0 (or gross exposure > equity) is rejected;
* equity at each close = cash + sum of positions x last close.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import engine
from data.readers import read_bars

REPO = Path(__file__).resolve().parents[1]
PAIRS = REPO / "data/samples/pairs"
FILES = {"EWA": "EWA_daily_2006-2012.csv", "EWC": "EWC_daily_2006-2012.csv",
         "GLD": "GLD_daily_2004-2007.csv", "GDX": "GDX_daily_2006-2007.csv"}
ALL_IN = 1.0 - 2.0**-52


def simulate(bars: dict, weights: np.ndarray, every: int, cash: float, c: float):
    syms = list(bars)
    ts = np.unique(np.concatenate([bars[s]["ts"] for s in syms]))
    n, k = len(ts), len(syms)
    O = np.full((n, k), np.nan)  # noqa: E741
    C = np.full((n, k), np.nan)
    for j, s in enumerate(syms):
        at = np.searchsorted(ts, bars[s]["ts"])
        O[at, j], C[at, j] = bars[s]["open"], bars[s]["close"]
    mark = C.copy()
    for i in range(1, n):
        miss = np.isnan(mark[i])
        mark[i, miss] = mark[i - 1, miss]
    pos = np.zeros(k)
    state = {"cash": cash}
    pending: list[tuple[int, float]] = []  # (symbol, weight) in order
    equity, fills = np.empty(n), []
    for i in range(n):
        ready = [(s, w) for s, w in pending if not np.isnan(O[i, s])]
        pending = [(s, w) for s, w in pending if np.isnan(O[i, s])]

        now = np.where(np.isnan(O[i]), mark[i - 1] if i else np.nan, O[i])

        def units(s, w, px, now=now):
            others = sum(pos[o] * now[o] for o in range(k) if o != s and pos[o])
            cash = state["cash"]
            e = cash + others + pos[s] * px - (abs(pos[s]) * px * c if pos[s] else 0.0)
            q = math.floor(abs(w * e) * ALL_IN / (px * (1 + c)))
            return q if w * e >= 0 else -q

        sells = [(s, w) for s, w in ready if (units(s, w, O[i, s]) - pos[s]) * pos[s] < 0]
        rest = [x for x in ready if x not in sells]
        for s, w in sells + rest:
            px = O[i, s]
            d = units(s, w, px) - pos[s]
            if d == 0:
                continue
            fee = abs(d) * px * c
            if abs(pos[s] + d) > abs(pos[s]):
                cash_after = cash - d * px - fee
                gross = sum(abs(pos[o] * now[o]) for o in range(k) if o != s and pos[o])
                gross += abs((pos[s] + d) * px)
                eq_after = cash_after + sum(pos[o] * now[o] for o in range(k)
                                            if o != s and pos[o]) + (pos[s] + d) * px
                if (d > 0 and cash_after < -1e-9 * max(eq_after, 1)) or gross > eq_after * (
                        1 + 1e-12) + 1e-9 * max(eq_after, 1):
                    continue
            cash -= d * px + fee
            state["cash"] = cash
            pos[s] += d
            fills.append((i, s, d, px, fee))
        equity[i] = cash + sum(pos[o] * mark[i, o] for o in range(k) if pos[o])
        if i % every == 0:  # every symbol's new target replaces the one still waiting
            pending = [(s, float(weights[s])) for s in range(k)]
    return ts, equity, fills


@pytest.mark.parametrize("mode", ["python", "compiled"])
def test_rebalance_multi_asset_golden(mode):
    bars = {s: read_bars(PAIRS / f).data for s, f in FILES.items()}
    w = np.array([0.3, 0.3, 0.2, 0.2]) * 0.99
    res = engine.run(market=dict(bars), strategy="rebalance",
                     params={"every": 21, "weights": "EWA:0.3,EWC:0.3,GLD:0.2,GDX:0.2"},
                     cash=100_000.0, commission=0.001, mode=mode)
    ts, equity, fills = simulate(bars, w, 21, 100_000.0, 0.001)
    assert np.array_equal(res.equity_rec["ts"], ts)
    np.testing.assert_allclose(res.equity_rec["equity"], equity, rtol=0, atol=1e-7)
    f = res.fills_rec
    assert len(f) == len(fills) > 100
    got = list(zip(np.searchsorted(ts, f["ts"]), f["sym"], f["side"] * f["size"], f["price"],
                   strict=True))
    assert [(int(a), int(b), float(c), float(d)) for a, b, c, d in got] == [
        (i, s, float(d), float(px)) for i, s, d, px, _ in fills]
    np.testing.assert_allclose(f["fee"], [x[4] for x in fills], rtol=1e-12)
    # several symbols and gaps: GLD ends in 2007, EWA starts in 2006
    assert len(res.symbols) == 4 and np.isnan(res.market.mkt[0]).any()
