"""Commission and slippage models (parsed from the config, encoded into the kernels' ``cfg``).

Commission, charged on every fill: ``max(rate * notional + per_share * size, minimum) + fixed``
with ``rate`` = ``maker`` for limit fills and ``taker`` (= ``rate``) otherwise.

* ``0.002`` or ``{model = "fraction", rate = 0.002}``: a fraction of notional;
* ``{model = "per_share", per_share = 0.005, minimum = 1.0}``: per unit with a minimum;
* ``{model = "fixed", fixed = 1.0}``: a fixed amount per fill;
* ``{model = "maker_taker", maker = -0.0001, taker = 0.0004}``: by liquidity.

Slippage (taker fills only: market, stop, trailing; limit fills are at their price), as a
fraction of the reference price against the trader:

* ``{model = "bps", bps = 5}``: fixed basis points;
* ``{model = "half_spread", spread = 0.0004}``: half of a (full) spread given as a fraction;
* ``{model = "sqrt_impact", coef = 0.1}``: ``coef * sqrt(size / bar volume)`` (square-root
  impact law; bars without volume get none).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from data.errors import ConfigError

COMMISSION_MODELS = ("fraction", "per_share", "fixed", "maker_taker", "none")
SLIPPAGE_MODELS = ("none", "bps", "half_spread", "sqrt_impact")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Commission:
    model: str = "fraction"
    rate: float = 0.0
    maker: float | None = None
    per_share: float = 0.0
    minimum: float = 0.0
    fixed: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["maker"] is None:
            d["maker"] = self.rate
        return d


@dataclasses.dataclass(frozen=True, kw_only=True)
class Slippage:
    model: str = "none"
    bps: float = 0.0
    spread: float = 0.0
    coef: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _number(v: Any, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ConfigError("expected a number", argument=key, value=v, fix="write a number")
    v = float(v)
    if v != v:
        raise ConfigError("expected a number, got nan", argument=key, value=v, fix="write a number")
    return v


def _table(value: dict, allowed: tuple[str, ...], what: str) -> dict:
    from engine.config import nearest

    for k in value:
        if k not in allowed:
            raise ConfigError(f"unknown {what} key", argument=f"{what}.{k}", value=value[k],
                              fix=f"did you mean {nearest(k, allowed)!r}? valid: {', '.join(allowed)}")
    return value


def parse_commission(value: Any) -> Commission:
    if isinstance(value, Commission):
        return value
    if value is None:
        return Commission(model="none")
    if isinstance(value, int | float) and not isinstance(value, bool):
        rate = _number(value, "commission")
        if not (-0.1 < rate < 0.5):
            raise ConfigError("commission rate out of range", argument="commission", value=value,
                              fix="give a fraction of notional, e.g. 0.001 for 10 bp")
        return Commission(model="fraction", rate=rate)
    if not isinstance(value, dict):
        raise ConfigError("commission must be a number or a table", argument="commission",
                          value=value, fix='e.g. 0.001 or {model = "per_share", per_share = 0.005}')
    d = _table(dict(value), ("model", "rate", "maker", "taker", "per_share", "minimum", "fixed"),
               "commission")
    model = d.get("model", "fraction")
    if model not in COMMISSION_MODELS:
        from engine.config import nearest

        raise ConfigError("unknown commission model", argument="commission.model", value=model,
                          fix=f"did you mean {nearest(model, COMMISSION_MODELS)!r}?")
    kw = {k: _number(d[k], f"commission.{k}") for k in d if k != "model"}
    if "taker" in kw:
        kw["rate"] = kw.pop("taker")
    for k in ("per_share", "minimum", "fixed"):
        if kw.get(k, 0.0) < 0:
            raise ConfigError("must be >= 0", argument=f"commission.{k}", value=kw[k],
                              fix="give a non-negative amount")
    return Commission(model=model, **kw)


def parse_slippage(value: Any) -> Slippage:
    if isinstance(value, Slippage):
        return value
    if value is None or value == 0:
        return Slippage()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Slippage(model="bps", bps=_number(value, "slippage"))
    if not isinstance(value, dict):
        raise ConfigError("slippage must be a number of bps or a table", argument="slippage",
                          value=value, fix='e.g. 5 or {model = "half_spread", spread = 0.0004}')
    d = _table(dict(value), ("model", "bps", "spread", "coef"), "slippage")
    model = d.get("model", "bps")
    if model not in SLIPPAGE_MODELS:
        from engine.config import nearest

        raise ConfigError("unknown slippage model", argument="slippage.model", value=model,
                          fix=f"did you mean {nearest(model, SLIPPAGE_MODELS)!r}?")
    kw = {k: _number(d[k], f"slippage.{k}") for k in d if k != "model"}
    for k, v in kw.items():
        if v < 0:
            raise ConfigError("must be >= 0", argument=f"slippage.{k}", value=v,
                              fix="slippage is always against the trader; give a size >= 0")
    return Slippage(model=model, **kw)
