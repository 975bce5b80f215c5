"""Metrics of a run, with stated conventions: the one entry point is :func:`compute_stats`.

    from reports.metrics import Conventions, compute_stats
    stats = compute_stats(equity, trades=trades, benchmark=benchmark)

``equity`` is the account value at every recorded step (bars or ticks), indexed by a tz-aware
UTC DatetimeIndex. Returns are simple returns of equity SAMPLED at the declared frequency
(``Conventions.sampling``, daily by default: the last recorded value of each UTC day), measured
from the first recorded value (the starting capital), so a loss in the first period counts.
Every metric is computed by the numba kernels of ``metrics_nb`` (their one implementation;
``metrics_returns`` / ``metrics_sharpe`` name them one by one), the tables by ``metrics_tables``;
formulas and the differences with other libraries are in docs/metrics.md.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np
import pandas as pd

from data.errors import ConfigError, DataError
from reports import metrics_tables as mt
from reports import metrics_trades as mtr
from reports.metrics_nb import (
    E_DD_STEPS,
    P_CAGR,
    P_DSR,
    P_MDD,
    P_PSR,
    P_SHARPE,
    P_VOL,
    REL_KEYS,
    RETURN_KEYS,
    equity_pass,
    period_stats,
    relative_stats,
)
from reports.timeutil import NS_PER_DAY, NS_PER_YEAR, iso, ns

Sampling = Literal["D", "W", "M", "none"]
SATURDAY_SHARE_FOR_365 = 0.05

__all__ = [
    "Conventions",
    "compute_stats",
    "period_returns",
    "sample_equity",
    "to_jsonable",
]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Conventions:
    """How returns are sampled and annualised; printed in every report and stats.json.

    - ``periods_per_year``: ``"auto"`` (365 when the data trades on weekends, else 252, for
      daily sampling; 52 weekly; 12 monthly; for ``"none"`` the observed steps per calendar
      year) or a number.
    - ``risk_free``: annual rate, converted geometrically per period ``(1+R)^(1/P) - 1``.
    - ``ddof``: delta degrees of freedom of standard deviations (1 = sample std).
    - ``sampling``: ``"D"``, ``"W"`` (weeks Monday-Sunday), ``"M"`` (calendar months), all in
      UTC, taking the last recorded value per period; ``"none"`` uses every recorded step.
    - ``var_level``: confidence of VaR / CVaR (0.95 = the 5 % left tail).
    - ``rolling_window``: periods in the rolling Sharpe / volatility window.
    - ``step`` / ``periods_basis``: for ``"none"`` sampling of an equity recorded at a declared
      interval (tick runs), the interval (e.g. ``"1s"``) and how ``periods_per_year`` follows
      from it and the market calendar; stated in stats.json and the report.
    """

    periods_per_year: int | float | Literal["auto"] = "auto"
    risk_free: float = 0.0
    ddof: int = 1
    sampling: Sampling = "D"
    var_level: float = 0.95
    rolling_window: int = 126
    step: str | None = None
    periods_basis: str | None = None

    def __post_init__(self) -> None:
        ppy = self.periods_per_year
        if not (ppy == "auto" or (isinstance(ppy, int | float) and not isinstance(ppy, bool)
                                  and math.isfinite(ppy) and ppy > 0)):
            raise ConfigError("periods_per_year must be 'auto' or a positive number",
                              argument="periods_per_year", value=ppy, fix="use e.g. 252 or 365")
        if self.sampling not in ("D", "W", "M", "none"):
            raise ConfigError("unknown sampling", argument="sampling", value=self.sampling,
                              fix="use 'D', 'W', 'M' or 'none'")
        if not (isinstance(self.risk_free, int | float) and -1.0 < self.risk_free < 1.0):
            raise ConfigError("risk_free must be an annual rate as a fraction in (-1, 1)",
                              argument="risk_free", value=self.risk_free, fix="e.g. 0.02 for 2 %")
        if self.ddof not in (0, 1):
            raise ConfigError("ddof must be 0 or 1", argument="ddof", value=self.ddof,
                              fix="use 1 (sample standard deviation) or 0")
        if not 0.5 <= self.var_level < 1.0:
            raise ConfigError("var_level must be in [0.5, 1)", argument="var_level",
                              value=self.var_level, fix="e.g. 0.95 or 0.99")
        if not (isinstance(self.rolling_window, int) and self.rolling_window >= 2):
            raise ConfigError("rolling_window must be an integer >= 2", argument="rolling_window",
                              value=self.rolling_window, fix="e.g. 126 (about six months)")

    def resolve_periods(self, index: pd.DatetimeIndex) -> float:
        """The numeric periods per year for data on ``index`` (all recorded steps)."""
        if self.periods_per_year != "auto":
            return self.periods_per_year
        if self.sampling == "W":
            return 52
        if self.sampling == "M":
            return 12
        if self.sampling == "D":
            return 365 if trades_on_weekends(index) else 252
        t = ns(index)
        span = (t[-1] - t[0]) / NS_PER_YEAR if len(index) > 1 else 0.0
        return (len(index) - 1) / span if span > 0 else 252

    def as_dict(self, periods: float | None = None) -> dict[str, Any]:
        """The conventions for stats.json (``periods_per_year`` resolved when given)."""
        d = dataclasses.asdict(self)
        d["periods_per_year_setting"] = self.periods_per_year
        if periods is not None:
            d["periods_per_year"] = periods
        d["returns"] = "simple"
        d["sharpe"] = "mean(excess)/std(excess, ddof)*sqrt(P)"
        d["sortino_downside"] = "sqrt(sum(min(excess,0)^2)/N_all)"
        d["cagr_base"] = "periods: prod(1+r)^(P/N)-1"
        d["max_drawdown"] = "compounded path from the starting capital"
        d["var_method"] = "historical (linear quantile)"
        d["alpha"] = "arithmetic: mean(x - beta*y)*P"
        return d


def trades_on_weekends(index: pd.DatetimeIndex) -> bool:
    """True when Saturdays make up at least 5 % of the UTC days with data (crypto ~14 %)."""
    days = np.unique(ns(index) // NS_PER_DAY)
    if days.size == 0:
        return False
    saturday = (days + 3) % 7 == 5  # 1970-01-01 was a Thursday; Monday = 0
    return bool(saturday.mean() >= SATURDAY_SHARE_FOR_365)


# --- input checks and sampling ----------------------------------------------------------------


def _check_series(s: pd.Series, name: str) -> pd.Series:
    if not isinstance(s, pd.Series):
        raise ConfigError(f"{name} must be a pandas Series", argument=name,
                          value=type(s).__name__, fix="pass a float Series indexed by UTC time")
    if not isinstance(s.index, pd.DatetimeIndex):
        raise ConfigError(f"{name} must be indexed by a DatetimeIndex", argument=name,
                          value=type(s.index).__name__, fix="set the time column as index")
    if s.index.tz is None:
        raise ConfigError(f"{name} index must be time zone aware (UTC)", argument=name,
                          fix=f"use {name}.tz_localize('UTC')")
    s = s.astype(np.float64)
    if s.index.tz != "UTC" or s.index.unit != "ns":
        s = s.copy()
        s.index = s.index.tz_convert("UTC").as_unit("ns")
    bad = np.flatnonzero(~np.isfinite(s.to_numpy()))
    if bad.size:
        raise DataError(f"{name} has a non-finite value", argument=name, row=int(bad[0]),
                        value=str(s.index[bad[0]]), fix="drop or fill the missing values")
    if not s.index.is_monotonic_increasing:
        raise DataError(f"{name} index is not sorted by time", argument=name,
                        fix=f"use {name}.sort_index()")
    return s


def _period_keys(ts: np.ndarray, sampling: str, index: pd.DatetimeIndex) -> np.ndarray:
    days = ts // NS_PER_DAY
    if sampling == "D":
        return days
    if sampling == "W":
        return (days + 3) // 7  # weeks Monday..Sunday
    return index.year.to_numpy(np.int64) * 12 + index.month.to_numpy(np.int64)


def sample_positions(index: pd.DatetimeIndex, sampling: str) -> np.ndarray:
    """Positions of the sampled points: the first recorded step (the base) and the last step
    of every period (the first period's last step is the base itself when it is alone)."""
    n = len(index)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if sampling == "none":
        return np.arange(n, dtype=np.int64)
    keys = _period_keys(ns(index), sampling, index)
    lasts = np.append(np.flatnonzero(keys[1:] != keys[:-1]), n - 1)
    return lasts if lasts[0] == 0 else np.concatenate(([0], lasts))


def sample_equity(equity: pd.Series, sampling: str = "D") -> pd.Series:
    """The equity points returns are measured between (see :func:`sample_positions`)."""
    return equity.iloc[sample_positions(equity.index, sampling)]


def period_returns(
    equity: pd.Series, conventions: Conventions = Conventions()
) -> pd.Series:
    """Simple returns of the sampled equity, indexed by each period's last stamp."""
    equity = _check_series(equity, "equity")
    return _returns_of(sample_equity(equity, conventions.sampling))


def _returns_of(points: pd.Series) -> pd.Series:
    v = points.to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = v[1:] / v[:-1] - 1.0
    r[~np.isfinite(r) | (v[:-1] <= 0)] = np.nan
    return pd.Series(r, index=points.index[1:], name="return")


def to_jsonable(value: Any) -> Any:
    """NaN / inf -> None, numpy scalars -> Python, timestamps -> ISO 8601 UTC strings."""
    t = type(value)
    if t is float:  # the common cases first (a sweep converts ~90 values per row)
        return value if math.isfinite(value) else None
    if t is int or t is str or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if value is pd.NaT:  # e.g. the recovery of a drawdown that never recovered
        return None
    if isinstance(value, pd.Timestamp):
        return iso(value)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


# --- the entry point ----------------------------------------------------------------------------


def compute_stats(
    equity: pd.Series,
    *,
    trades: pd.DataFrame | None = None,
    benchmark: pd.Series | None = None,
    conventions: Conventions = Conventions(),
    fills: pd.DataFrame | None = None,
    n_trials: int = 1,
    exposure: pd.Series | None = None,
) -> dict[str, Any]:
    """Every scalar metric of a run as a flat JSON-ready dict (fractions, not percent).

    ``trades`` / ``fills`` are frames with the trades.csv / fills.csv columns of
    docs/RUN_FOLDER.md; ``benchmark`` is a buy-and-hold equity series on the same clock;
    ``exposure`` is equity.csv's ``exposure`` column (gross position value / equity);
    ``n_trials`` is how many configurations were tried to pick this one (deflated Sharpe).
    Undefined values are ``None``. ``conventions`` is included as a nested dict.
    """
    if not isinstance(conventions, Conventions):
        raise ConfigError("conventions must be a reports.metrics.Conventions",
                          argument="conventions", value=type(conventions).__name__,
                          fix="use Conventions(periods_per_year=..., ...)")
    if not (isinstance(n_trials, int | np.integer) and n_trials >= 1):
        raise ConfigError("n_trials must be an integer >= 1", argument="n_trials",
                          value=n_trials, fix="pass the number of configurations tried")
    equity = _check_series(equity, "equity")
    if len(equity) == 0:
        raise DataError("equity is empty", argument="equity", fix="record at least one step")
    c = conventions
    P = c.resolve_periods(equity.index)
    pos = sample_positions(equity.index, c.sampling)
    rets = _returns_of(equity.iloc[pos])
    r = rets.dropna().to_numpy()
    t0, t1 = ns(equity.index[[0, -1]])
    out: dict[str, Any] = {
        "start": iso(equity.index[0]),
        "end": iso(equity.index[-1]),
        "years": (t1 - t0) / NS_PER_YEAR,
        "n_steps": int(len(equity)),
        "n_periods": int(r.size),
        "initial_equity": float(equity.iloc[0]),
        "final_equity": float(equity.iloc[-1]),
        "total_return": float(equity.iloc[-1] / equity.iloc[0] - 1.0)
        if equity.iloc[0] > 0 else math.nan,
    }
    ps = period_stats(r, P, c, int(n_trials))  # every metric of r, one kernel call
    out.update(_returns_block(ps))
    out.update(_drawdown_block(equity, pos, rets, ps))
    out.update(_sharpe_block(ps, int(n_trials)))
    out.update(_benchmark_block(rets, equity, pos, benchmark, P, c))
    out.update(mtr.trade_stats(trades))
    out.update(_activity_block(equity, trades, fills, exposure))
    out["conventions"] = c.as_dict(P)
    _add_undefined(out, r.size, P, c, int(t1 - t0))
    return to_jsonable(out)


def _add_undefined(out: dict[str, Any], n: int, P: float, c: Conventions, span_ns: int) -> None:
    """``out["undefined"]``: why period metrics are null (too few returns, or an annualised
    figure that is not finite), instead of a bare null."""
    per = c.step or {"D": "day", "W": "week", "M": "month", "none": "step"}[c.sampling]
    if n < 2:
        why = (f"needs at least 2 sampled returns; this run has {n} "
               f"(sampled every {per}, run span {span_ns / 1e9:g} s)")
    else:
        why = (f"not finite: {n} returns sampled every {per} annualised with "
               f"{P:g} periods a year (too short a run for this metric)")
    undefined = {k: why for k in _PERIOD_METRICS if k in out
                 and (out[k] is None or (isinstance(out[k], float) and not math.isfinite(out[k])))}
    if n < 2 or undefined.keys() & {"cagr", "calmar"}:
        out["undefined"] = undefined


#: metrics computed from the sampled returns (null with a reason when there are too few)
_PERIOD_METRICS = ("cagr", "volatility", "sharpe", "sortino", "calmar", "omega", "var", "cvar",
                   "var_normal", "cvar_normal", "skew", "kurtosis", "best_period", "worst_period",
                   "positive_periods", "probabilistic_sharpe", "deflated_sharpe", "alpha", "beta",
                   "information_ratio",
                   "tracking_error", "correlation")


def _returns_block(ps: np.ndarray) -> dict[str, float]:
    """The metrics of the sampled returns from :func:`reports.metrics_nb.period_stats`."""
    return {k: float(ps[j]) for j, k in enumerate(RETURN_KEYS)}


def _drawdown_block(equity: pd.Series, pos: np.ndarray, rets: pd.Series,
                    ps: np.ndarray) -> dict[str, Any]:
    sampled = equity.iloc[pos]
    periods = mt.drawdown_periods(sampled)
    v = equity.to_numpy()
    deepest = periods.iloc[0] if len(periods) else None
    dur = periods["duration_days"].to_numpy(np.float64)  # numpy reductions, as StatsIndex
    monthly = mt.monthly_returns(rets.dropna()).to_numpy().ravel()
    monthly = monthly[np.isfinite(monthly)]
    return {
        "max_drawdown": float(ps[P_MDD]) if len(rets) else 0.0,
        "max_drawdown_steps": float(equity_pass(v)[E_DD_STEPS]),
        "max_drawdown_peak": None if deepest is None else deepest["peak"],
        "max_drawdown_valley": None if deepest is None else deepest["valley"],
        "max_drawdown_recovery": None if deepest is None else deepest["recovery"],
        "max_drawdown_duration_days": float(np.max(dur)) if dur.size else 0.0,
        "avg_drawdown_duration_days": float(np.mean(dur)) if dur.size else 0.0,
        "n_drawdowns": int(len(periods)),
        "best_month": float(monthly.max()) if monthly.size else math.nan,
        "worst_month": float(monthly.min()) if monthly.size else math.nan,
    }


def _sharpe_block(ps: np.ndarray, n_trials: int) -> dict[str, Any]:
    return {
        "probabilistic_sharpe": float(ps[P_PSR]),
        "deflated_sharpe": float(ps[P_DSR]),
        "n_trials": n_trials,
    }


def _benchmark_block(rets, equity, pos, benchmark, P, c) -> dict[str, Any]:
    keys = ("benchmark_total_return", "benchmark_cagr", "benchmark_volatility",
            "benchmark_sharpe", "benchmark_max_drawdown", "alpha", "beta",
            "information_ratio", "tracking_error", "correlation")
    if benchmark is None:
        return dict.fromkeys(keys, math.nan)
    b = _check_series(benchmark, "benchmark")
    if not b.index.equals(equity.index):
        b = b.reindex(equity.index, method="ffill").bfill()
    b_rets = _returns_of(b.iloc[pos])
    strat, bench = rets.to_numpy(), b_rets.to_numpy()
    ok = np.isfinite(bench)
    both = ok & np.isfinite(strat)  # periods where both are defined
    out = {"benchmark_total_return": float(b.iloc[-1] / b.iloc[0] - 1.0)}
    out.update(benchmark_stats(bench[ok], P, c))
    out.update(zip(REL_KEYS, relative_stats(strat[both], bench[both], P, c).tolist(), strict=True))
    return out


def benchmark_stats(by: np.ndarray, P: float, c: Conventions) -> dict[str, float]:
    """benchmark_cagr / _volatility / _sharpe / _max_drawdown of the benchmark's finite
    sampled returns ``by`` (the same kernel as the strategy's)."""
    bs = period_stats(by, P, c)
    return {"benchmark_cagr": float(bs[P_CAGR]), "benchmark_volatility": float(bs[P_VOL]),
            "benchmark_sharpe": float(bs[P_SHARPE]), "benchmark_max_drawdown": float(bs[P_MDD])}


def _activity_block(equity, trades, fills, exposure) -> dict[str, Any]:
    if exposure is not None:
        exposure = _check_series(exposure, "exposure")
        in_market, avg_gross = mtr.exposure_stats(exposure)
    elif trades is not None:
        t0, t1 = ns(equity.index[[0, -1]])
        in_market, avg_gross = mtr.time_in_market_from_trades(trades, t0, t1), math.nan
    else:
        in_market = avg_gross = math.nan
    return {
        "exposure": in_market,
        "avg_gross_exposure": avg_gross,
        "turnover": mtr.turnover(fills, equity),
        "fees_paid": mtr.fees_paid(fills, trades),
    }
