"""Basket: Avellaneda-Lee residual mean reversion on a universe, market-neutral weights,
rebalanced on a schedule (see :mod:`strategies.statarb.pca` for the model)."""

from __future__ import annotations

import numpy as np

from data.errors import StrategyError
from engine import types as T
from strategies.base import Param, Strategy
from strategies.statarb.pca import BasketParams, basket_step
from strategies.statarb.schedule import Schedule


class Basket(Strategy):
    name = "basket"
    about = "residual mean reversion against PCA factors (Avellaneda-Lee), factor-hedged weights"

    rebalance: str = Param("5", help="bars between decisions, or daily / weekly / monthly")
    corr_window: int = Param(252, min=20, help="returns for the correlation matrix (bars)")
    reg_window: int = Param(60, min=10, help="returns for the residual regression (bars)")
    n_factors: int = Param(3, min=1, help="principal components hedged out")
    s_open: float = Param(1.25, min=0.0, help="open when |s| exceeds this")
    s_close_long: float = Param(0.5, min=0.0, help="close a long when s > -this")
    s_close_short: float = Param(0.75, min=0.0, help="close a short when s < this")
    min_kappa: float = Param(-1.0, help="min mean-reversion speed per year (<0: 2*252/reg_window)")
    leverage: float = Param(1.0, min=0.0, help="gross exposure (fraction of equity)")
    periods: float = Param(252.0, min=1.0, help="bars per year (for kappa)")

    def validate(self) -> None:
        self.model_params = BasketParams(
            corr_window=self.corr_window, reg_window=self.reg_window, n_factors=self.n_factors,
            s_open=self.s_open, s_close_long=self.s_close_long,
            s_close_short=self.s_close_short, min_kappa=self.min_kappa,
            leverage=self.leverage, periods=self.periods,
        ).check()  # fmt: skip
        self._schedule = Schedule(self.rebalance)

    def init(self, ctx) -> None:
        if len(ctx.symbols) < self.n_factors + 2:
            raise StrategyError("the universe is too small for the factor count",
                                argument="n_factors", value=(len(ctx.symbols), self.n_factors),
                                fix="give more symbols or fewer factors")  # fmt: skip
        self._schedule = Schedule(self.rebalance)
        self.side = np.zeros(len(ctx.symbols), dtype=np.int64)
        self.decisions: list[tuple[int, int, np.ndarray]] = []  # (ts, i, weights)
        self._kappa = self.model_params.resolved_min_kappa()
        self.rejected = 0
        self._open: list[int] = []  # open residual positions (before hedging) per decision

    def on_bar(self, ctx) -> None:
        W = self.corr_window
        if not self._schedule.due(ctx.i, ctx.now) or ctx.i < W:
            return
        window = np.column_stack([ctx.close(k, W + 1) for k in range(len(ctx.symbols))])
        row, self.side = basket_step(window, self.side, self.model_params, self._kappa)
        if row is None:
            return
        self.decisions.append((ctx.now, ctx.i, row))
        self._open.append(int(np.count_nonzero(self.side)))
        ctx.order_target_weights({s: float(w) for s, w in zip(ctx.symbols, row, strict=True) if w})

    def on_order(self, ctx, order) -> None:
        if order["status"] == T.REJECTED:
            self.rejected += 1  # e.g. max_leverage: reported, the next decision retries

    def report_stats(self) -> dict[str, float]:
        if not self.decisions:
            return {"basket_decisions": 0, "orders_rejected": self.rejected}
        w = np.array([d[2] for d in self.decisions])
        return {
            "basket_decisions": len(self.decisions),
            "basket_mean_open_signals": float(np.mean(self._open)),
            "basket_mean_gross": float(np.abs(w).sum(axis=1).mean()),
            "basket_mean_net_weight": float(w.sum(axis=1).mean()),
            "orders_rejected": self.rejected,
        }
