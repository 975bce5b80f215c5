"""The independent reference formulas of the metrics, for tests only: plain numpy (and scipy's
normal distribution), one small function each, written apart from the numba kernels of
reports/metrics_nb.py that compute stats.json. tests/test_metrics_kernel.py holds the kernels
to these at 1e-11; the product code never imports this module (docs/metrics.md).

Every function takes a 1-D float array ``r`` of simple per-period returns and the convention
values it needs as plain arguments. Undefined results are ``nan``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

NAN = float("nan")
EULER_GAMMA = 0.5772156649015329


def _arr(r) -> np.ndarray:
    return np.asarray(r, dtype=np.float64)


def _no_dispersion(sd: float, x: np.ndarray) -> bool:
    """A standard deviation that is zero or floating-point noise (constant returns)."""
    return not math.isfinite(sd) or sd <= 1e-12 * float(np.max(np.abs(x)))


def per_period_rate(annual_rate: float, periods: float) -> float:
    """An annual rate converted geometrically to one period: ``(1 + R)^(1/P) - 1``."""
    return (1.0 + annual_rate) ** (1.0 / periods) - 1.0


def excess_returns(r, periods: float, risk_free: float = 0.0) -> np.ndarray:
    """Returns minus the per-period risk-free rate (annual rate converted geometrically)."""
    r = _arr(r)
    if risk_free == 0.0:
        return r
    return r - per_period_rate(risk_free, periods)


# --- growth -----------------------------------------------------------------------------------


def cagr(r, periods: float, *, years: float | None = None) -> float:
    """Compound annual growth rate ``prod(1 + r)^(1/years) - 1``.

    ``years`` defaults to the number of periods over ``periods`` per year (QuantStats 0.0.86 and
    empyrical); pass the calendar span in years for the calendar base (backtesting.py).
    """
    r = _arr(r)
    if r.size == 0:
        return NAN
    years = r.size / periods if years is None else years
    wealth = float(np.prod(1.0 + r))
    if years <= 0 or wealth < 0:
        return NAN
    try:
        return wealth ** (1.0 / years) - 1.0
    except OverflowError:  # a gain annualised from a few seconds: not a number a float holds
        return NAN


# --- dispersion and risk-adjusted ratios ------------------------------------------------------


def volatility(r, periods: float, ddof: int = 1) -> float:
    """Annualised standard deviation of returns: ``std(r, ddof) * sqrt(P)``."""
    r = _arr(r)
    if r.size <= ddof:
        return NAN
    return float(np.std(r, ddof=ddof) * math.sqrt(periods))


def sharpe(r, periods: float, risk_free: float = 0.0, ddof: int = 1, *, annualize=True) -> float:
    """Sharpe ratio ``mean(x) / std(x, ddof) * sqrt(P)`` with ``x`` the excess returns."""
    x = excess_returns(r, periods, risk_free)
    if x.size <= ddof:
        return NAN
    sd = float(np.std(x, ddof=ddof))
    if _no_dispersion(sd, x):
        return NAN
    ratio = float(np.mean(x)) / sd
    return ratio * math.sqrt(periods) if annualize else ratio


def downside_deviation(r, target: float = 0.0) -> float:
    """Per-period downside deviation ``sqrt(sum(min(r - target, 0)^2) / N)`` over ALL periods."""
    d = np.minimum(_arr(r) - target, 0.0)
    return float(math.sqrt(np.sum(d * d) / d.size)) if d.size else NAN


def sortino(r, periods: float, risk_free: float = 0.0, *, annualize: bool = True) -> float:
    """Sortino ratio ``mean(x) / downside_deviation(x) * sqrt(P)`` (x = excess returns).

    The downside deviation divides by the number of all periods, not of the losing ones
    (QuantStats, empyrical, Sortino & Price 1994).
    """
    x = excess_returns(r, periods, risk_free)
    if x.size < 2:
        return NAN
    dd = downside_deviation(x)
    if dd == 0.0:
        return NAN
    ratio = float(np.mean(x)) / dd
    return ratio * math.sqrt(periods) if annualize else ratio


def omega(r, periods: float, risk_free: float = 0.0, required_return: float = 0.0) -> float:
    """Omega ratio: sum of gains over sum of losses of ``x - threshold``.

    ``x`` are excess returns; ``required_return`` is annual and converted geometrically.
    """
    x = excess_returns(r, periods, risk_free)
    if x.size < 2:
        return NAN
    d = x - per_period_rate(required_return, periods)
    gains = float(d[d > 0.0].sum())
    losses = -float(d[d < 0.0].sum())
    return gains / losses if losses > 0.0 else NAN


# --- drawdowns -------------------------------------------------------------------------------


def wealth_path(r) -> np.ndarray:
    """Compounded wealth starting at 1 BEFORE the first return: ``[1, (1+r1), (1+r1)(1+r2), ...]``."""
    r = _arr(r)
    out = np.empty(r.size + 1)
    out[0] = 1.0
    np.cumprod(1.0 + r, out=out[1:])
    return out


def drawdown_path(r) -> np.ndarray:
    """Drawdown after each period (``<= 0``), measured from the running peak including the start.

    A loss in the very first period is a drawdown from the starting capital.
    """
    w = wealth_path(r)
    return (w / np.maximum.accumulate(w) - 1.0)[1:]


def max_drawdown(r) -> float:
    """Deepest drawdown on the compounded path including the start (a fraction ``<= 0``)."""
    r = _arr(r)
    return float(drawdown_path(r).min()) if r.size else NAN


def calmar(r, periods: float) -> float:
    """Calmar ratio ``CAGR / |max drawdown|`` (``nan`` without a drawdown)."""
    mdd = max_drawdown(r)
    if not mdd < 0.0:
        return NAN
    return cagr(r, periods) / abs(mdd)


# --- distribution ----------------------------------------------------------------------------


def value_at_risk(r, level: float = 0.95) -> float:
    """Historical VaR: the ``1 - level`` quantile of returns (linear interpolation), a return."""
    r = _arr(r)
    return float(np.percentile(r, 100.0 * (1.0 - level))) if r.size else NAN


def conditional_value_at_risk(r, level: float = 0.95) -> float:
    """Historical CVaR (expected shortfall): mean of the returns at or below the historical VaR."""
    r = _arr(r)
    if r.size == 0:
        return NAN
    tail = r[r <= value_at_risk(r, level)]
    return float(tail.mean()) if tail.size else NAN


def value_at_risk_normal(r, level: float = 0.95, ddof: int = 1) -> float:
    """Parametric (Gaussian) VaR ``mu + sigma * z_(1-level)`` (QuantStats' default VaR)."""
    r = _arr(r)
    if r.size <= ddof:
        return NAN
    return float(np.mean(r)) + float(np.std(r, ddof=ddof)) * float(norm.ppf(1.0 - level))


def conditional_value_at_risk_normal(r, level: float = 0.95, ddof: int = 1) -> float:
    """Parametric (Gaussian) CVaR ``mu - sigma * pdf(z_a) / a`` with ``a = 1 - level``."""
    r = _arr(r)
    if r.size <= ddof:
        return NAN
    a = 1.0 - level
    sd = float(np.std(r, ddof=ddof))
    return float(np.mean(r)) - sd * float(norm.pdf(norm.ppf(a))) / a


def _standardised_moment(r, k: int) -> tuple[int, float]:
    """``(n, mean(d^k) / mean(d^2)^(k/2))`` of the deviations ``d`` from the mean; nan with
    fewer than ``k`` values or no dispersion."""
    r = _arr(r)
    if r.size < k:
        return r.size, NAN
    d = r - r.mean()
    m2 = float(np.mean(d * d))
    return r.size, (float(np.mean(d**k)) / m2 ** (k / 2) if m2 != 0.0 else NAN)


def skew(r, *, bias: bool = False) -> float:
    """Skewness. ``bias=False``: adjusted Fisher-Pearson G1 (pandas, QuantStats); True: g1 (scipy)."""
    n, g1 = _standardised_moment(r, 3)
    return g1 if bias or math.isnan(g1) else g1 * math.sqrt(n * (n - 1)) / (n - 2)


def kurtosis(r, *, bias: bool = False) -> float:
    """EXCESS kurtosis (normal = 0). ``bias=False``: G2 (pandas, QuantStats); True: g2 (scipy)."""
    n, m4 = _standardised_moment(r, 4)
    g2 = m4 - 3.0
    return g2 if bias or math.isnan(g2) else ((n + 1) * g2 + 6.0) * (n - 1) / ((n - 2) * (n - 3))


def best_period(r) -> float:
    r = _arr(r)
    return float(r.max()) if r.size else NAN


def worst_period(r) -> float:
    r = _arr(r)
    return float(r.min()) if r.size else NAN


# --- relative to a benchmark -----------------------------------------------------------------


def _paired(r, b) -> tuple[np.ndarray, np.ndarray]:
    r, b = _arr(r), _arr(b)
    ok = np.isfinite(r) & np.isfinite(b)
    return r[ok], b[ok]


def beta(r, b, periods: float = 252.0, risk_free: float = 0.0) -> float:
    """OLS slope of excess returns on benchmark excess returns: ``cov(x, y) / var(y)``."""
    r, b = _paired(r, b)
    if r.size < 2:
        return NAN
    x, y = excess_returns(r, periods, risk_free), excess_returns(b, periods, risk_free)
    dy = y - y.mean()
    var = float(np.mean(dy * dy))
    if var < 1e-30:
        return NAN
    return float(np.mean(dy * (x - x.mean()))) / var


def alpha(
    r, b, periods: float, risk_free: float = 0.0, *, compounding: str = "arithmetic"
) -> float:
    """Jensen's alpha, annualised: per-period ``a = mean(x - beta * y)`` on excess returns.

    ``compounding="arithmetic"`` gives ``a * P`` (QuantStats ``greeks``);
    ``"geometric"`` gives ``(1 + a)^P - 1`` (empyrical ``alpha``).
    """
    r, b = _paired(r, b)
    bt = beta(r, b, periods, risk_free)
    if not math.isfinite(bt):
        return NAN
    x, y = excess_returns(r, periods, risk_free), excess_returns(b, periods, risk_free)
    a = float(np.mean(x - bt * y))
    if compounding == "arithmetic":
        return a * periods
    if compounding == "geometric":
        return (1.0 + a) ** periods - 1.0
    raise ValueError(f"compounding must be 'arithmetic' or 'geometric', got {compounding!r}")


def tracking_error(r, b, periods: float, ddof: int = 1, *, annualize: bool = True) -> float:
    """Standard deviation of active returns ``r - b``, annualised with ``sqrt(P)``."""
    r, b = _paired(r, b)
    if r.size <= ddof:
        return NAN
    te = float(np.std(r - b, ddof=ddof))
    return te * math.sqrt(periods) if annualize else te


def information_ratio(r, b, periods: float, ddof: int = 1, *, annualize: bool = True) -> float:
    """``mean(r - b) / std(r - b, ddof)``, annualised with ``sqrt(P)`` (QuantStats and empyrical
    report it per period: ``annualize=False``)."""
    r, b = _paired(r, b)
    if r.size <= ddof:
        return NAN
    te = float(np.std(r - b, ddof=ddof))
    if _no_dispersion(te, r - b):
        return NAN
    ratio = float(np.mean(r - b)) / te
    return ratio * math.sqrt(periods) if annualize else ratio


def correlation(r, b) -> float:
    """Pearson correlation of period returns with benchmark returns."""
    r, b = _paired(r, b)
    if r.size < 2 or np.std(r) == 0.0 or np.std(b) == 0.0:
        return NAN
    return float(np.corrcoef(r, b)[0, 1])


# --- probabilistic and deflated Sharpe (per-period Sharpe ratios) ----------------------------


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
    return float(norm.cdf((sr - sr_benchmark) / se))


def expected_max_sharpe(n_trials: int, trials_sharpe_std: float) -> float:
    """Expected maximum of ``n_trials`` per-period Sharpe estimates whose true value is zero
    and whose standard deviation across trials is ``trials_sharpe_std`` (the "False Strategy"
    theorem): ``std * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``, ``g`` = Euler's gamma.
    Zero for a single trial."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1:
        return 0.0
    z1, z2 = norm.ppf([1.0 - 1.0 / n_trials, 1.0 - 1.0 / (n_trials * math.e)])
    return trials_sharpe_std * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe_from_moments(sr, n, skew_, excess_kurt, n_trials, trials_sharpe_std=None):
    """PSR against the expected maximum Sharpe of ``n_trials`` zero-skill trials (whose Sharpe
    ratios spread by ``trials_sharpe_std``, by default the null standard error)."""
    if n < 2:
        return NAN
    std = 1.0 / math.sqrt(n - 1) if trials_sharpe_std is None else trials_sharpe_std
    sr0 = expected_max_sharpe(n_trials, std)
    return probabilistic_sharpe_from_moments(sr, n, skew_, excess_kurt, sr0)


def probabilistic_sharpe(r, periods, risk_free=0.0, ddof=1, sr_benchmark=0.0) -> float:
    """PSR of a return series (``sr_benchmark`` per period); bias-corrected skew and kurtosis."""
    r = _arr(r)
    sr = sharpe(r, periods, risk_free, ddof, annualize=False)
    return probabilistic_sharpe_from_moments(sr, r.size, skew(r), kurtosis(r), sr_benchmark)


def deflated_sharpe(r, periods, n_trials=1, risk_free=0.0, ddof=1, trials_sharpe_std=None):
    """DSR of a return series picked as the best of ``n_trials``."""
    r = _arr(r)
    sr = sharpe(r, periods, risk_free, ddof, annualize=False)
    return deflated_sharpe_from_moments(sr, r.size, skew(r), kurtosis(r), n_trials,
                                        trials_sharpe_std)


# --- per closed trade (pnl of the closed round trips) -----------------------------------------


def win_rate(pnl: np.ndarray) -> float:
    """Share of closed trades with ``pnl > 0`` (break-even trades count as non-wins)."""
    return float(np.mean(pnl > 0.0)) if pnl.size else NAN


def average_win(pnl: np.ndarray) -> float:
    wins = pnl[pnl > 0.0]
    return float(wins.mean()) if wins.size else NAN


def average_loss(pnl: np.ndarray) -> float:
    """Mean P&L of losing trades (a negative number)."""
    losses = pnl[pnl < 0.0]
    return float(losses.mean()) if losses.size else NAN


def payoff_ratio(pnl: np.ndarray) -> float:
    """Average win over the absolute average loss."""
    w, lo = average_win(pnl), average_loss(pnl)
    return w / abs(lo) if math.isfinite(w) and math.isfinite(lo) and lo != 0.0 else NAN


def profit_factor(pnl: np.ndarray) -> float:
    """Gross profit over gross loss; ``inf`` (shown as undefined) when no trade lost."""
    gross_loss = -float(pnl[pnl < 0.0].sum())
    gross_profit = float(pnl[pnl > 0.0].sum())
    if gross_loss == 0.0:
        return math.inf if gross_profit > 0.0 else NAN
    return gross_profit / gross_loss


def expectancy(pnl: np.ndarray) -> float:
    """Mean net P&L per closed trade (currency)."""
    return float(pnl.mean()) if pnl.size else NAN


def max_consecutive(flags: np.ndarray) -> int:
    """Longest run of True values."""
    best = run = 0
    for f in flags:
        run = run + 1 if f else 0
        best = max(best, run)
    return best
