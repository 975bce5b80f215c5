"""Market makers for the tick engine, each as Python hooks and as a compiled step function.

**Avellaneda-Stoikov** (Avellaneda & Stoikov, "High-frequency trading in a limit order book",
Quantitative Finance 8(3), 2008), the stationary (constant horizon ``tau``) form: with mid
``s``, inventory ``q`` (signed position), price variance per second ``sigma2``, risk aversion
``gamma`` and order-arrival decay ``kappa``,

    reservation price  r = s - q * gamma * sigma2 * tau
    total spread       d = gamma * sigma2 * tau + (2 / gamma) * ln(1 + gamma / kappa)
    bid = floor_tick(r - d / 2),  ask = ceil_tick(r + d / 2)

never better than the touch (post-only), no bid once ``q >= max_position``, no ask once
``q <= -max_position``. ``sigma2`` is an exponentially weighted mean of squared mid changes per
timer step (scaled to per second), started at ``sigma2_init``. Quotes are refreshed every
``timer_ns``: a working order at another price is cancelled and replaced.

**Grid market maker** (the benchmark loop of benchmarks/README.md, the same as the hftbacktest
runner): bid = min(floor(mid - h), best bid), ask = max(ceil(mid + h), best ask) in ticks.

Both keep the ids of the orders they believe working (at most 8) in their state and learn
fills / cancels only from responses (the status the strategy knows).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.book.codes import NO_TICK
from engine.book.l2_nb import l2_best_nb
from engine.tick.l2sim_nb import advance_l2_nb
from engine.tick.layout import (
    C_LPOS,
    NEVER,
    OI_CXL,
    OI_LSTAT,
    OI_TICK,
    S_NOW,
    S_STEPS,
    S_TIMER,
    W_END,
    W_FULL,
    W_MORE,
    W_UNTIL,
)
from engine.tick.orders_nb import cancel_nb, submit_nb
from engine.types import BUY, CANCELLED, F_POST_ONLY, FILLED, GTC, LIMIT, REJECTED, SELL
from strategies.base import Strategy

SLOTS = 8  # order ids remembered in the state array (S[0:8]); S[8:] strategy memory


@njit(cache=True)
def as_quotes_nb(bb, ba, pos, sigma2, gamma, kappa, tau):
    """Avellaneda-Stoikov bid / ask ticks from the best bid / ask ticks (see module doc)."""
    mid = 0.5 * (bb + ba)
    r = mid - pos * gamma * sigma2 * tau
    d = gamma * sigma2 * tau + (2.0 / gamma) * math.log(1.0 + gamma / kappa)
    bid = math.floor(r - 0.5 * d)
    ask = math.ceil(r + 0.5 * d)
    if bid > bb:
        bid = bb
    if ask < ba:
        ask = ba
    return np.int64(bid), np.int64(ask)


@njit(cache=True)
def grid_quotes_nb(bb, ba, h):
    s2 = bb + ba
    bid = (s2 - 2 * h) // 2
    ask = -((-(s2 + 2 * h)) // 2)
    return min(bid, bb), max(ask, ba)


@njit(cache=True)
def requote_nb(sv, cf, OS, S, bid_t, ask_t, qty, max_pos):
    """Keep one post-only buy at ``bid_t`` and one sell at ``ask_t`` working (cancel others)."""
    orders, oi, of, live = OS
    now = sv[S_NOW]
    pos = cf[C_LPOS]
    have_bid = False
    have_ask = False
    for k in range(SLOTS):
        oid = np.int64(S[k])
        if oid < 0:
            continue
        st = oi[oid, OI_LSTAT]
        if st == FILLED or st == CANCELLED or st == REJECTED:
            S[k] = -1.0
            continue
        if oi[oid, OI_CXL] != NEVER:
            continue  # cancel in flight
        if orders[oid].side > 0:
            if oi[oid, OI_TICK] == bid_t and pos < max_pos and not have_bid:
                have_bid = True
            else:
                cancel_nb(sv, cf, orders, oi, now, oid)
        else:
            if oi[oid, OI_TICK] == ask_t and pos > -max_pos and not have_ask:
                have_ask = True
            else:
                cancel_nb(sv, cf, orders, oi, now, oid)
    for side in (BUY, SELL):
        want = (not have_bid and pos < max_pos) if side == BUY else \
            (not have_ask and pos > -max_pos)
        if not want:
            continue
        slot = -1
        for k in range(SLOTS):
            if S[k] < 0:
                slot = k
                break
        if slot < 0:
            continue
        tk = bid_t if side == BUY else ask_t
        oid = submit_nb(sv, cf, orders, oi, of, live, now, side, LIMIT, GTC, F_POST_ONLY, qty,
                        tk, 0)
        if oid >= 0:
            S[slot] = oid


@njit(cache=True)
def _touch_nb(code, BL):
    """The best bid and ask ticks of the strategy's book on a timer wake (``code`` W_UNTIL)
    when both sides are quoted and not crossed; (NO_TICK, NO_TICK) otherwise: no quoting."""
    if code != W_UNTIL:
        return NO_TICK, NO_TICK
    dq, ok, oq, meta = BL
    bb, _q = l2_best_nb(dq, ok, oq, meta, 0)
    ba, _q = l2_best_nb(dq, ok, oq, meta, 1)
    if bb == NO_TICK or ba == NO_TICK or ba <= bb:
        return NO_TICK, NO_TICK
    return bb, ba


@njit(cache=True)
def grid_mm_step_nb(code, D, T, BL, OS, sv, cf, P, S):
    """Compiled grid market maker: P = [half_spread_ticks, order_qty, max_position]."""
    bb, ba = _touch_nb(code, BL)
    if bb == NO_TICK:
        return
    bid_t, ask_t = grid_quotes_nb(bb, ba, np.int64(P[0]))
    requote_nb(sv, cf, OS, S, bid_t, ask_t, P[1], P[2])


@njit(cache=True)
def as_step_nb(code, D, T, BL, OS, sv, cf, P, S):
    """Compiled Avellaneda-Stoikov: P = [gamma, kappa, tau_s, order_qty, max_position,
    sigma2_init, ewm_alpha, timer_s]; S[8] last mid (ticks), S[9] sigma2 (ticks^2 / s)."""
    bb, ba = _touch_nb(code, BL)
    if bb == NO_TICK:
        return
    mid = 0.5 * (bb + ba)
    if S[9] == 0.0:
        S[9] = P[5]
    elif S[8] > 0.0:
        dm = mid - S[8]
        S[9] = (1.0 - P[6]) * S[9] + P[6] * dm * dm / P[7]
    S[8] = mid
    bid_t, ask_t = as_quotes_nb(bb, ba, cf[C_LPOS], S[9], P[0], P[1], P[2])
    requote_nb(sv, cf, OS, S, bid_t, ask_t, P[3], P[4])


@njit(cache=True)
def grid_mm_run_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, P, S, timer, wake):
    """Compiled driver of the grid market maker (cached on disk: it calls its step by name)."""
    while True:
        code = advance_l2_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, sv[S_TIMER], wake)
        if code == W_END or code == W_FULL or code == W_MORE:
            return code
        sv[S_STEPS] += 1
        grid_mm_step_nb(code, D, T, BL, OS, sv, cf, P, S)
        if code == W_UNTIL:
            sv[S_TIMER] += timer


@njit(cache=True)
def as_run_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, P, S, timer, wake):
    """Compiled driver of the Avellaneda-Stoikov market maker."""
    while True:
        code = advance_l2_nb(D, T, Q, BX, BL, OS, F, W, sv, cf, sv[S_TIMER], wake)
        if code == W_END or code == W_FULL or code == W_MORE:
            return code
        sv[S_STEPS] += 1
        as_step_nb(code, D, T, BL, OS, sv, cf, P, S)
        if code == W_UNTIL:
            sv[S_TIMER] += timer


class _QuotingMM(Strategy):
    """Shared Python side: the state array and the order slots live in ``self.S`` and the
    requote decision runs through the same kernel as the compiled path."""

    timer_ns: int = 100_000_000
    order_qty: float = 1.0
    max_position: float = 10.0

    def initial_state(self) -> np.ndarray:
        """The state array of the compiled twin (order slots empty)."""
        s = np.zeros(16)
        s[:SLOTS] = -1.0
        return s

    def init(self, ctx) -> None:
        self.S = self.initial_state()

    def _best_ticks(self, ctx):
        bb, ba = ctx.best_ticks()
        return (NO_TICK if bb is None else bb), (NO_TICK if ba is None else ba)

    def _requote(self, ctx, bid_t, ask_t) -> None:
        sim = ctx._sim
        requote_nb(sim.sv, sim.cf, sim.OS, self.S, bid_t, ask_t, float(self.order_qty),
                   float(self.max_position))


class GridMarketMaker(_QuotingMM):
    """Grid market maker (the benchmark loop; see the module docstring)."""

    name = "grid_mm"
    about = "tick: quotes at mid -/+ h ticks, never inside the touch (the benchmark loop)"
    step_nb = staticmethod(grid_mm_step_nb)
    run_nb = staticmethod(grid_mm_run_nb)
    half_spread_ticks: int = 1

    def params_array(self) -> np.ndarray:
        return np.array([self.half_spread_ticks, self.order_qty, self.max_position], float)

    def on_timer(self, ctx) -> None:
        """Written with the context API only (no kernels): the parity test holds it to
        ``grid_mm_step_nb``."""
        bid, ask = ctx.best_ticks()
        if bid is None or ask is None or ask <= bid:
            return
        h = self.half_spread_ticks
        bid_t = min((bid + ask - 2 * h) // 2, bid)
        ask_t = max(-((-(bid + ask + 2 * h)) // 2), ask)
        pos = ctx.position()
        have_bid = have_ask = False
        for k in range(SLOTS):
            oid = int(self.S[k])
            if oid < 0:
                continue
            o = ctx.order(oid)
            if o["status"] in (FILLED, CANCELLED, REJECTED):
                self.S[k] = -1.0
                continue
            if ctx.cancel_pending(oid):
                continue
            tick = ctx.order_tick(oid)
            if o["side"] > 0:
                if tick == bid_t and pos < self.max_position and not have_bid:
                    have_bid = True
                else:
                    ctx.cancel(oid)
            else:
                if tick == ask_t and pos > -self.max_position and not have_ask:
                    have_ask = True
                else:
                    ctx.cancel(oid)
        for side, want, tk in ((BUY, not have_bid and pos < self.max_position, bid_t),
                               (SELL, not have_ask and pos > -self.max_position, ask_t)):
            free = [k for k in range(SLOTS) if self.S[k] < 0]
            if not want or not free:
                continue
            send = ctx.buy if side == BUY else ctx.sell
            self.S[free[0]] = send(size=self.order_qty, limit=ctx.price_of_tick(tk),
                                   post_only=True)


class AvellanedaStoikov(_QuotingMM):
    """Avellaneda-Stoikov market maker (see the module docstring). Prices in ticks:
    ``sigma2_init`` in ticks^2 per second, ``gamma`` per tick, ``kappa`` per tick."""

    name = "avellaneda_stoikov"
    about = "tick: Avellaneda-Stoikov reservation price and spread, inventory limits"
    step_nb = staticmethod(as_step_nb)
    run_nb = staticmethod(as_run_nb)
    gamma: float = 0.1
    kappa: float = 1.5
    tau_s: float = 1.0
    sigma2_init: float = 1.0
    ewm_alpha: float = 0.05

    def params_array(self) -> np.ndarray:
        return np.array([self.gamma, self.kappa, self.tau_s, self.order_qty, self.max_position,
                         self.sigma2_init, self.ewm_alpha, self.timer_ns / 1e9], float)

    def on_timer(self, ctx) -> None:
        bb, ba = self._best_ticks(ctx)
        if bb == NO_TICK or ba == NO_TICK or ba <= bb:
            return
        mid = 0.5 * (bb + ba)
        S = self.S
        if S[9] == 0.0:
            S[9] = self.sigma2_init
        elif S[8] > 0.0:
            dm = mid - S[8]
            S[9] = (1.0 - self.ewm_alpha) * S[9] + self.ewm_alpha * dm * dm / (self.timer_ns / 1e9)
        S[8] = mid
        bid_t, ask_t = as_quotes_nb(bb, ba, ctx.position(), S[9], self.gamma, self.kappa,
                                    self.tau_s)
        self._requote(ctx, int(bid_t), int(ask_t))
