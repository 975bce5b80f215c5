"""Regression tests for what the fuzzers found (tests/test_fuzz_*.py); each is named after
what it reproduces. The input files are the minimal ones the fuzzer shrank to (or written
out from its printed operators with tests/fuzz_mutate.py)."""

from __future__ import annotations

import pytest

from data.errors import DataError
from data.readers import read_bars

REPO_SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "samples"


def test_bom_only_bar_file_is_an_empty_file_error_not_an_index_error(tmp_path):
    for raw in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xef\xbb\xbf\n\n"):
        f = tmp_path / "GOOG.csv"
        f.write_bytes(raw)
        with pytest.raises(DataError, match="empty") as exc:
            read_bars(f)
        assert exc.value.file == str(f)


def test_cell_with_an_embedded_comma_in_a_table_csv_names_the_line(tmp_path):
    from data.readers import iter_table, read_table

    f = tmp_path / "q.csv"
    f.write_text("timestamp,bid,ask\n2013-01-01 22:00:00+00:00,86.6,86.7\n1,5,86.655,86.728\n")
    for read in (lambda: read_table(f, kind="quote"),
                 lambda: list(iter_table(f, kind="quote", chunk_rows=1))):
        with pytest.raises(DataError, match="fields") as exc:
            read()
        assert exc.value.file == str(f) and exc.value.row == 3


def test_damaged_utf16_file_is_a_data_error_naming_the_line(tmp_path):
    from data.readers import read_table

    text = "timestamp,bid,ask\n2013-01-01 22:00:00+00:00,86.6,86.7\n2013-01-01 22:00:01+00:00,86.6,86.7\n"
    raw = text.encode("utf-16")
    f = tmp_path / "q.csv"
    f.write_bytes(raw[:60] + b"\x00\xd8" + raw[60:])  # a lone surrogate inside line 2
    with pytest.raises(DataError, match="not valid UTF-16") as exc:
        read_table(f, kind="quote")
    assert exc.value.row == 2


def test_lobster_orderbook_with_a_header_and_no_rows_is_a_data_error(tmp_path):
    from data.readers import read_lobster_orderbook

    f = tmp_path / "X_2012-06-21_0_1_orderbook_1.csv"
    f.write_bytes(b"AskPrice1,AskSize1,BidPrice1,BidSize1")
    with pytest.raises(DataError, match="no data rows") as exc:
        read_lobster_orderbook(f)
    assert exc.value.file == str(f)


def test_hourly_bars_read_with_label_session_are_refused_not_merged(samples):
    with pytest.raises(DataError, match="same close time") as exc:
        read_bars(samples / "fx" / "EURUSD_H1_2017-2018_backtesting.csv", label="session")
    assert exc.value.row == 3 and "label" in exc.value.fix


def test_bar_close_time_beyond_int64_is_refused(tmp_path):
    f = tmp_path / "X.csv"
    f.write_text(",Open,High,Low,Close,Volume\n1970-01-01 00:00:00,1,1,1,1,0\n"
                 "2262-04-11 00:00:00,1,1,1,1,0\n")
    with pytest.raises(DataError, match="beyond the year 2262"):
        read_bars(f, label="open")


def test_utf16_without_bom_is_refused_not_a_polars_panic(tmp_path):
    """A NUL byte in a column name made polars panic (pyo3 PanicException, a BaseException)."""
    from data.readers import read_wide_closes

    f = tmp_path / "wide.csv"
    f.write_bytes("Date,KO,PEP\n2020-01-02,1,2\n".encode("utf-16-be"))
    with pytest.raises(DataError, match="NUL") as exc:
        read_wide_closes(f)
    assert exc.value.row == 1 and "utf-16" in exc.value.fix


def test_bare_cr_line_ends_are_refused_not_read_as_one_line(tmp_path):
    from data.readers import iter_table, read_lobster_messages

    f = tmp_path / "X_2012-06-21_0_1_message_1.csv"
    f.write_bytes(b"34200.5,1,1,10,1000000,1\r34200.6,1,2,10,1000000,1\r")
    with pytest.raises(DataError, match="carriage return") as exc:
        read_lobster_messages(f)
    assert exc.value.row == 1
    mapping = {"0": "ts", "1": "event", "2": "order_id", "3": "size", "4": "price", "5": "side"}
    with pytest.raises(DataError, match="carriage return"):
        list(iter_table(f, kind="mbo", mapping=mapping, ts_format="s"))


def test_dates_beyond_2262_are_refused_not_wrapped_into_the_past(tmp_path):
    """polars' ns parser turns 9999-12-31 into 1816-03-29 without a word."""
    from data.timeutil import parse_timestamps

    with pytest.raises(DataError, match="outside 1677-09-22..2262-04-11") as exc:
        parse_timestamps(["2020-01-02", "9999-12-31"], file="f.csv", column="Date", first_line=2)
    assert (exc.value.row, exc.value.value) == (3, "9999-12-31")
    with pytest.raises(DataError, match="outside"):
        parse_timestamps(["2262-04-12 23:47:16.854775808"])
    f = tmp_path / "GOOG.csv"
    f.write_text("Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,1,0\n9999-12-31,1,1,1,1,0\n")
    with pytest.raises(DataError, match="outside"):
        read_bars(f)


def test_timestamps_mixing_offsets_and_naive_stamps_name_the_row():
    from data.timeutil import parse_timestamps

    with pytest.raises(DataError, match="with and without a UTC offset") as exc:
        parse_timestamps(["2013-01-01 22:00:00+00:00", "2013-01-01 22:00:01"], fmt="iso",
                         first_line=2)
    assert exc.value.row == 3


def test_epoch_stamps_that_overflow_int64_ns_are_refused_not_wrapped():
    from data.timeutil import parse_timestamps

    for values, fmt in (([1, 2**62], "s"), ([1.5, float("inf")], "s"), (["1", "1e400"], "ms"),
                        (["1.5", "99999999999999999999"], "s"), (["9999999999.5"], "s")):
        with pytest.raises(DataError, match="epoch"):
            parse_timestamps(values, fmt=fmt)


def test_tardis_snapshot_header_missing_an_amount_column(tmp_path):
    from data.readers import read_tardis

    f = tmp_path / "tardis_x_book_snapshot_2_2020-09-01.csv"
    f.write_text("exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,"
                 "bids[0].price\nx,Y,1,2,101,1,100\n")
    with pytest.raises(DataError, match="price and amount") as exc:
        read_tardis(f)
    assert exc.value.column == "bids[0]"


def test_binance_message_with_a_non_string_symbol(tmp_path):
    from data.readers import read_binance_stream

    f = tmp_path / "cap.txt"
    f.write_text('1721347021080832061 {"stream":"x@bookTicker","data":{"e":"bookTicker",'
                 '"u":1,"s":"BTCUSDT","b":"1.0","B":"1","a":"2.0","A":"1","T":1,"E":1}}\n'
                 '1721347021080832062 {"stream":"x@bookTicker","data":{"e":"bookTicker",'
                 '"u":2,"s":1.5,"b":"1.0","B":"1","a":"2.0","A":"1","T":1,"E":1}}\n')
    with pytest.raises(DataError, match="malformed bookTicker") as exc:
        read_binance_stream(f)
    assert exc.value.row == 2


def test_streaming_a_truncated_gzip_headerless_file_is_a_data_error(tmp_path, samples):
    """pl.scan_csv(...).collect_schema() raised a bare OSError on a cut gzip stream."""
    import gzip

    from data.readers import iter_table

    text = (samples / "lob" / "AAPL_2012-06-21_first999_message_10.csv").read_bytes()[:4000]
    f = tmp_path / "AAPL_2012-06-21_first999_message_10.csv"
    f.write_bytes(gzip.compress(text)[:300])
    mapping = {"0": "ts", "1": "event", "2": "order_id", "3": "size", "4": "price", "5": "side"}
    with pytest.raises(DataError, match="gzip") as exc:
        list(iter_table(f, kind="mbo", mapping=mapping, ts_format="s", price_divisor=1e4))
    assert exc.value.file == str(f)


def test_bar_file_whose_first_line_is_longer_than_the_sniff_window(tmp_path):
    f = tmp_path / "GOOG.csv"
    f.write_bytes(b"\n" + b"," * 5000 + b"x" * 100_000 + b"\n")
    with pytest.raises(DataError, match="no complete line") as exc:
        read_bars(f)
    assert exc.value.file == str(f)


def test_long_bars_row_without_a_ticker_names_the_row(tmp_path):
    from data.readers import read_long_bars

    f = tmp_path / "long.csv"
    f.write_text("Ticker,Date,Open,High,Low,Close,Volume\nKO,2020-01-02,1,1,1,1,0\n"
                 ",2020-01-03,1,1,1,1,0\n")
    with pytest.raises(DataError, match="no symbol") as exc:
        read_long_bars(f)
    assert (exc.value.row, exc.value.column) == (3, "Ticker")


def test_tardis_trade_id_beyond_int64_is_not_a_numeric_id(tmp_path):
    from data.readers import read_tardis

    f = tmp_path / "tardis_x_trades.csv"
    f.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                 f"x,Y,1,2,7,buy,9682,0.1\nx,Y,1,2,{2**64},buy,9682,0.1\n")
    t = read_tardis(f)
    assert t.ids is None and len(t) == 2


def test_l2_price_beyond_int64_ticks_is_refused_not_wrapped():
    """1e300 / 0.01 used to wrap into garbage ticks and leave the levels unsorted."""
    import numpy as np

    from data.schema import DEPTH, SELL
    from engine.book import L2Book

    rows = np.zeros(2, DEPTH)
    rows["side"], rows["price"], rows["size"] = SELL, [100.0, 1e300], [1.0, 2.0]
    with pytest.raises(DataError, match="too large for the tick size") as exc:
        L2Book(0.01).apply(rows)
    assert (exc.value.row, exc.value.column) == (1, "price")


def test_detecting_a_truncated_gzip_long_bar_file_is_a_data_error(tmp_path, samples):
    """Format detection read the ticker column with polars and let its OSError out."""
    import gzip

    from data.readers.dispatch import load_source

    text = (samples / "crypto" / "Bitstamp_BTCUSD_d_2014-2022.csv").read_bytes()[:3000]
    f = tmp_path / "Bitstamp_BTCUSD_d_2014-2022.csv"
    f.write_bytes(gzip.compress(text)[:500])
    with pytest.raises(DataError, match="gzip") as exc:
        load_source(f)
    assert exc.value.file == str(f)


def test_orphans_of_a_failed_sweep_go_with_the_next_import_even_a_skipped_one(tmp_path, samples):
    """An error while deleting replaced partitions (after the commit) left them on disk for
    good when the next import was a repeat (skipped before any sweep)."""
    import pathlib

    import numpy as np

    from data.catalog import Catalog

    bars = read_bars(samples / "equities_daily" / "GOOG_2004-2013_backtesting.csv").data
    cat = Catalog(tmp_path)
    cat.write("bar", "GOOG", bars)
    new = bars.copy()
    new["volume"] *= 2
    real_unlink = pathlib.Path.unlink

    def failing_unlink(self, *a, **k):
        if self.suffix == ".parquet":
            raise OSError("simulated")
        return real_unlink(self, *a, **k)

    pathlib.Path.unlink = failing_unlink
    try:
        cat.write("bar", "GOOG", new)
    finally:
        pathlib.Path.unlink = real_unlink
    folder = tmp_path / "bar" / "GOOG"

    def on_disk():
        return {str(p.relative_to(folder)) for p in folder.rglob("*.parquet")}

    assert len(on_disk()) == 2 * len(cat.manifest("bar", "GOOG")["partitions"])  # old linger
    assert cat.write("bar", "GOOG", new).skipped
    assert on_disk() == {p["file"] for p in cat.manifest("bar", "GOOG")["partitions"].values()}
    assert np.array_equal(cat.load("bar", "GOOG"), new)


def test_a_damaged_parquet_file_that_makes_polars_panic_is_a_data_error(tmp_path):
    """polars panicked (PanicException, a BaseException) reading this Parquet file: the GOOG
    seed's bars with an extra text column, its bytes run through the fuzzer's
    change_separator operator (seed 44; from a path, not from memory)."""
    import io

    import polars as pl
    from fuzz_mutate import apply
    from fuzz_seeds import table_seeds

    from data.readers import iter_table, read_table

    name, data, kind, opts = table_seeds()[5]
    seed = tmp_path / name
    seed.write_bytes(data)
    frame = read_table(seed, kind=kind, **opts)
    df = pl.DataFrame({n: frame[n] for n in frame.dtype.names}).with_columns(
        pl.lit("é").alias("extra"))
    buf = io.BytesIO()
    df.write_parquet(buf)
    f = tmp_path / "GOOG.parquet"
    f.write_bytes(apply(buf.getvalue(), [("change_separator", 44)]))
    for read in (lambda: read_table(f, kind="bar"), lambda: list(iter_table(f, kind="bar"))):
        with pytest.raises(DataError) as exc:
            read()
        assert exc.value.file == str(f) and exc.value.fix


def test_wide_closes_column_without_a_name_names_the_file(tmp_path):
    """Instrument('') raised a DataError that named neither the file nor the column."""
    from data.readers import read_wide_closes

    f = tmp_path / "wide.csv"
    f.write_text("Date,KO, \n2020-01-02,1,2\n")
    with pytest.raises(DataError, match="no name") as exc:
        read_wide_closes(f)
    assert exc.value.file == str(f) and exc.value.row == 1


def test_catalog_load_does_not_come_back_empty_when_the_manifest_row_count_is_off(tmp_path,
                                                                                   samples):
    """load() sized its buffer from the manifest and returned an EMPTY array when the files
    held more rows than the manifest said (more than one chunk came back)."""
    import json

    from data.catalog import Catalog

    bars = read_bars(samples / "equities_daily" / "GOOG_2004-2013_backtesting.csv").data
    cat = Catalog(tmp_path)
    cat.write("bar", "GOOG", bars)
    path = tmp_path / "bar" / "GOOG" / "_manifest.json"
    man = json.loads(path.read_text())
    for entry in man["partitions"].values():
        entry["rows"] = 1
    path.write_text(json.dumps(man))
    assert cat.load("bar", "GOOG").tobytes() == bars.tobytes()


def test_binance_capture_with_a_negative_trade_price_is_refused(tmp_path):
    """The capture reader returned whatever numbers the JSON held (no validation)."""
    import json

    from data.readers import read_binance_stream

    def line(recv, tid, price):
        msg = {"stream": "x@trade", "data": {"e": "trade", "E": 1, "T": 1, "s": "BTCUSDT",
                                             "t": tid, "p": price, "q": "0.1", "m": True}}
        return f"{recv} {json.dumps(msg)}\n"

    f = tmp_path / "cap.txt"
    f.write_text(line(1721347021080832061, 7, "63943.9") + line(1721347021080832062, 8, "-5"))
    with pytest.raises(DataError, match="not positive") as exc:
        read_binance_stream(f)
    assert exc.value.row == 2 and exc.value.column == "price"
    f.write_text(line(1721347021080832061, 7, 63943.9))  # a number, not Binance's string
    with pytest.raises(DataError, match="decimal string") as exc:
        read_binance_stream(f)
    assert exc.value.row == 1
