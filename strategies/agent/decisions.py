"""Validate an agent's decision and turn it into target weights.

A decision is a JSON-able dict in one of two forms:

* ``{"actions": {"MSFT": "buy", "GOOG": "hold"}}``: per symbol ``buy`` (target ``+trade_weight``),
  ``sell`` (``-trade_weight`` when shorting is allowed, else flat), ``close`` (flat) or ``hold``
  (keep the current target). Symbols not named are held.
* ``{"weights": {"MSFT": 0.6, "GOOG": 0.0}}``: fractions of equity per symbol; symbols not named
  get 0, the rest stays in cash.

An optional ``"reason"`` string is logged and ignored. Anything else is **invalid** and the caller
applies its ``on_invalid`` policy (hold / flat / raise): not a dict, both or neither form, an
unknown symbol or action, a weight that is not a finite number, a negative weight without
shorting, or a gross allocation ``sum |w|`` above ``max_gross``. The risk overlay's
``max_allocation`` clips each symbol's target to ``[-max_allocation, max_allocation]`` (a clip,
logged, not an error).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

ACTIONS = ("buy", "sell", "close", "hold")


class InvalidDecision(ValueError):
    """The decision does not follow the protocol (the message says why)."""


@dataclasses.dataclass(frozen=True)
class DecisionRules:
    symbols: tuple[str, ...]
    trade_weight: float
    max_allocation: float = 1.0
    max_gross: float = 1.0
    allow_short: bool = False


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDecision(f"{where}: weight must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise InvalidDecision(f"{where}: weight must be finite, got {value!r}")
    return v


def _symbol_map(obj, key: str, symbols: Sequence[str]) -> Mapping:
    m = obj[key]
    if not isinstance(m, Mapping):
        raise InvalidDecision(
            f"'{key}' must be an object of symbol -> value, got {type(m).__name__}"
        )
    unknown = [s for s in m if s not in symbols]
    if unknown:
        raise InvalidDecision(
            f"unknown symbol {unknown[0]!r} in '{key}' (known: {', '.join(symbols)})"
        )
    return m


def apply_decision(decision, current: Mapping[str, float],
                   rules: DecisionRules) -> tuple[dict[str, float], list[str]]:  # fmt: skip
    """``(targets, clipped)``: the new target weight of every symbol and the symbols whose
    target the ``max_allocation`` overlay clipped. Raises :class:`InvalidDecision`."""
    syms = rules.symbols
    if not isinstance(decision, Mapping):
        raise InvalidDecision(f"decision must be an object, got {type(decision).__name__}")
    extra = [k for k in decision if k not in ("actions", "weights", "reason")]
    if extra:
        raise InvalidDecision(
            f"unknown key {extra[0]!r} (use 'actions' or 'weights', and 'reason')"
        )
    if ("actions" in decision) == ("weights" in decision):
        raise InvalidDecision("give exactly one of 'actions' or 'weights'")
    if "reason" in decision and not isinstance(decision["reason"], str):
        raise InvalidDecision("'reason' must be a string")
    targets = {s: float(current.get(s, 0.0)) for s in syms}
    if "actions" in decision:
        for sym, act in _symbol_map(decision, "actions", syms).items():
            if act not in ACTIONS:
                raise InvalidDecision(f"{sym}: unknown action {act!r} (use {', '.join(ACTIONS)})")
            if act == "buy":
                targets[sym] = rules.trade_weight
            elif act == "sell":
                targets[sym] = -rules.trade_weight if rules.allow_short else 0.0
            elif act == "close":
                targets[sym] = 0.0
    else:
        given = _symbol_map(decision, "weights", syms)
        targets = {s: 0.0 for s in syms}
        for sym, w in given.items():
            v = _number(w, sym)
            if v < 0 and not rules.allow_short:
                raise InvalidDecision(f"{sym}: negative weight {v} but shorting is not allowed")
            targets[sym] = v
    gross = sum(abs(v) for v in targets.values())
    if gross > rules.max_gross + 1e-12:
        raise InvalidDecision(f"gross allocation {gross:.6g} exceeds max_gross {rules.max_gross:g}")
    clipped = []
    cap = rules.max_allocation
    for sym, v in targets.items():
        if abs(v) > cap:
            targets[sym] = math.copysign(cap, v)
            clipped.append(sym)
    return targets, clipped
