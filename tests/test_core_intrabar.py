"""Finer bars decide a bar that reaches both a bracket's stop-loss and its take-profit.

Without finer data the bar model is pessimistic (the stop-loss fills). With ``intrabar=``
(engine/intrabar.py) the finer bars inside that bar are walked in time order: hand-built
scenarios for each case, and the shipped Bitstamp BTCUSD daily bars with the same exchange's
hourly bars, checked trade by trade against an independent walk over the hourly bars.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import engine
from cli import main
from data.errors import ConfigError
from data.readers import read_bars
from data.schema import BAR
from engine import types as T
from strategies.base import Strategy

REPO = Path(__file__).resolve().parents[1]
DAILY = REPO / "data/samples/crypto/Bitstamp_BTCUSD_d_2014-2022.csv"
HOURLY = REPO / "data/samples/crypto/Bitstamp_BTCUSD_1h_2018-2022.csv.gz"
H = 3_600_000_000_000
D = 24 * H


def _bars(rows, t0, step):
    a = np.zeros(len(rows), BAR)
    a["ts"] = t0 + step * np.arange(1, len(rows) + 1)
    for k, f in enumerate(("open", "high", "low", "close")):
        a[f] = [r[k] for r in rows]
    a["volume"] = 1e9
    return a


class Bracket(Strategy):
    """Buy 1 at the first bar's close, stop-loss and take-profit at fixed prices."""

    name = "bracket_once"
    sl: float = 95.0
    tp: float = 105.0

    def on_bar(self, ctx):
        if ctx.i == 0:
            ctx.buy(size=1, sl=self.sl, tp=self.tp)


# day 0: the signal bar; day 1: the entry at the open (100), then both 95 and 105 are reached
DAYS = _bars([(100, 100, 100, 100), (100, 106, 94, 100), (100, 100, 100, 100)], 0, D)


def _hours(rows):
    """Finer bars of day 1 (hourly closes after day 0's close), padded to 24 hours."""
    rows = list(rows) + [(100, 100, 100, 100)] * (24 - len(rows))
    return _bars(rows, D, H)


def _exit(res):
    """(reason the bracket's position closed: 'tp' / 'sl', exit price)."""
    o = res.orders_rec
    filled = o[(o["parent_id"] >= 0) & (o["status"] == T.FILLED)]
    assert len(filled) == 1
    kind = "sl" if filled["flags"][0] & T.F_STOP_LOSS else "tp"
    return kind, float(filled["avg_fill_price"][0])


def _run(intrabar=None, **kw):
    return engine.run(market={"X": DAYS}, strategy=Bracket(**kw), intrabar=intrabar,
                      cash=1_000.0)


def test_without_finer_bars_the_stop_loss_fills():
    assert _exit(_run()) == ("sl", 95.0)


def test_finer_bars_reaching_the_take_profit_first_fill_it():
    hours = _hours([(100, 103, 99, 102), (102, 106, 101, 104), (104, 104, 94, 95)])
    assert _exit(_run(hours)) == ("tp", 105.0)


def test_finer_bars_reaching_the_stop_loss_first_fill_it():
    hours = _hours([(100, 101, 94, 96), (96, 106, 96, 104)])
    assert _exit(_run(hours)) == ("sl", 95.0)


def test_one_finer_bar_reaching_both_is_pessimistic_again():
    hours = _hours([(100, 101, 99, 100), (100, 106, 94, 100)])
    assert _exit(_run(hours)) == ("sl", 95.0)


def test_a_gap_between_finer_bars_fills_at_the_finer_open():
    # the take-profit is gapped through at the third hour's open (107 > 105): the better price
    hours = _hours([(100, 102, 99, 101), (101, 104, 100, 104), (107, 108, 104, 106),
                    (106, 106, 94, 95)])
    assert _exit(_run(hours, tp=105.0)) == ("tp", 107.0)


def test_finer_bars_that_reach_neither_keep_the_coarse_rule():
    hours = _hours([(100, 101, 99, 100)])  # inconsistent with the day's range: no decision
    assert _exit(_run(hours)) == ("sl", 95.0)


def test_intrabar_errors_name_the_argument():
    with pytest.raises(ConfigError, match="not in the run") as e:
        engine.run(market={"X": DAYS}, strategy=Bracket(), intrabar={"Y": _hours([])})
    assert e.value.argument == "intrabar"
    two = {"A": DAYS, "B": DAYS}
    with pytest.raises(ConfigError, match="must name them"):
        engine.run(market=two, strategy=Bracket(), intrabar=_hours([]))
    with pytest.raises(ConfigError, match="bar runs"):
        engine.run(market=str(REPO / "data/samples/lob/AMZN_2012-06-21_first1000_message_5.csv.gz"),
                   strategy="ofi_taker", intrabar=_hours([]))


class WeeklyBracket(Strategy):
    """Every Monday's close (when flat): buy 1 BTC with a stop-loss and a take-profit at
    -+``band`` of that close; brackets both sides of which are hit within a day are common."""

    name = "weekly_bracket"
    band: float = 0.04

    def on_bar(self, ctx):
        t = np.datetime64(int(ctx.now), "ns")
        weekday = (t.astype("datetime64[D]").astype(np.int64) - 4) % 7  # 0 = Monday
        if weekday == 0 and ctx.position() == 0 and len(ctx.open_orders()) == 0:
            c = ctx.close()[-1]
            ctx.buy(size=1, sl=c * (1 - self.band), tp=c * (1 + self.band))


def _independent_exits(res, hourly):
    """Each bracket's exit from the hourly bars alone: walk the hours after the entry fill's
    bar opened; the first hour reaching the stop-loss or the take-profit decides (both in
    one hour: the stop-loss; a gap: the hour's open). Returns {entry order id: (kind, px)}."""
    o = res.orders_rec
    fills = res.fills_rec
    out = {}
    for e in o[(o["parent_id"] < 0) & (o["status"] == T.FILLED)]:
        kids = o[o["parent_id"] == e["order_id"]]
        sl = float(kids["stop_price"][(kids["flags"] & T.F_STOP_LOSS) != 0][0])
        tp = float(kids["limit_price"][(kids["flags"] & T.F_STOP_LOSS) == 0][0])
        t_fill = int(fills["ts"][fills["order_id"] == e["order_id"]][0])  # the entry bar's close
        start = np.searchsorted(hourly["ts"], t_fill - D, side="right")  # its first hour
        for h in hourly[start:]:
            if h["open"] <= sl:
                out[int(e["order_id"])] = ("sl", float(h["open"]))
                break
            if h["open"] >= tp:
                out[int(e["order_id"])] = ("tp", float(h["open"]))
                break
            if h["low"] <= sl:
                out[int(e["order_id"])] = ("sl", sl)
                break
            if h["high"] >= tp:
                out[int(e["order_id"])] = ("tp", tp)
                break
    return out


def _engine_exits(res):
    o = res.orders_rec
    out = {}
    for c in o[(o["parent_id"] >= 0) & (o["status"] == T.FILLED)]:
        kind = "sl" if c["flags"] & T.F_STOP_LOSS else "tp"
        out[int(c["parent_id"])] = (kind, float(c["avg_fill_price"]))
    return out


@pytest.fixture(scope="module")
def btc():
    with pytest.warns(UserWarning, match="swapped"):
        daily = read_bars(DAILY)
    with pytest.warns(UserWarning, match="swapped"):
        hourly = read_bars(HOURLY)
    return daily, hourly


def test_real_btc_daily_brackets_follow_the_hourly_bars(btc):
    daily, hourly = btc
    kw = dict(market=daily, strategy=WeeklyBracket(), cash=1e6, start="2018-06-01",
              end="2022-08-01")
    coarse = engine.run(**kw)
    fine = engine.run(**kw, intrabar=hourly)
    want = _independent_exits(fine, hourly.data)
    got = _engine_exits(fine)
    assert len(got) >= 100
    # every bracket closed inside the data ends as the hourly walk says, at its price
    closed = {k: v for k, v in got.items() if k in want}
    assert len(closed) == len(got)
    for k, (kind, px) in closed.items():
        assert want[k][0] == kind, k
        assert want[k][1] == pytest.approx(px, rel=1e-12), k
    # the days that reached both levels: pessimistic without the hours, decided with them
    ec = _engine_exits(coarse)
    differ = [k for k in ec if k in got and ec[k][0] != got[k][0]]
    assert differ, "expected days where the hourly bars reverse the pessimistic outcome"
    assert all(ec[k][0] == "sl" and got[k][0] == "tp" for k in differ)
    assert fine.stats["final_equity"] > coarse.stats["final_equity"]


def test_cli_and_config_take_intrabar(btc, tmp_path):
    daily, hourly = btc
    strat = tmp_path / "wb.py"
    strat.write_text(
        "import numpy as np\nfrom strategies.base import Strategy\n\n"
        "class WB(Strategy):\n    name = 'wb_cli'\n\n"
        "    def on_bar(self, ctx):\n"
        "        if ctx.i % 7 == 0 and ctx.position() == 0 and not ctx.open_orders():\n"
        "            c = ctx.close()[-1]\n"
        "            ctx.buy(size=1, sl=c * 0.96, tp=c * 1.04)\n")
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[strategy]\nname = "{strat}:WB"\n[data]\npath = "{DAILY}"\n'
                   f'intrabar = "{HOURLY}"\nstart = "2019-01-01"\nend = "2020-12-31"\n'
                   f'[broker]\ncash = 1000000.0\n')
    r1 = CliRunner().invoke(main, ["run", str(cfg), "--out", str(tmp_path / "a")])
    assert r1.exit_code == 0, r1.output
    r2 = CliRunner().invoke(main, ["run", "--strategy", f"{strat}:WB", "--data", str(DAILY),
                                   "--intrabar", str(HOURLY), "--start", "2019-01-01",
                                   "--end", "2020-12-31", "--cash", "1000000",
                                   "--out", str(tmp_path / "b")])
    assert r2.exit_code == 0, r2.output
    a = (tmp_path / "a" / "fills.csv").read_text()
    assert a == (tmp_path / "b" / "fills.csv").read_text()
    saved = (tmp_path / "a" / "config.toml").read_text()
    assert "intrabar" in saved and "Bitstamp_BTCUSD_1h" in saved
    import hashlib
    import json

    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    (src,) = man["intrabar"]
    assert src["symbol"] == "BTCUSD" and src["rows"] == 37387
    assert src["sha256"] == hashlib.sha256(HOURLY.read_bytes()).hexdigest()


class TwoBrackets(Strategy):
    """One bracket on each of two symbols at the first bar's close."""

    name = "two_brackets"

    def on_bar(self, ctx):
        if ctx.i == 0:
            for sym in ("A", "B"):
                ctx.buy(sym, size=1, sl=95.0, tp=105.0)


def test_finer_bars_per_symbol_decide_only_their_symbol():
    # both symbols reach 94 and 106 on day 1; A's hours reach the take-profit first, B has none
    hours_a = _hours([(100, 106, 99, 104), (104, 104, 94, 95)])
    res = engine.run(market={"A": DAYS, "B": DAYS}, strategy=TwoBrackets(),
                     intrabar={"A": hours_a}, cash=1_000.0)
    o = res.orders_rec
    filled = o[(o["parent_id"] >= 0) & (o["status"] == T.FILLED)]
    by_sym = {int(r["sym"]): ("sl" if r["flags"] & T.F_STOP_LOSS else "tp",
                              float(r["avg_fill_price"])) for r in filled}
    assert by_sym == {0: ("tp", 105.0), 1: ("sl", 95.0)}
    assert [(d["symbol"], d["rows"]) for d in res.market.intrabar] == [("A", 24)]
    # a union clock: B misses day 1, so its bar of day 2 holds the hours of days 1 and 2
    b = DAYS[[0, 2]]
    hours_b = _bars([(100, 100, 100, 100)] * 24 + [(100, 106, 99, 104), (104, 104, 94, 95)]
                    + [(100, 100, 100, 100)] * 22, D, H)
    from engine.intrabar import attach_intrabar
    from engine.market import load_market

    mk = attach_intrabar(load_market({"A": DAYS, "B": b}), {"B": hours_b})
    lo, hi = mk.fine_at[:, 1, 2]
    assert (lo, hi) == (0, 48)  # B's second bar (union bar 2): every hour since B's first bar
    assert mk.fine_at[0, 1, 1] == mk.fine_at[1, 1, 1]  # union bar 1: B has no bar, no hours
    assert (mk.fine_at[:, 0] == 0).all()  # A: no finer bars given
