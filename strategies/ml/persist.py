"""Models as JSON, never as pickles.

A fitted scikit-learn model is code plus arrays; unpickling a file runs whatever it says, so a
model file from elsewhere would be a way to run code on your machine. tapereader stores what
defines a model instead — the estimator's class (from scikit-learn only), its parameters, the
features, the label and the training window — and rebuilds it by refitting on the same data
(deterministic: fixed seeds). :func:`load_model` refuses classes outside ``sklearn.`` and any
parameter that is not a plain JSON value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError, DataError

_PLAIN = (str, int, float, bool, type(None))


def _public(cls: type) -> str:
    """``sklearn.linear_model.Ridge`` for ``sklearn.linear_model._ridge.Ridge``."""
    parts = [p for p in cls.__module__.split(".") if not p.startswith("_")]
    return ".".join([*parts, cls.__qualname__])


def _class_path(obj) -> str:
    return _public(type(obj))


def estimator_spec(est) -> dict[str, Any]:
    """{"class": "sklearn....", "params": {...}} of an unfitted estimator (pipelines nested)."""
    if hasattr(est, "steps"):
        return {"class": "sklearn.pipeline.Pipeline",
                "steps": [estimator_spec(step) for _, step in est.steps]}
    params = {k: v for k, v in est.get_params(deep=False).items()}
    bad = {k: type(v).__name__ for k, v in params.items() if not isinstance(v, _PLAIN)}
    if bad:
        raise ConfigError("estimator parameters must be plain values to be saved as JSON",
                          argument="estimator", value=bad,
                          fix="use numbers/strings/booleans as parameters")
    return {"class": _class_path(est), "params": params}


def estimator_from_spec(spec: dict[str, Any]):
    """Rebuild an unfitted estimator from :func:`estimator_spec` (scikit-learn classes only)."""
    from sklearn.base import BaseEstimator
    from sklearn.pipeline import make_pipeline

    cls_path = spec.get("class", "")
    if cls_path == "sklearn.pipeline.Pipeline":
        return make_pipeline(*[estimator_from_spec(s) for s in spec.get("steps", [])])
    if not isinstance(cls_path, str) or not cls_path.startswith("sklearn.") or ".." in cls_path:
        raise DataError("model class is not a scikit-learn estimator", argument="class",
                        value=cls_path, fix="model files may only name sklearn.* estimators")
    cls = _sklearn_estimators().get(cls_path)  # an allow-list: nothing is imported by name
    if cls is None or not issubclass(cls, BaseEstimator):
        raise DataError("unknown model class", argument="class", value=cls_path,
                        fix="model files may only name scikit-learn estimators of this version")
    params = spec.get("params", {})
    if not isinstance(params, dict) or not all(isinstance(v, _PLAIN) for v in params.values()):
        raise DataError("model parameters must be plain JSON values", argument="params",
                        value=params, fix="edit the model file")
    return cls(**params)


def _sklearn_estimators() -> dict[str, type]:
    """Every estimator class scikit-learn lists, by ``module.QualName``."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    out = {}
    for _, c in all_estimators():
        out[f"{c.__module__}.{c.__qualname__}"] = c
        out[_public(c)] = c
    return {k: c for k, c in out.items() if c is not Pipeline}  # rebuilt from its steps


def model_spec(cfg, task: str) -> dict[str, Any]:
    """model.json's ``model`` block: estimator spec, label, schedule, features."""
    from strategies.ml.model import make_estimator, seed_estimator

    est = seed_estimator(make_estimator(cfg.estimator, task, cfg.estimator_params), cfg.seed)
    return {
        "task": task,
        "estimator": estimator_spec(est),
        "seed_rule": "fold k uses seed + k",
        "seed": cfg.seed,
        "label": {"kind": cfg.label, "horizon": cfg.horizon, "threshold": cfg.label_threshold,
                  "barrier_up": cfg.barrier_up, "barrier_down": cfg.barrier_down,
                  "vol_window": cfg.vol_window},
        "walk_forward": {"first_test": cfg.first_test, "retrain_every": cfg.retrain_every,
                         "embargo": cfg.embargo, "window": cfg.window,
                         "train_bars": cfg.train_bars, "min_train": cfg.min_train,
                         "pooled": cfg.pooled, "forward_test": cfg.forward_test},
        "positions": {"rule": cfg.rule, "upper": cfg.upper, "lower": cfg.lower,
                      "min_edge": cfg.min_edge, "long_only": cfg.long_only,
                      "leverage": cfg.leverage, "smooth": cfg.smooth},
        "features": {"bar": list(cfg.features.bar),
                     "mtf": {r: list(n) for r, n in cfg.features.mtf},
                     "tz": cfg.features.tz, "custom": list(cfg.features.custom)},
    }


def load_model(path: str | Path) -> tuple[dict[str, Any], Any]:
    """Read model.json; return (document, unfitted estimator). Refit it with
    :func:`strategies.ml.model.walk_forward_predict` (same config) or on your own data."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the model file: {exc}", file=str(path),
                        fix="pass the model.json of a run folder") from None
    if not isinstance(doc, dict) or doc.get("format") != "tapereader.ml.v1":
        raise DataError("not a tapereader model file", file=str(path), argument="format",
                        value=doc.get("format") if isinstance(doc, dict) else None,
                        fix="pass the model.json written by `tape ml run`")
    return doc, estimator_from_spec(doc["model"]["estimator"])


def refit_final(panel, cfg):
    """Fit the model on every sample whose label is known at the end of ``panel`` (what a live
    deployment would start from). Returns the fitted estimator."""
    from strategies.ml.model import make_estimator, panel_samples, seed_estimator

    ts, symbols, X, Y, E, task = panel_samples(panel, cfg)
    k = X.shape[2]
    Xs, ys, end = X.reshape(-1, k), Y.reshape(-1), E.reshape(-1)
    ok = np.isfinite(Xs).all(axis=1) & np.isfinite(ys) & (end < len(ts))
    est = seed_estimator(make_estimator(cfg.estimator, task, cfg.estimator_params), cfg.seed)
    return est.fit(Xs[ok], ys[ok])
