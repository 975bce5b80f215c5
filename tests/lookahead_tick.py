"""The no-look-ahead harness for tick strategies (order-book runs, engine/tick).

For a cut time t (an exchange time inside the data), a tick strategy runs three times: on the
real feed, on the feed whose events after t (exchange time) are replaced by garbage (the same
times, wild prices and sizes on the price grid, random sides; MBO events of random kinds on
known and unknown order ids), and on the feed cut off at t. Latency moves things across t: an
order sent before t may reach the exchange, rest and fill after t, and a response to a fill
before t may reach the strategy after t. So only what happened at or before t *on the clock
that applies* is compared:

* the strategy's decisions (Python hooks): every wake at local time <= t, in order: the hook,
  its local time, and after the hook a digest of the strategy's attributes and of what it has
  done and knows (its orders' fields as sent, the status / filled size / position as the
  responses told it, the cancels it has sent); the truncated run may only stop early at its
  end of data (its wakes are then a prefix of the full run's, and the missing ones come after
  its last market event reached the strategy);
* orders sent at local time <= t: every field as sent (id, time, side, type, time in force,
  flags, size, limit, tag), the limit tick, the entry latency drawn and the arrival time at the
  exchange;
* fills at exchange time <= t: bit-identical records (price, size, fee, queue ahead, latency);
* exchange status as of t: an order's whole record when its last change came by t in both runs
  (changes by t are also in the fills and responses compared); whether a cancel arrived by t,
  and when;
* responses that reached the strategy by t (visible time <= t): time, kind, index, status;
* the equity curve at the sampling times <= t (L2 runs through ``engine.run``; an L3 feed runs
  through ``engine.tick.run_tick``, whose records carry no equity).

The compiled path (``step_nb``, L2 feeds) is compared on everything but the per-wake digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

import engine
from data.schema import MBO_ADD, MBO_CANCEL, MBO_DELETE, MBO_EXECUTE, MBO_EXECUTE_HIDDEN
from engine.tick import layout as L

REPO = Path(__file__).resolve().parents[1]
S = REPO / "data" / "samples"
BINANCE = S / "crypto" / "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz"
GOOG = S / "lob" / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
GOOG_EVENTS = 12_000  # the first ~25 minutes of the day keep a run short
TICK_HOOKS = ("on_book", "on_trade", "on_quote", "on_timer")
WAKE_HOOKS = TICK_HOOKS + ("on_fill", "on_order")

#: strategy -> data set -> params on which it trades (examples/tick_*.toml, scaled)
TICK_SETUP: dict[str, dict[str, dict]] = {
    "avellaneda_stoikov": {
        "binance": {"timer_ns": 100_000_000, "order_qty": 0.01, "max_position": 0.05,
                    "gamma": 0.05, "kappa": 0.5, "sigma2_init": 4.0},
        "goog": {"timer_ns": 1_000_000_000, "order_qty": 100.0, "max_position": 500.0,
                 "gamma": 0.01, "kappa": 0.1, "sigma2_init": 100.0}},
    "grid_mm": {
        "binance": {"timer_ns": 100_000_000, "order_qty": 0.01, "max_position": 0.05},
        "goog": {"timer_ns": 1_000_000_000, "order_qty": 100.0, "max_position": 500.0}},
    "ofi_taker": {
        "binance": {"window_ns": 1_000_000_000, "threshold": 20.0, "order_qty": 0.01,
                    "hold_ns": 2_000_000_000},
        "goog": {"window_ns": 1_000_000_000, "threshold": 800.0, "order_qty": 100.0,
                 "hold_ns": 5_000_000_000}},
}


@dataclasses.dataclass
class TickData:
    """The canonical arrays of one data set (before the merge into a feed)."""

    name: str
    kind: str  # "l2" (depth, trade, quote) or "l3" (a LOBSTER object)
    tick_size: float
    lot_size: float
    arrays: dict  # l2: {"depth": DEPTH, "trade": TRADE, "quote": QUOTE}; l3: {"lob": Lobster}
    #: l3: the messages reproduce the orderbook file (False once garbage replaced the messages
    #: after a cut: the feed is then built with ``lobster_feed(..., strict=False)``)
    reproduces: bool = True

    @property
    def times(self) -> np.ndarray:
        if self.kind == "l3":
            return self.arrays["lob"].messages["ts"]
        return np.sort(np.concatenate([a["ts"] for a in self.arrays.values()]))


_CACHE: dict[str, TickData] = {}


def load(name: str) -> TickData:
    """``"binance"``: the BTCUSDT capture (synchronised depth, trades, bookTicker quotes);
    ``"goog"``: the first GOOG_EVENTS messages of the LOBSTER GOOG level-10 day."""
    if name in _CACHE:
        return _CACHE[name]
    if name == "binance":
        import warnings

        from data.readers.binance import read_binance_stream, sync_depth

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the capture clock runs behind the exchange's
            s = read_binance_stream(BINANCE)
            d = sync_depth(s).depth
        out = TickData(name, "l2", 0.1, 0.001,
                       {"depth": d, "trade": s.trades, "quote": s.quotes})
    elif name == "goog":
        from data.readers.lobster import read_lobster

        lob = read_lobster(GOOG, Path(str(GOOG).replace("message", "orderbook")))
        n = GOOG_EVENTS
        lob = dataclasses.replace(lob, messages=lob.messages[:n].copy(),
                                  price_int=lob.price_int[:n].copy(),
                                  orderbook=lob.orderbook[:n].copy())
        out = TickData(name, "l3", 0.01, 1.0, {"lob": lob})
    else:
        raise KeyError(name)
    _CACHE[name] = out
    return out


def _grid(rng, n, tick, lo, hi) -> np.ndarray:
    """Wild prices on the price grid, log-uniform in [lo, hi]."""
    x = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
    return np.maximum(np.round(x / tick), 1) * tick


def cut(data: TickData, t: int, how: str, rng: np.random.Generator) -> TickData:
    """Events after exchange time ``t`` dropped ("truncate") or replaced by garbage."""
    if data.kind == "l3":
        lob = data.arrays["lob"]
        m = lob.messages
        after = m["ts"] > t
        if how == "truncate":
            keep = ~after
            lob = dataclasses.replace(lob, messages=m[keep].copy(), price_int=lob.price_int[keep],
                                      orderbook=lob.orderbook[keep])
        else:
            g = m.copy()
            k = int(after.sum())
            known = m["order_id"][~after]
            g["event"][after] = rng.choice([MBO_ADD, MBO_CANCEL, MBO_DELETE, MBO_EXECUTE,
                                            MBO_EXECUTE_HIDDEN], k)
            g["order_id"][after] = np.where(rng.random(k) < 0.5, rng.choice(known, k),
                                            rng.integers(10**9, 2 * 10**9, k))
            g["side"][after] = rng.choice([-1, 1], k)
            g["price"][after] = _grid(rng, k, data.tick_size, 1.0, 1e5)
            g["size"][after] = rng.integers(1, 100_000, k).astype(np.float64)
            # the garbage prices in LOBSTER units too: the feed's window rule (the check's
            # kernel) replays the integer prices; rows after t stay (a row is the book after
            # its message: no row is read before its message)
            pint = lob.price_int.copy()
            pint[after] = np.round(g["price"][after] * 1e4).astype(np.int64)
            lob = dataclasses.replace(lob, messages=g, price_int=pint)
            # the orderbook rows after t are the real book's: the garbage cannot reproduce them
            return dataclasses.replace(data, arrays={"lob": lob}, reproduces=False)
        return dataclasses.replace(data, arrays={"lob": lob})
    out = {}
    for key, a in data.arrays.items():
        after = a["ts"] > t
        if how == "truncate":
            out[key] = a[~after].copy()
            continue
        g = a.copy()
        k = int(after.sum())
        tick = data.tick_size
        if key == "depth":
            g["price"][after] = _grid(rng, k, tick, 1.0, 1e7)
            g["size"][after] = np.where(rng.random(k) < 0.2, 0.0, rng.uniform(0, 1e4, k))
        elif key == "trade":
            g["price"][after] = _grid(rng, k, tick, 1.0, 1e7)
            g["size"][after] = rng.uniform(1e-3, 1e4, k)
            g["side"][after] = rng.choice([-1, 1], k)
        elif key == "quote":
            bid = _grid(rng, k, tick, 1.0, 1e7)
            g["bid"][after], g["ask"][after] = bid, bid + tick * rng.integers(1, 100, k)
            g["bid_size"][after] = rng.uniform(0, 1e4, k)
            g["ask_size"][after] = rng.uniform(0, 1e4, k)
        out[key] = g
    return dataclasses.replace(data, arrays=out)


def feed_of(data: TickData, feed_latency, seed: int):
    from engine.tick import build_feed
    from engine.tick.feed import lobster_feed

    if data.kind == "l3":
        return lobster_feed(data.arrays["lob"], tick_size=data.tick_size,
                            feed_latency=feed_latency, seed=seed, strict=data.reproduces)
    a = data.arrays
    return build_feed(depth=a["depth"], trade=a["trade"], quote=a["quote"],
                      tick_size=data.tick_size, lot_size=data.lot_size,
                      feed_latency=feed_latency, seed=seed)


def tick_strategies() -> dict[str, type]:
    """Registered strategies with a tick hook or a compiled tick step."""
    from lookahead import has, strategies_under_test

    return {n: c for n, c in strategies_under_test().items()
            if any(has(c, h) for h in TICK_HOOKS) or getattr(c, "step_nb", None) is not None}


def _digest(h, obj) -> None:
    if isinstance(obj, np.ndarray):
        h.update(str(obj.dtype).encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _digest(h, obj[k])
    elif isinstance(obj, list | tuple) or type(obj).__name__ == "deque":
        h.update(b"[")
        for x in obj:
            _digest(h, x)
        h.update(b"]")
    else:
        h.update(repr(obj).encode())


SENT = ["order_id", "ts", "sym", "side", "type", "tif", "flags", "size", "limit_price", "tag"]


def probe_class(cls: type) -> type:
    """``cls`` recording (local time, hook, digest) after each hook it defines."""
    from lookahead import has

    def wrap(hook):
        orig = getattr(cls, hook)

        def fn(self, ctx, *args):
            orig(self, ctx, *args)
            sim = ctx._sim
            n = int(sim.sv[L.S_NORD])
            h = hashlib.blake2b(digest_size=16)
            _digest(h, {k: v for k, v in vars(self).items() if k != "_wakes"})
            for f in SENT:
                _digest(h, sim.orders_arr[f][:n])
            _digest(h, sim.oi[:n, [L.OI_TICK, L.OI_LSTAT, L.OI_CXL]])
            _digest(h, sim.of[:n, L.OF_LFILLED])
            _digest(h, (float(sim.cf[L.C_LPOS]), int(sim.sv[L.S_NSEEN])))
            self._wakes.append((int(ctx.now), hook, h.hexdigest()))
        return fn

    def init(self, ctx):
        self._wakes = []
        if has(cls, "init"):
            cls.init(self, ctx)

    body = {h: wrap(h) for h in WAKE_HOOKS if has(cls, h)}
    body.update(init=init, name=cls.name)
    return type(cls.__name__, (cls,), body)


@dataclasses.dataclass
class TickRun:
    orders: np.ndarray
    oi: np.ndarray
    fills: np.ndarray
    notes: np.ndarray
    wakes: list | None
    equity: np.ndarray | None
    last_local: int


def run(cls, params: dict, data: TickData, mode: str, tick: dict, seed: int) -> TickRun:
    """One run; ``tick``: the [tick] options (latencies, queue, fees, feed_latency)."""
    from engine.tick import TickConfig, run_tick

    strat = (probe_class(cls) if mode == "python" else cls)(**params)
    flat = tick.get("feed_latency", "none")
    feed = feed_of(data, flat, seed)
    if data.kind == "l3":
        kw = {k: v for k, v in tick.items() if k != "feed_latency"}
        tres = run_tick(strat, feed, TickConfig(**kw, seed=seed))
        equity = None
    else:
        res = engine.run(market=feed, strategy=strat, mode=mode, cash=1_000_000.0, seed=seed,
                         tick={k: v for k, v in tick.items() if k != "feed_latency"})
        tres, equity = res.tick, res.equity_rec
    sim = tres.sim
    n = int(sim.sv[L.S_NORD])
    lts = [c[1] for c in (feed.D, feed.T) if len(c[1])] + ([feed.Q[0]] if len(feed.Q[0]) else [])
    return TickRun(orders=sim.orders_arr[:n].copy(), oi=sim.oi[:n].copy(), fills=tres.fills,
                   notes=sim.notes[: int(sim.sv[L.S_NNOTE])].copy(),
                   wakes=getattr(strat, "_wakes", None), equity=equity,
                   last_local=int(max(int(x[-1]) for x in lts)))


def _same(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape or np.ascontiguousarray(a).tobytes() != np.ascontiguousarray(b).tobytes():
        raise AssertionError(f"look-ahead: {what} differ")


def compare(full: TickRun, other: TickRun, t: int, how: str) -> dict[str, int]:
    """Everything that happened by t must be identical (module docstring); returns counts."""
    if full.wakes is not None:
        w1 = [w for w in full.wakes if w[0] <= t]
        w2 = [w for w in other.wakes if w[0] <= t]
        if how == "truncate" and len(w2) < len(w1):
            # the truncated data ended: the wakes it lacks come after its last market event
            assert all(w[0] > other.last_local for w in w1[len(w2):]), \
                f"look-ahead: wakes up to t differ ({how})"
            w1 = w1[: len(w2)]
        for a, b in zip(w1, w2, strict=False):
            if a != b:
                raise AssertionError(f"look-ahead: the decision at local time {a[0]} ({a[1]}) "
                                     f"differs from the one at {b[0]} ({b[1]}) ({how})")
        if len(w1) != len(w2):
            raise AssertionError(f"look-ahead: {len(w1)} vs {len(w2)} wakes up to t ({how})")
    o1, o2 = full.orders[full.orders["ts"] <= t], other.orders[other.orders["ts"] <= t]
    if len(o1) != len(o2):
        raise AssertionError(f"look-ahead: {len(o1)} vs {len(o2)} orders sent up to t ({how})")
    k = len(o1)
    for f in SENT:
        _same(o1[f], o2[f], f"orders sent up to t: {f} ({how})")
    cols = [L.OI_TICK, L.OI_LAT, L.OI_ARRIVE]
    _same(full.oi[:k, cols], other.oi[:k, cols], f"entry latency / arrival of orders ({how})")
    x1, x2 = full.oi[:k, L.OI_CXL], other.oi[:k, L.OI_CXL]
    _same(x1 <= t, x2 <= t, f"cancels arrived by t ({how})")
    _same(np.where(x1 <= t, x1, 0), np.where(x2 <= t, x2, 0), f"cancel arrival times ({how})")
    # an order whose last change came by t in both runs: the whole record (a later change in
    # one run, e.g. a fill on garbage, leaves only its fills / responses up to t to compare)
    both = (o1["update_ts"] <= t) & (o2["update_ts"] <= t)
    _same(o1[both], o2[both], f"order records settled by t ({how})")
    f1, f2 = full.fills[full.fills["ts"] <= t], other.fills[other.fills["ts"] <= t]
    _same(f1, f2, f"fills up to t ({how})")
    n1 = full.notes[full.notes[:, L.N_VIS] <= t]
    n2 = other.notes[other.notes[:, L.N_VIS] <= t]
    _same(n1, n2, f"responses that reached the strategy by t ({how})")
    n_eq = 0
    if full.equity is not None:
        e1 = full.equity[full.equity["ts"] <= t]
        e2 = other.equity[other.equity["ts"] <= t]
        _same(e1, e2, f"equity up to t ({how})")
        n_eq = len(e1)
    return {"orders": k, "fills": len(f1), "responses": len(n1), "equity rows": n_eq,
            "wakes": len(full.wakes and [w for w in full.wakes if w[0] <= t] or [])}


def check(cls, params: dict, data: TickData, mode: str, tick: dict, t: int, seed: int,
          rng: np.random.Generator) -> dict[str, int]:
    """Full run vs garbage after t vs truncated at t; returns the counts compared."""
    full = run(cls, params, data, mode, tick, seed)
    if not len(full.orders):
        raise AssertionError("the strategy sent no order on this data: the proof would be empty "
                             "(tests/lookahead_tick.py TICK_SETUP)")
    counts: dict[str, int] = {}
    for how in ("garbage", "truncate"):
        other = run(cls, params, cut(data, t, how, rng), mode, tick, seed)
        for k, v in compare(full, other, t, how).items():
            counts[k] = counts.get(k, 0) + v
    return counts
