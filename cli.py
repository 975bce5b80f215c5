"""The ``tape`` command: a thin click layer over the Python API.

Each area keeps its commands in a small module next to its code and is registered here;
commands parse and validate arguments, then call the same functions a Python user calls.
"""

from __future__ import annotations

import click

from data.commands import data as data_commands
from engine import commands as engine_commands
from engine.book import commands as book_commands
from reports import commands as report_commands
from strategies.ml import commands as ml_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tapereader")
def main() -> None:
    """tapereader: backtest trading strategies on bars, ticks and order books."""


main.add_command(data_commands)
main.add_command(report_commands.report)
main.add_command(report_commands.compare)
main.add_command(book_commands.book)
main.add_command(engine_commands.run_command)
main.add_command(engine_commands.demo_command)
main.add_command(ml_commands.ml)

if __name__ == "__main__":
    main()
