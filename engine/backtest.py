"""``engine.run``: one backtest from a config and/or keywords to a :class:`Result`."""

from __future__ import annotations

import time
from typing import Any

from data.errors import ConfigError, StrategyError
from engine.config import RunConfig, nearest, resolve_config


def strategy_class(name: str):
    """A strategy class by registry name (strategies.registry when present, else built-ins)."""
    try:
        from strategies import registry  # built by the registry area on top of BUILTINS
    except ImportError:
        registry = None
    if registry is not None and callable(getattr(registry, "get", None)):
        return registry.get(name)
    from strategies.builtin import BUILTINS

    if name not in BUILTINS:
        raise StrategyError("unknown strategy", argument="strategy", value=name,
                            fix=f"did you mean {nearest(name, BUILTINS)!r}? "
                                f"built-ins: {', '.join(sorted(BUILTINS))}")
    return BUILTINS[name]


def make_strategy(strategy: Any, params: dict):
    from strategies.base import Strategy

    if isinstance(strategy, Strategy):
        if params:
            return type(strategy)(**{**strategy.params, **params})
        return strategy
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy(**params)
    if isinstance(strategy, str) and strategy:
        return strategy_class(strategy)(**params)
    raise ConfigError("no strategy given", argument="strategy", value=strategy,
                      fix="pass a registry name, a Strategy subclass or an instance")


def _has(strategy, hook: str) -> bool:
    from strategies.base import Strategy

    return getattr(type(strategy), hook, None) is not getattr(Strategy, hook, None)


def run(config: Any = None, *, market: Any = None, strategy: Any = None, **options: Any):
    """Run one backtest. ``config``: TOML path / dict / RunConfig; ``market``: path, catalog
    URI, BAR array, Bars, BarPanel or {symbol: ...}; ``strategy``: name, class or instance;
    ``options``: flat config keys (cash, commission, slippage, fill_at, params, start, ...).
    Returns :class:`engine.result.Result`."""
    from engine.broker import Broker
    from engine.compiled import run_compiled, run_stepfn
    from engine.loop import run_python
    from engine.market import load_market
    from engine.result import Result

    t0 = time.perf_counter()
    strat_obj = strategy
    if strategy is not None and not isinstance(strategy, str):
        options["strategy"] = getattr(strategy, "name", "") or type(strategy).__name__
        if isinstance(strategy, type):
            options["strategy"] = strategy.name or strategy.__name__
    elif strategy is not None:
        options["strategy"] = strategy
    if market is not None and isinstance(market, str):
        options["data"] = market
    cfg: RunConfig = resolve_config(config, **options)
    if strat_obj is None or isinstance(strat_obj, str):
        strat_obj = cfg.strategy
    strat = make_strategy(strat_obj, cfg.params)
    if market is None:
        if not cfg.data or cfg.data == ("<in-memory>",):
            raise ConfigError("no market data", argument="data", value=None,
                              fix="pass market= or set [data] path in the config")
        market = list(cfg.data) if len(cfg.data) > 1 else cfg.data[0]
    from engine.tick.backtest import is_tick_run, run_tick_backtest

    if is_tick_run(cfg, strat, market):  # order-book data: the tick simulator
        if cfg.intrabar is not None:
            raise ConfigError("intrabar (finer bars) is for bar runs", argument="intrabar",
                              value=cfg.intrabar, fix="leave it out: a tick run has every event")
        import dataclasses

        cfg = dataclasses.replace(cfg, strategy=cfg.strategy or strat.name,
                                  params=dict(strat.params))
        return run_tick_backtest(cfg, strat, market, t0)
    mk = load_market(market, symbol=cfg.symbol, start=cfg.start, end=cfg.end)
    if cfg.intrabar is not None:  # finer bars inside the bars (engine/intrabar.py)
        from engine.intrabar import attach_intrabar

        mk = attach_intrabar(mk, _intrabar_source(options.get("intrabar"), cfg.intrabar))
    import dataclasses

    upd = {"strategy": cfg.strategy or strat.name or type(strat).__name__,
           "params": dict(strat.params)}
    if cfg.data in ((), ("<in-memory>",)):
        upd["data"] = tuple(s["source"] for s in mk.sources)
    cfg = dataclasses.replace(cfg, **upd)  # (one copy of the frozen config, not two)
    t_load = time.perf_counter() - t0
    mode = cfg.mode
    compiled_ok = _has(strat, "targets") or _has(strat, "step_function")
    if mode == "auto":
        mode = "python" if _has(strat, "on_bar") or not compiled_ok else "compiled"
    if mode == "compiled" and not compiled_ok:
        raise StrategyError("mode 'compiled' needs targets() or step_function()",
                            argument="mode", value=type(strat).__name__,
                            fix="use mode='python' or add targets()")
    t_compile = warm_kernels(mode)
    broker = Broker(mk, cfg, strat)
    t1 = time.perf_counter()
    if mode == "compiled" and _has(strat, "step_function") and not _has(strat, "targets"):
        run_stepfn(broker, strat)
    elif mode == "compiled":
        run_compiled(broker, strat)
    else:
        run_python(broker, strat)
    t_run = time.perf_counter() - t1
    return Result(broker, cfg, strat, {"load": t_load, "compile": t_compile, "run": t_run},
                  mode)


def _intrabar_source(given, resolved):
    """The object to load finer bars from: what the caller passed (arrays, Bars...), else the
    config's paths (the config keeps '<in-memory>' in place of objects)."""
    if given is None:
        given = resolved
    if isinstance(given, tuple):
        given = list(given)
    items = (given if isinstance(given, list) else list(given.values())
             if isinstance(given, dict) else [given])
    if any(isinstance(x, str) and x == "<in-memory>" for x in items):
        raise ConfigError("intrabar data held in memory is not in this config",
                          argument="intrabar", value=given,
                          fix="pass intrabar= to engine.run with the arrays, or paths")
    return given


_WARM: set[str] = set()  # the modes whose kernels this process has compiled / loaded


def warm_kernels(mode: str) -> float:
    """Compile (or load from numba's cache) the kernels of ``mode`` on a 2-bar market, so the
    run's timings show compilation apart. Returns the seconds it took (0 once warm: done
    once per process and mode)."""
    if mode in _WARM:
        return 0.0
    import numpy as np

    from data.schema import BAR
    from engine.broker import Broker
    from engine.compiled import events
    from engine.market import load_market
    from engine.portfolio_nb import mark_equity_nb, mark_nb
    from engine.step_nb import run_targets_nb
    from engine.types import EQUITY_REC

    t0 = time.perf_counter()
    bars = np.zeros(2, dtype=BAR)
    bars["ts"] = [86_400_000_000_000, 2 * 86_400_000_000_000]
    for k in ("open", "high", "low", "close"):
        bars[k] = 1.0
    mk = load_market({"W": bars})
    b = Broker(mk, resolve_config(None))
    if mode == "compiled":
        ev_i, ev_s, ev_v = events(np.full((2, 1), np.nan))
        r = run_targets_nb(0, 0, mk.mkt, mk.ts, ev_i, ev_s, ev_v, 256, b.orders, b.fills,
                           b.trades, b.open_tr, b.acct, b.cnt, b.cfg, b.symcfg, b.snap,
                           np.full(1, np.nan), np.empty(5), b.fine, b.fine_at)
        del r
    else:
        b.send_target(0, 0, 256, 0.0, 0)
        b.step(1, 0)
    mark_nb(mk.mkt, mk.ts, b.snap, 0, b.acct, np.empty(2, dtype=EQUITY_REC))
    mark_equity_nb(mk.mkt, b.snap[:0], 0, b.acct, np.empty(2))
    _WARM.add(mode)
    return time.perf_counter() - t0
