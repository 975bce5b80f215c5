"""``ml_signal``: a strategy whose targets come from a walk-forward trained scikit-learn model.

Everything happens in the compiled path's ``targets(data)``: features, labels, purged walk-forward
fits and predictions over the whole series (each prediction uses only bars up to its own time:
the leakage audit proves it), then positions as fractions of equity, sent as percent targets
and filled at the next bar (``fill_at``) by the core's kernels.

Times: features on coarser timeframes (``mtf``) and the fold dates need the bars' close times.
``targets`` takes them from ``data["ts"]`` (the engine passes them), else from
:meth:`MLSignal.bind`; without either the bar number stands in for time and ``mtf`` is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from data.errors import StrategyError
from data.schema import BAR
from strategies.base import Param, Strategy
from strategies.ml.features import DEFAULT_FEATURES, FeatureSet
from strategies.ml.labels import LABELS
from strategies.ml.model import ESTIMATORS, RULES, MLConfig, walk_forward_predict
from strategies.ml.splits import WINDOWS


class MLSignal(Strategy):
    name = "ml_signal"
    about = "walk-forward scikit-learn model on causal features -> target positions"
    features: str = Param(",".join(DEFAULT_FEATURES), help="bar features, comma-separated")
    mtf: str = Param("", help='multi-timeframe features, e.g. "4h:ret_1,rsi_14;D:ret_1"')
    tz: str = Param("UTC", help="time zone of calendar multi-timeframe bins (D, W)")
    label: str = Param("direction", choices=LABELS, help="label kind")
    horizon: int = Param(4, min=1, help="label horizon (bars)")
    label_threshold: float = Param(0.0, help="direction label: return must exceed this")
    barrier_up: float = Param(1.0, min=0.0, help="triple barrier: upper width (x volatility)")
    barrier_down: float = Param(1.0, min=0.0, help="triple barrier: lower width (x volatility)")
    vol_window: int = Param(24, min=2, help="triple barrier: volatility window (bars)")
    estimator: str = Param("random_forest", choices=tuple(ESTIMATORS), help="model")
    n_estimators: int = Param(100, min=1, help="trees / boosting iterations")
    max_depth: int = Param(6, min=1, help="tree depth")
    min_samples_leaf: int = Param(50, min=1, help="tree leaf size")
    c: float = Param(1.0, min=0.0, help="logistic C / ridge 1/alpha")
    first_test: float = Param(0.3, min=0.0, help="first test bar (fraction < 1, or bar count)")
    retrain_every: int = Param(500, min=1, help="bars per test block (retrain period)")
    embargo: int = Param(0, min=0, help="bars dropped before each test block")
    window: str = Param("expanding", choices=WINDOWS, help="training window")
    train_bars: int = Param(0, min=0, help="rolling window length (bars)")
    min_train: int = Param(200, min=1, help="fewest training samples for a fold")
    pooled: bool = Param(True, help="one model over all symbols (False: one per symbol)")
    rule: str = Param("threshold", choices=RULES, help="score -> position rule")
    upper: float = Param(0.55, min=0.5, max=1.0, help="go long above this probability")
    lower: float = Param(0.45, min=0.0, max=0.5, help="go short below this probability")
    min_edge: float = Param(0.0, min=0.0, help="regression: smallest |predicted return| traded")
    long_only: bool = Param(False, help="never short")
    leverage: float = Param(1.0, min=0.0, help="gross target per unit position")
    smooth: int = Param(1, min=1, help="average the score over the last N bars first")
    forward_test: float = Param(0.2, min=0.0, help="held-out last bars (fraction < 1, or count)")
    importance: bool = Param(False, help="out-of-sample permutation importance (slower)")
    seed: int = Param(0, help="random seed (fold k uses seed + k)")

    _times: np.ndarray | None = None
    _custom: dict | None = None
    _symbols: list | None = None
    _prepared: dict | None = None
    predictions = None  # strategies.ml.model.Predictions of the last targets() call

    def bind(self, ts: np.ndarray | None = None, custom: dict | None = None,
             symbols: list[str] | None = None) -> MLSignal:
        """Give the bars' close times (when the engine does not pass ``data["ts"]``), extra
        feature callables ``{name: f(bars)}`` (order-book features) and symbol names.
        Returns self."""
        self._times = None if ts is None else np.asarray(ts, dtype=np.int64)
        self._custom = dict(custom or {})
        self._symbols = None if symbols is None else list(symbols)
        return self

    def config(self) -> MLConfig:
        fs = FeatureSet.parse(self.features, self.mtf, self.tz, self._custom)
        return MLConfig(features=fs, label=self.label, horizon=self.horizon,
                        label_threshold=self.label_threshold, barrier_up=self.barrier_up,
                        barrier_down=self.barrier_down, vol_window=self.vol_window,
                        estimator=self.estimator, estimator_params=self.estimator_params(),
                        first_test=_count(self.first_test), retrain_every=self.retrain_every,
                        embargo=self.embargo, window=self.window, train_bars=self.train_bars,
                        min_train=self.min_train, pooled=self.pooled, seed=self.seed,
                        rule=self.rule, upper=self.upper, lower=self.lower,
                        min_edge=self.min_edge, long_only=self.long_only,
                        leverage=self.leverage, smooth=self.smooth, forward_test=_count(self.forward_test),
                        importance=self.importance)

    def estimator_params(self) -> dict[str, Any]:
        if self.estimator in ("random_forest", "extra_trees"):
            return {"n_estimators": self.n_estimators, "max_depth": self.max_depth,
                    "min_samples_leaf": self.min_samples_leaf}
        if self.estimator == "gradient_boosting":
            return {"max_iter": self.n_estimators, "max_depth": self.max_depth,
                    "min_samples_leaf": self.min_samples_leaf}
        return {"C": self.c} if self.label != "return" else {"alpha": 1.0 / max(self.c, 1e-12)}

    def validate(self) -> None:
        from data.errors import ConfigError

        try:
            self.config()
        except ConfigError as exc:  # from the pieces, re-raised as a strategy error
            raise StrategyError(exc.message, argument=exc.argument, value=exc.value,
                                fix=exc.fix or "see docs/ml.md") from None

    def panel(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-symbol BAR arrays from the engine's ``data`` dict (rows where a symbol has a bar)."""
        close = np.asarray(data["close"], dtype=np.float64)
        n = close.shape[0]
        ts = data.get("ts", self._times)
        if ts is None:
            if self.mtf:
                raise StrategyError("multi-timeframe features need the bar times",
                                    argument="mtf", value=self.mtf,
                                    fix="run through `tape ml run` / strategies.ml.pipeline."
                                        "run_ml, or call MLSignal.bind(ts) first")
            ts = np.arange(1, n + 1, dtype=np.int64)
        ts = np.asarray(ts, dtype=np.int64)
        if len(ts) != n:
            raise StrategyError("bound times do not match the bars", argument="ts",
                                value=(len(ts), n), fix="bind the times of the same market")
        two = close.ndim == 2
        m = close.shape[1] if two else 1
        names = list(data.get("symbols", [])) or list(self._symbols or []) \
            or [f"S{j}" for j in range(m)]
        out = {}
        for j in range(m):
            cols = {f: np.asarray(data[f])[:, j] if two else np.asarray(data[f])
                    for f in ("open", "high", "low", "close", "volume")}
            ok = np.isfinite(cols["close"])
            b = np.zeros(int(ok.sum()), BAR)
            b["ts"] = ts[ok]
            for f, v in cols.items():
                b[f] = v[ok]
            out[names[j]] = b
        return out

    def targets(self, data):
        from engine.compiled import Targets

        close = np.asarray(data["close"])
        cfg = self.config()
        pred = walk_forward_predict(self.panel(data), cfg)
        if not pred.folds:
            raise StrategyError("no walk-forward fold had enough data to train",
                                argument="first_test / min_train", value=(cfg.first_test,
                                                                          cfg.min_train),
                                fix=f"the market has {len(pred.ts)} bars: start testing earlier, "
                                    "lower min_train or give more data")
        self.predictions = pred
        pos = pred.position if close.ndim == 2 else pred.position[:, 0]
        return Targets(np.ascontiguousarray(pos, dtype=np.float64), "percent")


def _count(v: float) -> int | float:
    """Fractions stay fractions; whole numbers >= 1 are bar counts."""
    return int(v) if v >= 1 else float(v)
