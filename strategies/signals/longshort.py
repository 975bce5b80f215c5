"""External signals: trade a timestamped signal file with the strict as-of join.

On each decision bar (``rebalance``), every symbol's signal is joined as of the bar's close:
usable only from ``ts + delay``, ``MISSING`` before its first signal, ``STALE`` when older than
``max_age`` (:mod:`strategies.signals.asof`). Missing and stale symbols are left out of the
portfolio (weight 0) and counted in ``report_stats()``.

* ``score`` files: symbols are ranked by score (ties broken by symbol name); the top
  ``quantile`` fraction (at least one name) is bought and, unless ``long_only``, the bottom
  fraction is sold short, each side holding ``gross / 2`` of equity (``gross`` when long-only).
  ``weighting = "equal"`` splits a side equally; ``"score"`` in proportion to each score's
  distance from the cross-sectional mean (equal when all distances are 0). With fewer than
  ``min_names`` usable signals, or all scores equal, the portfolio goes flat.
* ``weight`` files: the joined weights are the targets (missing/stale -> 0).

Orders go out only when a decision's weights differ from the last ones sent (holding the same
targets does not rebalance the drift).

This is the protocol of studies that score news with language models and trade the next day:
a signal stamped after the close is first usable at the next bar's close and fills at the open
after it.
"""

from __future__ import annotations

import math

import numpy as np

from data.errors import StrategyError
from data.timeutil import parse_duration
from engine import types as T
from strategies.base import Param, Strategy
from strategies.signals.asof import MISSING, STALE, asof_join, read_signals
from strategies.statarb.schedule import Schedule


def duration_param(value: str, argument: str) -> int | None:
    """``""`` -> None (no limit), ``"0"`` -> 0, else :func:`data.timeutil.parse_duration`."""
    text = str(value).strip()
    if text == "":
        return None
    if text in ("0", "0s"):
        return 0
    return parse_duration(text, argument=argument)


def long_short_weights(scores: np.ndarray, *, quantile: float, weighting: str, gross: float,
                       long_only: bool, min_names: int, names: list[str]) -> np.ndarray:  # fmt: skip
    """Weights from one row of scores (NaN = no usable signal), as the module docstring says."""
    w = np.zeros(len(scores))
    ok = np.flatnonzero(np.isfinite(scores))
    if len(ok) < min_names or len(ok) == 0:
        return w
    s = scores[ok]
    if np.all(s == s[0]):
        return w
    k = max(1, int(math.floor(quantile * len(ok) + 1e-9)))
    order = sorted(range(len(ok)), key=lambda i: (-s[i], names[ok[i]]))  # best first
    top = [ok[i] for i in order[:k]]
    bottom = [] if long_only else [ok[i] for i in order[::-1][:k]]
    if set(top) & set(bottom):  # quantile > 0.5 would put a name on both sides
        bottom = [b for b in bottom if b not in top]
    mean = s.mean()
    side_gross = gross if long_only else gross / 2.0
    for sign, names_ in ((1.0, top), (-1.0, bottom)):
        if not names_:
            continue
        if weighting == "score":
            d = np.abs(scores[names_] - mean)
            share = d / d.sum() if d.sum() > 0 else np.full(len(names_), 1.0 / len(names_))
        else:
            share = np.full(len(names_), 1.0 / len(names_))
        w[names_] = sign * side_gross * share
    return w


class SignalLongShort(Strategy):
    name = "signal_long_short"
    about = "trade an external signal file (as-of join) as a long-short or weight portfolio"

    signals: str = Param("", help="CSV/Parquet file with ts, symbol and score or weight")
    value: str = Param("", help="value column (default: score or weight, whichever exists)")
    delay: str = Param("0", help="a signal is usable from ts + delay (e.g. '1h', '1d')")
    max_age: str = Param("", help="signals older than this are stale (empty: no limit)")
    rebalance: str = Param("1", help="bars between decisions, or daily / weekly / monthly")
    quantile: float = Param(0.2, min=0.0, max=1.0, help="fraction of names per side")
    weighting: str = Param("equal", choices=("equal", "score"))
    long_only: bool = Param(False)
    gross: float = Param(1.0, min=0.0, help="gross exposure (fraction of equity)")
    min_names: int = Param(2, min=1, help="fewer usable signals than this: go flat")

    def validate(self) -> None:
        if not self.signals:
            raise StrategyError("no signal file given", argument="signals", value=self.signals,
                                fix="set params.signals to a CSV/Parquet file")  # fmt: skip
        if self.quantile <= 0.0:
            raise StrategyError("quantile must be > 0", argument="quantile", value=self.quantile,
                                fix="e.g. 0.2 (top and bottom fifth)")  # fmt: skip
        self._delay = duration_param(self.delay, "delay") or 0
        self._max_age = duration_param(self.max_age, "max_age")
        self._schedule = Schedule(self.rebalance)

    def init(self, ctx) -> None:
        self.table = read_signals(self.signals, value_column=self.value or None)
        if not set(self.table.symbols) & set(ctx.symbols):
            raise StrategyError("no symbol of the signal file is in the market data",
                                argument="signals", value=self.table.symbols[:10],
                                fix=f"give signals for some of {', '.join(ctx.symbols[:10])}")  # fmt: skip
        self._schedule = Schedule(self.rebalance)
        self.decisions: list[tuple[int, int, np.ndarray]] = []
        self.counts = {"ok": 0, "missing": 0, "stale": 0}
        self.flat_decisions = 0
        self._last: np.ndarray | None = None
        self.rejected = 0

    def on_bar(self, ctx) -> None:
        if not self._schedule.due(ctx.i, ctx.now):
            return
        syms = list(ctx.symbols)
        j = asof_join(self.table, np.array([ctx.now], dtype=np.int64), syms,
                      delay_ns=self._delay, max_age_ns=self._max_age)  # fmt: skip
        st = j.status[0]
        self.counts["ok"] += int((st == 0).sum())
        self.counts["missing"] += int((st == MISSING).sum())
        self.counts["stale"] += int((st == STALE).sum())
        row = j.value[0]
        if self.table.kind == "weight":
            w = np.where(np.isfinite(row), row, 0.0)
        else:
            w = long_short_weights(row, quantile=self.quantile, weighting=self.weighting,
                                   gross=self.gross, long_only=self.long_only,
                                   min_names=self.min_names, names=syms)  # fmt: skip
        if not np.any(w):
            self.flat_decisions += 1
        self.decisions.append((ctx.now, ctx.i, w))
        if self._last is not None and np.array_equal(w, self._last):
            return  # same targets as last sent: no orders (no drift rebalancing)
        self._last = w
        ctx.order_target_weights({s: float(v) for s, v in zip(syms, w, strict=True) if v})

    def on_order(self, ctx, order) -> None:
        if order["status"] == T.REJECTED:
            self.rejected += 1  # e.g. max_leverage: reported, the next decision retries

    def report_stats(self) -> dict[str, float]:
        return {
            "signal_decisions": len(self.decisions),
            "signal_flat_decisions": self.flat_decisions,
            "signal_ok": self.counts["ok"],
            "signal_missing": self.counts["missing"],
            "signal_stale": self.counts["stale"],
            "orders_rejected": self.rejected,
        }
