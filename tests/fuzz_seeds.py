"""Seed files of the fuzz suites: the first lines of the real samples in data/samples.

Seeds are kept small (tens of lines) so a case parses in milliseconds; every byte comes from a
shipped sample (some are rearranged: a long OHLCV file from KO + PEP rows, a Tardis quotes file
from the top of the Tardis book snapshots, TrueFX's raw layout from the TrueFX sample).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import itertools
import json
import shutil
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
_case = itertools.count()


def _text(rel: str) -> bytes:
    raw = (SAMPLES / rel).read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def head(rel: str, n: int = 40) -> bytes:
    """The first ``n`` lines of a sample (decompressed), with their own line ends."""
    return b"".join(_text(rel).splitlines(keepends=True)[:n])


BAR_FILES = [
    "equities_daily/GOOG_2004-2013_backtesting.csv",  # backtesting.py: unnamed index column
    "crypto/Bitstamp_BTCUSD_d_2014-2022.csv",  # URL banner, newest first, unix, volume swap
    "crypto/Bitstamp_BTCUSD_1h_2018-2022.csv.gz",
    "intraday/2006-min-005.txt",  # backtrader Date,Time (+ 7-name header / 8-field rows)
    "pairs/EWA_daily_2006-2012.csv",  # E. Chan date,hi,lo,cl,op,vol YYYYMMDD
    "pairs/daily-KO.csv",  # Yahoo with Adj Close
    "pairs/GLD_daily_2004-2007.csv",  # M/D/YYYY
    "fx/EURUSD_H1_2017-2018_backtesting.csv",  # intraday index column
    "fx/fxcm_GBPUSD_m1_bid_2012-02.csv.gz",  # timestamp with +00:00, no volume
    "equities_daily/arch_SP500_index_1999-2018.csv.gz",
    "cross_section/skfolio_sp500_index_1990-2022.csv.gz",  # close-only Date,SP500
]


@functools.cache
def bar_seeds() -> list[tuple[str, bytes]]:
    return [(Path(rel).name.removesuffix(".gz"), head(rel, 40)) for rel in BAR_FILES]


@functools.cache
def long_bars_seed() -> bytes:
    """One OHLCV row per symbol and date with a Ticker column (KO and PEP, real rows)."""
    out = [b"Ticker,Date,Open,High,Low,Close,Volume,Adj Close"]
    for sym, rel in (("KO", "pairs/daily-KO.csv"), ("PEP", "pairs/daily-PEP.csv")):
        for line in head(rel, 21).splitlines()[1:]:
            cells = line.split(b",")
            out.append(b",".join([sym.encode(), *cells]))
    return b"\n".join(out) + b"\n"


LOB = "lob/AAPL_2012-06-21_first999_{}_10.csv"
TARDIS = {
    "tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv": 40,
    "tardis_deribit_BTC-PERPETUAL_incremental_book_L2_2020-04-01.csv": 17,
    "tardis_binance-futures_BTCUSDT_book_snapshot_25_2020-09-01.csv": 5,
}


@functools.cache
def tardis_seeds() -> list[tuple[str, bytes]]:
    seeds = [(name, head(f"crypto/{name}", n)) for name, n in TARDIS.items()]
    snap = head("crypto/tardis_binance-futures_BTCUSDT_book_snapshot_25_2020-09-01.csv", 11)
    rows = [b"exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"]
    for line in snap.splitlines()[1:]:
        c = line.split(b",")
        rows.append(b",".join([*c[:4], c[5], c[4], c[6], c[7]]))
    seeds.append(("tardis_binance-futures_BTCUSDT_quotes_2020-09-01.csv", b"\n".join(rows) + b"\n"))
    return seeds


@functools.cache
def binance_seed() -> bytes:
    """The capture's first 45 lines; the REST snapshot cut to its 30 best levels a side."""
    lines = _text("crypto/hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz")
    out = []
    for line in lines.splitlines()[:45]:
        head_, _, body = line.partition(b" ")
        if b"lastUpdateId" in body:
            snap = json.loads(body)
            snap["bids"], snap["asks"] = snap["bids"][:30], snap["asks"][:30]
            body = json.dumps(snap, separators=(",", ":")).encode()
        out.append(head_ + b" " + body)
    return b"\n".join(out) + b"\n"


@functools.cache
def truefx_seeds() -> list[tuple[str, bytes]]:
    iso = head("fx/truefx_USDJPY_ticks_2013-01.csv", 40)
    raw = []
    for line in iso.splitlines()[1:]:
        ts, bid, ask = line.decode().split(",")
        day, clock = ts[:10].replace("-", ""), ts[11:23]
        raw.append(f"USD/JPY,{day} {clock},{bid},{ask}")
    return [("truefx_USDJPY_ticks_2013-01.csv", iso),
            ("USDJPY-2013-01.csv", ("\n".join(raw) + "\n").encode())]


TABLE = [
    # (seed file, kind, read_table options)
    ("crypto/binance_futures_BTCUSDT_depth_update_2022-11-01.csv", "depth",
     {"ts_format": "ms", "side_map": {"b": 1, "a": -1}}),
    ("crypto/binance_futures_BTCUSDT_depth_snap_2022-11-01.csv", "depth",
     {"ts_format": "ms", "side_map": {"b": 1, "a": -1}}),
    ("crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv", "trade", {"ts_format": "us"}),
    ("fx/truefx_USDJPY_ticks_2013-01.csv", "quote", {}),
    ("lob/AAPL_2012-06-21_first999_message_10.csv", "mbo",
     {"mapping": {"0": "ts", "1": "event", "2": "order_id", "3": "size", "4": "price",
                  "5": "side"}, "ts_format": "s", "price_divisor": 10000.0}),
    ("equities_daily/GOOG_2004-2013_backtesting.csv", "bar", {"mapping": {"": "ts"}}),
]  # fmt: skip


@functools.cache
def table_seeds() -> list[tuple[str, bytes, str, dict]]:
    return [(Path(rel).name, head(rel, 40), kind, opts) for rel, kind, opts in TABLE]


@contextlib.contextmanager
def case_files(root: Path, files: dict[str, bytes]):
    """Write ``{name: bytes}`` into a fresh folder under ``root``; yield the paths; clean up."""
    d = root / f"case{next(_case)}"
    d.mkdir()
    try:
        paths = []
        for name, data in files.items():
            p = d / name
            p.write_bytes(data)
            paths.append(p)
        yield paths
    finally:
        shutil.rmtree(d, ignore_errors=True)
