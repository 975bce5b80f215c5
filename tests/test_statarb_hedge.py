"""Hedge ratios and z-scores against reference implementations and hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from data.errors import ConfigError
from data.readers import read_bars
from strategies.statarb.hedge import kalman_hedge, ols_hedge, rolling_ols, rolling_zscore

PAIRS = Path(__file__).resolve().parents[1] / "data" / "samples" / "pairs"


def aligned(a: str, b: str):
    A, B = read_bars(PAIRS / a), read_bars(PAIRS / b)
    ts = np.intersect1d(A.ts, B.ts)
    ya = A.data["close"][np.searchsorted(A.ts, ts)]
    xb = B.data["close"][np.searchsorted(B.ts, ts)]
    return ya, xb


def test_rolling_ols_hand_computed():
    # window 3 over x = 1,2,3,4 and y = 2,4,7,9: slope of (1,2),(2,4),(3,7) is 2.5, intercept -0.6667
    y = np.array([2.0, 4.0, 7.0, 9.0])
    x = np.array([1.0, 2.0, 3.0, 4.0])
    beta, alpha = rolling_ols(y, x, 3)
    assert np.isnan(beta[:2]).all() and np.isnan(alpha[:2]).all()
    assert beta[2] == pytest.approx(2.5)
    assert alpha[2] == pytest.approx(4.0 + 1.0 / 3.0 - 2.5 * 2.0)
    # (2,4),(3,7),(4,9): mean x 3, mean y 20/3, sxy = (-1)(-8/3)+0+(1)(7/3) = 5, sxx = 2
    assert beta[3] == pytest.approx(2.5)
    assert alpha[3] == pytest.approx(20.0 / 3.0 - 7.5)


def test_rolling_ols_matches_statsmodels_on_ewa_ewc():
    y, x = aligned("EWC_daily_2006-2012.csv", "EWA_daily_2006-2012.csv")
    w = 60
    beta, alpha = rolling_ols(y, x, w)
    for t in (w - 1, 200, 777, len(y) - 1):
        fit = sm.OLS(y[t - w + 1 : t + 1], sm.add_constant(x[t - w + 1 : t + 1])).fit()
        assert alpha[t] == pytest.approx(fit.params[0], rel=1e-9, abs=1e-9)
        assert beta[t] == pytest.approx(fit.params[1], rel=1e-9)


def test_rolling_ols_nan_window_gives_nan():
    y = np.arange(10.0) * 2 + 1
    x = np.arange(10.0)
    x[4] = np.nan
    beta, _ = rolling_ols(y, x, 3)
    assert np.isnan(beta[4:7]).all()
    assert beta[3] == pytest.approx(2.0) and beta[7] == pytest.approx(2.0)


def test_rolling_zscore_hand_computed():
    z = rolling_zscore(np.array([1.0, 2.0, 3.0, 10.0]), 3)
    assert np.isnan(z[:2]).all()
    assert z[2] == pytest.approx(1.0)  # mean 2, sd 1
    m = 5.0
    sd = math.sqrt(((2 - m) ** 2 + (3 - m) ** 2 + (10 - m) ** 2) / 2)
    assert z[3] == pytest.approx((10 - m) / sd)


def reference_kalman(y, x, delta, ve):
    """Independent Kalman recursion with 2x2 matrices (E. Chan's formulation)."""
    vw = delta / (1 - delta) * np.eye(2)
    theta = np.zeros(2)
    P = np.zeros((2, 2))
    out = []
    for t in range(len(y)):
        R = P + vw
        F = np.array([x[t], 1.0])
        e = y[t] - F @ theta
        Q = F @ R @ F + ve
        K = R @ F / Q
        theta = theta + K * e
        P = R - np.outer(K, F) @ R
        out.append((theta[0], theta[1], e, Q))
    return np.array(out)


def test_kalman_matches_matrix_recursion_and_statsmodels():
    y, x = aligned("EWC_daily_2006-2012.csv", "EWA_daily_2006-2012.csv")
    delta, ve = 1e-4, 1e-3
    k = kalman_hedge(y, x, delta, ve)
    ref = reference_kalman(y, x, delta, ve)
    np.testing.assert_allclose(k.beta, ref[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(k.alpha, ref[:, 1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(k.spread, ref[:, 2], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(k.zscore, ref[:, 2] / np.sqrt(ref[:, 3]), rtol=1e-9, atol=1e-12)

    # statsmodels' state-space filter with a time-varying design [x_t, 1]
    vw = delta / (1 - delta)
    mod = sm.tsa.statespace.MLEModel(y, k_states=2, k_posdef=2)
    mod["design"] = np.stack([x, np.ones_like(x)])[None, :, :]
    mod["transition"] = np.eye(2)
    mod["selection"] = np.eye(2)
    mod["state_cov"] = vw * np.eye(2)
    mod["obs_cov"] = np.array([[ve]])
    mod.initialize_known(np.zeros(2), vw * np.eye(2))
    res = mod.filter([])
    np.testing.assert_allclose(k.beta, res.filtered_state[0], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(k.alpha, res.filtered_state[1], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(k.spread, res.forecasts_error[0], rtol=1e-7, atol=1e-10)


def test_kalman_first_step_by_hand():
    # t=0: R = vw I, e = y0, Q = vw (x0^2 + 1) + ve, K = vw [x0, 1] / Q
    delta, ve = 0.5, 1.0  # vw = 1
    k = kalman_hedge(np.array([3.0]), np.array([2.0]), delta, ve)
    Q = 1.0 * (4.0 + 1.0) + 1.0
    assert k.spread[0] == 3.0
    assert k.beta[0] == pytest.approx(2.0 / Q * 3.0)
    assert k.alpha[0] == pytest.approx(1.0 / Q * 3.0)
    assert k.zscore[0] == pytest.approx(3.0 / math.sqrt(Q))


def test_kalman_skips_nan_observation():
    y = np.array([1.0, np.nan, 2.0])
    x = np.array([1.0, 1.0, 1.0])
    k = kalman_hedge(y, x)
    assert np.isnan(k.beta[1]) and np.isfinite(k.beta[2])
    ref = reference_kalman(np.array([1.0, 2.0]), np.array([1.0, 1.0]), 1e-4, 1e-3)
    # skipping an observation adds one more Vw to the covariance, so it differs from dropping
    assert k.beta[2] != pytest.approx(ref[1, 0], rel=1e-12)


@pytest.mark.parametrize("method", ["ols", "kalman"])
def test_hedge_series_are_causal(method):
    y, x = aligned("daily-PEP.csv", "daily-KO.csv")
    full = ols_hedge(y, x, 40) if method == "ols" else kalman_hedge(y, x)
    for t in (45, 120, 300):
        part = (
            ols_hedge(y[: t + 1], x[: t + 1], 40)
            if method == "ols"
            else kalman_hedge(y[: t + 1], x[: t + 1])
        )
        for name in ("beta", "alpha", "spread", "zscore"):
            np.testing.assert_array_equal(getattr(part, name), getattr(full, name)[: t + 1])


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="window"):
        rolling_ols([1.0, 2.0], [1.0, 2.0], 1)
    with pytest.raises(ConfigError, match="lengths"):
        rolling_ols([1.0, 2.0], [1.0], 2)
    with pytest.raises(ConfigError, match="delta"):
        kalman_hedge([1.0], [1.0], delta=1.5)
