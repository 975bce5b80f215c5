"""How metrics are labelled, grouped and formatted in the HTML report and comparisons, and the
compact JSON used to embed tables in the page."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

# (key, label, format); groups keep returns-based, benchmark-relative and per-trade apart.
GROUPS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("returns", "Returns (per sampled period)", [
        ("total_return", "Total return", "pct"),
        ("cagr", "CAGR", "pct"),
        ("volatility", "Volatility (annual)", "pct"),
        ("sharpe", "Sharpe", "ratio"),
        ("sortino", "Sortino", "ratio"),
        ("calmar", "Calmar", "ratio"),
        ("omega", "Omega", "ratio"),
        ("max_drawdown", "Max drawdown", "pct"),
        ("max_drawdown_steps", "Max drawdown (every step)", "pct"),
        ("max_drawdown_duration_days", "Longest drawdown", "days"),
        ("avg_drawdown_duration_days", "Average drawdown", "days"),
        ("var", "VaR (historical)", "pct"),
        ("cvar", "CVaR (historical)", "pct"),
        ("skew", "Skew", "ratio"),
        ("kurtosis", "Excess kurtosis", "ratio"),
        ("best_period", "Best period", "pct"),
        ("worst_period", "Worst period", "pct"),
        ("best_month", "Best month", "pct"),
        ("worst_month", "Worst month", "pct"),
        ("probabilistic_sharpe", "Probabilistic Sharpe", "prob"),
        ("deflated_sharpe", "Deflated Sharpe", "prob"),
        ("n_trials", "Trials (for DSR)", "int"),
    ]),
    ("benchmark", "Relative to the benchmark", [
        ("benchmark_total_return", "Benchmark total return", "pct"),
        ("benchmark_cagr", "Benchmark CAGR", "pct"),
        ("benchmark_sharpe", "Benchmark Sharpe", "ratio"),
        ("benchmark_max_drawdown", "Benchmark max drawdown", "pct"),
        ("alpha", "Alpha (annual)", "pct"),
        ("beta", "Beta", "ratio"),
        ("information_ratio", "Information ratio", "ratio"),
        ("tracking_error", "Tracking error", "pct"),
        ("correlation", "Correlation", "ratio"),
    ]),
    ("trades", "Per closed trade", [
        ("n_trades", "Closed trades", "int"),
        ("n_open_trades", "Open trades", "int"),
        ("win_rate", "Win rate", "pct"),
        ("avg_win", "Average win", "money"),
        ("avg_loss", "Average loss", "money"),
        ("payoff_ratio", "Payoff ratio", "ratio"),
        ("profit_factor", "Profit factor", "ratio"),
        ("expectancy", "Expectancy", "money"),
        ("avg_trade_return", "Average trade return", "pct"),
        ("avg_holding_s", "Average holding time", "seconds"),
        ("max_consecutive_losses", "Longest losing streak", "int"),
    ]),
    ("activity", "Activity", [
        ("initial_equity", "Initial equity", "money"),
        ("final_equity", "Final equity", "money"),
        ("exposure", "Time in market", "pct"),
        ("avg_gross_exposure", "Average gross exposure", "pct"),
        ("turnover", "Turnover (annual)", "x"),
        ("fees_paid", "Fees paid", "money"),
    ]),
]

HEADLINE = ["total_return", "cagr", "sharpe", "sortino", "max_drawdown", "calmar", "volatility",
            "n_trades", "win_rate", "profit_factor", "exposure", "final_equity"]
LABELS = {k: (label, fmt) for _, _, items in GROUPS for k, label, fmt in items}


def seconds_text(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def fmt(value: Any, kind: str) -> str:
    """Text of a metric value; ``n/a`` for undefined."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == "pct":
        return f"{value * 100:.2f}%"
    if kind == "prob":
        return f"{value:.3f}"
    if kind == "ratio":
        return f"{value:.3f}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "days":
        return f"{value:,.1f} d"
    if kind == "seconds":
        return seconds_text(float(value))
    if kind == "x":
        return f"{value:.2f}x"
    return str(value)


def metric_rows(stats: dict, keys: list[str]) -> list[dict]:
    out = []
    for k in keys:
        label, kind = LABELS.get(k, (k, "ratio"))
        out.append({"key": k, "label": label, "text": fmt(stats.get(k), kind),
                    "sign": _sign(k, stats.get(k), kind)})
    return out


NEUTRAL = {"volatility", "benchmark_volatility", "tracking_error", "initial_equity",
           "final_equity", "win_rate", "exposure", "avg_gross_exposure", "fees_paid", "beta",
           "correlation", "payoff_ratio", "profit_factor", "skew", "kurtosis", "omega",
           "n_trades", "benchmark_total_return", "benchmark_cagr", "benchmark_sharpe"}


def _sign(key, v, kind) -> str:
    if key in NEUTRAL or kind not in ("pct", "ratio", "money") or v is None \
            or not isinstance(v, int | float):
        return ""
    return "pos" if v > 0 else "neg" if v < 0 else ""


def grouped_rows(stats: dict) -> list[dict]:
    return [{"id": gid, "title": title, "rows": metric_rows(stats, [k for k, _, _ in items])}
            for gid, title, items in GROUPS]


# --- compact column JSON for embedded tables ---------------------------------------------------


def _num_json(a: np.ndarray, digits: int = 8) -> str:
    a = np.asarray(a, dtype=np.float64)
    parts = [f"{x:.{digits}g}" if math.isfinite(x) else "null" for x in a.tolist()]
    return "[" + ",".join(parts) + "]"


def _time_unit(v: np.ndarray) -> int:
    """Coarsest of 1 s / 1 ms / 1 us (in microseconds) that represents every ns stamp exactly."""
    for unit in (1_000_000, 1_000):
        if v.size == 0 or not np.any(v % (unit * 1000)):
            return unit
    return 1


def _int_json(a: np.ndarray) -> str:
    return "[" + ",".join(str(int(x)) for x in a.tolist()) + "]"


def column_json(df: pd.DataFrame, spec: list[tuple[str, str, str]]) -> str:
    """Column-oriented JSON of the ``spec`` columns ``(name, label, type)`` present in ``df``.

    Types: ``time`` (int64 ns -> microseconds), ``num``, ``pct``, ``money``, ``int``, ``text``
    (strings; dictionary-encoded when repetitive), ``seconds``. The result is safe to place in a
    ``<script type="application/json">`` element (``<``, ``>``, ``&`` are escaped).
    """
    cols = []
    for name, label, kind in spec:
        if name not in df.columns:
            continue
        s = df[name]
        head = json.dumps({"name": name, "label": label, "type": kind})[:-1]
        if len(s) > 1 and kind != "time" and s.nunique(dropna=False) == 1:
            value = s.iloc[0]
            const = None if pd.isna(value) else (str(value) if kind == "text" else
                                                 float(f"{float(value):.8g}"))
            cols.append(f'{head}, "const": {json.dumps(const, ensure_ascii=False)}}}')
            continue
        if kind == "time":
            v = pd.to_numeric(s, errors="coerce")
            ok = v.notna().to_numpy()
            ints = v[ok].to_numpy().astype(np.int64)  # exact: no float64 round trip
            unit = _time_unit(ints)
            head = head + f', "unit": {unit}'
            parts = np.full(len(v), "null", dtype=object)
            parts[ok] = (ints // (1000 * unit)).astype(str)
            body = "[" + ",".join(parts.tolist()) + "]"
        elif kind == "text":
            text = s.astype(object).where(s.notna(), "").astype(str)
            cats, codes = np.unique(text.to_numpy(dtype=object), return_inverse=True)
            if len(cats) * 4 < len(text) + 1:
                body = f"{json.dumps(list(cats), ensure_ascii=False)}, \"codes\": {_int_json(codes)}"
                cols.append(f'{head}, "cats": {body}}}')
                continue
            body = json.dumps(list(text), ensure_ascii=False)
        elif kind == "int":
            body = _num_json(pd.to_numeric(s, errors="coerce").to_numpy(np.float64), 17)
        else:
            body = _num_json(pd.to_numeric(s, errors="coerce").to_numpy(np.float64))
        cols.append(f'{head}, "values": {body}}}')
    text = f'{{"n": {len(df)}, "cols": [{",".join(cols)}]}}'
    return script_safe(text)


def script_safe(json_text: str) -> str:
    """Escape a JSON text for an inline ``<script type="application/json">`` element."""
    return (json_text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def head_tail(df: pd.DataFrame | None, limit: int) -> tuple[pd.DataFrame | None, int]:
    """At most ``limit`` rows (first and last halves) and the number of rows left out."""
    if df is None or len(df) <= limit:
        return df, 0
    half = limit // 2
    return pd.concat([df.iloc[:half], df.iloc[-(limit - half):]]), len(df) - limit
