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
5    a strategy or plugin cannot be loaded or misbehaves (StrategyError), or the user's
     strategy code raised an exception (named by file, line, bar and time)
6    the run cannot proceed or write its results (RunError)
7    finished, but some combinations / runs failed (their errors are in the results)
130  interrupted (Ctrl-C); finished work is saved and the same command resumes
==== =========================================================================
"""

from __future__ import annotations

import linecache
import os
import sys
import traceback
from pathlib import Path

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


_ROOT = Path(__file__).resolve().parent
_OWN = tuple(str(_ROOT / d) + os.sep for d in ("engine", "data", "reports", "strategies"))
_INSTALLED = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix,
                                                          sys.exec_prefix)})


def _user_frame(tb) -> tuple[str, int, str] | None:
    """The innermost traceback frame in the user's own code (a strategy file), if any:
    not tapereader's packages, not the Python installation or its site-packages."""
    found = None
    for frame, lineno in traceback.walk_tb(tb):
        name = frame.f_code.co_filename
        if name.startswith("<"):
            continue
        real = os.path.realpath(name)
        if real.startswith(_OWN) or real == str(_ROOT / "cli.py") or real.startswith(_INSTALLED):
            continue
        found = (name, lineno, frame.f_code.co_name)
    return found


def strategy_code_error(exc: Exception) -> StrategyError | None:
    """An exception raised in the user's strategy code, as a StrategyError naming the file,
    line, bar and time (None when no frame of the traceback is the user's: a tapereader bug)."""
    where = _user_frame(exc.__traceback__)
    if where is None:
        return None
    name, lineno, func = where
    notes = [n.removeprefix("tapereader: ") for n in getattr(exc, "__notes__", ())
             if n.startswith("tapereader: ")]
    line = linecache.getline(name, lineno).strip() or None
    text = f"{type(exc).__name__}: {exc}"
    return StrategyError(f"the strategy's code raised {text}"
                         + (f" ({notes[-1]})" if notes else ""),
                         file=f"{name}, line {lineno}, in {func}()", value=line,
                         fix="fix the strategy code (engine.run(...) from Python shows the "
                             "whole traceback)")


def _called_from(exc: TapeError) -> str:
    """Where the user's strategy code made the call that raised ``exc`` (a ctx.buy with an
    unknown symbol...): file, line and bar; empty when it was not called from user code."""
    where = _user_frame(exc.__traceback__)
    if where is None:
        return ""
    notes = [n.removeprefix("tapereader: ") for n in getattr(exc, "__notes__", ())
             if n.startswith("tapereader: ")]
    name, lineno, func = where
    return f" [called from {name}, line {lineno}, in {func}()" + (
        f", {notes[-1]}]" if notes else "]")


class TapeGroup(click.Group):
    """Maps tapereader's errors to the documented exit codes, whichever command raised them;
    an exception raised in the user's strategy code is a StrategyError (exit 5) naming its
    file and line, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return self._invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, TapeError,
                KeyboardInterrupt):
            raise
        except Exception as exc:
            err = strategy_code_error(exc)
            if err is None:
                raise
            click_err = click.ClickException(str(err))
            click_err.exit_code = EXIT_STRATEGY
            raise click_err from exc

    def _invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except TapeError as exc:
            err = click.ClickException(str(exc) + _called_from(exc))
            err.exit_code = exit_code_for(exc)
            raise err from exc
        except click.ClickException as exc:
            cause = exc.__cause__ or exc.__context__  # `raise ... from None` keeps the context
            if isinstance(cause, TapeError):
                if exc.exit_code == 1:
                    exc.exit_code = exit_code_for(cause)
                exc.message += _called_from(cause)
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
