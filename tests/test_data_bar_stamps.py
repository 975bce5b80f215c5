"""One close-time rule for date-only bars, whichever entry point reads the file.

``read_bars`` stamps a date-only daily bar at its session close (16:00 America/New_York for US
equities; the end of the UTC day for 24/7 markets). The generic table reader (``read_table``
with ``kind="bar"``, ``iter_table``, ``tape data import --mapping``, the catalog) stamped the
same bars at 00:00 UTC of their date: visible ~20 hours early next to any other source.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLES

import engine
from data.catalog import Catalog
from data.readers import iter_table, read_bars, read_table
from data.readers.dispatch import load_source
from data.timeutil import parse_timestamps
from strategies.base import Strategy

GOOG = SAMPLES / "equities_daily" / "GOOG_2004-2013_backtesting.csv"
BITSTAMP_D = SAMPLES / "crypto" / "Bitstamp_BTCUSD_d_2014-2022.csv"


def _iso(text: str) -> int:
    import polars as pl

    return int(parse_timestamps(pl.Series([text]))[0])


def _cli_import(catalog, *args):
    from cli import main

    res = CliRunner().invoke(main, ["data", "import", "--catalog", str(catalog), *args])
    assert res.exit_code == 0, res.output
    return res


def _every_entry_point(path, tmp_path, mapping, cli_mapping, symbol):
    """{entry point: ts} for one file read through every bar reader path."""
    out = {"read_bars": read_bars(path).data["ts"]}
    out["read_table"] = read_table(path, kind="bar", mapping=mapping)["ts"]
    streamed = list(iter_table(path, kind="bar", mapping=mapping, chunk_rows=100))
    out["iter_table"] = np.sort(np.concatenate(streamed)["ts"])  # streams keep file order
    (ds,) = load_source(path, mapping=mapping)
    out["load_source"] = ds.data["ts"]
    _cli_import(tmp_path / "cli", "--mapping", cli_mapping, str(path))
    out["tape data import --mapping"] = Catalog(tmp_path / "cli").load("bar", symbol)["ts"]
    _cli_import(tmp_path / "plain", str(path))
    out["tape data import"] = Catalog(tmp_path / "plain").load("bar", symbol)["ts"]
    cat = Catalog(tmp_path / "stream")  # the streamed import of large tables (iter_table)
    cat.import_file(path, kind="bar", mapping=mapping, symbol=symbol, stream_bytes=0,
                    chunk_rows=500)  # fmt: skip
    out["catalog (streamed)"] = cat.load("bar", symbol)["ts"]
    return out


def test_a_date_only_equity_file_gets_the_same_stamps_through_every_reader(tmp_path):
    got = _every_entry_point(GOOG, tmp_path, {"": "ts"}, "=ts", "GOOG")
    ref = got["read_bars"]
    assert ref[0] == _iso("2004-08-19T20:00:00Z")  # 16:00 New York (EDT)
    assert ref[-1] == _iso("2013-03-01T21:00:00Z")  # 16:00 New York (EST)
    for name, ts in got.items():
        assert np.array_equal(ts, ref), name


def test_a_date_only_file_with_renamed_columns_too(tmp_path):
    """A file the bar reader does not know (the mapping is needed) still closes at 16:00 NY."""
    src = GOOG.read_text().splitlines()
    f = tmp_path / "GOOG_renamed.csv"
    f.write_text("\n".join(["Day,O,Hi,Lo,Last,Qty", *src[1:]]) + "\n")
    mapping = {"Day": "ts", "O": "open", "Hi": "high", "Lo": "low", "Last": "close",
               "Qty": "volume"}  # fmt: skip
    ref = read_bars(GOOG).data["ts"]
    assert np.array_equal(read_table(f, kind="bar", mapping=mapping)["ts"], ref)
    _cli_import(tmp_path / "cat", "--kind", "bar", "--mapping",
                ",".join(f"{k}={v}" for k, v in mapping.items()), str(f))  # fmt: skip
    assert np.array_equal(Catalog(tmp_path / "cat").load("bar", "GOOG")["ts"], ref)


def test_date_only_bars_of_a_24_7_market_close_at_the_end_of_the_utc_day(tmp_path):
    """Bitstamp daily bars (weekends present), their date column only: every reader closes
    the bar dated D at D+1 00:00Z, as read_bars does for the original file."""
    lines = BITSTAMP_D.read_text().splitlines()[1:]  # drop the CryptoDataDownload banner
    header, rows = lines[0].split(","), [r.split(",") for r in lines[1:]]
    keep = [header.index(c) for c in ("date", "open", "high", "low", "close", "Volume BTC")]
    f = tmp_path / "BTC_daily.csv"
    f.write_text("\n".join(",".join(r[i][:10] if i == 1 else r[i] for i in keep)
                           for r in [header, *rows]) + "\n")  # fmt: skip
    ref = read_bars(BITSTAMP_D).data["ts"]
    assert ref[0] == _iso("2014-11-29T00:00:00Z")  # the bar dated 2014-11-28
    got = _every_entry_point(f, tmp_path, {"date": "ts", "Volume BTC": "volume"},
                             "date=ts,Volume BTC=volume", "BTC")  # fmt: skip
    for name, ts in got.items():
        assert np.array_equal(ts, ref), name


def test_bars_with_a_time_of_day_keep_their_stamp_as_the_close(tmp_path):
    """Intraday stamps read by the table reader are the close, as documented (label="auto");
    label="open" adds the median spacing."""
    f = tmp_path / "X.csv"
    f.write_text("ts,open,high,low,close\n2024-01-02 14:35:00,1,1,1,1\n"
                 "2024-01-02 14:40:00,1,1,1,1\n2024-01-02 14:45:00,1,1,1,1\n")  # fmt: skip
    ts = read_table(f, kind="bar")["ts"]
    assert ts[0] == _iso("2024-01-02T14:35:00Z")
    assert read_table(f, kind="bar", label="open")["ts"][0] == _iso("2024-01-02T14:40:00Z")
    assert read_table(f, kind="bar", tz="America/New_York")["ts"][0] == _iso(
        "2024-01-02T19:35:00Z"
    )


class _LastGoog(Strategy):
    """Records, at each bar of the NOON clock symbol, the latest GOOG close it can see."""

    name = "_last_goog_probe"

    def init(self, ctx):
        self.seen = []

    def on_bar(self, ctx):
        c = ctx.close("GOOG")
        c = c[~np.isnan(c)]
        self.seen.append((ctx.now, c[-1] if len(c) else np.nan))


@pytest.mark.parametrize("entry", ["read_table", "tape data import --mapping"])
def test_a_date_only_bar_is_not_visible_before_its_close(entry, tmp_path):
    """GOOG daily bars next to a series with a bar at 17:00Z (13:00 New York) every day: at
    13:00 New York on date D the strategy must see D-1's close, never D's (the bar of D has not
    closed). With the old 00:00Z stamps it saw D's close 7 hours before the close."""
    n = 40
    if entry == "read_table":
        goog = read_table(GOOG, kind="bar", mapping={"": "ts"})[:n]
    else:
        _cli_import(tmp_path / "cat", "--mapping", "=ts", str(GOOG))
        goog = Catalog(tmp_path / "cat").load("bar", "GOOG")[:n]
    ref = read_bars(GOOG).data[:n]
    day = 86_400 * 10**9
    noon = ref.copy()
    noon["ts"] = (ref["ts"] // day) * day + 17 * 3600 * 10**9  # 13:00 New York (EDT)
    noon[["open", "high", "low", "close"]] = (1.0, 1.0, 1.0, 1.0)
    probe = _LastGoog()
    engine.run(market={"GOOG": goog, "NOON": noon}, strategy=probe, cash=1_000.0)
    at_noon = {t: v for t, v in probe.seen if t in set(noon["ts"].tolist())}
    assert len(at_noon) == n
    for i, t in enumerate(noon["ts"].tolist()):
        assert t < ref["ts"][i]  # the noon bar of D comes before D's session close
        expected = ref["close"][i - 1] if i else np.nan
        np.testing.assert_equal(at_noon[t], expected)


def test_read_table_frame_gives_bars_their_close_times_too():
    from data.readers import read_table_frame

    frame, first_line = read_table_frame(GOOG, kind="bar", mapping={"": "ts"})
    assert first_line == 2
    assert np.array_equal(frame["ts"].to_numpy(), read_bars(GOOG).data["ts"])
