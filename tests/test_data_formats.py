"""Format detection and the tick-reader adapters: every shipped sample is recognised, tick
files import into the catalog exactly as their readers return them, and validate cleanly."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from data.catalog import Catalog
from data.errors import DataError
from data.readers.dispatch import detect_format, formats, guess_kind, load_source
from data.validate import validate_file

DETECT = {
    "equities_daily/GOOG_2004-2013_backtesting.csv": ("bars", "bar"),
    "cross_section/skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz": ("wide", "bar"),
    "cross_section/skfolio_sp500_index_1990-2022.csv.gz": ("bars", "bar"),
    "crypto/Bitstamp_BTCUSD_d_2014-2022.csv": ("bars", "bar"),
    "intraday/2006-min-005.txt": ("bars", "bar"),
    "crypto/binance_futures_BTCUSDT_depth_update_2022-11-01.csv": ("table", "depth"),
    "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv": ("tardis", None),
    "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz": ("binance", None),
    "fx/truefx_USDJPY_ticks_2013-01.csv": ("truefx", "quote"),
    "lob/AAPL_2012-06-21_first999_message_10.csv": ("lobster", "mbo"),
}


@pytest.mark.parametrize(
    "name, expected", DETECT.items(), ids=[k.split("/")[1][:30] for k in DETECT]
)
def test_every_sample_layout_is_detected(samples, name, expected):
    assert detect_format(samples / name) == expected


def test_lobster_orderbook_alone_points_to_the_message_file(samples):
    with pytest.raises(DataError, match="orderbook file holds book states.*message file"):
        detect_format(samples / "lob/AAPL_2012-06-21_first999_orderbook_10.csv")


def test_guess_kind_from_columns():
    assert guess_kind(["Date", "Open", "High", "Low", "Close"]) == "bar"
    assert guess_kind(["time", "bid", "ask"]) == "quote"
    assert guess_kind(["ts", "price", "qty"]) == "trade"
    assert guess_kind(["ts", "side", "price", "size", "is_snapshot"]) == "depth"
    assert guess_kind(["ts", "type", "order_id", "price", "size", "side"]) == "mbo"
    assert guess_kind(["a", "b"]) is None


TICKS = [
    ("lob/AAPL_2012-06-21_first999_message_10.csv", {"mbo": 999}, "AAPL"),
    ("crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv", {"trade": 9999}, "BTCUSDT"),
    ("fx/truefx_USDJPY_ticks_2013-01.csv", {"quote": 1000}, None),
    (
        "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz",
        {"trade": 974, "quote": 7113},
        "BTCUSDT",
    ),  # fmt: skip
]


@pytest.mark.parametrize(
    "name, counts, symbol", TICKS, ids=[t[0].split("/")[1][:25] for t in TICKS]
)
def test_tick_files_import_exactly(tmp_path, samples, name, counts, symbol):
    if not {"lobster", "tardis", "binance", "truefx"} <= set(formats()):
        pytest.skip("tick readers not present")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datasets = {d.kind: d for d in load_source(samples / name)}
        results = Catalog(tmp_path).import_file(samples / name)
    for kind, n in counts.items():
        assert len(datasets[kind].data) == n
        if symbol:
            assert datasets[kind].symbol == symbol
    cat = Catalog(tmp_path)
    for r in results:
        stored = cat.load(r.kind, r.symbol)
        assert stored.tobytes() == datasets[r.kind].data.tobytes()
    report = validate_file(samples / name)
    assert report.ok, [str(i) for i in report.errors]


def test_binance_capture_gives_a_synchronised_depth_stream(samples):
    if "binance" not in formats():
        pytest.skip("binance reader not present")
    name = "crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
    depth = next(d for d in load_source(samples / name) if d.kind == "depth").data
    assert len(depth) > 70_000 and np.all(np.diff(depth["ts"]) >= 0)
    only = load_source(samples / name, kind="trade")
    assert [d.kind for d in only] == ["trade"]
