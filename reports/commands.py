"""``tape report RUN_DIR`` and ``tape compare RUN_DIR...`` (registered in cli.py)."""

from __future__ import annotations

from pathlib import Path

import click

from data.errors import TapeError

_RUN_DIR = click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)


@click.command("report")
@click.argument("run_dir", type=_RUN_DIR)
def report(run_dir: Path) -> None:
    """(Re)build RUN_DIR/report.html from the run folder."""
    from reports.html import write_report

    try:
        out = write_report(run_dir)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


@click.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=_RUN_DIR)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("compare.html"), show_default=True,
              help="Where to write the comparison page.")
def compare(run_dirs: tuple[Path, ...], out: Path) -> None:
    """Put several runs side by side: metrics table and overlaid equity (compare.html)."""
    from reports.compare import write_compare

    try:
        path, table = write_compare(list(run_dirs), out)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(table)
    click.echo(f"wrote {path}")
