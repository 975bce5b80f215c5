"""Fuzzing every reader with mutated real sample files (see tests/fuzz_oracle.py for the oracle
and the budget, tests/fuzz_mutate.py for the mutations, tests/fuzz_seeds.py for the seeds).

Each test draws a seed file, 1-3 mutation operators and (where the reader has them) options;
the only allowed outcomes are a parse that passes validation (or warned) and survives the
catalog round trip and the books, or a DataError naming the file with a fix.
"""

from __future__ import annotations

import io
import random
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fuzz_mutate import apply, benign, mutations
from fuzz_oracle import deep_into_engine, fuzz_settings, run_case, scratch_dir
from fuzz_seeds import (
    LOB,
    bar_seeds,
    binance_seed,
    case_files,
    head,
    long_bars_seed,
    table_seeds,
    tardis_seeds,
    truefx_seeds,
)
from hypothesis import given
from hypothesis import strategies as st

from data.errors import DataError
from data.readers import (
    iter_table,
    read_bars,
    read_bidask_bars,
    read_binance_stream,
    read_lobster,
    read_lobster_messages,
    read_lobster_orderbook,
    read_long_bars,
    read_table,
    read_tardis,
    read_truefx,
    read_wide_closes,
    sync_depth,
)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def work():
    with scratch_dir("tape-fuzz-") as d:
        (d / "catalog").mkdir()
        yield d


_EXPECTED: dict = {}


def _fuzz(work, target, files: dict[str, bytes], ops: dict[str, list], read, arrays, *,
          key=None, deep=None):
    """Mutate ``files`` ({name: seed bytes}) with ``ops`` ({name: operators}) and run
    ``read(*paths)`` through the oracle; when every operator keeps the meaning, the result must
    equal the unmutated seed's (``key`` names the seed and options for that cache)."""
    all_ops = [op for name in files for op in ops.get(name, [])]
    expect = None
    if key is not None and benign(all_ops):
        def expect():
            if key not in _EXPECTED:
                with case_files(work, files) as paths, warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        _EXPECTED[key] = arrays(read(*paths))
                    except DataError:
                        _EXPECTED[key] = None
            return _EXPECTED[key]
    mutated = {name: apply(data, ops.get(name, [])) for name, data in files.items()}
    with case_files(work, mutated) as paths:
        return run_case(target, lambda: read(*paths), paths, arrays=arrays, deep=deep,
                        expect=expect)


def _bars(b):
    return [(b.data, "bar", True)]


def _panel(p):
    return [(b.data, "bar", True) for b in p.values()]


def _ticks(t):
    return [(t.data, t.kind, False)]


# --- bars -------------------------------------------------------------------------------------
@fuzz_settings(1500)
@given(seed=st.sampled_from(range(len(bar_seeds()))), ops=mutations(),
       label=st.sampled_from(["auto", "auto", "open", "close", "session"]),
       tz=st.sampled_from([None, None, "America/New_York", "Europe/Berlin"]))
def test_fuzz_read_bars(work, seed, ops, label, tz):
    name, data = bar_seeds()[seed]
    _fuzz(work, "bars", {name: data}, {name: ops}, lambda p: read_bars(p, label=label, tz=tz),
          _bars, key=("bars", seed, label, tz),
          deep=deep_into_engine(work / "catalog", catalog_every=3))


@fuzz_settings(500)
@given(ops=mutations())
def test_fuzz_read_wide_closes(work, ops):
    data = head("cross_section/skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz", 30)
    name = "skfolio_sp500_20stocks.csv"
    _fuzz(work, "wide_closes", {name: data}, {name: ops}, read_wide_closes, _panel, key="wide")


@fuzz_settings(500)
@given(ops=mutations())
def test_fuzz_read_long_bars(work, ops):
    name = "long_ko_pep.csv"
    _fuzz(work, "long_bars", {name: long_bars_seed()}, {name: ops}, read_long_bars, _panel,
          key="long")


@fuzz_settings(600)
@given(bid_ops=mutations(), ask_ops=st.one_of(st.just([]), mutations()),
       swap=st.booleans())
def test_fuzz_read_bidask_bars(work, bid_ops, ask_ops, swap):
    bid = head("fx/fxcm_GBPUSD_m1_bid_2012-02.csv.gz", 40)
    ask = head("fx/fxcm_GBPUSD_m1_ask_2012-02.csv.gz", 40)
    names = ("fxcm_GBPUSD_m1_bid.csv", "fxcm_GBPUSD_m1_ask.csv")

    def arrays(x):
        return [(x.bid, "bar", True), (x.ask, "bar", True), (x.to_quotes(), "quote", True)]

    def read(b, a):
        return read_bidask_bars(a, b) if swap else read_bidask_bars(b, a)

    _fuzz(work, "bidask_bars", dict(zip(names, (bid, ask), strict=True)),
          dict(zip(names, (bid_ops, ask_ops), strict=True)), read, arrays, key=("bidask", swap))


# --- generic table ----------------------------------------------------------------------------
@fuzz_settings(1500)
@given(seed=st.sampled_from(range(len(table_seeds()))), ops=mutations())
def test_fuzz_read_table_csv(work, seed, ops):
    name, data, kind, opts = table_seeds()[seed]
    _fuzz(work, "table_csv", {name: data}, {name: ops}, lambda p: read_table(p, kind=kind, **opts),
          lambda a: [(a, kind, True)], key=("table", seed),
          deep=deep_into_engine(work / "catalog", catalog_every=3))


@fuzz_settings(600)
@given(seed=st.sampled_from(range(len(table_seeds()))), ops=mutations(),
       chunk=st.sampled_from([1, 7, 1000]))
def test_fuzz_iter_table(work, seed, ops, chunk):
    name, data, kind, opts = table_seeds()[seed]
    ops = [("crlf", x) if name.startswith("utf16") else (name, x) for name, x in ops]  # UTF-8 only

    def read(path):
        """Streamed chunks, which must equal the whole-file read row for row (a stream that
        ends early without an error would lose data silently; bars: with the same close times)."""
        parts = list(iter_table(path, kind=kind, chunk_rows=chunk, **opts))
        whole = read_table(path, kind=kind, sort=False, validate=False, **opts)
        streamed = np.concatenate(parts) if parts else whole[:0]
        same = len(streamed) == len(whole) and all(
            np.array_equal(streamed[f], whole[f], equal_nan=whole[f].dtype.kind == "f")
            for f in whole.dtype.names)  # values: -0.0 == 0.0 (the two parsers differ there)
        if not same:
            raise AssertionError(f"iter_table streamed {len(streamed)} rows, the file holds "
                                 f"{len(whole)} (or different values)")
        return parts

    _fuzz(work, "iter_table", {name: data}, {name: ops}, read,
          lambda parts: [(p, kind, False) for p in parts], key=("iter", seed, chunk))


_FRAME_OPS = ["drop", "rename", "to_string", "nulls", "inf", "huge", "negative", "dup_rows",
              "reverse", "to_int", "add_col"]


def _mutate_frame(df: pl.DataFrame, ops) -> pl.DataFrame:
    for name, seed in ops:
        r = random.Random(seed)
        col = r.choice(df.columns) if df.width else None
        if col is None:
            break
        if name == "drop" and df.width > 1:
            df = df.drop(col)
        elif name == "rename":
            new = r.choice(["ts", "price", "x", col.upper(), col + " "])
            while new in df.columns:
                new += "_"
            df = df.rename({col: new})
        elif name == "to_string":
            df = df.with_columns(pl.col(col).cast(pl.String))
        elif name == "nulls" and df.height:
            df = df.with_columns(pl.when(pl.int_range(pl.len()) == r.randrange(df.height))
                                 .then(None).otherwise(pl.col(col)).alias(col))
        elif name in ("inf", "huge", "negative") and df.schema[col].is_numeric():
            value = {"inf": float("inf"), "huge": 1e308, "negative": -1.0}[name]
            df = df.with_columns(pl.lit(value).cast(pl.Float64).alias(col))
        elif name == "dup_rows":
            df = pl.concat([df, df.head(3)])
        elif name == "reverse":
            df = df.reverse()
        elif name == "to_int" and df.schema[col].is_float():
            df = df.with_columns(pl.col(col).cast(pl.Int64, strict=False))
        elif name == "add_col":
            df = df.with_columns(pl.lit("é").alias("extra"))
    return df


@fuzz_settings(800)
@given(seed=st.sampled_from(range(len(table_seeds()))),
       frame_ops=st.lists(st.tuples(st.sampled_from(_FRAME_OPS), st.integers(0, 2**32 - 1)),
                          max_size=3),
       byte_ops=st.one_of(st.just([]), mutations(max_ops=2)))
def test_fuzz_read_table_parquet(work, seed, frame_ops, byte_ops):
    """Parquet files written from the seeds' rows, with frame-level changes (columns dropped,
    renamed, retyped; nulls, inf, huge values) and byte-level damage (truncation, flips)."""
    name, data, kind, opts = table_seeds()[seed]
    with case_files(work, {name: data}) as (csv_path,):
        frame = read_table(csv_path, kind=kind, **opts)
    df = pl.DataFrame({n: frame[n] for n in frame.dtype.names})
    df = _mutate_frame(df, frame_ops)
    buf = io.BytesIO()
    df.write_parquet(buf)
    parquet = apply(buf.getvalue(), byte_ops)
    with case_files(work, {name.rsplit(".", 1)[0] + ".parquet": parquet}) as (path,):
        run_case("table_parquet", lambda: read_table(path, kind=kind), [path],
                 arrays=lambda a: [(a, kind, True)],
                 deep=deep_into_engine(work / "catalog", catalog_every=3))


# --- tick formats -----------------------------------------------------------------------------
@fuzz_settings(1200)
@given(ops=mutations(), gz=st.booleans())
def test_fuzz_read_lobster_messages(work, ops, gz):
    name = Path(LOB.format("message")).name + (".gz" if gz else "")
    _fuzz(work, "lobster_messages", {name: head(LOB.format("message"), 40)}, {name: ops},
          lambda p: read_lobster_messages(p)[0], lambda m: [(m, "mbo", True)], key="lobmsg",
          deep=deep_into_engine(work / "catalog", tick_size=1e-4, lot_size=1.0, catalog_every=3))


@fuzz_settings(600)
@given(ops=mutations(), levels=st.sampled_from([None, None, 1, 5, 10, 11]))
def test_fuzz_read_lobster_orderbook(work, ops, levels):
    name = Path(LOB.format("orderbook")).name
    _fuzz(work, "lobster_orderbook", {name: head(LOB.format("orderbook"), 40)}, {name: ops},
          lambda p: read_lobster_orderbook(p, levels=levels),
          lambda book: [(book, "orderbook", False)], key=("lobob", levels))


@fuzz_settings(500)
@given(msg_ops=st.one_of(st.just([]), mutations()), ob_ops=st.one_of(st.just([]), mutations()))
def test_fuzz_read_lobster_pair(work, msg_ops, ob_ops):
    m, o = LOB.format("message"), LOB.format("orderbook")
    files = {Path(m).name: head(m, 30), Path(o).name: head(o, 30)}
    _fuzz(work, "lobster_pair", files, dict(zip(files, (msg_ops, ob_ops), strict=True)),
          read_lobster, lambda lob: [(lob.messages, "mbo", True), (lob.orderbook, "orderbook", 0)],
          key="lobpair",
          deep=deep_into_engine(work / "catalog", tick_size=1e-4, lot_size=1.0, catalog_every=5))


@fuzz_settings(1500)
@given(seed=st.sampled_from(range(len(tardis_seeds()))), ops=mutations())
def test_fuzz_read_tardis(work, seed, ops):
    name, data = tardis_seeds()[seed]
    _fuzz(work, "tardis", {name: data}, {name: ops}, read_tardis, _ticks, key=("tardis", seed),
          deep=deep_into_engine(work / "catalog", tick_size=0.01, catalog_every=3))


@fuzz_settings(1200)
@given(ops=mutations(json_lines=True))
def test_fuzz_read_binance_stream(work, ops):
    name = "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.txt"

    def read(path):
        stream = read_binance_stream(path)
        return stream, sync_depth(stream)

    def arrays(result):
        stream, synced = result
        out = [(stream.depth, "depth", False), (synced.depth, "depth", False)]
        out += [(stream.quotes, "quote", False), (stream.trades, "trade", False)]
        return [x for x in out if len(x[0])]

    _fuzz(work, "binance_stream", {name: binance_seed()}, {name: ops}, read, arrays,
          key="binance", deep=deep_into_engine(work / "catalog", tick_size=0.01, catalog_every=4))


@fuzz_settings(1000)
@given(seed=st.sampled_from(range(len(truefx_seeds()))), ops=mutations())
def test_fuzz_read_truefx(work, seed, ops):
    name, data = truefx_seeds()[seed]
    _fuzz(work, "truefx", {name: data}, {name: ops}, read_truefx, _ticks, key=("truefx", seed),
          deep=deep_into_engine(work / "catalog", catalog_every=3))
