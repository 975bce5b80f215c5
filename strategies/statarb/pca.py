"""Residual mean reversion against principal components (Avellaneda & Lee, 2010).

At a decision bar t, with simple returns ``R`` of the stocks that have prices over the whole
window ``[t - corr_window, t]``:

1. standardise the last ``corr_window`` returns, take the top ``n_factors`` eigenvectors ``v_j``
   of their correlation matrix; eigenportfolio ``j`` holds ``Q_ij = v_ij / sigma_i`` of stock i
   (sign fixed so that ``sum_i v_ij >= 0``), its return is ``F_j = sum_i Q_ij R_i``;
2. regress each stock's last ``reg_window`` returns on ``[1, F]``: loadings ``beta_i``,
   residuals ``eps_i``;
3. fit ``X_{l+1} = a + b X_l + zeta`` to the cumulated residual ``X = cumsum(eps)``:
   ``kappa = -ln(b) * periods``, ``m = a / (1 - b)``, ``sigma_eq = sqrt(var(zeta) / (1 - b^2))``
   and the s-score ``s = (X_last - (m - mean(m))) / sigma_eq`` (means centred across stocks,
   as in the paper); stocks with ``b`` outside (0, 1) or ``kappa < min_kappa`` get no score.

Signals keep state between decision bars: open long when ``s < -s_open``, short when
``s > s_open``; close a long when ``s > -s_close_long``, a short when ``s < s_close_short``.
A position of ``w_i`` dollars in stock i is hedged with ``-w_i beta_ij`` dollars of
eigenportfolio j, so the net stock weights are ``w - Q (beta' w)``: their in-sample return has
zero covariance with every factor (the first one is the market). Weights are scaled to a gross
exposure of ``leverage``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from data.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class ResidualModel:
    """The model fitted at one decision bar over the columns ``cols`` of the universe."""

    cols: np.ndarray  # indices of the stocks used
    q: np.ndarray  # (n, k) eigenportfolio weights
    beta: np.ndarray  # (n, k) factor loadings
    kappa: np.ndarray  # (n,) mean-reversion speed per year (NaN: not mean-reverting)
    s_score: np.ndarray  # (n,) NaN where the stock is filtered out
    explained: float  # fraction of variance of the standardised returns the factors explain


def _ols_columns(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (p, n) and residuals (L, n) of each column of ``y`` on ``X``."""
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef, y - X @ coef


def fit_residual_model(returns: np.ndarray, *, n_factors: int, reg_window: int,
                       periods: float = 252.0, min_kappa: float = 0.0) -> ResidualModel:  # fmt: skip
    """Fit the model to ``returns`` (rows: time, oldest first; columns: stocks; no NaN)."""
    W, n = returns.shape
    k = min(n_factors, n - 1)
    sd = returns.std(axis=0, ddof=1)
    Y = (returns - returns.mean(axis=0)) / sd
    corr = (Y.T @ Y) / (W - 1)
    vals, vecs = np.linalg.eigh(corr)
    order = np.argsort(vals)[::-1][:k]
    v = vecs[:, order]
    v = v * np.where(v.sum(axis=0) < 0, -1.0, 1.0)
    q = v / sd[:, None]
    R = returns[-reg_window:]
    F = R @ q
    X = np.column_stack([np.ones(reg_window), F])
    coef, eps = _ols_columns(R, X)
    beta = coef[1:].T  # (n, k)
    cum = np.cumsum(eps, axis=0)
    lag, lead = cum[:-1], cum[1:]
    mx, my = lag.mean(axis=0), lead.mean(axis=0)
    dx = lag - mx
    sxx = (dx * dx).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (dx * (lead - my)).sum(axis=0) / sxx
        a = my - b * mx
        zeta = lead - (a + b * lag)
        var_z = (zeta * zeta).sum(axis=0) / (len(lag) - 2)
        ok = (b > 0) & (b < 1) & np.isfinite(b)
        kappa = np.where(ok, -np.log(np.where(ok, b, 0.5)) * periods, np.nan)
        m = np.where(ok, a / (1 - b), np.nan)
        sig_eq = np.where(ok, np.sqrt(var_z / (1 - b * b)), np.nan)
        ok &= kappa >= min_kappa
        m_c = m - np.nanmean(np.where(ok, m, np.nan)) if ok.any() else m
        s = np.where(ok, (cum[-1] - m_c) / sig_eq, np.nan)
    return ResidualModel(np.arange(n), q, beta, kappa, s, float(vals[order].sum() / n))


def hedged_weights(model: ResidualModel, side: np.ndarray, leverage: float) -> np.ndarray:
    """Net stock weights of ``side`` (+1 long / -1 short / 0 per stock) with factor hedges,
    scaled to gross ``leverage`` (all zero when no position is open)."""
    w = side.astype(np.float64)
    net = w - model.q @ (model.beta.T @ w)
    gross = np.abs(net).sum()
    if gross <= 0 or not np.any(w):
        return np.zeros_like(net)
    return net * (leverage / gross)


@dataclasses.dataclass(frozen=True)
class BasketParams:
    corr_window: int = 252
    reg_window: int = 60
    n_factors: int = 3
    s_open: float = 1.25
    s_close_long: float = 0.5
    s_close_short: float = 0.75
    min_kappa: float | None = None  # default 2 * periods / reg_window (reversion < half window)
    leverage: float = 1.0
    periods: float = 252.0

    def resolved_min_kappa(self) -> float:
        if self.min_kappa is None or self.min_kappa < 0:
            return 2.0 * self.periods / self.reg_window
        return self.min_kappa

    def check(self) -> BasketParams:
        if self.reg_window < 10 or self.corr_window < self.reg_window:
            raise ConfigError("need 10 <= reg_window <= corr_window", argument="reg_window",
                              value=(self.reg_window, self.corr_window),
                              fix="use e.g. reg_window=60, corr_window=252")  # fmt: skip
        if self.n_factors < 1:
            raise ConfigError("n_factors must be >= 1", argument="n_factors",
                              value=self.n_factors, fix="use e.g. 3 for 20 stocks")  # fmt: skip
        if not (0 <= self.s_close_long < self.s_open and 0 <= self.s_close_short < self.s_open):
            raise ConfigError("close thresholds must lie in [0, s_open)", argument="s_open",
                              value=(self.s_open, self.s_close_long, self.s_close_short),
                              fix="use e.g. s_open=1.25, s_close_long=0.5, s_close_short=0.75")  # fmt: skip
        return self


def basket_step(window_closes: np.ndarray, side: np.ndarray, params: BasketParams,
                min_kappa: float) -> tuple[np.ndarray | None, np.ndarray]:  # fmt: skip
    """One decision from the last ``corr_window + 1`` closes ``(W+1, N)``: ``(weights, sides)``;
    weights is None (and sides unchanged) when fewer than ``n_factors + 2`` stocks have a full
    window. Stocks without a full window are closed (weight 0, side 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        window = window_closes[1:] / window_closes[:-1] - 1.0
    N = window.shape[1]
    cols = np.flatnonzero(np.isfinite(window).all(axis=0))
    if len(cols) < params.n_factors + 2:
        return None, side
    model = fit_residual_model(window[:, cols], n_factors=params.n_factors,
                               reg_window=params.reg_window, periods=params.periods,
                               min_kappa=min_kappa)  # fmt: skip
    s = np.full(N, np.nan)
    s[cols] = model.s_score
    new = next_sides(side, s, params)
    active = np.zeros(N, dtype=bool)
    active[cols] = True
    new[~active] = 0
    row = np.zeros(N)
    row[cols] = hedged_weights(model, new[cols], params.leverage)
    return row, new


def basket_weights(closes: np.ndarray, decide: np.ndarray, params: BasketParams) -> np.ndarray:
    """Target weights ``(T, N)`` from closes ``(T, N)`` (NaN = no price): a row of weights on
    each bar where ``decide`` is True and a full window exists, NaN rows elsewhere (keep the
    current positions). Row t uses ``closes[:t+1]`` only."""
    params = params.check()
    T, N = closes.shape
    out = np.full((T, N), np.nan)
    side = np.zeros(N, dtype=np.int64)
    W = params.corr_window
    for t in np.flatnonzero(decide):
        if t < W:
            continue
        row, side = basket_step(closes[t - W : t + 1], side, params, params.resolved_min_kappa())
        if row is not None:
            out[t] = row
    return out


def next_sides(side: np.ndarray, s: np.ndarray, p: BasketParams) -> np.ndarray:
    """Apply the open/close thresholds to the current sides (NaN score: close)."""
    new = side.copy()
    valid = np.isfinite(s)
    new[~valid] = 0
    flat = valid & (side == 0)
    new[flat & (s < -p.s_open)] = 1
    new[flat & (s > p.s_open)] = -1
    new[valid & (side == 1) & (s > -p.s_close_long)] = 0
    new[valid & (side == -1) & (s < p.s_close_short)] = 0
    return new
