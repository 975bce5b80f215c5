"""Returns-based and benchmark-relative metrics by name, over the kernels of stats.json.

Each function takes a 1-D float array ``r`` of finite simple per-period returns (already sampled
at the declared frequency, see :mod:`reports.metrics`) and the convention values it needs as
plain arguments, and returns what :func:`reports.metrics_nb.period_stats_nb` /
:func:`~reports.metrics_nb.relative_stats_nb` compute for stats.json: the formulas have one
implementation, the kernels (docs/metrics.md). The keyword switches (``annualize``, ``bias``,
``years``, ``compounding``) convert a kernel value to another library's convention.

    m = return_metrics(r, 252)           # every metric of stats.json's returns block, by key
    sortino(r, 252), max_drawdown(r)     # one of them

Undefined results (too few observations, zero denominators) are ``nan``.
"""

from __future__ import annotations

import math

import numpy as np

from reports.metrics import Conventions
from reports.metrics_nb import (
    P_CAGR,
    P_DSR,
    P_GROWTH,
    P_KURT,
    P_MDD,
    P_PSR,
    P_SHARPE,
    P_SKEW,
    P_SORTINO,
    REL_KEYS,
    RETURN_KEYS,
    cagr_nb,
    excess_returns,
    per_period_rate,
    period_stats,
    relative_stats,
)

__all__ = ["alpha", "beta", "cagr", "excess_returns", "information_ratio", "kurtosis",
           "max_drawdown", "per_period_rate", "period_stats_of", "relative_metrics",
           "return_metrics", "sharpe", "skew", "sortino"]


def period_stats_of(r, periods: float, risk_free: float = 0.0, ddof: int = 1,
                    var_level: float = 0.95, n_trials: int = 1) -> np.ndarray:
    """The kernel's output array (``reports.metrics_nb.P_*``) for the returns ``r``."""
    c = Conventions(risk_free=risk_free, ddof=ddof, var_level=var_level)
    return period_stats(np.asarray(r, dtype=np.float64), float(periods), c, int(n_trials))


def return_metrics(r, periods: float, *, risk_free: float = 0.0, ddof: int = 1,
                   var_level: float = 0.95, n_trials: int = 1) -> dict[str, float]:
    """Every metric of stats.json's returns block (``RETURN_KEYS``) plus ``total_return``
    (compounded), ``max_drawdown``, ``probabilistic_sharpe`` and ``deflated_sharpe``."""
    ps = period_stats_of(r, periods, risk_free, ddof, var_level, n_trials)
    out = {k: float(ps[j]) for j, k in enumerate(RETURN_KEYS)}
    out.update(total_return=float(ps[P_GROWTH] - 1.0), max_drawdown=float(ps[P_MDD]),
               probabilistic_sharpe=float(ps[P_PSR]), deflated_sharpe=float(ps[P_DSR]))
    return out


def relative_metrics(r, b, periods: float, *, risk_free: float = 0.0,
                     ddof: int = 1) -> dict[str, float]:
    """alpha (arithmetic), beta, information_ratio, tracking_error, correlation of ``r``
    against the benchmark returns ``b`` (periods where either is not finite are dropped)."""
    r, b = np.asarray(r, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ok = np.isfinite(r) & np.isfinite(b)
    c = Conventions(risk_free=risk_free, ddof=ddof)
    return dict(zip(REL_KEYS, relative_stats(r[ok], b[ok], float(periods), c).tolist(),
                    strict=True))


def cagr(r, periods: float, *, years: float | None = None) -> float:
    """Compound annual growth rate ``prod(1 + r)^(1/years) - 1``.

    ``years`` defaults to the number of periods over ``periods`` per year (QuantStats 0.0.86 and
    empyrical, stats.json); pass the calendar span in years for the calendar base
    (backtesting.py).
    """
    ps = period_stats_of(r, periods)
    return float(ps[P_CAGR] if years is None else cagr_nb(ps[P_GROWTH], float(years)))


def sharpe(r, periods: float, risk_free: float = 0.0, ddof: int = 1, *, annualize=True) -> float:
    """Sharpe ratio ``mean(x) / std(x, ddof) * sqrt(P)`` with ``x`` the excess returns
    (``annualize=False``: per period)."""
    s = float(period_stats_of(r, periods, risk_free, ddof)[P_SHARPE])
    return s if annualize else s / math.sqrt(periods)


def sortino(r, periods: float, risk_free: float = 0.0, *, annualize: bool = True) -> float:
    """Sortino ratio ``mean(x) / DD * sqrt(P)``, ``DD = sqrt(sum(min(x, 0)^2) / N)`` over ALL
    periods (QuantStats, empyrical, Sortino & Price 1994)."""
    s = float(period_stats_of(r, periods, risk_free)[P_SORTINO])
    return s if annualize else s / math.sqrt(periods)


def max_drawdown(r) -> float:
    """Deepest drawdown on the compounded path including the start (a fraction ``<= 0``)."""
    return float(period_stats_of(r, 1.0)[P_MDD])


def skew(r, *, bias: bool = False) -> float:
    """Skewness. ``bias=False``: adjusted Fisher-Pearson G1 (pandas, QuantStats, stats.json);
    True: g1 (scipy)."""
    g = float(period_stats_of(r, 1.0)[P_SKEW])
    n = np.size(r)
    return g * (n - 2) / math.sqrt(n * (n - 1)) if bias and n >= 3 else g


def kurtosis(r, *, bias: bool = False) -> float:
    """EXCESS kurtosis (normal = 0). ``bias=False``: G2 (pandas, QuantStats, stats.json);
    True: g2 (scipy)."""
    g = float(period_stats_of(r, 1.0)[P_KURT])
    n = np.size(r)
    return (g * (n - 2) * (n - 3) / (n - 1) - 6.0) / (n + 1) if bias and n >= 4 else g


def beta(r, b, periods: float = 252.0, risk_free: float = 0.0) -> float:
    """OLS slope of excess returns on benchmark excess returns: ``cov(x, y) / var(y)``."""
    return relative_metrics(r, b, periods, risk_free=risk_free)["beta"]


def alpha(
    r, b, periods: float, risk_free: float = 0.0, *, compounding: str = "arithmetic"
) -> float:
    """Jensen's alpha, annualised: per-period ``a = mean(x - beta * y)`` on excess returns.

    ``compounding="arithmetic"`` gives ``a * P`` (QuantStats ``greeks``, stats.json);
    ``"geometric"`` gives ``(1 + a)^P - 1`` (empyrical ``alpha``).
    """
    if compounding not in ("arithmetic", "geometric"):
        raise ValueError(f"compounding must be 'arithmetic' or 'geometric', got {compounding!r}")
    a = relative_metrics(r, b, periods, risk_free=risk_free)["alpha"]
    return a if compounding == "arithmetic" else (1.0 + a / periods) ** periods - 1.0


def information_ratio(r, b, periods: float, ddof: int = 1, *, annualize: bool = True) -> float:
    """``mean(r - b) / std(r - b, ddof)``, annualised with ``sqrt(P)`` (QuantStats and empyrical
    report it per period: ``annualize=False``)."""
    ir = relative_metrics(r, b, periods, ddof=ddof)["information_ratio"]
    return ir if annualize else ir / math.sqrt(periods)
