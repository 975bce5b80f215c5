"""Out-of-sample evaluation of walk-forward predictions (what goes into model.json).

Only bars that were predicted by a model trained before them *and* whose label is known count.
The development period (walk-forward, before ``forward_start``) and the held-out forward-test
period (the last bars, never used to choose anything) are reported separately, with the base
rate (share of up labels) next to the accuracy so a model that only learned the drift is seen
as such.

Classifiers: accuracy, balanced accuracy, ROC AUC, log loss (and the log loss of always
predicting the training base rate), Brier score, calibration (10 equal-width probability bins:
mean predicted vs observed frequency). Regressors: MAE, RMSE, R² against zero, information
coefficient (Spearman rank correlation of prediction and outcome), hit rate of the sign, and
calibration by prediction decile.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    n = len(y)
    if n == 0:
        return {"n": 0}
    pc = np.clip(p, 1e-12, 1 - 1e-12)
    base = float(y.mean())
    bc = np.clip(base, 1e-12, 1 - 1e-12)
    both = 0 < y.sum() < n
    pred = (p > 0.5).astype(float)
    return {
        "n": n,
        "base_rate": base,
        "accuracy": float((pred == y).mean()),
        "majority_accuracy": max(base, 1 - base),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if both else None,
        "auc": float(roc_auc_score(y, p)) if both else None,
        "log_loss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
        "log_loss_base_rate": float(-np.mean(y * np.log(bc) + (1 - y) * np.log(1 - bc))),
        "brier": float(np.mean((p - y) ** 2)),
        "mean_prob": float(p.mean()),
        "calibration": calibration_bins(y, p),
    }


def calibration_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    k = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        sel = k == b
        if sel.any():
            out.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": int(sel.sum()),
                        "mean_pred": float(p[sel].mean()), "observed": float(y[sel].mean())})
    return out


def regression_metrics(y: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    from scipy.stats import spearmanr

    n = len(y)
    if n == 0:
        return {"n": 0}
    err = s - y
    out = {
        "n": n,
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "rmse_zero": float(np.sqrt((y**2).mean())),  # predicting no move
        "r2_vs_zero": _finite(1.0 - (err**2).sum() / (y**2).sum()) if (y**2).sum() > 0 else None,
        "ic_spearman": _finite(spearmanr(s, y).statistic) if n > 2 and np.ptp(s) > 0 else None,
        "hit_rate": float((np.sign(s) == np.sign(y)).mean()),
    }
    q = np.quantile(s, np.linspace(0, 1, 11))
    k = np.clip(np.searchsorted(q[1:-1], s, side="right"), 0, 9)
    out["calibration"] = [{"decile": int(b), "n": int((k == b).sum()),
                           "mean_pred": float(s[k == b].mean()),
                           "observed": float(y[k == b].mean())}
                          for b in range(10) if (k == b).any()]
    return out


def metrics(y: np.ndarray, s: np.ndarray, task: str) -> dict[str, Any]:
    ok = np.isfinite(y) & np.isfinite(s)
    y, s = y[ok], s[ok]
    return classification_metrics(y, s) if task == "classification" else regression_metrics(y, s)


def evaluate(pred, *, period_returns: dict | None = None) -> dict[str, Any]:
    """model.json's evaluation block for a :class:`strategies.ml.model.Predictions`."""
    n = len(pred.ts)
    bar = np.arange(n)[:, None] * np.ones(len(pred.symbols), dtype=np.int64)
    dev = bar < pred.forward_start
    out: dict[str, Any] = {
        "task": pred.task,
        "development": metrics(pred.label[dev], pred.score[dev], pred.task),
        "forward_test": metrics(pred.label[~dev], pred.score[~dev], pred.task),
    }
    if len(pred.symbols) > 1:
        out["per_symbol"] = {s: metrics(pred.label[:, j], pred.score[:, j], pred.task)
                             for j, s in enumerate(pred.symbols)}
    folds = []
    for row in pred.folds:
        sel = (pred.fold == row["fold"])
        cols = [pred.symbols.index(s) for s in row["symbols"]]
        sel[:, [j for j in range(len(pred.symbols)) if j not in cols]] = False
        m = metrics(pred.label[sel], pred.score[sel], pred.task)
        m.pop("calibration", None)
        folds.append({**{k: v for k, v in row.items() if k not in ("importance", "permutation")},
                      **m})
    out["folds"] = folds
    out["importance"] = _mean_importance(pred, "importance")
    out["permutation_importance"] = _mean_importance(pred, "permutation")
    if period_returns:
        out["trading"] = period_returns
    return out


def _mean_importance(pred, key: str) -> dict[str, float] | None:
    rows = [(r[key], r["n_test"]) for r in pred.folds if r.get(key) is not None]
    if not rows:
        return None
    w = np.array([n for _, n in rows], dtype=np.float64)
    if key == "importance":
        mat = np.array([[d[nm] for nm in pred.names] for d, _ in rows])
    else:
        mat = np.array([v for v, _ in rows])
    avg = (mat * w[:, None]).sum(axis=0) / max(w.sum(), 1.0)
    return dict(sorted(zip(pred.names, avg.tolist(), strict=True), key=lambda kv: -kv[1]))
