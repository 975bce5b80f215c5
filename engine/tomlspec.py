"""Validate TOML configs against a small schema: unknown keys and bad values are errors that
name the key (dotted path), the value and, for unknown keys, the nearest valid key.

    SCHEMA = {"strategy": Field(str, required=True),
              "params": Field(dict, free=True),
              "axes": Field(dict, schema={"seeds": Field(list, items=Field(int))})}
    cfg = validate(load_toml(path), SCHEMA, file=path)
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from data.errors import ConfigError

_MISSING = object()


@dataclasses.dataclass(frozen=True)
class Field:
    """One key: accepted type(s), whether required, default, nested schema for tables,
    item field for arrays, ``free`` for tables whose keys are not fixed (strategy params),
    ``check`` returning an error text (or None) for a value of the right type."""

    type: type | tuple[type, ...]
    required: bool = False
    default: Any = _MISSING
    schema: dict[str, Field] | None = None
    items: Field | None = None
    free: bool = False
    check: Callable[[Any], str | None] | None = None
    help: str = ""


def load_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror or exc}", file=str(p),
                          fix="check the path") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(p),
                          fix="check the syntax at that line (strings need quotes)") from None


def _type_name(t: type | tuple[type, ...]) -> str:
    ts = t if isinstance(t, tuple) else (t,)
    names = {dict: "table", list: "array", str: "string", int: "integer", float: "number",
             bool: "true/false"}
    return " or ".join(names.get(x, x.__name__) for x in ts)


def _is(value: Any, t: type | tuple[type, ...]) -> bool:
    ts = t if isinstance(t, tuple) else (t,)
    if isinstance(value, bool):
        return bool in ts
    if isinstance(value, int) and float in ts:
        return True
    return isinstance(value, ts)


def validate(data: dict[str, Any], schema: dict[str, Field], *, file: str | Path | None = None,
             prefix: str = "") -> dict[str, Any]:
    """``data`` checked against ``schema``; a new dict with defaults filled in."""
    f = None if file is None else str(file)
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in schema:
            near = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.5)
            raise ConfigError("unknown key", file=f, argument=path, value=value,
                              fix=(f"did you mean {prefix + near[0]!r}? " if near else "")
                              + f"valid keys{' in [' + prefix.rstrip('.') + ']' if prefix else ''}: "
                              + ", ".join(schema))
        out[key] = check_value(value, schema[key], file=f, path=path)
    for key, fld in schema.items():
        if key in out:
            continue
        if fld.required:
            raise ConfigError("missing required key", file=f, argument=f"{prefix}{key}",
                              fix=f"add {key} = <{_type_name(fld.type)}>"
                              + (f" ({fld.help})" if fld.help else ""))
        if fld.default is not _MISSING:
            out[key] = fld.default() if callable(fld.default) else fld.default
    return out


def check_value(value: Any, fld: Field, *, file: str | None, path: str) -> Any:
    if not _is(value, fld.type):
        raise ConfigError(f"expected {_type_name(fld.type)}", file=file, argument=path,
                          value=value, fix=f"write {path.rsplit('.', 1)[-1]} = "
                          f"<{_type_name(fld.type)}>" + (f" ({fld.help})" if fld.help else ""))
    if isinstance(value, dict) and fld.schema is not None and not fld.free:
        value = validate(value, fld.schema, file=file, prefix=f"{path}.")
    if isinstance(value, list) and fld.items is not None:
        value = [check_value(v, fld.items, file=file, path=f"{path}[{i}]")
                 for i, v in enumerate(value)]
    if fld.check is not None:
        problem = fld.check(value)
        if problem:
            raise ConfigError(problem, file=file, argument=path, value=value,
                              fix=fld.help or "see the documented keys")
    if isinstance(value, int) and not isinstance(value, bool) and float in (
            fld.type if isinstance(fld.type, tuple) else (fld.type,)) and int not in (
            fld.type if isinstance(fld.type, tuple) else (fld.type,)):
        value = float(value)
    return value
