"""Environment steps per second of tapereader's bar-mode RL env (issue 9), on the same task as
``rl_env_finrl.py``: the shipped 20-stock daily closes from ``start``, uniformly random target
weights in [-1, 1] per stock (scaled to a gross exposure <= 1), 0.1% commission, episodes over
the whole span, reset when they end.

``n_envs`` == 1: :class:`strategies.rl.bars.TradingBarsEnv` through the gymnasium API, one
Python ``step`` per env step. ``n_envs`` > 1: :class:`strategies.rl.vector.TradingBarsVectorEnv`
(every slot stepped by one numba call per batch step) through gymnasium's vector API. The
observation is a 2-bar window of 3 features per stock plus weights / cash (122 floats; FinRL's
is 161). Fills: next open through the engine's bar fill model and accountant (close-only data:
open = close).
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import numba  # noqa: E402
import numpy as np  # noqa: E402

from data.readers.multi import read_wide_closes  # noqa: E402
from strategies.rl.bars import TradingBarsEnv, make_setup  # noqa: E402
from strategies.rl.vector import TradingBarsVectorEnv  # noqa: E402

DEFAULTS = {"steps": 2000, "n_envs": 1, "seed": 1, "start": "2010-01-01", "cash": 1_000_000,
            "cost": 0.001}
VERSIONS = {"tapereader": "repo", "numpy": np.__version__, "numba": numba.__version__}


def load(path, params):
    panel = read_wide_closes(path)
    return make_setup(panel, start=params["start"], actions="continuous", window=2,
                      episode_length=None, cash=float(params["cash"]),
                      commission=float(params["cost"]))


def run(setup, params):
    rng = np.random.default_rng(params["seed"])
    n_envs, steps = int(params["n_envs"]), int(params["steps"])
    n = setup.n_sym
    reward_sum, episodes = 0.0, 0
    if n_envs == 1:
        env = TradingBarsEnv(setup=setup)
        env.reset(seed=params["seed"])
        for _ in range(steps):
            _, r, term, trunc, info = env.step(rng.uniform(-1.0, 1.0, n).astype(np.float32))
            reward_sum += r
            if term or trunc:
                episodes += 1
                env.reset()
        equity = info["equity"]
    else:
        env = TradingBarsVectorEnv(n_envs, setup=setup)
        env.reset(seed=params["seed"])
        for _ in range(steps // n_envs):
            _, r, term, trunc, _ = env.step(
                rng.uniform(-1.0, 1.0, (n_envs, n)).astype(np.float32))
            reward_sum += float(np.sum(r))
            episodes += int(np.sum(term | trunc))
        equity = float(env.batch.st[0, 0])
    return {"reward_sum": reward_sum, "episodes": episodes, "equity_env0": equity}


if __name__ == "__main__":
    P.main(
        task="rl_env",
        engine="tapereader",
        load=load,
        run=run,
        fingerprint=lambda r: r,
        n_items=lambda setup, params: (int(params["steps"]) // int(params["n_envs"]))
        * int(params["n_envs"]),
        unit="steps",
        versions=VERSIONS,
        defaults=DEFAULTS,
    )
