"""Pure order-book replay throughput (events/s) and peak memory.

Cases (each in its own fresh process, so peak RSS is per case):

* ``l3_lobster``: the LOBSTER GOOG 2012-06-21 level-10 message file (147,916 MBO events)
  through the L3 book (``l3_replay_nb``) from the initial book of row 1, without LOBSTER's
  window rule: orders that left the top 10 levels are never deleted (LOBSTER omits those
  messages), so stale levels pile up inside the book and make this case slower than a
  consistent feed would be;
* ``l3_lobster_check``: the same day replayed faithfully: the window rule (forget levels beyond
  10, learn levels entering the window) and the comparison of 10 levels of both sides with the
  orderbook file on every row;
* ``l3_lobster_feed``: what the tick simulator replays since the window rule reached it: the
  same day's messages followed by the rule's corrections (``engine.tick.feed.lobster_feed``:
  91,624 MBO_FORGET / MBO_ANON_LEVEL rows, 239,540 events in all) from the feed's initial
  levels; events/s counts every row, messages/s = events/s x 147,916 / 239,540;
* ``l2_binance``: the shipped Binance USD-M capture, synchronised DEPTH rows through the L2 book
  (``l2_replay_nb``);
* ``l2_synth``: the shared generated L2 feed of ``benchmarks/synth.py`` (default 10M events:
  depth rows and trades, in the file's exact merge order), the same events hftbacktest's
  runners replay (``benchmarks/harness.py --task l2_replay`` times both side by side).

Timing: the kernels are compiled (or loaded from numba's cache) by a first call on a small
slice, reported as ``first call``; then ``--repeats`` timed replays on fresh books, median
reported. Input conversion (file parsing, ticks) is outside the timing: this is pure replay.
The machine is shared (2 cores, other jobs running): treat numbers as indicative.

Usage: ``python benchmarks/bench_book.py [--events N] [--repeats R] [--case NAME]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.book import codes as C  # noqa: E402
from engine.book.l2_nb import l2_alloc, l2_replay_nb  # noqa: E402
from engine.book.l3_nb import l3_alloc, l3_replay_nb, l3_set_anon_nb  # noqa: E402

SAMPLES = REPO / "data" / "samples"
GOOG10 = SAMPLES / "lob" / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
BINANCE = SAMPLES / "crypto" / "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"


@njit(cache=True)
def replay_merged_nb(dq, ok, oq, meta, d_ts, d_side, d_tick, d_qty, d_flags, d_rank, t_tick,
                     t_rank):
    """Replay a merged depth + trade stream through one L2 book: runs of depth rows between
    two trades in one ``l2_replay_nb`` call each, every trade read (its ticks summed)."""
    nd = d_ts.shape[0]
    nt = t_tick.shape[0]
    rec_t = np.empty((0, 2), np.int64)
    rec_q = np.empty((0, 2), np.float64)
    i = 0
    j = 0
    trade_sum = 0
    while i < nd or j < nt:
        if j < nt and (i >= nd or t_rank[j] < d_rank[i]):
            trade_sum += t_tick[j]
            j += 1
        else:
            lim = t_rank[j] if j < nt else d_rank[nd - 1] + 1
            stop = i
            while stop < nd and d_rank[stop] < lim:
                stop += 1
            l2_replay_nb(dq, ok, oq, meta, d_ts, d_side, d_tick, d_qty, d_flags, i, stop,
                         rec_t, rec_q)
            i = stop
    return trade_sum


def synth_feed(n: int):
    """The shared generated feed (``benchmarks/synth.py l2``: the events hftbacktest's runners
    replay), as tick-simulator columns."""
    from benchmarks.synth import l2_paths
    from engine.tick import build_feed

    with np.load(l2_paths(n)[0]) as z:
        return build_feed(depth=z["depth"], trade=z["trade"], tick_size=0.01,
                          seq={"depth": z["depth_seq"], "trade": z["trade_seq"]})


def _time(fn, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def _l3_inputs():
    from data.readers.lobster import read_lobster
    from engine.book.book import L3Book

    lob = read_lobster(GOOG10, GOOG10.with_name(GOOG10.name.replace("message", "orderbook")))
    return lob, L3Book(0.0001).kernel_arrays(lob.messages)


def case_l3_lobster(repeats, _events):
    lob, cols = _l3_inputs()
    n = len(cols[0])
    n_adds = int((cols[1] == 1).sum())
    ob = lob.orderbook

    def fresh():
        state = l3_alloc(4096, n_adds + 16)
        for k in range(ob.shape[1] // 4):  # the book of row 1 as the starting point
            l3_set_anon_nb(*state, 1, ob[0, 4 * k], ob[0, 4 * k + 1])
            l3_set_anon_nb(*state, 0, ob[0, 4 * k + 2], ob[0, 4 * k + 3])
        return state

    def run(state, stop=n):
        st, _ = l3_replay_nb(*state, *cols, 0, stop)
        assert st == C.OK
        return state

    t0 = time.perf_counter()
    run(fresh(), 100)
    first = time.perf_counter() - t0
    states = [fresh() for _ in range(repeats + 1)]
    state = run(states.pop())
    return dict(events=n, first_call_s=first, seconds=_time(lambda: run(states.pop()), repeats),
                state_mb=sum(a.nbytes for a in state) / 2**20,
                input_mb=sum(a.nbytes for a in cols) / 2**20)


def case_l3_lobster_check(repeats, _events):
    from engine.book.lobster import check_lobster_data

    lob, _ = _l3_inputs()
    t0 = time.perf_counter()
    res = check_lobster_data(lob)
    first = time.perf_counter() - t0
    assert res.ok
    return dict(events=len(lob), first_call_s=first,
                seconds=_time(lambda: check_lobster_data(lob), repeats), state_mb=float("nan"),
                input_mb=(lob.messages.nbytes + lob.orderbook.nbytes) / 2**20)


def case_l3_lobster_feed(repeats, _events):
    """The tick simulator's LOBSTER feed: messages + the window rule's corrections
    (MBO_FORGET / MBO_ANON_LEVEL, ``engine.tick.feed.lobster_feed``) through ``l3_replay_nb``
    from the feed's initial levels; ``events`` counts both, ``messages`` the file's rows."""
    from engine.tick.feed import lobster_feed
    from engine.tick.l3sim_nb import l3_state_for

    lob, _ = _l3_inputs()
    t0 = time.perf_counter()
    feed = lobster_feed(lob, tick_size=0.01)
    build = time.perf_counter() - t0
    D = feed.D
    cols = (D[0], D[2], D[3], D[4], D[5], D[6])
    n = len(cols[0])

    def run(state, stop=n):
        st, _ = l3_replay_nb(*state, *cols, 0, stop)
        assert st == C.OK
        return state

    t0 = time.perf_counter()
    run(l3_state_for(feed), 100)
    first = time.perf_counter() - t0
    states = [l3_state_for(feed) for _ in range(repeats + 1)]
    state = run(states.pop())
    return dict(events=n, messages=len(lob), first_call_s=first, feed_build_s=build,
                seconds=_time(lambda: run(states.pop()), repeats),
                state_mb=sum(a.nbytes for a in state) / 2**20,
                input_mb=sum(a.nbytes for a in cols) / 2**20)


def _l2_run(ts, side, tick, qty, flags, overflow, stop=None):
    state = l2_alloc(overflow=overflow)
    empty_t = np.empty((0, 2), np.int64)
    empty_q = np.empty((0, 2), np.float64)
    st, _ = l2_replay_nb(*state, ts, side, tick, qty, flags, 0,
                         len(ts) if stop is None else stop, empty_t, empty_q)
    assert st == C.OK, st
    return state


def case_l2_binance(repeats, _events):
    from data.readers.binance import read_binance_stream, sync_depth
    from engine.book.book import to_ticks

    sync = sync_depth(read_binance_stream(BINANCE))
    d = sync.depth
    cols = (d["ts"].copy(), d["side"].copy(), to_ticks(d["price"], 0.1, check=d["size"] > 0),
            d["size"].copy(), d["flags"].copy())
    t0 = time.perf_counter()
    _l2_run(*cols, 8192, stop=100)
    first = time.perf_counter() - t0
    state = _l2_run(*cols, 8192)
    return dict(events=len(d), first_call_s=first,
                seconds=_time(lambda: _l2_run(*cols, 8192), repeats),
                state_mb=sum(a.nbytes for a in state) / 2**20,
                input_mb=sum(a.nbytes for a in cols) / 2**20,
                levels=int(state[3][0] + state[3][1]))


def case_l2_synth(repeats, events):
    t0 = time.perf_counter()
    feed = synth_feed(events)
    gen = time.perf_counter() - t0
    D, T = feed.D, feed.T
    cols = (D[0], D[2], D[3], D[4], D[5], D[6], T[3], T[5])

    def run(stop=None):
        state = l2_alloc(overflow=4096)
        if stop is not None:
            replay_merged_nb(*state, *(c[:stop] for c in cols))
        else:
            replay_merged_nb(*state, *cols)
        return state

    t0 = time.perf_counter()
    run(100)
    first = time.perf_counter() - t0
    state = run()
    crossed = int(state[3][C.M_COUNT0 + C.CROSSED])
    return dict(events=feed.n_events, first_call_s=first, seconds=_time(run, repeats),
                state_mb=sum(a.nbytes for a in state) / 2**20, generate_s=gen,
                input_mb=sum(a.nbytes for a in cols) / 2**20, crossed=crossed,
                levels=int(state[3][0] + state[3][1]))


CASES = {
    "l3_lobster": case_l3_lobster,
    "l3_lobster_check": case_l3_lobster_check,
    "l3_lobster_feed": case_l3_lobster_feed,
    "l2_binance": case_l2_binance,
    "l2_synth": case_l2_synth,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--events", type=int, default=10_000_000, help="rows of the generated feed")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        res = CASES[args.case](args.repeats, args.events)
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res) if args.json else res)
        return
    print(f"{'case':<18} {'events':>12} {'median s':>9} {'events/s':>14} {'first call s':>13} "
          f"{'book MB':>8} {'input MB':>9} {'peak RSS MB':>12}")
    for name in CASES:
        cmd = [sys.executable, __file__, "--case", name, "--json", "--repeats",
               str(args.repeats), "--events", str(args.events)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{name:<18} {r['events']:>12,} {r['seconds']:>9.4f} "
              f"{r['events'] / r['seconds']:>14,.0f} {r['first_call_s']:>13.3f} "
              f"{r['state_mb']:>8.2f} {r['input_mb']:>9.1f} {r['peak_rss_mb']:>12.0f}")
    print("shared 2-core machine; median of", args.repeats, "runs per case, each case in a fresh "
          "process; events = MBO messages (L3), DEPTH rows (Binance) or depth rows + trades (synth); first call = numba compile or "
          "cache load + a 100-event replay; peak RSS includes Python, numba/LLVM and the input")


if __name__ == "__main__":
    main()
