"""``tape book check`` / ``tape book binance`` through click's CliRunner."""

from __future__ import annotations

import gzip
import json
import warnings

from click.testing import CliRunner

from cli import main

AMZN = "lob/AMZN_2012-06-21_first1000_message_5.csv.gz"


def test_check_prints_rows_per_depth_and_exits_zero(samples):
    msg = samples / AMZN
    res = CliRunner().invoke(main, ["book", "check", str(msg), str(msg).replace("message", "orderbook")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    table = [ln.split() for ln in lines if ln.strip()[:1].isdigit()]
    assert [row[:3] for row in table] == [[str(n), "1,000", "1,000"] for n in range(1, 6)]
    assert "levels learned from the orderbook file: 10 initial" in res.output
    assert "OK" in res.output


def test_check_with_narrower_window(samples):
    msg = samples / AMZN
    res = CliRunner().invoke(main, ["book", "check", str(msg), str(msg).replace("message", "orderbook"),
                                    "--levels", "2"])
    assert res.exit_code == 0 and "levels L = 2" in res.output


def test_check_exits_one_on_a_mismatch(samples, tmp_path):
    msg = samples / AMZN
    rows = gzip.open(str(msg).replace("message", "orderbook"), "rt").read().splitlines()
    cells = rows[500].split(",")
    cells[1] = str(int(cells[1]) + 1)  # best ask size off by one at row 501
    rows[500] = ",".join(cells)
    ob = tmp_path / "AMZN_2012-06-21_34200000_57600000_orderbook_5.csv"
    ob.write_text("\n".join(rows))
    res = CliRunner().invoke(main, ["book", "check", str(msg), str(ob)])
    assert res.exit_code == 1
    assert "first mismatch at row 501" in res.output
    # the first difference in words: the level, side and both values
    file_size = int(cells[1])
    assert (f"MISMATCH: after message 501 the book replayed from the messages has ask level 1 "
            f"price {int(cells[0]) / 1e4:.4f} size {file_size - 1:,}, the orderbook file price "
            f"{int(cells[0]) / 1e4:.4f} size {file_size:,}") in res.output


def test_check_bad_input_exits_with_the_documented_codes_and_a_clear_message(samples, tmp_path):
    # docs/cli.md: 4 = bad market data, 3 = bad argument value (was 2, the usage-error code)
    msg = samples / AMZN
    ob = tmp_path / "ob.csv"
    ob.write_text("1,2,3\n")
    res = CliRunner().invoke(main, ["book", "check", str(msg), str(ob)])
    assert res.exit_code == 4 and "4 columns per level" in res.output
    res = CliRunner().invoke(main, ["book", "check", str(msg), str(msg).replace("message", "orderbook"),
                                    "--levels", "9"])
    assert res.exit_code == 3 and "levels=9" in res.output and "Fix:" in res.output


def test_binance_command(samples):
    f = samples / "crypto" / "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
    res = CliRunner().invoke(main, ["book", "binance", str(f)])
    assert res.exit_code == 0, res.output
    assert "3,321 / 3,321 = 100.000%" in res.output


def _pair(samples):
    msg = samples / AMZN
    return str(msg), str(msg).replace("message", "orderbook")


def test_check_json_holds_the_numbers_of_the_check(samples):
    from engine.book.lobster import check_lobster

    msg, ob = _pair(samples)
    res = CliRunner().invoke(main, ["book", "check", msg, ob, "--levels", "3", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    api = check_lobster(msg, ob, levels=3)
    assert doc["ok"] is True and doc["first_difference"] is None
    assert doc["levels"] == 3 and doc["rows"] == api.rows == 1000
    assert [d["depth"] for d in doc["depths"]] == [1, 2, 3]
    assert [d["matching"] for d in doc["depths"]] == list(api.matching)
    assert [d["learned_rows"] for d in doc["depths"]] == list(api.learned_rows)
    assert all(d["first_mismatch_row"] is None and d["match_pct"] == 100.0 for d in doc["depths"])
    assert (doc["learned_initial"], doc["learned"], doc["forgotten"]) == (
        api.learned_initial, api.learned, api.forgotten)
    assert doc["book_notes"] == dict(api.counters)
    assert doc["message_file"] == msg and doc["orderbook_file"] == ob
    # the text output shows the same numbers
    text = CliRunner().invoke(main, ["book", "check", msg, ob, "--levels", "3"]).stdout
    assert f"levels learned from the orderbook file: {doc['learned_initial']} initial" in text


def test_check_quiet_prints_nothing(samples):
    res = CliRunner().invoke(main, ["book", "check", *_pair(samples), "-q"])
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == ""


def _bad_orderbook(samples, tmp_path):
    rows = gzip.open(_pair(samples)[1], "rt").read().splitlines()
    cells = rows[500].split(",")
    cells[1] = str(int(cells[1]) + 1)  # best ask size off by one at row 501
    rows[500] = ",".join(cells)
    ob = tmp_path / "AMZN_2012-06-21_34200000_57600000_orderbook_5.csv"
    ob.write_text("\n".join(rows))
    return ob, int(cells[0]), int(cells[1])


def test_check_mismatch_with_json_and_quiet_still_exits_one(samples, tmp_path):
    ob, price, size = _bad_orderbook(samples, tmp_path)
    msg = _pair(samples)[0]
    res = CliRunner().invoke(main, ["book", "check", msg, str(ob), "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)  # stdout holds the document only; the error goes to stderr
    assert doc["ok"] is False
    assert doc["first_difference"] == {
        "message_row": 501, "level": 1, "side": "ask",
        "book": {"price": price / 1e4, "size": size - 1},
        "orderbook": {"price": price / 1e4, "size": size},
        "text": doc["first_difference"]["text"]}
    assert doc["first_difference"]["text"].startswith("after message 501 ")
    assert doc["depths"][0]["first_mismatch_row"] == 501
    assert doc["depths"][0]["matching"] < doc["rows"]
    assert res.stderr.startswith("MISMATCH: after message 501 ")
    res = CliRunner().invoke(main, ["book", "check", msg, str(ob), "--quiet"])
    assert res.exit_code == 1 and res.stdout == "" and res.stderr.startswith("MISMATCH:")


def test_binance_json_and_quiet(samples):
    from data.readers.binance import read_binance_stream
    from engine.book.binance import compare_book_ticker

    f = str(samples / "crypto" / "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz")
    res = CliRunner().invoke(main, ["book", "binance", f, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and doc["symbol"] == "BTCUSDT" and doc["files"] == [f]
    assert doc["per_diff"]["compared"] == doc["per_diff"]["agree"] == 3321  # as in the text
    assert doc["per_diff"]["rate"] == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stream = read_binance_stream([f])
    api = compare_book_ticker(stream)
    assert (doc["depth_diffs"], doc["book_tickers"], doc["trades"]) == (
        len(stream.diffs), len(stream.quotes), len(stream.trades))
    assert doc["per_ticker"]["comparable"] == api.tickers_comparable
    assert doc["per_ticker"]["agree"] == api.tickers_agree
    assert doc["by_arrival"]["agree"] == api.arrival_agree
    assert doc["diffs"] == api.sync.summary() and doc["first_mismatched_diffs"] == []
    res = CliRunner().invoke(main, ["book", "binance", f, "-q"])
    assert res.exit_code == 0 and res.stdout == ""


def test_binance_mismatch_exits_one_with_every_output_flag(samples, tmp_path):
    src = samples / "crypto" / "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
    lines = gzip.open(src, "rt").read().splitlines()
    # the second half's bookTickers claim 100 more BTC at the best bid than the depth stream
    lines[6000:] = [ln.replace('"B":"', '"B":"1') for ln in lines[6000:]]
    bad = tmp_path / src.name
    with gzip.open(bad, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    text = CliRunner().invoke(main, ["book", "binance", str(bad)])
    assert text.exit_code == 1 and "per diff" in text.stdout and text.stderr.count("MISMATCH") == 0
    res = CliRunner().invoke(main, ["book", "binance", str(bad), "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and 0 < doc["per_diff"]["agree"] < doc["per_diff"]["compared"]
    assert doc["first_mismatched_diffs"] and doc["per_diff"]["rate"] < 1
    assert f"{doc['per_diff']['agree']:,} / {doc['per_diff']['compared']:,}" in text.stdout
    line = (f"MISMATCH: {doc['per_diff']['agree']:,} of {doc['per_diff']['compared']:,} diffs "
            f"and {doc['per_ticker']['agree']:,} of {doc['per_ticker']['comparable']:,} "
            "bookTickers agree\n")
    assert res.stderr.endswith(line)  # (after the reader's clock warning)
    res = CliRunner().invoke(main, ["book", "binance", str(bad), "-q"])
    assert res.exit_code == 1 and res.stdout == "" and res.stderr.endswith(line)
