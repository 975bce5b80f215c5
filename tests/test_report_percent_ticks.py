"""Percent axes label their ticks with the digits they need.

Regression: the rolling-volatility axis of a GOOG breakout run (volatility 2-10%, ticks every
2.5%) read "2%, 5%, 8%, 10%": a 0-decimal percent formatter rounded 2.5% and 7.5%.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from data.readers import read_bars
from reports.charts import pct_tick, rolling_chart

GOOG = Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" / (
    "GOOG_2004-2013_backtesting.csv")


def test_pct_tick_labels():
    assert [pct_tick(v) for v in (0.0, 0.025, 0.05, 0.075, 0.1, -0.0, -0.125, 1.5)] == [
        "0%", "2.5%", "5%", "7.5%", "10%", "0%", "-12.5%", "150%"]
    assert pct_tick(0.07500000000000001) == "7.5%"


def test_rolling_volatility_ticks_are_not_rounded():
    b = read_bars(GOOG).data
    r = np.diff(np.log(b["close"]))
    window = 126
    vol = np.array([r[max(0, i - window):i].std() for i in range(2, len(r) + 1)]) * np.sqrt(252)
    # GOOG's own rolling volatility, rescaled to 0.5%-10% (where matplotlib ticks every 2.5%)
    vol = 0.005 + 0.095 * (vol - vol.min()) / (vol.max() - vol.min())
    svg = rolling_chart(b["ts"][2:], np.zeros(len(vol)), vol, window, salt="t")
    labels = re.findall(r">([\u2212-]?[\d.]+%)<", svg)
    values = [float(s.replace("\u2212", "-").rstrip("%")) for s in labels]
    assert len(values) >= 3, labels
    steps = np.diff(values)
    assert np.allclose(steps, steps[0]), labels  # evenly spaced: no tick label rounded
    assert "7.5%" in labels, labels
