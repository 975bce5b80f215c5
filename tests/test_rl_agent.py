"""The numpy linear Q-learning agent learns a synthetic series with a learnable pattern."""

from __future__ import annotations

import numpy as np
from rl_helpers import ar_bars

from strategies.rl.agents import LinearQ
from strategies.rl.bars import TradingBarsEnv, make_setup
from strategies.rl.vector import TradingBarsVectorEnv

OPTS = dict(window=2, commission=0.0005, lot_size=0.0)


def _final_equity(env, policy):
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        obs, _, term, trunc, info = env.step(policy(obs))
        done = term or trunc
    return info["equity"]


def test_linear_q_beats_random_on_held_out_ar_series():
    bars = ar_bars(2000, phi=-0.6, seed=0)  # returns mean-revert: the last one predicts the next
    venv = TradingBarsVectorEnv(16, setup=make_setup(bars[:1500], episode_length=100, **OPTS))
    agent = LinearQ(venv.setup.obs_dim, 3, lr=0.05, gamma=0.0, seed=0)
    hist = agent.train(venv, 1500, eps=0.1, seed=1)
    assert np.mean(hist[-300:]) > np.mean(hist[:50])  # learning curve goes up
    test = TradingBarsEnv(setup=make_setup(bars[1500:], episode_length=None, **OPTS))
    learned = _final_equity(test, lambda o: int(agent.act(o[None])[0]))
    rng = np.random.default_rng(0)
    random = [_final_equity(test, lambda o: int(rng.integers(3))) for _ in range(20)]
    assert learned > 1.5 * 10_000.0  # +50% on 500 unseen bars after costs
    assert learned > 2.0 * max(random)
    # it learned the sign rule: long after a down bar, short after an up bar
    x = np.zeros(venv.setup.obs_dim, np.float32)
    x[-2] = 1.0
    down, up = x.copy(), x.copy()
    down[3], up[3] = -1.0, 1.0  # the last bar's log return feature (x100)
    assert agent.act(down[None])[0] == 2 and agent.act(up[None])[0] == 0
