"""Probabilistic and deflated Sharpe ratios (Bailey & Lopez de Prado, 2012 and 2014), by name,
over the kernel stats.json uses (:func:`reports.metrics_nb.psr_nb`, ``period_stats_nb``).

All Sharpe ratios here are PER PERIOD (not annualised): the sampling theory is in periods.
"""

from __future__ import annotations

import math

from reports.metrics_nb import P_DSR, P_KURT, P_PSR, P_SHARPE, P_SKEW, expected_max_sharpe, psr_nb
from reports.metrics_returns import period_stats_of

__all__ = ["deflated_sharpe", "deflated_sharpe_from_moments", "expected_max_sharpe",
           "probabilistic_sharpe", "probabilistic_sharpe_from_moments"]


def probabilistic_sharpe_from_moments(
    sr: float, n: int, skew_: float, excess_kurt: float, sr_benchmark: float = 0.0
) -> float:
    """PSR: probability that the true per-period Sharpe exceeds ``sr_benchmark``, given the
    per-period Sharpe ``sr`` of ``n`` returns, their skew and EXCESS kurtosis."""
    return float(psr_nb(float(sr), int(n), float(skew_), float(excess_kurt),
                        float(sr_benchmark)))


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
    (``1 / sqrt(n - 1)``), i.e. trials that differ only by noise (as stats.json).
    """
    if n < 2:
        return math.nan
    std = 1.0 / math.sqrt(n - 1) if trials_sharpe_std is None else trials_sharpe_std
    return probabilistic_sharpe_from_moments(sr, n, skew_, excess_kurt,
                                             expected_max_sharpe(n_trials, std))


def probabilistic_sharpe(
    r, periods: float, risk_free: float = 0.0, ddof: int = 1, sr_benchmark: float = 0.0
) -> float:
    """PSR of a return series (``sr_benchmark`` per period); bias-corrected skew and kurtosis."""
    ps = period_stats_of(r, periods, risk_free, ddof)
    if sr_benchmark == 0.0:
        return float(ps[P_PSR])
    return probabilistic_sharpe_from_moments(ps[P_SHARPE] / math.sqrt(periods), len(r),
                                             ps[P_SKEW], ps[P_KURT], sr_benchmark)


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
    ps = period_stats_of(r, periods, risk_free, ddof, n_trials=n_trials)
    if trials_sharpe_std is None:
        return float(ps[P_DSR])
    return deflated_sharpe_from_moments(ps[P_SHARPE] / math.sqrt(periods), len(r), ps[P_SKEW],
                                        ps[P_KURT], n_trials, trials_sharpe_std)
