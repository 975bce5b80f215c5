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
            paths = [k for k, hs in (("event-driven", ("on_bar",)), ("compiled", ("targets",)),
                                     ("tick", ("on_book", "on_trade", "on_quote", "on_timer")))
                     if any(h in info.hooks for h in hs)]
            click.echo(f"{info.name}  ({info.source}; {' and '.join(paths)})")
            if info.doc:
                click.echo(f"    {info.doc}")
            for p in info.params:
                rng = ""
                if p.min is not None or p.max is not None:
                    rng = f"[{'' if p.min is None else p.min}, {'' if p.max is None else p.max}]"
                click.echo(f"    {p.name:<14} {p.type_name:<8} {p.default!r:<10} {rng:<12} "
                           f"{p.help}".rstrip())
        for n, e in listing.errors:
            click.echo(f"{n}  (failed to load)\n    {e}", err=True)
    if listing.errors:
        from data.errors import StrategyError

        raise StrategyError(f"{len(listing.errors)} strategy plugin(s) failed to load",
                            value=[n for n, _ in listing.errors],
                            fix="see the messages above")
