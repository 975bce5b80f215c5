"""Record arrays of a run (engine/types.py, engine/result.py): default rows, round-trip order,
and the compiled path's exact reservation growing when a run needs more rows."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import types as T
from engine.market import load_market
from engine.result import trade_records
from tests.core_helpers import DAY, T0, bars
from tests.test_core_targets import TargetSeq


def _defaults_field_by_field(dtype: np.dtype, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=dtype)
    for name in ("limit_price", "stop_price", "trail", "avg_fill_price", "entry_price",
                 "exit_price"):
        if name in dtype.names:
            out[name] = np.nan
    for name in ("parent_id", "oco_id"):
        if name in dtype.names:
            out[name] = -1
    return out


@pytest.mark.parametrize("dtype", [T.ORDER, T.FILL, T.TRADE_REC, T.EQUITY_REC])
@pytest.mark.parametrize("n", [0, 1, 3, 5000])
def test_empty_gives_the_default_row_everywhere(dtype, n):
    got = T.empty(dtype, n)
    assert got.dtype == dtype and got.shape == (n,)
    assert got.tobytes() == _defaults_field_by_field(dtype, n).tobytes()
    got[:1] = 7  # a fresh array each call (not a shared buffer)
    assert T.empty(dtype, n).tobytes() == _defaults_field_by_field(dtype, n).tobytes()


def _reference_trades(trades, n_closed, open_tr, market):
    """The round trips as the engine defines them, written plainly (one row at a time)."""
    rows = [trades[k].copy() for k in range(n_closed)]
    for o in open_tr:
        if o["size"] <= 0:
            continue
        r = np.zeros(1, dtype=T.TRADE_REC)[0]
        px = float(market.mkt[5, -1, int(o["sym"])])  # M_MARK
        r["sym"], r["side"], r["status"], r["size"] = o["sym"], o["side"], T.TRADE_OPEN, o["size"]
        r["entry_ts"], r["entry_price"] = o["entry_ts"], o["entry_price"]
        r["exit_ts"], r["exit_price"], r["fees"] = market.ts[-1], px, o["fees"]
        r["pnl"] = o["side"] * o["size"] * (px - o["entry_price"]) - o["fees"]
        rows.append(r)
    out = np.array(rows, dtype=T.TRADE_REC) if rows else np.zeros(0, T.TRADE_REC)
    out = out[np.argsort(out["entry_ts"], kind="stable")]
    out["trade_id"] = np.arange(len(out))
    return out


@pytest.mark.parametrize("case", ["in_order", "out_of_order", "open_first", "none"])
def test_trade_records_sorted_by_entry_and_numbered(case):
    from engine.layout import M_MARK

    assert M_MARK == 5
    mk = load_market({"A": bars([(10.0, 11.0, 9.0, 10.5)] * 5),
                      "B": bars([(20.0, 21.0, 19.0, 20.5)] * 5)})
    trades = T.empty(T.TRADE_REC, 8)
    entries = {"in_order": [1, 2, 3], "out_of_order": [3, 1, 2], "open_first": [2, 3, 4],
               "none": []}[case]
    for k, e in enumerate(entries):
        trades[k] = (k, k % 2, 1 if k % 2 == 0 else -1, 0, 2.0 + k, T0 + e * DAY, 10.0 + k,
                     T0 + (e + 1) * DAY, 11.0, 1.5 * k, 0.1)
    open_tr = T.empty(T.TRADE_REC, 2)
    open_tr["sym"] = [0, 1]
    if case in ("out_of_order", "open_first"):
        open_tr[1]["side"], open_tr[1]["size"], open_tr[1]["fees"] = -1, 3.0, 0.2
        open_tr[1]["entry_ts"], open_tr[1]["entry_price"] = T0 + 1 * DAY, 20.0
    got = trade_records(trades, len(entries), open_tr, mk)
    want = _reference_trades(trades, len(entries), open_tr, mk)
    assert got.tobytes() == want.tobytes()
    assert list(got["trade_id"]) == list(range(len(got)))
    assert (np.diff(got["entry_ts"]) >= 0).all()


def test_compiled_run_outgrows_its_exact_reservation():
    # 4 target events, but a 10 % volume cap fills each over many bars: far more fills,
    # round trips and snapshots than the reservation (one each per event) holds
    n = 60
    c = 100 + np.arange(n, dtype=float)
    b = bars([(x, x + 1, x - 1, x) for x in c], volume=50.0)
    plan = {0: 100.0, 15: -80.0, 30: 60.0, 45: 0.0}
    runs = [engine.run(market={"X": b}, strategy=TargetSeq(plan), cash=1e6, volume_cap=0.1,
                       mode=mode) for mode in ("python", "compiled")]
    py, co = runs
    assert len(co.fills_rec) > 4 + 5 + 24  # past the reserved rows: the loop grew them
    for name in ("orders_rec", "fills_rec", "trades_rec", "equity_rec"):
        assert getattr(py, name).tobytes() == getattr(co, name).tobytes(), name
