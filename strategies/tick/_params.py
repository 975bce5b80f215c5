"""Typed parameters for the tick strategies until they move onto ``strategies.base.Strategy``
(the core's base class): annotated class attributes, overridable by keyword, unknown names
refused."""

from __future__ import annotations

import typing

from data.errors import StrategyError


class TickParams:
    name = ""

    def __init__(self, **params) -> None:
        hints = {k: v for k, v in typing.get_type_hints(type(self)).items()
                 if not k.startswith("_") and k not in ("name",)}
        for k, v in params.items():
            if k not in hints:
                raise StrategyError(f"unknown parameter of {self.name!r}", argument=k, value=v,
                                    fix=f"parameters: {', '.join(sorted(hints))}")
            typ = hints[k]
            try:
                v = typ(v)
            except (TypeError, ValueError):
                raise StrategyError(f"parameter must be {typ.__name__}", argument=k,
                                    value=v, fix=f"give a {typ.__name__}") from None
            setattr(self, k, v)
        self.params = {k: getattr(self, k) for k in hints}
