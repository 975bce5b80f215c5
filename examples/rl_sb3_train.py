"""Train a stable-baselines3 agent (PPO, A2C or DQN) on tapereader's bar environment, export
it to a safe .npz policy, and backtest it with the ``rl_policy`` strategy.

    pip install -e ".[rl]"        # in the tapereader folder
    python examples/rl_sb3_train.py --algo PPO --steps 20000 --out runs/rl_ppo
    tape run -s rl_policy -p path=runs/rl_ppo/policy.npz \
        -d data/samples/equities_daily/GOOG_2004-2013_backtesting.csv --start 2011-01-01 \
        --commission 0.001        # the same backtest as the script's own (runs/rl_ppo/backtest)

Training uses GOOG daily bars up to 2010 (random 252-bar windows, 0.1% commission); the
backtest that follows runs on 2011 onwards, which the agent never saw. ``--envs`` > 1 trains
on the numba vector env through SB3's VecEnv adapter below.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv"


def env_options(actions: str) -> dict:
    return {"window": 16, "actions": actions, "levels": [-1.0, 0.0, 1.0], "target": "percent"}


class SB3VecEnv:
    """Adapter: :class:`strategies.rl.vector.TradingBarsVectorEnv` as an SB3 ``VecEnv``
    (SB3 resets finished slots in the same step and reports the last observation in
    ``infos[i]["terminal_observation"]``)."""

    def __new__(cls, venv):
        from stable_baselines3.common.vec_env import VecEnv

        class _Vec(VecEnv):
            def __init__(self, v):
                self.v = v
                super().__init__(v.num_envs, v.single_observation_space, v.single_action_space)

            def reset(self):
                obs, _ = self.v.reset(seed=self._seeds[0] if getattr(self, "_seeds", None)
                                      and self._seeds[0] is not None else None)
                return obs

            def step_async(self, actions):
                self._a = actions

            def step_wait(self):
                b = self.v.batch
                obs, r, term, trunc, _ = self.v.step(self._a)
                done = term | trunc
                infos = [{} for _ in range(self.num_envs)]
                if done.any():
                    idx = np.flatnonzero(done)
                    for i in idx:
                        infos[i]["terminal_observation"] = obs[i].copy()
                        infos[i]["TimeLimit.truncated"] = bool(trunc[i] and not term[i])
                    self.v._reset_slots(idx.astype(np.int64))  # same-step reset for SB3
                    b.skip[:] = False
                    obs = b.obs.copy()
                return obs, r.astype(np.float32), done, infos

            def close(self):
                pass

            def get_attr(self, name, indices=None):
                return [getattr(self.v, name)] * self.num_envs

            def set_attr(self, name, value, indices=None):
                setattr(self.v, name, value)

            def env_method(self, name, *args, indices=None, **kw):
                return [getattr(self.v, name)(*args, **kw)] * self.num_envs

            def env_is_wrapped(self, wrapper_class, indices=None):
                return [False] * self.num_envs

        return _Vec(venv)


def train(algo: str = "PPO", steps: int = 20_000, envs: int = 8, seed: int = 0,
          end: str = "2010-12-31", data: str = str(DATA), actions: str = "discrete"):
    """Train and return (model, exported Policy)."""
    import stable_baselines3 as sb3
    import torch

    import strategies.rl  # noqa: F401
    from strategies.rl.bars import make_setup
    from strategies.rl.policy import from_sb3
    from strategies.rl.vector import TradingBarsVectorEnv

    torch.set_num_threads(1)
    if algo == "DQN" and actions != "discrete":
        raise SystemExit("DQN needs discrete actions")
    opts = env_options(actions)
    su = make_setup(data, end=end, window=opts["window"], actions=actions,
                    levels=tuple(opts["levels"]), episode_length=252, commission=0.001)
    venv = SB3VecEnv(TradingBarsVectorEnv(envs, setup=su))
    venv.seed(seed)
    kw = {"seed": seed, "device": "cpu", "verbose": 0}
    if algo == "DQN":
        kw.update(learning_starts=min(1000, steps // 4), buffer_size=50_000,
                  exploration_fraction=0.3)
    elif algo == "PPO":
        kw.update(n_steps=max(32, 256 // envs), batch_size=64)
    model = getattr(sb3, algo)("MlpPolicy", venv, **kw)
    model.learn(total_timesteps=steps)
    return model, from_sb3(model, opts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--algo", choices=["PPO", "A2C", "DQN"], default="PPO")
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--envs", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--actions", choices=["discrete", "continuous"], default="discrete",
                    help="continuous: target weights (PPO / A2C)")
    ap.add_argument("--out", type=Path, default=Path("runs/rl_sb3"))
    a = ap.parse_args()
    import engine
    from strategies.rl.policy import save_policy

    model, pol = train(a.algo, a.steps, a.envs, a.seed, actions=a.actions)
    a.out.mkdir(parents=True, exist_ok=True)
    path = save_policy(pol, a.out / "policy.npz")
    res = engine.run(market=str(DATA), strategy="rl_policy", params={"path": str(path)},
                     start="2011-01-01", commission=0.001)
    res.save(a.out / "backtest", report=True)
    s = res.stats
    print(json.dumps({"algo": a.algo, "policy": str(path), "final_equity": s["final_equity"],
                      "sharpe": s["sharpe"], "n_trades": s["n_trades"],
                      "benchmark_total_return": s.get("benchmark_total_return")}, indent=1))


if __name__ == "__main__":
    main()
