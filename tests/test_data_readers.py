"""Every reader on the real sample file it targets: row counts, first/last close times, spot
values checked against the raw text (parsed independently with the csv module)."""

from __future__ import annotations

import csv
import gzip
import warnings

import numpy as np
import pandas as pd
import polars as pl
import pytest

from data.errors import DataError
from data.readers import (
    iter_table,
    read_bars,
    read_bidask_bars,
    read_long_bars,
    read_table,
    read_wide_closes,
)
from data.schema import BUY, DEPTH_SNAPSHOT, SELL
from data.timeutil import ns_to_iso


def _rows(path) -> list[list[str]]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", newline="") as fh:
        return list(csv.reader(fh))


def _ny_close(date: str, hhmm: str = "16:00") -> int:
    return int(pd.Timestamp(f"{date} {hhmm}", tz="America/New_York").tz_convert("UTC").value)


def _utc(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def test_backtesting_py_daily_goog(samples):
    path = samples / "equities_daily/GOOG_2004-2013_backtesting.csv"
    raw = _rows(path)
    b = read_bars(path)
    assert b.symbol == "GOOG" and len(b) == len(raw) - 1 == 2148
    assert b.ts[0] == _ny_close("2004-08-19") and b.ts[-1] == _ny_close("2013-03-01")
    first = [float(x) for x in raw[1][1:]]
    assert list(b.data[0])[1:] == first  # open, high, low, close, volume exactly as written
    assert b.data[-1]["close"] == float(raw[-1][4])
    assert b.instrument.calendar == "session" and b.interval_ns == 86_400 * 10**9
    assert len(b.sha256) == 64 and b.source.endswith("GOOG_2004-2013_backtesting.csv")


def test_yahoo_adj_close_adjusts_ohlc_and_volume(samples):
    path = samples / "pairs/daily-KO.csv"  # Date,Open,High,Low,Close,Volume,Adj Close
    raw = _rows(path)
    plain, adj = read_bars(path), read_bars(path, adjust=True)
    factor = float(raw[1][6]) / float(raw[1][4])
    assert plain.symbol == "KO" and len(plain) == 356
    assert adj.data[0]["open"] == pytest.approx(float(raw[1][1]) * factor, rel=1e-15)
    assert adj.data[0]["close"] == pytest.approx(float(raw[1][6]), rel=1e-15)
    assert adj.data[0]["volume"] == pytest.approx(float(raw[1][5]) / factor, rel=1e-15)
    with pytest.raises(DataError, match="Adj Close"):
        read_bars(samples / "equities_daily/GOOG_2004-2013_backtesting.csv", adjust=True)


def test_us_slash_dates_and_crlf_gzip(samples):
    b = read_bars(samples / "equities_daily/arch_SP500_index_1999-2018.csv.gz")
    assert len(b) == 5031
    assert b.ts[0] == _ny_close("1999-01-04") and b.ts[-1] == _ny_close("2018-12-31")
    assert b.data[0]["close"] == 1228.099976
    gld = read_bars(samples / "pairs/GLD_daily_2004-2007.csv")
    assert len(gld) == 764 and gld.ts[0] == _ny_close("2004-11-18")


def test_e_chan_column_order_is_matched_by_name(samples):
    b = read_bars(samples / "pairs/EWA_daily_2006-2012.csv")  # date,hi,lo,cl,op,vol
    assert len(b) == 1500 and b.symbol == "EWA"
    o, h, lo, c, v = (b.data[0][f] for f in ("open", "high", "low", "close", "volume"))
    assert (o, h, lo, c, v) == (
        16.11,
        16.16,
        16.01,
        16.1,
        3848.0,
    )  # 20060426,16.16,16.01,16.1,16.11
    assert b.ts[0] == _ny_close("2006-04-26") and b.ts[-1] == _ny_close("2012-04-09")


def test_bitstamp_newest_first_banner_and_volume_swap(samples):
    path = samples / "crypto/Bitstamp_BTCUSD_d_2014-2022.csv"
    with pytest.warns(UserWarning, match="1180 rows have the base and quote volume"):
        b = read_bars(path)
    assert b.symbol == "BTCUSD" and len(b) == 2823 and b.instrument.calendar == "24/7"
    # the daily bar dated 2014-11-28 (UTC) closes at the end of that UTC day
    assert b.ts[0] == _utc("2014-11-29") and b.ts[-1] == _utc("2022-08-21")
    assert (b.data[0]["open"], b.data[0]["close"]) == (363.59, 376.28)
    # raw row: ...,Volume BTC=3220878.18,Volume USD=8617.15 (swapped): base volume is 8617.15
    assert b.data[0]["volume"] == 8617.15
    assert b.data[-1]["volume"] == 244.32138276  # a late row, not swapped
    assert np.all(np.diff(b.ts) > 0)


def test_bitstamp_hourly_gzip_open_stamped(samples):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = read_bars(samples / "crypto/Bitstamp_BTCUSD_1h_2018-2022.csv.gz")
    assert len(b) == 37387 and b.interval_ns == 3600 * 10**9
    assert b.ts[0] == _utc("2018-05-15 07:00") and b.ts[-1] == _utc("2022-08-20 01:00")


def test_backtesting_py_hourly_fx_is_open_stamped(samples):
    path = samples / "fx/EURUSD_H1_2017-2018_backtesting.csv"
    b = read_bars(path)
    assert len(b) == 5000 and b.symbol == "EURUSD"
    assert b.ts[0] == _utc("2017-04-19 10:00") and b.ts[-1] == _utc("2018-02-07 16:00")
    assert b.data[0]["close"] == 1.07219
    ny = read_bars(path, tz="America/New_York")  # broker time zone given explicitly
    assert ny.ts[0] == _ny_close("2017-04-19", "10:00")


def test_backtrader_intraday_is_close_stamped_and_tz_aware(samples):
    path = samples / "intraday/2006-min-005.txt"
    b = read_bars(path)
    assert len(b) == 2142 and b.interval_ns == 300 * 10**9
    assert b.ts[0] == _utc("2006-01-02 09:05") and b.ts[-1] == _utc("2006-01-30 17:30")
    cet = read_bars(path, tz="Europe/Berlin")
    assert cet.ts[0] == _utc("2006-01-02 08:05")


def test_backtrader_seven_names_eight_fields_quirk(samples, tmp_path):
    # the header names 7 columns (no Time) while rows carry date,time,...: as in backtrader's
    # 2006-01-02-volume-min-001.txt. Built here from the shipped 5-minute file.
    src = (samples / "intraday/2006-min-005.txt").read_text()
    head, body = src.split("\n", 1)
    quirky = tmp_path / "quirk-min.txt"
    quirky.write_text(head.replace("Date,Time,", "Date,") + "\r\n" + body.replace("\n", "\r\n"))
    a, b = read_bars(samples / "intraday/2006-min-005.txt"), read_bars(quirky)
    assert np.array_equal(a.data, b.data)
    from data.validate import validate_file

    report = validate_file(quirky)
    assert report.ok and report.rows == 2142, [str(i) for i in report.issues]


def test_fxcm_bid_ask_pair(samples):
    bid_p, ask_p = (samples / f"fx/fxcm_GBPUSD_m1_{s}_2012-02.csv.gz" for s in ("bid", "ask"))
    bid = read_bars(bid_p)
    assert bid.symbol == "GBPUSD" and len(bid) == 30117
    assert bid.ts[0] == _utc("2012-02-01 00:01") and bid.ts[-1] == _utc("2012-03-01 00:01")
    assert np.all(bid.data["volume"] == 0)
    with pytest.warns(UserWarning, match="347 of 30117"):
        pair = read_bidask_bars(bid_p, ask_p)
    assert len(pair) == 30117
    assert pair.spread[0] == pytest.approx(1.57585 - 1.57576)
    mid = pair.mid()
    assert mid.data[0]["open"] == (1.57597 + 1.57608) / 2 and mid.symbol == "GBPUSD"
    q = pair.to_quotes()
    assert len(q) == 30117 - 347 and np.all(q["ask"] >= q["bid"])
    assert np.isnan(q["bid_size"]).all() and np.array_equal(q["ts"], q["ts_recv"])
    with pytest.raises(DataError, match="swapped"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            read_bidask_bars(ask_p, bid_p)


def test_wide_adjusted_close_matrix(samples):
    path = samples / "cross_section/skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"
    raw = _rows(path)
    panel = read_wide_closes(path)
    assert panel.symbols == raw[0][1:] and len(panel) == 20
    ko = panel["KO"]
    assert len(ko) == 8313 and ko.ts[0] == _ny_close("1990-01-02")
    j = raw[0].index("KO")
    assert ko.data[0]["close"] == float(raw[1][j]) and ko.data[-1]["close"] == float(raw[-1][j])
    assert ko.data[0]["open"] == ko.data[0]["high"] == ko.data[0]["close"]
    m = panel.matrix("close")
    assert m.shape == (8313, 20) and not np.isnan(m).any()
    assert panel.to_pandas()["PEP"].iloc[-1] == float(raw[-1][raw[0].index("PEP")])


def test_wide_matrix_with_gaps_skips_empty_cells(samples, tmp_path):
    lines = (samples / "pairs/daily-KO.csv").read_text().splitlines()[:6]
    text = "Date,KO,NEW\n" + "\n".join(
        f"{r.split(',')[0]},{r.split(',')[4]},{'' if i < 2 else '10.5'}"
        for i, r in enumerate(lines[1:])
    )
    path = tmp_path / "wide.csv"
    path.write_text(text + "\n")
    panel = read_wide_closes(path)
    assert len(panel["KO"]) == 5 and len(panel["NEW"]) == 3
    assert np.isnan(panel.matrix("close")[:2, 1]).all()


def test_long_ohlcv_file_matches_single_files(samples, tmp_path):
    ko, pep = (samples / f"pairs/daily-{s}.csv" for s in ("KO", "PEP"))
    rows = ["Ticker,Date,Open,High,Low,Close,Volume,Adj Close"]
    for sym, p in (("KO", ko), ("PEP", pep)):
        rows += [f"{sym},{line}" for line in p.read_text().splitlines()[1:]]
    rows.insert(5, "KO,1997-01-08,,,,,,")  # StockNet-style empty row: skipped with a warning
    path = tmp_path / "long.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match="no values"):
        panel = read_long_bars(path, adjust=True)
    assert panel.symbols == ["KO", "PEP"]
    for sym, p in (("KO", ko), ("PEP", pep)):
        assert np.array_equal(panel[sym].data, read_bars(p, adjust=True).data)


def test_close_only_index_file(samples):
    b = read_bars(samples / "cross_section/skfolio_sp500_index_1990-2022.csv.gz")
    assert b.symbol == "SP500" and len(b) == 8313 and b.data[0]["close"] == 359.69


def test_generic_table_tardis_trades(samples):
    path = samples / "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"
    raw = _rows(path)
    t = read_table(path, kind="trade")
    assert len(t) == len(raw) - 1 == 9999
    assert t[0]["ts"] == int(raw[1][2]) * 1000 and t[0]["ts_recv"] == int(raw[1][3]) * 1000
    assert (t[0]["price"], t[0]["size"], t[0]["side"]) == (9682.0, 0.132, BUY)
    assert t[-1]["ts"] == int(raw[-1][2]) * 1000
    sides = {"buy": BUY, "sell": SELL}
    assert np.array_equal(t["side"], [sides[r[5]] for r in raw[1:]])
    assert ns_to_iso(t["ts"][-1]) == "2020-02-22T02:05:47.728Z"


def test_generic_table_mapping_parquet_and_chunks(samples, tmp_path):
    path = samples / "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"
    ref = read_table(path, kind="trade")
    df = pl.read_csv(path).rename({"timestamp": "T", "price": "px", "amount": "qty"})
    pq = tmp_path / "trades.parquet"
    df.write_parquet(pq)
    got = read_table(pq, kind="trade", mapping={"T": "ts", "px": "price", "qty": "size"},
                     ts_format="us")  # fmt: skip
    assert np.array_equal(got, ref)
    chunks = list(iter_table(path, kind="trade", chunk_rows=1000))
    assert [len(c) for c in chunks] == [1000] * 9 + [999]
    assert np.array_equal(np.concatenate(chunks), ref)


def test_generic_table_quotes_and_depth(samples):
    with pytest.warns(UserWarning, match="row 943.*locked"):  # a real locked quote, line 943
        q = read_table(samples / "fx/truefx_USDJPY_ticks_2013-01.csv", kind="quote")
    assert len(q) == 1000 and (q[0]["bid"], q[0]["ask"]) == (86.655, 86.728)
    assert q[0]["ts"] == _utc("2013-01-01 22:00:00.295") and np.isnan(q["bid_size"]).all()
    d = read_table(samples / "crypto/binance_futures_BTCUSDT_depth_snap_2022-11-01.csv",
                   kind="depth", mapping={"qty": "size"})  # fmt: skip
    assert len(d) == 100 and np.all(d["flags"] == DEPTH_SNAPSHOT)
    assert d[0]["ts"] == 1667346579146 * 10**6 and (d[0]["side"], d[0]["price"]) == (BUY, 20377.0)
    upd = read_table(samples / "crypto/binance_futures_BTCUSDT_depth_update_2022-11-01.csv",
                     kind="depth", mapping={"qty": "size"})  # fmt: skip
    assert np.all(upd["flags"] == 0) and (upd["side"] == SELL).sum() == 77
    assert (upd["side"] == BUY).sum() == 23


def test_headerless_file_mapped_by_position(samples):
    path = samples / "lob/AAPL_2012-06-21_first999_message_10.csv"
    m = read_table(path, kind="mbo", ts_format="s", price_divisor=10_000,
                   mapping={"0": "ts", "1": "event", "2": "order_id", "3": "size", "4": "price",
                            "5": "side"})  # fmt: skip
    assert len(m) == 999
    assert m[0]["ts"] == 34200_004241176  # exact decimal seconds, no float rounding
    assert (m[0]["event"], m[0]["order_id"], m[0]["size"], m[0]["price"], m[0]["side"]) == (
        1, 16113575, 18.0, 585.33, BUY)  # fmt: skip


def test_unknown_kind_and_missing_columns_are_named(samples):
    path = samples / "fx/truefx_USDJPY_ticks_2013-01.csv"
    with pytest.raises(DataError, match="missing column"):
        read_table(path, kind="trade")
    with pytest.raises(DataError, match="unknown data kind"):
        read_table(path, kind="ticks")
    with pytest.raises(DataError, match="not in the file"):
        read_table(path, kind="quote", mapping={"Bid": "bid"})


def test_reading_text_from_memory_matches_file(samples, tmp_path):
    # the same bytes with a UTF-8 BOM and CRLF read identically
    path = samples / "pairs/daily-PEP.csv"
    bom = tmp_path / "pep-bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert np.array_equal(read_bars(path).data, read_bars(bom, symbol="PEP").data)
    utf16 = tmp_path / "pep16.csv"
    utf16.write_bytes(path.read_text().encode("utf-16"))
    assert np.array_equal(read_bars(path).data, read_bars(utf16, symbol="PEP").data)


def test_missing_markers_skip_rows_with_a_warning(samples, tmp_path):
    # FRED-style "." for a missing close (arch's VIX file has them), in a close-only file
    lines = gzip.open(samples / "cross_section/skfolio_sp500_index_1990-2022.csv.gz", "rt").read()
    lines = lines.splitlines()
    lines[5] = lines[5].split(",")[0] + ",."
    path = tmp_path / "index.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.warns(
        UserWarning, match=r"1 row\(s\) have a date but no values \(first at row 6\)"
    ):
        b = read_bars(path)
    assert len(b) == 8312
    wide = tmp_path / "wide.csv"
    wide.write_text("\n".join(ln + ",NA" if i else ln + ",X" for i, ln in enumerate(lines)) + "\n")
    with pytest.warns(UserWarning, match="column 'X' has no values"):
        panel = read_wide_closes(wide)
    assert len(panel["SP500"]) == 8312 and "X" not in panel  # an all-missing column is skipped


def test_two_number_columns_are_not_a_1970_bar_series(tmp_path):
    """Regression: any two-column numeric CSV (``a,b / 1,2``) was read as a close-only series
    stamped in 1970 (the first column taken as epoch seconds) and backtested without a word."""
    bad = tmp_path / "ab.csv"
    bad.write_text("a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"no time column.*epoch stamps before 1980") as e:
        read_bars(bad)
    msg = str(e.value)
    assert "column 'a'" in msg and "row 2" in msg and "name the time column" in msg
    # the same numbers under a time-like name, or real epoch stamps under any name, still read
    (tmp_path / "named.csv").write_text("timestamp,close\n1,2\n3,4\n")
    assert len(read_bars(tmp_path / "named.csv").data) == 2
    (tmp_path / "epoch.csv").write_text("a,b\n1700000000,2\n1700000060,4\n")
    assert ns_to_iso(int(read_bars(tmp_path / "epoch.csv").data["ts"][0])).startswith("2023-11-14")
