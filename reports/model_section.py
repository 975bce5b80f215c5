"""The report's model section, shown when the run folder has a ``model.json``
(written by :mod:`strategies.ml.pipeline`): out-of-sample metrics for the development and the
held-out forward-test periods, trading metrics of both periods, calibration, feature
importances, per-fold results and the leakage audit."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from reports import charts

CLASSIFIER_ROWS = [("n", "Predictions scored", "int"), ("base_rate", "Share of up labels", "pct"),
                   ("accuracy", "Accuracy", "pct"), ("majority_accuracy", "Accuracy of the majority class", "pct"),
                   ("balanced_accuracy", "Balanced accuracy", "pct"), ("auc", "ROC AUC", "num"),
                   ("log_loss", "Log loss", "num"), ("log_loss_base_rate", "Log loss of the base rate", "num"),
                   ("brier", "Brier score", "num"), ("mean_prob", "Mean predicted P(up)", "pct")]
REGRESSOR_ROWS = [("n", "Predictions scored", "int"), ("mae", "MAE", "num"), ("rmse", "RMSE", "num"),
                  ("rmse_zero", "RMSE of predicting 0", "num"), ("r2_vs_zero", "R² vs 0", "num"),
                  ("ic_spearman", "Information coefficient (Spearman)", "num"),
                  ("hit_rate", "Sign hit rate", "pct")]
TRADING_ROWS = [("start", "Start", "text"), ("end", "End", "text"),
                ("total_return", "Total return", "pct"), ("benchmark_total_return", "Buy & hold return", "pct"),
                ("cagr", "CAGR", "pct"), ("sharpe", "Sharpe", "num"), ("max_drawdown", "Max drawdown", "pct"),
                ("volatility", "Volatility (annual)", "pct")]


def fmt(v: Any, kind: str) -> str:
    if v is None or isinstance(v, float) and not math.isfinite(v):
        return "—"
    if kind == "pct":
        return f"{100 * float(v):.2f}%"
    if kind == "int":
        return f"{int(v):,}"
    if kind == "num":
        return f"{float(v):.4f}"
    return str(v)[:19].replace("T", " ") if kind == "text" else str(v)


def _table(rows, blocks: dict[str, dict | None]) -> list[dict[str, Any]]:
    return [{"label": label, "cells": [fmt((b or {}).get(key), kind) for b in blocks.values()]}
            for key, label, kind in rows]


@charts.styled
def calibration_chart(blocks: dict[str, dict], task: str) -> str | None:
    fig = Figure(figsize=(charts.WIDTH * 0.5, 3.4), dpi=72)
    ax = fig.add_subplot(1, 1, 1)
    any_ = False
    for (name, b), color in zip(blocks.items(), (charts.BLUE, charts.ORANGE), strict=False):
        cal = (b or {}).get("calibration") or []
        if not cal:
            continue
        any_ = True
        x = [c["mean_pred"] for c in cal]
        y = [c["observed"] for c in cal]
        ax.plot(x, y, "o-", color=color, label=charts.safe_label(name), ms=4, lw=1.2)
    if not any_:
        return None
    lo, hi = ax.get_xlim()
    lo, hi = min(lo, ax.get_ylim()[0]), max(hi, ax.get_ylim()[1])
    ax.plot([lo, hi], [lo, hi], color=charts.GREY, lw=0.8, ls="--", label="perfect")
    ax.set_xlabel("mean predicted P(up)" if task == "classification" else "mean predicted return")
    ax.set_ylabel("observed frequency" if task == "classification" else "mean realised return")
    ax.legend(loc="upper left")
    fig.subplots_adjust(left=0.16, right=0.98, top=0.95, bottom=0.16)
    return charts.render(fig, "mlcal")


@charts.styled
def importance_chart(imp: dict[str, float] | None, title: str, salt: str) -> str | None:
    if not imp:
        return None
    names = list(imp)[:20][::-1]
    vals = np.array([imp[n] for n in names], dtype=np.float64)
    fig = Figure(figsize=(charts.WIDTH * 0.5, 0.22 * len(names) + 0.9), dpi=72)
    ax = fig.add_subplot(1, 1, 1)
    ax.barh(range(len(names)), vals, color=np.where(vals >= 0, charts.BLUE, charts.RED))
    ax.set_yticks(range(len(names)), [charts.safe_label(n) for n in names])
    ax.set_xlabel(charts.safe_label(title))
    fig.subplots_adjust(left=0.3, right=0.98, top=0.97, bottom=0.6 / (0.22 * len(names) + 0.9))
    return charts.render(fig, salt)


def model_context(run_dir: Path) -> dict[str, Any] | None:
    """Template context of the model section, or None when there is no model.json."""
    path = Path(run_dir) / "model.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        ev = doc["evaluation"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {"error": f"model.json could not be read: {exc}"}
    task = ev.get("task", "classification")
    blocks = {"development (walk-forward)": ev.get("development"),
              "forward test (held out)": ev.get("forward_test")}
    trading = ev.get("trading") or {}
    fold_keys = (["accuracy", "auc", "log_loss", "base_rate"] if task == "classification"
                 else ["mae", "rmse", "ic_spearman", "hit_rate"])
    folds = [{"fold": f.get("fold"), "symbols": ", ".join(f.get("symbols", [])),
              "start": fmt(f.get("test_start"), "text"), "end": fmt(f.get("test_end"), "text"),
              "n_train": fmt(f.get("n_train"), "int"), "n_test": fmt(f.get("n_test"), "int"),
              "cells": [fmt(f.get(k), "pct" if k in ("accuracy", "base_rate", "hit_rate")
                            else "num") for k in fold_keys]}
             for f in ev.get("folds", [])]
    keys = ([("n", "int"), ("base_rate", "pct"), ("accuracy", "pct"), ("auc", "num"),
             ("log_loss", "num")] if task == "classification"
            else [("n", "int"), ("mae", "num"), ("rmse", "num"), ("ic_spearman", "num")])
    per_symbol = [{"symbol": sym, "cells": [fmt(m.get(k), kind) for k, kind in keys]}
                  for sym, m in (ev.get("per_symbol") or {}).items()]
    audit = doc.get("audit")
    spec = doc.get("model", {})
    return {
        "error": None,
        "task": task,
        "estimator": (spec.get("estimator") or {}).get("class", ""),
        "label": spec.get("label", {}),
        "walk_forward": spec.get("walk_forward", {}),
        "features": doc.get("features", []),
        "first_test": fmt(doc.get("first_test"), "text"),
        "forward_start": fmt(doc.get("forward_test_start"), "text"),
        "n_folds": doc.get("n_folds", 0),
        "columns": list(blocks),
        "metric_rows": _table(CLASSIFIER_ROWS if task == "classification" else REGRESSOR_ROWS,
                              blocks),
        "trading_columns": ["development", "forward test"],
        "trading_rows": _table(TRADING_ROWS, {"d": trading.get("development"),
                                              "f": trading.get("forward_test")}),
        "calibration_svg": calibration_chart({k: v for k, v in blocks.items() if v}, task),
        "importance_svg": importance_chart(ev.get("importance"), "mean importance (model's own)",
                                           "mlimp"),
        "permutation_svg": importance_chart(ev.get("permutation_importance"),
                                            "out-of-sample loss increase when shuffled", "mlperm"),
        "fold_keys": fold_keys,
        "per_symbol_keys": [k for k, _ in keys],
        "per_symbol": per_symbol,
        "folds": folds,
        "audit": None if audit is None else {
            "ok": bool(audit.get("ok")), "n_cuts": audit.get("n_cuts"),
            "compared": fmt(audit.get("compared"), "int"), "leaks": audit.get("leaks", {}),
            "cuts": [(c.get("cut", ""), c.get("ok"), c.get("max_diff")) for c in audit.get("cuts", [])]},
        "book": doc.get("book"),
        "develop_only": bool(doc.get("develop_only")),
    }
