"""``tape strategies``: list built-in and installed strategies with their parameters."""

from __future__ import annotations

import json

import click


@click.command("strategies")
@click.argument("refs", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON document instead of text.")
def strategies(refs: tuple[str, ...], as_json: bool) -> None:
    """List strategies (built-ins and installed plugins) with parameters, types and defaults.

    REFS (optional) describe only these: names, path/to/file.py:Class or package.module:Class.
    A plugin that fails to load is listed with its error and the exit code is 5.
    """
    from strategies.registry import Listing, available, describe

    listing = Listing([describe(r, argument="REFS") for r in refs], []) if refs else available()
    if as_json:
        click.echo(json.dumps({"strategies": [i.as_dict() for i in listing.strategies],
                               "errors": [{"name": n, "error": e} for n, e in listing.errors]},
                              indent=1, default=str))
    else:
        for info in listing.strategies:
            kind = "compiled" if info.compiled else "event-driven"
            click.echo(f"{info.name}  [{info.source}; {kind}]")
            if info.doc:
                click.echo(f"    {info.doc}")
            for p in info.params:
                click.echo(f"    --param {p.name}={p.default!r:<10} {p.type_name}")
        for n, e in listing.errors:
            click.echo(f"{n}  [failed to load]\n    {e}", err=True)
    if listing.errors:
        from data.errors import StrategyError

        raise StrategyError(f"{len(listing.errors)} strategy plugin(s) failed to load",
                            value=[n for n, _ in listing.errors],
                            fix="see the messages above")
