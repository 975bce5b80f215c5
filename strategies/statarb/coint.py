"""Cointegration statistics and the pair-selection screen.

* :func:`engle_granger`: the Engle-Granger two-step test (``statsmodels.tsa.stattools.coint``:
  ADF on the OLS residual with MacKinnon p-values) plus the static hedge ratio and the
  half-life of mean reversion of the residual.
* :func:`half_life`: ``-ln 2 / lambda`` from the OLS fit ``ds_t = c + lambda * s_{t-1}``
  (the discretised Ornstein-Uhlenbeck estimate; infinite when ``lambda >= 0``).
* :func:`adjust_pvalues`: Benjamini-Hochberg (false discovery rate) and Bonferroni
  (family-wise error) adjustments.
* :func:`screen_pairs`: every pair of a universe tested, adjusted for the number of tests.

These are in-sample statistics of the data they are given: to select pairs without look-ahead,
pass a formation period that ends before the trading period starts.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from data.errors import ConfigError

METHODS = ("bh", "bonferroni")


@dataclasses.dataclass(frozen=True)
class EngleGranger:
    """Result of :func:`engle_granger` for ``y ~ alpha + beta * x``."""

    stat: float  # ADF t-statistic of the residual
    pvalue: float  # MacKinnon approximate p-value (statsmodels)
    crit: tuple[float, float, float]  # 1%, 5%, 10% critical values
    beta: float
    alpha: float
    half_life: float  # bars; inf when the residual does not revert
    n: int

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}eg_stat": self.stat,
            f"{prefix}eg_pvalue": self.pvalue,
            f"{prefix}hedge_ratio": self.beta,
            f"{prefix}hedge_intercept": self.alpha,
            f"{prefix}half_life": self.half_life,
            f"{prefix}eg_nobs": self.n,
        }


def _clean_pair(y, x, argument: str = "y") -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if y.shape != x.shape or y.ndim != 1:
        raise ConfigError("y and x must be 1-D series of the same length", argument=argument,
                          value=(y.shape, x.shape), fix="align both series on the same bars")  # fmt: skip
    keep = np.isfinite(y) & np.isfinite(x)
    return y[keep], x[keep]


def ols_fit(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """``(beta, alpha)`` of OLS ``y ~ 1 + x`` (closed form around the means)."""
    mx, my = x.mean(), y.mean()
    dx = x - mx
    sxx = float(dx @ dx)
    if sxx <= 0.0:
        return math.nan, math.nan
    beta = float(dx @ (y - my)) / sxx
    return beta, float(my - beta * mx)


def half_life(spread) -> float:
    """Half-life (in bars) of mean reversion of ``spread``: ``-ln(2) / lambda`` where ``lambda``
    is the OLS slope of ``s_t - s_{t-1}`` on ``s_{t-1}`` (with intercept). ``inf`` when
    ``lambda >= 0`` (no reversion); NaN with fewer than 3 finite values."""
    s = np.asarray(spread, dtype=np.float64)
    s = s[np.isfinite(s)]
    if len(s) < 3:
        return math.nan
    lam, _ = ols_fit(np.diff(s), s[:-1])
    if not math.isfinite(lam):
        return math.nan
    if lam >= 0.0:
        return math.inf
    return -math.log(2.0) / lam


def engle_granger(y, x, *, trend: str = "c", autolag: str | None = "aic",
                  maxlag: int | None = None, min_obs: int = 30) -> EngleGranger:  # fmt: skip
    """Engle-Granger cointegration test of ``y`` on ``x`` (rows with a NaN are dropped)."""
    from statsmodels.tsa.stattools import coint

    y, x = _clean_pair(y, x)
    if len(y) < min_obs:
        raise ConfigError("too few common observations for a cointegration test",
                          argument="y", value=len(y), fix=f"give at least {min_obs} bars")  # fmt: skip
    with warnings.catch_warnings():
        # statsmodels warns on near-perfect collinearity; the p-value is still returned
        warnings.simplefilter("ignore")
        stat, pvalue, crit = coint(y, x, trend=trend, autolag=autolag, maxlag=maxlag)
    beta, alpha = ols_fit(y, x)
    hl = half_life(y - beta * x - alpha)
    return EngleGranger(float(stat), float(pvalue), tuple(float(c) for c in crit), beta, alpha,
                        hl, len(y))  # fmt: skip


def adjust_pvalues(pvalues, method: str = "bh") -> np.ndarray:
    """Adjusted p-values for ``m`` simultaneous tests (NaN entries are kept out of ``m``).

    ``bonferroni``: ``min(1, m p)``. ``bh`` (Benjamini-Hochberg 1995): with p sorted
    ascending, ``q_(i) = min_{k >= i} min(1, m p_(k) / k)``; rejecting ``q <= alpha`` controls
    the false discovery rate at ``alpha`` for independent or positively dependent tests.
    """
    if method not in METHODS:
        raise ConfigError("unknown multiple-testing method", argument="method", value=method,
                          fix=f"use one of {', '.join(METHODS)}")  # fmt: skip
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return out
    pv = p[ok]
    if method == "bonferroni":
        out[ok] = np.minimum(1.0, pv * m)
        return out
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    q = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    adj = np.empty(m)
    adj[order] = q
    out[ok] = adj
    return out


def _screen_one(values, cols, i, j, min_obs, autolag, maxlag, both_orders) -> dict:
    """One row of :func:`screen_pairs`: the Engle-Granger test of columns ``i`` and ``j``."""
    y, x = values[:, i], values[:, j]
    n = int((np.isfinite(y) & np.isfinite(x)).sum())
    row = {"y": cols[i], "x": cols[j], "n": n, "eg_stat": math.nan, "pvalue": math.nan,
           "hedge_ratio": math.nan, "half_life": math.nan, "corr": math.nan}  # fmt: skip
    if n >= min_obs:
        res = engle_granger(y, x, autolag=autolag, maxlag=maxlag, min_obs=min_obs)
        if both_orders:
            rev = engle_granger(x, y, autolag=autolag, maxlag=maxlag, min_obs=min_obs)
            if rev.pvalue < res.pvalue:
                res = rev
                row["y"], row["x"] = cols[j], cols[i]
            pvalue = min(1.0, 2.0 * res.pvalue)
        else:
            pvalue = res.pvalue
        yy, xx = _clean_pair(y, x)
        row.update(eg_stat=res.stat, pvalue=pvalue, hedge_ratio=res.beta,
                   half_life=res.half_life, corr=float(np.corrcoef(yy, xx)[0, 1]))  # fmt: skip
    return row


def screen_pairs(prices: pd.DataFrame, *, alpha: float = 0.05, log_prices: bool = False,
                 both_orders: bool = False, min_obs: int = 250, autolag: str | None = "aic",
                 maxlag: int | None = None) -> pd.DataFrame:  # fmt: skip
    """Engle-Granger test of every pair of columns of ``prices`` (index: time, one column per
    symbol), with Benjamini-Hochberg and Bonferroni adjustments over all pairs tested.

    Each unordered pair is tested once with ``y`` = the column listed first; with
    ``both_orders`` both regressions are run and the smaller p-value is kept, doubled
    (Bonferroni over the two orders) so it stays a valid p-value. Pairs with fewer than
    ``min_obs`` common finite rows are listed with ``pvalue`` NaN and not counted as tests.
    Returns one row per pair sorted by p-value.
    """
    if not (0.0 < alpha < 1.0):
        raise ConfigError("alpha must be in (0, 1)", argument="alpha", value=alpha,
                          fix="use e.g. 0.05")  # fmt: skip
    cols = list(prices.columns)
    if len(cols) < 2:
        raise ConfigError("need at least two symbols to screen", argument="symbols",
                          value=cols, fix="select two or more symbols")  # fmt: skip
    values = prices.to_numpy(dtype=np.float64)
    if log_prices:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log(values), np.nan)
    # one BLAS thread: the regressions are tiny (n x ~20 lags), and OpenBLAS threads fighting
    # other processes for the cores made a 190-pair screen 3-30x slower on a loaded machine
    with threadpool_limits(limits=1, user_api="blas"):
        rows = [_screen_one(values, cols, i, j, min_obs, autolag, maxlag, both_orders)
                for i, j in itertools.combinations(range(len(cols)), 2)]
    out = pd.DataFrame(rows)
    out["p_bh"] = adjust_pvalues(out["pvalue"].to_numpy(), "bh")
    out["p_bonferroni"] = adjust_pvalues(out["pvalue"].to_numpy(), "bonferroni")
    out["reject_raw"] = out["pvalue"] <= alpha
    out["reject_bh"] = out["p_bh"] <= alpha
    out["reject_bonferroni"] = out["p_bonferroni"] <= alpha
    out = out.sort_values(["pvalue", "y", "x"], na_position="last", kind="stable")
    return out.reset_index(drop=True)
