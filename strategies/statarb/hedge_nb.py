"""Numba kernels for pair hedge ratios and z-scores (causal: output at t uses inputs <= t).

All kernels take float64 arrays, write into caller-allocated outputs and return a status code
(``OK`` or ``BAD_LENGTH``); they never raise. NaN inputs propagate as NaN outputs: a window
containing a NaN gives NaN, and the Kalman filter skips the update on a NaN observation (its
state is carried forward, the outputs at that step are NaN).
"""

from __future__ import annotations

import numpy as np
from numba import njit

OK = 0
BAD_LENGTH = 1


@njit(cache=True)
def rolling_ols_nb(y, x, window, beta, alpha):
    """OLS of ``y`` on ``[1, x]`` over each trailing window ``[t-window+1, t]``.

    ``beta[t]``/``alpha[t]`` are NaN before the first full window, when the window holds a NaN
    or when ``x`` has no variance in it. Sums are taken around the window means (two passes per
    window, O(n * window)), which avoids the cancellation of running sums on price levels.
    """
    n = y.shape[0]
    if x.shape[0] != n or beta.shape[0] != n or alpha.shape[0] != n or window < 2:
        return BAD_LENGTH
    for t in range(n):
        beta[t] = np.nan
        alpha[t] = np.nan
        if t + 1 < window:
            continue
        sx = 0.0
        sy = 0.0
        ok = True
        for k in range(t - window + 1, t + 1):
            if np.isnan(x[k]) or np.isnan(y[k]):
                ok = False
                break
            sx += x[k]
            sy += y[k]
        if not ok:
            continue
        mx = sx / window
        my = sy / window
        sxx = 0.0
        sxy = 0.0
        for k in range(t - window + 1, t + 1):
            dx = x[k] - mx
            sxx += dx * dx
            sxy += dx * (y[k] - my)
        if sxx <= 0.0:
            continue
        b = sxy / sxx
        beta[t] = b
        alpha[t] = my - b * mx
    return OK


@njit(cache=True)
def kalman_hedge_nb(y, x, delta, ve, beta, alpha, err, q):
    """Kalman filter for ``y_t = beta_t * x_t + alpha_t + e_t`` with random-walk coefficients.

    State ``[beta, alpha]`` starts at 0 with covariance 0; state noise ``Vw = delta/(1-delta) I``,
    observation noise ``ve`` (the parametrisation of E. Chan, *Algorithmic Trading*, 2013, ch. 3).
    Per step: ``R = P + Vw``; ``e = y - F theta`` with ``F = [x, 1]`` (forecast error, uses the
    state before seeing ``y_t``); ``Q = F R F' + ve``; ``K = R F' / Q``; ``theta += K e``;
    ``P = R - K F R``. Outputs: the updated state (``beta``, ``alpha``), ``err`` = e and
    ``q`` = Q, so ``err / sqrt(q)`` is a standardised forecast error.
    """
    n = y.shape[0]
    if x.shape[0] != n or beta.shape[0] != n or alpha.shape[0] != n:
        return BAD_LENGTH
    if err.shape[0] != n or q.shape[0] != n:
        return BAD_LENGTH
    vw = delta / (1.0 - delta)
    b = 0.0
    a = 0.0
    p00 = 0.0
    p01 = 0.0
    p11 = 0.0
    for t in range(n):
        # predict: random walk adds Vw to the covariance
        r00 = p00 + vw
        r01 = p01
        r11 = p11 + vw
        if np.isnan(x[t]) or np.isnan(y[t]):
            p00 = r00
            p01 = r01
            p11 = r11
            beta[t] = np.nan
            alpha[t] = np.nan
            err[t] = np.nan
            q[t] = np.nan
            continue
        f0 = x[t]
        e = y[t] - (f0 * b + a)
        # R F'
        rf0 = r00 * f0 + r01
        rf1 = r01 * f0 + r11
        qq = f0 * rf0 + rf1 + ve
        k0 = rf0 / qq
        k1 = rf1 / qq
        b += k0 * e
        a += k1 * e
        # P = R - K (F R) ; F R = (R F')' since R is symmetric
        p00 = r00 - k0 * rf0
        p01 = r01 - k0 * rf1
        p11 = r11 - k1 * rf1
        beta[t] = b
        alpha[t] = a
        err[t] = e
        q[t] = qq
    return OK


@njit(cache=True)
def rolling_zscore_nb(s, window, out):
    """``(s[t] - mean) / std`` over the trailing ``window`` values ``s[t-window+1..t]``
    (std with ddof=1). NaN before a full window, on a NaN in the window, or a zero std."""
    n = s.shape[0]
    if out.shape[0] != n or window < 2:
        return BAD_LENGTH
    for t in range(n):
        out[t] = np.nan
        if t + 1 < window:
            continue
        m = 0.0
        ok = True
        for k in range(t - window + 1, t + 1):
            if np.isnan(s[k]):
                ok = False
                break
            m += s[k]
        if not ok:
            continue
        m /= window
        v = 0.0
        for k in range(t - window + 1, t + 1):
            d = s[k] - m
            v += d * d
        sd = np.sqrt(v / (window - 1))
        if sd > 0.0:
            out[t] = (s[t] - m) / sd
    return OK
