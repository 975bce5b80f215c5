"""The strategy registry: built-ins, installed plugins and explicit references.

    from strategies.registry import resolve, describe, available
    cls = resolve("sma_cross")                       # a built-in (strategies.builtin.BUILTINS)
    cls = resolve("my_plugin")                       # entry point group "tapereader.strategies"
    cls = resolve("path/to/file.py:MyStrategy")      # a class in a Python file
    cls = resolve("package.module:MyStrategy")       # a class in an importable module
    info = describe(cls)                             # name, source, parameters (type, default)

Only an explicit reference runs code: resolving a name imports only the plugin registered
under that name, and loading a config or a catalog never imports anything by itself.

Every class is checked when it is resolved: it must subclass ``strategies.base.Strategy``,
define ``on_bar`` or ``targets`` (the decision hooks), its hooks must be methods taking the
documented arguments, and its parameters (annotated class attributes) must be ``int``,
``float``, ``bool``, ``str`` or a ``Literal`` of those with a default of that type. A failure is
a :class:`~data.errors.StrategyError` that names the plugin and what to fix.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import math
import re
import sys
import typing
from pathlib import Path
from typing import Any

from data.errors import ConfigError, StrategyError

GROUP = "tapereader.strategies"
#: hook -> arguments after ``self``
HOOKS = {"init": ("ctx",), "on_bar": ("ctx",), "on_fill": ("ctx", "fill"),
         "on_order": ("ctx", "order"), "on_stop": ("ctx",), "targets": ("data",),
         # tick hooks (order-book runs, engine/tick)
         "on_book": ("ctx",), "on_trade": ("ctx", "trade"), "on_quote": ("ctx", "quote"),
         "on_timer": ("ctx",)}
DECISION_HOOKS = ("on_bar", "targets", "on_book", "on_trade", "on_quote", "on_timer")
PARAM_TYPES = (int, float, bool, str)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class ParamInfo:
    name: str
    type: type
    default: Any
    choices: tuple[Any, ...] | None = None  # Literal[...] annotation or Param(choices=...)
    min: float | None = None
    max: float | None = None
    help: str = ""

    @property
    def type_name(self) -> str:
        if self.choices is not None:
            return "one of " + "|".join(str(c) for c in self.choices)
        return self.type.__name__

    def as_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "type": self.type.__name__, "default": self.default}
        if self.choices is not None:
            d["choices"] = list(self.choices)
        for k in ("min", "max"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.help:
            d["help"] = self.help
        return d


@dataclasses.dataclass(frozen=True)
class StrategyInfo:
    name: str
    cls: type
    source: str  # "builtin", "plugin <dist> (<entry point value>)", "file <path>", "module <mod>"
    params: tuple[ParamInfo, ...]
    doc: str
    hooks: tuple[str, ...]

    @property
    def compiled(self) -> bool:
        """True when the strategy gives vectorised targets (the compiled path)."""
        return "targets" in self.hooks

    def param(self, name: str) -> ParamInfo | None:
        return next((p for p in self.params if p.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "compiled": self.compiled,
                "hooks": list(self.hooks), "doc": self.doc,
                "params": [p.as_dict() for p in self.params]}


# --- resolving references -------------------------------------------------------------------


def _base():
    from strategies.base import Strategy

    return Strategy


def builtins() -> dict[str, type]:
    from strategies.builtin import BUILTINS

    return dict(BUILTINS)


def plugin_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed plugins by name (entry point group ``tapereader.strategies``), not imported."""
    eps = importlib.metadata.entry_points(group=GROUP)
    return {ep.name: ep for ep in sorted(eps, key=lambda e: e.name)}


def is_reference(text: str) -> bool:
    """``file.py:Class`` or ``package.module:Class`` (as opposed to a registered name)."""
    return ":" in text.strip()


def resolve(ref: Any, *, argument: str = "--strategy") -> type:
    """The checked strategy class for a name, a reference, a class or an instance."""
    return describe(ref, argument=argument).cls


def get(ref: Any) -> type:
    """The strategy class for a registry name or reference (what ``engine.run`` calls)."""
    return describe(ref, argument="strategy").cls


def describe(ref: Any, *, argument: str = "--strategy") -> StrategyInfo:
    """:class:`StrategyInfo` of a name, a ``file.py:Class`` / ``module:Class`` reference, a
    class or an instance."""
    Strategy = _base()
    if isinstance(ref, Strategy):
        return check(type(ref), source=f"module {type(ref).__module__}")
    if isinstance(ref, type):
        return check(ref, source=f"module {ref.__module__}")
    if not isinstance(ref, str) or not ref.strip():
        raise ConfigError("a strategy is a name, file.py:Class, package.module:Class or a class",
                          argument=argument, value=ref, fix="run `tape strategies` for the names")
    text = ref.strip()
    if is_reference(text):
        path, _, attr = text.rpartition(":")
        if path.endswith(".py") or "/" in path or "\\" in path:
            return check(_from_file(path, attr, text), source=f"file {path}", ref=text)
        return check(_from_module(path, attr, text), source=f"module {path}", ref=text)
    known = builtins()
    if text in known:
        return check(known[text], source="builtin", ref=text, registered=text)
    eps = plugin_entry_points()
    if text in eps:
        return _load_plugin(eps[text])
    names = sorted(set(known) | set(eps))
    near = difflib.get_close_matches(text, names, n=1)
    raise ConfigError("unknown strategy", argument=argument, value=text,
                      fix=(f"did you mean {near[0]!r}? " if near else "")
                      + "`tape strategies` lists the names; or give path/to/file.py:Class")


def _load_plugin(ep: importlib.metadata.EntryPoint) -> StrategyInfo:
    dist = getattr(getattr(ep, "dist", None), "name", None) or "?"
    label = f"plugin {ep.name!r} ({ep.value}, package {dist})"
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - any import-time failure of foreign code
        raise StrategyError(f"{label} cannot be imported: {type(exc).__name__}: {exc}",
                            value=ep.value, fix=f"fix or reinstall {dist}") from exc
    return check(obj, source=f"plugin {dist} ({ep.value})", ref=ep.name, label=label,
                 registered=ep.name)


def _from_module(module: str, attr: str, ref: str) -> Any:
    if not module or not attr:
        raise ConfigError("a module reference is package.module:Class", argument="--strategy",
                          value=ref, fix="e.g. mypkg.strategies:Momentum")
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - foreign code
        raise StrategyError(f"strategy module {module!r} cannot be imported: "
                            f"{type(exc).__name__}: {exc}", value=ref,
                            fix="check the module name and that it imports cleanly") from exc
    return _attr(mod, attr, ref, f"module {module!r}")


_FILE_MODULES: dict[tuple[str, int, int], Any] = {}


def _from_file(path: str, attr: str, ref: str) -> Any:
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError("strategy file not found", file=path, argument="--strategy",
                          value=ref, fix="check the path (relative to the current folder)")
    p = p.resolve()
    st = p.stat()
    key = (str(p), st.st_mtime_ns, st.st_size)
    mod = _FILE_MODULES.get(key)
    if mod is None:
        name = "tapereader_user_" + hashlib.sha1(str(p).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, p)
        if spec is None or spec.loader is None:
            raise StrategyError("not a Python file", file=path, value=ref,
                                fix="give a .py file and a class name: file.py:Class")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod  # dataclasses and pickling look classes up by module
        try:
            spec.loader.exec_module(mod)
        except Exception as exc:  # noqa: BLE001 - foreign code
            sys.modules.pop(name, None)
            raise StrategyError(f"strategy file cannot be imported: {type(exc).__name__}: {exc}",
                                file=path, value=ref, fix="run the file with python to see why"
                                ) from exc
        _FILE_MODULES[key] = mod
    return _attr(mod, attr, ref, f"file {path}")


def _attr(mod: Any, attr: str, ref: str, where: str) -> Any:
    try:
        return getattr(mod, attr)
    except AttributeError:
        names = [n for n, v in vars(mod).items() if isinstance(v, type) and not n.startswith("_")]
        near = difflib.get_close_matches(attr, names, n=1)
        raise StrategyError(f"{where} has no class {attr!r}", value=ref,
                            fix=f"did you mean {near[0]!r}?" if near
                            else f"classes there: {', '.join(names) or 'none'}") from None


# --- checking a class ---------------------------------------------------------------------------


def default_name(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


_CHECKED: dict[tuple[Any, str, str | None], StrategyInfo] = {}


def check(obj: Any, *, source: str, ref: str | None = None, label: str | None = None,
          registered: str | None = None) -> StrategyInfo:
    """Validate a strategy class; :class:`StrategyError` naming it when it is not usable.
    ``registered`` is the name it is known by (built-ins, plugins), else the class's ``name``.
    A class that passed is not checked again (sweeps resolve it for every chunk)."""
    key = (obj, source, registered)
    try:
        hit = _CHECKED.get(key)
    except TypeError:  # unhashable: not a class anyway
        hit = None
    if hit is not None:
        return hit
    info = _check(obj, source=source, ref=ref, label=label, registered=registered)
    _CHECKED[key] = info
    return info


def _check(obj: Any, *, source: str, ref: str | None, label: str | None,
           registered: str | None) -> StrategyInfo:
    Strategy = _base()
    label = label or f"strategy {ref or getattr(obj, '__qualname__', obj)!r} ({source})"
    if not isinstance(obj, type) or not issubclass(obj, Strategy):
        raise StrategyError(f"{label} is not a subclass of strategies.base.Strategy",
                            value=type(obj).__name__ if not isinstance(obj, type) else obj.__name__,
                            fix="derive the class from strategies.base.Strategy")
    name = registered or getattr(obj, "name", None) or default_name(obj)
    if not isinstance(name, str) or not _NAME.match(name):
        raise StrategyError(f"{label}: the name must be letters, digits and underscores",
                            value=name, fix="set e.g. name = \"my_strategy\" on the class")
    hooks = _hooks(obj, Strategy, label)
    params = params_of(obj, label=label)
    doc = (getattr(obj, "about", "") or inspect.getdoc(obj) or "").strip().splitlines()
    base_doc = (inspect.getdoc(Strategy) or "").strip().splitlines()
    first = doc[0] if doc and doc != base_doc else ""
    return StrategyInfo(name, obj, source, params, first, hooks)


def _hooks(cls: type, base: type, label: str) -> tuple[str, ...]:
    defined = []
    for hook, args in HOOKS.items():
        own = next((k.__dict__[hook] for k in cls.__mro__
                    if k is not base and k not in base.__mro__ and hook in k.__dict__), None)
        if own is None:
            continue
        fn = own.__func__ if isinstance(own, classmethod | staticmethod) else own
        if not callable(fn):
            raise StrategyError(f"{label}: {hook} is not a method", value=type(fn).__name__,
                                fix=f"define def {hook}(self, {', '.join(args)}): ...")
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        if sig is not None and not isinstance(own, staticmethod | classmethod):
            try:
                sig.bind(None, *args)
            except TypeError:
                raise StrategyError(f"{label}: {hook}{sig} does not take ({', '.join(args)})",
                                    value=str(sig),
                                    fix=f"define def {hook}(self, {', '.join(args)}): ...") from None
        defined.append(hook)
    if not any(h in defined for h in DECISION_HOOKS):
        raise StrategyError(f"{label} defines neither on_bar nor targets", value=cls.__name__,
                            fix="add def on_bar(self, ctx) (event-driven) or "
                                "def targets(self, data) (vectorised); tick strategies: "
                                "on_book / on_trade / on_quote / on_timer")
    return tuple(defined)


def params_of(cls: type, *, label: str | None = None) -> tuple[ParamInfo, ...]:
    """The parameters of a strategy class (``Strategy.param_spec()``: annotated public class
    attributes, base classes first), each checked for a supported type and a fitting default."""
    label = label or f"strategy {cls.__name__!r}"
    try:
        spec = cls.param_spec()
    except Exception as exc:  # noqa: BLE001 - foreign code
        raise StrategyError(f"{label}: cannot read the parameters: {type(exc).__name__}: {exc}",
                            value=cls.__name__, fix="annotate parameters as name: type = default"
                            ) from exc
    out = []
    for pname, (hint, p) in spec.items():
        if isinstance(hint, str):
            raise StrategyError(f"{label}: the annotation of parameter {pname!r} cannot be "
                                "resolved", value=hint, fix="use int, float, bool, str or Literal")
        if p.default is None and pname not in _class_values(cls):
            raise StrategyError(f"{label}: parameter {pname!r} has no default", value=pname,
                                fix=f"write {pname}: <type> = <default>")
        info = _param(pname, hint, p.default, label)
        out.append(dataclasses.replace(
            info, choices=info.choices if info.choices is not None else
            (tuple(p.choices) if p.choices is not None else None),
            min=p.min, max=p.max, help=p.help or ""))
    return tuple(out)


def _class_values(cls: type) -> set[str]:
    return {k for klass in cls.__mro__ for k in klass.__dict__}


def _param(name: str, hint: Any, default: Any, label: str) -> ParamInfo:
    choices = None
    if typing.get_origin(hint) is typing.Literal:
        choices = typing.get_args(hint)
        kinds = {type(c) for c in choices}
        if len(kinds) != 1 or kinds.pop() not in PARAM_TYPES:
            raise StrategyError(f"{label}: parameter {name!r} has a Literal of mixed or "
                                "unsupported types", value=str(hint),
                                fix="use Literal of strings (or of ints) only")
        typ = type(choices[0])
    else:
        typ = hint
    if typ not in PARAM_TYPES:
        raise StrategyError(f"{label}: parameter {name!r} has an unsupported type",
                            value=getattr(hint, "__name__", str(hint)),
                            fix="parameters are int, float, bool, str or Literal[...]")
    if not _type_ok(default, typ):
        raise StrategyError(f"{label}: the default of {name!r} is not a {typ.__name__}",
                            value=default, fix=f"give {name} a {typ.__name__} default")
    if choices is not None and default not in choices:
        raise StrategyError(f"{label}: the default of {name!r} is not one of its choices",
                            value=default, fix=f"use one of {list(choices)}")
    if typ is float:
        default = float(default)
    return ParamInfo(name, typ, default, choices)


def _type_ok(v: Any, typ: type) -> bool:
    if typ is bool:
        return isinstance(v, bool)
    if typ is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if typ is float:
        return isinstance(v, int | float) and not isinstance(v, bool)
    return isinstance(v, typ)


# --- parameter values from the CLI, configs and sweeps ---------------------------------------


def coerce_value(info: StrategyInfo, name: str, value: Any, *, argument: str = "--param") -> Any:
    """``value`` converted to the type of parameter ``name`` (strings are parsed)."""
    p = info.param(name)
    if p is None:
        names = [q.name for q in info.params]
        near = difflib.get_close_matches(name, names, n=1)
        raise ConfigError(f"strategy {info.name!r} has no parameter {name!r}", argument=argument,
                          value=name, fix=f"did you mean {near[0]!r}?" if near else
                          f"its parameters: {', '.join(names) or 'none'}")
    v = value
    if isinstance(v, str) and p.type is not str:
        t = v.strip().lower()
        if p.type is bool and t in ("true", "false", "1", "0", "yes", "no"):
            v = t in ("true", "1", "yes")
        else:
            try:
                v = int(t) if p.type is int else float(t)
            except ValueError:
                v = value
    if p.type is int and isinstance(v, float) and v.is_integer():
        v = int(v)
    if not _type_ok(v, p.type) or (isinstance(v, float) and not math.isfinite(v)):
        raise ConfigError(f"parameter {name!r} of {info.name!r} is a {p.type_name}",
                          argument=argument, value=value, fix=f"give a {p.type_name}, e.g. "
                          f"{name}={p.default}")
    if p.type is float:
        v = float(v)
    if p.choices is not None and v not in p.choices:
        raise ConfigError(f"parameter {name!r} of {info.name!r} is {p.type_name}",
                          argument=argument, value=value, fix=f"use one of {list(p.choices)}")
    if (p.min is not None and v < p.min) or (p.max is not None and v > p.max):
        raise ConfigError(f"parameter {name!r} of {info.name!r} is out of range",
                          argument=argument, value=value,
                          fix=f"give a value in [{p.min}, {p.max}]")
    return v


def coerce_params(info: StrategyInfo, values: dict[str, Any], *,
                  argument: str = "--param") -> dict[str, Any]:
    return {k: coerce_value(info, k, v, argument=argument) for k, v in values.items()}


# --- listing ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Listing:
    strategies: list[StrategyInfo]
    errors: list[tuple[str, str]]  # (plugin name, error) for plugins that failed to load


def available() -> Listing:
    """Every built-in and installed plugin, checked (imports each plugin once). A plugin that
    fails is reported in ``errors`` instead of hiding the others; a plugin whose name is a
    built-in's is reported too (the built-in wins)."""
    infos, errors = [], []
    known = builtins()
    for n, cls in known.items():
        try:
            infos.append(check(cls, source="builtin", ref=n, registered=n))
        except StrategyError as exc:
            errors.append((n, str(exc)))
    for n, ep in plugin_entry_points().items():
        if n in known:
            errors.append((n, f"plugin {n!r} ({ep.value}) has the name of a built-in; "
                              "the built-in is used"))
            continue
        try:
            infos.append(_load_plugin(ep))
        except StrategyError as exc:
            errors.append((n, str(exc)))
    return Listing(infos, errors)
