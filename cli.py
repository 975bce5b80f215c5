"""The ``tape`` command: a thin click layer over the Python API.

Each area keeps its commands in a small module next to its code and is registered here;
commands parse and validate arguments, then call the same functions a Python user calls.

Exit codes (the same for every command; docs/cli.md):

==== =========================================================================
0    success
1    a check found a mismatch (tape book check), or an unexpected internal error (a bug:
     please report it with the traceback)
2    usage error: unknown option, missing argument (click)
3    bad configuration, parameter or argument value (ConfigError)
4    bad market data (DataError); tape data validate found errors
5    a strategy or plugin cannot be loaded or misbehaves (StrategyError)
6    the run cannot proceed or write its results (RunError)
7    finished, but some combinations / runs failed (their errors are in the results)
130  interrupted (Ctrl-C); finished work is saved and the same command resumes
==== =========================================================================
"""

from __future__ import annotations

import click

from data.commands import data as data_commands
from data.errors import ConfigError, DataError, RunError, StrategyError, TapeError
from engine import commands as engine_commands
from engine import sweep_commands
from engine.book import commands as book_commands
from engine.tick import commands as tick_commands
from reports import commands as report_commands
from strategies import commands as strategy_commands
from strategies.ml import commands as ml_commands
from strategies.signals import commands as signal_commands
from strategies.statarb import commands as statarb_commands

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
EXIT_CONFIG, EXIT_DATA, EXIT_STRATEGY, EXIT_RUN, EXIT_PARTIAL = 3, 4, 5, 6, 7
EXIT_INTERRUPTED = 130


def exit_code_for(exc: BaseException) -> int:
    for kind, code in ((ConfigError, EXIT_CONFIG), (DataError, EXIT_DATA),
                       (StrategyError, EXIT_STRATEGY), (RunError, EXIT_RUN)):
        if isinstance(exc, kind):
            return code
    return EXIT_INTERNAL


class TapeGroup(click.Group):
    """Maps tapereader's errors to the documented exit codes, whichever command raised them."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TapeError as exc:
            err = click.ClickException(str(exc))
            err.exit_code = exit_code_for(exc)
            raise err from exc
        except click.ClickException as exc:
            cause = exc.__cause__ or exc.__context__  # `raise ... from None` keeps the context
            if exc.exit_code == 1 and isinstance(cause, TapeError):
                exc.exit_code = exit_code_for(cause)
            raise
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is saved; run the same command to resume",
                       err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(cls=TapeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tapereader")
def main() -> None:
    """tapereader: backtest trading strategies on bars, ticks and order books."""


for _command in (
    data_commands,
    report_commands.report,
    report_commands.compare,
    book_commands.book,
    tick_commands.tick,
    engine_commands.run_command,
    engine_commands.demo_command,
    strategy_commands.strategies,
    sweep_commands.sweep,
    sweep_commands.walkforward,
    sweep_commands.grid,
    statarb_commands.pairs,
    signal_commands.sentiment,
    ml_commands.ml,
):
    main.add_command(_command)

if __name__ == "__main__":
    main()
