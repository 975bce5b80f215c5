"""The in-numba rollout (strategies/rl/vector.py ``rollout``): the serial and the threaded
kernels step every slot alike, and the result equals stepping the vector env from Python."""

from __future__ import annotations

import numpy as np

from strategies.rl.bars import make_setup
from strategies.rl.vector import TradingBarsVectorEnv, rollout


def _env(su):
    v = TradingBarsVectorEnv(4, setup=su)
    v.reset(seed=0)
    return v


def test_rollout_serial_and_parallel_agree_and_restart_episodes():
    su = make_setup(None, window=8, episode_length=40, commission=0.001)
    table = np.random.default_rng(3).integers(0, 3, (100, 4, su.n_sym)).astype(np.float64)
    a, b = _env(su), _env(su)
    ra, rb = rollout(a, table, False), rollout(b, table, True)
    assert ra == rb and np.isfinite(ra)
    assert np.array_equal(a.batch.st, b.batch.st)
    assert np.array_equal(a.batch.obs, b.batch.obs)
    # 100 steps of 40-bar episodes cross episode ends (the restart path); rewards are not all 0
    assert ra != 0.0


def test_rollout_matches_python_steps():
    su = make_setup(None, window=8, episode_length=None, commission=0.001)
    table = np.random.default_rng(4).integers(0, 3, (30, 4, su.n_sym)).astype(np.float64)
    a, b = _env(su), _env(su)
    total = rollout(a, table, False)
    per_slot = np.zeros(4)
    for row in table:
        _, r, _, _, _ = b.step(row[:, 0].astype(np.int64))
        per_slot += r
    assert np.isclose(total, per_slot.sum(), rtol=0, atol=1e-9)
    assert np.array_equal(a.batch.st, b.batch.st)
