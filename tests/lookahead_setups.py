"""Markets and inputs for the look-ahead proof of strategies the default markets do not suit
(``tests/lookahead.py`` SETUP): a universe (basket), a policy file (rl_policy), a causal signal
file (signal_long_short) and a per-run recording of targets (rl_replay).

A strategy's inputs besides the bars are data too: a signal file is cut / garbled after t like
the bars (rows stamped after t dropped or given random scores), and the targets rl_replay
replays are recorded by running a policy on the very market the replay then sees (so the
truncated run replays a recording made from the truncated data).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
S = REPO / "data" / "samples"
GOOG = S / "equities_daily/GOOG_2004-2013_backtesting.csv"
_FILES = itertools.count()
HOUR = 3_600_000_000_000


def universe() -> dict[str, np.ndarray]:
    """Six stocks of the shipped S&P 500 close matrix, 600 common daily bars."""
    from data.readers import read_wide_closes

    panel = read_wide_closes(S / "cross_section/skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz")
    syms = ["AAPL", "JPM", "KO", "MSFT", "PEP", "XOM"]
    common = panel[syms[0]].data["ts"]
    for s in syms[1:]:
        common = np.intersect1d(common, panel[s].data["ts"])
    keep = common[-600:]
    return {s: panel[s].data[np.isin(panel[s].data["ts"], keep)].copy() for s in syms}


def _tmp(workdir: Path | None, suffix: str) -> Path:
    import tempfile

    d = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="lookahead-"))
    d.mkdir(parents=True, exist_ok=True)
    return d / f"f{next(_FILES)}{suffix}"


def policy_file(workdir: Path | None, n_sym: int = 1, window: int = 8) -> Path:
    """A small seeded MLP policy in the safe .npz format (strategies.rl.policy): bar features of
    the last ``window`` bars plus the portfolio weights and cash -> sell / flat / buy."""
    from strategies.rl.policy import Policy, save_policy

    rng = np.random.default_rng(7)
    obs = window * n_sym * 3 + n_sym + 2
    layers = [(rng.normal(0, 1.0, (16, obs)), rng.normal(0, 0.3, 16)),
              (rng.normal(0, 1.0, (3, 16)), np.zeros(3))]
    env = {"window": window, "actions": "discrete", "levels": [-1.0, 0.0, 1.0],
           "target": "percent", "features": "bars"}
    return save_policy(Policy(layers, ["tanh", "linear"], "argmax", env),
                       _tmp(workdir, ".npz"))


def rl_policy_params(workdir: Path | None) -> dict:
    return {"path": str(policy_file(workdir))}


def record_targets(market: dict, policy: Path) -> np.ndarray:
    """Targets [bars, symbols] rl_policy sends on ``market`` (nan: none sent at that bar)."""
    import engine
    from strategies.builtin.rl import RLPolicy

    class Recorder(RLPolicy):
        name = "rl_policy"

        def init(self, ctx):
            super().init(ctx)
            self.rows = np.full((len(ctx.data["close"]), len(ctx.symbols)), np.nan)

        def on_bar(self, ctx):
            before = self.last.copy()
            super().on_bar(ctx)
            sent = ~((before == self.last) | (np.isnan(before) & np.isnan(self.last)))
            self.rows[ctx.i, sent] = self.last[sent]

    strat = Recorder(path=str(policy))
    engine.run(market=market, strategy=strat, mode="python", cash=100_000.0)
    return strat.rows


def rl_replay_make(market: dict, how: str, t: int, rng, workdir: Path | None) -> dict:
    """A recording made from the market this run sees (the truncated run gets its own)."""
    key = id(workdir)
    pol = _POLICIES.get(key)
    if pol is None:
        pol = _POLICIES[key] = policy_file(workdir)
    path = _tmp(workdir, ".npy")
    np.save(path, record_targets(market, pol))
    return {"path": str(path)}


_POLICIES: dict[int, Path] = {}


def momentum_signals(market: dict, lookback: int = 20) -> tuple[np.ndarray, list, np.ndarray]:
    """A causal score per (bar, symbol): the return over the last ``lookback`` closes, stamped
    one hour after the bar it uses closed (published after the close)."""
    ts, sym, val = [], [], []
    for s, b in market.items():
        c = b["close"]
        r = np.full(len(c), np.nan)
        r[lookback:] = c[lookback:] / c[:-lookback] - 1.0
        ok = np.isfinite(r)
        ts.append(b["ts"][ok] + HOUR)
        sym += [s] * int(ok.sum())
        val.append(r[ok])
    return np.concatenate(ts), sym, np.concatenate(val)


def signal_make(market: dict, how: str, t: int, rng, workdir: Path | None) -> dict:
    """The signal file of a run: momentum scores of the real market (``_REAL``); rows stamped
    after t are dropped ("truncate") or get random scores ("garbage")."""
    import polars as pl

    real = _REAL["signal_long_short"]
    ts, sym, val = momentum_signals(real)
    after = ts > t
    if how == "truncate":
        keep = ~after
        ts, val = ts[keep], val[keep]
        sym = [s for s, k in zip(sym, keep, strict=True) if k]
    elif how == "garbage":
        val = val.copy()
        val[after] = rng.normal(0, 1, int(after.sum()))
    order = np.lexsort((np.array(sym), ts))
    path = _tmp(workdir, ".csv")
    pl.DataFrame({"ts": ts[order], "symbol": [sym[i] for i in order],
                  "score": val[order]}).write_csv(path)
    return {"signals": str(path)}


def _trio() -> dict[str, np.ndarray]:
    from data.readers import read_bars

    out = {s: read_bars(S / f"pairs/{s}_daily_2006-2012.csv").data for s in ("EWA", "EWC")}
    out["GOOG"] = read_bars(GOOG).data
    common = np.intersect1d(np.intersect1d(out["EWA"]["ts"], out["EWC"]["ts"]), out["GOOG"]["ts"])
    out = {s: b[np.isin(b["ts"], common[:600])].copy() for s, b in out.items()}
    _REAL["signal_long_short"] = out
    return out


_REAL: dict[str, dict] = {}


def _goog() -> dict[str, np.ndarray]:
    from data.readers import read_bars

    return {"GOOG": read_bars(GOOG).data[:500].copy()}


SETUPS: dict[str, dict] = {
    "basket": {"market": universe,
               "params": {"corr_window": 120, "reg_window": 40, "n_factors": 2,
                          "rebalance": "5", "s_open": 1.0}},
    "rl_policy": {"market": _goog, "params": rl_policy_params},
    "rl_replay": {"market": _goog, "make": rl_replay_make},
    "signal_long_short": {"market": _trio, "make": signal_make,
                          "params": {"quantile": 0.34, "min_names": 2}},
}
