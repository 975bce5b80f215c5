"""The broken-file corpus: every kind of damage, made from real samples, gives a clear error
(file, row, column, value, fix) or, when recoverable, a warning — from the readers and from
``validate_file``. Array validators are exercised on real data of every kind."""

from __future__ import annotations

import gzip
import shutil
import warnings

import numpy as np
import pytest

from data.errors import DataError
from data.readers import read_bars, read_table
from data.schema import DEPTH_CLEAR, MBO_HALT
from data.validate import check_array, check_sequence, validate_array, validate_file

GOOG = "equities_daily/GOOG_2004-2013_backtesting.csv"
TRADES = "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"
QUOTES = "fx/truefx_USDJPY_ticks_2013-01.csv"
DEPTH = "crypto/binance_futures_BTCUSDT_depth_update_2022-11-01.csv"
MBO_FILE = "lob/AAPL_2012-06-21_first999_message_10.csv"
MBO_MAP = {"0": "ts", "1": "event", "2": "order_id", "3": "size", "4": "price", "5": "side"}


def _lines(samples, name):
    return (samples / name).read_text().splitlines()


def _write(tmp_path, name, lines, end="\n"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + end)
    return path


def _edit(line: str, col: int, value: str) -> str:
    parts = line.split(",")
    parts[col] = value
    return ",".join(parts)


def _only_error(report, code):
    assert not report.ok, report.issues
    issue = next(i for i in report.errors if i.code == code)
    return issue


# ------------------------------------------------------------------------------------------
# bar files: (edit on line 11 = the 10th data row, expected code, column)
# ------------------------------------------------------------------------------------------
BAR_CASES = [
    ("nan", lambda ln: _edit(ln, 4, "nan"), "nan", "close"),
    ("inf", lambda ln: _edit(ln, 2, "inf"), "inf", "high"),
    ("zero_price", lambda ln: _edit(ln, 1, "0"), "nonpositive_price", "open"),
    ("negative_price", lambda ln: _edit(ln, 3, "-1.5"), "nonpositive_price", "low"),
    ("negative_volume", lambda ln: _edit(ln, 5, "-100"), "negative_size", "volume"),
    ("low_above_close", lambda ln: _edit(ln, 3, "999"), "ohlc_inconsistent", "low"),
    ("high_below_open", lambda ln: _edit(ln, 2, "1"), "ohlc_inconsistent", "low"),
]


@pytest.mark.parametrize("name, edit, code, column", BAR_CASES, ids=[c[0] for c in BAR_CASES])
def test_broken_bar_values(samples, tmp_path, name, edit, code, column):
    lines = _lines(samples, GOOG)
    lines[10] = edit(lines[10])
    path = _write(tmp_path, f"GOOG_{name}.csv", lines)
    report = validate_file(path)
    issue = _only_error(report, code)
    assert (issue.row, issue.file) == (11, str(path))
    assert issue.fix
    with pytest.raises(DataError) as err:
        read_bars(path)
    msg = str(err.value)
    assert f"file {path}" in msg and "row 11" in msg and "Fix:" in msg
    if code != "ohlc_inconsistent":
        assert f"column {column!r}" in msg


def test_duplicate_bar_is_an_error_naming_the_second_line(samples, tmp_path):
    lines = _lines(samples, GOOG)
    lines.insert(21, lines[20])
    path = _write(tmp_path, "GOOG_dup.csv", lines)
    issue = _only_error(validate_file(path), "duplicate_ts")
    assert issue.row == 22 and issue.column == "ts" and "2004-09-16" in str(issue.value)
    with pytest.raises(DataError, match="row 22.*same timestamp"):
        read_bars(path)


def test_unsorted_bars_warn_and_are_sorted(samples, tmp_path):
    lines = _lines(samples, GOOG)
    lines[30], lines[31] = lines[31], lines[30]
    path = _write(tmp_path, "GOOG_swapped.csv", lines)
    report = validate_file(path)
    assert report.ok and "unsorted" in report.codes()
    with pytest.warns(UserWarning, match="row 32.*out of order"):
        b = read_bars(path)
    assert np.array_equal(b.data, read_bars(samples / GOOG).data)


def test_descending_file_is_reported_and_reversed(samples, tmp_path):
    lines = _lines(samples, GOOG)
    path = _write(tmp_path, "GOOG_desc.csv", [lines[0], *reversed(lines[1:])])
    assert "descending" in validate_file(path).codes()
    assert np.array_equal(read_bars(path).data, read_bars(samples / GOOG).data)


def test_missing_and_wrong_columns(samples, tmp_path):
    lines = _lines(samples, GOOG)
    lines[0] = lines[0].replace("Close", "Klose").replace("Low", "Lo w")
    path = _write(tmp_path, "GOOG_cols.csv", lines)
    report = validate_file(path, kind="bar", format="bars")
    issue = _only_error(report, "missing_column")
    assert issue.column in ("low", "close") and "Klose" in str(issue.value)
    trades = _lines(samples, TRADES)
    trades[0] = trades[0].replace("amount", "volume_btc")
    path = _write(tmp_path, "trades_cols.csv", trades)
    with pytest.raises(DataError, match=r"missing column.*size.*Fix: rename"):
        read_table(path, kind="trade")
    assert read_table(path, kind="trade", mapping="volume_btc=size")[0]["size"] == 0.132


def test_empty_and_header_only_files(samples, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = _write(tmp_path, "header.csv", _lines(samples, GOOG)[:1])
    for path, code in ((empty, "empty"), (header_only, "empty")):
        assert _only_error(validate_file(path), code).file == str(path)
        with pytest.raises(DataError, match="empty|no rows"):
            read_bars(path)


def test_truncated_text_file(samples, tmp_path):
    text = (samples / TRADES).read_text()
    path = tmp_path / "trades_cut.csv"
    path.write_text(text[: len(text) - 20])  # the last line loses its tail and its newline
    n_lines = text.count("\n")
    issue = _only_error(validate_file(path, kind="trade"), "truncated")
    assert issue.row == n_lines
    with pytest.raises(DataError, match=f"row {n_lines}: file is truncated"):
        read_table(path, kind="trade")


def test_truncated_gzip(samples, tmp_path):
    raw = (samples / "fx/fxcm_GBPUSD_m1_bid_2012-02.csv.gz").read_bytes()
    path = tmp_path / "fxcm_cut.csv.gz"
    path.write_bytes(raw[: len(raw) // 2])
    issue = _only_error(validate_file(path), "truncated")
    assert "gzip" in issue.message
    with pytest.raises(DataError, match="gzip file is truncated"):
        read_bars(path)


def test_wrong_encoding_names_the_line(samples, tmp_path):
    raw = (samples / GOOG).read_bytes().split(b"\n")
    raw[6] = raw[6] + b"\xe9"  # a latin-1 byte in a UTF-8 file, line 7
    path = tmp_path / "GOOG_latin1.csv"
    path.write_bytes(b"\n".join(raw))
    issue = _only_error(validate_file(path), "encoding")
    assert issue.row == 7 and "latin-1" in issue.fix
    with pytest.raises(DataError, match="row 7: file is not valid UTF-8"):
        read_bars(path)


def test_wrong_field_count_and_not_a_number(samples, tmp_path):
    lines = _lines(samples, TRADES)
    lines[100] = lines[100] + ",extra"
    path = _write(tmp_path, "trades_fields.csv", lines)
    assert _only_error(validate_file(path, kind="trade"), "field_count").row == 101
    lines = _lines(samples, TRADES)
    lines[50] = _edit(lines[50], 6, "96x2")
    path = _write(tmp_path, "trades_nan.csv", lines)
    issue = _only_error(validate_file(path, kind="trade"), "not_a_number")
    assert (issue.row, issue.column, issue.value) == (51, "price", "96x2")


def test_bad_timestamp(samples, tmp_path):
    lines = _lines(samples, GOOG)
    lines[5] = _edit(lines[5], 0, "2004-13-45")
    path = _write(tmp_path, "GOOG_ts.csv", lines)
    issue = _only_error(validate_file(path), "bad_timestamp")
    assert issue.row == 6 and issue.value == "2004-13-45"


def test_crossed_and_locked_quotes(samples, tmp_path):
    lines = _lines(samples, QUOTES)
    ts, bid, ask = lines[200].split(",")
    lines[200] = f"{ts},{ask},{bid}"
    path = _write(tmp_path, "truefx_crossed.csv", lines)
    report = validate_file(path)
    issue = _only_error(report, "crossed_quote")
    assert (issue.row, issue.column) == (201, "bid")
    assert "locked_quote" in {i.code for i in report.warnings}  # the real locked quote, line 943
    with pytest.raises(DataError, match="row 201.*crossed"):
        read_table(path, kind="quote")


def test_negative_trade_size_and_trade_id_gap(samples, tmp_path):
    lines = _lines(samples, TRADES)
    lines[10] = _edit(lines[10], 7, "-0.5")
    del lines[500]
    path = _write(tmp_path, "trades_bad.csv", lines)
    report = validate_file(path)
    assert report.kind == "trade"
    assert _only_error(report, "negative_size").row == 11
    gap = next(i for i in report.warnings if i.code == "sequence_gap")
    assert gap.row == 501 and gap.column == "id"  # the row after the deleted line 501


def test_binance_update_chain_gap(samples, tmp_path):
    lines = _lines(samples, DEPTH)
    # append a second message whose pu does not point at the first message's u
    nxt = [_edit(_edit(ln, 3, "2098041696800"), 8, "2098041696799") for ln in lines[1:4]]
    path = _write(tmp_path, "depth_gap.csv", lines + nxt)
    issue = _only_error(validate_file(path, kind="depth", mapping={"qty": "size"}), "sequence_gap")
    assert issue.row == len(lines) + 1 and issue.column == "pu"
    ok = [_edit(_edit(ln, 3, "2098041696800"), 8, lines[1].split(",")[3]) for ln in lines[1:4]]
    path = _write(tmp_path, "depth_ok.csv", lines + ok)
    assert validate_file(path, kind="depth", mapping={"qty": "size"}).ok


def test_every_shipped_bar_and_table_sample_validates(samples):
    for name in (GOOG, TRADES, QUOTES, DEPTH, "pairs/EWA_daily_2006-2012.csv",
                 "crypto/Bitstamp_BTCUSD_d_2014-2022.csv", "intraday/2006-min-005.txt",
                 "cross_section/skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"):  # fmt: skip
        report = validate_file(samples / name, mapping={"qty": "size"} if name == DEPTH else None)
        assert report.ok, (name, [str(i) for i in report.errors])
        assert report.rows > 0


# ------------------------------------------------------------------------------------------
# arrays of every kind
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real(request):
    from conftest import SAMPLES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "bar": read_bars(SAMPLES / GOOG).data,
            "trade": read_table(SAMPLES / TRADES, kind="trade"),
            "quote": read_table(SAMPLES / QUOTES, kind="quote"),
            "depth": read_table(SAMPLES / DEPTH, kind="depth", mapping={"qty": "size"}),
            "mbo": read_table(
                SAMPLES / MBO_FILE, kind="mbo", ts_format="s", price_divisor=10_000, mapping=MBO_MAP
            ),  # fmt: skip
        }


@pytest.mark.parametrize("kind", ["bar", "trade", "quote", "depth", "mbo"])
def test_real_arrays_are_clean(real, kind):
    report = check_array(real[kind], kind)
    assert report.ok, [str(i) for i in report.errors]


ARRAY_CASES = [
    ("bar", "close", np.nan, "nan"),
    ("bar", "volume", -1.0, "negative_size"),
    ("trade", "price", 0.0, "nonpositive_price"),
    ("trade", "size", np.inf, "inf"),
    ("trade", "side", 3, "bad_side"),
    ("quote", "bid", 1e9, "crossed_quote"),
    ("quote", "bid_size", -2.0, "negative_size"),
    ("depth", "side", 0, "bad_side"),
    ("depth", "price", -1.0, "nonpositive_price"),
    ("depth", "flags", 64, "bad_flags"),
    ("mbo", "event", 12, "bad_event"),
    ("mbo", "order_id", -5, "negative_order_id"),
    ("mbo", "size", np.nan, "nan"),
]


@pytest.mark.parametrize("kind, field, value, code", ARRAY_CASES)
def test_array_damage_is_found_at_its_index(real, kind, field, value, code):
    arr = real[kind].copy()
    arr[field][7] = value
    report = check_array(arr, kind)
    issue = _only_error(report, code)
    assert issue.row == 7 and issue.column == field
    with pytest.raises(DataError, match="row 7"):
        validate_array(arr, kind)


def test_tick_order_rules(real):
    trades = real["trade"].copy()
    trades["ts"][5], trades["ts"][6] = trades["ts"][6], trades["ts"][5] - 1
    assert check_array(trades, "trade").ok  # out-of-order ticks warn; readers sort them
    with pytest.warns(UserWarning, match="out of order"):
        validate_array(trades, "trade")
    mbo = real["mbo"].copy()
    mbo["ts"][5] = mbo["ts"][4] - 1
    assert _only_error(check_array(mbo, "mbo"), "unsorted").row == 5
    depth = real["depth"].copy()
    depth["ts_recv"][3] = depth["ts"][3] - 1
    assert "recv_before_exchange" in {i.code for i in check_array(depth, "depth").warnings}


def test_allowed_exceptions(real):
    depth = real["depth"].copy()
    depth["side"][0], depth["flags"][0], depth["price"][0] = 0, DEPTH_CLEAR, 0.0
    assert check_array(depth, "depth").ok  # a clear-both-sides row needs no side or price
    mbo = real["mbo"].copy()
    mbo["event"][0], mbo["side"][0], mbo["price"][0] = MBO_HALT, 0, -1.0
    assert check_array(mbo, "mbo").ok  # LOBSTER halt messages carry price -1 and no side
    bars = real["bar"].copy()
    bars["close"][3] = bars["low"][3] = -5.0
    assert not check_array(bars, "bar").ok
    assert check_array(bars, "bar", allow_nonpositive_prices=True).ok


def test_empty_and_wrong_arrays():
    assert _only_error(check_array(np.zeros(0, dtype=np.dtype([("ts", "<i8")])), "trade"),
                       "missing_column")  # fmt: skip
    from data.schema import empty

    assert _only_error(check_array(empty("quote"), "quote"), "empty")


def test_check_sequence_modes():
    assert check_sequence(np.arange(10)) == []
    gaps = check_sequence(np.r_[1, 2, 3, 7, 8, 10], file="f.csv", column="seq", first_line=2)
    assert gaps[0].row == 5 and gaps[0].count == 2 and gaps[0].value == 7
    back = check_sequence(np.r_[1, 2, 2, 3], mode="increasing")
    assert back[0].code == "sequence_order" and back[0].row == 2
    u, pu = np.r_[10, 20, 30, 40], np.r_[0, 10, 21, 30]
    chain = check_sequence(u, prev=pu, mode="chain")
    assert chain[0].row == 2 and chain[0].count == 1


def test_gzip_corpus_file_is_copied_not_modified(samples, tmp_path):
    # the tests only ever write damaged copies; the shipped sample stays intact
    src = samples / "fx/fxcm_GBPUSD_m1_bid_2012-02.csv.gz"
    dst = tmp_path / "copy.csv.gz"
    shutil.copy(src, dst)
    with gzip.open(dst) as fh:
        assert fh.read(9) == b"timestamp"


def test_truncated_parquet(samples, tmp_path):
    import polars as pl

    path = tmp_path / "trades.parquet"
    pl.read_csv(samples / TRADES).write_parquet(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    issue = _only_error(validate_file(path, kind="trade"), "truncated")
    assert issue.file == str(path)
    with pytest.raises(DataError, match="Parquet file is truncated"):
        read_table(path, kind="trade")
