"""Walk-forward model: determinism, pooling, estimators, positions, JSON model specs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from core_helpers import closes_to_bars

from data.errors import ConfigError, DataError
from strategies.ml.features import FeatureSet
from strategies.ml.model import MLConfig, make_estimator, positions, walk_forward_predict
from strategies.ml.persist import estimator_from_spec, estimator_spec, load_model, refit_final

SMALL = {"n_estimators": 5, "max_depth": 3, "min_samples_leaf": 10}
H = 3_600_000_000_000


def walk(n: int, seed: int, offset: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, n)
    r[1:] += -0.3 * r[:-1]  # some mean reversion for the model to find
    c = 100 * np.exp(np.cumsum(r))
    return closes_to_bars(c, rng.uniform(1, 10, n), wick=0.001, t0=(1 + offset) * H, step=H)


def cfg(**kw) -> MLConfig:
    base = dict(features=FeatureSet.parse("ret_1,ret_2,rsi_5,vol_10"), horizon=1,
                first_test=200, retrain_every=100, min_train=50, estimator_params=SMALL,
                forward_test=0.2)
    base.update(kw)
    return MLConfig(**base)


def test_same_seed_same_predictions_other_seed_differs():
    panel = {"A": walk(600, 0)}
    a = walk_forward_predict(panel, cfg(seed=5))
    b = walk_forward_predict(panel, cfg(seed=5))
    np.testing.assert_array_equal(a.score, b.score)
    np.testing.assert_array_equal(a.position, b.position)
    c = walk_forward_predict(panel, cfg(seed=6))
    assert not np.array_equal(np.nan_to_num(a.score), np.nan_to_num(c.score))


def test_predictions_start_at_the_first_test_block_and_cover_the_rest():
    p = walk_forward_predict({"A": walk(600, 1)}, cfg())
    pred = np.isfinite(p.score[:, 0])
    assert not pred[:200].any() and pred[210:].all()
    assert [f["test_start_bar"] for f in p.folds] == [200, 300, 400, 500]
    assert p.forward_start == 480
    assert (p.fold[200:300, 0] == 0).all() and (p.fold[:200, 0] == -1).all()


def test_pooled_and_per_symbol_models():
    panel = {"A": walk(500, 2), "B": walk(450, 3, offset=50)}
    pooled = walk_forward_predict(panel, cfg(pooled=True))
    single = walk_forward_predict(panel, cfg(pooled=False))
    assert pooled.score.shape == (500, 2) and pooled.symbols == ["A", "B"]
    assert len(single.folds) == 2 * len(pooled.folds)
    assert {tuple(f["symbols"]) for f in single.folds} == {("A",), ("B",)}
    # pooled folds train on both symbols: more samples than either alone
    assert pooled.folds[0]["n_train"] > max(f["n_train"] for f in single.folds[:1])
    assert np.isnan(pooled.score[:50, 1]).all()  # B has no bars there
    for p in (pooled, single):  # every prediction carries the fold that made it
        np.testing.assert_array_equal(p.fold >= 0, np.isfinite(p.score))
        for f in p.folds:
            j = [p.symbols.index(s) for s in f["symbols"]]
            sel = p.fold[f["test_start_bar"]:f["test_stop_bar"]][:, j]
            assert (sel == f["fold"]).sum() == f["n_test"]
    assert np.abs(pooled.position).max() <= 0.5  # gross 1 split over two symbols


@pytest.mark.parametrize("est", ["extra_trees", "gradient_boosting", "logistic"])
def test_named_estimators_classify(est):
    params = {"max_iter": 20} if est == "gradient_boosting" else SMALL if est != "logistic" else {}
    p = walk_forward_predict({"A": walk(400, 4)}, cfg(estimator=est, estimator_params=params))
    s = p.score[np.isfinite(p.score)]
    assert len(s) > 150 and ((s >= 0) & (s <= 1)).all()


def test_any_sklearn_estimator_and_regression():
    from sklearn.linear_model import Ridge

    p = walk_forward_predict({"A": walk(400, 5)}, cfg(label="return", estimator=Ridge(alpha=2.0),
                                                      estimator_params={}))
    assert p.task == "regression"
    assert p.folds[0]["importance"] is not None  # |coef| of the linear model
    s = p.score[np.isfinite(p.score)]
    assert np.abs(s).max() < 0.1
    from strategies.ml.evaluate import evaluate

    ev = evaluate(p)
    dev = ev["development"]
    assert {"mae", "rmse", "rmse_zero", "ic_spearman", "hit_rate"} <= set(dev)
    # every scored prediction is in exactly one fold and in exactly one period
    assert dev["n"] + ev["forward_test"]["n"] == sum(f["n"] for f in ev["folds"])
    assert sum(b["n"] for b in dev["calibration"]) == dev["n"]


def test_permutation_importance_is_out_of_sample_and_informative():
    from strategies.ml.evaluate import evaluate

    b = walk(800, 9)
    lc = np.log(b["close"])
    nxt = np.r_[lc[1:] - lc[:-1], 0.0]
    # an oracle feature (the next return) must dominate a pure-noise one
    rng = np.random.default_rng(0)
    fs = FeatureSet.parse("ret_1", custom={"oracle": lambda bars: nxt[:len(bars)],
                                           "noise": lambda bars: rng.normal(size=len(bars))})
    p = walk_forward_predict({"A": b}, cfg(features=fs, importance=True))
    perm = evaluate(p)["permutation_importance"]
    assert list(perm)[0] == "oracle" and perm["oracle"] > 0.1 > abs(perm["noise"])


def test_too_little_data_is_a_clear_error():
    import engine
    from data.errors import StrategyError

    with pytest.raises(StrategyError, match="no walk-forward fold"):
        engine.run(market=walk(150, 1), strategy="ml_signal", params={"first_test": 100,
                                                                      "min_train": 200})


def test_bad_strategy_parameters_are_strategy_errors():
    from data.errors import StrategyError
    from strategies.ml.strategy import MLSignal

    with pytest.raises(StrategyError, match="unknown feature"):
        MLSignal(features="ret_1,momentum")
    with pytest.raises(StrategyError, match="choices"):
        MLSignal(estimator="svm")


def test_unknown_estimator_and_bad_thresholds():
    from sklearn.ensemble import RandomForestClassifier

    with pytest.raises(ConfigError, match="unknown estimator"):
        make_estimator("svm", "classification")
    with pytest.raises(ConfigError, match="regression estimator"):
        make_estimator(RandomForestClassifier(), "regression")
    with pytest.raises(ConfigError, match="thresholds"):
        cfg(upper=0.4, lower=0.45)


def test_positions_rules():
    s = np.array([[np.nan], [0.3], [0.5], [0.56], [0.9]])
    c = cfg(upper=0.55, lower=0.45)
    assert positions(s, "classification", c)[:, 0].tolist() == [0, -1, 0, 1, 1]
    lin = positions(s, "classification", cfg(rule="linear", upper=0.6, lower=0.4))[:, 0]
    np.testing.assert_allclose(lin, [0, -1, 0, 0.6, 1])
    assert positions(s, "classification", cfg(long_only=True))[:, 0].tolist() == [0, 0, 0, 1, 1]
    sm = positions(s, "classification", cfg(smooth=2))[:, 0]
    assert sm.tolist() == [0, -1, -1, 0, 1]  # means 0.3, 0.4, 0.53, 0.73
    r = positions(np.array([[0.001], [-0.002], [0.0001]]), "regression", cfg(min_edge=0.0005))
    assert r[:, 0].tolist() == [1, -1, 0]


def test_estimator_specs_round_trip_and_refuse_non_sklearn(tmp_path):
    est = make_estimator("logistic", "classification", {"C": 0.5})
    spec = estimator_spec(est)
    back = estimator_from_spec(json.loads(json.dumps(spec)))
    assert estimator_spec(back) == spec
    with pytest.raises(DataError, match="scikit-learn"):
        estimator_from_spec({"class": "os.system", "params": {}})
    with pytest.raises(DataError, match="plain JSON"):
        estimator_from_spec({"class": "sklearn.linear_model.Ridge", "params": {"alpha": [1]}})
    bad = tmp_path / "model.json"
    bad.write_text('{"format": "pickle"}')
    with pytest.raises(DataError, match="not a tapereader model"):
        load_model(bad)


def test_refit_final_is_deterministic():
    panel = {"A": walk(300, 6)}
    a = refit_final(panel, cfg(seed=1))
    b = refit_final(panel, cfg(seed=1))
    X = np.random.default_rng(0).normal(size=(20, 4))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
