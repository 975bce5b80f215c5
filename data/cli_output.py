"""Output flags shared by every ``tape`` command: ``--quiet`` (nothing but errors) and
``--json`` (one machine-readable JSON document on stdout instead of the text summary)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click


def output_options(f):
    """Add ``--json`` (``as_json``) and ``-q/--quiet`` (``quiet``) to a click command."""
    f = click.option("--json", "as_json", is_flag=True,
                     help="Print a machine-readable JSON summary on stdout.")(f)
    return click.option("-q", "--quiet", is_flag=True,
                        help="Print nothing but errors (no progress bars).")(f)


def jsonable(v: Any) -> Any:
    """numpy scalars -> Python, non-finite floats and NaT -> null, paths -> strings."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        try:
            v = v.item()
        except (TypeError, ValueError):
            return str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, Path):
        return str(v)
    if v is not None and not isinstance(v, str | int | float | bool):
        return None if str(v) == "NaT" else str(v)
    return v


def emit(summary: dict[str, Any], text: list[str], *, as_json: bool, quiet: bool) -> None:
    """Print ``summary`` as JSON (``--json``), nothing (``--quiet``) or the ``text`` lines."""
    if as_json:
        click.echo(json.dumps(jsonable(summary), indent=1))
    elif not quiet:
        for line in text:
            click.echo(line)
