"""Day-first dates are read day first, also when no day is above 12, and dotted dates too.

Regression: a dd/mm/yyyy file whose days were all <= 12 was read month first (dates in the
wrong months, sorted with an 'out of order' warning), and dd.mm.yyyy dates went to pandas'
per-value parser, which read 01.09.2004 as January 9 and 19.08.2004 as August 19 in the same
file: the GOOG sma_cross run ended at equity -678 instead of 81,812.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.readers import read_bars

GOOG = Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" / (
    "GOOG_2004-2013_backtesting.csv")


def _rewrite(tmp_path: Path, fmt: str, only_small_days: bool) -> tuple[Path, np.ndarray]:
    g = pd.read_csv(GOOG, index_col=0, parse_dates=True)
    keep = g.index.day <= 12 if only_small_days else np.ones(len(g), bool)
    d = g[keep].copy()
    d.index = d.index.strftime(fmt)
    d.index.name = "Date"
    path = tmp_path / "goog_dates.csv"
    d.to_csv(path)
    return path, keep


@pytest.mark.parametrize("fmt", ["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m/%d/%Y", "%m-%d-%Y"])
@pytest.mark.parametrize("only_small_days", [True, False])
def test_day_month_order_is_found(tmp_path, fmt, only_small_days):
    ref = read_bars(GOOG).data
    path, keep = _rewrite(tmp_path, fmt, only_small_days)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'out of order' warning: the dates are right
        got = read_bars(path, symbol="GOOG").data
    assert np.array_equal(got, ref[keep])


def test_undecidable_order_warns(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n"
                    "02/03/2010,10,11,9,10.5,100\n05/06/2010,10,11,9,10.5,100\n")
    with pytest.warns(UserWarning, match=r"day/month order .* ambiguous.*'%m/%d/%Y'.*YYYY-MM-DD"):
        b = read_bars(path, symbol="X")
    assert str(np.datetime64(int(b.data["ts"][0]), "ns"))[:10] == "2010-02-03"
