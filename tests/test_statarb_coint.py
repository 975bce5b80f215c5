"""Engle-Granger, half-life, multiple-testing adjustments and the pair screen."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import coint

from data.errors import ConfigError
from data.readers import read_bars
from strategies.statarb.coint import adjust_pvalues, engle_granger, half_life, screen_pairs

PAIRS = Path(__file__).resolve().parents[1] / "data" / "samples" / "pairs"


def aligned(a: str, b: str):
    A, B = read_bars(PAIRS / a), read_bars(PAIRS / b)
    ts = np.intersect1d(A.ts, B.ts)
    return (A.data["close"][np.searchsorted(A.ts, ts)],
            B.data["close"][np.searchsorted(B.ts, ts)])  # fmt: skip


def test_half_life_of_an_exact_ar1():
    # s_t = 0.5 s_{t-1} exactly: ds = -0.5 s_{t-1}, lambda = -0.5, half-life ln2/0.5
    s = 100.0 * 0.5 ** np.arange(12)
    assert half_life(s) == pytest.approx(math.log(2) / 0.5)
    assert half_life(np.arange(10.0) ** 2) == math.inf  # explosive: no reversion
    assert math.isnan(half_life([1.0, 2.0]))


def test_half_life_matches_statsmodels_ols():
    y, x = aligned("GDX_daily_2006-2007.csv", "GLD_daily_2004-2007.csv")
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    s = fit.resid
    lam = sm.OLS(np.diff(s), sm.add_constant(s[:-1])).fit().params[1]
    eg = engle_granger(y, x)
    assert eg.beta == pytest.approx(fit.params[1], rel=1e-10)
    assert eg.alpha == pytest.approx(fit.params[0], rel=1e-9)
    assert eg.half_life == pytest.approx(-math.log(2) / lam, rel=1e-9)


@pytest.mark.parametrize(
    "y,x,pmax",
    [
        ("GDX_daily_2006-2007.csv", "GLD_daily_2004-2007.csv", 0.01),
        ("EWC_daily_2006-2012.csv", "EWA_daily_2006-2012.csv", 0.10),
        ("daily-PEP.csv", "daily-KO.csv", 1.0),
    ],
)
def test_engle_granger_on_shipped_pairs_matches_statsmodels(y, x, pmax):
    yy, xx = aligned(y, x)
    eg = engle_granger(yy, xx)
    stat, p, crit = coint(yy, xx, trend="c", autolag="aic")
    assert (eg.stat, eg.pvalue) == (pytest.approx(stat), pytest.approx(p))
    assert eg.pvalue < pmax
    assert eg.n == len(yy)


def test_adjust_pvalues_hand_computed():
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    # m = 4; sorted 0.01, 0.03, 0.04, 0.20 -> 0.04, 0.06, 0.0533.., 0.20 -> cummin from top
    bh = adjust_pvalues(p, "bh")
    np.testing.assert_allclose(bh[:4], [0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert math.isnan(bh[4])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni")[:4], [0.04, 0.16, 0.12, 0.80])


def test_adjust_pvalues_match_statsmodels_multipletests():
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.2, size=57) ** 2
    for ours, theirs in (("bh", "fdr_bh"), ("bonferroni", "bonferroni")):
        ref = multipletests(p, method=theirs)[1]
        np.testing.assert_allclose(adjust_pvalues(p, ours), ref, rtol=1e-12)
    with pytest.raises(ConfigError, match="method"):
        adjust_pvalues(p, "holm-ish")


def test_screen_pairs_counts_tests_and_orders_by_pvalue():
    y, x = aligned("GDX_daily_2006-2007.csv", "GLD_daily_2004-2007.csv")
    rng = np.random.default_rng(3)
    walk = 50 + np.cumsum(rng.normal(size=len(y)))  # independent random walk
    prices = pd.DataFrame({"GDX": y, "GLD": x, "RW": walk})
    out = screen_pairs(prices, alpha=0.05, min_obs=100)
    assert len(out) == 3
    assert list(out.iloc[0][["y", "x"]]) == ["GDX", "GLD"]
    assert out["pvalue"].is_monotonic_increasing
    p = out["pvalue"].to_numpy()
    np.testing.assert_allclose(out["p_bonferroni"], np.minimum(1, 3 * p))
    np.testing.assert_allclose(out["p_bh"], multipletests(p, method="fdr_bh")[1])
    assert bool(out.iloc[0]["reject_bh"]) and bool(out.iloc[0]["reject_bonferroni"])


def test_screen_pairs_both_orders_doubles_the_minimum():
    y, x = aligned("GDX_daily_2006-2007.csv", "GLD_daily_2004-2007.csv")
    prices = pd.DataFrame({"GDX": y, "GLD": x})
    one = screen_pairs(prices, min_obs=100)
    both = screen_pairs(prices, min_obs=100, both_orders=True)
    rev = engle_granger(x, y)
    assert both.loc[0, "pvalue"] == pytest.approx(2 * min(one.loc[0, "pvalue"], rev.pvalue))


def test_screen_pairs_short_overlap_is_not_a_test():
    prices = pd.DataFrame({"A": np.arange(50.0) + 1, "B": np.r_[np.full(45, np.nan), np.ones(5)],
                           "C": np.sqrt(np.arange(50.0) + 1)})  # fmt: skip
    out = screen_pairs(prices, min_obs=30)
    assert out["pvalue"].isna().sum() == 2  # A/B and B/C have only 5 common rows
    tested = out.dropna(subset=["pvalue"])
    assert (tested["p_bonferroni"] == tested["pvalue"]).all()  # one test: m = 1
