"""``run_batch``: one strategy over many parameter sets in one numba call.

    from engine.batch import run_batch
    b = run_batch("sma_cross", [{"fast": f, "slow": s} for f, s in grid], market=path,
                  cash=10_000, commission=0.001)
    b.summary        # pandas DataFrame: params + final_equity, total_return, n_trades, ...
    b.equity         # [sets, bars] equity per bar when keep_equity=True
    b.result(k)      # the full engine.run Result of set k (same numbers), e.g. to save it
    run_batch_stats("sma_cross", sets, market=path)  # [stats dict per set] == engine.run().stats

The strategy must have ``targets()`` (the compiled path): each set's targets are computed in
Python (vectorised), turned into sparse events, and all sets run through the same kernels as
``engine.run(mode="compiled")`` inside one numba call, so a set's numbers equal its single run
exactly. Summary columns: ``final_equity``, ``total_return``, ``n_trades`` (closed round
trips; a position open at the end is not counted), ``n_fills``, ``fees``, ``max_drawdown``
(per bar, <= 0), ``exposure`` (share of bars with a position), ``mean_return`` and
``std_return`` (per-bar simple returns, ddof 1, not annualised; the sweep layer annualises).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from data.errors import ConfigError, StrategyError
from engine.backtest import make_strategy, run
from engine.batch_nb import N_SUMMARY, run_batch_nb, run_set_nb
from engine.broker import Broker
from engine.compiled import market_data, target_events
from engine.config import resolve_config
from engine.layout import DONE, M_MARK
from engine.market import load_market
from engine.types import EQUITY_REC

SUMMARY_COLUMNS = ("final_equity", "total_return", "n_trades", "n_fills", "fees",
                   "max_drawdown", "exposure", "mean_return", "std_return")


@dataclasses.dataclass
class BatchResult:
    params: list[dict]
    summary_array: np.ndarray  # [sets, N_SUMMARY]
    equity: np.ndarray | None
    config: Any
    market: Any
    strategy: Any

    @property
    def summary(self):
        import pandas as pd

        df = pd.DataFrame(self.params)
        for j, name in enumerate(SUMMARY_COLUMNS):
            df[name] = self.summary_array[:, j]
        df["n_trades"] = df["n_trades"].astype("int64")
        df["n_fills"] = df["n_fills"].astype("int64")
        return df

    def result(self, k: int):
        """The full single run of set ``k`` (compiled path; identical numbers)."""
        import dataclasses as dc

        cfg = dc.replace(self.config, params={**self.config.params, **self.params[k]},
                         mode="compiled")
        return run(cfg, market=self.market_source, strategy=self.strategy)

    @property
    def market_source(self):
        return {s: self.market.bars[s] for s in self.market.symbols}


def run_batch(strategy: Any, param_sets: list[dict], *, market: Any = None,
              keep_equity: bool = False, config: Any = None, capacity: int | None = None,
              **options: Any) -> BatchResult:
    """Run ``strategy`` (name or class) for every dict in ``param_sets`` (see module doc).
    ``capacity``: initial order capacity per set (grown by doubling inside the kernel)."""
    p = _prepare(strategy, param_sets, market, config, options)
    cfg, mk = p.cfg, p.mk
    summary = np.zeros((p.n_sets, N_SUMMARY))
    equity = np.zeros((p.n_sets, mk.n_bars) if keep_equity else (0, mk.n_bars))
    state = Broker(mk, cfg, order_cap=int(capacity or p.cap))
    eq = np.empty(mk.n_bars, dtype=EQUITY_REC)
    k = 0
    while True:
        r = run_batch_nb(k, mk.mkt, mk.ts, p.ev_i, p.ev_s, p.ev_v, p.off, p.kind, state.cfg,
                         state.symcfg, float(cfg.cash), state.orders, state.fills, state.trades,
                         state.open_tr, state.snap, eq, summary, equity, True)
        if r == DONE:
            break
        k = int(r)
        state.reserve(2 * state.orders.shape[0])
    return BatchResult(params=p.params, summary_array=summary,
                       equity=equity if keep_equity else None, config=p.named_cfg(strategy),
                       market=mk, strategy=p.strat_src)


def run_batch_stats(strategy: Any, param_sets: list[dict], *, market: Any = None,
                    config: Any = None, capacity: int | None = None,
                    **options: Any) -> list[dict[str, Any]]:
    """One stats dict per parameter set, each identical to ``engine.run(...).stats`` of that
    set (the run's stats.json; computed by :func:`engine.sweep_backtest.record_stats` with
    :mod:`reports.metrics_fast`). Same arguments as :func:`run_batch`. The sets run one after
    the other through :func:`run_batch_nb` on one Market and one set of state arrays (no
    per-set Market, Broker or Result); the records of a set are read between two calls."""
    from engine.result import trade_records
    from engine.sweep_backtest import record_stats

    p = _prepare(strategy, param_sets, market, config, options)
    cfg, mk = p.cfg, p.mk
    idx = _stats_index(mk, float(cfg.cash), cfg.metrics)
    state = Broker(mk, cfg, order_cap=int(capacity or p.cap))
    v = np.empty(mk.n_bars)  # equity and gross exposure per bar, reused by every set
    x = np.empty(mk.n_bars)
    counts = np.zeros(2, np.int64)
    out = []
    for k in range(p.n_sets):
        lo, hi = p.off[k], p.off[k + 1]
        while run_set_nb(mk.mkt, mk.ts, p.ev_i[lo:hi], p.ev_s[lo:hi], p.ev_v[lo:hi], p.kind,
                         state.cfg, state.symcfg, float(cfg.cash), state.orders, state.fills,
                         state.trades, state.open_tr, state.snap, v, x, counts) != DONE:
            state.reserve(2 * state.orders.shape[0])
        trades = trade_records(state.trades, int(counts[0]), state.open_tr, mk)
        out.append(record_stats(idx, None, trades, state.fills[:int(counts[1])],
                                equity=v, exposure=x))
    return out


_INDEXES: dict[tuple, Any] = {}


def _stats_index(mk, cash: float, metrics: Any):
    """The StatsIndex of a market's clock and buy-and-hold benchmark (see
    :class:`reports.metrics_fast.StatsIndex`), kept for the next call on the same market (a
    sweep worker calls :func:`run_batch_stats` once per chunk). Keyed by the bytes of the
    time stamps and marks, the cash and the conventions."""
    import hashlib

    from engine.result import buy_and_hold
    from reports.metrics_fast import StatsIndex
    from reports.runfolder import conventions_from

    conv = conventions_from(metrics)
    h = hashlib.blake2b(np.ascontiguousarray(mk.ts).view(np.uint8), digest_size=16)
    h.update(np.ascontiguousarray(mk.mkt[M_MARK]).view(np.uint8))
    key = (h.digest(), mk.mkt.shape, cash, conv)
    idx = _INDEXES.get(key)
    if idx is None:
        idx = StatsIndex(mk.ts, conv, benchmark=buy_and_hold(mk, cash))
        if len(_INDEXES) >= 8:
            _INDEXES.clear()
        _INDEXES[key] = idx
    return idx


@dataclasses.dataclass
class _Prepared:
    cfg: Any
    mk: Any
    strat_src: Any
    params: list[dict]
    off: np.ndarray
    ev_i: np.ndarray
    ev_s: np.ndarray
    ev_v: np.ndarray
    kind: int
    cap: int

    @property
    def n_sets(self) -> int:
        return len(self.params)

    def named_cfg(self, strategy: Any):
        return dataclasses.replace(self.cfg,
                                   strategy=self.cfg.strategy or getattr(strategy, "name", ""))


def _prepare(strategy: Any, param_sets: Any, market: Any, config: Any,
             options: dict[str, Any]) -> _Prepared:
    """Config, market and every set's target events (checked), shared by the two entries."""
    if not isinstance(param_sets, list | tuple) or not param_sets:
        raise ConfigError("param_sets must be a non-empty list of dicts", argument="param_sets",
                          value=type(param_sets).__name__, fix="e.g. [{'fast': 5}, {'fast': 10}]")
    if isinstance(strategy, str):
        options["strategy"] = strategy
    cfg = resolve_config(config, **options)
    if market is None:
        market = list(cfg.data) if len(cfg.data) > 1 else cfg.data[0]
    # (cfg.intrabar is not read: compiled strategies send target orders, never brackets, and
    # finer bars only decide brackets; engine/intrabar.py)
    mk = load_market(market, symbol=cfg.symbol, start=cfg.start, end=cfg.end)
    strat_src = strategy if not isinstance(strategy, str) else cfg.strategy
    kinds, evs, params = set(), [], []
    data = market_data(mk)  # one dict for every set
    for k, p in enumerate(param_sets):
        if not isinstance(p, dict):
            raise ConfigError("each parameter set must be a dict", argument=f"param_sets[{k}]",
                              value=p, fix="e.g. {'fast': 10, 'slow': 20}")
        s = make_strategy(strat_src, {**cfg.params, **p})
        if getattr(type(s), "targets", None) is None:
            raise StrategyError("run_batch needs a strategy with targets()", argument="strategy",
                                value=type(s).__name__, fix="add a vectorised targets()")
        ei, es, ev, kind = target_events(s, mk, data)
        kinds.add(kind)
        evs.append((ei, es, ev))
        params.append(dict(s.params))
    if len(kinds) != 1:
        raise StrategyError("all parameter sets must give the same kind of target",
                            argument="targets", value=sorted(kinds), fix="return one kind")
    off = np.zeros(len(evs) + 1, dtype=np.int64)
    off[1:] = np.cumsum([len(e[0]) for e in evs])
    return _Prepared(cfg=cfg, mk=mk, strat_src=strat_src, params=params, off=off,
                     ev_i=np.concatenate([e[0] for e in evs]),
                     ev_s=np.concatenate([e[1] for e in evs]),
                     ev_v=np.concatenate([e[2] for e in evs]), kind=kinds.pop(),
                     cap=max(64, 2 * max(len(e[0]) for e in evs) + 16))
