"""Tick-mode RL environment on the engine's L2 book (execution and market making)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import strategies.rl  # noqa: F401
from data.errors import ConfigError
from engine.book.book import L2Book
from strategies.rl import book_nb as B
from strategies.rl.book_env import TradingBookEnv

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def env():
    return TradingBookEnv(episode_steps=60)


def test_make_with_defaults_passes_check_env():
    e = gym.make("tapereader/TradingBook-v0", episode_steps=40)
    check_env(e.unwrapped)
    e2 = TradingBookEnv(mode="market_making", episode_steps=40, reward="sharpe")
    check_env(e2)


def _book_at_batch(d, b):
    """An independent L2Book (Python API) after depth batches 0..b."""
    book = L2Book(d["tick"], overflow=len(d["dts"]) + 16)
    stop = int(d["bstop"][b])
    book.apply_arrays(d["dts"][:stop], d["dside"][:stop], d["dtick"][:stop], d["dq"][:stop],
                      d["dflags"][:stop])
    return book


def test_taker_buy_fills_at_the_ask_after_the_latency_with_taker_fee(env):
    d = env.data
    obs, info = env.reset(seed=1)
    tk = info["ts"]
    _, _, _, _, info2 = env.step(env.max_lots + 2)  # target +2 lots
    b = int(np.searchsorted(d["bts"], tk + env.latency, "right"))  # first batch after sending
    book = _book_at_batch(d, b)
    ticks, sizes = book._top(1, 20)
    left, cost = 2 * env.lot, 0.0
    for t, q in zip(ticks, sizes, strict=False):
        take = min(left, q)
        px = t * d["tick"]
        cost += take * px + take * px * 0.0004
        left -= take
        if left <= 0:
            break
    assert info2["inventory"] == pytest.approx(2 * env.lot)
    assert env.acct[0] == pytest.approx(10_000.0 - cost, rel=0, abs=1e-9)
    assert info2["equity"] == pytest.approx(env.acct[0] + 2 * env.lot * info2["mid"], abs=1e-9)
    assert info2["equity"] < 10_000.0  # paid the half spread and the fee


def test_no_quotes_no_fills_and_inventory_stays_in_limits():
    e = TradingBookEnv(mode="market_making", episode_steps=300, window=2, offsets=(0, -1),
                       max_lots=2)
    e.reset(options={"start_step": 2})
    for _ in range(20):
        *_, info = e.step(3)  # (no bid, no ask)
    assert info["inventory"] == 0.0 and info["equity"] == 10_000.0
    invs, done = [], False
    while not done:
        *_, term, trunc, info = e.step(0)  # bid and ask at the best
        invs.append(info["inventory"])
        done = term or trunc
    invs = np.array(invs)
    assert np.abs(invs).max() <= e.max_inv + 1e-12
    assert np.count_nonzero(np.diff(invs)) >= 2  # quotes at the best did get filled


def test_maker_fills_are_at_the_quote_with_the_maker_fee():
    e = TradingBookEnv(mode="market_making", episode_steps=300, window=2, offsets=(0, -1),
                       commission={"model": "maker_taker", "maker": -0.0001, "taker": 0.0004})
    e.reset(options={"start_step": 2})
    done = False
    while not done:
        cash0, inv0, k = e.acct[0], e.inventory, int(e.ist[B.B_STEP])
        d = e.data
        tk = e.t0 + k * e.dt
        b = int(np.searchsorted(d["bts"], tk, "right")) - 1
        bid = _book_at_batch(d, b).best_bid()[0]
        *_, term, trunc, info = e.step(1)  # bid at the best only
        done = term or trunc
        if info["inventory"] > inv0:
            # one lot bought at the quoted bid, with a maker rebate of 1 bp
            assert e.acct[0] == pytest.approx(cash0 - e.lot * bid * (1 - 0.0001), abs=1e-9)
            return
    pytest.fail("the bid was never filled")


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
