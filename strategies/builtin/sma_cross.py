"""sma_cross: simple moving average crossover, stop-and-reverse (or long-only).

Exact semantics (issue 3; the same as tests/golden/peers/*.json): SMAs of close over ``fast``
and ``slow`` bars; a cross up on bar i is fast[i-1] < slow[i-1] and fast[i] > slow[i] (strict),
a cross down the mirror. On a cross up: close any short and go long; on a cross down: close any
long and go short (``long_only``: just close). Size: all-in, as many whole lots as the equity at
the fill affords after commission (``order_target_percent(+-1)``), market orders at the next
bar's open. A cross toward the side already held does nothing (precisely: a target is sent
when it differs from the last target sent — the same rule on both paths, which matters only
when fills are partial).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from data.errors import StrategyError
from strategies.base import Param, Strategy


def _csum(x: np.ndarray) -> np.ndarray:
    c = np.empty(x.shape[0] + 1)
    c[0] = 0.0
    np.cumsum(x, out=c[1:])
    return c


def sma(x: np.ndarray, n: int, csum: np.ndarray | None = None) -> np.ndarray:
    """Rolling mean over ``n`` values (nan for the first n-1), on cumulative sums (pass
    ``csum`` = [0, cumsum(x)] to share it between several windows)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape)
    out[: n - 1] = np.nan
    if n <= x.shape[0]:
        c = _csum(x) if csum is None else csum
        np.subtract(c[n:], c[:-n], out=out[n - 1:])
        out[n - 1:] /= n
    return out


def crosses(fast: np.ndarray, slow: np.ndarray) -> np.ndarray:
    """+1 on a strict cross up at bar i, -1 on a cross down, 0 otherwise (int8)."""
    out = np.zeros(fast.shape, dtype=np.int8)
    f0, s0, f1, s1 = fast[:-1], slow[:-1], fast[1:], slow[1:]
    with np.errstate(invalid="ignore"):
        out[1:][(f0 < s0) & (f1 > s1)] = 1
        out[1:][(f0 > s0) & (f1 < s1)] = -1
    return out


class SmaCross(Strategy):
    name = "sma_cross"
    about = "SMA crossover, stop-and-reverse (long_only: close on the cross down)"
    fast: int = Param(10, min=1, help="fast SMA period (bars)")
    slow: int = Param(20, min=2, help="slow SMA period (bars)")
    long_only: bool = False

    def validate(self):
        if self.fast >= self.slow:
            raise StrategyError("fast must be shorter than slow", argument="fast",
                                value=(self.fast, self.slow), fix="e.g. fast=10, slow=20")

    def init(self, ctx):
        close = ctx.data["close"]
        if close.ndim != 1:
            raise StrategyError("sma_cross trades one symbol", argument="market",
                                value=close.shape, fix="run it on a single symbol")
        # the SMAs use closes up to each bar only; cross[i] is known at bar i's close
        self.fast_ma = sma(close, self.fast)
        self.slow_ma = sma(close, self.slow)
        self.cross = crosses(self.fast_ma, self.slow_ma)
        self.last = np.nan  # the last target sent

    def on_bar(self, ctx):
        # the rule of targets(): send the cross's target when it differs from the last one
        # sent (with fills that complete at once, the same as "not already on that side";
        # with partial fills, e.g. under a volume cap, both paths keep sending the same orders)
        x = ctx.at(self.cross)  # cross[now]: known at this bar's close
        if x == 0:
            return
        if x > 0:
            tgt = 1.0
        elif not self.long_only:
            tgt = -1.0
        elif self.last == self.last:  # long_only: a cross down closes a long sent before
            tgt = 0.0
        else:
            return
        if tgt != self.last:
            self.last = tgt
            ctx.order_target_percent(None, tgt)

    def targets(self, data):
        from engine.compiled import Targets

        close = np.ascontiguousarray(data["close"], dtype=np.float64)
        if close.ndim != 1:
            raise StrategyError("sma_cross trades one symbol", argument="market",
                                value=close.shape, fix="run it on a single symbol")
        bars, vals = cross_events(close, self.fast, self.slow, self.long_only)
        return Targets(vals, "percent", index=bars)


def cross_events(close: np.ndarray, fast: int, slow: int,
                 long_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The target events of :meth:`SmaCross.targets`: (bars, targets) with +1 at each strict
    cross up of ``sma(close, fast)`` over ``sma(close, slow)`` (``fast < slow``), -1 at each
    cross down (``long_only``: 0, from the first cross up on). One numba pass
    (:func:`cross_events_nb`) with the arithmetic of :func:`sma` / :func:`crosses`."""
    close = np.ascontiguousarray(close, dtype=np.float64)
    n = close.shape[0]
    if n <= slow:
        return np.zeros(0, np.int64), np.zeros(0)
    bars = np.empty(n - slow, np.int64)  # the worst case; only the pages written are touched
    vals = np.empty(n - slow)
    m = cross_events_nb(close, np.int64(fast), np.int64(slow), np.bool_(long_only), bars, vals)
    return bars[:m].copy(), vals[:m].copy()


def cross_bars(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """The bars of the strict crosses up and down of ``sma(close, fast)`` over
    ``sma(close, slow)``: the nonzero bars of :func:`crosses`."""
    bars, vals = cross_events(close, fast, slow)
    return bars[vals > 0], bars[vals < 0]


@njit(cache=True)
def cross_events_nb(close, fast, slow, long_only, bars, vals):
    """Writes the cross events (see :func:`cross_events`) to ``bars`` / ``vals``; returns
    how many. The averages are differences of the running sum [0, cumsum(close)] over
    ``fast`` / ``slow`` values divided by the window, as :func:`sma` computes them (a
    sequential sum: the same bits as numpy's cumsum); the sign of ``fast - slow`` is their
    order exactly (nan: neither). The sums ``slow`` bars back live in a ring buffer."""
    n = close.shape[0]
    size = 1
    while size < slow + 1:
        size *= 2
    mask = size - 1
    ring = np.zeros(size)  # ring[j & mask] = c[j] = sum of close[:j]
    c = 0.0
    for j in range(slow):
        c += close[j]
        ring[(j + 1) & mask] = c
    prev = 0  # sign of fast - slow at the previous bar (0: equal or nan)
    m = 0
    longed = False
    for b in range(slow - 1, n):  # averages defined from bar slow - 1 on
        if b >= slow:
            c += close[b]
            ring[(b + 1) & mask] = c
        fa = c - ring[(b + 1 - fast) & mask]
        fa /= fast
        sl = c - ring[(b + 1 - slow) & mask]
        sl /= slow
        d = fa - sl
        sign = 1 if d > 0.0 else (-1 if d < 0.0 else 0)
        if b >= slow and sign != 0 and prev == -sign:
            if sign > 0:
                bars[m] = b
                vals[m] = 1.0
                m += 1
                longed = True
            elif not long_only:
                bars[m] = b
                vals[m] = -1.0
                m += 1
            elif longed:
                bars[m] = b
                vals[m] = 0.0
                m += 1
        prev = sign
    return m
