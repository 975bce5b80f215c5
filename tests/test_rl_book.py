"""Tick-mode RL environment on the engine's tick simulator (execution and market making)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import strategies.rl  # noqa: F401
from data.errors import ConfigError
from strategies.rl.book_env import TradingBookEnv

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_make_with_defaults_passes_check_env():
    e = gym.make("tapereader/TradingBook-v0", episode_steps=40)
    check_env(e.unwrapped)
    check_env(TradingBookEnv(mode="market_making", episode_steps=40, reward="sharpe"))


def test_taker_order_is_filled_by_the_simulator_and_booked_by_the_accountant():
    env = TradingBookEnv(episode_steps=60, taker_fee=0.0004)
    env.reset(seed=1)
    _, _, _, _, info = env.step(env.max_lots + 2)  # target +2 lots
    fills = env.sim.fills
    assert len(fills) >= 1 and (fills["side"] == 1).all()
    assert (fills["liquidity"] == 2).all()  # taker
    assert fills["size"].sum() == pytest.approx(2 * env.lot)
    assert np.allclose(fills["fee"], 0.0004 * fills["size"] * fills["price"])
    assert (fills["ts"] > info["ts"] - env.dt).all()  # filled after the decision time
    cost = float((fills["size"] * fills["price"] + fills["fee"]).sum())
    assert env.acct[0] == pytest.approx(10_000.0 - cost, abs=1e-9)
    assert info["inventory"] == pytest.approx(2 * env.lot)
    assert info["equity"] == pytest.approx(env.acct[0] + 2 * env.lot * info["mid"], abs=1e-9)
    # back to flat: every fill is booked, the account holds cash only
    *_, info = env.step(env.max_lots)
    assert info["inventory"] == pytest.approx(0.0, abs=1e-12)
    f = env.sim.fills
    assert env.acct[0] == pytest.approx(
        10_000.0 - float((f["side"] * f["size"] * f["price"] + f["fee"]).sum()), abs=1e-9)
    assert info["equity"] < 10_000.0  # paid the spread and the fees


def test_quotes_fill_at_their_price_as_maker_within_inventory_limits():
    e = TradingBookEnv(mode="market_making", episode_steps=300, window=2, offsets=(0, -1),
                       max_lots=2, maker_fee=-0.0001)
    e.reset(options={"start_step": 2})
    for _ in range(20):
        *_, info = e.step(3)  # (no bid, no ask)
    assert info["inventory"] == 0.0 and info["equity"] == 10_000.0 and info["fills"] == 0
    invs, done = [], False
    while not done:
        *_, term, trunc, info = e.step(0)  # bid and ask at the best
        invs.append(info["inventory"])
        done = term or trunc
    invs = np.array(invs)
    assert np.abs(invs).max() <= e.max_inv + 1e-12
    f = e.sim.fills
    assert len(f) >= 2 and (f["liquidity"] == 1).all()  # maker fills only
    assert np.allclose(f["fee"], -0.0001 * f["size"] * f["price"])  # rebates
    quoted = e.sim.orders
    by_id = {int(o["order_id"]): o for o in quoted}
    for row in f:
        o = by_id[int(row["order_id"])]
        assert row["price"] == pytest.approx(o["limit_price"])  # at the quote
    cash = 10_000.0 - float((f["side"] * f["size"] * f["price"] + f["fee"]).sum())
    assert e.acct[0] == pytest.approx(cash, abs=1e-9)


def test_same_seed_same_episode():
    a = TradingBookEnv(episode_steps=50)
    out = []
    for _ in range(2):
        obs, _ = a.reset(seed=5)
        rs = [a.step(k % a.action_space.n)[1] for k in range(50)]
        out.append((obs, rs))
    assert np.array_equal(out[0][0], out[1][0]) and out[0][1] == out[1][1]


def test_bad_options():
    with pytest.raises(ConfigError, match="mode"):
        TradingBookEnv(mode="arbitrage")
    with pytest.raises(ConfigError, match="too short"):
        TradingBookEnv(episode_steps=10**6)
    with pytest.raises(ConfigError, match="queue"):
        TradingBookEnv(queue="magic")
