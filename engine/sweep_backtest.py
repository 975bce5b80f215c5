"""Strategy sweeps: a backtest per parameter combination behind :func:`engine.sweep.run_sweep`.

    from engine.sweep_backtest import sweep
    res = sweep("sma_cross", "data/samples/pairs/daily-KO.csv",
                grid=["fast=5:30:5", "slow=20:100:10", "commission=0,0.001"],
                constraints=["fast < slow"], out="runs/ko_sweep", workers=2)

Swept names are strategy parameters or engine options (``commission``, ``slippage``, ``cash``,
``fill_at``, ... the ``[broker]`` and ``[run]`` keys of a run config), so cost levels sweep like
parameters. Every value is checked against the strategy's parameter types and ranges before
anything runs. The market is loaded once and shared with the workers (see
:mod:`engine.executors`); each combination is an ordinary ``engine.run`` on it, or, when the
strategy has a compiled ``targets`` path and only strategy parameters are swept, chunks go
through ``engine.batch.run_batch_stats`` (one Market and one set of state arrays for the whole
chunk; every row identical to the run made alone) in chunks of :func:`batch_chunk`.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError, StrategyError
from engine.sweep import SweepResult, run_sweep
from engine.sweep_space import Axis, Constraint, Space, axis, parse_axis

_NOT_OPTIONS = {"strategy", "params", "data", "market", "symbol", "start", "end", "metrics"}


def option_names() -> list[str]:
    """Engine options a sweep may vary (flat run-config keys)."""
    from engine.config import FLAT

    return [k for k in FLAT if k not in _NOT_OPTIONS]


def strategy_ref(strategy: Any) -> str:
    """A string every worker can resolve: the name/reference given, or module:Class."""
    if isinstance(strategy, str):
        return strategy.strip()
    cls = strategy if isinstance(strategy, type) else type(strategy)
    mod = cls.__module__
    if mod == "__main__" or mod.startswith("tapereader_user_"):
        raise ConfigError("a sweep needs a strategy its workers can import", argument="strategy",
                          value=cls.__qualname__,
                          fix="pass the name, 'path/to/file.py:Class' or 'package.module:Class'")
    return f"{mod}:{cls.__qualname__}"


def build_space(info, grid: Sequence[str | Axis], *, params: dict[str, Any],
                options: dict[str, Any], constraints: Sequence[str | Constraint]) -> Space:
    """The checked space: axes typed by the strategy's parameters; options passed through
    (the engine validates them per run and the first failing value stops the sweep early)."""
    opts = option_names()
    axes = []
    for g in grid:
        a = parse_axis(g) if isinstance(g, str) else g
        if info.param(a.name) is not None:
            from strategies.registry import coerce_value

            a = axis(a.name, [coerce_value(info, a.name, v, argument=f"--grid {a.name}")
                              for v in a.values])
        elif a.name not in opts:
            known = [p.name for p in info.params] + opts
            near = difflib.get_close_matches(a.name, known, n=1)
            raise ConfigError(f"{a.name!r} is neither a parameter of {info.name!r} nor an "
                              "engine option", argument=f"--grid {a.name}", value=a.name,
                              fix=(f"did you mean {near[0]!r}? " if near else "")
                              + f"parameters: {', '.join(p.name for p in info.params) or 'none'}")
        axes.append(a)
    fixed = {p.name: p.default for p in info.params}
    fixed.update(params)
    fixed.update(options)
    cons = [Constraint(c) if isinstance(c, str) else c for c in constraints]
    return Space(axes, constraints=cons, fixed=fixed)


def _split(info, combo: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    sp = {k: v for k, v in combo.items() if info.param(k) is not None}
    op = {k: v for k, v in combo.items() if info.param(k) is None}
    return sp, op


def precheck(info, combos: list[dict[str, Any]], params: dict[str, Any]) -> None:
    """Instantiate the strategy for every combination (cheap) so a parameter combination the
    strategy refuses stops the sweep before it starts, naming the combination."""
    for c in combos:
        sp, _ = _split(info, c)
        try:
            info.cls(**{**params, **sp})
        except StrategyError as exc:
            raise ConfigError(f"strategy {info.name!r} refuses the combination {c}: {exc.message}",
                              argument="--grid", value=c,
                              fix="restrict the grid, e.g. --constraint \"fast < slow\"") from None


def backtest_task(shared: dict[str, np.ndarray], params_list: list[dict[str, Any]],
                  fixed: dict[str, Any]) -> list[dict[str, Any]]:
    """Worker side: one backtest per parameter set on the shared market -> stats dicts (the
    stats.json of each run, computed with :mod:`reports.metrics_fast`)."""
    import engine
    from strategies.registry import describe

    market = {k[4:]: v for k, v in shared.items() if k.startswith("bar/")}
    info = describe(fixed["strategy"])
    base = dict(fixed.get("params") or {})
    options = dict(fixed.get("options") or {})
    if info.compiled and "mode" not in options:
        options["mode"] = "compiled"  # same fills as the Python path (core parity tests)
    split = [_split(info, p) for p in params_list]
    batch = _batch_runner() if fixed.get("batch") else None
    if batch is not None and not any(op for _, op in split):
        return list(batch(info.cls, [{**base, **sp} for sp, _ in split], market=market,
                          **options))
    out = []
    indexes: dict[Any, Any] = {}  # one market here: one clock and benchmark per cash level
    for sp, op in split:
        res = engine.run(market=market, strategy=info.cls, params={**base, **sp},
                         **{**options, **op})
        out.append(result_stats(res, indexes))
    return out


def result_stats(res, indexes: dict[Any, Any] | None = None) -> dict[str, Any]:
    """``res.stats`` (the run's stats.json), computed from the record arrays with one
    :class:`reports.metrics_fast.StatsIndex` per clock: identical values, a fraction of the
    time (tests/test_sweep_backtest.py compares them). ``indexes`` caches the StatsIndex of
    runs on the same market, keyed by starting cash and conventions."""
    from reports.metrics_fast import StatsIndex
    from reports.runfolder import conventions_from

    e = res.equity_rec
    conv = conventions_from(res.config.metrics)
    key = (res.initial_cash, conv)
    idx = None if indexes is None else indexes.get(key)
    if idx is None:
        idx = StatsIndex(e["ts"], conv, benchmark=res.benchmark())
        if indexes is not None:
            indexes[key] = idx
    return record_stats(idx, e, res.trades_rec, res.fills_rec)


def record_stats(idx, e: np.ndarray | None, t: np.ndarray, f: np.ndarray, *,
                 equity: np.ndarray | None = None,
                 exposure: np.ndarray | None = None) -> dict[str, Any]:
    """The stats dict of a run from its EQUITY_REC ``e`` (or its ``equity`` and ``exposure``
    columns as float64 arrays), TRADE_REC (closed then open round trips, as
    ``Result.trades_rec``) and FILL records, on ``idx`` (a StatsIndex of its clock)."""
    from engine import types as T

    notional = t["size"] * t["entry_price"]
    trades = {"pnl": t["pnl"], "closed": t["status"] != T.TRADE_OPEN, "long": t["side"] > 0,
              "return": np.divide(t["pnl"], notional, out=np.full(len(t), np.nan),
                                  where=notional != 0),
              "duration_s": (t["exit_ts"] - t["entry_ts"]) / 1e9, "entry_ts": t["entry_ts"],
              "exit_ts": t["exit_ts"], "fees": t["fees"]}
    if e is not None:
        # contiguous copies of the two per-bar columns (the record's fields are 56 bytes
        # apart): the stats kernels take packed float64
        equity = np.ascontiguousarray(e["equity"])
        exposure = np.ascontiguousarray(e["gross_exposure"])
    return idx.stats(equity, trades=trades,
                     fills={"size": f["size"], "price": f["price"], "fee": f["fee"]},
                     exposure=exposure)


def _batch_runner():
    """``engine.batch.run_batch`` returning one stats dict per parameter set, if present."""
    try:
        from engine import batch
    except ImportError:
        return None
    return getattr(batch, "run_batch_stats", None)


def batch_chunk(n: int) -> int:
    """Combinations per task when they go through ``run_batch_stats``: about 16 chunks per
    sweep (a batched combination costs a few ms, so a chunk of 1,000 / 16 = 63 takes well
    under a second and the journal still advances often), at most ``MAX_CHUNK``. Like
    :func:`engine.sweep.default_chunk` it depends only on the sweep size."""
    import math

    from engine.sweep import MAX_CHUNK

    return max(1, min(MAX_CHUNK, math.ceil(n / 16)))


class Plan:
    """A checked sweep: strategy, fixed values, the combinations (before any data is loaded)."""

    def __init__(self, strategy: Any, *, grid: Sequence[str | Axis],
                 params: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
                 constraints: Sequence[str | Constraint] = (), random: int | None = None,
                 seed: int = 0, batch: bool = True) -> None:
        from strategies.registry import coerce_params, describe

        self.ref = strategy_ref(strategy)
        self.info = info = describe(self.ref)
        self.params = coerce_params(info, dict(params or {}))
        self.options = dict(options or {})
        bad = [k for k in self.options if k not in option_names()]
        if bad:
            near = difflib.get_close_matches(bad[0], option_names(), n=1)
            raise ConfigError("unknown engine option", argument=bad[0],
                              value=self.options[bad[0]],
                              fix=f"did you mean {near[0]!r}?" if near else
                              f"options: {', '.join(option_names())}")
        self.space = build_space(info, grid, params=self.params, options=self.options,
                                 constraints=constraints)
        self.combos = (self.space.grid() if random is None
                       else self.space.sample(random, seed=seed))
        if not self.combos:
            raise ConfigError("no combination satisfies the constraints",
                              argument="--constraint",
                              value=[c.text for c in self.space.constraints],
                              fix="relax the constraints")
        precheck(info, self.combos, self.params)
        self.random, self.seed, self.batch = random, seed, batch

    def fixed(self) -> dict[str, Any]:
        return {"strategy": self.ref, "params": self.params, "options": self.options,
                "batch": bool(self.batch and self.info.compiled)}

    def run(self, bars: dict[str, np.ndarray], out: str | Path, *,
            sources: list[dict[str, Any]] | None = None, label: str = "", **kw: Any
            ) -> SweepResult:
        """Sweep on ``bars`` ({symbol: BAR array}) into ``out``; ``kw`` go to run_sweep."""
        sources = sources or [{"symbol": s, "source": "<array>", "sha256": "",
                               "rows": int(len(a))} for s, a in bars.items()]
        identity = {"strategy": self.ref, "strategy_source": _source_digest(self.info.cls),
                    "params": self.params, "options": self.options, "combos": self.combos,
                    "data": [{"symbol": s["symbol"], "rows": s["rows"],
                              "sha256": s["sha256"] or _array_digest(bars[s["symbol"]])}
                             for s in sources]}
        spec = {"identity": identity, "strategy": self.info.name, "strategy_ref": self.ref,
                "data": label or ", ".join(str(s["source"]) for s in sources),
                "sources": sources, "space": self.space.describe(),
                "constraints": [c.text for c in self.space.constraints],
                "random": self.random, "seed": self.seed if self.random is not None else None,
                "params": self.params, "options": self.options}
        shared = {f"bar/{s}": a for s, a in bars.items()}
        if self.fixed()["batch"] and not any(
                _split(self.info, c)[1] for c in self.combos[:1]):
            kw.setdefault("chunk_size", batch_chunk(len(self.combos)))
        return run_sweep(backtest_task, self.combos, out, shared=shared, fixed=self.fixed(),
                         param_names=self.space.names, spec=spec, **kw)


def sweep(strategy: Any, data: Any, *, grid: Sequence[str | Axis], out: str | Path,
          params: dict[str, Any] | None = None, options: dict[str, Any] | None = None,
          constraints: Sequence[str | Constraint] = (), random: int | None = None,
          seed: int = 0, symbol: str | None = None, start: Any = None, end: Any = None,
          executor: str = "local", workers: int | None = None, address: str | None = None,
          fresh: bool = False, progress: bool | None = None, report: bool = True,
          metric: str = "sharpe", batch: bool = True) -> SweepResult:
    """Sweep ``strategy`` over ``grid`` on ``data`` into ``out`` (see the module docstring).
    ``random`` draws that many distinct combinations with ``seed`` instead of the full grid;
    ``params`` / ``options`` are fixed strategy parameters / engine options for every run."""
    from engine.market import load_market

    plan = Plan(strategy, grid=grid, params=params, options=options, constraints=constraints,
                random=random, seed=seed, batch=batch)
    mk = load_market(data, symbol=symbol, start=start, end=end)
    sources = [{k: s[k] for k in ("symbol", "source", "sha256", "rows")} for s in mk.sources]
    res = plan.run({s: mk.bars[s] for s in mk.symbols}, out, sources=sources,
                   executor=executor, workers=workers, address=address, fresh=fresh,
                   progress=progress)
    if report and len(res.table):
        from reports.sweep_report import write_sweep_report

        write_sweep_report(res.out, metric=metric if metric in res.table.columns else "sharpe")
    return res


def _source_digest(cls: type) -> str:
    """sha256 of the strategy's source file (a changed strategy is a different sweep)."""
    import hashlib
    import inspect

    try:
        path = inspect.getsourcefile(cls)
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else ""
    except (OSError, TypeError):
        return ""


def _array_digest(arr: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
