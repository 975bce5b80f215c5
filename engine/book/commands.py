"""``tape book ...``: order book checks on real data (thin layer over engine.book)."""

from __future__ import annotations

import click


@click.group("book")
def book() -> None:
    """Order book tools: reproduce LOBSTER books, rebuild Binance books."""


@book.command("check")
@click.argument("message_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("orderbook_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--levels", type=click.IntRange(min=1), default=None,
              help="Depth window L (default: the orderbook file's number of levels).")
@click.option("--date", default=None, help="Trading date YYYY-MM-DD if the file name lacks it.")
def check(message_file: str, orderbook_file: str, levels: int | None, date: str | None) -> None:
    """Replay a LOBSTER MESSAGE_FILE and compare with its ORDERBOOK_FILE on every row.

    Prints, per depth N = 1..L, the rows compared and the rows whose top N levels (prices and
    sizes, both sides) match, and how many levels were learned from the orderbook file
    (levels entering the visible window from beyond it). Exits 1 on any mismatch, 4 on bad
    market data, 3 on a bad argument (docs/cli.md exit codes).
    """
    from engine.book.lobster import check_lobster

    result = check_lobster(message_file, orderbook_file, levels=levels, date=date)
    click.echo(f"message file:   {message_file}")
    click.echo(f"orderbook file: {orderbook_file}")
    click.echo(f"levels L = {result.levels}, rows = {result.rows:,}")
    click.echo(result.table())
    if result.ok:
        click.echo("OK: every row matches at every depth")
    else:
        click.echo(f"MISMATCH: {result.first_difference_text()}", err=True)
        raise SystemExit(1)


@book.command("binance")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--tick-size", type=float, default=None, show_default=True,
              help="Price tick (default: 10^-decimals of the prices in the file).")
def binance(files: tuple[str, ...], tick_size: float | None) -> None:
    """Rebuild the L2 book from Binance USD-M capture FILES (in order) and compare its best
    bid/ask with the bookTicker stream. Exits 1 if any exactly comparable state disagrees."""
    from data.readers.binance import read_binance_stream
    from engine.book.binance import compare_book_ticker

    stream = read_binance_stream(list(files))  # errors: the exit codes of docs/cli.md (cli.py)
    result = compare_book_ticker(stream, tick_size)
    click.echo(f"{stream.symbol}: {len(stream.diffs):,} depth diffs, "
               f"{len(stream.snapshots)} snapshot(s), {len(stream.quotes):,} bookTickers, "
               f"{len(stream.trades):,} trades, {len(stream.gaps)} sequence gap(s)")
    click.echo(result.report())
    if result.diffs_agree != result.diffs_compared or result.tickers_agree != result.tickers_comparable:
        raise SystemExit(1)
