"""stable-baselines3 on the environments (rl extra): a short training, the exported numpy policy
acts exactly like the SB3 model, and rl_policy backtests it. Skipped only when the rl extra
(stable-baselines3 + torch) is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sb3 = pytest.importorskip("stable_baselines3", reason="the rl extra is not installed")

import engine  # noqa: E402
from strategies.rl.policy import load_policy, save_policy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.mark.parametrize("algo,actions", [("A2C", "discrete"), ("PPO", "continuous"),
                                          ("DQN", "discrete")])
def test_short_training_exports_an_equivalent_numpy_policy(tmp_path, algo, actions):
    from rl_sb3_train import DATA, train

    model, pol = train(algo, 600, envs=4, seed=0, actions=actions)
    from strategies.rl.bars import make_setup
    from strategies.rl.vector import TradingBarsVectorEnv

    v = TradingBarsVectorEnv(32, setup=make_setup(str(DATA), window=16, actions=actions,
                                                  commission=0.001))
    obs, _ = v.reset(seed=1)
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs, *_ = v.step(v.action_space.sample() if actions == "continuous"
                         else rng.integers(3, size=32))
        mine = pol.act(obs)
        theirs, _ = model.predict(obs, deterministic=True)
        if actions == "discrete":
            assert np.array_equal(mine, theirs)
        else:
            assert np.allclose(mine, theirs, atol=1e-5)
    path = save_policy(pol, tmp_path / "p.npz")
    res = engine.run(market=str(DATA), strategy="rl_policy", params={"path": str(path)},
                     start="2011-01-01", commission=0.001)
    assert len(res.equity) > 100 and np.isfinite(res.stats["final_equity"])
    if algo == "A2C":  # the SB3 zip itself loads only with the trust flag
        model.save(tmp_path / "m.zip")
        from data.errors import ConfigError

        with pytest.raises(ConfigError, match="trust"):
            load_policy(tmp_path / "m.zip", algo="A2C")
        z = load_policy(tmp_path / "m.zip", trust=True, algo="A2C")
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(z.layers, pol.layers,
                                                              strict=True))
