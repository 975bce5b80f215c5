"""``TradingBookEnv`` (``tapereader/TradingBook-v0``): a tick-mode environment on the engine's
tick fill simulator (:mod:`engine.tick`: numba L2 book, queue models, latencies, fees), with
execution (taker) or market-making (maker) actions.

Data: a Binance USD-M capture (default: the shipped hftbacktest BTCUSDT stream, 3 minutes);
the depth stream is synchronised by :func:`data.readers.binance.sync_depth` and merged with
the trades into a :class:`engine.tick.Feed` (recorded feed latency), exactly as ``engine.run``
builds a tick run.

Time is cut into steps of ``step_ms`` of local (strategy) time. At each boundary the agent sees
its local book (the simulator's view after feed latency) and acts; ``TickSim.advance`` then
replays the market to the next boundary, the simulator deciding every fill (entry / response
latency, the L2 queue model, maker / taker fees):

* ``mode="execution"``: Discrete(2 * max_lots + 1): a target inventory in lots
  (action - max_lots); the difference is sent as an IOC market order.
* ``mode="market_making"``: Discrete(n * n) over (bid offset, ask offset) pairs from
  ``offsets`` (ticks from the best; -1 = no quote on that side): the previous quotes are
  cancelled and one post-only lot is quoted on each chosen side (none on a side whose fill
  would take the inventory past ``max_lots``).

Every fill is booked by the core accountant (``engine.portfolio_nb.book_fill_nb``); equity =
cash + position x local mid. Rewards as in bar mode (:mod:`strategies.rl.bars_nb`), minus
``inventory_penalty`` x |position value| / starting cash.

Observation: spread (ticks / 10), L1 and top-5 size imbalance, microprice - mid (ticks), the
signed traded volume of the last step (/ 10 lots), the mid's log returns over the last
``window`` steps (bps), inventory / max inventory, position value / equity, log(equity / cash).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from data.errors import ConfigError, RunError
from engine import types as T
from engine.layout import A_CASH, A_INIT, C_TRADES, N_ACCT, N_CNT
from engine.portfolio_nb import book_fill_nb
from strategies.rl import book_nb as B
from strategies.rl.bars_nb import REWARDS

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CAPTURE = ROOT / "data" / "samples" / "crypto" / (
    "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz")
MS = 1_000_000
QUEUES = ("conservative", "probabilistic")


@functools.lru_cache(maxsize=4)
def load_capture(path: str, tick_size: float | None = None):
    """(Feed, symbol) of a Binance capture (cached per process)."""
    import warnings

    from data.readers.binance import read_binance_stream, sync_depth
    from engine.tick import build_feed

    with warnings.catch_warnings():  # clock-skew notes of the reader are not ours to repeat
        warnings.simplefilter("ignore")
        stream = read_binance_stream(path)
    depth = sync_depth(stream).depth
    if len(depth) == 0 or len(stream.trades) == 0:
        raise ConfigError("the capture has no usable depth or trades", argument="data",
                          value=path, fix="use a capture with depth diffs, a snapshot and trades")
    feed = build_feed(depth=depth, trade=stream.trades,
                      tick_size=float(tick_size or stream.tick_size_hint),
                      feed_latency="recorded")
    return feed, stream.symbol


class TradingBookEnv(gym.Env):
    """See the module docstring. Keywords: data, mode, step_ms, latency_ms, queue,
    episode_steps, window, lot, max_lots, offsets, reward, eta, inventory_penalty, cash,
    maker_fee, taker_fee, tick_size, seed (of the simulator's queue / latency draws)."""

    metadata = {"render_modes": []}

    def __init__(self, data: str | None = None, *, mode: str = "execution",
                 step_ms: float = 500.0, latency_ms: float = 10.0, queue: str = "conservative",
                 episode_steps: int = 200, window: int = 8, lot: float = 0.001,
                 max_lots: int = 5, offsets=(0, 5, 20, -1), reward: str = "pnl",
                 eta: float = 0.01, inventory_penalty: float = 0.0, cash: float = 10_000.0,
                 maker_fee: float = 0.0002, taker_fee: float = 0.0004,
                 tick_size: float | None = None, seed: int = 0) -> None:
        from engine.tick import TickConfig

        if mode not in ("execution", "market_making"):
            raise ConfigError("unknown mode", argument="mode", value=mode,
                              fix="use 'execution' or 'market_making'")
        if reward not in REWARDS:
            raise ConfigError("unknown reward", argument="reward", value=reward,
                              fix=f"use one of {list(REWARDS)}")
        if not (step_ms > 0 and latency_ms >= 0 and lot > 0 and max_lots >= 1 and window >= 1
                and cash > 0):
            raise ConfigError("step_ms, lot, max_lots, window, cash must be > 0; latency_ms >= 0",
                              argument="step_ms/latency_ms/lot/max_lots/window/cash",
                              value=(step_ms, latency_ms, lot, max_lots, window, cash),
                              fix="e.g. step_ms=500, latency_ms=10, lot=0.001, max_lots=5")
        self.feed, self.symbol = load_capture(str(data or DEFAULT_CAPTURE), tick_size)
        lat = int(latency_ms * MS)
        self.tick_config = TickConfig(queue=queue, entry_latency=lat, response_latency=lat,
                                      maker_fee=float(maker_fee), taker_fee=float(taker_fee),
                                      seed=int(seed))
        self.mode = mode
        self.dt = int(step_ms * MS)
        self.lot, self.max_lots, self.window = float(lot), int(max_lots), int(window)
        self.max_inv = self.lot * self.max_lots
        self.offsets = np.asarray(offsets, np.int64)
        self.reward_kind, self.eta = REWARDS[reward], float(eta)
        self.inv_penalty = float(inventory_penalty)
        self.cash = float(cash)
        f = self.feed
        self.t0 = f.start
        end = int(max(f.D[0][-1], f.T[0][-1]))
        self.n_steps = int((end - self.t0) // self.dt)
        self.episode_steps = int(episode_steps)
        if self.window + 1 + self.episode_steps > self.n_steps:
            raise ConfigError("the capture is too short for one episode",
                              argument="episode_steps", value=episode_steps,
                              fix=f"use at most {self.n_steps - self.window - 1} steps of "
                                  f"{step_ms} ms")
        tr = f.trade
        self._tts, self._tflow = tr["ts"], np.cumsum(tr["side"] * tr["size"])
        n_off = len(self.offsets)
        self.action_space = (spaces.Discrete(2 * self.max_lots + 1) if mode == "execution"
                             else spaces.Discrete(n_off * n_off))
        self.obs_dim = B.N_BOOK_FEAT + self.window + 3
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.obs_dim,), np.float32)
        self.open_tr = np.zeros(1, T.TRADE_REC)
        self.trades = np.zeros(4, T.TRADE_REC)
        self.cnt = np.zeros(max(8, N_CNT), np.int64)
        self.acct = np.zeros(N_ACCT)
        self.mids = np.zeros(self.n_steps + 2)
        self.obs = np.zeros(self.obs_dim)
        self.sim = None
        self._ready = False

    # --- helpers --------------------------------------------------------------------------
    def _advance(self, until: int) -> None:
        from engine.tick import layout as TL

        while self.sim.now < until:
            if self.sim.advance(until=until) == TL.W_END:
                break

    def _mid(self) -> float:
        m = self.sim.book().mid()
        return m if m == m else float(self.mids[max(self.k - 1, 0)])

    def _flow(self, t_from: int, t_to: int) -> float:
        a, b = np.searchsorted(self._tts, [t_from, t_to], "right")
        if b == 0:
            return 0.0
        return float(self._tflow[b - 1] - (self._tflow[a - 1] if a > 0 else 0.0))

    def _book_fills(self) -> None:
        """Book the simulator's new fills with the core accountant."""
        fills = self.sim.fills
        for k in range(self._seen, len(fills)):
            f = fills[k]
            self.cnt[C_TRADES] = 0  # round-trip records are not kept here
            book_fill_nb(0, int(f["side"]), float(f["size"]), float(f["price"]),
                         float(f["fee"]), int(f["ts"]), self.open_tr, self.trades, self.cnt,
                         self.acct)
        self._seen = len(fills)

    @property
    def inventory(self) -> float:
        """Position booked by the accountant (the exchange's: fills as they happen)."""
        return float(self.open_tr[0]["side"] * self.open_tr[0]["size"])

    def _observe(self) -> np.ndarray:
        k = self.k
        B.obs_nb(self.sim.BL, self._last_flow, self.lot, self.mids, self.window, k,
                 self.inventory, self.max_inv, self.eq, self.cash, self.obs)
        return self.obs.astype(np.float32)

    def _info(self) -> dict:
        return {"equity": self.eq, "step": self.k, "ts": int(self.t0 + self.k * self.dt),
                "inventory": self.inventory, "mid": float(self.mids[self.k]),
                "fills": self._seen}

    # --- gymnasium API --------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        from engine.tick import TickSim

        super().reset(seed=seed)
        hi = self.n_steps - self.episode_steps
        k0 = int(self.np_random.integers(self.window, hi + 1))
        if options and "start_step" in options:
            k0 = int(options["start_step"])
            if not self.window <= k0 <= hi:
                raise ConfigError("start_step out of range", argument="start_step", value=k0,
                                  fix=f"use {self.window}..{hi}")
        self.sim = TickSim(self.feed, self.tick_config)
        self.k = k0 - self.window
        for k in range(k0 - self.window, k0 + 1):  # warm up: the window's mids
            self.k = k
            self._advance(self.t0 + k * self.dt)
            self.mids[k] = self._mid()
        self.k, self.k_end = k0, k0 + self.episode_steps
        self._seen = len(self.sim.fills)  # (none: nothing was sent)
        self._quotes: list[int] = []
        self.open_tr[:] = np.zeros(1, T.TRADE_REC)
        self.cnt[:] = 0
        self.acct[:] = 0.0
        self.acct[A_CASH] = self.acct[A_INIT] = self.cash
        self.eq, self.ma, self.mb = self.cash, 0.0, 0.0
        tk = self.t0 + k0 * self.dt
        self._last_flow = self._flow(tk - self.dt, tk)
        self._ready = True
        return self._observe(), self._info()

    def _act(self, a: int) -> None:
        sim = self.sim
        if self.mode == "execution":
            q = (a - self.max_lots) * self.lot - sim.position
            if abs(q) > 1e-12:
                sim.submit(T.BUY if q > 0 else T.SELL, abs(q), tif="IOC")
            return
        for oid in self._quotes:
            sim.cancel(oid)
        self._quotes = []
        n = len(self.offsets)
        bo, ao = int(self.offsets[a // n]), int(self.offsets[a % n])
        book = sim.book()
        tick = self.feed.tick_size
        inv = sim.position
        bid, ask = book.best_bid()[0], book.best_ask()[0]
        if bo >= 0 and bid == bid and inv + self.lot <= self.max_inv + 1e-12:
            px = round(bid / tick - bo) * tick
            self._quotes.append(sim.submit(T.BUY, self.lot, limit=px, post_only=True))
        if ao >= 0 and ask == ask and inv - self.lot >= -self.max_inv - 1e-12:
            px = round(ask / tick + ao) * tick
            self._quotes.append(sim.submit(T.SELL, self.lot, limit=px, post_only=True))

    def step(self, action):
        if not self._ready:
            raise RunError("step() after the episode ended (or before reset())",
                           argument="step", value=None, fix="call reset() first")
        self._act(int(action))
        tk = self.t0 + self.k * self.dt
        self._advance(tk + self.dt)
        self._book_fills()
        self.k += 1
        mid = self._mid()
        self.mids[self.k] = mid
        self._last_flow = self._flow(tk, tk + self.dt)
        eq0 = self.eq
        inv = self.inventory
        self.eq = eq = float(self.acct[A_CASH] + inv * mid)
        if self.reward_kind == 0:
            r = (eq - eq0) / self.cash
        elif self.reward_kind == 1:
            r = math.log(eq / eq0) if eq > 0 and eq0 > 0 else -10.0
        else:
            ret = (eq - eq0) / eq0 if eq0 > 0 else -1.0
            a0, b0 = self.ma, self.mb
            var = b0 - a0 * a0
            r = (b0 * (ret - a0) - 0.5 * a0 * (ret * ret - b0)) / var**1.5 if var > 1e-12 else 0.0
            self.ma, self.mb = a0 + self.eta * (ret - a0), b0 + self.eta * (ret * ret - b0)
        r -= self.inv_penalty * abs(inv) * mid / self.cash
        term = not eq > 0
        trunc = self.k >= self.k_end and not term
        if term or trunc:
            self._ready = False
        return self._observe(), float(r), bool(term), bool(trunc), self._info()


__all__ = ["TradingBookEnv", "load_capture"]
