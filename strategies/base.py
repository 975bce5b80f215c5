"""The strategy base class and the context a strategy trades through.

A strategy is a class with typed parameters as annotated class attributes and a few hooks::

    class SmaCross(Strategy):
        name = "sma_cross"
        fast: int = 10
        slow: int = Param(20, min=2, help="slow SMA period")

        def init(self, ctx):                     # once: vectorised indicators
            self.fast_ma = sma(ctx.data["close"], self.fast)
        def on_bar(self, ctx):                   # every time stamp where a bar closed
            f = ctx.indicator(self.fast_ma)      # truncated at ctx.now: no look-ahead
            ...
            ctx.order_target_percent(None, 1.0)

Parameters are overridden per run (``Strategy(fast=5)``, config ``params``, CLI ``--param``);
an unknown name raises :class:`StrategyError` with the nearest valid one.

Hooks: ``init``, ``on_bar``, ``on_fill(ctx, fill)``, ``on_order(ctx, order)``, ``on_stop``; the
compiled alternative is ``targets(data) -> Targets`` (see :mod:`engine.compiled`). Tick hooks
(``on_trade``, ``on_quote``, ``on_book``, ``on_timer``) belong to the order-book engine.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any, ClassVar

import numpy as np

from data.errors import StrategyError

if typing.TYPE_CHECKING:  # pragma: no cover
    from engine.broker import Broker

_RESERVED = {"name", "about"}


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter default with optional bounds / choices / help (plain defaults work too)."""

    default: Any
    min: float | None = None
    max: float | None = None
    choices: tuple | None = None
    help: str = ""


def _coerce(value: Any, typ: Any, key: str) -> Any:
    """Convert CLI strings and ints-as-floats to the annotated type; refuse what does not fit."""
    if typ in (int, float, bool, str):
        if typ is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
                return value.lower() in ("true", "1", "yes")
            if isinstance(value, int | np.integer) and value in (0, 1):
                return bool(value)
        elif typ is int:
            if isinstance(value, int | np.integer) and not isinstance(value, bool):
                return int(value)
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                try:
                    return int(value)
                except ValueError:
                    pass
        elif typ is float:
            if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                    value, bool):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
        else:
            return str(value)
        raise StrategyError(f"parameter must be {typ.__name__}", argument=key, value=value,
                            fix=f"give a value of type {typ.__name__}, e.g. {key}={_example(typ)}")
    return value


def _example(typ: type) -> str:
    return {int: "10", float: "0.5", bool: "true"}.get(typ, "text")


class Strategy:
    """Base class of every strategy (see the module docstring)."""

    name: ClassVar[str] = ""
    about: ClassVar[str] = ""

    def __init__(self, **params: Any) -> None:
        spec = self.param_spec()
        for key, value in params.items():
            if key not in spec:
                near = difflib.get_close_matches(key, list(spec), n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise StrategyError(f"unknown parameter of strategy {self.name or type(self).__name__!r}",
                                    argument=key, value=value,
                                    fix=f"{hint}parameters: {', '.join(spec) or '(none)'}")
        values = {}
        for key, (typ, p) in spec.items():
            v = _coerce(params[key], typ, key) if key in params else p.default
            if p.min is not None and v < p.min or p.max is not None and v > p.max:
                bound = (f"{p.min} <= {key} <= {p.max}" if p.min is not None and p.max is not None
                         else f"{key} >= {p.min}" if p.min is not None else f"{key} <= {p.max}")
                raise StrategyError("parameter out of range", argument=key, value=v,
                                    fix=f"give a value with {bound}")
            if p.choices is not None and v not in p.choices:
                raise StrategyError("parameter not one of the choices", argument=key, value=v,
                                    fix=f"use one of {list(p.choices)}")
            values[key] = v
            object.__setattr__(self, key, v)
        self.params = values
        self.validate()

    @classmethod
    def param_spec(cls) -> dict[str, tuple[Any, Param]]:
        """{name: (type, Param)} from the annotated class attributes (base classes first).

        Kept per class (resolving the type hints costs ~0.2 ms, which a sweep would pay per
        combination); the cached spec is used only while the annotated attributes are the
        same objects as when it was built."""
        key = tuple((klass, name, id(klass.__dict__.get(name, None)))
                    for klass in cls.__mro__
                    for name in klass.__dict__.get("__annotations__", {}))
        got = cls.__dict__.get("_param_spec_cache")
        if got is not None and got[0] == key:
            return dict(got[1])
        out = cls._build_param_spec()
        cls._param_spec_cache = (key, out)
        return dict(out)

    @classmethod
    def _build_param_spec(cls) -> dict[str, tuple[Any, Param]]:
        out: dict[str, tuple[Any, Param]] = {}
        for klass in reversed(cls.__mro__):
            ann = klass.__dict__.get("__annotations__", {})
            try:
                hints = typing.get_type_hints(klass)
            except Exception:  # unresolvable forward references: fall back to raw annotations
                hints = ann
            for key in ann:
                if key.startswith("_") or key in _RESERVED or key == "params":
                    continue
                typ = hints.get(key, ann[key])
                if typing.get_origin(typ) is ClassVar:
                    continue
                default = klass.__dict__.get(key, None)
                p = default if isinstance(default, Param) else Param(default)
                out[key] = (typ, p)
        return out

    def validate(self) -> None:
        """Check parameter combinations; raise StrategyError. Override as needed."""

    # --- hooks ----------------------------------------------------------------------------
    def init(self, ctx: Context) -> None:
        """Once before the first bar: precompute indicators from ``ctx.data``."""

    def on_bar(self, ctx: Context) -> None:
        """At every time stamp where at least one bar closed."""

    def on_fill(self, ctx: Context, fill) -> None:
        """After each fill (a FILL record)."""

    def on_order(self, ctx: Context, order) -> None:
        """After each order status change (an ORDER record; rejects carry reject_reason)."""

    def on_stop(self, ctx: Context) -> None:
        """After the last bar."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


class Context:
    """What a strategy sees and does. Every market view is truncated at the current bar."""

    def __init__(self, broker: Broker) -> None:
        self._b = broker
        m = broker.market
        self._mkt = m.mkt
        self._ts = m.ts
        self.symbols: list[str] = list(m.symbols)
        self.i = -1  # bar index; -1 during init
        from engine.compiled import market_data

        self._full = market_data(m)

    # --- time and data --------------------------------------------------------------------
    @property
    def now(self) -> int:
        """Close time of the current bar (int64 ns UTC)."""
        return int(self._ts[self.i]) if self.i >= 0 else int(self._ts[0]) - 1

    @property
    def ts(self) -> np.ndarray:
        """Close times up to now."""
        return self._ts[: self.i + 1]

    @property
    def data(self) -> dict[str, np.ndarray]:
        """The whole series — in ``init`` only: open..volume ([bars] for one symbol, else
        [bars, symbols], nan where a symbol has no bar), ``ts`` and ``symbols``."""
        if self.i >= 0:
            raise StrategyError("ctx.data is the full series and is only available in init()",
                                argument="ctx.data", value=self.i,
                                fix="use ctx.close(...) / ctx.history(...) / ctx.indicator(...)")
        return self._full

    def _sym(self, sym: str | int | None) -> int:
        if isinstance(sym, int | np.integer):
            return int(sym)
        return self._b.market.sym_index(sym)

    def _field(self, k: int, sym, n):
        s = self._sym(sym)
        lo = 0 if n is None else max(0, self.i + 1 - n)
        return self._mkt[k, lo : self.i + 1, s]

    def open(self, sym=None, n: int | None = None) -> np.ndarray:
        return self._field(0, sym, n)

    def high(self, sym=None, n: int | None = None) -> np.ndarray:
        return self._field(1, sym, n)

    def low(self, sym=None, n: int | None = None) -> np.ndarray:
        return self._field(2, sym, n)

    def close(self, sym=None, n: int | None = None) -> np.ndarray:
        """Closes up to now (the last ``n``); nan where the symbol had no bar."""
        return self._field(3, sym, n)

    def volume(self, sym=None, n: int | None = None) -> np.ndarray:
        return self._field(4, sym, n)

    def history(self, sym=None, n: int | None = None) -> dict[str, np.ndarray]:
        """{"ts", "open", "high", "low", "close", "volume"} up to now (the last ``n`` bars)."""
        lo = 0 if n is None else max(0, self.i + 1 - n)
        out = {"ts": self._ts[lo : self.i + 1]}
        for k, name in enumerate(("open", "high", "low", "close", "volume")):
            out[name] = self._field(k, sym, n)
        return out

    def timeframe(self, rule: str, sym=None, **kw) -> tuple[np.ndarray, np.ndarray]:
        """Coarser bars of ``sym`` and their alignment onto the run's clock.

        Returns ``(coarse, idx)``: ``coarse`` the BAR array from
        :func:`data.resample.resample_bars` (``rule`` such as ``"W-FRI"``, ``"M"``, ``"1h"``;
        keywords passed on), ``idx[i]`` the index of the last coarse bar closed at bar i's
        close (-1: none yet). In ``init``, compute indicators on ``coarse`` and align them with
        ``coarse_values[idx]`` (masking ``idx < 0``): bar i then sees closed coarse bars only.
        """
        from data.resample import align_asof, resample_bars

        s = self._sym(sym)
        key = (rule, s, tuple(sorted(kw.items())))
        cache = self.__dict__.setdefault("_tf", {})
        if key not in cache:
            base = self._b.market.bars[self.symbols[s]]
            coarse = resample_bars(base, rule, **kw)
            cache[key] = (coarse, align_asof(self._ts, coarse["ts"]))
        return cache[key]

    def bars(self, rule: str, sym=None, n: int | None = None, **kw) -> np.ndarray:
        """The closed coarse bars (BAR rows) of ``rule`` up to now (the last ``n``)."""
        coarse, idx = self.timeframe(rule, sym, **kw)
        k = int(idx[self.i]) if self.i >= 0 else -1
        lo = 0 if n is None else max(0, k + 1 - n)
        return coarse[lo : k + 1]

    def price(self, sym=None) -> float:
        """The last known close (carried over bars where the symbol did not trade)."""
        return float(self._mkt[5, self.i, self._sym(sym)])

    def indicator(self, arr) -> np.ndarray:
        """``arr`` (aligned with the bars along axis 0; or the name of a strategy attribute)
        truncated at now."""
        if isinstance(arr, str):
            arr = getattr(self._b.strategy, arr)
        return arr[: self.i + 1]

    def at(self, arr, lag: int = 0):
        """``arr[now - lag]`` (lag >= 0): the value of a bar-aligned array at the current bar,
        or ``lag`` bars before it — the fast form of ``ctx.indicator(arr)[-1 - lag]``."""
        if lag < 0:
            raise StrategyError("lag must be >= 0 (a negative lag reads the future)",
                                argument="lag", value=lag, fix="use lag=0 for the current bar")
        k = self.i - lag
        if k < 0:
            raise StrategyError("lag reaches before the first bar", argument="lag", value=lag,
                                fix=f"use lag <= {self.i}")
        return arr[k]

    # --- account --------------------------------------------------------------------------
    def position(self, sym=None) -> float:
        ot = self._b.open_tr[self._sym(sym)]
        return float(ot["side"] * ot["size"])

    @property
    def cash(self) -> float:
        return float(self._b.acct[0])

    @property
    def equity(self) -> float:
        return self._b.equity_now(self.i)

    def positions(self) -> dict[str, float]:
        return {s: self.position(k) for k, s in enumerate(self.symbols)}

    def open_orders(self, sym=None) -> np.ndarray:
        """Copies of the non-terminal ORDER records (of ``sym`` if given): a structured array
        (``engine.types.OrderRecords``) that is false when empty, like a list."""
        return self._b.open_orders(None if sym is None else self._sym(sym))

    def order(self, order_id: int):
        return self._b.orders[int(order_id)].copy()

    # --- orders ---------------------------------------------------------------------------
    def buy(self, sym=None, *, size: float, limit: float | None = None,
            stop: float | None = None, tif: str = "GTC", sl: float | None = None,
            tp: float | None = None, trail: float | None = None,
            trail_pct: float | None = None, expire: Any = None, tag: int = 0) -> int:
        """Send a buy order; returns its id. limit -> limit, stop -> stop, both -> stop-limit,
        trail (amount) / trail_pct (fraction) -> trailing stop; sl / tp add bracket children."""
        return self._b.send(self.i, self._sym(sym), 1, size, limit, stop, tif, sl, tp, trail,
                            trail_pct, expire, tag)

    def sell(self, sym=None, *, size: float, limit: float | None = None,
             stop: float | None = None, tif: str = "GTC", sl: float | None = None,
             tp: float | None = None, trail: float | None = None,
             trail_pct: float | None = None, expire: Any = None, tag: int = 0) -> int:
        return self._b.send(self.i, self._sym(sym), -1, size, limit, stop, tif, sl, tp, trail,
                            trail_pct, expire, tag)

    def cancel(self, order_id: int) -> bool:
        return self._b.cancel(self.i, int(order_id))

    def replace(self, order_id: int, *, size: float | None = None, limit: float | None = None,
                stop: float | None = None) -> bool:
        return self._b.replace(self.i, int(order_id), size, limit, stop)

    def order_target_size(self, sym=None, size: float = 0.0, *, tag: int = 0) -> int:
        """Market order resolved at the fill to reach ``size`` units (signed)."""
        return self._b.send_target(self.i, self._sym(sym), 64, float(size), tag)

    def order_target_value(self, sym=None, value: float = 0.0, *, tag: int = 0) -> int:
        """Market order resolved at the fill to hold ``value`` (signed) of the symbol."""
        return self._b.send_target(self.i, self._sym(sym), 128, float(value), tag)

    def order_target_percent(self, sym=None, pct: float = 0.0, *, tag: int = 0) -> int:
        """Market order resolved at the fill to hold ``pct`` of the equity (liquidation value
        at the fill price) in whole lots after commission; -1.0 is all-in short."""
        return self._b.send_target(self.i, self._sym(sym), 256, float(pct), tag)

    def order_target_weights(self, weights: dict[str, float], *, tag: int = 0) -> list[int]:
        """order_target_percent for each symbol; symbols not named go to 0 when held."""
        unknown = set(weights) - set(self.symbols)
        if unknown:
            raise StrategyError("order_target_weights got unknown symbols", argument="weights",
                                value=sorted(unknown), fix=f"use {self.symbols}")
        ids = []
        for k, sym in enumerate(self.symbols):
            if sym in weights:
                ids.append(self.order_target_percent(k, float(weights[sym]), tag=tag))
            elif self.position(k) != 0.0:
                ids.append(self.order_target_percent(k, 0.0, tag=tag))
        return ids
