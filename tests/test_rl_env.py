"""Bar-mode RL environments: gymnasium contract, registration, options, determinism, vector env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rl_helpers import GOOG, KO, PEP

import strategies.rl  # noqa: F401  (registers the environments)
from data.errors import ConfigError
from strategies.rl.bars import TradingBarsEnv, make_setup
from strategies.rl.vector import TradingBarsVectorEnv

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
PAIR = {"KO": str(KO), "PEP": str(PEP)}


def test_make_with_defaults_on_shipped_data_passes_check_env():
    env = gym.make("tapereader/TradingBars-v0")
    check_env(env.unwrapped)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    assert env.action_space == gym.spaces.Discrete(3)
    assert info["equity"] == 10_000.0


@pytest.mark.parametrize("opts", [
    {"actions": "continuous", "reward": "log_return"},
    {"actions": "discrete", "reward": "sharpe", "levels": (0.0, 0.5, 1.0)},
    {"actions": "discrete", "target": "size", "levels": (-10.0, 0.0, 10.0)},
    {"data": PAIR, "actions": "continuous", "episode_length": 100},
    {"data": PAIR, "actions": "discrete", "fill_at": "signal_close", "commission": 0.002},
])
def test_check_env_variants(opts):
    env = TradingBarsEnv(data=opts.pop("data", str(GOOG)), **opts)
    check_env(env)


def _episode(env, seed, actions_seed):
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(actions_seed)
    out, done = [obs], False
    while not done:
        if isinstance(env.action_space, gym.spaces.Discrete):
            a = int(rng.integers(env.action_space.n))
        else:
            a = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        obs, r, term, trunc, info = env.step(a)
        out.append(np.append(obs, r))
        done = term or trunc
    return np.concatenate(out), info


def test_same_seed_same_episode_and_random_windows_differ():
    env = TradingBarsEnv(data=str(GOOG), episode_length=50, commission=0.001)
    a, ia = _episode(env, 7, 1)
    b, ib = _episode(env, 7, 1)
    c, ic = _episode(env, 8, 1)
    assert np.array_equal(a, b) and ia == ib
    assert ic["bar"] != ia["bar"]  # another random window


def test_fixed_window_runs_to_the_end():
    env = TradingBarsEnv(data=str(GOOG), episode_length=None, window=8)
    obs, info = env.reset(seed=0)
    assert info["bar"] == 7
    n = 0
    while True:
        n += 1
        _, _, term, trunc, info = env.step(1)
        if term or trunc:
            break
    assert trunc and info["bar"] == env.setup.market.n_bars - 1 and n == info["bar"] - 7


def test_observation_holds_position_and_cash_state():
    env = TradingBarsEnv(data=str(GOOG), window=4, commission=0.0)
    env.reset(seed=0)
    obs, _, _, _, info = env.step(2)  # all-in long at the next open
    w, cash_frac, log_eq = obs[-3], obs[-2], obs[-1]
    assert 0.95 < w <= 1.0 and 0.0 <= cash_frac < 0.05
    assert np.isclose(w + cash_frac, 1.0, atol=1e-6)
    assert np.isclose(log_eq, np.log(info["equity"] / 10_000.0), atol=1e-6)
    obs, *_ = env.step(0)  # short
    assert -1.1 < obs[-3] < -0.9  # sized at the open, marked at the close


def test_rewards_are_consistent_with_equity():
    envs = {k: TradingBarsEnv(data=str(GOOG), reward=k, episode_length=30, commission=0.001)
            for k in ("pnl", "log_return", "sharpe")}
    eq = {}
    rews = {}
    for k, env in envs.items():
        env.reset(seed=5)
        path, rs = [10_000.0], []
        for t in range(30):
            _, r, *_, info = env.step([2, 0, 1][t % 3])
            path.append(info["equity"])
            rs.append(r)
        eq[k], rews[k] = np.array(path), np.array(rs)
    assert np.array_equal(eq["pnl"], eq["log_return"]) and np.array_equal(eq["pnl"], eq["sharpe"])
    e = eq["pnl"]
    assert np.allclose(rews["pnl"], np.diff(e) / 10_000.0)
    assert np.allclose(rews["log_return"], np.log(e[1:] / e[:-1]))
    # differential Sharpe: recompute the moments
    a = b = 0.0
    want = []
    for r in np.diff(e) / e[:-1]:
        var = b - a * a
        want.append((b * (r - a) - 0.5 * a * (r * r - b)) / var**1.5 if var > 1e-12 else 0.0)
        a, b = a + 0.01 * (r - a), b + 0.01 * (r * r - b)
    assert np.allclose(rews["sharpe"], want)


def test_costs_are_charged():
    free = TradingBarsEnv(data=str(GOOG), episode_length=40, commission=0.0)
    paid = TradingBarsEnv(data=str(GOOG), episode_length=40, commission=0.005)
    finals = []
    for env in (free, paid):
        env.reset(seed=2)
        for t in range(40):
            *_, info = env.step([0, 2][t % 2])
        finals.append(info["equity"])
    assert finals[1] < finals[0] - 40 * 0.005 * 0.9 * 10_000 * 0.5


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match="reward"):
        make_setup(data=str(GOOG), reward="sortino")
    with pytest.raises(ConfigError, match="window"):
        make_setup(data=str(GOOG), window=0)
    with pytest.raises(ConfigError, match="unknown environment option"):
        make_setup(data=str(GOOG), leverage=2)
    with pytest.raises(ConfigError, match="episode"):
        make_setup(data=str(GOOG), episode_length=10**6)


def test_vector_env_slots_equal_single_envs():
    """Each slot of the vectorised env is the same account as a single env on the same
    episode window and actions."""
    n = 6
    venv = TradingBarsVectorEnv(num_envs=n, data=str(GOOG), episode_length=40,
                                commission=0.001, actions="continuous")
    obs, _ = venv.reset(seed=11)
    starts = venv.batch.ist[:, 2].copy()
    rng = np.random.default_rng(0)
    acts = rng.uniform(-1, 1, (40, n, 1)).astype(np.float32)
    vrew = []
    for k in range(40):
        obs, r, term, trunc, _ = venv.step(acts[k])
        vrew.append(r)
    assert trunc.all()
    vrew = np.array(vrew)
    single = TradingBarsEnv(setup=venv.setup)
    for e in range(n):
        o, _ = single.reset(seed=0, options={"start": int(starts[e])})
        rs = [single.step(acts[k, e])[1] for k in range(40)]
        assert np.array_equal(rs, vrew[:, e])
    # next-step autoreset: the step after the end starts a fresh episode
    obs, r, term, trunc, _ = venv.step(acts[0])
    assert (r == 0).all() and not trunc.any()
    assert np.allclose(obs[:, -2], 1.0)  # all cash again


def test_make_vec_uses_the_numba_vector_env():
    v = gym.make_vec("tapereader/TradingBars-v0", num_envs=4, vectorization_mode="vector_entry_point")
    assert isinstance(v.unwrapped, TradingBarsVectorEnv)
    obs, _ = v.reset(seed=0)
    assert obs.shape == (4, v.single_observation_space.shape[0])
    obs, r, term, trunc, _ = v.step(v.action_space.sample())
    assert r.shape == (4,) and obs.dtype == np.float32
