"""RL strategies: ``rl_policy`` trades trained policies, ``rl_replay`` replays targets.

* ``rl_policy`` (:class:`RLPolicy`): trades one policy file (``.npz`` / ``.json``; an SB3
  ``.zip`` only with ``trust=true``), or an ensemble of several (``path = "a.npz,b.npz"``,
  ``vote = "majority"`` or ``"mean"``), in normal backtests and sweeps. It builds the
  environment's observation (:mod:`strategies.rl.bars`) from the bars seen so far and maps
  actions to targets as the environment does. See docs/rl.md.
* ``rl_replay`` (:class:`RLReplay`): sends recorded targets (a ``.npy`` of [bars] or [bars,
  symbols], nan = no new target) through the compiled path: the backtest side of the
  environment / backtest P&L equality (``TradingBarsEnv.replay_window``).

Only numpy at import; the policy machinery (:mod:`strategies.rl.policy`) is imported when a
run starts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from data.errors import StrategyError
from strategies.base import Param, Strategy


class RLPolicy(Strategy):
    name = "rl_policy"
    about = "trade a trained RL policy (.npz/.json; ensembles: comma-separated paths)"
    path: str = Param("", help="policy file(s): a.npz or a.npz,b.npz,... (ensemble)")
    vote: str = Param("majority", choices=("majority", "mean"), help="ensemble rule")
    trust: bool = Param(False, help="allow loading SB3 .zip files (they unpickle)")
    algo: str = Param("", help="SB3 algorithm of a .zip (PPO, A2C, DQN)")
    trade_from: str = Param("", help="first bar time to trade (ISO); earlier bars only warm "
                                     "up the features (out-of-sample tests)")

    def validate(self) -> None:
        if not self.path:
            raise StrategyError("rl_policy needs a policy file", argument="path", value="",
                                fix="--param path=policy.npz")

    def init(self, ctx) -> None:
        from strategies.rl.features import compute_features
        from strategies.rl.policy import Ensemble, load_policy

        pols = [load_policy(p.strip(), trust=self.trust, algo=self.algo)
                for p in self.path.split(",") if p.strip()]
        self.ensemble = Ensemble(pols, self.vote)
        env = self.ensemble.env
        self.window = int(env.get("window", 16))
        self.actions = env.get("actions", "discrete")
        n_sym = len(ctx.symbols)
        lv = np.asarray(env.get("levels", (-1.0, 0.0, 1.0)), np.float64)
        self.target = env.get("target", "percent")
        if self.target == "percent" and n_sym > 1 and self.actions != "table":
            lv = lv / n_sym
        self.levels = lv
        d = ctx.data
        self.feat = compute_features(env.get("features", "bars"), d["close"], d["high"],
                                     d["low"])
        want = self.window * n_sym * self.feat.shape[2] + n_sym + 2
        if pols[0].obs_dim != want:
            raise StrategyError("the policy expects another observation size",
                                argument="path", value=pols[0].obs_dim,
                                fix=f"this market gives {want}: same symbols count and window "
                                    f"({self.window}) as in training")
        self.cash0 = ctx.cash
        self.last = np.full(n_sym, np.nan)
        self.t_from = None
        if self.trade_from:
            from engine.market import parse_time

            self.t_from = parse_time(self.trade_from, "trade_from")

    def observation(self, ctx) -> np.ndarray:
        """The environment's observation at the current bar (strategies.rl.bars)."""
        i, n_sym = ctx.i, len(ctx.symbols)
        f = self.feat[i - self.window + 1 : i + 1].ravel()  # [bars, symbols, features]
        eq = ctx.equity
        inv = 1.0 / eq if eq > 0 else 0.0
        w = [ctx.position(s) * ctx.price(s) * inv if ctx.position(s) != 0 else 0.0
             for s in range(n_sym)]
        tail = [ctx.cash * inv, np.log(eq / self.cash0) if eq > 0 else -10.0]
        return np.concatenate([f, w, tail]).astype(np.float32).astype(np.float64)

    def on_bar(self, ctx) -> None:
        if ctx.i < self.window - 1 or (self.t_from is not None and ctx.now < self.t_from):
            return
        obs = self.observation(ctx)
        e = self.ensemble
        if len(e.policies) == 1:
            from strategies.rl.policy import action_targets

            tg = action_targets(e.policies[0].act(obs), self.actions, self.levels)
        else:
            tg = e.targets(obs, self.levels, self.actions)
            if self.actions == "continuous":
                from strategies.rl.policy import action_targets

                tg = action_targets(tg, "continuous", self.levels)
        for s, x in enumerate(tg):
            if x != self.last[s]:
                self.last[s] = x
                if self.target == "size":
                    ctx.order_target_size(s, float(x))
                else:
                    ctx.order_target_percent(s, float(x))


class RLReplay(Strategy):
    name = "rl_replay"
    about = "send recorded targets (a .npy of [bars] or [bars, symbols]; nan = none)"
    path: str = Param("", help="targets file (.npy, numpy.save)")
    kind: str = Param("percent", choices=("percent", "size", "value"), help="target kind")

    def validate(self) -> None:
        if not self.path:
            raise StrategyError("rl_replay needs a targets file", argument="path", value="",
                                fix="--param path=targets.npy")

    def targets(self, data) -> Any:
        from engine.compiled import Targets

        try:
            t = np.load(self.path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise StrategyError(f"cannot read targets: {exc}", argument="path",
                                value=self.path, fix="write it with numpy.save") from None
        return Targets(np.asarray(t, np.float64), self.kind)
