"""Running an experiment grid (``tape grid``, spec in :mod:`engine.experiments`).

Every run of the grid is one "combination" of the sweep machinery (:func:`engine.sweep.
run_sweep`): the assets' bars are loaded once and shared with the workers, rows stream to
``DIR/results.csv``, an interrupted grid resumes, and ``--executor ray`` spreads it over a
cluster. Each run also writes its run folder (``DIR/runs/<asset>/<cost>/<period>/seed<seed>``,
with ``report.html`` unless ``reports = false``); the baseline runs once per cell (its folder is
``.../<period>/baseline``) and its metrics sit next to the strategy's in every row
(``baseline_<metric>``).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.catalog.files import atomic_write_bytes
from data.errors import ConfigError
from engine.experiments import GridSpec, parse_grid, summarize
from engine.sweep import SweepResult, run_sweep


@dataclasses.dataclass
class GridResult:
    out: Path
    spec: GridSpec
    sweep: SweepResult
    cells: pd.DataFrame  # per (asset, cost, period)
    aggregates: pd.DataFrame  # per cost, per period, per (cost, period), overall
    elapsed_s: float

    def summary(self) -> dict[str, Any]:
        return {**self.sweep.summary(), "elapsed_s": round(self.elapsed_s, 3),
                "cells": int(len(self.cells)), "assets": len(self.spec.assets),
                "costs": len(self.spec.costs), "periods": len(self.spec.periods),
                "seeds": len(self.spec.seeds)}


def load_asset(data: str, symbols: tuple[str, ...] | None,
               cache: dict[str, dict[str, np.ndarray]] | None = None) -> dict[str, np.ndarray]:
    """{symbol: BAR array} of one asset entry: a bar file (single or multi-symbol, any layout
    the data readers detect) or a catalog:// reference; ``symbols`` picks some of them.
    ``cache`` keeps files read once when several assets come from one file."""
    cache = {} if cache is None else cache
    if data not in cache:
        if data.startswith("catalog://"):
            from engine.market import load_market

            mk = load_market(data)
            cache[data] = {s: mk.bars[s] for s in mk.symbols}
        else:
            from data.readers.dispatch import load_source

            cache[data] = {d.symbol: d.data for d in load_source(data, kind="bar")}
    bars = cache[data]
    if symbols:
        missing = [s for s in symbols if s not in bars]
        if missing:
            raise ConfigError("symbol not in the data", file=data, argument="symbols",
                              value=missing, fix=f"the file holds {sorted(bars)[:20]}")
        bars = {s: bars[s] for s in symbols}
    return bars


def grid_task(shared: dict[str, np.ndarray], params_list: list[dict[str, Any]],
              fixed: dict[str, Any]) -> list[dict[str, Any]]:
    """Worker side: run each (asset, cost, period, seed), save its run folder, return stats."""
    import engine
    from engine.sweep_backtest import result_stats

    out = []
    for combo in params_list:
        a, c, p, seed = combo["asset"], combo["cost"], combo["period"], combo["seed"]
        prefix = f"bar/{a}/"
        start, end = fixed["periods"][p]
        market = {}
        for k, v in shared.items():
            if k.startswith(prefix):
                keep = np.ones(len(v), bool)
                if start is not None:
                    keep &= v["ts"] >= start
                if end is not None:
                    keep &= v["ts"] <= end
                if keep.any():
                    market[k[len(prefix):]] = v[keep]
        if not market:
            raise ConfigError(f"asset {a!r} has no bars in period {p!r}", argument="periods",
                              value=p, fix="choose periods inside the data's range")
        opts = {**fixed["run"], **fixed["costs"][c], "seed": seed}
        cell = Path(fixed["out"]) / "runs" / a / c / p
        res = engine.run(market=market, strategy=fixed["strategy"], params=fixed["params"],
                         **opts)
        row = dict(result_stats(res))
        if fixed["save"]:
            res.save(cell / f"seed{seed}", report=fixed["reports"])
        if fixed["baseline"]:
            b = engine.run(market=market, strategy=fixed["baseline"], **opts)
            bs = result_stats(b)
            for m in fixed["metrics"]:
                row[f"baseline_{m}"] = bs.get(m)
            if fixed["save"] and seed == fixed["first_seed"]:
                b.save(cell / "baseline", report=fixed["reports"])
        out.append(row)
    return out


def run_grid(spec: GridSpec | str | Path, *, out: str | Path | None = None,
             executor: str = "local", workers: int | None = None, address: str | None = None,
             fresh: bool = False, progress: bool | None = None, reports: bool | None = None,
             save_runs: bool = True) -> GridResult:
    """Run every (asset, cost, period, seed) of ``spec`` into ``out`` (default: the spec's
    ``out``); write results.csv, summary.csv, aggregates.csv and report.html."""
    from strategies.registry import coerce_params, describe

    t0 = time.perf_counter()
    if not isinstance(spec, GridSpec):
        spec = parse_grid(spec)
    out = Path(out or spec.out or "")
    if not str(out) or str(out) == ".":
        raise ConfigError("no output folder", argument="--out", file=str(spec.path),
                          fix="pass --out DIR or set out = \"...\" in the grid file")
    info = describe(spec.strategy, argument="strategy")
    params = coerce_params(info, spec.params, argument="params")
    info.cls(**params)  # refuses bad combinations now, not in every run
    if spec.baseline:
        describe(spec.baseline, argument="baseline")
    shared: dict[str, np.ndarray] = {}
    sources = []
    files: dict[str, dict[str, np.ndarray]] = {}
    for a in spec.assets:
        for sym, arr in load_asset(a.data, a.symbols, files).items():
            shared[f"bar/{a.name}/{sym}"] = arr
            sources.append({"asset": a.name, "symbol": sym, "rows": int(len(arr)),
                            "sha256": _digest(arr)})
    reports = spec.reports if reports is None else reports
    fixed = {"strategy": spec.strategy, "params": params, "run": spec.run,
             "costs": {n: o for n, o in spec.costs}, "baseline": spec.baseline,
             "periods": {p.name: (p.start, p.end) for p in spec.periods},
             "metrics": list(spec.metrics), "out": str(out.resolve()), "save": save_runs,
             "reports": reports, "first_seed": spec.seeds[0]}
    combos = spec.combos()
    identity = {**spec.identity(), "data": sources}
    sw = run_sweep(grid_task, combos, out, shared=shared, fixed=fixed,
                   param_names=["asset", "cost", "period", "seed"],
                   spec={"identity": identity, "strategy": info.name, "kind": "grid",
                         "grid_file": str(spec.path), "data": ", ".join(a.data for a in spec.assets)},
                   executor=executor, workers=workers, address=address, fresh=fresh,
                   progress=progress, chunk_size=1)
    table = sw.table
    metrics = [m for m in spec.metrics if m in table.columns]
    cells = summarize(table, metrics, ["asset", "cost", "period"])
    aggs = []
    for by in (["cost"], ["period"], ["cost", "period"], []):
        t = table.assign(all="all") if not by else table
        s = summarize(t, metrics, by or ["all"])
        s.insert(0, "group", "overall" if not by else "by " + " & ".join(by))
        aggs.append(s)
    aggregates = pd.concat(aggs, ignore_index=True)
    atomic_write_bytes(out / "summary.csv", cells.to_csv(index=False).encode())
    atomic_write_bytes(out / "aggregates.csv", aggregates.to_csv(index=False).encode())
    res = GridResult(out, spec, sw, cells, aggregates, time.perf_counter() - t0)
    from reports.grid_report import write_grid_report

    write_grid_report(res, metrics)
    return res


def _digest(arr: np.ndarray) -> str:
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()
