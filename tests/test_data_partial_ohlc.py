"""A bar file with some OHLC columns under unknown names is an error, not a close-only series.

Regression: ``Date,Opening,High,Low,Last,Volume`` (``Last`` is a known close alias, ``Opening``
is not an open alias) was read as a close-only series: open = high = low = close = Last, the
file's High and Low silently dropped, and the backtest ran on the wrong bars (GOOG sma_cross
final equity 68,258 instead of 81,812).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.errors import DataError
from data.readers import read_bars

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
GOOG = SAMPLES / "equities_daily" / "GOOG_2004-2013_backtesting.csv"


def _renamed(tmp_path: Path, **names: str) -> Path:
    df = pd.read_csv(GOOG, index_col=0).rename(columns=names)
    df.index.name = "Date"
    path = tmp_path / "goog_renamed.csv"
    df.to_csv(path)
    return path


@pytest.mark.parametrize("names, missing", [
    ({"Open": "Opening", "Close": "Last"}, "open"),
    ({"High": "Hoch"}, "high"),
    ({"Low": "Tief", "Open": "Eröffnung"}, "open"),
])
def test_unrecognised_ohlc_column_is_named(tmp_path, names, missing):
    path = _renamed(tmp_path, **names)
    with pytest.raises(DataError) as e:
        read_bars(path)
    msg = str(e.value)
    assert f"column '{missing}'" in msg and "missing OHLC column" in msg
    assert str(path) in msg and "rename the file's columns to Open, High, Low, Close" in msg
    for unknown in names.values():
        if unknown != "Last":
            assert unknown in msg  # the columns the file has are listed


def test_known_aliases_and_close_only_files_still_read(tmp_path):
    ref = read_bars(GOOG)
    got = read_bars(_renamed(tmp_path, Close="Last"), symbol="GOOG")
    assert (got.data == ref.data).all()
    idx = read_bars(SAMPLES / "cross_section" / "skfolio_sp500_index_1990-2022.csv.gz")
    assert len(idx) == 8313 and (idx.data["open"] == idx.data["close"]).all()
    # a close column with a volume column only is a close-only series too
    closes = pd.read_csv(GOOG, index_col=0)[["Close", "Volume"]]
    closes.index.name = "Date"
    closes.to_csv(tmp_path / "close_vol.csv")
    cv = read_bars(tmp_path / "close_vol.csv", symbol="GOOG")
    assert (cv.data["close"] == ref.data["close"]).all()
    assert (cv.data["high"] == ref.data["close"]).all()

