"""LOBSTER reader on the shipped samples, its file-format variants and its errors."""

from __future__ import annotations

import gzip
from decimal import Decimal

import numpy as np
import pytest

from data.errors import DataError
from data.readers.lobster import (
    parse_lobster_name,
    read_lobster,
    read_lobster_messages,
    read_lobster_orderbook,
)
from data.schema import BUY, MBO, SELL

GOOG10 = "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
# 2012-06-21 is EDT (UTC-4): 09:30 ET = 13:30 UTC
OPEN_UTC_NS = 1_340_285_400 * 10**9 - 34_200 * 10**9


def test_goog_level10_messages(samples):
    lob = read_lobster(samples / "lob" / GOOG10, samples / "lob" / GOOG10.replace("message", "orderbook"))
    m = lob.messages
    assert m.dtype == MBO and len(m) == 147_916
    assert (lob.symbol, str(lob.date), lob.levels) == ("GOOG", "2012-06-21", 10)
    assert m["ts"][0] == 1_340_285_400_015_105_074  # 09:30:00.015105074 ET
    assert m["ts"][-1] == 1_340_308_799_871_751_084  # 15:59:59.871751084 ET
    assert (m["ts"] == m["ts_recv"]).all()
    assert np.bincount(m["event"]).tolist() == [0, 71_258, 19, 64_961, 7_765, 3_913]
    first = m[0]
    assert (first["event"], first["order_id"], first["size"], first["price"], first["side"]) == (
        4, 15_818_974, 4.0, 579.40, BUY)
    assert lob.price_int[0] == 5_794_000
    assert set(np.unique(m["side"]).tolist()) == {BUY, SELL}
    assert lob.orderbook.shape == (147_916, 40)
    assert lob.orderbook[0, :4].tolist() == [5_802_300, 100, 5_794_000, 496]


def test_times_are_exact_to_the_nanosecond(samples):
    """Float parsing is exact here: compare every stamp with a decimal parse of the text."""
    text = gzip.open(samples / "lob" / GOOG10, "rt").read().split()
    want = np.array([int(Decimal(line.split(",", 1)[0]) * 10**9) for line in text], np.int64)
    got, _ = read_lobster_messages(samples / "lob" / GOOG10)
    np.testing.assert_array_equal(got["ts"] - OPEN_UTC_NS, want)


def test_aapl_without_final_newline_and_amzn_level5(samples):
    aapl = read_lobster(samples / "lob" / "AAPL_2012-06-21_first999_message_10.csv",
                        samples / "lob" / "AAPL_2012-06-21_first999_orderbook_10.csv")
    assert len(aapl) == 999 and aapl.orderbook.shape == (999, 40)
    assert aapl.messages["ts"][0] - OPEN_UTC_NS == 34_200_004_241_176
    assert aapl.messages["ts"][-1] - OPEN_UTC_NS == 34_249_086_375_027
    amzn = read_lobster(samples / "lob" / "AMZN_2012-06-21_first1000_message_5.csv.gz",
                        samples / "lob" / "AMZN_2012-06-21_first1000_orderbook_5.csv.gz")
    assert len(amzn) == 1000 and amzn.levels == 5
    assert amzn.messages["price"][0] == 223.82 and amzn.messages["event"][0] == 5


def test_header_crlf_and_rounded_times_variant(samples, tmp_path):
    """The AMZN level-1 day in the wild has a header, CRLF endings, 5-decimal times and no
    final newline: rebuild that shape from the shipped level-5 file and read it."""
    src = gzip.open(samples / "lob" / "AMZN_2012-06-21_first1000_message_5.csv.gz", "rt").read().split()
    lines = ["Time,Type,OrderId,Size,Price,Direction"]
    for ln in src:
        t, rest = ln.split(",", 1)
        lines.append(f"{float(t):.5f},{rest}")
    msg = tmp_path / "AMZN_2012-06-21_34200000_57600000_message_5.csv"
    msg.write_bytes("\r\n".join(lines).encode())
    ob_src = gzip.open(samples / "lob" / "AMZN_2012-06-21_first1000_orderbook_5.csv.gz", "rt").read().split()
    ob = tmp_path / "AMZN_2012-06-21_34200000_57600000_orderbook_5.csv"
    ob.write_bytes(("h1,h2,h3,h4\r\n" + "\r\n".join(ob_src)).encode())
    lob = read_lobster(msg, ob)
    assert len(lob) == 1000 and lob.orderbook.shape == (1000, 20)
    assert lob.messages["ts"][0] - OPEN_UTC_NS == 34_200_017_460_000
    ref = read_lobster(samples / "lob" / "AMZN_2012-06-21_first1000_message_5.csv.gz")
    for col in ("event", "order_id", "size", "price", "side"):
        np.testing.assert_array_equal(lob.messages[col], ref.messages[col])
    assert np.abs(lob.messages["ts"] - ref.messages["ts"]).max() <= 5_000  # 5-decimal rounding


def test_file_name_parsing_and_date_argument(tmp_path):
    n = parse_lobster_name("GOOG_2012-06-21_34200000_57600000_message_10.csv.gz")
    assert (n.symbol, str(n.date), n.kind, n.level) == ("GOOG", "2012-06-21", "message", 10)
    assert parse_lobster_name("AAPL_2012-06-21_first999_orderbook_10.csv").kind == "orderbook"
    assert parse_lobster_name("messages.csv") is None
    f = tmp_path / "messages.csv"
    f.write_text("34200.5,1,1,10,1000000,1\n")
    with pytest.raises(DataError, match="date"):
        read_lobster_messages(f)
    m, _ = read_lobster_messages(f, date="2012-01-03")  # EST: UTC-5
    assert m["ts"][0] == 1_325_601_000_500_000_000  # 14:30:00.5 UTC


@pytest.mark.parametrize(("body", "row", "column", "text"), [
    ("34200.5,1,1,10,1000000,1\n34200.6,9,2,10,1000000,1\n", 2, "type", "event type"),
    ("34200.5,1,1,10,1000000,1\n34200.6,1,2,ten,1000000,1\n", 2, "size", "cannot parse"),
    ("34200.5,1,1,10,1000000,1\n34200.6,1,2,10,1000000\n", 2, "direction", "missing value"),
    ("34200.5,1,1,10,1000000,1\n34200.6,1,2,10,1000000,1,7\n", 2, None, "expected 6 fields"),
    ("34200.5,1,1,10,1000000,1\n34200.6,1,2,10,1000000,0\n", 2, "direction", "direction"),
    ("34200.5,1,1,10,1000000,1\n34200.4,1,2,10,1000000,1\n", 2, "time", "back in time"),
    ("34200.5,1,1,10,-5,1\n", 1, "price", "non-positive price"),
])
def test_malformed_message_files_name_row_column_and_fix(tmp_path, body, row, column, text):
    f = tmp_path / "X_2012-06-21_0_1_message_1.csv"
    f.write_text(body)
    with pytest.raises(DataError, match=text) as exc:
        read_lobster_messages(f)
    err = exc.value
    assert err.file == str(f) and err.row == row and err.fix
    if column:
        assert err.column == column


def test_malformed_orderbook_files(tmp_path):
    f = tmp_path / "X_2012-06-21_0_1_orderbook_1.csv"
    f.write_text("1000100,5,1000000\n")
    with pytest.raises(DataError, match="4 columns per level"):
        read_lobster_orderbook(f)
    f.write_text("1000100,5,1000000,7\n9999999999,3,1000000,7\n")
    with pytest.raises(DataError, match="dummy") as exc:
        read_lobster_orderbook(f)
    assert exc.value.row == 2 and exc.value.column == "ask_price_1"
    with pytest.raises(DataError, match="levels=2"):
        read_lobster_orderbook(tmp_path / f.name, levels=2)
    msg = tmp_path / "X_2012-06-21_0_1_message_1.csv"
    msg.write_text("34200.5,1,1,10,1000000,1\n")
    f.write_text("1000100,5,1000000,7\n1000100,5,1000000,7\n")
    with pytest.raises(DataError, match="rows"):
        read_lobster(msg, f)


def test_missing_empty_and_corrupt_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_lobster_messages(tmp_path / "X_2012-06-21_0_1_message_1.csv")
    e = tmp_path / "X_2012-06-21_0_1_message_1.csv"
    e.write_text("")
    with pytest.raises(DataError, match="empty"):
        read_lobster_messages(e)
    g = tmp_path / "X_2012-06-21_0_1_message_1.csv.gz"
    g.write_bytes(gzip.compress(b"34200.5,1,1,10,1000000,1\n" * 100)[:40])
    with pytest.raises(DataError, match="gzip"):
        read_lobster_messages(g)
