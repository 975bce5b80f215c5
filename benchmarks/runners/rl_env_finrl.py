"""Environment steps per second of FinRL's ``StockTradingEnv`` (issue 9).

FinRL 0.3.7 from PyPI declares no dependencies and ``import finrl`` pulls data-vendor SDKs and
training stacks (alpaca, wrds, yfinance, elegantrl, ray, stable-baselines3 + torch). The env
module itself needs gymnasium, numpy, pandas and matplotlib, plus ``from
stable_baselines3.common.vec_env import DummyVecEnv`` which only its ``get_sb_env`` helper uses.
So this runner loads FinRL's env module from its file (``finrl/meta/env_stock_trading/
env_stocktrading.py``, unchanged) with that one import satisfied by a stub. The stepping code
timed is FinRL's own.

Data: the shipped 20-stock daily adjusted closes (``--data``, the skfolio CSV), from ``start``
(default 2010-01-01), with six close-based indicators in FinRL's naming (macd, boll_ub,
boll_lb, rsi_30, close_30_sma, close_60_sma). Actions: uniform in [-1, 1] from a seeded
generator; an episode that ends is reset. ``n_envs`` > 1 steps that many copies through
gymnasium's ``SyncVectorEnv`` (FinRL has no vectorised env); ``steps`` counts env steps.
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DEFAULTS = dict(P.RL_ENV_DEFAULTS, hmax=100)
INDICATORS = ["macd", "boll_ub", "boll_lb", "rsi_30", "close_30_sma", "close_60_sma"]


def _load_env_class():
    spec = importlib.util.find_spec("finrl")  # locates the package without running __init__
    path = Path(spec.submodule_search_locations[0]) / "meta" / "env_stock_trading" / \
        "env_stocktrading.py"
    for name in ("stable_baselines3", "stable_baselines3.common",
                 "stable_baselines3.common.vec_env"):
        sys.modules.setdefault(name, types.ModuleType(name))

    class DummyVecEnv:  # only FinRL's get_sb_env uses it; never called here
        def __init__(self, *a, **k):
            raise RuntimeError("stable-baselines3 is not installed in this benchmark venv")

    sys.modules["stable_baselines3.common.vec_env"].DummyVecEnv = DummyVecEnv
    mod_spec = importlib.util.spec_from_file_location("finrl_env_stocktrading", path)
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod.StockTradingEnv


StockTradingEnv = _load_env_class()
VERSIONS = {"finrl": importlib.metadata.version("finrl"), "gymnasium": gym.__version__,
            "pandas": pd.__version__, "numpy": np.__version__}


def _rsi(close: pd.Series, n: int) -> pd.Series:
    d = close.diff()
    up = d.clip(lower=0).ewm(alpha=1 / n, adjust=False).mean()
    dn = (-d.clip(upper=0)).ewm(alpha=1 / n, adjust=False).mean()
    return 100 - 100 / (1 + up / dn.replace(0, np.nan))


def load(path, params):
    wide = pd.read_csv(path, index_col=0, parse_dates=True)
    wide = wide.loc[params["start"]:].dropna(axis=1)
    frames = []
    for tic in wide.columns:
        c = wide[tic]
        f = pd.DataFrame({"date": wide.index.strftime("%Y-%m-%d"), "tic": tic, "close": c.values})
        ema12, ema26 = c.ewm(span=12, adjust=False).mean(), c.ewm(span=26, adjust=False).mean()
        sma20, sd20 = c.rolling(20).mean(), c.rolling(20).std()
        f["macd"] = (ema12 - ema26).values
        f["boll_ub"] = (sma20 + 2 * sd20).values
        f["boll_lb"] = (sma20 - 2 * sd20).values
        f["rsi_30"] = _rsi(c, 30).values
        f["close_30_sma"] = c.rolling(30).mean().values
        f["close_60_sma"] = c.rolling(60).mean().values
        frames.append(f)
    df = pd.concat(frames).sort_values(["date", "tic"], kind="stable").fillna(0.0)
    df.index = df["date"].factorize()[0]  # FinRL indexes rows by day number
    return df


def _make(df, params):
    n = df["tic"].nunique()
    return StockTradingEnv(
        df=df, stock_dim=n, hmax=params["hmax"], initial_amount=params["cash"],
        num_stock_shares=[0] * n, buy_cost_pct=[params["cost"]] * n,
        sell_cost_pct=[params["cost"]] * n, reward_scaling=1e-4,
        state_space=1 + 2 * n + len(INDICATORS) * n, action_space=n,
        tech_indicator_list=INDICATORS, print_verbosity=10**9,
    )


def run(df, params):
    rng = np.random.default_rng(params["seed"])
    n_envs, steps = int(params["n_envs"]), int(params["steps"])
    if n_envs == 1:
        env = _make(df, params)
        env.reset(seed=params["seed"])
        reward_sum, episodes, _ = P.rl_random_steps(env, 1, env.stock_dim, steps, rng)
        asset = env.asset_memory[-1]
    else:
        env = gym.vector.SyncVectorEnv([lambda: _make(df, params) for _ in range(n_envs)])
        env.reset(seed=params["seed"])
        n = env.single_action_space.shape[0]
        reward_sum, episodes, _ = P.rl_random_steps(env, n_envs, n, steps, rng)
        asset = env.envs[0].asset_memory[-1]
        env.close()
    return {"reward_sum": reward_sum, "episodes": episodes, "asset_env0": float(asset)}


if __name__ == "__main__":
    P.rl_env_main("finrl", load=load, run=run, versions=VERSIONS, defaults=DEFAULTS)
