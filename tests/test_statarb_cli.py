"""``tape pairs`` and ``tape sentiment`` through click's CliRunner on the shipped samples."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TWENTY = SAMPLES / "cross_section" / "skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"


def test_tape_pairs_screens_a_universe_with_corrections(tmp_path):
    out = tmp_path / "pairs.csv"
    res = CliRunner().invoke(main, ["pairs", str(TWENTY), "--symbols", "KO,PEP,XOM,CVX,JNJ,PG",
                                    "--start", "2010-01-01", "--end", "2014-12-31",
                                    "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "6 symbols" in res.output and "15 pairs, 15 tested" in res.output
    table = pd.read_csv(out)
    assert len(table) == 15
    assert (table["p_bonferroni"] >= table["p_bh"] - 1e-15).all()
    assert (table["p_bh"] >= table["pvalue"] - 1e-15).all()
    assert table["n"].eq(1258).all()  # trading days 2010-2014


def test_tape_pairs_names_a_bad_symbol():
    res = CliRunner().invoke(main, ["pairs", str(TWENTY), "--symbols", "KO,NOPE"])
    assert res.exit_code != 0
    assert "NOPE" in res.output and "symbols" in res.output


def test_tape_pairs_on_the_shipped_pair_files(tmp_path):
    files = [SAMPLES / "pairs" / f for f in ("GLD_daily_2004-2007.csv", "GDX_daily_2006-2007.csv")]
    res = CliRunner().invoke(main, ["pairs", *map(str, files), "--min-obs", "100"])
    assert res.exit_code == 0, res.output
    assert "1 tested" in res.output and "Bonferroni 1 significant" in res.output


def test_out_file_in_a_folder_that_does_not_exist_yet(tmp_path):
    """examples/sentiment_longshort.toml says `tape sentiment ... --out runs/x.csv` before any
    runs/ folder exists: the folder is created (it was a RunError blaming the disk)."""
    files = [SAMPLES / "pairs" / f for f in ("GLD_daily_2004-2007.csv", "GDX_daily_2006-2007.csv")]
    out = tmp_path / "runs" / "new" / "pairs.csv"
    res = CliRunner().invoke(main, ["pairs", *map(str, files), "--min-obs", "100",
                                    "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out)) == 1


def test_tape_sentiment_writes_a_signal_file(tmp_path):
    out = tmp_path / "runs" / "s.csv"  # runs/ does not exist yet
    tweets = sorted((SAMPLES / "sentiment").glob("stocknet_*_tweets_*.jsonl.gz"))
    res = CliRunner().invoke(main, ["sentiment", *map(str, tweets), "--out", str(out),
                                    "--cutoff", "20:00"])  # fmt: skip
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert set(df["symbol"]) == {"GOOG", "MSFT"}
    assert df["ts"].str.endswith("T20:00:00Z").all()
    assert df["n_tweets"].sum() == 3601 + 7607


def test_json_and_quiet_outputs(tmp_path):
    import json

    files = [
        str(SAMPLES / "pairs" / f) for f in ("GLD_daily_2004-2007.csv", "GDX_daily_2006-2007.csv")
    ]
    res = CliRunner().invoke(main, ["pairs", *files, "--min-obs", "100", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["tested"] == 1 and doc["significant"] == {"raw": 1, "bh": 1, "bonferroni": 1}
    assert doc["rows"][0]["y"] == "GLD" and 0 < doc["rows"][0]["pvalue"] < 0.05
    res = CliRunner().invoke(main, ["pairs", *files, "--min-obs", "100", "--quiet"])
    assert res.exit_code == 0 and res.output == ""
    tweets = [str(p) for p in sorted((SAMPLES / "sentiment").glob("stocknet_*_tweets_*.jsonl.gz"))]
    res = CliRunner().invoke(
        main, ["sentiment", *tweets, "--out", str(tmp_path / "s.csv"), "--json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["tweets"] == 3601 + 7607 and set(doc["symbols"]) == {"GOOG", "MSFT"}


def test_a_missing_file_exits_with_the_data_error_code(tmp_path):
    res = CliRunner().invoke(main, ["pairs", str(tmp_path / "nope.csv"), str(TWENTY)])
    assert res.exit_code == 4 and "nope.csv" in res.output  # DataError -> 4 (docs: exit codes)
