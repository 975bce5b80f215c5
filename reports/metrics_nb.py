"""The stats.json metrics in numba: the one implementation of each formula of docs/metrics.md.

``period_stats_nb`` (the sampled returns), ``relative_stats_nb`` (against a benchmark),
``trade_stats_nb`` (per closed round trip) and the per-step reductions: a run records one
equity value per bar (100k-1M steps); the period metrics use only the sampled points (one per
day by default), but a few stats.json keys reduce over every step: ``max_drawdown_steps`` and
the mean equity of ``turnover`` (:func:`equity_pass_nb`), ``exposure`` and
``avg_gross_exposure`` (:func:`exposure_pass_nb`). :func:`reports.metrics.compute_stats` and
:class:`reports.metrics_fast.StatsIndex` (a sweep's rows) both call them on the same arrays, so
the two give the same bits; ``reports.metrics_returns`` / ``metrics_sharpe`` name them one by
one. Sums are sequential, in step order (not numpy's pairwise order: values can differ from
``numpy.sum`` in the last bits).

Each kernel writes its results into ``out`` (float64) and returns nothing; a non-finite input
is reported as its first position (``-1`` when there is none), never raised."""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

import numpy as np
from numba import njit

#: out[] of equity_pass_nb
E_BAD, E_DD_STEPS, E_SUM = range(3)
#: out[] of exposure_pass_nb
X_BAD, X_W_SUM, X_W_ON, X_W_ABS = range(4)


@njit(cache=True, error_model="numpy")  # x / 0 -> inf / nan as in numpy, never raises
def equity_pass_nb(v, out):
    """Over the equity ``v`` (float64, >= 1 value): the first non-finite position, the deepest
    step drawdown ``min(v / running max(v)) - 1`` and the sum of ``v`` (four interleaved
    partial sums, ``(s0 + s1) + (s2 + s3)``, lane ``i % 4``; the last ``n % 4`` values go to
    lane 0).

    The drawdown is what ``np.min(v / np.maximum.accumulate(v) - 1.0)`` gives, bit for bit (the
    same division per step; rounding is monotone, so subtracting 1 after the minimum changes
    nothing); a zero peak gives nan (0 / 0), as numpy's minimum propagates it. With a positive
    peak, the division is made only for steps that can lower the minimum (``x`` at most the
    rounded ``lo * peak`` plus two ulps): ``x / peak < lo`` implies ``x < lo * peak``."""
    n = v.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        s0 += v[i]
        s1 += v[i + 1]
        s2 += v[i + 2]
        s3 += v[i + 3]
    for i in range(m, n):
        s0 += v[i]
    total = (s0 + s1) + (s2 + s3)
    bad = -1
    if not np.isfinite(total):  # a nan / inf value, or an overflow of the sum
        for i in range(n):
            if not np.isfinite(v[i]):
                bad = i
                break
    peak = v[0]
    lo = v[0] / peak
    for i in range(1, n):
        x = v[i]
        if x > peak:
            peak = x
        if peak > 0.0 and lo == lo:
            c = lo * peak
            if not x <= c + abs(c) * 4.5e-16:
                continue
        r = x / peak
        if r < lo or r != r:
            lo = r
    out[E_BAD] = bad
    out[E_DD_STEPS] = lo - 1.0
    out[E_SUM] = total


@njit(cache=True)
def exposure_pass_nb(ts, x, w_last, out):
    """Time weights of the steps ``ts`` (int64 ns; each step is held until the next one, the
    last for ``w_last``) against the exposure ``x`` (float64, same length): the first non-finite
    position, the sum of the weights, of the weights where ``|x| > 0`` and of ``w * |x|`` (each
    sum in four interleaved lanes as in :func:`equity_pass_nb`)."""
    n = ts.shape[0]
    w0 = 0.0
    w1 = 0.0
    w2 = 0.0
    w3 = 0.0
    o0 = 0.0
    o1 = 0.0
    o2 = 0.0
    o3 = 0.0
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    m = (n - 1) - (n - 1) % 4  # the steps with a next one, in blocks of four
    for i in range(0, m, 4):
        w = float(ts[i + 1] - ts[i])
        a = abs(x[i])
        w0 += w
        o0 += w if a > 0.0 else 0.0
        a0 += w * a
        w = float(ts[i + 2] - ts[i + 1])
        a = abs(x[i + 1])
        w1 += w
        o1 += w if a > 0.0 else 0.0
        a1 += w * a
        w = float(ts[i + 3] - ts[i + 2])
        a = abs(x[i + 2])
        w2 += w
        o2 += w if a > 0.0 else 0.0
        a2 += w * a
        w = float(ts[i + 4] - ts[i + 3])
        a = abs(x[i + 3])
        w3 += w
        o3 += w if a > 0.0 else 0.0
        a3 += w * a
    for i in range(m, n):
        w = float(ts[i + 1] - ts[i]) if i + 1 < n else w_last
        a = abs(x[i])
        w0 += w
        o0 += w if a > 0.0 else 0.0
        a0 += w * a
    w_abs = (a0 + a1) + (a2 + a3)
    bad = -1
    if not np.isfinite(w_abs):
        for i in range(n):
            if not np.isfinite(x[i]):
                bad = i
                break
    out[X_BAD] = bad
    out[X_W_SUM] = (w0 + w1) + (w2 + w3)
    out[X_W_ON] = (o0 + o1) + (o2 + o3)
    out[X_W_ABS] = w_abs


def last_weight(ts: np.ndarray) -> float:
    """The weight of the last step: the median spacing of the steps (1.0 for a single step)."""
    if ts.size < 2:
        return 1.0
    return float(np.median(np.diff(ts).astype(np.float64)))


def equity_pass(v: np.ndarray) -> np.ndarray:
    """:func:`equity_pass_nb` on any float array (copied to contiguous float64 when needed)."""
    out = np.empty(3)
    equity_pass_nb(np.ascontiguousarray(v, dtype=np.float64), out)
    return out


def exposure_pass(ts: np.ndarray, x: np.ndarray, w_last: float | None = None) -> np.ndarray:
    """:func:`exposure_pass_nb` (``w_last`` defaults to :func:`last_weight`)."""
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    out = np.empty(4)
    exposure_pass_nb(ts, np.ascontiguousarray(x, dtype=np.float64),
                     last_weight(ts) if w_last is None else float(w_last), out)
    return out


# --- the metrics of the sampled returns ------------------------------------------------------
# Two passes over the returns. tests/test_metrics_kernel.py holds them to the independent
# numpy formulas of tests/metrics_reference.py (to 1e-11 relative).

#: out[] of period_stats_nb, in stats.json order (the first 15 are ``RETURN_KEYS``);
#: P_GROWTH is the compounded growth ``prod(1 + r)``
(P_CAGR, P_VOL, P_SHARPE, P_SORTINO, P_CALMAR, P_OMEGA, P_VAR, P_CVAR, P_VAR_NORMAL,
 P_CVAR_NORMAL, P_SKEW, P_KURT, P_BEST, P_WORST, P_POSITIVE, P_MDD, P_PSR, P_DSR,
 P_GROWTH) = range(19)
N_PERIOD = 19
RETURN_KEYS = ("cagr", "volatility", "sharpe", "sortino", "calmar", "omega", "var", "cvar",
               "var_normal", "cvar_normal", "skew", "kurtosis", "best_period", "worst_period",
               "positive_periods")
#: out[] of relative_stats_nb
REL_KEYS = ("alpha", "beta", "information_ratio", "tracking_error", "correlation")
N_REL = 5
EULER_GAMMA = 0.5772156649015329


def per_period_rate(annual_rate: float, periods: float) -> float:
    """An annual rate converted geometrically to one period: ``(1 + R)^(1/P) - 1`` (0 for 0)."""
    return 0.0 if annual_rate == 0.0 else (1.0 + annual_rate) ** (1.0 / periods) - 1.0


def excess_returns(r, periods: float, risk_free: float = 0.0) -> np.ndarray:
    """Returns minus :func:`per_period_rate` of ``risk_free``, as the kernels take them."""
    r = np.asarray(r, dtype=np.float64)
    return r if risk_free == 0.0 else r - per_period_rate(risk_free, periods)


def expected_max_sharpe(n_trials: int, trials_sharpe_std: float) -> float:
    """Expected maximum of ``n_trials`` per-period Sharpe estimates whose true value is zero
    and whose standard deviation across trials is ``trials_sharpe_std`` (the "False Strategy"
    theorem): ``std * ((1 - g) * Z^-1(1 - 1/N) + g * Z^-1(1 - 1/(N e)))``, ``g`` = Euler's gamma.
    Zero for a single trial. The deflated Sharpe's benchmark (:func:`period_stats_nb`'s
    ``k_dsr`` is its value for a unit ``std``)."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if n_trials == 1:
        return 0.0
    nd = NormalDist()
    z1 = nd.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = nd.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return trials_sharpe_std * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


@njit(cache=True, error_model="numpy")
def cagr_nb(wealth, years):
    """Compound annual growth ``wealth^(1/years) - 1`` of the compounded growth ``wealth``
    (nan for a non-positive span, a negative wealth, or an overflow of a finite wealth)."""
    if years > 0.0 and wealth >= 0.0:
        g = wealth ** (1.0 / years) - 1.0
        return g if (np.isfinite(g) or not np.isfinite(wealth)) else np.nan
    return np.nan


@njit(cache=True)
def psr_nb(sr, n, sk, ku, sr_b):
    """Probabilistic Sharpe: ``Phi((sr - sr_b) / se)`` of the per-period Sharpe ``sr`` of
    ``n`` returns with skew ``sk`` and EXCESS kurtosis ``ku``, ``se`` its standard error
    (Mertens 2002: ``sqrt((1 - sk * sr + (ku + 3 - 1) / 4 * sr^2) / (n - 1))``); nan when
    undefined. Against ``sr_b`` = the expected maximum Sharpe of the trials: the deflated
    Sharpe."""
    if n < 2:
        return np.nan
    var = (1.0 - sk * sr + (ku + 3.0 - 1.0) / 4.0 * sr * sr) / (n - 1)
    se = np.sqrt(var) if var > 0.0 else np.nan
    if not (np.isfinite(se) and np.isfinite(sr)):
        return np.nan
    return 0.5 * (1.0 + math.erf((sr - sr_b) / se / np.sqrt(2.0)))


@njit(cache=True, error_model="numpy")
def period_stats_nb(r, P, rp, ddof, q, z, tail, k_dsr, out):
    """Every metric of the finite sampled returns ``r`` (see P_*): ``P`` periods per year,
    ``rp`` the per-period risk-free rate, ``ddof`` of the standard deviations, ``q`` the VaR
    quantile (1 - var_level), ``z`` / ``tail`` the normal quantile of ``q`` and
    ``pdf(z) / q`` (parametric VaR / CVaR), ``k_dsr`` the deflated Sharpe's multiple of the
    estimator's standard error (0 for a single trial). Undefined values are nan."""
    n = r.shape[0]
    out[:] = np.nan
    if n == 0:
        return
    sq = np.sqrt(P)
    # pass 1: sums, extremes, the compounded path and its deepest drawdown
    s = 0.0
    sx = 0.0
    wealth = 1.0
    peak = 1.0
    mdd = np.inf
    best = r[0]
    worst = r[0]
    pos = 0
    amax = 0.0
    gains = 0.0
    losses = 0.0
    down = 0.0
    for i in range(n):
        v = r[i]
        s += v
        x = v - rp
        sx += x
        if abs(x) > amax:
            amax = abs(x)
        if x > 0.0:
            gains += x
        elif x < 0.0:
            losses -= x
            down += x * x
        wealth *= 1.0 + v
        if wealth > peak:
            peak = wealth
        d = wealth / peak - 1.0
        if d < mdd:
            mdd = d
        if v > best:
            best = v
        if v < worst:
            worst = v
        if v > 0.0:
            pos += 1
    m = s / n
    mx = sx / n
    if best == worst:  # constant returns: the mean is that value exactly, no dispersion
        m = best
        mx = best - rp
    # pass 2: central moments of r and of the excess returns
    m2 = 0.0
    m3 = 0.0
    m4 = 0.0
    mx2 = 0.0
    for i in range(n):
        d = r[i] - m
        d2 = d * d
        m2 += d2
        m3 += d2 * d
        m4 += d2 * d2
        dx = (r[i] - rp) - mx
        mx2 += dx * dx
    out[P_GROWTH] = wealth
    out[P_CAGR] = cagr_nb(wealth, n / P)
    sr = np.nan  # per period
    if n > ddof:
        sd = np.sqrt(m2 / (n - ddof))
        sdx = np.sqrt(mx2 / (n - ddof))
        out[P_VOL] = sd * sq
        if np.isfinite(sdx) and not sdx <= 1e-12 * amax:
            sr = mx / sdx
            out[P_SHARPE] = sr * sq
        out[P_VAR_NORMAL] = m + sd * z
        out[P_CVAR_NORMAL] = m - sd * tail
    if n >= 2:
        dd = np.sqrt(down / n)
        if dd != 0.0:
            out[P_SORTINO] = mx / dd * sq
        if losses > 0.0:
            out[P_OMEGA] = gains / losses
    out[P_MDD] = mdd
    if mdd < 0.0:
        out[P_CALMAR] = out[P_CAGR] / abs(mdd)
    # historical VaR: numpy's linear quantile of the sorted returns, and the mean beyond it
    srt = np.sort(r)
    h = q * (n - 1)
    lo = int(np.floor(h))
    hi = min(lo + 1, n - 1)
    t = h - lo
    a = srt[lo]
    diff = srt[hi] - a
    var = a + diff * t
    if t >= 0.5:
        var = srt[hi] - diff * (1.0 - t)
    out[P_VAR] = var
    ts = 0.0
    tn = 0
    for i in range(n):
        if r[i] <= var:
            ts += r[i]
            tn += 1
    if tn > 0:
        out[P_CVAR] = ts / tn
    sk = np.nan
    ku = np.nan
    c2 = m2 / n
    if c2 != 0.0:
        if n >= 3:
            sk = (m3 / n) / c2 ** 1.5 * np.sqrt(n * (n - 1.0)) / (n - 2.0)
        if n >= 4:
            g2 = (m4 / n) / (c2 * c2) - 3.0
            ku = ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0))
    out[P_SKEW] = sk
    out[P_KURT] = ku
    out[P_BEST] = best
    out[P_WORST] = worst
    out[P_POSITIVE] = pos / n
    out[P_PSR] = psr_nb(sr, n, sk, ku, 0.0)
    if n >= 2:
        out[P_DSR] = psr_nb(sr, n, sk, ku, 1.0 / np.sqrt(n - 1.0) * k_dsr)


@njit(cache=True, error_model="numpy")
def relative_stats_nb(x, y, P, rp, ddof, out):
    """Alpha (arithmetic, annualised), beta, information ratio, tracking error and correlation
    of the paired finite returns ``x`` (strategy) and ``y`` (benchmark); see REL_KEYS."""
    n = x.shape[0]
    out[:] = np.nan
    if n < 2:
        if n > ddof:  # n == 1 with ddof 0: a zero tracking error, no information ratio
            out[3] = 0.0 * np.sqrt(P)
        return
    sq = np.sqrt(P)
    sx = 0.0
    sy = 0.0
    sa = 0.0
    sxr = 0.0
    syr = 0.0
    amax = 0.0
    x_const = True
    y_const = True
    a_const = True
    for i in range(n):
        sx += x[i] - rp
        sy += y[i] - rp
        sxr += x[i]
        syr += y[i]
        a = x[i] - y[i]
        sa += a
        if abs(a) > amax:
            amax = abs(a)
        x_const = x_const and x[i] == x[0]
        y_const = y_const and y[i] == y[0]
        a_const = a_const and a == x[0] - y[0]
    mx = sx / n
    my = sy / n
    ma = sa / n
    mxr = sxr / n
    myr = syr / n
    # a constant series: its mean is that value exactly (no dispersion, as numpy finds it)
    if x_const:
        mx = x[0] - rp
        mxr = x[0]
    if y_const:
        my = y[0] - rp
        myr = y[0]
    if a_const:
        ma = x[0] - y[0]
    cyy = 0.0
    cxy = 0.0
    caa = 0.0
    vx = 0.0
    vy = 0.0
    cr = 0.0
    for i in range(n):
        dy = (y[i] - rp) - my
        dx = (x[i] - rp) - mx
        cyy += dy * dy
        cxy += dy * dx
        da = (x[i] - y[i]) - ma
        caa += da * da
        ex = x[i] - mxr
        ey = y[i] - myr
        vx += ex * ex
        vy += ey * ey
        cr += ex * ey
    var = cyy / n
    if not var < 1e-30:
        beta = (cxy / n) / var
        out[1] = beta
        if np.isfinite(beta):
            s = 0.0
            for i in range(n):
                s += (x[i] - rp) - beta * (y[i] - rp)
            out[0] = s / n * P
    if n > ddof:
        te = np.sqrt(caa / (n - ddof))
        out[3] = te * sq
        if np.isfinite(te) and not te <= 1e-12 * amax:
            out[2] = ma / te * sq
    if vx != 0.0 and vy != 0.0:
        c = (cr / (n - 1)) / np.sqrt(vx / (n - 1)) / np.sqrt(vy / (n - 1))
        out[4] = min(1.0, max(-1.0, c))


@functools.lru_cache(maxsize=64)
def _constants(var_level: float, n_trials: int) -> tuple[float, float, float, float]:
    """(q, z, tail, k_dsr) of period_stats_nb for a VaR level and a number of trials."""
    nd = NormalDist()
    a = 1.0 - var_level
    q = 100.0 * (1.0 - var_level) / 100.0  # numpy.percentile's quantile of the same level
    return q, nd.inv_cdf(1.0 - var_level), nd.pdf(nd.inv_cdf(a)) / a, \
        expected_max_sharpe(n_trials, 1.0)


def period_stats(r: np.ndarray, P: float, conventions, n_trials: int = 1) -> np.ndarray:
    """:func:`period_stats_nb` of the finite returns ``r`` under ``conventions``
    (a :class:`reports.metrics.Conventions`); ``n_trials`` for the deflated Sharpe."""
    c = conventions
    q, z, tail, k = _constants(float(c.var_level), int(n_trials))
    out = np.empty(N_PERIOD)
    period_stats_nb(np.ascontiguousarray(r, dtype=np.float64), float(P),
                    per_period_rate(c.risk_free, P), int(c.ddof), q, z, tail, k, out)
    return out


def relative_stats(x: np.ndarray, y: np.ndarray, P: float, conventions) -> np.ndarray:
    """:func:`relative_stats_nb` of paired finite returns (strategy ``x``, benchmark ``y``)."""
    out = np.empty(N_REL)
    relative_stats_nb(np.ascontiguousarray(x, dtype=np.float64),
                      np.ascontiguousarray(y, dtype=np.float64), float(P),
                      per_period_rate(conventions.risk_free, P), int(conventions.ddof), out)
    return out


# --- per closed round trip -------------------------------------------------------------------

#: out[] of trade_stats_nb, in stats.json order
TRADE_KEYS = ("n_trades", "n_open_trades", "n_long_trades", "n_short_trades", "win_rate",
              "avg_win", "avg_loss", "payoff_ratio", "profit_factor", "expectancy",
              "gross_profit", "gross_loss", "avg_trade_return", "best_trade_return",
              "worst_trade_return", "avg_holding_s", "max_holding_s", "max_consecutive_wins",
              "max_consecutive_losses")
N_TRADE = len(TRADE_KEYS)
TRADE_INTS = (0, 1, 2, 3, 17, 18)  # the counts


@njit(cache=True, error_model="numpy")
def trade_stats_nb(closed, pnl, ret, long, hold, out):
    """The statistics of the CLOSED round trips (``closed`` True) among all of them
    (metrics_trades.trade_stats, in one pass): counts, win rate, average win / loss, payoff,
    profit factor (inf without a loss), expectancy, gross profit / loss, trade returns
    (``ret`` may be empty: no return column), holding times, longest winning / losing
    streaks. Sums are sequential in trade order; undefined values are nan."""
    n = closed.shape[0]
    has_ret = ret.shape[0] == n
    nc = 0
    n_long = 0
    wins = 0
    losses = 0
    gp = 0.0
    gl = 0.0
    total = 0.0
    rs = 0.0
    rbest = -np.inf
    rworst = np.inf
    rnan = False
    hs = 0.0
    hmax = -np.inf
    hnan = False
    run_w = 0
    run_l = 0
    best_w = 0
    best_l = 0
    for i in range(n):
        if not closed[i]:
            continue
        nc += 1
        if long[i]:
            n_long += 1
        p = pnl[i]
        total += p
        if p > 0.0:
            wins += 1
            gp += p
            run_w += 1
            best_w = max(best_w, run_w)
        else:
            run_w = 0
        if p < 0.0:
            losses += 1
            gl += p
            run_l += 1
            best_l = max(best_l, run_l)
        else:
            run_l = 0
        if has_ret:
            r = ret[i]
            rs += r
            if r != r:
                rnan = True
            if r > rbest:
                rbest = r
            if r < rworst:
                rworst = r
        h = hold[i]
        hs += h
        if h != h:
            hnan = True
        if h > hmax:
            hmax = h
    out[:] = np.nan
    out[0] = nc
    out[1] = n - nc
    out[2] = n_long
    out[3] = nc - n_long
    out[10] = gp
    out[11] = gl
    out[17] = best_w
    out[18] = best_l
    if nc == 0:
        return
    out[4] = wins / nc
    aw = gp / wins if wins else np.nan
    al = gl / losses if losses else np.nan
    out[5] = aw
    out[6] = al
    if np.isfinite(aw) and np.isfinite(al) and al != 0.0:
        out[7] = aw / abs(al)
    if gl == 0.0:
        out[8] = np.inf if gp > 0.0 else np.nan
    else:
        out[8] = gp / -gl
    out[9] = total / nc
    if has_ret:
        out[12] = rs / nc
        out[13] = np.nan if rnan else rbest
        out[14] = np.nan if rnan else rworst
    out[15] = hs / nc
    out[16] = np.nan if hnan else hmax


def trade_stats(closed: np.ndarray, pnl: np.ndarray, ret: np.ndarray | None, long: np.ndarray,
                hold: np.ndarray) -> dict[str, float | int]:
    """:func:`trade_stats_nb` as the stats.json dict (counts as ints)."""
    out = np.empty(N_TRADE)
    trade_stats_nb(np.ascontiguousarray(closed, dtype=np.bool_),
                   np.ascontiguousarray(pnl, dtype=np.float64),
                   np.zeros(0) if ret is None else np.ascontiguousarray(ret, dtype=np.float64),
                   np.ascontiguousarray(long, dtype=np.bool_),
                   np.ascontiguousarray(hold, dtype=np.float64), out)
    vals = out.tolist()
    for j in TRADE_INTS:
        vals[j] = int(vals[j])
    return dict(zip(TRADE_KEYS, vals, strict=True))
