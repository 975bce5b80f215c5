"""The Parquet catalog: exact round trips for every kind, idempotent and atomic imports (also
when the importing process is killed), bounded-memory chunked reads, catalog references."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pyarrow as pa
import pytest
from conftest import REPO

from data.catalog import Catalog, default_root, parse_ref, resolve, scan_ref
from data.catalog.store import ENV_VAR
from data.errors import ConfigError, DataError, RunError
from data.readers import read_bars, read_table

GOOG = "equities_daily/GOOG_2004-2013_backtesting.csv"
TRADES = "crypto/tardis_binance-futures_BTCUSDT_trades_2020-02-22.csv"


@pytest.fixture(scope="module")
def arrays():
    from conftest import SAMPLES

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quotes = read_table(SAMPLES / "fx/truefx_USDJPY_ticks_2013-01.csv", kind="quote")
        quotes["bid_size"][::3] = -0.0  # signed zeros and NaN payloads must survive too
        return {
            "bar": read_bars(SAMPLES / GOOG).data,
            "trade": read_table(SAMPLES / TRADES, kind="trade"),
            "quote": quotes,
            "depth": read_table(
                SAMPLES / "crypto/binance_futures_BTCUSDT_depth_update_2022-11-01.csv",
                kind="depth",
                mapping={"qty": "size"},
            ),  # fmt: skip
            "mbo": read_table(
                SAMPLES / "lob/AAPL_2012-06-21_first999_message_10.csv",
                kind="mbo",
                ts_format="s",
                price_divisor=10_000,
                mapping={
                    "0": "ts",
                    "1": "event",
                    "2": "order_id",
                    "3": "size",
                    "4": "price",
                    "5": "side",
                },
            ),  # fmt: skip
        }


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("kind", ["bar", "trade", "quote", "depth", "mbo"])
def test_round_trip_is_bit_identical(tmp_path, arrays, kind):
    cat = Catalog(tmp_path)
    arr = arrays[kind]
    res = cat.write(kind, "X", arr)
    assert (res.rows_added, res.rows_total, res.skipped) == (len(arr), len(arr), False)
    back = cat.load(kind, "X")
    assert back.dtype == arr.dtype and back.tobytes() == arr.tobytes()
    assert np.concatenate(list(cat.scan(kind, "X", chunk_rows=77))).tobytes() == arr.tobytes()


def test_partitions_follow_kind_symbol_date(tmp_path, arrays):
    cat = Catalog(tmp_path)
    cat.write("bar", "GOOG", arrays["bar"])
    cat.write("trade", "BTC/USDT", arrays["trade"])
    files = _files(tmp_path)
    assert "bar/GOOG/_manifest.json" in files
    assert sum(f.startswith("bar/GOOG/date=2004/part-") for f in files) == 1
    assert len([f for f in files if f.startswith("bar/GOOG/date=")]) == 10  # 2004..2013
    assert any(f.startswith("trade/BTC%2FUSDT/date=2020-02-22/part-") for f in files)
    info = {(d.kind, d.symbol): d for d in cat.ls()}
    assert info[("bar", "GOOG")].rows == 2148 and info[("bar", "GOOG")].period == "year"
    assert info[("trade", "BTC/USDT")].partitions == 1


def test_import_is_idempotent(tmp_path, samples):
    cat = Catalog(tmp_path)
    first = cat.import_file(samples / GOOG)
    manifest = (tmp_path / "bar/GOOG/_manifest.json").read_bytes()
    files = _files(tmp_path)
    again = cat.import_file(samples / GOOG)
    assert first[0].rows_added == 2148 and again[0].skipped and again[0].rows_added == 0
    copy = tmp_path.parent / "goog-copy.csv"  # same content under another name: content hash
    copy.write_bytes((samples / GOOG).read_bytes())
    assert cat.import_file(copy, symbol="GOOG")[0].skipped
    assert (tmp_path / "bar/GOOG/_manifest.json").read_bytes() == manifest
    assert _files(tmp_path) == files


def test_overlapping_import_replaces_its_range(tmp_path, arrays):
    cat = Catalog(tmp_path)
    bars = arrays["bar"]
    cat.write("bar", "GOOG", bars[:1500])
    cat.write("bar", "GOOG", bars[1000:])  # overlaps 500 bars: replaced, not duplicated
    assert cat.load("bar", "GOOG").tobytes() == bars.tobytes()
    fixed = bars[1200:1210].copy()
    fixed["volume"] += 1
    cat.write("bar", "GOOG", fixed)
    out = cat.load("bar", "GOOG")
    assert len(out) == len(bars) and np.array_equal(out[1200:1210], fixed)
    assert np.array_equal(out[:1200], bars[:1200]) and np.array_equal(out[1210:], bars[1210:])
    with pytest.raises(DataError, match="same close time"):
        cat.write("bar", "GOOG", _bumped(bars[:5]), mode="append")
    trades = arrays["trade"]
    cat.write("trade", "T", trades)
    cat.write("trade", "T", trades[:10].copy(), mode="append")  # append keeps both copies
    assert len(cat.load("trade", "T")) == len(trades) + 10


def _bumped(a):
    b = a.copy()
    b["close"] += 0.01
    b["high"] += 0.01
    return b


def test_interrupted_import_leaves_catalog_unchanged(tmp_path, arrays, monkeypatch):
    cat = Catalog(tmp_path)
    bars = arrays["bar"]
    cat.write("bar", "GOOG", bars)
    before, files = cat.load("bar", "GOOG"), _files(tmp_path)
    calls = {"n": 0}
    original = Catalog._write_partition

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("disk full (simulated)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Catalog, "_write_partition", failing)
    changed = bars.copy()
    changed["volume"] *= 2
    with pytest.raises(RunError, match="disk full.*the catalog is unchanged"):
        cat.write("bar", "GOOG", changed)
    assert cat.load("bar", "GOOG").tobytes() == before.tobytes()
    assert calls["n"] == 4 and len(_files(tmp_path)) == len(files)  # its new files are removed
    monkeypatch.setattr(Catalog, "_write_partition", original)
    cat.write("bar", "GOOG", changed)  # the next import commits and sweeps the orphans
    assert cat.load("bar", "GOOG").tobytes() == changed.tobytes()
    assert len(_files(tmp_path)) == len(files)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_killed_import_process_leaves_catalog_unchanged(tmp_path, arrays):
    root = tmp_path / "cat"
    cat = Catalog(root)
    bars = arrays["bar"]
    cat.write("bar", "GOOG", bars)
    before = cat.load("bar", "GOOG").tobytes()
    marker = tmp_path / "writing"
    np.save(tmp_path / "new.npy", _bumped(bars))
    script = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
import numpy as np
from data.catalog.store import Catalog
orig = Catalog._write_partition
n = [0]
def slow(self, *a, **k):
    n[0] += 1
    if n[0] == 5:
        open({str(marker)!r}, "w").close()
        time.sleep(120)
    return orig(self, *a, **k)
Catalog._write_partition = slow
Catalog({str(root)!r}).write("bar", "GOOG", np.load({str(tmp_path / "new.npy")!r}))
"""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "import process died early"
            assert time.monotonic() < deadline, "import process never reached the pause"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert Catalog(root).load("bar", "GOOG").tobytes() == before  # nothing half-written shows
    assert list((root / "bar/GOOG").glob("date=*/*.tmp-*"))  # the killed import's leftovers
    Catalog(root).write("bar", "GOOG", _bumped(bars))  # and the catalog stays usable
    assert not list((root / "bar/GOOG").glob("date=*/*.tmp-*"))
    assert Catalog(root).load("bar", "GOOG").tobytes() == _bumped(bars).tobytes()


def test_chunked_reads_are_bounded_and_time_ordered(tmp_path, arrays):
    trades = arrays["trade"]
    # 40 consecutive copies of the real trades, each shifted by 3 hours: 400k rows over 5 days
    shift = np.int64(3 * 3600 * 10**9)
    big = np.concatenate([trades] * 40)
    offsets = np.repeat(np.arange(40, dtype=np.int64) * shift, len(trades))
    big["ts"] += offsets
    big["ts_recv"] += offsets
    cat = Catalog(tmp_path)
    cat.write("trade", "BTCUSDT", big)
    assert {d.partitions for d in cat.ls()} == {5}
    chunk = 5_000
    tracemalloc.start()
    pa_peak, last, n = 0, None, 0
    for part in cat.scan("trade", "BTCUSDT", chunk_rows=chunk):
        assert len(part) <= chunk
        assert last is None or part["ts"][0] >= last
        assert np.all(np.diff(part["ts"]) >= 0)
        last = part["ts"][-1]
        n += len(part)
        pa_peak = max(pa_peak, pa.total_allocated_bytes())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == len(big)
    assert peak < big.nbytes / 4, (peak, big.nbytes)  # numpy side: a few chunks, not the data
    assert pa_peak < big.nbytes / 2, (pa_peak, big.nbytes)  # arrow side: one row group


def test_time_range_is_inclusive_and_date_end_covers_the_day(tmp_path, arrays):
    cat = Catalog(tmp_path)
    bars = arrays["bar"]
    cat.write("bar", "GOOG", bars)
    got = cat.load("bar", "GOOG", "2010-01-01", "2012-12-31")
    ts = bars["ts"]
    lo = np.datetime64("2010-01-01", "ns").astype(np.int64)
    hi = np.datetime64("2013-01-01", "ns").astype(np.int64)
    assert np.array_equal(got, bars[(ts >= lo) & (ts < hi)])
    exact = cat.load("bar", "GOOG", int(ts[5]), int(ts[9]))
    assert np.array_equal(exact, bars[5:10])
    assert len(cat.load("bar", "GOOG", "1990-01-01", "1990-12-31")) == 0


def test_references_resolve_to_bars_and_series(tmp_path, samples, arrays):
    cat = Catalog(tmp_path)
    cat.import_file(samples / GOOG)
    cat.write("trade", "BTCUSDT", arrays["trade"])
    direct = read_bars(samples / GOOG)
    b = resolve("catalog://bar/GOOG", catalog=cat)
    assert b.symbol == "GOOG" and b.data.tobytes() == direct.data.tobytes()
    assert b.interval_ns == direct.interval_ns and b.instrument == direct.instrument
    assert b.source == "catalog://bar/GOOG" and len(b.sha256) == 64
    s = resolve(f"catalog://trade/BTCUSDT?end=2020-02-22T00:10:00Z&root={tmp_path}")
    assert s.kind == "trade" and len(s) == int((arrays["trade"]["ts"] <= 1582330200 * 10**9).sum())
    chunks = list(scan_ref("catalog://trade/BTCUSDT", chunk_rows=4000, catalog=tmp_path))
    assert [len(c) for c in chunks] == [4000, 4000, 1999]
    r = parse_ref("catalog://bar/BRK%2FB?start=2010-01-01")
    assert (r.kind, r.symbol, r.end) == ("bar", "BRK/B", None)
    for bad in ("catalog://bars/GOOG", "catalog://bar/", "catalog://bar/GOOG?from=2010", "GOOG"):
        with pytest.raises(ConfigError):
            parse_ref(bad)
    with pytest.raises(DataError, match="no bar data for 'MSFT'.*available: bar/GOOG"):
        resolve("catalog://bar/MSFT", catalog=cat)


def test_streamed_import_equals_in_memory_import(tmp_path, samples):
    a, b = Catalog(tmp_path / "a"), Catalog(tmp_path / "b")
    ra = a.import_file(samples / TRADES)[0]
    rb = b.import_file(samples / TRADES, stream_bytes=0, chunk_rows=1234)[0]
    assert ra.content_sha256 == rb.content_sha256 and ra.rows_total == rb.rows_total == 9999
    assert a.load("trade", "BTCUSDT").tobytes() == b.load("trade", "BTCUSDT").tobytes()


def _day_of_depth(arrays, chunks, per_chunk=100):
    """``chunks`` arrays of ``per_chunk`` back-to-back copies of the real depth rows (100 rows
    sharing one ts, 61 ms before midnight), shifted 1 ns per copy: all inside one UTC day."""
    depth = arrays["depth"]
    for c in range(chunks):
        part = np.tile(depth, per_chunk)
        shift = np.repeat(np.arange(c * per_chunk, (c + 1) * per_chunk, dtype=np.int64), len(depth))
        part["ts"] += shift
        part["ts_recv"] += shift
        yield part


def test_a_big_partition_is_written_piece_by_piece(tmp_path, arrays):
    """A day of tick rows is never concatenated in memory: the import holds the spill budget,
    one piece and one row group; the file is byte-identical to writing the day at once."""
    import pyarrow.parquet as pq

    from data.catalog.files import ROW_GROUP_ROWS, read_file, to_table

    copies = 200  # 200 chunks of 10,000 rows: 2M rows, 68 MB, 15 row groups
    total = sum(len(p) for p in _day_of_depth(arrays, copies))
    nbytes = total * arrays["depth"].dtype.itemsize
    assert total > 3 * ROW_GROUP_ROWS
    Catalog(tmp_path / "warm").write_chunks("depth", "BTCUSDT", _day_of_depth(arrays, 1, 1))
    Catalog(tmp_path / "warm").load("depth", "BTCUSDT")  # lazy imports outside the measure
    cat = Catalog(tmp_path / "cat")
    tracemalloc.start()
    res = cat.write_chunks("depth", "BTCUSDT", _day_of_depth(arrays, copies), spill_bytes=1 << 20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert res.rows_added == total and cat.ls()[0].partitions == 1
    assert peak < nbytes / 4, (peak, nbytes)  # numpy side: never the whole day
    whole = np.concatenate(list(_day_of_depth(arrays, copies)))
    assert cat.load("depth", "BTCUSDT").tobytes() == whole.tobytes()
    entry = next(iter(cat.manifest("depth", "BTCUSDT")["partitions"].values()))
    assert (entry["rows"], entry["ts_min"], entry["ts_max"]) == \
        (total, int(whole["ts"][0]), int(whole["ts"][-1]))
    path = tmp_path / "cat" / "depth" / "BTCUSDT" / entry["file"]
    ref = tmp_path / "ref.parquet"
    pq.write_table(to_table(read_file(path, "depth"), "depth"), ref,
                   row_group_size=ROW_GROUP_ROWS, compression="zstd")
    assert path.read_bytes() == ref.read_bytes()


def test_pieces_out_of_time_order_are_sorted_in_memory(tmp_path, arrays):
    """Trades may arrive out of order across chunks: the piece-by-piece writer notices, drops
    its temp file, and the partition is sorted as before."""
    trades = arrays["trade"]
    half = len(trades) // 2
    cat = Catalog(tmp_path)
    cat.write_chunks("trade", "BTCUSDT", [trades[half:], trades[:half]], spill_bytes=1024)
    assert cat.load("trade", "BTCUSDT").tobytes() == trades.tobytes()
    assert not [f for f in tmp_path.rglob("*") if ".tmp-" in f.name or ".staging-" in f.name]


def test_multi_symbol_file_imports_every_symbol(tmp_path, samples):
    cat = Catalog(tmp_path)
    res = cat.import_file(
        samples / "cross_section/skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"
    )
    assert len(res) == 20 and {r.rows_added for r in res} == {8313}
    assert len(cat.ls()) == 20


def test_depth_rows_out_of_order_are_refused(tmp_path, arrays):
    depth = arrays["depth"].copy()
    depth["ts"][3] -= 10**9
    with pytest.raises(DataError, match="not in time order"):
        Catalog(tmp_path).write("depth", "BTCUSDT", depth)
    with pytest.raises(DataError, match="not a canonical trade array"):
        Catalog(tmp_path).write("trade", "BTCUSDT", arrays["quote"])


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "mycat"))
    assert default_root() == tmp_path / "mycat" and Catalog().root == tmp_path / "mycat"
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert default_root() == tmp_path / "xdg" / "tapereader" / "catalog"
    assert json.loads(json.dumps(str(default_root())))


def test_a_read_racing_an_import_fails_clearly(tmp_path, arrays):
    cat = Catalog(tmp_path)
    bars = arrays["bar"]
    cat.write("bar", "GOOG", bars)
    reader = cat.scan("bar", "GOOG", chunk_rows=100)
    first = next(reader)
    assert np.array_equal(first, bars[:100])
    cat.write("bar", "GOOG", _bumped(bars))  # replaces every partition file
    with pytest.raises(DataError, match="changed during the read"):
        list(reader)
    assert cat.load("bar", "GOOG").tobytes() == _bumped(bars).tobytes()
