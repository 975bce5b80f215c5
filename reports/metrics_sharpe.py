"""Probabilistic and deflated Sharpe ratios (Bailey & Lopez de Prado, 2012 and 2014).

All Sharpe ratios here are PER PERIOD (not annualised): the sampling theory is in periods.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from reports.metrics_returns import NAN, kurtosis, sharpe, skew

_NORMAL = NormalDist()
EULER_GAMMA = 0.5772156649015329


def sharpe_std_error(sr: float, n: int, skew_: float, excess_kurt: float) -> float:
    """Standard error of a per-period Sharpe estimate with non-normal returns (Mertens 2002):
    ``sqrt((1 - skew * SR + (kurt - 1) / 4 * SR^2) / (n - 1))`` with ``kurt`` the RAW kurtosis."""
    if n < 2:
        return NAN
    var = (1.0 - skew_ * sr + (excess_kurt + 3.0 - 1.0) / 4.0 * sr * sr) / (n - 1)
    return math.sqrt(var) if var > 0.0 else NAN


def probabilistic_sharpe_from_moments(
    sr: float, n: int, skew_: float, excess_kurt: float, sr_benchmark: float = 0.0
) -> float:
    """PSR: probability that the true per-period Sharpe exceeds ``sr_benchmark``."""
    se = sharpe_std_error(sr, n, skew_, excess_kurt)
    if not (math.isfinite(se) and math.isfinite(sr)):
        return NAN
    return _NORMAL.cdf((sr - sr_benchmark) / se)


def expected_max_sharpe(n_trials: int, trials_sharpe_std: float) -> float:
    """Expected maximum of ``n_trials`` per-period Sharpe estimates whose true value is zero
    and whose standard deviation across trials is ``trials_sharpe_std`` (the "False Strategy"
    theorem): ``std * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``, ``g`` = Euler's gamma.
    Zero for a single trial."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1:
        return 0.0
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return trials_sharpe_std * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe_from_moments(
    sr: float,
    n: int,
    skew_: float,
    excess_kurt: float,
    n_trials: int,
    trials_sharpe_std: float | None = None,
) -> float:
    """DSR: the PSR against the Sharpe ratio the best of ``n_trials`` zero-skill trials would show.

    ``trials_sharpe_std`` is the standard deviation of the per-period Sharpe ratios across the
    trials; when unknown it defaults to the estimator's standard error under the null
    (``1 / sqrt(n - 1)``), i.e. trials that differ only by noise.
    """
    if n < 2:
        return NAN
    std = 1.0 / math.sqrt(n - 1) if trials_sharpe_std is None else trials_sharpe_std
    sr0 = expected_max_sharpe(n_trials, std)
    return probabilistic_sharpe_from_moments(sr, n, skew_, excess_kurt, sr0)


def probabilistic_sharpe(
    r, periods: float, risk_free: float = 0.0, ddof: int = 1, sr_benchmark: float = 0.0
) -> float:
    """PSR of a return series (``sr_benchmark`` per period); bias-corrected skew and kurtosis."""
    r = np.asarray(r, dtype=np.float64)
    sr = sharpe(r, periods, risk_free, ddof, annualize=False)
    return probabilistic_sharpe_from_moments(sr, r.size, skew(r), kurtosis(r), sr_benchmark)


def deflated_sharpe(
    r,
    periods: float,
    n_trials: int = 1,
    risk_free: float = 0.0,
    ddof: int = 1,
    trials_sharpe_std: float | None = None,
) -> float:
    """DSR of a return series selected as the best of ``n_trials`` (see
    :func:`deflated_sharpe_from_moments`)."""
    r = np.asarray(r, dtype=np.float64)
    sr = sharpe(r, periods, risk_free, ddof, annualize=False)
    return deflated_sharpe_from_moments(
        sr, r.size, skew(r), kurtosis(r), n_trials, trials_sharpe_std
    )
