"""Statistical-arbitrage RL: a linear Q-learning agent trades the KO/PEP spread.

    python examples/rl_pairs_ko_pep.py --out runs/rl_pairs

The environment is the bar-mode portfolio env on KO and PEP daily bars (shipped sample,
1997-01 .. 1998-06) with pair features (z-score of the log spread over 20 bars, its change,
the rolling hedge ratio over 60 bars; ``strategies.rl.bars.spread_features``) and three
actions, each a row of targets: long the spread (+50% KO / -50% PEP), flat, short the spread.
The agent learns on 1997 (random 40-bar windows, 10 bp commission) and is then backtested with
``rl_policy`` on 1998, which it never saw (1997 only warms up the features:
``trade_from``); the run folder has the HTML report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAIR = {"KO": str(ROOT / "data" / "samples" / "pairs" / "daily-KO.csv"),
        "PEP": str(ROOT / "data" / "samples" / "pairs" / "daily-PEP.csv")}
TABLE = [[0.5, -0.5], [0.0, 0.0], [-0.5, 0.5]]
OPTS = dict(features="spread", actions="table", levels=TABLE, window=1, commission=0.001)


def train_pair(steps: int = 3000, envs: int = 16, seed: int = 0, end: str = "1997-12-31"):
    """Train on the pair up to ``end``; returns (agent, setup)."""
    from strategies.rl.agents import LinearQ
    from strategies.rl.bars import make_setup
    from strategies.rl.vector import TradingBarsVectorEnv

    su = make_setup(PAIR, end=end, episode_length=40, **OPTS)
    agent = LinearQ(su.obs_dim, len(TABLE), lr=0.05, gamma=0.0, seed=seed)
    agent.train(TradingBarsVectorEnv(envs, setup=su), steps, eps=0.1, seed=seed)
    return agent, su


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("runs/rl_pairs"))
    a = ap.parse_args()
    import engine
    from strategies.rl.policy import save_policy

    agent, su = train_pair(a.steps, seed=a.seed)
    a.out.mkdir(parents=True, exist_ok=True)
    path = save_policy(agent.policy(su.env_options()), a.out / "pair_policy.npz")
    res = engine.run(market=PAIR, strategy="rl_policy", commission=0.001,
                     params={"path": str(path), "trade_from": "1998-01-01"})
    res.save(a.out / "backtest", report=True)
    s = res.stats
    print(json.dumps({"policy": str(path), "final_equity": s["final_equity"],
                      "total_return": s["total_return"], "sharpe": s["sharpe"],
                      "n_trades": s["n_trades"]}, indent=1))


if __name__ == "__main__":
    main()
