"""A LOBSTER feed is built only from messages that reproduce their orderbook file.

``lobster_feed`` takes its window corrections from the check of ``tape book check`` and, by
default, refuses data whose messages do not reproduce the orderbook file (another file's
orderbook, rows shifted by a truncation, an altered cell): a DataError names the orderbook
file, the first disagreeing row, the level, side and column and both values. ``strict=False``
builds the feed anyway. Real data: the shipped LOBSTER samples (tmp copies when altered)."""

from __future__ import annotations

import dataclasses
import gzip
import re

import numpy as np
import pytest
from click.testing import CliRunner

from data.errors import DataError
from data.readers.lobster import read_lobster, read_lobster_orderbook
from data.schema import MBO_CORRECTIONS
from engine.book.lobster import check_lobster_data
from engine.tick.feed import lobster_feed

GOOG10 = "lob/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
AMZN5 = "lob/AMZN_2012-06-21_first1000_message_5.csv.gz"
AAPL10 = "lob/AAPL_2012-06-21_first999_message_10.csv"


def _ob(path):
    return str(path).replace("message", "orderbook")


def _lines(path) -> list[str]:
    path = str(path)
    if path.endswith(".gz"):
        with gzip.open(path, "rt") as f:
            return f.read().splitlines(keepends=True)
    with open(path) as f:
        return f.read().splitlines(keepends=True)


def _copy_pair(samples, tmp_path, name, *, rows=None, ob_lines=None, sym="TEST"):
    """Plain-text copies of a shipped pair (first ``rows`` rows; the orderbook lines replaced
    by ``ob_lines`` if given), named as LOBSTER names them."""
    msg_lines = _lines(samples / name)[:rows]
    ob_lines = _lines(_ob(samples / name))[:rows] if ob_lines is None else ob_lines
    level = re.search(r"message_(\d+)", name).group(1)
    msg = tmp_path / f"{sym}_2012-06-21_34200000_57600000_message_{level}.csv"
    ob = tmp_path / f"{sym}_2012-06-21_34200000_57600000_orderbook_{level}.csv"
    msg.write_text("".join(msg_lines))
    ob.write_text("".join(ob_lines))
    return msg, ob


def _col(name: str) -> int:
    """Index of a named orderbook column (``bid_size_3``) in LOBSTER's row layout."""
    side, what, level = name.split("_")
    return 4 * (int(level) - 1) + (2 if side == "bid" else 0) + (1 if what == "size" else 0)


def test_messages_with_another_files_orderbook_are_refused(samples, tmp_path):
    """GOOG's first 999 messages with AAPL's 999-row orderbook (same day, same level 10)."""
    msg, _ = _copy_pair(samples, tmp_path, GOOG10, rows=999,
                        ob_lines=_lines(_ob(samples / AAPL10)))
    ob = tmp_path / "TEST_2012-06-21_34200000_57600000_orderbook_10.csv"
    lob = read_lobster(msg, ob)
    with pytest.raises(DataError) as ei:
        lobster_feed(lob)
    err = ei.value
    assert err.file == str(ob) and str(msg) in err.message
    assert err.row is not None and err.row >= 2  # row 1 is the initial book, learned
    assert re.fullmatch(r"(bid|ask)_(price|size)_\d+", err.column)
    # the orderbook value named is the file's cell; the messages' book disagrees with it
    book = read_lobster_orderbook(ob)
    fp, fs = err.value["orderbook"]
    k = _col(err.column.replace("size", "price"))
    assert [fp, fs] == [int(book[err.row - 1, k]), int(book[err.row - 1, k + 1])]
    assert err.value["messages"] != err.value["orderbook"]
    assert "own orderbook file" in err.fix and "strict=False" in err.fix
    # it is the FIRST disagreeing row: the rows before it reproduce, so their feed builds
    head = dataclasses.replace(lob, messages=lob.messages[: err.row - 1],
                               price_int=lob.price_int[: err.row - 1],
                               orderbook=lob.orderbook[: err.row - 1])
    assert len(lobster_feed(head).D[0]) >= err.row - 1


@pytest.mark.parametrize(("row", "column", "delta"), [
    (437, "ask_size_2", 7),  # a size inside the window
    (700, "bid_price_1", -100),  # the best bid one cent lower
    (12, "bid_size_4", 1),
])
def test_an_altered_orderbook_cell_is_named(samples, tmp_path, row, column, delta):
    """One cell of a tmp copy of the AMZN level-5 orderbook changed: the error names that
    row (1-based, as ``tape book check``) and column with the book's and the file's value."""
    lines = _lines(_ob(samples / AMZN5))
    cells = lines[row - 1].rstrip("\r\n").split(",")
    k = _col(column)
    before = int(cells[k])
    cells[k] = str(before + delta)
    lines[row - 1] = ",".join(cells) + "\n"
    msg, ob = _copy_pair(samples, tmp_path, AMZN5, ob_lines=lines)
    with pytest.raises(DataError) as ei:
        lobster_feed(read_lobster(msg, ob))
    err = ei.value
    assert (err.file, err.row, err.column) == (str(ob), row, column)
    i = 1 if "size" in column else 0
    assert err.value["messages"][i] == before and err.value["orderbook"][i] == before + delta
    assert f"after message {row} " in err.message and "1 of 1,000 rows disagree" in err.message


def test_orderbook_rows_shifted_by_a_lost_line_are_refused(samples):
    """A message file that lost its first line paired with an orderbook file that lost its
    last one (same row count, every row one message off)."""
    name = samples / GOOG10
    lob = read_lobster(name, _ob(name))
    n = 20_000
    off = dataclasses.replace(lob, messages=lob.messages[1:n + 1].copy(),
                              price_int=lob.price_int[1:n + 1], orderbook=lob.orderbook[:n])
    res = check_lobster_data(off)
    assert not res.ok
    with pytest.raises(DataError, match="do not reproduce the orderbook file") as ei:
        lobster_feed(off)
    assert ei.value.row == res.first_mismatch[-1] + 1  # the check's own first mismatch
    assert ei.value.row == min(r for r in res.first_mismatch if r >= 0) + 1


def test_strict_false_builds_the_feed_anyway(samples, tmp_path):
    lines = _lines(_ob(samples / AMZN5))
    cells = lines[499].split(",")
    cells[1] = str(int(cells[1]) + 3)
    lines[499] = ",".join(cells)
    msg, ob = _copy_pair(samples, tmp_path, AMZN5, ob_lines=lines)
    lob = read_lobster(msg, ob)
    with pytest.raises(DataError):
        lobster_feed(lob)
    feed = lobster_feed(lob, strict=False)
    ev = feed.D[2]
    real = ~np.isin(ev, MBO_CORRECTIONS)
    assert real.sum() == 1_000 and np.array_equal(ev[real], lob.messages["event"])
    assert len(feed.top[0]) > 900  # the orderbook file's top still marks the equity
    # on data that reproduces, strict=False changes nothing
    good = read_lobster(samples / AMZN5, _ob(samples / AMZN5))
    a, b = lobster_feed(good), lobster_feed(good, strict=False)
    for x, y in zip(a.D, b.D, strict=True):
        assert np.array_equal(x, y)
    assert a.init_levels == b.init_levels


def test_every_shipped_lobster_pair_builds_strictly(samples):
    """Every message file shipped in data/samples/lob (whatever is added later) reproduces its
    orderbook file, so its feed builds by default (the top of book equals the file on every
    message: tests/test_tick_lobster_window.py, whose list must cover them all)."""
    from test_tick_lobster_window import SAMPLES

    shipped = sorted(p.name for p in (samples / "lob").iterdir() if "_message_" in p.name)
    assert shipped and sorted(SAMPLES) == shipped
    for name in shipped:
        lob = read_lobster(samples / "lob" / name, _ob(samples / "lob" / name))
        feed = lobster_feed(lob)
        assert (~np.isin(feed.D[2], MBO_CORRECTIONS)).sum() == len(lob.messages)


def test_tape_run_on_a_mismatching_pair_exits_with_bad_data(samples, tmp_path):
    """``tape run`` pairs a message file with the orderbook file of the same name: a pair
    that does not reproduce stops the run (exit 4, bad market data) naming the row."""
    from cli import main

    lines = _lines(_ob(samples / AMZN5))
    cells = lines[99].split(",")
    cells[3] = str(int(cells[3]) + 5)  # bid_size_1 of row 100
    lines[99] = ",".join(cells)
    msg, ob = _copy_pair(samples, tmp_path, AMZN5, ob_lines=lines, sym="AMZN")
    args = ["run", "--strategy", "ofi_taker", "--data", str(msg), "--out", str(tmp_path / "r")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 4, r.output
    assert "row 100" in r.output and "bid_size_1" in r.output and str(ob) in r.output
