"""Experiment grids (``tape grid``): one strategy over assets x cost levels x periods x seeds.

The grid is a TOML file (paths inside it are relative to the file's folder)::

    strategy = "sma_cross"             # a name, path/to/file.py:Class or package.module:Class
    baseline = "buy_and_hold"          # optional: run on every cell too, for comparison
    metrics = ["total_return", "sharpe", "max_drawdown"]
    reports = true                     # an HTML report in every run folder
    seeds = [1, 2, 3]

    [params]                           # strategy parameters for every run
    fast = 10

    [run]                              # engine options for every run (cash, fill_at, ...)
    cash = 100000.0

    [[assets]]                         # or: assets = ["a.csv", "b.csv"]
    name = "KO"
    data = "../data/samples/pairs/daily-KO.csv"
    symbols = ["KO"]                   # optional: columns of a multi-symbol file

    [[costs]]                          # engine options per cost level
    name = "10bp"
    commission = 0.001

    [[periods]]                        # start / end: dates or ISO times (UTC), inclusive
    name = "2008-2010"
    start = "2008-01-01"
    end = "2010-12-31"

Every (asset, cost, period, seed) is one run; its folder is ``DIR/runs/<asset>/<cost>/<period>/
seed<seed>``. ``DIR/results.csv`` has one row per run (the sweep machinery's table, so a grid
streams, resumes and runs on Ray like a sweep); ``DIR/summary.csv`` the mean and standard
deviation of each metric per (asset, cost, period) cell and against the baseline;
``DIR/aggregates.csv`` the same per cost level and per period across assets.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.errors import ConfigError
from engine.tomlspec import Field, load_toml, validate

DEFAULT_METRICS = ["total_return", "cagr", "sharpe", "sortino", "max_drawdown", "volatility",
                   "n_trades", "exposure"]
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _label_check(v: Any) -> str | None:
    return None if _LABEL.match(v) else "names are letters, digits, '_', '.', '-'"


def _date_check(v: Any) -> str | None:
    try:
        pd.Timestamp(v)
    except (ValueError, TypeError):
        return "not a date or ISO time"
    return None


ASSET = Field(dict, schema={
    "name": Field(str, check=_label_check, help="a short label such as KO"),
    "data": Field(str, required=True, help="a data file or catalog:// reference"),
    "symbols": Field(list, items=Field(str), help="symbols to keep from a multi-symbol file"),
})
COST = Field(dict, free=True, help="engine cost options, e.g. commission = 0.001")
PERIOD = Field(dict, schema={
    "name": Field(str, check=_label_check),
    "start": Field(str, check=_date_check, help="e.g. 2008-01-01"),
    "end": Field(str, check=_date_check, help="e.g. 2010-12-31 (inclusive)"),
})
SCHEMA: dict[str, Field] = {
    "strategy": Field(str, required=True, help="a strategy name or path/to/file.py:Class"),
    "baseline": Field(str, help="e.g. buy_and_hold"),
    "metrics": Field(list, items=Field(str), default=lambda: list(DEFAULT_METRICS)),
    "reports": Field(bool, default=True),
    "seeds": Field(list, items=Field(int), default=lambda: [0]),
    "out": Field(str, help="results folder (the --out option wins)"),
    "params": Field(dict, free=True, default=dict),
    "run": Field(dict, free=True, default=dict),
    "assets": Field(list, required=True, items=Field((dict, str), schema=ASSET.schema)),
    "costs": Field(list, items=COST, default=lambda: [{}]),
    "periods": Field(list, items=PERIOD, default=lambda: [{}]),
}


@dataclasses.dataclass(frozen=True)
class Asset:
    name: str
    data: str
    symbols: tuple[str, ...] | None


@dataclasses.dataclass(frozen=True)
class Period:
    name: str
    start: int | None  # ns, inclusive
    end: int | None  # ns, inclusive (a date means the whole day)


@dataclasses.dataclass(frozen=True)
class GridSpec:
    path: Path
    strategy: str
    baseline: str | None
    params: dict[str, Any]
    run: dict[str, Any]
    assets: tuple[Asset, ...]
    costs: tuple[tuple[str, dict[str, Any]], ...]
    periods: tuple[Period, ...]
    seeds: tuple[int, ...]
    metrics: tuple[str, ...]
    reports: bool
    out: str | None

    def combos(self) -> list[dict[str, Any]]:
        """One entry per run, in asset, cost, period, seed order."""
        return [{"asset": a.name, "cost": c, "period": p.name, "seed": s}
                for a in self.assets for c, _ in self.costs for p in self.periods
                for s in self.seeds]

    def cost(self, name: str) -> dict[str, Any]:
        return dict(self.costs)[name]

    def period(self, name: str) -> Period:
        return next(p for p in self.periods if p.name == name)

    def asset(self, name: str) -> Asset:
        return next(a for a in self.assets if a.name == name)

    def identity(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "baseline": self.baseline, "params": self.params,
                "run": self.run, "costs": [list(c) for c in self.costs],
                "periods": [dataclasses.asdict(p) for p in self.periods],
                "assets": [dataclasses.asdict(a) for a in self.assets], "seeds": list(self.seeds)}


def _ns(text: str, end: bool) -> int:
    t = pd.Timestamp(text)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    if end and len(text.strip()) <= 10:  # a date: the whole day
        t = t + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return int(t.value)


def parse_grid(path: str | Path) -> GridSpec:
    """Read and validate a grid TOML (see the module docstring)."""
    path = Path(path)
    cfg = validate(load_toml(path), SCHEMA, file=path)
    f = str(path)
    base = path.resolve().parent
    assets = []
    for i, a in enumerate(cfg["assets"]):
        a = {"data": a} if isinstance(a, str) else a
        data = a["data"]
        if "://" not in data:
            data = str((base / data).resolve()) if not Path(data).is_absolute() else data
            if not Path(data).exists():
                raise ConfigError("data file not found", file=f, argument=f"assets[{i}].data",
                                  value=a["data"], fix="paths are relative to the grid file")
        name = a.get("name") or _stem(a["data"])
        syms = tuple(a["symbols"]) if a.get("symbols") else None
        assets.append(Asset(name, data, syms))
    _unique([a.name for a in assets], f, "assets", "name")
    costs = []
    for i, c in enumerate(cfg["costs"]):
        opts = {k: v for k, v in c.items() if k != "name"}
        name = c.get("name") or ("_".join(f"{k}{v}" for k, v in opts.items()) or "default")
        if not isinstance(name, str) or _label_check(name):
            raise ConfigError("a cost level name is letters, digits, '_', '.', '-'", file=f,
                              argument=f"costs[{i}].name", value=name, fix="e.g. name = \"10bp\"")
        costs.append((name, opts))
    _unique([c[0] for c in costs], f, "costs", "name")
    periods = []
    for i, p in enumerate(cfg["periods"]):
        start = _ns(p["start"], False) if "start" in p else None
        end = _ns(p["end"], True) if "end" in p else None
        if start is not None and end is not None and end < start:
            raise ConfigError("the period ends before it starts", file=f,
                              argument=f"periods[{i}]", value=p, fix="swap start and end")
        name = p.get("name") or (f"{p.get('start', 'start')}_{p.get('end', 'end')}"
                                 if p else "all")
        periods.append(Period(name, start, end))
    _unique([p.name for p in periods], f, "periods", "name")
    if not assets:
        raise ConfigError("the grid has no assets", file=f, argument="assets",
                          fix="add [[assets]] tables or assets = [\"file.csv\"]")
    seeds = cfg["seeds"]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError("seeds must be distinct integers", file=f, argument="seeds",
                          value=seeds, fix="e.g. seeds = [1, 2, 3]")
    return GridSpec(path, cfg["strategy"], cfg.get("baseline"), dict(cfg["params"]),
                    dict(cfg["run"]), tuple(assets), tuple(costs), tuple(periods), tuple(seeds),
                    tuple(cfg["metrics"]), cfg["reports"], cfg.get("out"))


def _stem(data: str) -> str:
    name = Path(data.split("?")[0]).name
    for ext in (".gz", ".csv", ".parquet", ".txt"):
        name = name.removesuffix(ext)
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name) or "asset"


def _unique(names: list[str], f: str, key: str, field: str) -> None:
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"two {key} have the same {field}", file=f, argument=key, value=dup,
                          fix=f"give each of the {key} its own {field}")


# --- summaries ----------------------------------------------------------------------------------


def summarize(table: pd.DataFrame, metrics: list[str] | tuple[str, ...],
              by: list[str]) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; 0 runs -> NaN) and count of each metric per group,
    with the baseline's mean and the strategy-minus-baseline mean when baseline columns exist."""
    if "error" in table.columns:
        table = table[~table["error"].astype(bool)]
    rows = []
    for key, g in table.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row["runs"] = int(len(g))
        for m in metrics:
            v = pd.to_numeric(g[m], errors="coerce").to_numpy(dtype=float) if m in g else np.array([])
            v = v[np.isfinite(v)]
            row[f"{m}_mean"] = float(v.mean()) if v.size else math.nan
            row[f"{m}_std"] = float(v.std(ddof=1)) if v.size > 1 else math.nan
            b = f"baseline_{m}"
            if b in g:
                bv = pd.to_numeric(g[b], errors="coerce").to_numpy(dtype=float)
                bv = bv[np.isfinite(bv)]
                row[f"{b}_mean"] = float(bv.mean()) if bv.size else math.nan
                row[f"{m}_vs_baseline"] = (row[f"{m}_mean"] - row[f"{b}_mean"]
                                           if bv.size and v.size else math.nan)
        rows.append(row)
    return pd.DataFrame(rows)
