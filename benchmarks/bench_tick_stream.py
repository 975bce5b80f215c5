"""Tick runs streamed from the catalog: peak memory and events/s of the benchmark market maker
(and of a pure simulator replay) at two feed sizes, against the same run on the whole feed.

Phases, each in its own fresh process so that its peak RSS (``ru_maxrss``) is its own:

1. ``write``: the generated L2 feed of ``benchmarks/synth.py`` (depth diffs + trades, the
   feed the harness replays), produced in pieces of ``--piece`` events (each piece after the
   first starts with a both-sides ``CLEAR|SNAPSHOT`` row and its own 20-level snapshot, its
   times shifted after the previous piece) and streamed into a fresh catalog (``depth`` and
   ``trade`` of symbol ``GEN``) with ``Catalog.write_chunks``;
2. ``mm``: ``engine.run`` of ``grid_mm`` (the l2_mm loop of benchmarks/README.md: 10 ms
   requotes, conservative queue, no partial fills, 1 ms latencies, recorded feed latency,
   compiled) on ``catalog://depth/GEN`` + ``catalog://trade/GEN``, streamed in windows of
   ``--chunk-rows`` rows; the result's equity, fills and stats are built (not saved);
3. ``replay``: the tick simulator alone on the same stream (exchange + strategy books, a
   compiled probe reading the best bid/ask every 1 s: ``l2_replay_tapereader.py mode=sim``);
4. ``mm-whole`` (``--whole``): the same market maker on the whole feed loaded from the
   catalog (``Catalog.load`` + ``build_feed``): today's in-memory path, for the memory
   comparison and as a check that the streamed run gives the same fills.

Usage: ``python benchmarks/bench_tick_stream.py --events 10_000_000 50_000_000 [--whole]``.
The catalog is written once per size in a temp folder (or ``--root``) and removed afterwards.
A 100k-event warm-up run (numba cache load) happens in each run process before the timing;
its memory is part of the peak. The machine is shared (2 cores): the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
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

SYMBOL = "GEN"
MM_PARAMS = dict(timer_ns=10_000_000, order_qty=1.0, max_position=10.0, half_spread_ticks=1)
MM_TICK = dict(tick_size=0.01, queue="conservative", partial_fills=False,
               entry_latency=1_000_000, response_latency=1_000_000, maker_fee=-0.00005,
               taker_fee=0.0007, feed_latency="recorded", calendar="24/7", sample="1s")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pieces(events: int, piece: int):
    """(depth, trade) arrays of the generated feed, ``piece`` events at a time."""
    from benchmarks.synth import generate_l2
    from data.schema import DEPTH, DEPTH_CLEAR, DEPTH_SNAPSHOT

    done = 0
    k = 0
    t_next = 0
    while done < events:
        n = min(piece, events - done)
        g = generate_l2(max(n, 100), seed=1000 + k)
        del g["hft"]
        depth, trade = g["depth"], g["trade"]
        shift = t_next - int(depth["ts"][0]) if k else 0
        for a in (depth, trade):
            a["ts"] += shift
            a["ts_recv"] += shift
        if k:  # a fresh book: both sides cleared, then the piece's own snapshot
            clear = np.zeros(1, DEPTH)
            clear[0] = (depth["ts"][0], depth["ts"][0], 0, np.nan, 0.0,
                        DEPTH_CLEAR | DEPTH_SNAPSHOT)
            depth = np.concatenate([clear, depth])
        t_next = int(max(depth["ts"][-1], trade["ts"][-1] if len(trade) else 0)) + 1_000_000
        yield depth, trade
        done += n
        k += 1


def phase_write(root: Path, events: int, piece: int) -> dict:
    from data.catalog import Catalog
    from data.schema import Instrument

    cat = Catalog(root)
    inst = Instrument(symbol=SYMBOL, tick_size=0.01, calendar="24/7")
    t0 = time.perf_counter()
    # two passes over the generator (same seeds): one per kind, so each write streams
    rows = {}
    for j, kind in enumerate(("depth", "trade")):
        gen = (p[j] for p in pieces(events, piece))
        cat.write_chunks(kind, SYMBOL, gen, source="bench_tick_stream generated L2 feed",
                         instrument=inst)
        rows[kind] = sum(i.rows for i in cat.ls() if i.kind == kind)
    secs = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    return {"seconds": secs, "peak_rss_mb": _rss_mb(), "disk_mb": size / 2**20, "rows": rows}


def _refs(root: Path, end: str | None = None) -> list[str]:
    q = f"?root={root.as_posix()}" + (f"&end={end}" if end else "")
    return [f"catalog://depth/{SYMBOL}{q}", f"catalog://trade/{SYMBOL}{q}"]


def _fingerprint(res) -> dict:
    f = res.fills_rec
    return {"orders": int(len(res.orders_rec)), "fills": int(len(f)),
            "position": float((f["side"] * f["size"]).sum()),
            "fees": float(f["fee"].sum()), "final_equity": float(res.final_equity)}


def _warm(root: Path, chunk: int) -> None:
    import engine
    from data.catalog import Catalog

    first = next(Catalog(root).scan("depth", SYMBOL, chunk_rows=100_000))
    end = str(np.datetime64(int(first["ts"][-1]), "ns")) + "Z"
    engine.run(market=_refs(root, end), strategy="grid_mm", cash=10_000.0, params=MM_PARAMS,
               tick=dict(MM_TICK, chunk_rows=chunk))


def phase_mm(root: Path, chunk: int) -> dict:
    import engine

    _warm(root, chunk)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    res = engine.run(market=_refs(root), strategy="grid_mm", cash=10_000.0, params=MM_PARAMS,
                     tick=dict(MM_TICK, chunk_rows=chunk))
    _ = res.stats
    secs = time.perf_counter() - t0
    events = sum(s["rows"] for s in res.market.sources)
    sim = res.tick.sim  # the outputs' arrays (capacity: grown by doubling)
    out_mb = sum(a.nbytes for a in (sim.orders_arr, sim.oi, sim.of, sim.live, sim.fills_arr,
                                    sim.notes)) / 2**20
    return {"events": events, "seconds": secs, "events_per_s": events / secs,
            "peak_rss_mb": _rss_mb(), "rss_after_warmup_mb": rss0, "mode": res.mode,
            "outputs_mb": out_mb, "timings": res.timings, "result": _fingerprint(res)}


def phase_whole(root: Path, chunk: int) -> dict:
    import engine
    from data.catalog import Catalog
    from engine.tick import build_feed

    _warm(root, chunk)
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    cat = Catalog(root)
    feed = build_feed(depth=cat.load("depth", SYMBOL), trade=cat.load("trade", SYMBOL),
                      tick_size=0.01, feed_latency="recorded")
    t_load = time.perf_counter() - t0
    tick = {k: v for k, v in MM_TICK.items() if k != "feed_latency"}
    res = engine.run(market=feed, strategy="grid_mm", cash=10_000.0, params=MM_PARAMS, tick=tick)
    _ = res.stats
    secs = time.perf_counter() - t0
    events = feed.n_events
    return {"events": events, "seconds": secs, "events_per_s": events / secs,
            "load_s": t_load, "peak_rss_mb": _rss_mb(), "rss_after_warmup_mb": rss0,
            "mode": res.mode, "result": _fingerprint(res)}


def phase_replay(root: Path, chunk: int) -> dict:
    from numba import njit

    from data.catalog import Catalog
    from engine.book.codes import NO_TICK
    from engine.book.l2_nb import l2_best_nb
    from engine.tick import TickConfig, run_compiled
    from engine.tick.stream import FeedStream, catalog_facts, catalog_sources

    @njit
    def probe(code, D, T, BL, OS, sv, cf, P, S):
        dq, ok, oq, meta = BL
        bb, _q = l2_best_nb(dq, ok, oq, meta, 0)
        ba, _q = l2_best_nb(dq, ok, oq, meta, 1)
        if bb != NO_TICK and ba != NO_TICK:
            S[0] += 0.5 * (bb + ba) * cf[0]
            S[1] += 1.0

    cat = Catalog(root)

    def stream(end=None):
        kinds = ("depth", "trade")
        facts = catalog_facts(cat, SYMBOL, kinds, "recorded", end=end, chunk_rows=chunk)
        return FeedStream(catalog_sources(cat, SYMBOL, kinds, end=end, chunk_rows=chunk),
                          tick_size=0.01, feed_latency="recorded", chunk_rows=chunk, **facts)

    first = next(cat.scan("depth", SYMBOL, chunk_rows=100_000))
    run_compiled(probe, stream(int(first["ts"][-1])), TickConfig(), timer_ns=10**9)  # compile
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    s = stream()
    res = run_compiled(probe, s, TickConfig(), timer_ns=10**9, state=np.zeros(4))
    secs = time.perf_counter() - t0
    events = s.carry.rank0
    return {"events": events, "seconds": secs, "events_per_s": events / secs,
            "peak_rss_mb": _rss_mb(), "rss_after_warmup_mb": rss0, "windows": s.pieces,
            "wakes": res.wakes}


PHASES = {"write": None, "mm": phase_mm, "replay": phase_replay, "mm-whole": phase_whole}


def _sub(phase: str, root: Path, args, events: int) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--root", str(root), "--events",
           str(events), "--piece", str(args.piece), "--chunk-rows", str(args.chunk_rows)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"{phase} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, nargs="+", default=[10_000_000, 50_000_000])
    ap.add_argument("--piece", type=int, default=2_000_000, help="events generated per piece")
    ap.add_argument("--chunk-rows", type=int, default=250_000, help="rows per window")
    ap.add_argument("--whole", action="store_true", help="also run the whole-feed path")
    ap.add_argument("--root", type=Path, help="catalog folder (default: a temp folder)")
    ap.add_argument("--phase", choices=list(PHASES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        if args.phase == "write":
            res = phase_write(args.root, args.events[0], args.piece)
        else:
            res = PHASES[args.phase](args.root, args.chunk_rows)
        print(json.dumps(res))
        return
    print(f"load average before: {os.getloadavg()}")
    rows = []
    for n in args.events:
        base = args.root or Path(tempfile.mkdtemp(prefix="tape-tickstream-"))
        root = base / f"catalog_{n}"
        try:
            w = _sub("write", root, args, n)
            print(f"{n:,} events: catalog written in {w['seconds']:.0f} s ({w['disk_mb']:.0f} MB, "
                  f"rows {w['rows']}), peak RSS {w['peak_rss_mb']:.0f} MB")
            for phase in ["mm", "replay"] + (["mm-whole"] if args.whole else []):
                r = _sub(phase, root, args, n)
                r["phase"], r["n"] = phase, n
                r["load_avg"] = os.getloadavg()[0]
                rows.append(r)
                print(f"  {phase:9s} {r['events']:,} events in {r['seconds']:.1f} s = "
                      f"{r['events_per_s'] / 1e6:.2f} M events/s, peak RSS "
                      f"{r['peak_rss_mb']:.0f} MB (after warm-up {r['rss_after_warmup_mb']:.0f}"
                      f" MB), load {r['load_avg']:.1f}"
                      + (f", simulator output arrays {r['outputs_mb']:.0f} MB"
                         if "outputs_mb" in r else "") + f"  {r.get('result', '')}")
        finally:
            shutil.rmtree(root if args.root else base, ignore_errors=True)
    mm = [r for r in rows if r["phase"] == "mm"]
    if len(mm) > 1:
        peaks = ", ".join(f"{r['n']:,}: {r['peak_rss_mb']:.0f} MB" for r in mm)
        ok = max(r["peak_rss_mb"] for r in mm) < 1024
        print(f"streamed MM peak RSS: {peaks}; target < 1024 MB: {'met' if ok else 'MISSED'}")
    whole = {r["n"]: r for r in rows if r["phase"] == "mm-whole"}
    for r in mm:
        if r["n"] in whole:
            same = r["result"] == whole[r["n"]]["result"]
            print(f"{r['n']:,}: streamed and whole-feed MM results identical: {same}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
