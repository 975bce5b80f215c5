"""The outcome of a run: record arrays, pandas views, metrics, and the run folder writer."""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from data.timeutil import ns_to_iso
from engine import types as T
from engine.layout import (
    A_INIT,
    C_BLOWN,
    C_CALLS,
    C_FILLS,
    C_ORDERS,
    C_SNAPS,
    C_TRADES,
    M_MARK,
    N_ACCT,
)
from engine.portfolio_nb import mark_equity_nb, mark_nb

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


def _iso(ts: np.ndarray) -> list[str]:
    """int64 ns -> ISO 8601 UTC strings with a Z suffix ('' for 0 / missing)."""
    return ns_to_iso(np.asarray(ts, dtype=np.int64), zero="")


def trade_records(trades: np.ndarray, n_closed: int, open_tr: np.ndarray,
                  market) -> np.ndarray:
    """The run's round trips: the ``n_closed`` closed ones, then the positions still open
    (marked at the last bar), sorted by entry time, numbered from 0."""
    m = market
    ot = open_tr[open_tr["size"] > 0]
    out = np.empty(n_closed + len(ot), dtype=T.TRADE_REC)
    out[:n_closed] = trades[:n_closed]
    if len(ot):
        s = ot["sym"].astype(np.int64)
        px = m.mkt[M_MARK, -1][s]
        r = out[n_closed:]
        r["trade_id"] = 0
        r["sym"], r["side"], r["status"], r["size"] = s, ot["side"], T.TRADE_OPEN, ot["size"]
        r["entry_ts"], r["entry_price"] = ot["entry_ts"], ot["entry_price"]
        r["exit_ts"], r["exit_price"] = m.ts[-1], px
        r["fees"] = ot["fees"]
        r["pnl"] = ot["side"] * ot["size"] * (px - ot["entry_price"]) - ot["fees"]
    e = out["entry_ts"]
    if len(out) > 1 and (e[1:] < e[:-1]).any():  # (a stable sort of what is in order: itself)
        out = out[np.argsort(e, kind="stable")]
    out["trade_id"] = np.arange(len(out))
    return out


def buy_and_hold(market, cash: float) -> np.ndarray:
    """Buy-and-hold of the market's symbol(s), equal weights, starting at ``cash``, no costs."""
    mark = market.mkt[M_MARK]
    first = np.array([mark[np.flatnonzero(~np.isnan(mark[:, s]))[0], s]
                      for s in range(mark.shape[1])])
    rel = np.nan_to_num(mark / first, nan=1.0)
    return cash * rel.mean(axis=1)


class Result:
    """Records of one run. ``equity``, ``trades``, ``orders``, ``fills`` are pandas frames
    (columns of docs/RUN_FOLDER.md); ``stats`` is the stats.json dict (computed on first use)."""

    def __init__(self, broker, config, strategy, timings: dict[str, float], mode: str) -> None:
        m = broker.market
        self.config = config
        self.strategy = strategy
        self.market = m
        self.symbols = list(m.symbols)
        self.mode = mode
        self.timings = dict(timings)
        cnt = broker.cnt
        # views of the broker's arrays (the broker is not used after the run): no copies
        self.orders_rec = broker.orders[: cnt[C_ORDERS]]
        self.fills_rec = broker.fills[: cnt[C_FILLS]]
        # the equity per bar now (what every caller reads); the other columns of the equity
        # records (cash, exposures, fees) from the same snapshots on first use (equity_rec)
        self._snap = broker.snap[: cnt[C_SNAPS]]
        self.equity_values = np.empty(m.n_bars)
        mark_equity_nb(m.mkt, self._snap, int(cnt[C_SNAPS]), broker.acct, self.equity_values)
        self.trades_rec = self._trades(broker)
        self.initial_cash = float(broker.acct[A_INIT])
        # margin calls (engine/margin_nb.py): how many, and the close where equity was <= 0
        self.margin_calls = int(cnt[C_CALLS])
        self.blown_ts = int(m.ts[cnt[C_BLOWN] - 1]) if cnt[C_BLOWN] > 0 else None
        self._stats: dict | None = None
        self._frames: dict = {}

    _equity_rec: np.ndarray | None = None
    equity_values: np.ndarray | None = None

    @property
    def equity_rec(self) -> np.ndarray:
        """EQUITY_REC per bar (ts, equity, cash, positions_value, exposures, fees), built on
        first use by ``mark_nb`` from the run's state snapshots (``equity`` is identical to
        ``equity_values``: the same inlined marking arithmetic)."""
        if self._equity_rec is None:
            m = self.market
            eq = np.empty(m.n_bars, dtype=T.EQUITY_REC)
            acct = np.zeros(N_ACCT)
            acct[A_INIT] = self.initial_cash
            mark_nb(m.mkt, m.ts, self._snap, int(self._snap.shape[0]), acct, eq)
            self._equity_rec = eq
        return self._equity_rec

    @equity_rec.setter
    def equity_rec(self, value: np.ndarray) -> None:  # (runs that build their records whole)
        self._equity_rec = value
        self.equity_values = value["equity"]

    def _trades(self, broker) -> np.ndarray:
        return trade_records(broker.trades, int(broker.cnt[C_TRADES]), broker.open_tr,
                             broker.market)

    # --- frames ---------------------------------------------------------------------------
    def _sym(self, codes) -> np.ndarray:
        return np.asarray(self.symbols, dtype=object)[np.asarray(codes, dtype=np.int64)]

    @property
    def equity(self) -> pd.DataFrame:
        import pandas as pd

        if "equity" not in self._frames:
            e = self.equity_rec
            idx = pd.DatetimeIndex(e["ts"].astype("datetime64[ns]"), name="time").tz_localize("UTC")
            df = pd.DataFrame({
                "ts": e["ts"], "equity": e["equity"], "cash": e["cash"],
                "exposure": e["gross_exposure"], "net_exposure": e["net_exposure"],
                "positions_value": e["positions_value"], "fees": e["fees"],
                "benchmark": self.benchmark()}, index=idx)
            self._frames["equity"] = df
        return self._frames["equity"]

    def benchmark(self) -> np.ndarray:
        """Buy-and-hold of the traded symbol(s), equal weights, same starting cash, no costs."""
        return buy_and_hold(self.market, self.initial_cash)

    @property
    def trades(self) -> pd.DataFrame:
        import pandas as pd

        if "trades" not in self._frames:
            t = self.trades_rec
            notional = t["size"] * t["entry_price"]
            self._frames["trades"] = pd.DataFrame({
                "trade_id": t["trade_id"], "symbol": self._sym(t["sym"]),
                "side": np.where(t["side"] > 0, "long", "short"), "size": t["size"],
                "entry_time": _iso(t["entry_ts"]), "entry_ts": t["entry_ts"],
                "entry_price": t["entry_price"], "exit_time": _iso(t["exit_ts"]),
                "exit_ts": t["exit_ts"], "exit_price": t["exit_price"], "pnl": t["pnl"],
                "return": np.divide(t["pnl"], notional, out=np.full(len(t), np.nan),
                                    where=notional != 0),
                "fees": t["fees"], "duration_s": (t["exit_ts"] - t["entry_ts"]) / 1e9,
                "status": np.where(t["status"] == T.TRADE_OPEN, "open", "closed")})
        return self._frames["trades"]

    @property
    def orders(self) -> pd.DataFrame:
        import pandas as pd

        if "orders" not in self._frames:
            o = self.orders_rec
            self._frames["orders"] = pd.DataFrame({
                "order_id": o["order_id"], "time": _iso(o["ts"]), "ts": o["ts"],
                "symbol": self._sym(o["sym"]), "side": np.where(o["side"] > 0, "buy", "sell"),
                "type": np.asarray(T.ORDER_TYPE_NAMES, dtype=object)[o["type"]],
                "tif": np.asarray(T.TIF_NAMES, dtype=object)[o["tif"]], "size": o["size"],
                "limit_price": o["limit_price"], "stop_price": o["stop_price"],
                "status": np.asarray(T.STATUS_NAMES, dtype=object)[o["status"]],
                "filled_size": o["filled_size"], "avg_fill_price": o["avg_fill_price"],
                "reject_reason": np.asarray(T.REJECT_NAMES, dtype=object)[o["reject_reason"]],
                "parent_id": o["parent_id"], "tag": o["tag"],
                "update_ts": o["update_ts"], "flags": o["flags"]})
        return self._frames["orders"]

    @property
    def fills(self) -> pd.DataFrame:
        import pandas as pd

        if "fills" not in self._frames:
            f = self.fills_rec
            self._frames["fills"] = pd.DataFrame({
                "fill_id": f["fill_id"], "order_id": f["order_id"], "time": _iso(f["ts"]),
                "ts": f["ts"], "symbol": self._sym(f["sym"]),
                "side": np.where(f["side"] > 0, "buy", "sell"), "size": f["size"],
                "price": f["price"], "fee": f["fee"],
                "liquidity": np.where(f["liquidity"] == T.MAKER, "maker", "taker"),
                "slippage": f["slippage"],
                # a forced close of a margin call (docs/fills.md)
                "liquidation": (self.orders_rec["flags"][f["order_id"]]
                                & T.F_LIQUIDATION) != 0})
        return self._frames["fills"]

    @property
    def final_equity(self) -> float:
        return float(self.equity_values[-1])

    @property
    def stats(self) -> dict[str, Any]:
        if self._stats is None:
            from reports.metrics import compute_stats
            from reports.runfolder import conventions_from

            eq = self.equity
            self._stats = json_safe(compute_stats(
                eq["equity"], trades=self.trades, benchmark=eq["benchmark"],
                conventions=conventions_from(self.config.metrics), fills=self.fills,
                exposure=eq["exposure"]))
            if self.margin_calls or self.blown_ts is not None:  # (absent without a call:
                self._stats.update(self._margin_stats())       # batch rows have the same keys)
            # a strategy may add its own diagnostics (e.g. a pair's cointegration p-value);
            # they never replace a metric of the same name
            extra = getattr(self.strategy, "report_stats", None)
            if callable(extra):
                for k, v in extra().items():
                    v = v.item() if isinstance(v, np.generic) else v
                    if isinstance(v, float) and not np.isfinite(v):
                        v = None  # stats.json is strict JSON
                    self._stats.setdefault(str(k), v)
        return self._stats

    margin_calls = 0  # (runs that have no margin model, e.g. tick runs)
    blown_ts = None

    def _margin_stats(self) -> dict[str, Any]:
        """Margin calls (docs/fills.md): how many, the forced orders and their fills, and the
        close at which equity was <= 0 (None: never)."""
        o = self.orders_rec
        liq = (o["flags"] & T.F_LIQUIDATION) != 0
        blown = self.blown_ts
        return {"margin_calls": self.margin_calls,
                "liquidations": int(liq.sum()),
                "liquidation_fills": int(liq[self.fills_rec["order_id"]].sum()),
                "account_blown": None if blown is None else _iso(np.array([blown]))[0]}

    def __repr__(self) -> str:
        closed = int((self.trades_rec["status"] == T.TRADE_CLOSED).sum())
        return (f"Result({self.config.strategy!r}, {len(self.equity_values)} bars, "
                f"final_equity={self.final_equity:.2f}, trades={closed}, fills={len(self.fills_rec)})")

    # --- the run folder -------------------------------------------------------------------
    def save(self, run_dir: str | Path, *, report: bool = True) -> Path:
        """Write the run folder of docs/RUN_FOLDER.md (manifest.json last)."""
        from engine.runfolder import write_run_folder

        return write_run_folder(self, Path(run_dir), report=report)


def json_safe(value: Any) -> Any:
    """NaT (which reports.metrics.to_jsonable passes through) and non-finite floats -> None."""
    import math

    import pandas as pd

    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is pd.NaT or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("tapereader", "numpy", "numba", "pandas", "polars", "pyarrow"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = ""
    return out


def atomic_json(path: Path, obj: Any) -> None:
    from reports.html import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=1, allow_nan=False) + "\n")



