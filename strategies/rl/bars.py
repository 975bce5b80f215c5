"""Bar-mode trading environments over the engine's fill model and accountant.

:func:`make_setup` turns market data and broker options (the keys of ``engine.run``) into a
:class:`BarSetup`; :class:`Batch` holds the broker arrays of ``n`` environment slots and steps
them with the kernels of :mod:`strategies.rl.bars_nb`; :class:`TradingBarsEnv` is the
``gymnasium.Env`` of one slot (``tapereader/TradingBars-v0``).

Observation (float32): the last ``window`` rows of per-bar features (default
:func:`bar_features`: log return x100, distance of the close from its 20-bar mean x10, log
high/low range x100; per symbol), then each symbol's weight (position value / equity), cash /
equity and log(equity / starting cash). Features at bar i use bars <= i only.

Actions: ``"discrete"`` picks one of ``levels`` per symbol (Discrete, or MultiDiscrete for a
portfolio; percent levels are divided by the number of symbols); ``"table"`` picks one row of
``levels`` given as a table [actions, symbols] of targets (Discrete; e.g. long / flat / short a
pair spread: ``[[0.5, -0.5], [0, 0], [-0.5, 0.5]]``); ``"continuous"`` gives target
weights in [-1, 1] per symbol (Box), scaled down when their absolute sum exceeds 1. Targets are
percent of equity (``target="percent"``, the default) or units (``target="size"``); an order is
sent only when a symbol's target changes, and fills at the next bar's open (``fill_at``
``next_open``) or at this close (``signal_close``) through the engine's bar fill model with
the run's commission / slippage / leverage / shorting rules.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError
from engine import types as T
from engine.layout import N_ACCT, N_CNT, SNAP0
from strategies.rl import bars_nb as K
from strategies.rl.features import bar_features, compute_features, spread_features

__all__ = ["BarSetup", "Batch", "TradingBarsEnv", "bar_features", "make_setup",
           "spread_features"]

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv"
TARGET_KINDS = {"percent": T.F_TARGET_PCT, "size": T.F_TARGET}


@dataclasses.dataclass
class BarSetup:
    """Everything the kernels need that does not change between episodes."""

    market: Any  # engine.market.Market
    config: Any  # engine.config.RunConfig
    kcfg: np.ndarray
    symcfg: np.ndarray
    feat: np.ndarray  # float64[bars, symbols, features]
    window: int
    actions: str  # "discrete" | "continuous"
    levels: np.ndarray  # float64[rows, 1] (discrete) or [rows, symbols] (table)
    features: str  # "bars", "spread" or "custom"
    target: str
    kind_flags: int
    reward: str
    eta: float
    first: int  # first bar an episode may start at
    last: int  # last bar of the data an episode may reach
    episode_length: int | None
    random_start: bool

    @property
    def n_sym(self) -> int:
        return len(self.market.symbols)

    @property
    def obs_dim(self) -> int:
        return self.window * self.n_sym * self.feat.shape[2] + self.n_sym + 2

    def span(self, rng: np.random.Generator | None, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Start and end bars of ``n`` new episodes."""
        if self.episode_length is None:
            starts = np.full(n, self.first, np.int64)
            return starts, np.full(n, self.last, np.int64)
        hi = self.last - self.episode_length
        if self.random_start and rng is not None and hi > self.first:
            starts = rng.integers(self.first, hi + 1, size=n).astype(np.int64)
        else:
            starts = np.full(n, self.first, np.int64)
        return starts, starts + self.episode_length

    def env_options(self) -> dict:
        """The options a saved policy records (strategies.rl.policy.Policy.env)."""
        if self.actions == "table":
            lv = self.levels.tolist()
        else:
            lv = self.levels[:, 0].tolist()
            if self.target == "percent" and self.n_sym > 1:
                lv = (self.levels[:, 0] * self.n_sym).tolist()
        return {"window": self.window, "actions": self.actions, "levels": lv,
                "target": self.target, "features": self.features}

    def action_space(self):
        from gymnasium import spaces

        if self.actions == "table":
            return spaces.Discrete(len(self.levels))
        if self.actions == "discrete":
            if self.n_sym == 1:
                return spaces.Discrete(len(self.levels))
            return spaces.MultiDiscrete([len(self.levels)] * self.n_sym)
        return spaces.Box(-1.0, 1.0, (self.n_sym,), np.float32)

    def observation_space(self):
        from gymnasium import spaces

        return spaces.Box(-np.inf, np.inf, (self.obs_dim,), np.float32)


def make_setup(data: Any = None, *, window: int = 16, features: Any = "bars",
               actions: str = "discrete", levels=(-1.0, 0.0, 1.0), target: str = "percent",
               reward: str = "pnl", eta: float = 0.01, episode_length: int | None = 252,
               random_start: bool = True, start: Any = None, end: Any = None,
               symbol: str | None = None, **broker: Any) -> BarSetup:
    """Load ``data`` (anything ``engine.run`` takes as market; default: shipped GOOG daily)
    and validate the options. ``broker``: cash, commission, slippage, fill_at, max_leverage,
    shortable, lot_size, borrow_rate, volume_cap, max_position (as in ``engine.run``)."""
    from engine.broker import make_cfg, make_symcfg
    from engine.config import resolve_config
    from engine.market import load_market

    if data is None:
        data = str(DEFAULT_DATA)
    bad = set(broker) - {"cash", "commission", "slippage", "fill_at", "max_leverage",
                         "shortable", "lot_size", "borrow_rate", "volume_cap", "max_position"}
    if bad:
        k = sorted(bad)[0]
        raise ConfigError("unknown environment option", argument=k, value=broker[k],
                          fix="see strategies.rl.bars.make_setup for the options")
    cfg = resolve_config(None, **broker)
    market = load_market(data, symbol=symbol, start=start, end=end)
    o, c = market.mkt[0], market.mkt[3]
    missing = np.isnan(o).any(axis=1) | np.isnan(c).any(axis=1)
    if missing.any():
        r = int(np.flatnonzero(missing)[0])
        raise ConfigError("a symbol has no bar at some time stamps", argument="data",
                          value=f"bar {r} ({market.ts[r]} ns)",
                          fix="use symbols traded on the same calendar (or align them first)")
    if actions not in ("discrete", "continuous", "table"):
        raise ConfigError("unknown action type", argument="actions", value=actions,
                          fix="use 'discrete', 'table' or 'continuous'")
    if target not in TARGET_KINDS:
        raise ConfigError("unknown target kind", argument="target", value=target,
                          fix=f"use one of {list(TARGET_KINDS)}")
    if actions == "continuous" and target != "percent":
        raise ConfigError("continuous actions are target weights", argument="target",
                          value=target, fix="use target='percent' (or discrete sizes)")
    if reward not in K.REWARDS:
        raise ConfigError("unknown reward", argument="reward", value=reward,
                          fix=f"use one of {list(K.REWARDS)}")
    if not (isinstance(window, int) and window >= 1):
        raise ConfigError("window must be an integer >= 1", argument="window", value=window,
                          fix="e.g. window=16")
    if not 0.0 < eta < 1.0:
        raise ConfigError("eta must be in (0, 1)", argument="eta", value=eta, fix="e.g. 0.01")
    n = market.n_bars
    fname = "custom"
    if features is None or isinstance(features, str):
        fname = features or "bars"
        one = len(market.symbols) == 1
        pick = (lambda a: a[:, 0]) if one else (lambda a: a)
        feat = compute_features(fname, pick(c), pick(market.mkt[1]), pick(market.mkt[2]))
    else:
        feat = np.asarray(features, np.float64)
        if feat.ndim == 2:
            feat = feat[:, None, :] if len(market.symbols) == 1 else feat[:, :, None]
        if feat.ndim != 3 or feat.shape[:2] != (n, len(market.symbols)):
            raise ConfigError("features have the wrong shape", argument="features",
                              value=feat.shape,
                              fix=f"give [bars, symbols, features] with bars={n}")
        if not np.isfinite(feat).all():
            raise ConfigError("features contain nan or inf", argument="features",
                              value="non-finite", fix="fill them (e.g. with 0)")
    lv = np.asarray(levels, np.float64)
    if actions == "table":
        if lv.ndim != 2 or lv.shape[1] != len(market.symbols) or len(lv) < 2 or not (
                np.isfinite(lv).all()):
            raise ConfigError("a table of targets needs [actions >= 2, symbols] finite numbers",
                              argument="levels", value=np.shape(levels),
                              fix="e.g. [[0.5, -0.5], [0, 0], [-0.5, 0.5]] for a pair")
    else:
        if lv.ndim != 1 or len(lv) < 2 or not np.isfinite(lv).all():
            raise ConfigError("levels must be at least two finite numbers", argument="levels",
                              value=levels, fix="e.g. levels=(-1, 0, 1)")
        if target == "percent" and len(market.symbols) > 1:
            lv = lv / len(market.symbols)
        lv = lv[:, None]
    first = window - 1
    last = n - 1
    if episode_length is not None:
        if not (isinstance(episode_length, int) and episode_length >= 1):
            raise ConfigError("episode_length must be an integer >= 1 (or None)",
                              argument="episode_length", value=episode_length, fix="e.g. 252")
        if first + episode_length > last:
            raise ConfigError("not enough bars for one episode", argument="episode_length",
                              value=episode_length, fix=f"use at most {last - first} "
                              f"(bars {n}, window {window})")
    elif first >= last:
        raise ConfigError("not enough bars for the window", argument="window", value=window,
                          fix=f"use fewer than {n - 1}")
    return BarSetup(market=market, config=cfg, kcfg=make_cfg(cfg),
                    symcfg=make_symcfg(cfg, market), feat=np.ascontiguousarray(feat),
                    window=window, actions=actions, levels=np.ascontiguousarray(lv),
                    features=fname, target=target, kind_flags=TARGET_KINDS[target],
                    reward=reward, eta=float(eta), first=first, last=last,
                    episode_length=episode_length, random_start=bool(random_start))


class Batch:
    """Broker arrays of ``n`` environment slots (the engine's layouts with a leading axis)."""

    def __init__(self, setup: BarSetup, n: int, order_cap: int | None = None,
                 parallel: bool | None = None) -> None:
        self.setup = su = setup
        # opt-in: one parallel region per step pays thread wake-ups (same results)
        self.parallel = False if parallel is None else bool(parallel)
        ns = su.n_sym
        cap = order_cap or max(8, 4 * ns)
        self.n = n
        self.orders = np.zeros((n, cap), T.ORDER)
        self.fills = np.zeros((n, 2 * cap + 4), T.FILL)
        self.trades = np.zeros((n, 2 * cap + 4), T.TRADE_REC)
        self.open_tr = np.zeros((n, ns), T.TRADE_REC)
        self.acct = np.zeros((n, N_ACCT))
        self.cnt = np.zeros((n, max(8, N_CNT)), np.int64)
        self.snap = np.zeros((n, 8, SNAP0 + ns))
        self.last = np.full((n, ns), np.nan)
        self.st = np.zeros((n, K.N_ST))
        self.ist = np.zeros((n, K.N_IST), np.int64)
        self.obs = np.zeros((n, su.obs_dim), np.float32)
        self.rew = np.zeros(n)
        self.term = np.zeros(n, np.bool_)
        self.trunc = np.zeros(n, np.bool_)
        self.status = np.zeros(n, np.int64)
        self.tgt = np.full((n, ns), np.nan)
        self.skip = np.zeros(n, np.bool_)
        self.act_mode = {"discrete": K.ACT_INDEX, "table": K.ACT_ROW,
                         "continuous": K.ACT_WEIGHT}[su.actions]
        self.reward_kind = K.REWARDS[su.reward]

    def reset(self, slots: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
        su = self.setup
        K.reset_slots_nb(np.asarray(slots, np.int64), starts, ends, su.feat, su.window,
                         su.market.mkt, self.open_tr, self.acct, self.cnt, self.last, self.st,
                         self.ist, float(su.config.cash), self.obs)

    def step(self, actions: np.ndarray) -> None:
        su = self.setup
        kernel = K.step_slots_par_nb if self.parallel else K.step_slots_nb
        kernel(actions, self.act_mode, su.levels, su.kind_flags, self.reward_kind,
                        su.eta, su.feat, su.window, su.market.mkt, su.market.ts, su.kcfg,
                        su.symcfg, self.orders, self.fills, self.trades, self.open_tr,
                        self.acct, self.cnt, self.snap, self.last, self.st, self.ist,
                        self.skip, self.obs, self.rew, self.term, self.trunc, self.status,
                        self.tgt)
        if (self.status == K.ST_FULL).any():
            from data.errors import RunError

            raise RunError("environment order arrays are full (orders kept working)",
                           argument="order_cap", value=self.orders.shape[1],
                           fix="pass a larger order_cap, or avoid orders that cannot fill")

    def actions_array(self, action) -> np.ndarray:
        """A gymnasium action (per slot) -> float64[n, n_sym]."""
        a = np.asarray(action, np.float64)
        if self.act_mode == K.ACT_ROW:
            out = np.zeros((self.n, self.setup.n_sym))
            out[:, 0] = a.reshape(self.n)
            return out
        return np.ascontiguousarray(a.reshape(self.n, self.setup.n_sym))


def _gym():
    import gymnasium

    return gymnasium


class TradingBarsEnv(_gym().Env):
    """One trading account over bars (single symbol or a portfolio); see the module docstring.

    ``gymnasium.make("tapereader/TradingBars-v0")`` builds it on shipped GOOG daily bars. Any
    keyword of :func:`make_setup` is accepted (data, window, actions, levels, target, reward,
    episode_length, random_start, start, end, cash, commission, slippage, fill_at, ...).
    ``info``: equity, bar index, time stamp (ns) and the targets sent this step.
    """

    metadata = {"render_modes": []}

    def __init__(self, setup: BarSetup | None = None, **options: Any) -> None:
        self.setup = setup if setup is not None else make_setup(**options)
        self.batch = Batch(self.setup, 1)
        self.observation_space = self.setup.observation_space()
        self.action_space = self.setup.action_space()
        self._ready = False
        self.history: list[np.ndarray] = []  # targets sent at each step's bar (for replays)

    def _info(self) -> dict:
        b = self.batch
        i = int(b.ist[0, K.I_BAR])
        return {"equity": float(b.st[0, K.ST_EQ]), "bar": i,
                "ts": int(self.setup.market.ts[i])}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        starts, ends = self.setup.span(self.np_random, 1)
        if options and "start" in options:  # a fixed start bar for this episode
            s = int(options["start"])
            length = ends[0] - starts[0]
            starts = np.array([s], np.int64)
            ends = np.array([min(s + length, self.setup.last)], np.int64)
        self.batch.reset(np.zeros(1, np.int64), starts, ends)
        self._ready = True
        self.history = []
        return self.batch.obs[0].copy(), self._info()

    def step(self, action):
        if not self._ready:
            from data.errors import RunError

            raise RunError("step() after the episode ended (or before reset())",
                           argument="step", value=None, fix="call reset() first")
        b = self.batch
        b.step(b.actions_array(action))
        self.history.append(b.tgt[0].copy())
        term, trunc = bool(b.term[0]), bool(b.trunc[0])
        if term or trunc:
            self._ready = False
        info = self._info()
        info["targets"] = b.tgt[0].copy()
        return b.obs[0].copy(), float(b.rew[0]), term, trunc, info

    # --- replay ---------------------------------------------------------------------------
    def replay_window(self) -> tuple[int, int, np.ndarray]:
        """(first ts, last ts, targets[bars, symbols]) of the current episode: the bars a
        backtest must cover (``start`` / ``end``) and the targets it must send at each bar
        (the last bar sends none) to reproduce this episode."""
        b = self.batch
        i0, i1 = int(b.ist[0, K.I_START]), int(b.ist[0, K.I_BAR])
        tg = np.full((i1 - i0 + 1, self.setup.n_sym), np.nan)
        if self.history:
            tg[: len(self.history)] = np.array(self.history)
        ts = self.setup.market.ts
        return int(ts[i0]), int(ts[i1]), tg
