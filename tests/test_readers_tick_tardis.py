"""Tardis.dev CSV readers on the shipped samples (trades, incremental L2, snapshots) + errors."""

from __future__ import annotations

import numpy as np
import pytest

from data.errors import DataError
from data.readers.tardis import (
    read_tardis,
    read_tardis_incremental_l2,
    read_tardis_quotes,
    read_tardis_trades,
)
from data.schema import BUY, DEPTH, DEPTH_CLEAR, DEPTH_LAST, DEPTH_SNAPSHOT, QUOTE, SELL, TRADE

TRADES = "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"
SNAP25 = "crypto/tardis_binance-futures_BTCUSDT_book_snapshot_25_2020-09-01.csv"
INCR = "crypto/tardis_deribit_BTC-PERPETUAL_incremental_book_L2_2020-04-01.csv"


def test_trades(samples):
    t = read_tardis(samples / TRADES)
    d = t.data
    assert t.kind == "trade" and d.dtype == TRADE and len(d) == 9_999
    assert (t.exchange, t.symbol) == ("binance-futures", "BTCUSDT")
    assert d["ts"][0] == 1_582_329_602_111_000_000 and d["ts_recv"][0] == 1_582_329_602_418_379_000
    assert d["ts"][-1] == 1_582_337_147_728_000_000
    assert (d["price"][0], d["size"][0], d["side"][0]) == (9682.0, 0.132, BUY)
    assert (d["price"][-1], d["size"][-1], d["side"][-1]) == (9666.84, 0.07, SELL)
    assert t.ids[0] == 42_377_944 and t.ids[-1] == 42_387_942 and t.id_gaps == 0
    assert (d["ts_recv"] >= d["ts"]).all()


def test_book_snapshot_25(samples):
    t = read_tardis(samples / SNAP25)
    d = t.data
    assert t.kind == "depth" and d.dtype == DEPTH and len(d) == 10 * 51
    first = d[:51]
    assert first["flags"][0] == DEPTH_CLEAR | DEPTH_SNAPSHOT and first["side"][0] == 0
    assert (first["flags"][1:-1] == DEPTH_SNAPSHOT).all()
    assert first["flags"][-1] == DEPTH_SNAPSHOT | DEPTH_LAST
    assert (first["side"][1], first["price"][1], first["size"][1]) == (SELL, 11657.08, 1.714)
    assert (first["side"][2], first["price"][2], first["size"][2]) == (BUY, 11657.07, 10.896)
    assert d["ts"][0] == 1_598_918_403_696_000_000 and d["ts_recv"][0] == 1_598_918_403_810_979_000


def test_incremental_l2_inserts_a_clear_before_the_snapshot_run(samples):
    t = read_tardis(samples / INCR)
    d = t.data
    assert (t.exchange, t.symbol, len(d)) == ("deribit", "BTC-PERPETUAL", 16)
    assert d["flags"][0] == DEPTH_CLEAR | DEPTH_SNAPSHOT and np.isnan(d["price"][0])
    assert (d["side"][1:] == SELL).all() and d["price"][1] == 6421.5 and d["size"][1] == 18640
    assert d["flags"][-1] == DEPTH_SNAPSHOT | DEPTH_LAST  # one message: same local_timestamp


def test_incremental_l2_snapshot_after_updates_resets_the_book(tmp_path):
    f = tmp_path / "incr.csv"
    f.write_text(
        "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
        "x,Y,1,10,true,bid,100,1\nx,Y,1,10,true,ask,101,1\n"
        "x,Y,2,20,false,bid,100,0\nx,Y,2,20,false,bid,99,3\n"
        "x,Y,3,30,true,bid,98,1\nx,Y,3,30,true,ask,102,2\n")
    d = read_tardis_incremental_l2(f).data
    clears = np.flatnonzero(d["flags"] & DEPTH_CLEAR)
    assert clears.tolist() == [0, 5] and len(d) == 8
    from engine.book import L2Book

    b = L2Book(1.0)
    b.apply(d)
    assert b.best() == (98.0, 1.0, 102.0, 2.0) and b.n_levels("bid") == 1
    last = np.flatnonzero(d["flags"] & DEPTH_LAST).tolist()
    assert last == [2, 4, 7]


def test_quotes_layout(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                 "x,Y,1,2,3.5,101.5,101,4\nx,Y,5,6,,,101,1\n")
    with pytest.warns(UserWarning, match="1 quote.* with an empty side"):
        t = read_tardis(f)
    q = t.data
    assert t.kind == "quote" and q.dtype == QUOTE
    assert q[0].tolist() == (1000, 2000, 101.0, 101.5, 4.0, 3.5)
    assert np.isnan(q["ask"][1]) and q["ask_size"][1] == 0
    f.write_text("exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount\n"
                 "x,Y,1,2,3.5,abc,101,4\n")
    with pytest.raises(DataError, match="float") as exc:
        read_tardis_quotes(f)
    assert (exc.value.row, exc.value.column) == (2, "ask_price")


@pytest.mark.parametrize(("row", "match", "column"), [
    ("x,Y,1,2,7,hold,9682,0.1", "unexpected value", "side"),
    ("x,Y,1,2,7,buy,-3,0.1", "price is not positive", "price"),
    ("x,Y,1,2,7,buy,9682,abc", "cannot parse", "amount"),
    ("x,Y,1,1,7,buy,9682,0.1", "back in time", "local_timestamp"),
])
def test_malformed_trades(tmp_path, row, match, column):
    f = tmp_path / "t.csv"
    f.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
                 "x,Y,1,2,6,buy,9682,0.1\n" + row + "\n")
    with pytest.raises(DataError, match=match) as exc:
        read_tardis_trades(f)
    assert exc.value.row in (2, 3) and exc.value.column == column and exc.value.fix


def test_unknown_header(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match="unrecognised Tardis"):
        read_tardis(f)
