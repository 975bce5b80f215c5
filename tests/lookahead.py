"""The no-look-ahead harness: what a strategy does up to time t may not depend on data after t.

For a cut time t (bar index c = the last bar closing at or before t), a strategy runs three
times: on the real market, on the market whose bars after t are replaced by garbage (valid bars
of unrelated prices and volumes), and on the market truncated at t. On the Python path the
whole broker state (every order record, every fill, cash / fees, positions) is recorded at the
end of each ``on_bar`` and must be bit-identical up to bar c, and so must the equity curve; on
the compiled path ``targets(data)`` must give identical rows up to c, and the fills, the order
records (as far as they changed up to t) and the equity curve up to c must be bit-identical.

``strategies_under_test()`` enumerates the registry (``strategies.builtin.BUILTINS``, plus
``strategies.registry`` when it lists more), so a new built-in is covered as soon as it is
registered. ``SETUP`` gives a strategy the market / params it needs when the default markets do
not suit it (the default market with the most symbols on which it runs and sends orders is used).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from lookahead_setups import SETUPS

import engine
from data.errors import ConfigError, StrategyError
from data.readers import read_bars
from engine.layout import A_CASH, A_FEES, C_FILLS, C_ORDERS

REPO = Path(__file__).resolve().parents[1]
S = REPO / "data" / "samples"

#: strategy name -> {"market": {symbol: path} or a callable -> {symbol: BAR array},
#: "params": {...}, "make": callable} when the defaults do not suit. ``make(market, how, t, rng,
#: workdir)`` returns the params of one run from the market that run sees (``how``: "full",
#: "garbage" or "truncate"): the files a strategy reads besides the bars (signals, recordings)
#: are data too, so they are cut / garbled after t like the bars
SETUP: dict[str, dict] = {
    # first_test / forward_test as fractions place the walk-forward folds by the length of the
    # whole data set (a study-design choice the ML audit pins to bar numbers); the proof that a
    # decision at t uses nothing after t runs with the folds given as bar counts
    "ml_signal": {"market": {"GOOG": S / "equities_daily/GOOG_2004-2013_backtesting.csv"},
                  "params": {"first_test": 150, "forward_test": 0, "retrain_every": 50,
                             "min_train": 40, "n_estimators": 10, "min_samples_leaf": 10}},
    # a universe, a policy file, a causal signal file, a recording per run: lookahead_setups
    **SETUPS,
}


def _bars(path: Path, n: int = 700, start: int = 0) -> np.ndarray:
    b = read_bars(path).data
    return b[b["ts"] >= start][:n].copy()


def default_markets() -> list[dict[str, np.ndarray]]:
    """One symbol, a pair, a three-symbol panel over a common period (real shipped data)."""
    goog = _bars(S / "equities_daily/GOOG_2004-2013_backtesting.csv")
    ko, pep = _bars(S / "pairs/daily-KO.csv"), _bars(S / "pairs/daily-PEP.csv")
    paths = [S / "equities_daily/GOOG_2004-2013_backtesting.csv",
             S / "pairs/EWA_daily_2006-2012.csv", S / "pairs/EWC_daily_2006-2012.csv"]
    start = max(int(read_bars(p).data["ts"][0]) for p in paths)
    panel = dict(zip(("GOOG", "EWA", "EWC"), (_bars(p, start=start) for p in paths),
                     strict=True))
    return [{"GOOG": goog}, {"KO": ko, "PEP": pep}, panel]


def strategies_under_test() -> dict[str, type]:
    from strategies.builtin import BUILTINS

    out = dict(BUILTINS)
    try:
        from strategies import registry
    except ImportError:
        return out
    names = getattr(registry, "builtins", None)
    if callable(names):
        out.update(names())
    return out


def has(cls, hook: str) -> bool:
    from strategies.base import Strategy

    return getattr(cls, hook, None) is not getattr(Strategy, hook, None)


def probe_class(cls: type) -> type:
    """``cls`` recording the broker state at the end of every on_bar."""

    def on_bar(self, ctx):
        cls.on_bar(self, ctx)
        b = ctx._b
        self._states.append((ctx.i, b.orders[: int(b.cnt[C_ORDERS])].copy(),
                             b.fills[: int(b.cnt[C_FILLS])].copy(),
                             (float(b.acct[A_CASH]), float(b.acct[A_FEES])),
                             b.open_tr.copy()))

    def init(self, ctx):
        self._states = []
        cls.init(self, ctx)

    return type(cls.__name__, (cls,), {"on_bar": on_bar, "init": init, "name": cls.name})


def cut_market(market: dict, t: int, how: str, rng: np.random.Generator) -> dict:
    """Bars after ``t`` replaced by garbage (``how="garbage"``) or dropped ("truncate")."""
    out = {}
    for sym, b in market.items():
        after = b["ts"] > t
        if how == "truncate":
            out[sym] = b[~after].copy()
            continue
        g = b.copy()
        k = int(after.sum())
        if k:
            base = np.exp(rng.uniform(np.log(0.5), np.log(5000), k))
            o = base * np.exp(rng.normal(0, 0.2, k))
            c = base * np.exp(rng.normal(0, 0.2, k))
            g["open"][after], g["close"][after] = o, c
            g["high"][after] = np.maximum(o, c) * (1 + rng.uniform(0, 0.3, k))
            g["low"][after] = np.minimum(o, c) * (1 - rng.uniform(0, 0.3, k))
            g["volume"][after] = rng.uniform(0, 1e7, k)
        out[sym] = g
    return out


def pick_setup(name: str, cls: type, modes=("python", "compiled"), workdir: Path | None = None
               ) -> tuple[dict, dict | Params] | None:
    """(market, params) on which the strategy runs and sends orders, or None. With a SETUP
    ``make``, params is a callable ``(market, how, t, rng) -> dict`` (see :data:`SETUP`)."""
    if name in SETUP:
        s = SETUP[name]
        m = s["market"]
        if callable(m):
            m = m()
        market = {k: _bars(Path(v)) if isinstance(v, str | Path) else v for k, v in m.items()}
        params = s.get("params", {})
        params = params(workdir) if callable(params) else dict(params)
        if "make" in s:
            make = s["make"]
            return market, lambda mk, how, t, rng: {**params, **make(mk, how, t, rng, workdir)}
        return market, params
    for market in reversed(default_markets()):  # the most symbols the strategy takes
        try:
            mode = next(m for m in modes if has(cls, "on_bar" if m == "python" else "targets"))
            res = engine.run(market=market, strategy=cls, mode=mode, cash=100_000.0)
        except (StrategyError, ConfigError):
            continue
        if len(res.orders_rec):
            return market, {}
    return None


#: params of a run made from the market it sees: ``(market, how, t, rng) -> dict``
Params = Callable[[dict, str, int, np.random.Generator], dict]


def _params(params, market, how, t, rng) -> dict:
    return params(market, how, t, rng) if callable(params) else params


def _run(cls, market, params, mode, fill_at):
    strat = cls(**params)
    res = engine.run(market=market, strategy=strat, params={}, mode=mode, cash=100_000.0,
                     fill_at=fill_at, commission=0.001)
    return res, strat


def _trades(res) -> None:
    """A proof on a run that sends no order would be empty."""
    if not len(res.orders_rec) or not len(res.fills_rec):
        raise AssertionError("the strategy sent no order / got no fill on its market: give it "
                             "one on which it trades (tests/lookahead.py SETUP)")


def _equal(a: np.ndarray, b: np.ndarray, what: str) -> None:
    if a.shape != b.shape or a.tobytes() != b.tobytes():
        raise AssertionError(f"look-ahead: {what} differ")


def check_python(cls, market, params, t: int, rng, fill_at="next_open") -> int:
    """Returns the number of bars compared."""
    probe = probe_class(cls)
    full, sf = _run(probe, market, _params(params, market, "full", t, rng), "python", fill_at)
    _trades(full)
    c = int(np.searchsorted(full.market.ts, t, side="right")) - 1
    for how in ("garbage", "truncate"):
        cut = cut_market(market, t, how, rng)
        res, s2 = _run(probe, cut, _params(params, cut, how, t, rng), "python", fill_at)
        for i in range(c + 1):
            a, b = sf._states[i], s2._states[i]
            assert a[0] == b[0] == i
            for k, what in ((1, "orders"), (2, "fills"), (4, "positions")):
                _equal(a[k], b[k], f"{what} at the end of on_bar {i} ({how} after bar {c})")
            if a[3] != b[3]:
                raise AssertionError(f"look-ahead: cash/fees at bar {i} differ ({how})")
        _equal(full.equity_rec[: c + 1], res.equity_rec[: c + 1], f"equity up to bar {c} ({how})")
    return c + 1


def check_compiled(cls, market, params, t: int, rng, fill_at="next_open") -> int:
    from engine.compiled import market_data

    full, sf = _run(cls, market, _params(params, market, "full", t, rng), "compiled", fill_at)
    _trades(full)
    c = int(np.searchsorted(full.market.ts, t, side="right")) - 1
    tg_full = sf.targets(market_data(full.market)).dense(full.market.n_bars)  # (sparse too)
    for how in ("garbage", "truncate"):
        cut = cut_market(market, t, how, rng)
        res, s2 = _run(cls, cut, _params(params, cut, how, t, rng), "compiled", fill_at)
        tg = s2.targets(market_data(res.market)).dense(res.market.n_bars)
        _equal(tg_full[: c + 1], tg[: c + 1], f"targets up to bar {c} ({how})")
        f1, f2 = full.fills_rec, res.fills_rec
        _equal(f1[f1["ts"] <= t], f2[f2["ts"] <= t], f"fills up to t ({how})")
        o1, o2 = full.orders_rec, res.orders_rec
        o1, o2 = o1[o1["ts"] <= t], o2[o2["ts"] <= t]
        assert len(o1) == len(o2), f"look-ahead: orders sent up to t differ ({how})"
        settled = (o1["update_ts"] <= t) & (o2["update_ts"] <= t)
        _equal(o1[settled], o2[settled], f"orders settled by t ({how})")
        keys = ["order_id", "ts", "sym", "type", "tif", "limit_price", "stop_price", "tag"]
        for key in keys:  # field by field (a multi-field view keeps the other fields' bytes)
            _equal(o1[key], o2[key], f"orders sent up to t: {key} ({how})")
        _equal(full.equity_rec[: c + 1], res.equity_rec[: c + 1], f"equity up to bar {c} ({how})")
    return c + 1
