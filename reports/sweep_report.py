"""The sweep report (``DIR/report.html``): best combinations, a heatmap of a metric over two
parameters, parameter sensitivity, and the deflated Sharpe ratio of the best combination given
the true number of combinations tried (Bailey & Lopez de Prado 2014, via reports.metrics_sharpe).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.errors import ConfigError, RunError
from reports.charts import heat_color
from reports.html import atomic_write_text, environment
from reports.metrics_sharpe import deflated_sharpe_from_moments, expected_max_sharpe
from reports.present import LABELS, fmt

TOP_KEYS = ["total_return", "cagr", "sharpe", "sortino", "max_drawdown", "n_trades", "win_rate",
            "final_equity"]


def metric_kind(metric: str) -> str:
    return LABELS.get(metric, (metric, "ratio"))[1]


def ranked(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows with a finite ``metric``, best first (ties keep combination order)."""
    if metric not in table.columns:
        cols = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        import difflib

        near = difflib.get_close_matches(metric, cols, n=1)
        raise ConfigError("the results have no such metric", argument="--metric", value=metric,
                          fix=f"did you mean {near[0]!r}?" if near else f"use one of {cols}")
    v = pd.to_numeric(table[metric], errors="coerce")
    ok = table[np.isfinite(v.to_numpy(dtype=float))]
    return ok.assign(_m=v[ok.index]).sort_values("_m", ascending=False, kind="stable").drop(columns="_m")


def deflated_best(table: pd.DataFrame, best: pd.Series | None, periods: float | None) -> dict:
    """Deflated Sharpe of ``best`` given every evaluated combination as a trial.

    Per-period Sharpe = annual Sharpe / sqrt(P); the spread of the trials is the standard
    deviation of their per-period Sharpe ratios; the number of trials is every combination
    that produced results (not only the ones shown)."""
    ok = table
    if "error" in table.columns:
        ok = table[~table["error"].astype(bool)]
    n_trials = int(len(ok))
    out = {"n_trials": n_trials, "deflated_sharpe": math.nan, "expected_max_sharpe": math.nan,
           "trials_sharpe_std": math.nan, "sharpe": math.nan}
    need = ("sharpe", "n_periods", "skew", "kurtosis")
    if best is None or not periods or any(k not in table.columns for k in need):
        return out
    sr_all = pd.to_numeric(ok["sharpe"], errors="coerce").to_numpy(dtype=float) / math.sqrt(periods)
    sr_all = sr_all[np.isfinite(sr_all)]
    std = float(np.std(sr_all, ddof=1)) if sr_all.size > 1 else None
    vals = [pd.to_numeric(pd.Series([best.get(k)]), errors="coerce").iloc[0] for k in need]
    if not all(np.isfinite(vals)):
        return out
    sr, n, sk, ku = vals[0] / math.sqrt(periods), int(vals[1]), float(vals[2]), float(vals[3])
    out.update(sharpe=float(vals[0]), trials_sharpe_std=(std or math.nan) * math.sqrt(periods),
               deflated_sharpe=deflated_sharpe_from_moments(sr, n, sk, ku, n_trials, std),
               expected_max_sharpe=expected_max_sharpe(
                   n_trials, std if std is not None else 1.0 / math.sqrt(max(n - 1, 1)))
               * math.sqrt(periods))
    return out


def heatmap(table: pd.DataFrame, x: str, y: str, metric: str) -> dict[str, Any]:
    """Cells of ``metric`` over (y rows, x columns); with more swept parameters the cell holds
    the best value over the others."""
    v = pd.to_numeric(table[metric], errors="coerce")
    df = pd.DataFrame({"x": table[x], "y": table[y], "v": v})
    piv = df.groupby(["y", "x"], sort=True)["v"].max()
    xs = sorted(df["x"].dropna().unique().tolist())
    ys = sorted(df["y"].dropna().unique().tolist())
    finite = piv[np.isfinite(piv.to_numpy(dtype=float))]
    scale = float(np.max(np.abs(finite.to_numpy()))) if len(finite) else 0.0
    center = 0.0
    kind = metric_kind(metric)
    if len(finite) and (finite.to_numpy() > 0).all() and kind not in ("pct", "ratio"):
        center = float(finite.median())
        scale = float(np.max(np.abs(finite.to_numpy() - center)))
    best = finite.idxmax() if len(finite) else None
    rows = []
    for yv in ys:
        cells = []
        for xv in xs:
            val = piv.get((yv, xv), math.nan)
            val = None if val is None or not np.isfinite(val) else float(val)
            cells.append({"text": fmt(val, kind) if val is not None else "",
                          "color": heat_color(None if val is None else val - center, scale),
                          "best": best == (yv, xv)})
        rows.append({"y": _text(yv), "cells": cells})
    return {"x": x, "y": y, "xs": [_text(v) for v in xs], "rows": rows,
            "aggregated": table.groupby([x, y]).ngroups < len(table)}


def sensitivity(table: pd.DataFrame, names: list[str], metric: str) -> list[dict[str, Any]]:
    """For each swept parameter: the metric's mean and best per value."""
    v = pd.to_numeric(table[metric], errors="coerce")
    out = []
    kind = metric_kind(metric)
    for n in names:
        g = pd.DataFrame({"p": table[n], "v": v}).groupby("p", sort=True)["v"]
        out.append({"name": n, "rows": [{"value": _text(k), "mean": fmt(m, kind),
                                         "best": fmt(b, kind), "count": int(c)}
                                        for (k, m), b, c in zip(g.mean().items(), g.max(),
                                                                g.count(), strict=True)]})
    return out


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(v)
    return str(v)


def report_context(table: pd.DataFrame, spec: dict[str, Any], *, metric: str = "sharpe",
                   x: str | None = None, y: str | None = None, top: int = 20) -> dict[str, Any]:
    names = [n for n in spec.get("param_names", []) if n in table.columns]
    swept = [n for n in names if table[n].nunique() > 1]
    for arg, val in (("--x", x), ("--y", y)):
        if val is not None and val not in names:
            raise ConfigError("not a swept parameter", argument=arg, value=val,
                              fix=f"use one of {names}")
    axes = [a for a in (x, y) if a] + [n for n in swept if n not in (x, y)]
    order = ranked(table, metric)
    best = order.iloc[0] if len(order) else None
    conv = spec.get("conventions") or {}
    periods = conv.get("periods_per_year")
    dsr = deflated_best(table, best, periods if isinstance(periods, int | float) else None)
    keys = [metric] + [k for k in TOP_KEYS if k != metric and k in table.columns]
    top_rows = []
    for rank, (_, r) in enumerate(order.head(top).iterrows(), start=1):
        top_rows.append({"rank": rank, "params": [(n, _text(r[n])) for n in names],
                         "cells": [fmt(_num(r.get(k)), metric_kind(k)) for k in keys]})
    n_err = int(table["error"].astype(bool).sum()) if "error" in table.columns else 0
    return {
        "title": f"Sweep of {spec.get('strategy', 'a task')}",
        "spec": {k: spec.get(k) for k in ("data", "constraints", "random", "seed")},
        "metric": metric, "metric_label": LABELS.get(metric, (metric,))[0],
        "names": names, "keys": [LABELS.get(k, (k,))[0] for k in keys], "top": top_rows,
        "n_rows": len(table), "n_errors": n_err, "dsr": dsr,
        "dsr_text": {k: (fmt(v, "prob") if k == "deflated_sharpe" else fmt(v, "ratio"))
                     for k, v in dsr.items()},
        "best": None if best is None else [(n, _text(best[n])) for n in names],
        "heatmap": heatmap(table, axes[0], axes[1], metric) if len(axes) >= 2 else None,
        "sensitivity": sensitivity(table, swept, metric),
        "spec_rows": _spec_rows(spec),
        "spec_json": json.dumps({k: v for k, v in spec.items() if k != "identity"},
                                indent=1, default=str),
    }


def _spec_rows(spec: dict[str, Any]) -> list[tuple[str, str]]:
    axes = (spec.get("space") or {}).get("axes") or {}
    rows = [("strategy", spec.get("strategy_ref") or spec.get("strategy")),
            ("data", spec.get("data")),
            ("grid", "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in axes.items())),
            ("constraints", "; ".join(spec.get("constraints") or []) or "none"),
            ("fixed parameters", json.dumps(spec.get("params") or {})),
            ("engine options", json.dumps(spec.get("options") or {})),
            ("combinations", f"{spec.get('n_done')} of {spec.get('n_total')} done"
             f" ({spec.get('status')})"),
            ("executor", spec.get("executor")),
            ("elapsed", f"{spec.get('elapsed_s', 0.0):.1f} s")]
    if spec.get("random"):
        rows.insert(4, ("random search", f"{spec['random']} draws, seed {spec.get('seed')}"))
    return [(k, "" if v is None else str(v)) for k, v in rows]


def _num(v: Any) -> Any:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return f if math.isfinite(f) else None


def write_sweep_report(out_dir: str | Path, *, metric: str = "sharpe", x: str | None = None,
                       y: str | None = None, top: int = 20) -> Path:
    """(Re)build ``out_dir/report.html`` from ``results.parquet`` and ``sweep.json``."""
    out_dir = Path(out_dir)
    try:
        table = pd.read_parquet(out_dir / "results.parquet")
        spec = json.loads((out_dir / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"cannot read the sweep results: {exc}", file=str(out_dir),
                       fix="give the folder a sweep wrote (results.parquet, sweep.json)") from exc
    ctx = report_context(table, spec, metric=metric, x=x, y=y, top=top)
    html = environment().get_template("sweep.html.j2").render(**ctx)
    path = out_dir / "report.html"
    atomic_write_text(path, html)
    return path
