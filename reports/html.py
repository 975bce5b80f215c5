"""The self-contained HTML report of a run folder (and the side-by-side comparison of runs).

``write_report(run_dir)`` reads the run folder (docs/RUN_FOLDER.md), recomputes the metrics with
the run's conventions, renders matplotlib charts as inline SVG into a Jinja2 template (autoescape
on: every string from a user or a data file is escaped) and writes ``report.html`` atomically.
The page makes no network request: no CDN, no fonts, no images from elsewhere; the small inline
script only sorts / filters / pages tables, toggles the log scale and marks trades on the charts.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from data.errors import ConfigError, RunError
from reports import charts
from reports import metrics_tables as mt
from reports.metrics import compute_stats, period_returns
from reports.model_section import model_context
from reports.present import HEADLINE, column_json, grouped_rows, head_tail, metric_rows
from reports.runfolder import Run, read_run
from reports.timeutil import iso, ns

TEMPLATES = Path(__file__).with_name("templates")
MAX_TABLE_ROWS = 5_000  # orders / fills embedded per table (first and last halves)
MAX_PRICE_CHARTS = 20
MAX_DETAIL_POINTS = 20_000  # close prices embedded per symbol for the trade zoom
MAX_DETAIL_TOTAL = 60_000

TRADE_COLS = [("trade_id", "#", "int"), ("symbol", "Symbol", "text"), ("side", "Side", "text"),
              ("size", "Size", "num"), ("entry_ts", "Entry", "time"),
              ("entry_price", "Entry price", "num"), ("exit_ts", "Exit", "time"),
              ("exit_price", "Exit price", "num"), ("pnl", "P&L", "money"),
              ("return", "Return", "pct"), ("fees", "Fees", "money"),
              ("duration_s", "Held", "seconds"), ("status", "Status", "text")]
ORDER_COLS = [("order_id", "#", "int"), ("ts", "Time", "time"), ("symbol", "Symbol", "text"),
              ("side", "Side", "text"), ("type", "Type", "text"), ("tif", "TIF", "text"),
              ("size", "Size", "num"), ("limit_price", "Limit", "num"),
              ("stop_price", "Stop", "num"), ("status", "Status", "text"),
              ("filled_size", "Filled", "num"), ("avg_fill_price", "Avg price", "num"),
              ("reject_reason", "Reject reason", "text"), ("parent_id", "Parent", "int"),
              ("tag", "Tag", "text")]
FILL_COLS = [("fill_id", "#", "int"), ("order_id", "Order", "int"), ("ts", "Time", "time"),
             ("symbol", "Symbol", "text"), ("side", "Side", "text"), ("size", "Size", "num"),
             ("price", "Price", "num"), ("fee", "Fee", "money"),
             ("liquidity", "Liquidity", "text"), ("slippage", "Slippage", "num"),
             ("queue_ahead", "Queue ahead", "num"), ("latency_ns", "Latency (ns)", "int")]


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The templates' environment, one per process: it keeps the compiled templates (a
    template is compiled once, ~15 ms, not at every report; jinja re-reads a changed file)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (``data.catalog.files.atomic_write_bytes``),
    creating its folder if needed (``--out runs/pairs.csv`` before ``runs/`` exists)."""
    from data.catalog.files import atomic_write_bytes

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the folder of {path.name}: {exc.strerror or exc}",
                       file=str(path.parent), fix="check the path and its permissions") from exc
    atomic_write_bytes(path, text.encode("utf-8"))


def write_report(run_dir: Path, *, benchmark: pd.Series | None = None,
                 manifest: dict[str, Any] | None = None) -> Path:
    """(Re)build ``run_dir/report.html`` from the run folder; returns its path.

    ``benchmark`` replaces equity.csv's buy-and-hold column: an equity or price series indexed by
    tz-aware UTC time (rescaled to the run's starting equity). ``manifest`` is shown instead of
    the folder's manifest.json: the engine writes the report before the manifest, and passes
    the manifest it is about to write.
    """
    run = read_run(run_dir)
    if manifest is not None:
        run = dataclasses.replace(run, manifest=manifest)
    html = render_report(run, benchmark=benchmark)
    out = Path(run_dir) / "report.html"
    atomic_write_text(out, html)
    return out


def _benchmark_series(run: Run, benchmark: pd.Series | None) -> pd.Series | None:
    eq = run.equity["equity"]
    if benchmark is None:
        if "benchmark" not in run.equity.columns:
            return None
        b = run.equity["benchmark"]
        return b if np.isfinite(b.to_numpy()).all() and (b > 0).all() else None
    if not isinstance(benchmark, pd.Series) or not isinstance(benchmark.index, pd.DatetimeIndex) \
            or benchmark.index.tz is None:
        raise ConfigError("benchmark must be a Series indexed by tz-aware time",
                          argument="benchmark", value=type(benchmark).__name__,
                          fix="pass e.g. prices['close'] with a UTC DatetimeIndex")
    b = benchmark.astype("float64").copy()
    b.index = b.index.tz_convert("UTC").as_unit("ns")
    b = b.reindex(eq.index, method="ffill").bfill()
    return b / b.iloc[0] * eq.iloc[0]


def report_context(run: Run, *, benchmark: pd.Series | None = None) -> dict[str, Any]:
    """Everything the template needs (also used by tests)."""
    conv = run.conventions()
    eq = run.equity["equity"]
    ts = ns(eq.index)
    bench = _benchmark_series(run, benchmark)
    expo = run.equity["exposure"] if "exposure" in run.equity.columns else None
    n_trials = int((run.stats or {}).get("n_trials") or 1)
    stats = compute_stats(eq, trades=run.trades, benchmark=bench, conventions=conv,
                          fills=run.fills, n_trials=n_trials, exposure=expo)
    P = stats["conventions"]["periods_per_year"]
    r = period_returns(eq, conv).dropna()
    v = eq.to_numpy()
    dd = v / np.maximum.accumulate(v) - 1.0
    ctx: dict[str, Any] = {
        "title": run.strategy or run.name,
        "run_name": run.name,
        "strategy": run.strategy,
        "params": [(str(k), _param_text(v)) for k, v in run.params.items()],
        "symbols": run.symbols,
        "stats": stats,
        "headline": metric_rows(stats, HEADLINE),
        "groups": grouped_rows(stats),
        "conventions": stats["conventions"],
        "equity_svg": charts.equity_chart(ts, v, None if bench is None else bench.to_numpy(),
                                          log=False, salt="eq"),
        "equity_log_svg": charts.equity_chart(ts, v, None if bench is None else bench.to_numpy(),
                                              log=True, salt="eqlog"),
        "drawdown_svg": charts.drawdown_chart(ts, dd, salt="dd"),
    }
    # numbers a strategy added to stats.json (e.g. a pair's cointegration p-value, an agent's
    # buy-and-hold comparison): shown as they are, in their own group
    saved = run.stats or {}
    extra = [k for k, v in saved.items() if k not in stats and k != "conventions"
             and k not in MARGIN_KEYS and isinstance(v, int | float) and not isinstance(v, bool)]
    if extra:
        rows = [{"key": k, "label": k, "sign": "",
                 "text": f"{saved[k]:,}" if isinstance(saved[k], int) else f"{saved[k]:.4g}"}
                for k in extra]
        ctx["groups"].append({"id": "strategy", "title": "Strategy diagnostics", "rows": rows})
    ctx.update(_returns_section(r, bench, eq, conv, P, stats))
    ctx.update(_trading_section(run, eq, ts))
    ctx["warnings"] = _warnings(run, stats, bench)
    ctx["drawdowns"] = _drawdown_rows(eq, conv)
    ctx["manifest"] = _manifest_rows(run)
    ctx["config_text"] = run.config_text
    ctx["model"] = model_context(run.path)  # None unless the run folder has a model.json
    return ctx


#: stats.json keys of the margin model (engine/margin_nb.py): shown as a warning when non-zero
MARGIN_KEYS = ("margin_calls", "liquidations", "liquidation_fills", "account_blown")


def _warnings(run: Run, stats: dict[str, Any], bench) -> list[str]:
    out = []
    saved = run.stats or {}
    if saved.get("account_blown"):
        out.append(f"The account was blown: equity <= 0 at the close of {saved['account_blown']}; "
                   "every position was liquidated and later orders were rejected.")
    if saved.get("margin_calls"):
        out.append(f"{saved['margin_calls']} margin call(s): {saved.get('liquidations', 0)} "
                   f"forced liquidation order(s), {saved.get('liquidation_fills', 0)} fill(s) "
                   "(orders.csv reason 'liquidation').")
    n = stats["n_periods"]
    if n < 30:
        out.append(f"Only {n} sampled period(s) ({stats['conventions']['sampling']} sampling): "
                   "annualised figures (CAGR, volatility, Sharpe, Sortino, Calmar) are not "
                   "meaningful for so short a run.")
    if bench is None:
        out.append("No benchmark: equity.csv has no usable 'benchmark' column.")
    if run.stats:
        differ = [k for k in ("total_return", "cagr", "sharpe", "sortino", "max_drawdown",
                              "volatility", "n_trades", "final_equity")
                  if _differs(run.stats.get(k), stats.get(k))]
        if differ:
            out.append("stats.json differs from the metrics recomputed for this report in: "
                       + ", ".join(differ) + " (the report shows the recomputed values).")
    return out


def _differs(a, b) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    try:
        return not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return True


def _param_text(v: Any) -> str:
    return str(v) if not isinstance(v, float) else repr(v)


def _returns_section(r, bench, eq, conv, P, stats) -> dict[str, Any]:
    monthly = mt.monthly_returns(r)
    yearly = mt.yearly_returns(r)
    b_year = None
    if bench is not None:
        br = period_returns(bench, conv).dropna()
        b_year = mt.yearly_returns(br).reindex(yearly.index).to_numpy()
    scale = float(np.nanmax(np.abs(monthly.to_numpy()))) if monthly.size and \
        np.isfinite(monthly.to_numpy()).any() else 0.0
    rows = []
    for year, row in monthly.iterrows():
        cells = [{"text": "" if not math.isfinite(x) else f"{x * 100:.1f}",
                  "color": charts.heat_color(x, scale)} for x in row.to_numpy()]
        y = float(yearly.get(year, np.nan))
        rows.append({"year": int(year), "cells": cells,
                     "total": "" if not math.isfinite(y) else f"{y * 100:.1f}",
                     "total_color": charts.heat_color(y, scale * 3)})
    rs = mt.rolling_sharpe(r, conv.rolling_window, P, conv.risk_free, conv.ddof)
    rv = mt.rolling_volatility(r, conv.rolling_window, P, conv.ddof)
    out = {
        "monthly_rows": rows,
        "months": list(mt.MONTHS),
        "yearly_svg": charts.yearly_chart(yearly.index.to_numpy(), yearly.to_numpy(), b_year,
                                          salt="yr") if len(yearly) else "",
        "rolling_svg": charts.rolling_chart(ns(r.index), rs.to_numpy(), rv.to_numpy(),
                                            conv.rolling_window, salt="roll")
        if len(r) > conv.rolling_window else "",
        "distribution_svg": charts.distribution_chart(
            r.to_numpy(), stats.get("var"), stats.get("cvar"), conv.var_level, salt="dist")
        if len(r) > 2 else "",
    }
    return out


def _trading_section(run: Run, eq: pd.Series, ts: np.ndarray) -> dict[str, Any]:
    trades = run.trades
    price_charts = []
    embedded = 0
    if run.prices is not None and len(run.prices):
        prices = run.prices
        for i, sym in enumerate(run.symbols[:MAX_PRICE_CHARTS]):
            p = prices[prices["symbol"].astype(str) == sym].sort_values("ts", kind="stable")
            if p.empty:
                continue
            t_sym = trades[trades["symbol"].astype(str) == sym] if len(trades) else trades
            extra = np.concatenate([t_sym[c].to_numpy(np.float64) for c in
                                    ("entry_price", "exit_price") if c in t_sym.columns] or
                                   [np.zeros(0)])
            close = p["close"].to_numpy(np.float64)
            low = p["low"].to_numpy(np.float64) if "low" in p else close
            high = p["high"].to_numpy(np.float64) if "high" in p else close
            svg, mapping = charts.price_chart(p["ts"].to_numpy(np.int64), close, low, high, extra,
                                              salt=f"px{i}")
            detail = None
            if len(p) <= MAX_DETAIL_POINTS and embedded + len(p) <= MAX_DETAIL_TOTAL:
                embedded += len(p)
                detail = column_json(p, [("ts", "t", "time"), ("close", "c", "num")])
            price_charts.append({"idx": i, "symbol": sym, "svg": svg, "map": mapping,
                                 "detail_json": detail,
                                 "n_trades": int(len(t_sym))})
    expo = run.equity
    positions = _positions(run.fills)
    exposure_svg = ""
    if "exposure" in expo.columns or positions:
        exposure_svg = charts.exposure_chart(
            ts, expo["exposure"].to_numpy() if "exposure" in expo else None,
            expo["net_exposure"].to_numpy() if "net_exposure" in expo else None,
            positions, salt="expo")
    orders, orders_cut = head_tail(run.orders, MAX_TABLE_ROWS)
    fills, fills_cut = head_tail(run.fills, MAX_TABLE_ROWS)
    return {
        "price_charts": price_charts,
        "price_maps": {str(c["idx"]): c["map"] for c in price_charts},
        "symbol_index": {c["symbol"]: c["idx"] for c in price_charts},
        "exposure_svg": exposure_svg,
        "trades_json": column_json(trades, TRADE_COLS),
        "n_trades_rows": int(len(trades)),
        "orders_json": column_json(orders, ORDER_COLS) if orders is not None else None,
        "orders_cut": orders_cut,
        "fills_json": column_json(fills, FILL_COLS) if fills is not None else None,
        "fills_cut": fills_cut,
        "tick_details": fills is not None and ("queue_ahead" in fills or "latency_ns" in fills),
    }


def _positions(fills: pd.DataFrame | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Position (units) per symbol after every fill, from the signed cumulative fill size."""
    if fills is None or len(fills) == 0:
        return {}
    side = fills["side"]
    if side.dtype == object or str(side.dtype).startswith(("str", "string")):
        sign = np.where(side.astype(str).str.lower().isin(["buy", "b", "long", "1"]), 1.0, -1.0)
    else:
        sign = np.sign(side.to_numpy(np.float64))
    signed = sign * np.abs(fills["size"].to_numpy(np.float64))
    out = {}
    for sym, idx in fills.groupby(fills["symbol"].astype(str)).indices.items():
        order = np.argsort(fills["ts"].to_numpy(np.int64)[idx], kind="stable")
        sel = idx[order]
        out[sym] = (fills["ts"].to_numpy(np.int64)[sel], np.cumsum(signed[sel]))
    return out


def _drawdown_rows(eq: pd.Series, conv) -> list[dict[str, str]]:
    from reports.metrics import sample_equity

    top = mt.top_drawdowns(sample_equity(eq, conv.sampling), 10)
    rows = []
    for i, d in enumerate(top.itertuples(index=False), 1):
        rows.append({
            "rank": i, "depth": f"{d.depth * 100:.2f}%", "peak": _date(d.peak),
            "valley": _date(d.valley), "recovery": _date(d.recovery) or "not recovered",
            "duration": f"{d.duration_days:,.1f}", "decline": f"{d.decline_days:,.1f}",
            "recovery_days": "" if not math.isfinite(d.recovery_days) else
            f"{d.recovery_days:,.1f}",
        })
    return rows


def _date(t) -> str:
    s = iso(t)
    return "" if s is None else s[:16].replace("T", " ")


def _manifest_rows(run: Run) -> dict[str, Any]:
    m = run.manifest or {}
    flat = []
    for key in ("status", "created_at", "seed", "config_hash"):
        if key in m:
            flat.append((key, str(m[key])))
    for group in ("versions", "timings", "counts"):
        val = m.get(group)
        if isinstance(val, dict):
            flat.extend((f"{group}.{k}", str(v)) for k, v in val.items())
    data = m.get("data") or m.get("data_sources") or []
    if isinstance(data, dict):
        data = [dict(v, name=k) if isinstance(v, dict) else {"name": k, "value": v}
                for k, v in data.items()]
    sources = [{k: str(v) for k, v in d.items()} for d in data if isinstance(d, dict)]
    source_keys = sorted({k for d in sources for k in d})
    known = {"status", "created_at", "seed", "config_hash", "versions", "timings", "counts",
             "data", "data_sources"}
    flat.extend((k, str(v)) for k, v in m.items() if k not in known)
    return {"present": run.manifest is not None, "rows": flat, "sources": sources,
            "source_keys": source_keys}


def render_report(run: Run, *, benchmark: pd.Series | None = None) -> str:
    ctx = report_context(run, benchmark=benchmark)
    return environment().get_template("report.html.j2").render(**ctx)
