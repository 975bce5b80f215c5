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

        close = np.asarray(data["close"], dtype=np.float64)
        cache = data.get("cache")  # shared by the sets of a batch: one cumulative sum
        csum = None if cache is None else cache.get("sma_cross.csum")
        if csum is None or csum.shape[0] != close.shape[0] + 1:
            csum = _csum(close)
            if cache is not None:
                cache["sma_cross.csum"] = csum
        up, down = cross_bars(close, self.fast, self.slow, csum)
        t = np.full(close.shape, np.nan)
        t[up] = 1.0
        if self.long_only:
            if up.size:  # a cross down before the first long closes nothing
                t[down[down > up[0]]] = 0.0
        else:
            t[down] = -1.0
        return Targets(t, "percent")


def cross_bars(close: np.ndarray, fast: int, slow: int,
               csum: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The bars of the strict crosses up and down of ``sma(close, fast)`` over
    ``sma(close, slow)`` (``fast < slow``): the nonzero bars of :func:`crosses`, with the same
    SMA arithmetic, computed on the difference of the two averages where both are defined (the
    sign of ``f - s`` is the order of ``f`` and ``s`` exactly, nan compares false both ways)
    and with fewer full-length temporaries (what the compiled path and a sweep pay per run).
    ``csum``: ``[0, cumsum(close)]`` when the caller has it (shared by a batch's sets)."""
    n = close.shape[0]
    if n <= slow:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    c = _csum(close) if csum is None else csum
    d = np.subtract(c[slow:], c[slow - fast:n + 1 - fast])  # fast sums at bars slow-1..n-1
    d /= fast
    s = np.subtract(c[slow:], c[:n + 1 - slow])
    s /= slow
    d -= s  # fast - slow average at bars slow-1 .. n-1
    with np.errstate(invalid="ignore"):
        neg = d < 0.0
        pos = d > 0.0
    up = np.flatnonzero(neg[:-1] & pos[1:]) + slow  # bar of d[k + 1] is slow + k
    down = np.flatnonzero(pos[:-1] & neg[1:]) + slow
    return up, down
