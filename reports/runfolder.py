"""Read a run folder (docs/RUN_FOLDER.md) into pandas objects for the report.

Only ``equity.csv`` is required; every other file is optional so a report can be built while
the engine is still finishing the folder (the engine writes report.html before the manifest).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from data.errors import DataError, RunError
from reports.metrics import Conventions

EQUITY_COLUMNS = ("ts", "equity")
TRADE_COLUMNS = ("symbol", "side", "entry_ts", "entry_price", "exit_ts", "exit_price", "pnl")


@dataclasses.dataclass
class Run:
    """The files of one run folder, as pandas objects (times as tz-aware UTC, ns)."""

    path: Path
    equity: pd.DataFrame  # index: time; columns equity, cash, exposure, ... benchmark
    trades: pd.DataFrame
    orders: pd.DataFrame | None = None
    fills: pd.DataFrame | None = None
    prices: pd.DataFrame | None = None  # ts, symbol, open, high, low, close, volume
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    config_text: str = ""
    manifest: dict[str, Any] | None = None
    stats: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def strategy(self) -> str:
        s = self.config.get("strategy")
        if isinstance(s, dict):
            return str(s.get("name", ""))
        return "" if s is None else str(s)

    @property
    def params(self) -> dict[str, Any]:
        s = self.config.get("strategy")
        if isinstance(s, dict):
            p = s.get("params", {})
            return p if isinstance(p, dict) else {}
        return {}

    @property
    def symbols(self) -> list[str]:
        for frame, col in ((self.prices, "symbol"), (self.trades, "symbol"), (self.fills, "symbol")):
            if frame is not None and col in frame.columns and len(frame):
                return sorted({str(s) for s in frame[col].unique()})
        return []

    def conventions(self) -> Conventions:
        """The conventions the run's stats were computed with (stats.json, else config)."""
        src = (self.stats or {}).get("conventions") or self.config.get("metrics") or {}
        return conventions_from(src)


def conventions_from(d: dict[str, Any]) -> Conventions:
    """Rebuild :class:`Conventions` from a stats.json ``conventions`` dict or a config table."""
    if not isinstance(d, dict):
        return Conventions()
    kw: dict[str, Any] = {}
    ppy = d.get("periods_per_year_setting", d.get("periods_per_year"))
    if ppy is not None:
        kw["periods_per_year"] = ppy
    for key in ("risk_free", "ddof", "sampling", "var_level", "rolling_window", "step",
                "periods_basis"):
        if key in d and d[key] is not None:
            kw[key] = d[key]
    return Conventions(**kw)


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises its own error types
        raise DataError(f"cannot read CSV: {exc}", file=str(path),
                        fix="check that the run finished writing this file") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}", file=str(path), column=missing[0],
                        value=list(df.columns), fix="see docs/RUN_FOLDER.md for the columns")
    return df


def _time_index(ns_values, name: str = "time") -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(pd.Series(ns_values).astype("int64"), utc=True),
                            name=name).as_unit("ns")


def read_equity(path: Path) -> pd.DataFrame:
    df = _read_csv(path, EQUITY_COLUMNS)
    if len(df) == 0:
        raise DataError("equity.csv has no rows", file=str(path),
                        fix="the run recorded nothing; check the data range")
    idx = _time_index(df["ts"])
    out = df.drop(columns=[c for c in ("time", "ts") if c in df.columns])
    out.index = idx
    return out.astype("float64")


def read_prices(path: Path) -> pd.DataFrame:
    """prices.parquet with ``ts`` as int64 ns (datetime columns are converted)."""
    df = pd.read_parquet(path)
    missing = [c for c in ("ts", "symbol", "close") if c not in df.columns]
    if missing:
        raise DataError(f"missing column(s) {missing}", file=str(path), column=missing[0],
                        value=list(df.columns), fix="see docs/RUN_FOLDER.md for the columns")
    if pd.api.types.is_datetime64_any_dtype(df["ts"]):
        ts = df["ts"]
        if ts.dt.tz is None:
            ts = ts.dt.tz_localize("UTC")
        df["ts"] = ts.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64")
    df["symbol"] = df["symbol"].astype(str)
    return df


def read_run(run_dir: str | Path) -> Run:
    """Read a run folder; raises :class:`RunError` when equity.csv is missing."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError("run folder not found", file=str(run_dir), fix="check the path")
    eq_path = run_dir / "equity.csv"
    if not eq_path.exists():
        raise RunError("equity.csv is missing: not a (finished) run folder", file=str(run_dir),
                       fix="re-run the backtest; see docs/RUN_FOLDER.md")
    equity = read_equity(eq_path)
    trades = (_read_csv(run_dir / "trades.csv", TRADE_COLUMNS)
              if (run_dir / "trades.csv").exists() else pd.DataFrame(columns=list(TRADE_COLUMNS)))
    orders = _read_csv(run_dir / "orders.csv", ("ts",)) if (run_dir / "orders.csv").exists() else None
    fills = (_read_csv(run_dir / "fills.csv", ("ts", "symbol", "side", "size", "price"))
             if (run_dir / "fills.csv").exists() else None)
    prices = None
    if (run_dir / "prices.parquet").exists():
        prices = read_prices(run_dir / "prices.parquet")
    config_text, config = "", {}
    if (run_dir / "config.toml").exists():
        config_text = (run_dir / "config.toml").read_text(encoding="utf-8")
        try:
            config = tomllib.loads(config_text)
        except tomllib.TOMLDecodeError as exc:
            raise DataError(f"config.toml is not valid TOML: {exc}",
                            file=str(run_dir / "config.toml"), fix="re-run the backtest") from exc
    return Run(path=run_dir, equity=equity, trades=trades, orders=orders, fills=fills,
               prices=prices, config=config, config_text=config_text,
               manifest=_read_json(run_dir / "manifest.json"),
               stats=_read_json(run_dir / "stats.json"))


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc}", file=str(path), fix="re-run the backtest") from exc
