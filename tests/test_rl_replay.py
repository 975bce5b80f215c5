"""An episode's P&L in the environment equals the P&L of `tape run` replaying its actions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from rl_helpers import GOOG, KO, PEP

import engine
from strategies.rl.bars import TradingBarsEnv

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _play(env, seed, n_steps=None):
    obs, info0 = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    done, k = False, 0
    while not done:
        if env.setup.actions == "discrete":
            a = rng.integers(len(env.setup.levels), size=env.setup.n_sym)
            a = int(a[0]) if env.setup.n_sym == 1 else a
        else:
            a = rng.uniform(-1, 1, env.setup.n_sym).astype(np.float32)
        _, _, term, trunc, info = env.step(a)
        done = term or trunc
        k += 1
    return info0, info


def _iso(ts):
    return pd.Timestamp(ts, tz="UTC").isoformat()


@pytest.mark.parametrize("opts", [
    dict(commission=0.001, slippage=2.0),
    dict(commission={"model": "per_share", "per_share": 0.01, "minimum": 1.0},
         fill_at="signal_close"),
    dict(commission=0.002, actions="continuous"),
    dict(commission=0.001, borrow_rate=0.05, levels=(-1.0, -0.5, 0.0, 0.5, 1.0)),
])
def test_episode_pnl_equals_tape_run_replay(tmp_path, opts):
    import cli

    env = TradingBarsEnv(data=str(GOOG), episode_length=120, **opts)
    _, last = _play(env, seed=4)
    t0, t1, targets = env.replay_window()
    path = tmp_path / "targets.npy"
    np.save(path, targets)
    broker = {k: v for k, v in opts.items() if k not in ("actions", "levels")}
    lines = ["[broker]"]
    for k, v in broker.items():
        if isinstance(v, dict):
            v = "{ " + ", ".join(f"{a} = {json.dumps(b)}" for a, b in v.items()) + " }"
        else:
            v = json.dumps(v)
        lines.append(f"{k} = {v}")
    cfg = tmp_path / "run.toml"
    cfg.write_text("\n".join(lines) + "\n")
    args = ["run", str(cfg), "-s", "rl_replay", "-d", str(GOOG), "-p", f"path={path}",
            "--start", _iso(t0), "--end", _iso(t1), "--no-report", "-o", str(tmp_path / "run")]
    res = CliRunner().invoke(cli.main, args)
    assert res.exit_code == 0, res.output
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    eq = pd.read_csv(tmp_path / "run" / "equity.csv")
    assert stats["final_equity"] == last["equity"]
    assert eq["equity"].iloc[-1] == last["equity"]
    assert len(eq) == targets.shape[0]
    assert last["equity"] != 10_000.0  # the episode traded


def test_portfolio_episode_equals_engine_run_replay(tmp_path):
    data = {"KO": str(KO), "PEP": str(PEP)}
    for actions in ("discrete", "continuous"):
        env = TradingBarsEnv(data=data, episode_length=150, actions=actions, commission=0.001,
                             window=5)
        _, last = _play(env, seed=9)
        t0, t1, targets = env.replay_window()
        path = tmp_path / f"{actions}.npy"
        np.save(path, targets)
        res = engine.run(market=data, strategy="rl_replay", params={"path": str(path)}, start=_iso(t0), end=_iso(t1),
                         commission=0.001)
        assert float(res.equity["equity"].iloc[-1]) == last["equity"]
        assert len(res.fills) > 10
