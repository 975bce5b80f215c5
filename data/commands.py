"""``tape data ...``: import files into the catalog, list it, validate files.

Thin click layer over :mod:`data.catalog`, :mod:`data.readers.dispatch` and
:mod:`data.validate`; heavy imports happen inside the commands so ``tape --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

KIND_CHOICE = click.Choice(["bar", "trade", "quote", "depth", "mbo"])
MODE_CHOICE = click.Choice(["replace", "append"])


def _catalog_option(f):
    return click.option(
        "--catalog",
        "catalog_root",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="TAPEREADER_CATALOG",
        default=None,
        help="Catalog folder [default: $TAPEREADER_CATALOG or the user data folder].",
    )(f)


def _reader_options(f):
    f = click.option("--tz", default=None, help="Time zone of naive stamps in the file (IANA).")(f)
    f = click.option(
        "--ts-format",
        default="auto",
        show_default=True,
        help="auto, iso, s, ms, us, ns, epoch or a strptime format such as '%d.%m.%Y %H:%M'.",
    )(f)
    f = click.option(
        "--mapping",
        default=None,
        help="file column -> field, e.g. 'Time=ts,Px=price,Qty=size', or @mapping.json.",
    )(f)
    f = click.option(
        "--format",
        "fmt",
        default="auto",
        show_default=True,
        help="Reader: auto, bars, wide, long, table, or a plug-in format.",
    )(f)
    return click.option("--kind", type=KIND_CHOICE, default=None, help="Data kind.")(f)


def _mapping(value: str | None):
    if value and value.startswith("@"):
        path = Path(value[1:])
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--mapping") from None
    return value


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group("data")
def data() -> None:
    """Market data: import files into the catalog, list it, validate files, delete data."""


@data.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--symbol", default=None, help="Symbol to store under [default: from the file].")
@click.option("--mode", type=MODE_CHOICE, default="replace", show_default=True,
              help="replace: the import replaces stored rows in its time range; append: keep both.")  # fmt: skip
@_reader_options
@_catalog_option
def import_cmd(paths, symbol, mode, kind, fmt, mapping, ts_format, tz, catalog_root) -> None:
    """Import PATHS (CSV, gzip CSV or Parquet) into the catalog. Re-importing adds nothing."""
    from data.catalog import Catalog
    from data.errors import TapeError

    cat = Catalog(catalog_root)
    opts = {"ts_format": ts_format} if ts_format != "auto" else {}
    if tz:
        opts["tz"] = tz
    for path in paths:
        try:
            results = cat.import_file(path, kind=kind, symbol=symbol, format=fmt,
                                      mapping=_mapping(mapping), mode=mode, **opts)  # fmt: skip
        except TapeError as exc:
            raise _fail(exc) from None
        for r in results:
            if r.skipped:
                click.echo(f"{r.kind}/{r.symbol}: already imported ({r.rows_total:,} rows stored)")
            else:
                click.echo(f"{r.kind}/{r.symbol}: {r.rows_added:,} rows imported from {path} "
                           f"({r.rows_total:,} stored, {r.partitions_written} partition file(s) "
                           f"written)")  # fmt: skip
    click.echo(f"catalog: {cat.root}")


@data.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_catalog_option
def ls_cmd(as_json, catalog_root) -> None:
    """List the datasets in the catalog."""
    from data.catalog import Catalog
    from data.timeutil import ns_to_iso

    cat = Catalog(catalog_root)
    infos = cat.ls()
    if as_json:
        click.echo(json.dumps({"catalog": str(cat.root), "datasets": [
            {**i.__dict__, "first": ns_to_iso(i.ts_min), "last": ns_to_iso(i.ts_max)}
            for i in infos]}, indent=1))  # fmt: skip
        return
    if not infos:
        click.echo(f"catalog {cat.root} is empty; add data with `tape data import PATH`")
        return
    rows = [("kind", "symbol", "rows", "first", "last", "files", "size", "imports")]
    for i in infos:
        rows.append((i.kind, i.symbol, f"{i.rows:,}", ns_to_iso(i.ts_min), ns_to_iso(i.ts_max),
                     str(i.partitions), _size(i.bytes), str(i.imports)))  # fmt: skip
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    right = {2, 5, 6, 7}  # numeric columns
    for r in rows:
        cells = [
            v.rjust(w) if c in right else v.ljust(w)
            for c, (v, w) in enumerate(zip(r, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())
    click.echo(f"catalog: {cat.root}")


@data.command("rm")
@click.argument("kind", type=KIND_CHOICE)
@click.argument("symbol")
@_catalog_option
def rm_cmd(kind, symbol, catalog_root) -> None:
    """Delete the KIND data of SYMBOL from the catalog."""
    from data.catalog import Catalog

    cat = Catalog(catalog_root)
    if not cat.delete(kind, symbol):
        from data.errors import ConfigError

        raise ConfigError(f"catalog {cat.root} has no {kind} data for this symbol",
                          argument="SYMBOL", value=symbol,
                          fix="`tape data ls` lists the stored kinds and symbols")
    click.echo(f"{kind}/{symbol}: deleted from {cat.root}")


@data.command("validate")
@click.argument("paths", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--max-issues", default=50, show_default=True, help="Issues shown per file.")
@_reader_options
@_catalog_option
def validate_cmd(paths, as_json, max_issues, kind, fmt, mapping, ts_format, tz, catalog_root):
    """Check files (or catalog://KIND/SYMBOL references) and report every problem.

    Exit status 4 (bad market data) when any file has errors; warnings alone exit 0.
    """
    from data.catalog import Catalog, is_ref, parse_ref
    from data.errors import TapeError
    from data.validate import Report, check_array, validate_file

    reports: list[Report] = []
    for p in paths:
        if is_ref(p):
            try:
                r = parse_ref(p)
                cat = Catalog(catalog_root or r.root)
                arr = cat.load(r.kind, r.symbol, r.start, r.end)
            except TapeError as exc:
                raise _fail(exc) from None
            rep = check_array(arr, r.kind, file=p)
        else:
            rep = validate_file(Path(p), kind=kind, format=fmt, mapping=_mapping(mapping),
                                ts_format=ts_format, tz=tz)  # fmt: skip
        reports.append(rep)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=1))
    else:
        for rep in reports:
            status = "OK" if rep.ok else "FAILED"
            click.echo(f"{rep.source}: {status} ({rep.kind or '?'}, {rep.rows:,} rows, "
                       f"{len(rep.errors)} errors, {len(rep.warnings)} warnings)")  # fmt: skip
            for issue in rep.issues[:max_issues]:
                click.echo(f"  {issue}")
            if len(rep.issues) > max_issues:
                click.echo(f"  ... {len(rep.issues) - max_issues} more (use --max-issues)")
    if any(not r.ok for r in reports):
        raise SystemExit(4)  # bad market data (docs/cli.md exit codes)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
