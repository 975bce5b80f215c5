"""Pairs trading: a hedge ratio by rolling OLS or a Kalman filter, z-score entry/exit/stop,
dollar-neutral (or hedge-ratio) sizing.

The spread is ``y - beta_t x - alpha_t`` with coefficients known at t (see
:mod:`strategies.statarb.hedge`); its z-score drives a small state machine evaluated at each
bar's close (orders fill at the next open by default):

* flat: ``z > entry`` -> short the spread (short y, long x); ``z < -entry`` -> long the spread;
* long spread: ``z >= -exit`` -> close; ``z < -stop`` -> close (stop), and no new long until z is
  back above ``-exit``; the short side mirrors it. ``stop = 0`` disables the stop.

Sizing: ``dollar_neutral`` puts ``gross / 2`` of equity on each leg; ``hedge_ratio`` holds
``beta`` units of x per unit of y (value split ``P_y : |beta| P_x``), scaled to ``gross``. The
weights are set when a position opens and kept until it closes. A long-short book of gross 1
sits at the broker's default ``max_leverage = 1``: give ``max_leverage = 2`` (as the examples
do). If a leg is rejected anyway, the other leg is closed at once (``leg_rejected`` event).

``report_stats()`` gives the Engle-Granger p-value, hedge ratio and half-life of the whole run
(an in-sample diagnostic computed after the last bar, never used for decisions).
"""

from __future__ import annotations

import math

import numpy as np

from data.errors import StrategyError
from engine import types as T
from strategies.base import Param, Strategy
from strategies.statarb.coint import engle_granger
from strategies.statarb.hedge import kalman_hedge, ols_hedge

FLAT, LONG, SHORT = 0, 1, -1


def next_state(state: int, z: float, blocked: int, entry: float, exit: float,
               stop: float) -> tuple[int, int, str]:  # fmt: skip
    """One step of the entry/exit/stop machine: ``(state, blocked side, event)``."""
    if not math.isfinite(z):
        return state, blocked, ""
    if blocked == LONG and z >= -exit or blocked == SHORT and z <= exit:
        blocked = FLAT
    if state == FLAT:
        if z < -entry and blocked != LONG:
            return LONG, blocked, "open_long"
        if z > entry and blocked != SHORT:
            return SHORT, blocked, "open_short"
        return FLAT, blocked, ""
    if state == LONG:
        if stop and z < -stop:
            return FLAT, LONG, "stop"
        if z >= -exit:
            return FLAT, blocked, "exit"
        return LONG, blocked, ""
    if stop and z > stop:
        return FLAT, SHORT, "stop"
    if z <= exit:
        return FLAT, blocked, "exit"
    return SHORT, blocked, ""


def leg_weights(side: int, sizing: str, gross: float, beta: float, py: float, px: float,
                log_prices: bool) -> tuple[float, float]:  # fmt: skip
    """Target weights ``(w_y, w_x)`` of a spread position ``side`` (+1 long y / short x)."""
    if side == FLAT:
        return 0.0, 0.0
    if sizing == "dollar_neutral" or not math.isfinite(beta):
        return side * gross / 2.0, -side * gross / 2.0
    vy, vx = (1.0, abs(beta)) if log_prices else (py, abs(beta) * px)
    tot = vy + vx
    return side * gross * vy / tot, -side * math.copysign(1.0, beta) * gross * vx / tot


class Pairs(Strategy):
    name = "pairs"
    about = "pairs trading on a rolling-OLS or Kalman hedge ratio with z-score entry/exit/stop"

    y: str = Param("", help="dependent leg (default: the first symbol)")
    x: str = Param("", help="hedge leg (default: the second symbol)")
    hedge: str = Param("kalman", choices=("kalman", "ols"), help="hedge-ratio estimator")
    window: int = Param(60, min=2, help="rolling-OLS window (bars)")
    z_window: int = Param(0, min=0, help="z-score window for OLS (0: same as window)")
    delta: float = Param(1e-4, min=0.0, max=1.0, help="Kalman state noise delta/(1-delta)")
    ve: float = Param(1e-3, min=0.0, help="Kalman observation noise variance")
    warmup: int = Param(30, min=0, help="bars ignored while the estimate settles")
    entry: float = Param(2.0, min=0.0, help="open when |z| exceeds this")
    exit: float = Param(0.5, min=0.0, help="close when z is back within +-exit")
    stop: float = Param(4.0, min=0.0, help="close when |z| exceeds this (0: no stop)")
    sizing: str = Param("dollar_neutral", choices=("dollar_neutral", "hedge_ratio"))
    gross: float = Param(1.0, min=0.0, help="gross exposure (fraction of equity)")
    log_prices: bool = Param(False, help="model log prices instead of price levels")

    def validate(self) -> None:
        if not self.exit < self.entry:
            raise StrategyError("exit must be below entry", argument="exit",
                                value=(self.exit, self.entry), fix="e.g. entry=2.0, exit=0.5")  # fmt: skip
        if self.stop and self.stop <= self.entry:
            raise StrategyError("stop must be above entry (or 0 for no stop)", argument="stop",
                                value=(self.stop, self.entry), fix="e.g. stop=4.0")  # fmt: skip
        if not (0.0 < self.delta < 1.0) or self.ve <= 0.0:
            raise StrategyError("Kalman needs 0 < delta < 1 and ve > 0", argument="delta",
                                value=(self.delta, self.ve), fix="e.g. delta=1e-4, ve=1e-3")  # fmt: skip

    def init(self, ctx) -> None:
        syms = list(ctx.symbols)
        if len(syms) < 2:
            raise StrategyError("pairs needs two symbols", argument="data", value=syms,
                                fix="give two bar files (or a universe and y/x)")  # fmt: skip
        self.sym_y = self.y or syms[0]
        self.sym_x = self.x or syms[1]
        for key, s in (("y", self.sym_y), ("x", self.sym_x)):
            if s not in syms:
                raise StrategyError("symbol not in the data", argument=key, value=s,
                                    fix=f"use one of {', '.join(syms)}")  # fmt: skip
        close = ctx.data["close"]
        self._jy, self._jx = syms.index(self.sym_y), syms.index(self.sym_x)
        py, px = close[:, self._jy], close[:, self._jx]
        if self.log_prices:
            with np.errstate(divide="ignore", invalid="ignore"):
                py, px = np.log(py), np.log(px)
        if self.hedge == "kalman":
            h = kalman_hedge(py, px, self.delta, self.ve)
        else:
            h = ols_hedge(py, px, self.window, self.z_window or self.window)
        self.beta, self.zscore = h.beta, h.zscore
        self.state, self._blocked = FLAT, FLAT
        self.events: list[tuple[int, int, str, float, float]] = []  # (ts, i, event, z, beta)
        self._stats: dict[str, float] = {}

    def on_bar(self, ctx) -> None:
        if ctx.i < self.warmup:
            return
        z = float(ctx.indicator(self.zscore)[-1])
        beta = float(ctx.indicator(self.beta)[-1])
        new, self._blocked, event = next_state(self.state, z, self._blocked, self.entry,
                                               self.exit, self.stop)  # fmt: skip
        if not event:
            return
        py = float(ctx.close(self._jy, 1)[-1])
        px = float(ctx.close(self._jx, 1)[-1])
        wy, wx = leg_weights(new, self.sizing, self.gross, beta, py, px, self.log_prices)
        ctx.order_target_weights({self.sym_y: wy, self.sym_x: wx})
        self.state = new
        self.events.append((ctx.now, ctx.i, event, z, beta))

    def on_order(self, ctx, order) -> None:
        """A rejected leg (e.g. ``max_leverage`` when ``gross`` is at the broker's limit) must
        not leave half a pair: flatten both legs and record the event."""
        if order["status"] != T.REJECTED or self.state == FLAT:
            return
        reason = T.REJECT_NAMES[int(order["reject_reason"])]
        ctx.order_target_weights({})
        self.state = FLAT
        self.events.append((ctx.now, ctx.i, f"leg_rejected:{reason}", math.nan, math.nan))

    def on_stop(self, ctx) -> None:
        y, x = ctx.close(self._jy), ctx.close(self._jx)
        if self.log_prices:
            with np.errstate(divide="ignore", invalid="ignore"):
                y, x = np.log(y), np.log(x)
        try:
            eg = engle_granger(y, x)
            self._stats = eg.as_dict("pair_")
        except Exception as exc:  # too few bars: report why instead of failing the run
            self._stats = {"pair_eg_error": str(exc)}
        self._stats["pair_entries"] = sum(e[2].startswith("open") for e in self.events)
        self._stats["pair_stops"] = sum(e[2] == "stop" for e in self.events)
        self._stats["pair_leg_rejects"] = sum(e[2].startswith("leg_rejected") for e in self.events)

    def report_stats(self) -> dict[str, float]:
        """Pair diagnostics for stats.json / the report (after the run)."""
        return dict(self._stats)
