"""TrueFX quote ticks: the shipped sample (ISO layout), the raw TrueFX layout, errors."""

from __future__ import annotations

import numpy as np
import pytest

from data.errors import DataError
from data.readers.truefx import read_truefx
from data.schema import QUOTE


def test_sample(samples):
    with pytest.warns(UserWarning, match="row 943.*locked"):  # data.validate's warning
        t = read_truefx(samples / "fx" / "truefx_USDJPY_ticks_2013-01.csv")
    q = t.data
    assert t.kind == "quote" and q.dtype == QUOTE and len(q) == 1000 and t.symbol == "USD/JPY"
    assert q["ts"][0] == 1_357_077_600_295_000_000  # 2013-01-01 22:00:00.295 UTC
    assert q["ts"][-1] == 1_357_079_713_494_000_000  # 22:35:13.494
    assert (q["bid"][0], q["ask"][0]) == (86.655, 86.728)
    assert (q["bid"][-1], q["ask"][-1]) == (86.836, 86.854)
    assert (q["ts"] == q["ts_recv"]).all() and np.isnan(q["bid_size"]).all()
    assert (q["bid"] <= q["ask"]).all()


def test_raw_truefx_layout(tmp_path):
    f = tmp_path / "EURUSD-2013-01.csv"
    f.write_text("EUR/USD,20130101 22:00:00.295,1.31184,1.31244\n"
                 "EUR/USD,20130101 22:00:01.000,1.31190,1.31240\n")
    t = read_truefx(f)
    assert t.symbol == "EUR/USD" and len(t) == 2
    assert t.data["ts"][0] == 1_357_077_600_295_000_000 and t.data["ask"][1] == 1.3124


def test_crossed_quotes_warn_and_bad_rows_raise(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("EUR/USD,20130101 22:00:00.295,1.4,1.3\n")
    with pytest.warns(UserWarning, match="bid > ask"):
        read_truefx(f)
    f.write_text("EUR/USD,20130101 22:00:00.295,1.3,1.4\nEUR/USD,2013-01-01T22,1.3,1.4\n")
    with pytest.raises(DataError, match="timestamp") as exc:
        read_truefx(f)
    assert exc.value.row == 2
    f.write_text("timestamp,bid,ask\n2013-01-01 22:00:00+00:00,0,1.4\n")
    with pytest.raises(DataError, match="not positive") as exc:
        read_truefx(f)
    assert (exc.value.row, exc.value.column) == (2, "bid")
