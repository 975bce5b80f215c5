"""The Agent strategy: a decision-maker (rule, LLM, any callable) trading through the engine.

At each decision bar (``decide``) it builds a JSON-able observation
(:func:`strategies.agent.observation.build_observation`: recent closes, indicators, cash,
equity, positions, news released since the previous decision), calls the decider, validates the
decision (:mod:`strategies.agent.decisions`) and sets target weights. On every bar the risk
overlay (:mod:`strategies.agent.risk`) may close a position (stop-loss / take-profit). Every
step is logged (:mod:`strategies.agent.log`); ``agent = "replay:<log>"`` replays a log without
calling the agent and gives the identical run.

Invalid decisions (and exceptions raised by the decider) follow ``on_invalid``: ``hold`` keeps
the current targets, ``flat`` closes everything, ``raise`` stops the run with a StrategyError.

In Python, ``Agent(decider=callable, **params)`` takes any callable; give the parameters to the
constructor: ``engine.run(strategy=instance, params={...})`` rebuilds the instance from its
parameters, and a rebuilt instance has no ``decider`` (it falls back to ``agent``).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from data.errors import RunError, StrategyError
from data.timeutil import ns_to_iso
from strategies.agent.deciders import Decider, ReplayedError, load_decider
from strategies.agent.decisions import DecisionRules, InvalidDecision, apply_decision
from strategies.agent.log import DecisionLog, dumps
from strategies.agent.observation import NewsFeed, build_observation
from strategies.agent.risk import RiskOverlay
from strategies.base import Param, Strategy
from strategies.signals.longshort import duration_param
from strategies.statarb.schedule import Schedule


class Agent(Strategy):
    name = "agent"
    about = "calls a decision function (rules, an LLM client, any callable) with JSON observations"

    agent: str = Param("rules", help="rules | replay:<log.jsonl> | pkg.module:name | file.py:name")
    decide: str = Param("1", help="bars between decisions, or daily / weekly / monthly")
    news: str = Param("", help="comma-separated tweet JSONL files (StockNet layout)")
    news_delay: str = Param("0", help="a news item is visible from its time stamp + this")
    max_news: int = Param(10, min=0, help="newest news items per symbol per observation")
    history: int = Param(10, min=1, help="closes per symbol in the observation")
    lookback: int = Param(60, min=21, help="closes used for the indicators")
    trade_weight: float = Param(0.0, min=0.0, help="weight of a 'buy' (0: 1 / number of symbols)")
    max_allocation: float = Param(1.0, min=0.0, help="cap on |weight| per symbol (risk overlay)")
    max_gross: float = Param(1.0, min=0.0, help="decisions above this gross weight are invalid")
    allow_short: bool = Param(False)
    stop_loss: float = Param(0.0, min=0.0, help="exit after this fractional loss (0: off)")
    take_profit: float = Param(0.0, min=0.0, help="exit after this fractional gain (0: off)")
    trailing: bool = Param(True, help="stop-loss trails the best close since entry")
    on_invalid: str = Param("hold", choices=("hold", "flat", "raise"))
    log: str = Param("", help="write the JSONL decision log here")

    def __init__(self, decider: Decider | None = None, **params: Any) -> None:
        super().__init__(**params)
        self._decider_obj = decider

    def validate(self) -> None:
        self._news_delay = duration_param(self.news_delay, "news_delay") or 0
        Schedule(self.decide)

    def init(self, ctx) -> None:
        self.symbols = list(ctx.symbols)
        self.decider = self._decider_obj or load_decider(self.agent)
        tw = self.trade_weight or 1.0 / len(self.symbols)
        self.rules = DecisionRules(tuple(self.symbols), tw, self.max_allocation, self.max_gross,
                                   self.allow_short)  # fmt: skip
        files = [f.strip() for f in self.news.split(",") if f.strip()]
        self.feed = (NewsFeed.from_tweets(files, delay_ns=self._news_delay,
                                          max_items=self.max_news) if files else None)  # fmt: skip
        self.risk = RiskOverlay(stop_loss=self.stop_loss, take_profit=self.take_profit,
                                trailing=self.trailing)  # fmt: skip
        self.schedule = Schedule(self.decide)
        self.targets = {s: 0.0 for s in self.symbols}
        self.journal = DecisionLog({"strategy": self.name, "params": dict(self.params),
                                    "symbols": self.symbols})  # fmt: skip
        self._step = 0
        self._last_news = -(2**62)
        self._equity: list[float] = []
        self._first_close: np.ndarray | None = None
        self._bh: list[float] = []

    # --- per bar --------------------------------------------------------------------------
    def on_bar(self, ctx) -> None:
        closes = np.array([ctx.close(k, 1)[-1] for k in range(len(self.symbols))])
        self._track(ctx, closes)
        changed = self._risk_exits(ctx, closes)
        if self.schedule.due(ctx.i, ctx.now):
            changed |= self._decide(ctx, closes)
        if changed:
            ctx.order_target_weights({s: w for s, w in self.targets.items() if w})

    def _risk_exits(self, ctx, closes) -> bool:
        changed = False
        for k, sym in enumerate(self.symbols):
            hit = self.risk.check(sym, float(closes[k]))
            if hit:
                event, ref = hit
                self.targets[sym] = 0.0
                self.risk.on_target(sym, 0.0, float(closes[k]))
                self.journal.add({"type": "risk", "ts": ns_to_iso(ctx.now), "ts_ns": ctx.now,
                                  "symbol": sym, "event": event, "price": float(closes[k]),
                                  "reference": ref})  # fmt: skip
                changed = True
        return changed

    def _decide(self, ctx, closes) -> bool:
        news = self.feed.between(self._last_news, ctx.now, self.symbols) if self.feed else []
        self._last_news = ctx.now
        obs = build_observation(
            step=self._step, now_ns=ctx.now, symbols=self.symbols,
            closes={s: ctx.close(k, self.lookback) for k, s in enumerate(self.symbols)},
            cash=ctx.cash, equity=ctx.equity, positions=ctx.positions(), news=news,
            history=self.history,
        )  # fmt: skip
        rec: dict[str, Any] = {"type": "step", "step": self._step, "ts": ns_to_iso(ctx.now),
                               "ts_ns": ctx.now, "observation": obs}  # fmt: skip
        self._step += 1
        error = None
        try:
            raw = self.decider(json.loads(dumps(obs)))  # the agent gets its own copy
            try:
                decision = json.loads(dumps(raw))
                rec["raw"] = {"decision": decision}
            except (TypeError, ValueError) as exc:
                rec["raw"] = {"error": f"decision is not JSON-able: {exc}"}
                raise InvalidDecision(rec["raw"]["error"]) from None
            new, clipped = apply_decision(decision, self.targets, self.rules)
        except RunError:
            raise
        except InvalidDecision as exc:
            error = str(exc)
        except ReplayedError as exc:
            error = str(exc)
            rec["raw"] = {"error": error}
        except Exception as exc:  # the decider's own failure is an invalid step, not a crash
            error = f"{type(exc).__name__}: {exc}"
            rec["raw"] = {"error": error}
        if error is not None:
            if self.on_invalid == "raise":
                self.journal.add({**rec, "status": "invalid", "error": error})
                raise StrategyError(f"invalid agent decision: {error}", argument="agent",
                                    value=rec["step"], fix="fix the agent or set on_invalid "
                                    "= 'hold' / 'flat'")  # fmt: skip
            new = (
                dict(self.targets)
                if self.on_invalid == "hold"
                else dict.fromkeys(self.targets, 0.0)
            )
            clipped = []
        changed = new != self.targets
        for k, sym in enumerate(self.symbols):
            if new[sym] != self.targets[sym]:
                self.risk.on_target(sym, new[sym], float(closes[k]))
        self.targets = new
        self.journal.add({**rec, "status": "ok" if error is None else "invalid",
                          "error": error, "targets": dict(new), "clipped": clipped})  # fmt: skip
        return changed

    def _track(self, ctx, closes) -> None:
        self._equity.append(ctx.equity)
        if self._first_close is None and np.isfinite(closes).all():
            self._first_close = closes.copy()
        if self._first_close is not None:
            # equal-weight buy-and-hold of the symbols from the first bar with every close
            self._bh.append(float(np.mean(closes / self._first_close)))

    # --- end ------------------------------------------------------------------------------
    def on_stop(self, ctx) -> None:
        if self.log:
            self.journal.write(self.log)

    def report_stats(self) -> dict[str, float]:
        """Agent-benchmark numbers: cumulative return, max drawdown and Sortino of the agent and
        of an equal-weight buy-and-hold of its symbols (per-bar simple returns, 252 per year;
        the stats.json kernels through :func:`reports.metrics_returns.return_metrics`)."""
        from reports.metrics_returns import return_metrics

        steps = self.journal.steps
        out: dict[str, float] = {
            "agent_steps": len(steps),
            "agent_invalid": sum(s["status"] != "ok" for s in steps),
            "agent_risk_exits": sum(r["type"] == "risk" for r in self.journal.records),
        }
        for key, path in (("agent", self._equity), ("buy_hold", self._bh)):
            p = np.asarray(path, dtype=np.float64)
            if len(p) < 2:
                continue
            r = p[1:] / p[:-1] - 1.0
            out[f"{key}_cum_return"] = float(p[-1] / p[0] - 1.0)
            m = return_metrics(r, 252.0)
            out[f"{key}_max_drawdown"] = m["max_drawdown"]
            s = m["sortino"]
            out[f"{key}_sortino"] = s if math.isfinite(s) else float("nan")
        return out
