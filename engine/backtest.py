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

        return registry.get(name)
    except ImportError:
        pass
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
    from engine.compiled import run_compiled
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
    mk = load_market(market, symbol=cfg.symbol, start=cfg.start, end=cfg.end)
    if cfg.data in ((), ("<in-memory>",)):
        import dataclasses

        cfg = dataclasses.replace(cfg, data=tuple(s["source"] for s in mk.sources))
    import dataclasses

    cfg = dataclasses.replace(cfg, strategy=cfg.strategy or strat.name or type(strat).__name__,
                              params=dict(strat.params))
    t_load = time.perf_counter() - t0
    mode = cfg.mode
    if mode == "auto":
        mode = "python" if _has(strat, "on_bar") or not _has(strat, "targets") else "compiled"
    if mode == "compiled" and not _has(strat, "targets"):
        raise StrategyError("mode 'compiled' needs a targets() method", argument="mode",
                            value=type(strat).__name__, fix="use mode='python' or add targets()")
    broker = Broker(mk, cfg, strat)
    t1 = time.perf_counter()
    if mode == "compiled":
        run_compiled(broker, strat)
    else:
        run_python(broker, strat)
    t_run = time.perf_counter() - t1
    return Result(broker, cfg, strat, {"load": t_load, "run": t_run}, mode)
