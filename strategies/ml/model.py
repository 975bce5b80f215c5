"""The ML signal model: scikit-learn estimators trained walk-forward on causal features.

:func:`walk_forward_predict` takes one or more symbols' bars, computes features
(:mod:`strategies.ml.features`) and labels (:mod:`strategies.ml.labels`), lays out purged and
embargoed walk-forward folds (:mod:`strategies.ml.splits`), fits a fresh estimator per fold
(seed ``seed + fold``) — one model pooled over all symbols or one per symbol — and predicts each
test block. Scores become positions through :func:`positions`.

Estimators are named (``random_forest`` default, ``extra_trees``, ``gradient_boosting``,
``logistic``/``linear``) or any scikit-learn estimator instance (cloned per fold). Models are
never pickled: :mod:`strategies.ml.persist` stores the estimator's class and parameters as JSON
and refits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from data.errors import ConfigError
from strategies.ml.features import FeatureSet, compute_features
from strategies.ml.labels import make_labels
from strategies.ml.splits import Fold, walk_forward

# name -> (classifier, regressor, default parameters); class names in sklearn.ensemble /
# sklearn.linear_model, looked up as attributes of those two modules (no dynamic imports)
ESTIMATORS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "random_forest": ("RandomForestClassifier", "RandomForestRegressor",
                      {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 50, "n_jobs": 1}),
    "extra_trees": ("ExtraTreesClassifier", "ExtraTreesRegressor",
                    {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 50, "n_jobs": 1}),
    "gradient_boosting": ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
                          {"max_iter": 100, "learning_rate": 0.05, "max_depth": 3,
                           "early_stopping": False}),
    "logistic": ("LogisticRegression", "Ridge", {"C": 1.0}),
    "linear": ("LogisticRegression", "Ridge", {"alpha": 1.0}),
}
RULES = ("threshold", "linear")


def _load_class(name: str):
    from sklearn import ensemble, linear_model

    return getattr(ensemble, name, None) or getattr(linear_model, name)


def make_estimator(name: str | Any, task: str, params: Mapping[str, Any] | None = None):
    """A fresh (unfitted) estimator: a registry name or an estimator instance (cloned)."""
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not isinstance(name, str):
        if not hasattr(name, "fit"):
            raise ConfigError("estimator must be a name or a scikit-learn estimator",
                              argument="estimator", value=type(name).__name__,
                              fix=f"use one of {sorted(ESTIMATORS)} or e.g. RandomForestClassifier()")
        from sklearn.base import is_classifier, is_regressor

        est = clone(name)
        want = is_classifier if task == "classification" else is_regressor
        if not want(est):
            raise ConfigError(f"the label needs a {task} estimator", argument="estimator",
                              value=type(est).__name__,
                              fix="use a classifier for direction / triple_barrier labels and "
                                  "a regressor for the return label")
        return est.set_params(**params) if params else est
    if name not in ESTIMATORS:
        raise ConfigError("unknown estimator", argument="estimator", value=name,
                          fix=f"use one of {sorted(ESTIMATORS)} or pass an estimator instance")
    clf, reg, defaults = ESTIMATORS[name]
    cls = _load_class(clf if task == "classification" else reg)
    kw = dict(defaults)
    if name in ("logistic", "linear"):  # the two share defaults; keep only what the class takes
        kw = {"C": 1.0} if task == "classification" else {"alpha": 1.0}
        kw.update({k: v for k, v in (params or {}).items()})
        return make_pipeline(StandardScaler(), cls(**kw))  # scaler fitted on training folds only
    kw.update(params or {})
    try:
        return cls(**kw)
    except TypeError as exc:
        raise ConfigError(f"bad estimator parameter: {exc}", argument="estimator_params",
                          value=dict(params or {}), fix=f"see {cls.__name__}'s parameters") from None


def seed_estimator(est, seed: int):
    """Set every ``random_state`` parameter (also inside pipelines) to ``seed``."""
    keys = [k for k in est.get_params() if k == "random_state" or k.endswith("__random_state")]
    if keys:
        est.set_params(**dict.fromkeys(keys, int(seed)))
    return est


@dataclass(frozen=True)
class MLConfig:
    """Everything that defines the model and its walk-forward schedule (all plain values, so it
    goes into the run config and model.json)."""

    features: FeatureSet = field(default_factory=FeatureSet)
    label: str = "direction"
    horizon: int = 4
    label_threshold: float = 0.0
    barrier_up: float = 1.0
    barrier_down: float = 1.0
    vol_window: int = 24
    estimator: Any = "random_forest"
    estimator_params: Mapping[str, Any] = field(default_factory=dict)
    first_test: int | float = 0.3  # bar index, or a fraction of the bars
    retrain_every: int = 500
    embargo: int = 0
    window: str = "expanding"
    train_bars: int = 0
    min_train: int = 200
    pooled: bool = True
    seed: int = 0
    rule: str = "threshold"
    upper: float = 0.55
    lower: float = 0.45
    min_edge: float = 0.0
    long_only: bool = False
    leverage: float = 1.0
    smooth: int = 1  # positions from the mean score of the last `smooth` bars (causal)
    forward_test: int | float = 0.2  # last bars held out: a count, or a fraction of the bars
    importance: bool = False  # out-of-sample permutation importance per fold (slower)

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ConfigError("unknown position rule", argument="rule", value=self.rule,
                              fix=f"use one of {RULES}")
        if not (0.0 <= self.lower <= 0.5 <= self.upper <= 1.0) or self.lower == self.upper:
            raise ConfigError("thresholds must satisfy 0 <= lower <= 0.5 <= upper <= 1",
                              argument="upper/lower", value=(self.lower, self.upper),
                              fix="e.g. upper=0.55, lower=0.45")

    def bars_index(self, value: int | float, n: int, argument: str) -> int:
        if isinstance(value, float) and 0.0 <= value < 1.0:
            return int(round(value * n))
        if isinstance(value, int | np.integer) and value >= 0:
            return int(value)
        raise ConfigError("give a bar count or a fraction in [0, 1)", argument=argument,
                          value=value, fix="e.g. 0.3 or 2000")


@dataclass
class Predictions:
    """Walk-forward output on the common timeline ``ts`` [bars] x ``symbols``."""

    ts: np.ndarray
    symbols: list[str]
    names: list[str]
    task: str
    score: np.ndarray  # P(up) (classification) or predicted return; NaN: no prediction
    label: np.ndarray  # realised label (NaN where unknown)
    fold: np.ndarray  # int fold number, -1 where no prediction
    position: np.ndarray  # target fraction of equity per symbol
    folds: list[dict]  # per fold: dates, sizes, importances
    forward_start: int  # first bar of the held-out forward-test period
    X: np.ndarray | None = None  # features [bars, symbols, k] (kept for the audit)


def panel_samples(panel: Mapping[str, np.ndarray], cfg: MLConfig):
    """Features and labels of every (bar, symbol) on the union timeline."""
    symbols = list(panel)
    ts = np.unique(np.concatenate([np.asarray(panel[s]["ts"]) for s in symbols]))
    n, m, k = len(ts), len(symbols), len(cfg.features.names)
    X = np.full((n, m, k), np.nan)
    Y = np.full((n, m), np.nan)
    E = np.full((n, m), np.iinfo(np.int64).max, dtype=np.int64)
    task = "classification"
    for j, s in enumerate(symbols):
        b = panel[s]
        pos = np.searchsorted(ts, b["ts"])
        X[pos, j] = compute_features(b, cfg.features)
        y, end, task = make_labels(b, cfg.label, cfg.horizon, threshold=cfg.label_threshold,
                                   up=cfg.barrier_up, down=cfg.barrier_down,
                                   vol_window=cfg.vol_window)
        Y[pos, j] = y
        ok = end < len(b)
        E[pos[ok], j] = pos[end[ok]]  # label end in the common timeline
    return ts, symbols, X, Y, E, task


def walk_forward_predict(panel: Mapping[str, np.ndarray], cfg: MLConfig, *,
                         keep_features: bool = False) -> Predictions:
    """Fit per fold and predict each test block (see the module docstring)."""
    ts, symbols, X, Y, E, task = panel_samples(panel, cfg)
    n, m, k = X.shape
    first = max(cfg.bars_index(cfg.first_test, n, "first_test"), 1)
    fwd = n - cfg.bars_index(cfg.forward_test, n, "forward_test")
    score = np.full((n, m), np.nan)
    fold_of = np.full((n, m), -1, dtype=np.int64)
    groups = [list(range(m))] if cfg.pooled else [[j] for j in range(m)]
    fold_rows: list[dict] = []
    rng = np.random.default_rng(cfg.seed)
    for cols in groups:
        Xs = X[:, cols].reshape(-1, k)
        ys = Y[:, cols].reshape(-1)
        bar = np.repeat(np.arange(n), len(cols))
        end = E[:, cols].reshape(-1)
        good_x = np.isfinite(Xs).all(axis=1)
        usable = good_x & np.isfinite(ys)
        folds = walk_forward(bar, end, n, first_test=first, retrain_every=cfg.retrain_every,
                             embargo=cfg.embargo, window=cfg.window, train_bars=cfg.train_bars,
                             usable=usable, min_train=cfg.min_train)
        score_flat = np.full(len(ys), np.nan)  # sample order: bar-major, then symbol
        fold_flat = np.full(len(ys), -1, dtype=np.int64)
        for f in folds:
            test = f.test[good_x[f.test]]
            est = seed_estimator(make_estimator(cfg.estimator, task, cfg.estimator_params),
                                 cfg.seed + f.k)
            est.fit(Xs[f.train], ys[f.train])
            score_flat[test] = _predict(est, Xs[test], task)
            fold_flat[test] = f.k
            row = _fold_row(f, ts, symbols, cols, len(test), est, task, cfg.features.names)
            if cfg.importance:
                lab = test[np.isfinite(ys[test])]
                row["permutation"] = _permutation(est, Xs[lab], ys[lab], task, rng)
            fold_rows.append(row)
        score[:, cols] = score_flat.reshape(n, len(cols))
        fold_of[:, cols] = fold_flat.reshape(n, len(cols))
    pos = positions(score, task, cfg)
    return Predictions(ts, symbols, list(cfg.features.names), task, score, Y, fold_of, pos,
                       fold_rows, fwd, X if keep_features else None)


def _predict(est, X: np.ndarray, task: str) -> np.ndarray:
    if len(X) == 0:
        return np.empty(0)
    if task == "regression":
        return np.asarray(est.predict(X), dtype=np.float64)
    classes = list(getattr(est, "classes_", []))
    if 1.0 in classes and len(classes) > 1:
        return est.predict_proba(X)[:, classes.index(1.0)].astype(np.float64)
    return np.full(len(X), float(classes[0]) if classes else 0.5)  # one class seen in training


def _fold_row(f: Fold, ts, symbols, cols, n_test, est, task, names) -> dict:
    from reports.timeutil import iso

    row = {"fold": f.k, "symbols": [symbols[c] for c in cols],
           "test_start": iso(int(ts[f.test_start])), "test_end": iso(int(ts[f.test_stop - 1])),
           "test_start_bar": f.test_start, "test_stop_bar": f.test_stop,
           "n_train": int(len(f.train)), "n_test": int(n_test)}
    imp = _importances(est, len(names))
    if imp is not None:
        row["importance"] = dict(zip(names, imp.tolist(), strict=True))
    return row


def _importances(est, k: int) -> np.ndarray | None:
    last = est.steps[-1][1] if hasattr(est, "steps") else est
    if hasattr(last, "feature_importances_"):
        return np.asarray(last.feature_importances_, dtype=np.float64)
    coef = getattr(last, "coef_", None)
    if coef is not None:
        a = np.abs(np.asarray(coef, dtype=np.float64)).reshape(-1, k).mean(axis=0)
        return a / a.sum() if a.sum() > 0 else a
    return None


def _loss(y, s, task) -> float:
    if task == "regression":
        return float(np.mean((y - s) ** 2))
    p = np.clip(s, 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _permutation(est, X, y, task, rng) -> list[float] | None:
    """Increase of the test loss (log loss / MSE) when each feature is shuffled."""
    if len(y) < 10:
        return None
    base = _loss(y, _predict(est, X, task), task)
    out = []
    for c in range(X.shape[1]):
        Xp = X.copy()
        Xp[:, c] = Xp[rng.permutation(len(Xp)), c]
        out.append(_loss(y, _predict(est, Xp, task), task) - base)
    return out


def _trailing_mean(s: np.ndarray, k: int) -> np.ndarray:
    """Mean of the finite values among the last k rows (NaN where none); causal."""
    two = s.reshape(len(s), -1)
    ok = np.isfinite(two)
    c = np.vstack([np.zeros((1, two.shape[1])), np.cumsum(np.where(ok, two, 0.0), axis=0)])
    n = np.vstack([np.zeros((1, two.shape[1])), np.cumsum(ok, axis=0)])
    lo = np.maximum(np.arange(1, len(s) + 1) - k, 0)
    hi = np.arange(1, len(s) + 1)
    cnt = n[hi] - n[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (c[hi] - c[lo]) / cnt
    out[(cnt == 0) | ~ok] = np.nan  # no position where the model made no prediction
    return out.reshape(s.shape)


def positions(score: np.ndarray, task: str, cfg: MLConfig) -> np.ndarray:
    """Target fraction of equity per bar and symbol from the model's score.

    Classification (score = P(up)): ``threshold`` -> +1 above ``upper``, -1 below ``lower``
    (0 when ``long_only``), else 0; ``linear`` -> (p - 0.5) / (upper - 0.5) clipped to [-1, 1].
    Regression (score = predicted return): +1 / -1 when |score| > ``min_edge``; ``linear``
    scales by ``min_edge`` (or the score's sign when min_edge is 0). Then x ``leverage`` /
    number of symbols; 0 where there is no prediction. With ``smooth`` > 1 the score is first
    averaged over the last ``smooth`` bars (those with a prediction): fewer flips, less cost.
    """
    s = np.asarray(score, dtype=np.float64)
    if cfg.smooth > 1:
        s = _trailing_mean(s, cfg.smooth)
    with np.errstate(invalid="ignore", divide="ignore"):
        if task == "classification":
            if cfg.rule == "threshold":
                p = np.where(s > cfg.upper, 1.0, np.where(s < cfg.lower, -1.0, 0.0))
            else:
                p = np.clip((s - 0.5) / max(cfg.upper - 0.5, 1e-12), -1.0, 1.0)
        else:
            if cfg.rule == "threshold" or cfg.min_edge == 0:
                p = np.where(np.abs(s) > cfg.min_edge, np.sign(s), 0.0)
            else:
                p = np.clip(s / cfg.min_edge, -1.0, 1.0)
    p[~np.isfinite(s)] = 0.0
    if cfg.long_only:
        p = np.maximum(p, 0.0)
    m = s.shape[1] if s.ndim == 2 else 1
    return p * cfg.leverage / m
