"""``tape book check`` / ``tape book binance`` through click's CliRunner."""

from __future__ import annotations

import gzip

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
