"""``TradingBookEnv`` (``tapereader/TradingBook-v0``): a tick-mode environment on the engine's
numba L2 book, with execution (taker) or market-making (maker) actions.

Data: a Binance USD-M capture (default: the shipped hftbacktest BTCUSDT stream, 3 minutes);
the depth stream is synchronised with :func:`data.readers.binance.sync_depth` and replayed by
:func:`engine.book.l2_nb.l2_replay_nb`; trades come from the same capture. Fill rules, latency
and costs: :mod:`strategies.rl.book_nb`.

* ``mode="execution"``: Discrete(2 * max_lots + 1): the target inventory in lots
  (action - max_lots), reached with a taker order walking the book.
* ``mode="market_making"``: Discrete(n * n) over (bid offset, ask offset) pairs from
  ``offsets`` (ticks from the best; -1 = no quote on that side), one lot per quote, inventory
  limited to ``max_lots``.

Observation: spread (ticks / 10), L1 and top-5 size imbalance, microprice - mid (ticks), signed
traded volume of the last step (/ 10 lots), the mid's log returns over the last ``window``
steps (bps), inventory / max inventory, position value / equity, log(equity / cash).

This is the simpler tick environment the issue allows while the tick fill simulator (issue
engine/tick) is not on main: queue positions are not modelled (a quote fills only when the
market trades through it), and our orders do not change the replayed book.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from data.errors import ConfigError, RunError
from engine import types as T
from engine.layout import A_CASH, A_INIT, N_ACCT, N_CNT
from strategies.rl import book_nb as B
from strategies.rl.bars_nb import REWARDS

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CAPTURE = ROOT / "data" / "samples" / "crypto" / (
    "hftbacktest_binance-usdm_BTCUSDT_stream_20240718_2357-2400.gz")
MS = 1_000_000


@functools.lru_cache(maxsize=4)
def load_capture(path: str, tick_size: float | None = None) -> dict[str, Any]:
    """Depth rows (ticks), batch ends and trades of a Binance capture (cached per process)."""
    import warnings

    from data.readers.binance import read_binance_stream, sync_depth
    from engine.book.book import to_ticks

    with warnings.catch_warnings():  # clock-skew notes of the reader are not ours to repeat
        warnings.simplefilter("ignore")
        stream = read_binance_stream(path)
    tick = float(tick_size or stream.tick_size_hint)
    d = sync_depth(stream).depth
    if len(d) == 0 or len(stream.trades) == 0:
        raise ConfigError("the capture has no usable depth or trades", argument="data",
                          value=path, fix="use a capture with depth diffs, a snapshot and trades")
    last = np.flatnonzero(d["flags"] & 4)  # DEPTH_LAST: the book is consistent after it
    tr = stream.trades
    return {
        "tick": tick, "symbol": stream.symbol,
        "dts": np.ascontiguousarray(d["ts"]), "dside": np.ascontiguousarray(d["side"]),
        "dtick": to_ticks(d["price"], tick, check=d["size"] > 0),
        "dq": np.ascontiguousarray(d["size"]), "dflags": np.ascontiguousarray(d["flags"]),
        "bstop": (last + 1).astype(np.int64), "bts": np.ascontiguousarray(d["ts"][last]),
        "tts": np.ascontiguousarray(tr["ts"]),
        "ttick": np.rint(tr["price"] / tick).astype(np.int64),
        "tq": np.ascontiguousarray(tr["size"]), "tside": tr["side"].astype(np.int64),
    }


class TradingBookEnv(gym.Env):
    """See the module docstring. Keywords: data, mode, step_ms, latency_ms, episode_steps,
    window, lot, max_lots, offsets, reward, eta, inventory_penalty, cash, commission."""

    metadata = {"render_modes": []}

    def __init__(self, data: str | None = None, *, mode: str = "execution",
                 step_ms: float = 500.0, latency_ms: float = 10.0, episode_steps: int = 200,
                 window: int = 8, lot: float = 0.001, max_lots: int = 5,
                 offsets=(0, 5, 20, -1), reward: str = "pnl", eta: float = 0.01,
                 inventory_penalty: float = 0.0, cash: float = 10_000.0,
                 commission: Any = None, tick_size: float | None = None) -> None:
        from engine.broker import make_cfg
        from engine.config import resolve_config

        if mode not in ("execution", "market_making"):
            raise ConfigError("unknown mode", argument="mode", value=mode,
                              fix="use 'execution' or 'market_making'")
        if reward not in REWARDS:
            raise ConfigError("unknown reward", argument="reward", value=reward,
                              fix=f"use one of {list(REWARDS)}")
        if not (step_ms > 0 and latency_ms >= 0 and lot > 0 and max_lots >= 1 and window >= 1):
            raise ConfigError("step_ms, lot, max_lots, window must be > 0; latency_ms >= 0",
                              argument="step_ms/latency_ms/lot/max_lots/window",
                              value=(step_ms, latency_ms, lot, max_lots, window),
                              fix="e.g. step_ms=500, latency_ms=10, lot=0.001, max_lots=5")
        if commission is None:  # Binance USD-M regular tier
            commission = {"model": "maker_taker", "maker": 0.0002, "taker": 0.0004}
        self.data = load_capture(str(data or DEFAULT_CAPTURE), tick_size)
        self.config = resolve_config(None, cash=cash, commission=commission)
        self.kcfg = make_cfg(self.config)
        self.mode = mode
        self.dt = int(step_ms * MS)
        self.latency = int(latency_ms * MS)
        self.lot, self.max_lots, self.window = float(lot), int(max_lots), int(window)
        self.max_inv = self.lot * self.max_lots
        self.offsets = np.asarray(offsets, np.int64)
        self.reward_kind, self.eta = REWARDS[reward], float(eta)
        self.inv_penalty = float(inventory_penalty)
        d = self.data
        self.t0 = int(d["bts"][0])
        self.n_steps = int((min(d["bts"][-1], d["tts"][-1]) - self.t0) // self.dt)
        self.episode_steps = int(episode_steps)
        if self.window + 1 + self.episode_steps > self.n_steps:
            raise ConfigError("the capture is too short for one episode",
                              argument="episode_steps", value=episode_steps,
                              fix=f"use at most {self.n_steps - self.window - 1} steps of "
                                  f"{step_ms} ms")
        n_off = len(self.offsets)
        self.action_space = (spaces.Discrete(2 * self.max_lots + 1) if mode == "execution"
                             else spaces.Discrete(n_off * n_off))
        self.obs_dim = B.N_BOOK_FEAT + self.window + 3
        self.observation_space = spaces.Box(-np.inf, np.inf, (self.obs_dim,), np.float32)
        n_rows = len(d["dts"])
        self._overflow = n_rows + 16  # every row adds at most one level: never full
        self.open_tr = np.zeros(1, T.TRADE_REC)
        self.trades = np.zeros(4, T.TRADE_REC)
        self.cnt = np.zeros(max(8, N_CNT), np.int64)
        self.acct = np.zeros(N_ACCT)
        self.ist = np.zeros(B.N_BIST, np.int64)
        self.fst = np.zeros(B.N_FST)
        self.mids = np.zeros(self.n_steps + 2)
        self.obs = np.zeros(self.obs_dim)
        self._ready = False

    def _fresh_book(self):
        from engine.book.l2_nb import l2_alloc

        return l2_alloc(1 << 16, self._overflow)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        hi = self.n_steps - self.episode_steps
        k0 = int(self.np_random.integers(self.window, hi + 1))
        if options and "start_step" in options:
            k0 = int(options["start_step"])
            if not self.window <= k0 <= hi:
                raise ConfigError("start_step out of range", argument="start_step", value=k0,
                                  fix=f"use {self.window}..{hi}")
        d = self.data
        self.book = self._fresh_book()
        self.ist[:] = 0
        self.fst[:] = 0.0
        # warm up: replay to each of the window's boundaries to record the mids
        for k in range(k0 - self.window, k0 + 1):
            st = B.book_run_to_nb(self.t0 + k * self.dt, self.book, d["dts"], d["dside"],
                                  d["dtick"], d["dq"], d["dflags"], d["bstop"], d["bts"],
                                  self.ist)
            if st != 0:
                raise RunError("order book level arrays are full", argument="data",
                               value=st, fix="report this: the overflow is sized per row")
            self.mids[k] = B._mid_nb(self.book, d["tick"])
        self.ist[B.B_TRADE] = int(np.searchsorted(d["tts"], self.t0 + k0 * self.dt, "right"))
        self.ist[B.B_STEP] = k0
        self.ist[B.B_START] = k0
        self.ist[B.B_END] = k0 + self.episode_steps
        self.open_tr[:] = np.zeros(1, T.TRADE_REC)
        self.cnt[:] = 0
        self.acct[:] = 0.0
        self.acct[A_CASH] = self.acct[A_INIT] = self.config.cash
        self.fst[B.F_EQ] = self.config.cash
        B._obs_nb(self.book, d["tick"], self.fst, self.mids, self.window, k0, 0.0, self.max_inv,
                  self.acct, self.lot, self.obs)
        self._ready = True
        return self.obs.astype(np.float32), self._info()

    def _info(self) -> dict:
        k = int(self.ist[B.B_STEP])
        return {"equity": float(self.fst[B.F_EQ]), "step": k,
                "ts": int(self.t0 + k * self.dt), "inventory": self.inventory,
                "mid": float(self.mids[k])}

    @property
    def inventory(self) -> float:
        return float(self.open_tr[0]["side"] * self.open_tr[0]["size"])

    def step(self, action):
        if not self._ready:
            raise RunError("step() after the episode ended (or before reset())",
                           argument="step", value=None, fix="call reset() first")
        a = int(action)
        d = self.data
        q, bo, ao = 0.0, -1, -1
        if self.mode == "execution":
            target = (a - self.max_lots) * self.lot
            q = target - self.inventory
            if abs(q) < 1e-12:
                q = 0.0
        else:
            n = len(self.offsets)
            bo, ao = int(self.offsets[a // n]), int(self.offsets[a % n])
        r, st = B.book_step_nb(
            B.MODE_TAKER if self.mode == "execution" else B.MODE_MAKER, q, bo, ao, self.t0,
            self.dt, self.latency, self.lot, self.max_inv, d["tick"], self.kcfg,
            self.reward_kind, self.eta, self.inv_penalty, self.book, d["dts"], d["dside"],
            d["dtick"], d["dq"], d["dflags"], d["bstop"], d["bts"], d["tts"], d["ttick"],
            d["tq"], d["tside"], self.open_tr, self.trades, self.cnt, self.acct, self.ist,
            self.fst, self.mids, self.window, self.obs)
        if st == 2:
            raise RunError("order book level arrays are full", argument="data", value=st,
                           fix="report this: the overflow is sized per row")
        term = st == 1
        trunc = bool(self.ist[B.B_STEP] >= self.ist[B.B_END]) and not term
        if term or trunc:
            self._ready = False
        return self.obs.astype(np.float32), float(r), bool(term), trunc, self._info()
