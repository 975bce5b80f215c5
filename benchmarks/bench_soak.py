"""Soak: 100M generated L2 events written to the catalog, then replayed from it in chunks
through the L2 book kernels, with peak memory measured (target: under 1 GB).

Phases, each in its own fresh process so that its peak RSS is its own:

1. ``write``: the depth rows of the seeded L2 simulation of :mod:`benchmarks.synth`,
   generated in chunks of ``--chunk`` rows (each chunk after the first starts with a
   ``CLEAR|SNAPSHOT`` row, so that a chunk's independent random walk never meets the previous
   chunk's levels), time-stamped ``--spacing`` ns apart (about 1M rows per daily partition)
   and streamed into a fresh catalog with ``Catalog.write_chunks`` (memory bounded by the spill
   threshold plus a chunk and a row group: new tick partitions are written piece by piece;
   ``--spacing 1000`` puts up to 86M events in one daily partition);
2. ``replay``: ``Catalog.scan("depth", ...)`` yields ``--scan-rows`` rows at a time, each chunk
   goes through ``L2Book.apply`` (the Python boundary checks, price -> tick conversion and the
   ``l2_replay_nb`` kernel); events/s and the peak RSS of the process are printed, with the
   book's counters at the end.

Usage: ``python benchmarks/bench_soak.py [--events 100_000_000] [--root DIR] [--keep]``.
The machine is shared (2 cores, other jobs running): treat throughput as indicative; the peak
memory is what this benchmark is for.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SYMBOL = "SOAK"
TICK = 0.01
T0 = 1_700_000_000_000_000_000 // 86_400_000_000_000 * 86_400_000_000_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunks(events: int, chunk: int, spacing: int):
    """DEPTH arrays of the generated feed (the depth rows of :mod:`benchmarks.synth`'s L2
    simulation, trades dropped), about ``chunk`` rows at a time, ``events`` rows in all."""
    from benchmarks.synth import _K_DEPTH, _l2_feed_nb
    from data.schema import BUY, DEPTH, DEPTH_CLEAR, DEPTH_LAST, DEPTH_SNAPSHOT, SELL

    done = 0
    k = 0
    while done < events:
        n = min(chunk, events - done)
        p0 = 10_000
        kind, _, side, tick, qty, flags, m = _l2_feed_nb(
            n + n // 2, np.random.default_rng(k), 2 * p0, p0, 20)
        keep = np.flatnonzero(kind[:m] == _K_DEPTH)[:n]
        n = len(keep)
        out = np.empty(n, dtype=DEPTH)
        out["ts"] = T0 + (done + np.arange(n, dtype=np.int64)) * spacing
        out["ts_recv"] = out["ts"]
        out["side"] = np.where(side[keep] > 0, BUY, SELL)
        out["price"] = tick[keep] * TICK
        out["size"] = qty[keep]
        out["flags"] = flags[keep]
        if k:  # a fresh random walk: the book is reset by an empty snapshot first
            out[0] = (out["ts"][0], out["ts"][0], 0, np.nan, 0.0,
                      DEPTH_CLEAR | DEPTH_SNAPSHOT | DEPTH_LAST)
        yield out
        done += n
        k += 1


def phase_write(root: Path, events: int, chunk: int, spacing: int) -> dict:
    from data.catalog import Catalog

    t0 = time.perf_counter()
    res = Catalog(root).write_chunks("depth", SYMBOL, chunks(events, chunk, spacing),
                                     source="bench_soak synthetic L2 feed")
    secs = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    return {"events": events, "seconds": secs, "peak_rss_mb": _rss_mb(),
            "disk_mb": size / 2**20, "partitions": len(list(root.rglob("*.parquet"))),
            "result": str(res)[:200]}


def phase_replay(root: Path, scan_rows: int) -> dict:
    from data.catalog import Catalog
    from engine.book.book import L2Book

    cat = Catalog(root)
    book = L2Book(TICK)
    warm = next(cat.scan("depth", SYMBOL, chunk_rows=1000))
    L2Book(TICK).apply(warm)  # numba compile / cache load outside the timing
    rss_before = _rss_mb()
    n = 0
    n_chunks = 0
    t0 = time.perf_counter()
    for arr in cat.scan("depth", SYMBOL, chunk_rows=scan_rows):
        book.apply(arr)
        n += len(arr)
        n_chunks += 1
    secs = time.perf_counter() - t0
    return {"events": n, "chunks": n_chunks, "seconds": secs, "events_per_s": n / secs,
            "peak_rss_mb": _rss_mb(), "rss_before_replay_mb": rss_before,
            "counters": {k: int(v) for k, v in book.counters().items()},
            "levels": [book.n_levels(1), book.n_levels(-1)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=100_000_000)
    ap.add_argument("--chunk", type=int, default=2_000_000, help="rows generated per chunk")
    ap.add_argument("--scan-rows", type=int, default=1_000_000, help="rows per replay chunk")
    ap.add_argument("--spacing", type=int, default=86_400_000, help="ns between events")
    ap.add_argument("--root", type=Path, help="catalog folder (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the catalog afterwards")
    ap.add_argument("--phase", choices=["write", "replay"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        res = (phase_write(args.root, args.events, args.chunk, args.spacing)
               if args.phase == "write" else phase_replay(args.root, args.scan_rows))
        print(json.dumps(res))
        return
    root = args.root or Path(tempfile.mkdtemp(prefix="tape-soak-")) / "catalog"
    try:
        out = {}
        for phase in ("write", "replay"):
            cmd = [sys.executable, __file__, "--phase", phase, "--root", str(root),
                   "--events", str(args.events), "--chunk", str(args.chunk),
                   "--scan-rows", str(args.scan_rows), "--spacing", str(args.spacing)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                sys.exit(f"{phase} failed:\n{proc.stderr[-3000:]}")
            out[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
        w, r = out["write"], out["replay"]
        print(f"write : {w['events']:,} DEPTH events in {w['seconds']:.1f} s "
              f"({w['events'] / w['seconds']:,.0f} events/s), {w['partitions']} daily "
              f"partitions, {w['disk_mb']:,.0f} MB on disk, peak RSS {w['peak_rss_mb']:,.0f} MB")
        print(f"replay: {r['events']:,} events in {r['chunks']} chunks, {r['seconds']:.1f} s "
              f"({r['events_per_s']:,.0f} events/s, catalog scan + L2Book.apply), peak RSS "
              f"{r['peak_rss_mb']:,.0f} MB (before the replay {r['rss_before_replay_mb']:,.0f} MB)")
        print(f"book at the end: levels bid/ask {r['levels']}, counters {r['counters']}")
        ok = max(w["peak_rss_mb"], r["peak_rss_mb"]) < 1024
        print(f"peak memory target (< 1 GB): {'met' if ok else 'MISSED'}; shared 2-core machine")
    finally:
        if not args.keep and args.root is None:
            shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
