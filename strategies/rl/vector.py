"""``TradingBarsVectorEnv``: many bar-mode environments stepped together in one numba call.

A :class:`gymnasium.vector.VectorEnv` (next-step autoreset, gymnasium's default: the step after
an episode ended resets that slot, ignores its action and returns its first observation with
reward 0). Every slot is the same account as :class:`~strategies.rl.bars.TradingBarsEnv` on
the same data and options; episodes start at bars drawn from one seeded
``numpy.random.Generator``. ``gymnasium.make_vec("tapereader/TradingBars-v0", num_envs=64,
vectorization_mode="vector_entry_point")`` builds it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from strategies.rl import bars_nb as K
from strategies.rl.bars import BarSetup, Batch, make_setup


class TradingBarsVectorEnv(VectorEnv):
    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 64, setup: BarSetup | None = None,
                 parallel: bool | None = None, **options: Any):
        if not (isinstance(num_envs, int) and num_envs >= 1):
            from data.errors import ConfigError

            raise ConfigError("num_envs must be an integer >= 1", argument="num_envs",
                              value=num_envs, fix="e.g. num_envs=64")
        self.setup = setup if setup is not None else make_setup(**options)
        self.num_envs = num_envs
        self.batch = Batch(self.setup, num_envs, parallel=parallel)
        self.single_observation_space = self.setup.observation_space()
        self.single_action_space = self.setup.action_space()
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._rng = np.random.default_rng()
        self._started = False

    def _reset_slots(self, slots: np.ndarray) -> None:
        starts, ends = self.setup.span(self._rng, len(slots))
        self.batch.reset(slots, starts, ends)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._reset_slots(np.arange(self.num_envs, dtype=np.int64))
        self.batch.skip[:] = False
        self._started = True
        return self.batch.obs.copy(), {}

    def step(self, actions):
        b = self.batch
        if not self._started:
            self.reset()
        a = b.actions_array(actions)
        # next-step autoreset: slots that ended on the previous step start again now
        if b.skip.any():
            self._reset_slots(np.flatnonzero(b.skip).astype(np.int64))
        b.step(a)
        term, trunc = b.term.copy(), b.trunc.copy()
        b.skip[:] = term | trunc
        return b.obs.copy(), b.rew.copy(), term, trunc, {}

    def close(self, **kwargs):
        self._started = False


def rollout(env: TradingBarsVectorEnv, table: np.ndarray, parallel: bool = False) -> float:
    """Step every slot of ``env`` once per row of ``table`` (actions float64[steps, n_env,
    n_sym]) inside one numba call (``parallel``: slots on numba's threads), restarting
    finished slots at their current start bar (benchmarks: the env's throughput without
    Python per step)."""
    b, su = env.batch, env.setup
    starts = b.ist[:, K.I_START].copy()
    ends = b.ist[:, K.I_END].copy()
    kernel = K.rollout_par_nb if parallel else K.rollout_nb
    return kernel(np.ascontiguousarray(table, np.float64), b.act_mode, su.levels,
                        su.kind_flags, b.reward_kind, su.eta, su.feat, su.window, su.market.mkt,
                        su.market.ts, su.kcfg, su.symcfg, b.orders, b.fills, b.trades,
                        b.open_tr, b.acct, b.cnt, b.snap, b.last, b.st, b.ist, b.obs, b.rew,
                        b.term, b.trunc, b.status, b.tgt, starts, ends,
                        float(su.config.cash))


__all__ = ["TradingBarsVectorEnv", "gym", "rollout"]
