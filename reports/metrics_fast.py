"""The stats of many runs on one clock, fast: what :func:`reports.metrics.compute_stats` returns,
without its per-call pandas work.

A sweep computes stats for thousands of runs that share their time stamps (and benchmark); in
``compute_stats`` most of the time goes into things that depend only on the time index
(sampling positions, periods per year, month groups, step weights) and into pandas objects.
:class:`StatsIndex` computes those once; :meth:`StatsIndex.stats` then takes plain numpy arrays
and calls the SAME kernels (:mod:`reports.metrics_nb`) on the same inputs in the same order,
so every value is identical to ``compute_stats`` (tests/test_metrics_fast.py holds them together, key by key, bit for bit).

    idx = StatsIndex(ts, conventions, benchmark=bench)   # ts: int64 ns, sorted
    stats = idx.stats(equity, trades=trades, fills=fills, exposure=exposure)

``trades``: a mapping of arrays ``pnl``, ``return``, ``closed`` (bool), ``long`` (bool),
``duration_s`` (one entry per round trip, closed and open); ``fills``: ``size``, ``price``,
``fee``. Either may be None, as in ``compute_stats``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from data.errors import DataError
from reports import metrics_trades as mtr
from reports.metrics import (
    Conventions,
    _add_undefined,
    _returns_block,
    _returns_of,
    _sharpe_block,
    benchmark_stats,
    sample_positions,
    to_jsonable,
)
from reports.metrics_nb import (
    E_BAD,
    E_DD_STEPS,
    E_SUM,
    P_MDD,
    REL_KEYS,
    X_BAD,
    equity_pass_nb,
    exposure_pass_nb,
    last_weight,
    period_stats,
    relative_stats,
)
from reports.metrics_nb import trade_stats as nb_trade_stats
from reports.metrics_tables import compound, drawdown_spans
from reports.timeutil import NS_PER_DAY, NS_PER_YEAR, iso

NAN = math.nan


class StatsIndex:
    """Everything about a run's stats that depends only on its time stamps (and benchmark)."""

    def __init__(self, ts: np.ndarray, conventions: Conventions = Conventions(),  # noqa: B008 (frozen)
                 benchmark: np.ndarray | None = None) -> None:
        ts = np.ascontiguousarray(ts, dtype=np.int64)
        if ts.size == 0:
            raise DataError("equity is empty", argument="equity", fix="record at least one step")
        if ts.size > 1 and np.any(np.diff(ts) < 0):
            raise DataError("equity index is not sorted by time", argument="equity",
                            fix="sort the time stamps")
        self.ts = ts
        self.c = c = conventions
        self.index = pd.DatetimeIndex(ts.astype("datetime64[ns]")).tz_localize("UTC")
        self.P = c.resolve_periods(self.index)
        self.pos = sample_positions(self.index, c.sampling)
        self.sampled_ts = ts[self.pos]
        self.start, self.end = iso(self.index[0]), iso(self.index[-1])
        self.years = (ts[-1] - ts[0]) / NS_PER_YEAR
        # months of the sampled returns (each return is stamped with its period's last step)
        rts = self.index[self.pos][1:]
        self.month_key = rts.year.to_numpy(np.int64) * 12 + rts.month.to_numpy(np.int64)
        self.w_last = last_weight(ts)  # the last step's weight (exposure_pass_nb)
        self.conventions = c.as_dict(self.P)
        self.bench: dict[str, Any] | None = None
        if benchmark is not None:
            b = np.asarray(benchmark, dtype=np.float64)
            if b.shape != ts.shape or not np.isfinite(b).all():
                raise DataError("the benchmark must be finite and on the equity's clock",
                                argument="benchmark", fix="pass one value per equity step")
            b_rets = _returns_of(pd.Series(b[self.pos])).to_numpy()
            ok = np.isfinite(b_rets)
            self.bench = {"rets": b_rets, "ok": ok,
                          "benchmark_total_return": float(b[-1] / b[0] - 1.0)}
            self.bench.update(benchmark_stats(b_rets[ok], self.P, c))

    def stats(self, equity: np.ndarray, *, trades: Mapping[str, np.ndarray] | None = None,
              fills: Mapping[str, np.ndarray] | None = None, exposure: np.ndarray | None = None,
              n_trials: int = 1) -> dict[str, Any]:
        """The stats dict of one run (see the module docstring)."""
        c, P = self.c, self.P
        v = np.ascontiguousarray(equity, dtype=np.float64)
        if v.shape != self.ts.shape:
            raise DataError("equity must have one value per time stamp", argument="equity",
                            value=v.shape, fix="pass the equity on the index's clock")
        ep = np.empty(3)
        equity_pass_nb(v, ep)  # first non-finite step, step drawdown, sum (one pass)
        if ep[E_BAD] >= 0:
            bad = int(ep[E_BAD])
            raise DataError("equity has a non-finite value", argument="equity", row=bad,
                            value=str(self.index[bad]), fix="drop or fill the missing values")
        pts = v[self.pos]
        with np.errstate(divide="ignore", invalid="ignore"):
            rets = pts[1:] / pts[:-1] - 1.0
        rets[~np.isfinite(rets) | (pts[:-1] <= 0)] = np.nan
        finite = ~np.isnan(rets)
        r = rets[finite]
        out: dict[str, Any] = {
            "start": self.start,
            "end": self.end,
            "years": self.years,
            "n_steps": int(v.size),
            "n_periods": int(r.size),
            "initial_equity": float(v[0]),
            "final_equity": float(v[-1]),
            "total_return": float(v[-1] / v[0] - 1.0) if v[0] > 0 else math.nan,
        }
        ps = period_stats(r, P, c, int(n_trials))  # every metric of r, one kernel call
        out.update(_returns_block(ps))
        out.update(self._drawdown_block(ep, ps, pts, rets, finite))
        out.update(_sharpe_block(ps, int(n_trials)))
        out.update(self._benchmark_block(rets))
        out.update(trade_stats(trades))
        out.update(self._activity_block(v, ep, trades, fills, exposure))
        out["conventions"] = self.conventions
        _add_undefined(out, int(r.size), P, c, int(self.ts[-1] - self.ts[0]))
        return to_jsonable(out)

    # --- blocks (same order and arithmetic as reports.metrics) ---------------------------------

    def _drawdown_block(self, ep, ps, pts, rets, finite) -> dict[str, Any]:
        peak, valley, recovery, durations = drawdown_periods(pts, self.sampled_ts)
        month = _monthly(rets[finite], self.month_key[finite])
        return {
            "max_drawdown": float(ps[P_MDD]) if rets.size else 0.0,
            "max_drawdown_steps": float(ep[E_DD_STEPS]),
            "max_drawdown_peak": peak,
            "max_drawdown_valley": valley,
            "max_drawdown_recovery": recovery,
            "max_drawdown_duration_days": float(np.max(durations)) if durations.size else 0.0,
            "avg_drawdown_duration_days": float(np.mean(durations)) if durations.size else 0.0,
            "n_drawdowns": int(durations.size),
            "best_month": float(month.max()) if month.size else math.nan,
            "worst_month": float(month.min()) if month.size else math.nan,
        }

    def _benchmark_block(self, rets: np.ndarray) -> dict[str, Any]:
        keys = ("benchmark_total_return", "benchmark_cagr", "benchmark_volatility",
                "benchmark_sharpe", "benchmark_max_drawdown", "alpha", "beta",
                "information_ratio", "tracking_error", "correlation")
        b = self.bench
        if b is None:
            return dict.fromkeys(keys, math.nan)
        both = b["ok"] & np.isfinite(rets)
        out = {k: b[k] for k in keys[:5]}
        rel = relative_stats(rets[both], b["rets"][both], self.P, self.c)
        out.update(zip(REL_KEYS, rel.tolist(), strict=True))
        return out

    def _activity_block(self, v, ep, trades, fills, exposure) -> dict[str, Any]:
        if exposure is not None:
            x = np.ascontiguousarray(exposure, dtype=np.float64)
            if x.shape != self.ts.shape:
                raise DataError("exposure must have one value per time stamp",
                                argument="exposure", value=x.shape,
                                fix="pass the exposure on the equity's clock")
            xp = np.empty(4)
            exposure_pass_nb(self.ts, x, self.w_last, xp)
            if xp[X_BAD] >= 0:
                raise DataError("exposure has a non-finite value", argument="exposure",
                                row=int(xp[X_BAD]), fix="drop or fill the missing values")
            in_market, avg_gross = mtr.exposure_ratios(xp)
        elif trades is not None:
            frame = pd.DataFrame({"entry_ts": trades["entry_ts"], "exit_ts": trades["exit_ts"]})
            in_market = mtr.time_in_market_from_trades(frame, int(self.ts[0]), int(self.ts[-1]))
            avg_gross = NAN
        else:
            in_market = avg_gross = NAN
        turnover = NAN
        if fills is not None and v.size >= 2:
            turnover = mtr.turnover_of(np.asarray(fills["size"], np.float64),
                                       np.asarray(fills["price"], np.float64),
                                       float(ep[E_SUM] / v.size),
                                       (self.ts[-1] - self.ts[0]) / NS_PER_YEAR)
        return {"exposure": in_market, "avg_gross_exposure": avg_gross, "turnover": turnover,
                "fees_paid": mtr.fees_paid(fills, trades)}


def drawdown_periods(w: np.ndarray, ts: np.ndarray):
    """(peak, valley, recovery of the deepest period, durations in days of every period) of
    :func:`reports.metrics_tables.drawdown_spans`, as :func:`~reports.metrics_tables.drawdown_periods`
    gives them."""
    if w.size < 2:
        return None, None, None, np.zeros(0)
    dd, starts, ends, valleys = drawdown_spans(w)
    if starts.size == 0:
        return None, None, None, np.zeros(0)
    last = w.size - 1
    end_pos = np.minimum(ends, last)
    peak_ts, end_ts = ts[starts - 1], ts[end_pos]
    order = np.argsort(dd[valleys], kind="stable")  # deepest first, as the frame is sorted
    durations = ((end_ts - peak_ts) / NS_PER_DAY)[order]
    k = int(order[0])
    rec = pd.Timestamp(int(end_ts[k]), tz="UTC") if ends[k] <= last else pd.NaT
    return (pd.Timestamp(int(peak_ts[k]), tz="UTC"), pd.Timestamp(int(ts[valleys[k]]), tz="UTC"),
            rec, durations)


def _monthly(r: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Compounded return per calendar month of the (finite) returns, months in order."""
    if r.size == 0:
        return r
    cut = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    bounds = np.concatenate(([0], cut, [r.size]))
    out = np.array([compound(r[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    return out[np.isfinite(out)]


def trade_stats(trades: Mapping[str, np.ndarray] | None) -> dict[str, float | int]:
    """:func:`reports.metrics_trades.trade_stats` on arrays (see the module docstring)."""
    if trades is None:
        return nb_trade_stats(np.zeros(0, bool), np.zeros(0), np.zeros(0), np.zeros(0, bool),
                              np.zeros(0))
    return nb_trade_stats(trades["closed"], trades["pnl"], trades["return"], trades["long"],
                          trades["duration_s"])
