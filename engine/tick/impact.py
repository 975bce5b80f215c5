"""Price impact estimated from data: order-flow imbalance (OFI) and signed trade flow.

``estimate_impact(path)`` reads a LOBSTER message file (its orderbook file next to it gives the
best quotes after every message) or a Binance USD-M capture (the book is rebuilt from snapshot +
diffs) and regresses, over consecutive intervals of ``interval_ns``,

* the mid-price change on the best-level OFI (Cont, Kukanov & Stoikov 2014; the per-update
  term is written in :mod:`strategies.tick.ofi_taker`): dP = beta * OFI + c;
* the mid-price change on signed trade volume (buyer-initiated minus seller-initiated):
  dP = lambda * V + c (Kyle's lambda; the ``impact_coef`` of the ``linear`` overlay).

The *linear regime* check fits beta again on the intervals whose |OFI| is below its median and
prints the mean price change per OFI decile: when small imbalances give the same slope and the
deciles line up, the linear model holds there.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from data.errors import DataError


@dataclasses.dataclass(frozen=True)
class Fit:
    slope: float
    intercept: float
    t_stat: float
    r2: float
    n: int


def ols(x: np.ndarray, y: np.ndarray) -> Fit:
    """y = slope * x + intercept by least squares, with the slope's t statistic."""
    n = len(x)
    if n < 3 or not np.ptp(x) > 0:
        return Fit(np.nan, np.nan, np.nan, np.nan, n)
    xm, ym = x.mean(), y.mean()
    sxx = ((x - xm) ** 2).sum()
    slope = ((x - xm) * (y - ym)).sum() / sxx
    icpt = ym - slope * xm
    resid = y - slope * x - icpt
    s2 = (resid**2).sum() / (n - 2)
    se = np.sqrt(s2 / sxx)
    syy = ((y - ym) ** 2).sum()
    t = float(slope / se) if se > 0 else (np.nan if slope == 0 else np.inf)
    return Fit(float(slope), float(icpt), t,
               float(1 - (resid**2).sum() / syy) if syy > 0 else np.nan, n)


def ofi_terms(bid, bid_q, ask, ask_q) -> np.ndarray:
    """Per-update best-level OFI e_n (first update: 0)."""
    e = np.zeros(len(bid))
    if len(bid) > 1:
        b, pb = bid[1:], bid[:-1]
        a, pa = ask[1:], ask[:-1]
        e[1:] = (np.where(b >= pb, bid_q[1:], 0.0) - np.where(b <= pb, bid_q[:-1], 0.0)
                 - np.where(a <= pa, ask_q[1:], 0.0) + np.where(a >= pa, ask_q[:-1], 0.0))
    return e


@dataclasses.dataclass(frozen=True)
class ImpactEstimate:
    source: str
    interval_ns: int
    n_updates: int
    ofi: Fit
    ofi_small: Fit  # |OFI| below its median
    trade_flow: Fit  # dP on signed trade volume (Kyle's lambda)
    deciles: tuple  # (mean OFI, mean dP, count) per OFI decile
    tick_size: float

    def table(self) -> str:
        lines = [f"{self.source}: {self.n_updates:,} best-quote updates, intervals of "
                 f"{self.interval_ns / 1e9:g} s",
                 f"{'regression':<34} {'slope':>12} {'t':>8} {'R2':>7} {'n':>7}"]
        for name, f in (("dMid ~ OFI (all intervals)", self.ofi),
                        ("dMid ~ OFI (|OFI| < median)", self.ofi_small),
                        ("dMid ~ signed trade volume", self.trade_flow)):
            lines.append(f"{name:<34} {f.slope:>12.4g} {f.t_stat:>8.2f} {f.r2:>7.3f} {f.n:>7}")
        lines.append("OFI decile: mean OFI -> mean dMid (price units)")
        for m_ofi, m_dp, c in self.deciles:
            lines.append(f"  {m_ofi:>12.1f} -> {m_dp:>+10.5f}  ({c} intervals)")
        lines.append(f"linear overlay: impact='linear', impact_coef={self.trade_flow.slope:.4g} "
                     "(price per unit of signed flow)")
        return "\n".join(lines)


def _lobster_series(path: Path):
    from data.readers.lobster import read_lobster

    ob_path = Path(str(path).replace("message", "orderbook"))
    if not ob_path.exists():
        raise DataError("the LOBSTER orderbook file is needed for the best quotes",
                        file=str(path), fix=f"put {ob_path.name} next to the message file")
    lob = read_lobster(path, ob_path)
    ob = lob.orderbook.astype(np.float64)
    ask, ask_q, bid, bid_q = ob[:, 0] / 1e4, ob[:, 1], ob[:, 2] / 1e4, ob[:, 3]
    ok = (np.abs(ob[:, 0]) < 9_999_999_999) & (np.abs(ob[:, 2]) < 9_999_999_999)
    m = lob.messages
    ts = m["ts"]
    ex = np.isin(m["event"], (4, 5))
    # an execution of a sell limit order is a buyer-initiated trade
    tr_ts, tr_v = ts[ex], -m["side"][ex].astype(np.float64) * m["size"][ex]
    return ts[ok], bid[ok], bid_q[ok], ask[ok], ask_q[ok], tr_ts, tr_v, 0.01


def _binance_series(path: Path, tick_size: float):
    from data.readers.binance import read_binance_stream, sync_depth
    from engine.book.book import L2Book

    stream = read_binance_stream(path)
    depth = sync_depth(stream).depth
    book = L2Book(tick_size)
    ticks, qty = book.apply(depth, record_top=True)
    last = (depth["flags"] & 4) != 0
    ok = last & (ticks[:, 0] > -(2**61)) & (ticks[:, 1] > -(2**61))
    bid, ask = book.price_of(ticks[ok, 0]), book.price_of(ticks[ok, 1])
    tr = stream.trades
    return (depth["ts"][ok], bid, qty[ok, 0], ask, qty[ok, 1], tr["ts"],
            tr["side"].astype(np.float64) * tr["size"], tick_size)


def estimate_impact(path, *, interval_ns: int = 1_000_000_000,
                    tick_size: float = 0.1) -> ImpactEstimate:
    """Fit the OFI and trade-flow impact regressions on a LOBSTER or Binance file."""
    path = Path(path)
    if "message" in path.name:
        ts, bid, bq, ask, aq, tr_ts, tr_v, tick = _lobster_series(path)
    else:
        ts, bid, bq, ask, aq, tr_ts, tr_v, tick = _binance_series(path, tick_size)
    if len(ts) < 10:
        raise DataError("too few best-quote updates to fit", file=str(path), value=len(ts),
                        fix="use a longer file")
    e = ofi_terms(bid, bq, ask, aq)
    mid = 0.5 * (bid + ask)
    k = (ts - ts[0]) // interval_ns
    nk = int(k[-1]) + 1
    ofi = np.bincount(k, weights=e, minlength=nk)
    cnt = np.bincount(k, minlength=nk)
    last_idx = np.searchsorted(k, np.arange(nk), side="right") - 1
    mid_end = mid[last_idx]
    mid_start = np.concatenate([[mid[0]], mid_end[:-1]])
    dp = mid_end - mid_start
    use = cnt > 0
    kt = np.clip((tr_ts - ts[0]) // interval_ns, 0, nk - 1)
    flow = np.bincount(kt, weights=tr_v, minlength=nk)
    x, y = ofi[use], dp[use]
    small = np.abs(x) < np.median(np.abs(x))
    edges = np.quantile(x, np.linspace(0, 1, 11))
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 9)
    deciles = tuple((float(x[which == d].mean()), float(y[which == d].mean()),
                     int((which == d).sum())) for d in range(10) if (which == d).any())
    return ImpactEstimate(source=path.name, interval_ns=int(interval_ns), n_updates=len(ts),
                          ofi=ols(x, y), ofi_small=ols(x[small], y[small]),
                          trade_flow=ols(flow[use], y), deciles=deciles, tick_size=tick)
