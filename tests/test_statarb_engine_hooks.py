"""Small engine/report hooks this area relies on: multi-symbol files as market data, strategy
numbers in stats.json and the report, and strict JSON for a drawdown that never recovered."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
from statarb_helpers import GOOG_MSFT, TWENTY, pair_market

import engine
from engine.market import load_market
from reports.metrics import to_jsonable
from strategies.base import Strategy


def test_load_market_expands_wide_and_long_files():
    m = load_market(str(TWENTY), start="2020-01-01")
    assert len(m.symbols) == 20 and m.symbols[:3] == ["AAPL", "AMD", "BAC"]
    one = load_market(str(TWENTY), symbol="KO", start="2020-01-01")
    assert one.symbols == ["KO"]
    two = load_market([str(GOOG_MSFT)])
    assert two.symbols == ["GOOG", "MSFT"] and two.n_bars == 607


def test_unrecovered_drawdown_time_is_null_in_json():
    assert to_jsonable(pd.NaT) is None
    assert to_jsonable({"a": pd.NaT, "b": [1.0, math.inf]}) == {"a": None, "b": [1.0, None]}


class Diagnose(Strategy):
    name = "diagnose"

    def on_bar(self, ctx):
        if ctx.i == 0:
            ctx.order_target_percent("KO", 0.5)

    def report_stats(self):
        return {"sharpe": 99.0, "my_pvalue": 0.0123, "my_count": np.int64(3),
                "my_nan": math.nan, "<b>odd key": 1.5}  # fmt: skip


def test_strategy_stats_join_stats_json_and_the_report(tmp_path):
    res = engine.run(market=pair_market("KO/PEP"), strategy=Diagnose(), cash=10_000.0)
    s = res.stats
    assert s["sharpe"] != 99.0  # a strategy never replaces a metric
    assert s["my_pvalue"] == 0.0123 and s["my_count"] == 3 and type(s["my_count"]) is int
    assert s["my_nan"] is None
    res.save(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert saved["my_pvalue"] == 0.0123
    html = (tmp_path / "run" / "report.html").read_text()
    i = html.index("Strategy diagnostics")
    section = html[i : i + 800]
    assert 'my_pvalue</th><td class="">0.0123' in section
    assert "&lt;b&gt;odd key" in section and "<b>odd key" not in html
