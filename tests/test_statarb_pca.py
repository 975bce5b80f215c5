"""Avellaneda-Lee residual model, basket weights and rebalance schedules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA

from data.errors import ConfigError
from strategies.statarb.pca import (
    BasketParams,
    basket_weights,
    fit_residual_model,
    hedged_weights,
    next_sides,
)
from strategies.statarb.schedule import rebalance_mask
from strategies.statarb.universe import close_frame, load_bars

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TWENTY = SAMPLES / "cross_section" / "skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"


@pytest.fixture(scope="module")
def closes():
    f = close_frame(load_bars([TWENTY]))
    return f.index.to_numpy(), f.to_numpy()


def window_returns(C, t, W):
    return C[t - W + 1 : t + 1] / C[t - W : t] - 1.0


def test_eigenportfolios_match_sklearn_pca(closes):
    _, C = closes
    R = window_returns(C, 3000, 252)
    model = fit_residual_model(R, n_factors=3, reg_window=60)
    Y = (R - R.mean(0)) / R.std(0, ddof=1)
    pca = PCA(n_components=3).fit(Y)
    v = model.q * R.std(0, ddof=1)[:, None]
    for j in range(3):
        ref = pca.components_[j] * np.sign(pca.components_[j].sum())
        np.testing.assert_allclose(v[:, j], ref, atol=1e-8)
    assert model.explained == pytest.approx(pca.explained_variance_ratio_.sum(), rel=1e-9)
    assert (v[:, 0] > 0).all()  # the first eigenportfolio is long every stock: the market


def test_hedged_weights_are_factor_neutral_in_sample(closes):
    _, C = closes
    R = window_returns(C, 5000, 252)
    model = fit_residual_model(R, n_factors=3, reg_window=60)
    side = np.array([1, -1, 0, 1, 0, 0, -1, 1, 0, 0, 0, 1, -1, 0, 0, 0, 1, 0, -1, 0])
    w = hedged_weights(model, side, leverage=2.0)
    assert np.abs(w).sum() == pytest.approx(2.0)
    Rl = R[-60:]
    port = Rl @ w
    F = Rl @ model.q
    for j in range(3):
        cov = np.cov(port, F[:, j])[0, 1]
        assert abs(cov) < 1e-12 * max(1.0, np.var(port))
    # an unhedged portfolio has clear factor exposure (the test can fail)
    raw = side / np.abs(side).sum() * 2.0
    assert abs(np.cov(Rl @ raw, F[:, 0])[0, 1]) > 1e-7
    assert not np.any(hedged_weights(model, np.zeros(20, dtype=int), 1.0))


def test_s_scores_match_a_statsmodels_reference(closes):
    import statsmodels.api as sm

    _, C = closes
    R = window_returns(C, 6000, 252)
    model = fit_residual_model(R, n_factors=3, reg_window=60, min_kappa=0.0)
    Rl = R[-60:]
    F = sm.add_constant(Rl @ model.q)
    kappa, m, sig, xlast = (np.full(20, np.nan) for _ in range(4))
    for i in range(20):
        fit = sm.OLS(Rl[:, i], F).fit()
        np.testing.assert_allclose(model.beta[i], fit.params[1:], rtol=1e-7, atol=1e-10)
        X = np.cumsum(fit.resid)
        ar = sm.OLS(X[1:], sm.add_constant(X[:-1])).fit()
        a, b = ar.params
        if 0 < b < 1:
            kappa[i] = -np.log(b) * 252
            m[i] = a / (1 - b)
            sig[i] = np.sqrt(ar.mse_resid / (1 - b * b))
            xlast[i] = X[-1]
    ok = np.isfinite(kappa)
    assert ok.sum() >= 15
    np.testing.assert_allclose(model.kappa[ok], kappa[ok], rtol=1e-6)
    s = (xlast - (m - np.nanmean(m))) / sig
    np.testing.assert_allclose(model.s_score[ok], s[ok], rtol=1e-6, atol=1e-9)
    assert np.isnan(model.s_score[~ok]).all()


def test_next_sides_thresholds_by_hand():
    p = BasketParams()
    side = np.array([0, 0, 0, 1, 1, -1, -1, 1])
    s = np.array([-1.3, 1.3, 1.0, -0.6, -0.4, 0.8, 0.7, np.nan])
    np.testing.assert_array_equal(next_sides(side, s, p), [1, -1, 0, 1, 0, -1, 0, 0])


def test_basket_weights_are_causal_and_only_on_decision_bars(closes):
    ts, C = closes
    T = 1400
    decide = rebalance_mask(ts[:T], "weekly")
    full = basket_weights(C[:T], decide, BasketParams())
    rows = np.flatnonzero(np.isfinite(full[:, 0]))
    assert len(rows) > 100 and decide[rows].all() and rows.min() >= 252
    for t in (700, 1000):
        part = basket_weights(C[: t + 1], decide[: t + 1], BasketParams())
        np.testing.assert_array_equal(part, full[: t + 1])
    gross = np.abs(full[rows]).sum(1)
    assert ((np.isclose(gross, 1.0)) | (gross == 0)).all()


def test_basket_params_are_checked():
    with pytest.raises(ConfigError, match="reg_window"):
        BasketParams(reg_window=300, corr_window=252).check()
    with pytest.raises(ConfigError, match="s_open"):
        BasketParams(s_open=0.5, s_close_long=0.6).check()


def test_rebalance_mask_rules():
    day = 86_400 * 10**9
    # day 4 = Mon 1970-01-05, day 11 = Mon 01-12, day 31 = Sun 02-01, day 32 = Mon 02-02
    ts = np.array([2, 3, 4, 5, 9, 11, 31, 32], dtype=np.int64) * day
    assert rebalance_mask(ts, "weekly").tolist() == [1, 0, 1, 0, 0, 1, 1, 1]
    assert rebalance_mask(ts, "monthly").tolist() == [1, 0, 0, 0, 0, 0, 1, 0]
    assert rebalance_mask(ts, "daily").tolist() == [1] * 8
    assert rebalance_mask(ts, 3).tolist() == [1, 0, 0, 1, 0, 0, 1, 0]
    assert rebalance_mask(ts, "2", start=1).tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    with pytest.raises(ConfigError, match="rebalance"):
        rebalance_mask(ts, "fortnightly")


def test_incremental_schedule_matches_the_mask(closes):
    from strategies.statarb.schedule import Schedule

    ts, _ = closes
    for every in ("daily", "weekly", "monthly", 7, "3"):
        sch = Schedule(every)
        got = [sch.due(i, int(t)) for i, t in enumerate(ts[:800])]
        np.testing.assert_array_equal(got, rebalance_mask(ts[:800], every))
