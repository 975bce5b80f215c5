"""Seeded synthetic market data shared by every benchmark (tapereader and peers replay the same).

Two generators, each cached once per (size, seed, generator version) under
``$TAPEREADER_BENCH_HOME/data`` (see :func:`benchmarks.venvs.bench_home`):

``bars(n, seed)``
    Random-walk OHLCV bars (1-minute, 24/7, UTC) with consistent OHLC: the log close follows a
    weakly mean-reverting random walk around log(100) (per-bar sigma 0.1 %, stationary sigma
    ~22 %, so a million bars stay in a realistic price range), each open gaps slightly from
    the previous close, high >= max(open, close), low <= min(open, close), low > 0, integer
    volume. Prices are not rounded to a tick, so the two SMAs of a crossover are never exactly
    equal (peers differ only on exact ties). Files: ``bars_v1_n{n}_s{seed}.npy`` (canonical
    ``data.schema.BAR`` array, ``ts`` = bar close time) and the same as ``.csv``
    (``datetime`` ISO UTC close time, open, high, low, close, volume; floats written exactly).

``l2_feed(n, seed)``
    An L2 depth-diff feed with trades, ``n`` events in total (initial snapshot included), on a
    tick grid of 0.01 with integer lot sizes. A book is simulated level by level: level
    updates (new total size, 0 deletes) at geometrically distributed distances from the touch,
    quotes improving inside the spread, and aggressive trades that consume the touch (a trade
    event followed by the depth update of the level it hit, same timestamp). The book is never
    crossed. Exchange times are Poisson (mean 50 us); local receive times add a feed latency
    of 200 us plus exponential jitter (monotone). Written twice from the same events:

    * ``l2_v1_n{n}_s{seed}.npz``: ``depth`` (``data.schema.DEPTH``), ``trade``
      (``data.schema.TRADE``), ``depth_seq`` / ``trade_seq`` (the position of each row in the
      merged stream, so a replay can rebuild the exact interleaving), ``meta`` (JSON).
    * ``l2_v1_n{n}_s{seed}.hft.npz``: key ``data``, hftbacktest 2.x ``event_dtype`` rows in the
      same order (``EXCH_EVENT | LOCAL_EVENT`` with ``DEPTH_EVENT`` / ``TRADE_EVENT`` and
      ``BUY_EVENT`` / ``SELL_EVENT``).

    python benchmarks/synth.py bars 100000 1000000
    python benchmarks/synth.py l2 10000000
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from numba import njit

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.venvs import bench_home  # noqa: E402
from data.schema import BAR, BUY, DEPTH, DEPTH_LAST, DEPTH_SNAPSHOT, SELL, TRADE  # noqa: E402

BARS_VERSION = "v1"
L2_VERSION = "v1"
DEFAULT_SEED = 20261126
BAR_START = np.datetime64("2020-01-01T00:00:00", "ns").astype(np.int64)
BAR_INTERVAL_NS = 60 * 1_000_000_000
L2_START = np.datetime64("2024-01-02T00:00:00", "ns").astype(np.int64)
TICK_SIZE = 0.01
LOT_SIZE = 1.0

# hftbacktest 2.x event layout and flags (declared here so the generator needs no hftbacktest;
# benchmarks/runners/l2_*_hftbacktest.py checks them against the installed package)
HFT_EVENT_DTYPE = np.dtype(
    {
        "names": ["ev", "exch_ts", "local_ts", "px", "qty", "order_id", "ival", "fval"],
        "formats": ["<u8", "<i8", "<i8", "<f8", "<f8", "<u8", "<i8", "<f8"],
        "offsets": [0, 8, 16, 24, 32, 40, 48, 56],
        "itemsize": 64,
    },
    align=True,
)
HFT_DEPTH_EVENT = 1
HFT_TRADE_EVENT = 2
HFT_EXCH_EVENT = 1 << 31
HFT_LOCAL_EVENT = 1 << 30
HFT_BUY_EVENT = 1 << 29
HFT_SELL_EVENT = 1 << 28


def data_dir() -> Path:
    d = bench_home() / "data"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _atomic(path: Path, write) -> None:
    """Call ``write(fh)`` on a temp file next to ``path``, fsync, then rename into place."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ---------------------------------------------------------------------------------------------
# bars
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def _ar1_nb(eps, phi):
    out = np.empty_like(eps)
    x = 0.0
    for i in range(eps.shape[0]):
        x = phi * x + eps[i]
        out[i] = x
    return out


def generate_bars(n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    """``n`` random-walk OHLCV bars (canonical BAR dtype); deterministic in (n, seed)."""
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    rng = np.random.default_rng(seed)
    sigma, kappa, gap_sigma, wick_sigma = 1e-3, 1e-5, 2e-4, 5e-4
    dev = _ar1_nb(rng.normal(0.0, sigma, n), 1.0 - kappa)
    close = 100.0 * np.exp(dev)
    open_ = np.empty(n)
    open_[0] = 100.0
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, gap_sigma, n - 1))
    hi_wick = np.exp(np.abs(rng.normal(0.0, wick_sigma, n)))
    lo_wick = np.exp(-np.abs(rng.normal(0.0, wick_sigma, n)))
    out = np.empty(n, dtype=BAR)
    out["ts"] = BAR_START + (np.arange(n, dtype=np.int64) + 1) * BAR_INTERVAL_NS
    out["open"] = open_
    out["close"] = close
    out["high"] = np.maximum(open_, close) * hi_wick
    out["low"] = np.minimum(open_, close) * lo_wick
    out["volume"] = np.maximum(1.0, np.round(rng.lognormal(np.log(1000.0), 0.5, n)))
    return out


def bars_path(n: int, seed: int = DEFAULT_SEED, *, csv: bool = False) -> Path:
    """Path of the cached bar file (``.npy``; ``csv=True`` for the CSV), generating it once."""
    base = data_dir() / f"bars_{BARS_VERSION}_n{n}_s{seed}"
    npy, csv_path = base.with_suffix(".npy"), base.with_suffix(".csv")
    if not npy.exists() or not csv_path.exists():
        arr = generate_bars(n, seed)
        _atomic(npy, lambda fh: np.save(fh, arr, allow_pickle=False))
        _atomic(csv_path, lambda fh: _write_bars_csv(fh, arr))
    return csv_path if csv else npy


def _write_bars_csv(fh, arr: np.ndarray) -> None:
    import polars as pl

    df = pl.DataFrame(
        {
            "datetime": arr["ts"].astype("datetime64[ns]"),
            "open": arr["open"],
            "high": arr["high"],
            "low": arr["low"],
            "close": arr["close"],
            "volume": arr["volume"],
        }
    )
    # polars writes floats with the shortest repr that round-trips: exact
    df.write_csv(fh, datetime_format="%Y-%m-%dT%H:%M:%SZ")


def load_bars(n: int, seed: int = DEFAULT_SEED) -> np.ndarray:
    return np.load(bars_path(n, seed), allow_pickle=False)


# ---------------------------------------------------------------------------------------------
# L2 depth-diff feed with trades
# ---------------------------------------------------------------------------------------------

# row kinds in the generator's merged stream
_K_DEPTH = 0
_K_TRADE = 1


@njit(cache=True)
def _level_size_nb(rng):
    return max(1.0, np.floor(np.exp(np.log(20.0) + 0.8 * rng.normal()) + 0.5))


@njit(cache=True)
def _l2_feed_nb(n, rng, window, p0, levels):
    """Simulate a book; return the merged stream as parallel arrays (kind, ts, side, tick, qty,
    flags) and the number of rows written (< n only if the price left the tick window)."""
    kind = np.empty(n, np.int8)
    ts = np.empty(n, np.int64)
    side = np.empty(n, np.int8)
    tick = np.empty(n, np.int64)
    qty = np.empty(n, np.float64)
    flags = np.empty(n, np.uint8)
    bidq = np.zeros(window, np.float64)
    askq = np.zeros(window, np.float64)
    bb = p0 - 1
    ba = p0 + 1
    t = np.int64(0)
    k = 0
    # initial snapshot: `levels` levels per side
    for j in range(levels):
        if k >= n:
            break
        bidq[bb - j] = _level_size_nb(rng)
        kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = (
            _K_DEPTH, t, 1, bb - j, bidq[bb - j], DEPTH_SNAPSHOT)
        k += 1
        if k >= n:
            break
        askq[ba + j] = _level_size_nb(rng)
        kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = (
            _K_DEPTH, t, -1, ba + j, askq[ba + j], DEPTH_SNAPSHOT)
        k += 1
    if k > 0:
        flags[k - 1] = DEPTH_SNAPSHOT | DEPTH_LAST  # snapshot + last of batch
    far = 2 * levels
    while k < n:
        if bb < far + 2 or ba > window - far - 2:
            break  # the caller reports it (the mean reversion should make this unreachable)
        t += np.int64(1 + rng.exponential(50_000.0))
        u = rng.random()
        mid = 0.5 * (bb + ba)
        if u < 0.08 and k + 1 < n:
            # aggressive trade at the touch; buy probability leans against the drift from p0
            lean = min(0.3, max(-0.3, (mid - p0) / 4000.0))
            buy = rng.random() < 0.5 - lean
            size = max(1.0, np.floor(np.exp(np.log(5.0) + rng.normal()) + 0.5))
            if buy:
                px = ba
                size = min(size, askq[px])
                askq[px] -= size
                new_q = askq[px]
            else:
                px = bb
                size = min(size, bidq[px])
                bidq[px] -= size
                new_q = bidq[px]
            s = 1 if buy else -1
            kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = _K_TRADE, t, s, px, size, 0
            k += 1
            book_side = -s  # the side that was hit
            kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = (
                _K_DEPTH, t, book_side, px, new_q, DEPTH_LAST)
            k += 1
            if new_q <= 0.0:
                # the touch level is gone: the next level becomes the touch (create one if the
                # side is empty within reach)
                if buy:
                    j = ba + 1
                    while j < ba + far and askq[j] <= 0.0:
                        j += 1
                    if askq[j] <= 0.0 and k < n:
                        askq[j] = _level_size_nb(rng)
                        kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = (
                            _K_DEPTH, t, -1, j, askq[j], DEPTH_LAST)
                        k += 1
                    ba = j
                else:
                    j = bb - 1
                    while j > bb - far and bidq[j] <= 0.0:
                        j -= 1
                    if bidq[j] <= 0.0 and k < n:
                        bidq[j] = _level_size_nb(rng)
                        kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = (
                            _K_DEPTH, t, 1, j, bidq[j], DEPTH_LAST)
                        k += 1
                    bb = j
        elif u < 0.14 and ba - bb > 1:
            # a new quote improves the touch inside the spread
            q = _level_size_nb(rng)
            if rng.random() < 0.5:
                bb += 1
                bidq[bb] = q
                kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = _K_DEPTH, t, 1, bb, q, DEPTH_LAST
            else:
                ba -= 1
                askq[ba] = q
                kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = _K_DEPTH, t, -1, ba, q, DEPTH_LAST
            k += 1
        else:
            # size change at a level `d` ticks behind the touch (0 = the touch itself)
            d = 0
            while d < far - 1 and rng.random() < 0.7:
                d += 1
            bid_side = rng.random() < 0.5
            px = bb - d if bid_side else ba + d
            cur = bidq[px] if bid_side else askq[px]
            if d == 0:
                # the touch never empties by a cancel here: add or partially cancel
                if rng.random() < 0.5:
                    q = cur + _level_size_nb(rng)
                else:
                    q = max(1.0, np.floor(cur * rng.random() + 0.5))
            elif cur > 0.0 and rng.random() < 0.3:
                q = 0.0
            else:
                q = _level_size_nb(rng)
            if bid_side:
                bidq[px] = q
            else:
                askq[px] = q
            kind[k], ts[k], side[k], tick[k], qty[k], flags[k] = (
                _K_DEPTH, t, 1 if bid_side else -1, px, q, DEPTH_LAST)
            k += 1
    return kind, ts, side, tick, qty, flags, k


def generate_l2(n: int, seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """The L2 feed as a dict of canonical arrays plus the hftbacktest array (same events)."""
    if n < 100:
        raise ValueError(f"n must be >= 100, got {n}")
    p0 = 10_000  # 100.00 in ticks of 0.01
    window = 2 * p0
    rng = np.random.default_rng(seed)
    kind, ts_rel, side, tick, qty, flags, k = _l2_feed_nb(n, rng, window, p0, 20)
    if k < n:
        raise RuntimeError(f"the simulated price left its tick window after {k} of {n} events")
    ts = L2_START + ts_rel
    recv = np.maximum.accumulate(ts + 200_000 + rng.exponential(20_000.0, n).astype(np.int64))
    price = tick.astype(np.float64) * TICK_SIZE
    is_depth = kind == _K_DEPTH
    depth_seq = np.flatnonzero(is_depth)
    trade_seq = np.flatnonzero(~is_depth)

    depth = np.empty(depth_seq.size, dtype=DEPTH)
    depth["ts"], depth["ts_recv"] = ts[depth_seq], recv[depth_seq]
    depth["side"] = np.where(side[depth_seq] > 0, BUY, SELL)
    depth["price"], depth["size"], depth["flags"] = price[depth_seq], qty[depth_seq], flags[depth_seq]
    trade = np.empty(trade_seq.size, dtype=TRADE)
    trade["ts"], trade["ts_recv"] = ts[trade_seq], recv[trade_seq]
    trade["price"], trade["size"] = price[trade_seq], qty[trade_seq]
    trade["side"] = np.where(side[trade_seq] > 0, BUY, SELL)

    hft = np.zeros(n, dtype=HFT_EVENT_DTYPE)
    ev = np.where(is_depth, HFT_DEPTH_EVENT, HFT_TRADE_EVENT).astype(np.uint64)
    ev |= np.uint64(HFT_EXCH_EVENT | HFT_LOCAL_EVENT)
    ev |= np.where(side > 0, HFT_BUY_EVENT, HFT_SELL_EVENT).astype(np.uint64)
    hft["ev"], hft["exch_ts"], hft["local_ts"] = ev, ts, recv
    hft["px"], hft["qty"] = price, qty
    return {
        "depth": depth,
        "trade": trade,
        "depth_seq": depth_seq.astype(np.int64),
        "trade_seq": trade_seq.astype(np.int64),
        "hft": hft,
    }


def check_l2_book(depth: np.ndarray) -> dict:
    """Replay the depth rows in Python-free numpy terms: count crossed states (must be 0)."""
    return _check_book(
        np.round(depth["price"] / TICK_SIZE).astype(np.int64),
        depth["size"],
        depth["side"].astype(np.int64),
    )


@njit(cache=True)
def _check_book_nb_impl(tick, size, side, window):
    bidq = np.zeros(window)
    askq = np.zeros(window)
    bb, ba = -1, window
    crossed = 0
    for i in range(tick.shape[0]):
        p = tick[i]
        if side[i] > 0:
            bidq[p] = size[i]
            if size[i] > 0 and p > bb:
                bb = p
            elif size[i] <= 0 and p == bb:
                while bb >= 0 and bidq[bb] <= 0:
                    bb -= 1
        else:
            askq[p] = size[i]
            if size[i] > 0 and p < ba:
                ba = p
            elif size[i] <= 0 and p == ba:
                while ba < window and askq[ba] <= 0:
                    ba += 1
        if bb >= 0 and ba < window and bb >= ba:
            crossed += 1
    return crossed, bb, ba


def _check_book(tick, size, side):
    crossed, bb, ba = _check_book_nb_impl(tick, size, side, int(tick.max()) + 2)
    return {"crossed_rows": int(crossed), "final_best_bid": bb * TICK_SIZE,
            "final_best_ask": ba * TICK_SIZE}


def l2_paths(n: int, seed: int = DEFAULT_SEED) -> tuple[Path, Path]:
    """(canonical npz, hftbacktest npz) for the cached feed, generating both once."""
    base = data_dir() / f"l2_{L2_VERSION}_n{n}_s{seed}"
    ours, hft_path = Path(f"{base}.npz"), Path(f"{base}.hft.npz")
    if not ours.exists() or not hft_path.exists():
        feed = generate_l2(n, seed)
        meta = {
            "generator": f"benchmarks/synth.py l2 {L2_VERSION}",
            "n_events": n,
            "n_depth": int(feed["depth"].size),
            "n_trade": int(feed["trade"].size),
            "seed": seed,
            "tick_size": TICK_SIZE,
            "lot_size": LOT_SIZE,
        }
        _atomic(
            ours,
            lambda fh: np.savez(
                fh,
                depth=feed["depth"],
                trade=feed["trade"],
                depth_seq=feed["depth_seq"],
                trade_seq=feed["trade_seq"],
                meta=np.array(json.dumps(meta)),
            ),
        )
        _atomic(hft_path, lambda fh: np.savez(fh, data=feed["hft"]))
    return ours, hft_path


def l2_meta(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"]))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="generate (once) and print the cached data files")
    ap.add_argument("kind", choices=["bars", "l2"])
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--check", action="store_true", help="l2: replay the book, count crosses")
    args = ap.parse_args(argv)
    for n in args.sizes:
        if args.kind == "bars":
            print(bars_path(n, args.seed), bars_path(n, args.seed, csv=True))
        else:
            ours, hft_path = l2_paths(n, args.seed)
            print(ours, hft_path, l2_meta(ours))
            if args.check:
                with np.load(ours) as z:
                    print(check_l2_book(z["depth"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
