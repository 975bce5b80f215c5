"""Parameter spaces of a sweep: grid axes, random search and constraints.

    from engine.sweep_space import Space, parse_axis, Constraint
    space = Space([parse_axis("fast=5:30:5"), parse_axis("slow=20:100:10")],
                  constraints=[Constraint("fast < slow")])
    combos = space.grid()                      # every combination, in a fixed order
    combos = space.sample(50, seed=7)          # 50 distinct combinations, seeded

An axis is ``name=start:stop:step`` (inclusive stop; integers when all three are integers, else
floats computed as ``start + k * step`` so no rounding drift accumulates) or a comma list
``name=a,b,c`` (numbers, ``true``/``false`` or bare words). Constraints are arithmetic and
comparison expressions over the parameter names, parsed with :mod:`ast` and evaluated by a
small tree walker: no names other than the parameters, no calls, no attributes, nothing of
Python's ``eval``.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import itertools
import math
import operator
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from data.errors import ConfigError

Value = int | float | bool | str
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
MAX_COMBOS = 10_000_000


@dataclasses.dataclass(frozen=True)
class Axis:
    """One swept parameter and its values, in order."""

    name: str
    values: tuple[Value, ...]

    def __len__(self) -> int:
        return len(self.values)


def _int_or_float(text: str) -> int | float | None:
    """``text`` as an int, else as a float, else None."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return None


def _number(text: str, axis: str, spec: str) -> int | float:
    t = text.strip()
    v = _int_or_float(t)
    if v is None:
        raise ConfigError(f"{t!r} is not a number", argument=f"--grid {axis}", value=spec,
                          fix="write start:stop:step with numbers, e.g. fast=5:30:5")
    if isinstance(v, float) and not math.isfinite(v):
        raise ConfigError("range bounds must be finite", argument=f"--grid {axis}", value=spec,
                          fix="use finite numbers")
    return v


def _scalar(text: str) -> Value:
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    v = _int_or_float(t)
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return t
    return v


def parse_range(name: str, text: str, spec: str = "") -> tuple[Value, ...]:
    """``start:stop:step`` inclusive of ``stop`` (when reached exactly, up to float rounding)."""
    spec = spec or f"{name}={text}"
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise ConfigError("a range is start:stop[:step]", argument=f"--grid {name}", value=spec,
                          fix="e.g. fast=5:30:5 (5, 10, ..., 30) or a list fast=5,10,20")
    start = _number(parts[0], name, spec)
    stop = _number(parts[1], name, spec)
    step = _number(parts[2], name, spec) if len(parts) == 3 else 1
    if step <= 0:
        raise ConfigError("the step must be positive", argument=f"--grid {name}", value=spec,
                          fix="use a positive step, e.g. 5:30:5")
    if stop < start:
        raise ConfigError("the range is empty (stop < start)", argument=f"--grid {name}",
                          value=spec, fix="write start:stop:step with start <= stop")
    if all(isinstance(v, int) for v in (start, stop, step)):
        return tuple(range(start, stop + 1, step))
    n = int(math.floor((stop - start) / step + 1e-9)) + 1
    if n > MAX_COMBOS:
        raise ConfigError("the range has too many values", argument=f"--grid {name}",
                          value=spec, fix="use a larger step")
    return tuple(float(start + k * step) for k in range(n))


def parse_axis(spec: str) -> Axis:
    """``name=start:stop:step`` or ``name=v1,v2,...`` -> :class:`Axis`."""
    name, sep, body = spec.partition("=")
    name = name.strip()
    if not sep or not name or not body.strip():
        raise ConfigError("a grid axis is NAME=start:stop:step or NAME=v1,v2,...",
                          argument="--grid", value=spec, fix="e.g. --grid fast=5:30:5")
    if not _NAME.match(name):
        raise ConfigError("a parameter name is letters, digits and underscores",
                          argument="--grid", value=spec, fix="e.g. --grid fast=5:30:5")
    body = body.strip()
    if ":" in body and "," not in body:
        values = parse_range(name, body, spec)
    else:
        values = tuple(_scalar(v) for v in body.split(","))
        if any(v == "" for v in values):
            raise ConfigError("empty value in the list", argument=f"--grid {name}", value=spec,
                              fix="write NAME=v1,v2,v3 without empty items")
    return axis(name, values)


def axis(name: str, values: Iterable[Value]) -> Axis:
    """An :class:`Axis` from Python values (TOML lists, API calls); duplicates refused."""
    vals = tuple(values)
    if not vals:
        raise ConfigError("the axis has no values", argument=f"--grid {name}", value=list(vals),
                          fix="give at least one value")
    for v in vals:
        if not isinstance(v, int | float | bool | str) or (isinstance(v, float) and not math.isfinite(v)):
            raise ConfigError("axis values are finite numbers, booleans or strings",
                              argument=f"--grid {name}", value=v, fix="remove that value")
    keys = [(type(v) is bool, v) for v in vals]
    if len(set(keys)) != len(keys):
        raise ConfigError("the axis lists a value twice", argument=f"--grid {name}",
                          value=list(vals), fix="remove the duplicates")
    return Axis(name, vals)


# --- constraints ----------------------------------------------------------------------------

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
        ast.Pow: operator.pow}
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


class Constraint:
    """A boolean expression over parameter names, e.g. ``fast < slow`` or
    ``slow >= 2 * fast and fast % 5 == 0``. Allowed: numbers, strings, True/False, the
    parameter names, ``+ - * / // % **``, comparisons (chained too), ``and or not``,
    parentheses, ``abs min max``. Anything else is refused when parsed."""

    FUNCS = {"abs": abs, "min": min, "max": max}

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            raise ConfigError("the constraint is not a valid expression", argument="--constraint",
                              value=text, fix=f"check the syntax near column {exc.offset}") from None
        self._tree = tree.body
        self.names: set[str] = set()
        self._check(self._tree)

    def _refuse(self, node: ast.AST, what: str) -> ConfigError:
        return ConfigError(f"{what} is not allowed in a constraint", argument="--constraint",
                           value=self.text,
                           fix="use parameter names, numbers, comparisons, and/or/not, "
                               "+ - * / // % ** and abs/min/max")

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float | str | bool):
                raise self._refuse(node, f"the constant {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id not in self.FUNCS:
                self.names.add(node.id)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            self._check(node.operand)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self._check(v)
        elif isinstance(node, ast.Compare) and all(type(o) in _CMP for o in node.ops):
            self._check(node.left)
            for c in node.comparators:
                self._check(c)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in self.FUNCS and not node.keywords):
            for a in node.args:
                self._check(a)
        else:
            raise self._refuse(node, type(node).__name__)

    def check_names(self, known: Sequence[str]) -> None:
        """Every name must be a parameter of the sweep (swept or fixed)."""
        for n in sorted(self.names):
            if n not in known:
                near = difflib.get_close_matches(n, list(known), n=1)
                raise ConfigError(f"the constraint names {n!r}, which is not a parameter",
                                  argument="--constraint", value=self.text,
                                  fix=f"did you mean {near[0]!r}?" if near
                                  else f"use one of {', '.join(known)}")

    def __call__(self, values: dict[str, Any]) -> bool:
        try:
            return bool(self._eval(self._tree, values))
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise ConfigError(f"the constraint cannot be evaluated: {exc}", argument="--constraint",
                              value=f"{self.text} with {values}",
                              fix="make the expression valid for every combination") from None

    def _eval(self, node: ast.AST, env: dict[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BinOp):
            left, right = self._eval(node.left, env), self._eval(node.right, env)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ValueError("exponent too large")
            return _BIN[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](self._eval(node.operand, env))
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                return all(self._eval(v, env) for v in node.values)
            return any(self._eval(v, env) for v in node.values)
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, env)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comp, env)
                if not _CMP[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call):
            return self.FUNCS[node.func.id](*(self._eval(a, env) for a in node.args))
        raise ValueError(type(node).__name__)  # unreachable: _check refused it

    def __repr__(self) -> str:
        return f"Constraint({self.text!r})"


# --- the space ------------------------------------------------------------------------------


class Space:
    """The cross product of axes, filtered by constraints; ``fixed`` values are visible to the
    constraints but not swept."""

    def __init__(self, axes: Sequence[Axis], *, constraints: Sequence[Constraint] = (),
                 fixed: dict[str, Any] | None = None) -> None:
        names = [a.name for a in axes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ConfigError("a parameter is swept twice", argument="--grid", value=sorted(dup),
                              fix="give each parameter one --grid")
        self.axes = tuple(axes)
        self.names = tuple(names)
        self.fixed = dict(fixed or {})
        self.constraints = tuple(constraints)
        known = list(self.names) + [k for k in self.fixed if k not in self.names]
        for c in self.constraints:
            c.check_names(known)
        size = math.prod(len(a) for a in self.axes)
        if size > MAX_COMBOS:
            raise ConfigError(f"the grid has {size} combinations", argument="--grid", value=size,
                              fix=f"sweep at most {MAX_COMBOS} (use --random N to sample)")
        self.size = size

    def _ok(self, combo: dict[str, Any]) -> bool:
        if not self.constraints:
            return True
        env = {**self.fixed, **combo}
        return all(c(env) for c in self.constraints)

    def grid(self) -> list[dict[str, Value]]:
        """Every combination that meets the constraints, in row-major order of the axes."""
        out = []
        for vals in itertools.product(*(a.values for a in self.axes)):
            combo = dict(zip(self.names, vals, strict=True))
            if self._ok(combo):
                out.append(combo)
        return out

    def sample(self, n: int, *, seed: int) -> list[dict[str, Value]]:
        """``n`` distinct valid combinations drawn uniformly (without replacement) with
        ``numpy.random.default_rng(seed)``; fewer when fewer exist. Returned in draw order."""
        if not (isinstance(n, int) and n >= 1):
            raise ConfigError("--random must be a positive integer", argument="--random",
                              value=n, fix="e.g. --random 100")
        valid = self.grid()
        if n >= len(valid):
            return valid
        rng = np.random.default_rng(seed)
        picks = rng.choice(len(valid), size=n, replace=False)
        return [valid[int(i)] for i in picks]

    def describe(self) -> dict[str, Any]:
        """JSON-able description (sweep.json)."""
        return {"axes": {a.name: list(a.values) for a in self.axes},
                "constraints": [c.text for c in self.constraints],
                "grid_size": self.size}
