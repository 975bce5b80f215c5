"""Margin: initial margin at the fill, maintenance margin at each close, margin calls and a blown
account, against hand-computed scenarios (docs/fills.md, "Margin").

equity = cash + sum(position x close); requirement = sum(maintenance_s x |position x close|).
A close with equity < requirement (or equity <= 0) sends reduce-only market orders closing
every position; they fill at each symbol's next open.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine
from data.errors import ConfigError
from engine import types as T
from engine.compiled import Targets
from strategies.base import Strategy
from tests.core_helpers import DAY, T0, Scripted, bars


def run(script, market, **kw):
    s = Scripted(script)
    kw.setdefault("cash", 10_000.0)
    return engine.run(market=market, strategy=s, **kw), s


def fills(r):
    f = r.fills
    return [(int((t - T0) // DAY), sym, side, size, price) for t, sym, side, size, price in
            zip(f["ts"], f["symbol"], f["side"], f["size"], f["price"], strict=True)]


# a rally against a short: closes 100, 104, 120, 140, 144, 145 (highs stay below 150)
RALLY = bars([(100, 101, 99, 100), (100, 105, 98, 104), (110, 121, 109, 120),
              (125, 141, 124, 140), (142, 145, 141, 144), (144, 146, 143, 145)])


def test_leveraged_short_into_a_rally_is_liquidated_at_the_next_open():
    # short 150 at 100 on 10,000 (gross 15,000 <= 2 x 10,000): cash 25,000;
    # equity = 25,000 - 150 c, requirement = 0.25 x 150 c: a call when c > 133.33
    # bar 2 close 120: equity 7,000 >= 4,500; bar 3 close 140: 4,000 < 5,250 -> margin call;
    # the forced buy fills at bar 4's open 142: cash 25,000 - 21,300 = 3,700
    r, s = run({0: lambda c: c.sell(size=150, sl=150)}, {"X": RALLY}, max_leverage=2.0,
               maintenance_margin=0.25)
    assert fills(r) == [(1, "X", "sell", 150.0, 100.0), (4, "X", "buy", 150.0, 142.0)]
    o = r.orders
    assert list(o["status"]) == ["filled", "cancelled", "filled"]
    assert list(o["reject_reason"]) == ["", "liquidation", "liquidation"]  # the stop-loss too
    liq = r.orders_rec[2]
    assert liq["flags"] & T.F_LIQUIDATION and liq["flags"] & T.F_REDUCE_ONLY
    assert liq["ts"] == T0 + 3 * DAY  # sent at the close that failed, not before
    eq = r.equity["equity"].to_numpy()
    np.testing.assert_allclose(eq, [10_000, 9_400, 7_000, 4_000, 3_700, 3_700])
    assert list(r.fills["liquidation"]) == [False, True]
    # the strategy saw the call at bar 3's close (status new, reason liquidation), then the fill
    seen = [(int((u["update_ts"] - T0) // DAY), int(u["order_id"]), T.STATUS_NAMES[u["status"]],
             T.REJECT_NAMES[u["reject_reason"]]) for u in s.updates]
    assert (3, 2, "new", "liquidation") in seen and (3, 1, "cancelled", "liquidation") in seen
    assert (4, 2, "filled", "liquidation") in seen
    st = r.stats
    assert (st["margin_calls"], st["liquidations"], st["liquidation_fills"]) == (1, 1, 1)
    assert st["account_blown"] is None
    assert r.trades["pnl"].iloc[0] == pytest.approx(150 * (100 - 142))


def test_without_maintenance_margin_the_same_short_is_kept():
    r, _ = run({0: lambda c: c.sell(size=150)}, {"X": RALLY}, max_leverage=2.0)
    assert fills(r) == [(1, "X", "sell", 150.0, 100.0)]
    assert "margin_calls" not in r.stats and r.equity["equity"].iloc[-1] == 25_000 - 150 * 145


# a leveraged long gapping down: closes 100, 100, 68; bar 3 opens lower still
GAP = bars([(100, 101, 99, 100), (100, 102, 99, 100), (70, 71, 66, 68), (60, 62, 58, 61),
            (61, 63, 60, 62)])


def test_leveraged_long_gapping_through_the_maintenance_level():
    # buy 200 at 100 on 10,000 at leverage 2: cash -10,000; equity = 200 c - 10,000,
    # requirement = 0.3 x 200 c: a call when c < 71.43. Bar 2 gaps to 70 and closes at 68
    # (equity 3,600 < 4,080); the forced sale fills at bar 3's open 60, not at the level
    r, _ = run({0: lambda c: c.buy(size=200)}, {"X": GAP}, max_leverage=2.0,
               maintenance_margin=0.3)
    assert fills(r) == [(1, "X", "buy", 200.0, 100.0), (3, "X", "sell", 200.0, 60.0)]
    np.testing.assert_allclose(r.equity["equity"], [10_000, 10_000, 3_600, 2_000, 2_000])
    assert r.equity["cash"].iloc[-1] == pytest.approx(-10_000 + 12_000)
    assert r.stats["margin_calls"] == 1


def test_a_blown_account_is_liquidated_and_stops_trading():
    # the same long, a deeper gap: close 45 -> equity 9,000 - 10,000 < 0: blown. The forced
    # sale at bar 3's open 40 leaves cash -2,000 (the loss beyond the account is kept, not
    # floored); orders sent afterwards are rejected (account_blown)
    deep = bars([(100, 101, 99, 100), (100, 102, 99, 100), (50, 51, 44, 45), (40, 42, 38, 41),
                 (41, 43, 40, 42), (42, 43, 41, 42)])
    script = {0: lambda c: c.buy(size=200), 1: lambda c: c.buy(size=1, limit=10),
              3: lambda c: c.buy(size=1), 4: lambda c: c.order_target_percent(None, 0.5)}
    r, s = run(script, {"X": deep}, max_leverage=2.0)
    assert fills(r) == [(1, "X", "buy", 200.0, 100.0), (3, "X", "sell", 200.0, 40.0)]
    o = r.orders
    assert list(o["reject_reason"]) == ["", "account_blown", "liquidation", "account_blown",
                                        "account_blown"]
    assert list(o["status"]) == ["filled", "cancelled", "filled", "rejected", "rejected"]
    np.testing.assert_allclose(r.equity["equity"], [10_000, 10_000, -1_000, -2_000, -2_000,
                                                    -2_000])
    assert r.stats["account_blown"].startswith(
        str(np.datetime64(int(T0 + 2 * DAY), "ns"))[:10])
    assert any(u["reject_reason"] == T.R_ACCOUNT_BLOWN and u["status"] == T.REJECTED
               for u in s.updates)


def test_multi_asset_margin_call_on_shared_cash_closes_every_position():
    # long A 100 and short B 100 at 100 on 10,000 (gross 20,000 = 2 x equity); cash stays
    # 10,000. equity = 10,000 + 100 a - 100 b; requirement = 0.2 x 100 a + 0.3 x 100 b.
    # closes (a, b): (90, 110) 8,000 vs 5,100; (80, 120) 6,000 vs 5,200; (75, 128) 4,700 vs
    # 5,340 -> call at bar 4: both close at bar 5's opens (A 74, B 130): cash 4,400. C's resting
    # order (no position in C) keeps working; A's resting limit is cancelled.
    a = bars([(100, 100, 100, 100), (100, 101, 99, 100), (95, 96, 89, 90), (85, 86, 79, 80),
              (78, 79, 74, 75), (74, 75, 72, 73), (73, 74, 72, 73)])
    b = bars([(100, 100, 100, 100), (100, 101, 99, 100), (105, 111, 104, 110),
              (115, 121, 114, 120), (125, 129, 124, 128), (130, 131, 129, 130),
              (130, 131, 129, 130)])
    c = bars([(50, 50, 50, 50)] * 7)
    script = {0: lambda x: (x.buy("A", size=100), x.sell("B", size=100)),
              1: lambda x: (x.buy("A", size=10, limit=50), x.buy("C", size=1, limit=10))}
    r, _ = run(script, {"A": a, "B": b, "C": c}, max_leverage=2.0,
               maintenance_margin={"A": 0.2, "B": 0.3})
    assert fills(r) == [(1, "A", "buy", 100.0, 100.0), (1, "B", "sell", 100.0, 100.0),
                        (5, "A", "sell", 100.0, 74.0), (5, "B", "buy", 100.0, 130.0)]
    o = r.orders.set_index("order_id")
    assert (o.loc[2, "status"], o.loc[2, "reject_reason"]) == ("cancelled", "liquidation")
    assert o.loc[3, "status"] == "working"
    assert list(o.loc[[4, 5], "symbol"]) == ["A", "B"]
    assert (o.loc[[4, 5], "reject_reason"] == "liquidation").all()
    np.testing.assert_allclose(r.equity["equity"],
                               [10_000, 10_000, 8_000, 6_000, 4_700, 4_400, 4_400])
    assert r.stats["margin_calls"] == 1 and r.stats["liquidations"] == 2


def test_after_a_margin_call_the_strategy_trades_again():
    script = {0: lambda c: c.sell(size=150), 4: lambda c: c.buy(size=10)}
    r, _ = run(script, {"X": RALLY}, max_leverage=2.0, maintenance_margin=0.25)
    assert fills(r)[-1] == (5, "X", "buy", 10.0, 144.0)


def test_liquidation_under_a_volume_cap_takes_several_bars():
    # cap 10% of 1,000 = 100 units a bar: the forced buy of 150 fills 100 at bar 4, 50 at bar 5
    thin = RALLY.copy()
    thin["volume"] = 1_000.0
    r, _ = run({0: lambda c: c.sell(size=100), 1: lambda c: c.sell(size=50)}, {"X": thin},
               max_leverage=2.0, maintenance_margin=0.25, volume_cap=0.1)
    assert fills(r) == [(1, "X", "sell", 100.0, 100.0), (2, "X", "sell", 50.0, 110.0),
                        (4, "X", "buy", 100.0, 142.0), (5, "X", "buy", 50.0, 144.0)]
    assert r.stats["margin_calls"] == 1 and r.orders["status"].iloc[-1] == "filled"


@pytest.mark.parametrize("value, lev", [(0.5, 2.0), (1.0, 1.0), (-0.1, 1.0), (0.2, 5.0)])
def test_maintenance_margin_must_be_below_the_initial_margin(value, lev):
    with pytest.raises(ConfigError, match="maintenance_margin"):
        engine.run(market={"X": RALLY}, strategy=Scripted({}), maintenance_margin=value,
                   max_leverage=lev)
    with pytest.raises(ConfigError, match="maintenance_margin.Z"):
        engine.run(market={"X": RALLY}, strategy=Scripted({}), maintenance_margin={"Z": 0.1})


def test_default_config_is_unchanged_by_the_margin_model():
    from engine.config import resolve_config

    cfg = resolve_config(None)
    assert cfg.maintenance_margin == 0.0 and "maintenance_margin" not in cfg.to_toml()
    assert "maintenance_margin = 0.3" in resolve_config(None, maintenance_margin=0.3).to_toml()


# --- the same scenario on every path --------------------------------------------------------

class ShortRally(Strategy):
    name = "short_rally"

    def on_bar(self, ctx):
        if ctx.i == 0:
            ctx.order_target_size(None, -150)

    def targets(self, data):
        t = np.full(len(data["close"]), np.nan)
        t[0] = -150.0
        return Targets(t, "size")


@pytest.mark.parametrize("fill_at", ["next_open", "signal_close"])
def test_liquidation_is_the_same_on_the_python_and_compiled_paths(fill_at):
    runs = [engine.run(market={"X": RALLY}, strategy=ShortRally, cash=10_000.0,
                       max_leverage=2.0, maintenance_margin=0.25, fill_at=fill_at, mode=mode,
                       commission=0.001, borrow_rate=0.1) for mode in ("python", "compiled")]
    a, b = runs
    assert a.stats["margin_calls"] == 1 and a.fills["liquidation"].iloc[-1]
    for name in ("fills_rec", "equity_rec", "trades_rec", "orders_rec"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name


from numba import njit  # noqa: E402


@njit(cache=True)
def _short_once_nb(i, mkt, pos, cash, state, out):
    if i == 0:
        out[0] = -150.0


class ShortRallyStep(Strategy):
    name = "short_rally_step"
    step_kind = "size"

    def step_function(self):
        return _short_once_nb, np.zeros(1)


def test_liquidation_is_the_same_on_the_step_function_path():
    kw = dict(market={"X": RALLY}, cash=10_000.0, max_leverage=2.0, maintenance_margin=0.25,
              commission=0.001)
    a = engine.run(strategy=ShortRally, mode="python", **kw)
    b = engine.run(strategy=ShortRallyStep, mode="compiled", **kw)
    assert b.stats["margin_calls"] == 1
    for name in ("fills_rec", "equity_rec", "trades_rec", "orders_rec"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name


def test_the_strategy_cannot_cancel_or_replace_a_liquidation():
    out = {}

    def at3(c):
        live = c.open_orders()
        out["ids"] = list(live["order_id"])
        out["cancel"] = [c.cancel(int(k)) for k in live["order_id"]]
        out["replace"] = [c.replace(int(k), size=1) for k in live["order_id"]]

    r, _ = run({0: lambda c: c.sell(size=150), 3: at3}, {"X": RALLY}, max_leverage=2.0,
               maintenance_margin=0.25)
    assert out == {"ids": [1], "cancel": [False], "replace": [False]}
    assert fills(r)[-1] == (4, "X", "buy", 150.0, 142.0)
