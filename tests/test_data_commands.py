"""``tape data import / ls / validate`` through click's CliRunner."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from cli import main
from data.catalog import Catalog
from data.readers import read_bars

GOOG = "equities_daily/GOOG_2004-2013_backtesting.csv"
TRADES = "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"


def _run(*args, env=None):
    result = CliRunner().invoke(main, list(map(str, args)), env=env, catch_exceptions=False)
    return result


def test_import_ls_and_idempotence(tmp_path, samples):
    cat = tmp_path / "cat"
    r = _run("data", "import", samples / GOOG, samples / TRADES, "--catalog", cat)
    assert r.exit_code == 0, r.output
    assert "bar/GOOG: 2,148 rows imported" in r.output and "trade/BTCUSDT: 9,999 rows" in r.output
    again = _run("data", "import", samples / GOOG, "--catalog", cat)
    assert again.exit_code == 0 and "already imported (2,148 rows stored)" in again.output
    ls = _run("data", "ls", "--catalog", cat)
    assert ls.exit_code == 0
    lines = ls.output.splitlines()
    assert lines[0].split()[:3] == ["kind", "symbol", "rows"]
    assert any(ln.split()[:3] == ["bar", "GOOG", "2,148"] for ln in lines)
    data = json.loads(_run("data", "ls", "--json", "--catalog", cat).output)
    assert {(d["kind"], d["symbol"], d["rows"]) for d in data["datasets"]} == {
        ("bar", "GOOG", 2148), ("trade", "BTCUSDT", 9999)}  # fmt: skip
    stored = Catalog(cat).load("bar", "GOOG")
    assert stored.tobytes() == read_bars(samples / GOOG).data.tobytes()
    rm = _run("data", "rm", "bar", "GOOG", "--catalog", cat)
    assert rm.exit_code == 0 and [d.symbol for d in Catalog(cat).ls()] == ["BTCUSDT"]
    assert not list((cat / "bar/GOOG").glob("date=*"))
    again = CliRunner().invoke(main, ["data", "rm", "bar", "GOOG", "--catalog", str(cat)])
    # a bad argument (exit 3, docs/cli.md) naming the value and the fix
    assert again.exit_code == 3 and "no bar data" in again.output and "'GOOG'" in again.output
    assert "Fix: `tape data ls`" in again.output


def test_env_var_selects_the_catalog(tmp_path, samples):
    cat = tmp_path / "envcat"
    r = _run(
        "data", "import", samples / "pairs/daily-PEP.csv", env={"TAPEREADER_CATALOG": str(cat)}
    )
    assert r.exit_code == 0 and f"catalog: {cat}" in r.output
    assert [d.symbol for d in Catalog(cat).ls()] == ["PEP"]


def test_import_with_kind_symbol_mapping_and_format(tmp_path, samples):
    cat = tmp_path / "cat"
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"0": "ts", "1": "event", "2": "order_id", "3": "size",
                                   "4": "price", "5": "side"}))  # fmt: skip
    r = _run("data", "import", samples / "lob/AAPL_2012-06-21_first999_message_10.csv",
             "--kind", "mbo", "--symbol", "AAPL", "--format", "table", "--mapping", f"@{mapping}",
             "--ts-format", "s", "--catalog", cat)  # fmt: skip
    assert r.exit_code == 0, r.output
    mbo = Catalog(cat).load("mbo", "AAPL")
    assert len(mbo) == 999 and mbo["ts"][0] == 34200_004241176
    r = _run("data", "import", samples / TRADES, "--kind", "trade", "--symbol", "BTC-PERP",
             "--mapping", "amount=size", "--catalog", cat)  # fmt: skip
    assert r.exit_code == 0 and "trade/BTC-PERP: 9,999 rows" in r.output


def test_import_errors_are_clear_and_fail(tmp_path, samples):
    r = CliRunner().invoke(main, ["data", "import", str(tmp_path / "missing.csv"),
                                  "--catalog", str(tmp_path)])  # fmt: skip
    assert r.exit_code == 4 and "file not found" in r.output and "Fix:" in r.output  # DataError
    r = CliRunner().invoke(main, ["data", "import", str(samples / TRADES), "--kind", "quote",
                                  "--catalog", str(tmp_path)])  # fmt: skip
    assert r.exit_code == 4 and "holds trade data, not quote" in r.output
    r = CliRunner().invoke(main, ["data", "import", str(samples / TRADES), "--kind", "ticks"])
    assert r.exit_code == 2 and "--kind" in r.output


def test_validate_reports_and_exit_status(tmp_path, samples):
    ok = _run("data", "validate", samples / GOOG, samples / "fx/truefx_USDJPY_ticks_2013-01.csv")
    assert ok.exit_code == 0
    assert f"{samples / GOOG}: OK (bar, 2,148 rows, 0 errors, 0 warnings)" in ok.output
    assert "locked_quote" in ok.output and "row 943" in ok.output
    lines = (samples / GOOG).read_text().splitlines()
    lines[10] = lines[10].replace(lines[10].split(",")[3], "999", 1)
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines) + "\n")
    bad = CliRunner().invoke(main, ["data", "validate", str(broken)])
    assert bad.exit_code == 4  # bad market data
    assert "FAILED" in bad.output and "ohlc_inconsistent" in bad.output and "row 11" in bad.output
    js = CliRunner().invoke(main, ["data", "validate", "--json", str(broken)])
    report = json.loads(js.output)[0]
    assert report["ok"] is False and report["issues"][0]["row"] == 11


def test_validate_a_catalog_reference(tmp_path, samples):
    cat = tmp_path / "cat"
    _run("data", "import", samples / GOOG, "--catalog", cat)
    r = _run("data", "validate", "catalog://bar/GOOG?start=2010-01-01", "--catalog", cat)
    assert r.exit_code == 0 and "catalog://bar/GOOG?start=2010-01-01: OK" in r.output
    n = int(np.sum(read_bars(samples / GOOG).ts >= np.datetime64("2010-01-01", "ns").astype(int)))
    assert f"{n:,} rows" in r.output


def _renamed_goog(tmp_path, samples, header):
    """The GOOG sample with its header replaced (columns the bar reader does not know)."""
    rows = (samples / GOOG).read_text().splitlines()[1:]
    f = tmp_path / "GOOG_renamed.csv"
    f.write_text("\n".join([header, *rows]) + "\n")
    return f


def test_import_infers_kind_bar_from_a_mapping_to_bar_fields(tmp_path, samples):
    """``Last``/``Qty`` make the columns look like trades; a mapping naming open/high/low/close
    means bars (it used to assume kind trade and refuse the bar fields)."""
    f = _renamed_goog(tmp_path, samples, "Time,Opening,Top,Bottom,Last,Qty")
    mapping = "Opening=open,Top=high,Bottom=low,Last=close,Qty=volume"
    r = _run("data", "import", f, "--mapping", mapping, "--catalog", tmp_path / "cat")
    assert r.exit_code == 0, r.output
    assert "bar/GOOG: 2,148 rows imported" in r.output
    stored = Catalog(tmp_path / "cat").load("bar", "GOOG")
    assert stored.tobytes() == read_bars(samples / GOOG).data.tobytes()
    v = _run("data", "validate", f, "--mapping", mapping)
    assert v.exit_code == 0 and "OK (bar, 2,148 rows" in v.output, v.output


def test_import_infers_kind_bar_when_the_columns_name_the_other_bar_fields(tmp_path, samples):
    """``Opening=open`` alone: high/low/close are found by their names."""
    f = _renamed_goog(tmp_path, samples, "Date,Opening,High,Low,Close,Volume")
    r = _run("data", "import", f, "--mapping", "Opening=open", "--catalog", tmp_path / "cat")
    assert r.exit_code == 0, r.output
    assert "bar/GOOG: 2,148 rows imported" in r.output


def test_a_mapping_that_contradicts_the_kind_says_which_kind_to_pass(tmp_path, samples):
    f = _renamed_goog(tmp_path, samples, "Time,Opening,Top,Bottom,Last,Qty")
    r = _run("data", "import", f, "--kind", "trade", "--mapping", "Opening=open",
             "--catalog", tmp_path / "cat")  # fmt: skip
    assert r.exit_code != 0
    assert "not a field of kind 'trade'" in r.output and "--kind bar" in r.output
    # a mapping whose fields fit several kinds, none of them the guessed one: ask for --kind
    q = _renamed_goog(tmp_path, samples, "Time,Bid,Ask,Mid,Px,Qty")
    r = _run("data", "import", q, "--mapping", "Px=side", "--catalog", tmp_path / "cat")
    assert r.exit_code != 0 and "pass --kind (trade, depth, mbo)" in r.output, r.output
