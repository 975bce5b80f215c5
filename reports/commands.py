"""``tape report RUN_DIR`` and ``tape compare RUN_DIR...`` (registered in cli.py)."""

from __future__ import annotations

from pathlib import Path

import click

from data.cli_output import emit, output_options
from data.errors import TapeError

_RUN_DIR = click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)


@click.command("report")
@click.argument("run_dir", type=_RUN_DIR)
@output_options
def report(run_dir: Path, quiet: bool, as_json: bool) -> None:
    """(Re)build RUN_DIR/report.html from the run folder."""
    from reports.html import write_report

    try:
        out = write_report(run_dir)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from exc
    size = out.stat().st_size
    emit({"report": str(out), "bytes": size}, [f"wrote {out} ({size / 1e6:.2f} MB)"],
         as_json=as_json, quiet=quiet)


@click.command("compare")
@click.argument("run_dirs", nargs=-1, required=True, type=_RUN_DIR)
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("compare.html"), show_default=True,
              help="Where to write the comparison page.")
@output_options
def compare(run_dirs: tuple[Path, ...], out: Path, quiet: bool, as_json: bool) -> None:
    """Put several runs side by side: metrics table and overlaid equity (compare.html)."""
    from reports.compare import write_compare

    try:
        path, table = write_compare(list(run_dirs), out)
        runs = {}
        if as_json:
            from reports.compare import run_stats
            from reports.present import HEADLINE
            from reports.runfolder import read_run

            for d in run_dirs:
                s = run_stats(read_run(d))
                runs[str(d)] = {k: s.get(k) for k in HEADLINE}
    except TapeError as exc:
        raise click.ClickException(str(exc)) from exc
    emit({"compare": str(path), "runs": runs}, [table, f"wrote {path}"], as_json=as_json,
         quiet=quiet)
