"""The stat-arb RL example: the agent trades the KO/PEP spread (opposite legs), and its
backtest through rl_policy equals the environment episode on the unseen bars."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.market import parse_time
from strategies.rl.bars import TradingBarsEnv, make_setup, spread_features
from strategies.rl.policy import load_policy, save_policy

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_spread_features_use_no_future_bars():
    rng = np.random.default_rng(0)
    close = np.exp(np.cumsum(rng.normal(0, 0.01, (300, 2)), axis=0)) * 50
    full = spread_features(close)
    part = spread_features(close[:200])
    assert np.array_equal(full[:200], part)
    assert np.abs(full[100:, 0, 0]).max() > 0.5


def test_pair_agent_backtest_equals_env_and_trades_the_spread(tmp_path):
    from rl_pairs_ko_pep import OPTS, PAIR, train_pair

    agent, su = train_pair(steps=3000, envs=16)
    path = save_policy(agent.policy(su.env_options()), tmp_path / "pair.npz")
    pol = load_policy(path)
    res = engine.run(market=PAIR, strategy="rl_policy", commission=0.001,
                     params={"path": str(path), "trade_from": "1998-01-01"})
    env = TradingBarsEnv(setup=make_setup(PAIR, episode_length=None, **OPTS))
    i0 = int(np.searchsorted(env.setup.market.ts, parse_time("1998-01-01", "start")))
    obs, _ = env.reset(seed=0, options={"start": i0})
    done, legs = False, []
    while not done:
        obs, _, term, trunc, info = env.step(int(pol.act(obs.astype(np.float64))))
        w = obs[-4:-2]
        legs.append(w)
        done = term or trunc
    assert float(res.equity["equity"].iloc[-1]) == info["equity"]
    legs = np.array(legs)
    held = np.abs(legs).sum(axis=1) > 0.1
    assert held.any()
    assert (np.sign(legs[held, 0]) == -np.sign(legs[held, 1])).all()  # long one, short the other
    assert res.stats["n_trades"] >= 2 and info["equity"] != 10_000.0
