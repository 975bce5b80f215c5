"""``tape book ...``: order book checks on real data (thin layer over engine.book)."""

from __future__ import annotations

import click

from data.cli_output import emit, output_options


@click.group("book")
def book() -> None:
    """Order book tools: reproduce LOBSTER books, rebuild Binance books."""


def _level(price: int, size: int) -> dict:
    from engine.book import codes as C

    return {"price": None if price == C.NO_TICK else price / 1e4, "size": int(size)}


def _check_summary(result) -> dict:
    """``tape book check --json``: the numbers of the text table, the first difference."""
    depths = [{"depth": d, "rows": result.rows, "matching": m,
               "match_pct": 100.0 * m / result.rows if result.rows else 100.0,
               "learned_rows": result.learned_rows[d - 1],
               "first_mismatch_row": (None if m == result.rows
                                      else result.first_mismatch[d - 1] + 1)}
              for d, m in enumerate(result.matching, start=1)]
    first = None
    if result.first_difference is not None:
        i, k, s, bp, bs, fp, fs = result.first_difference
        first = {"message_row": i + 1, "level": k + 1, "side": "bid" if s == 0 else "ask",
                 "book": _level(bp, bs), "orderbook": _level(fp, fs),
                 "text": result.first_difference_text()}
    return {"message_file": result.message_file, "orderbook_file": result.orderbook_file,
            "levels": result.levels, "rows": result.rows, "ok": result.ok, "depths": depths,
            "learned_initial": result.learned_initial, "learned": result.learned,
            "forgotten": result.forgotten, "forgotten_orders": result.forgotten_orders,
            "forgotten_anon": result.forgotten_anon, "book_notes": dict(result.counters),
            "first_difference": first}


@book.command("check")
@click.argument("message_file", type=click.Path(exists=True, dir_okay=False))
@click.argument("orderbook_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--levels", type=click.IntRange(min=1), default=None,
              help="Depth window L (default: the orderbook file's number of levels).")
@click.option("--date", default=None, help="Trading date YYYY-MM-DD if the file name lacks it.")
@output_options
def check(message_file: str, orderbook_file: str, levels: int | None, date: str | None,
          quiet: bool, as_json: bool) -> None:
    """Replay a LOBSTER MESSAGE_FILE and compare with its ORDERBOOK_FILE on every row.

    Prints, per depth N = 1..L, the rows compared and the rows whose top N levels (prices and
    sizes, both sides) match, and how many levels were learned from the orderbook file
    (levels entering the visible window from beyond it). Exits 1 on any mismatch, 4 on bad
    market data, 3 on a bad argument (docs/cli.md exit codes); with --json the document says
    ok=false and names the first difference.
    """
    from engine.book.lobster import check_lobster

    result = check_lobster(message_file, orderbook_file, levels=levels, date=date)
    text = [f"message file:   {message_file}", f"orderbook file: {orderbook_file}",
            f"levels L = {result.levels}, rows = {result.rows:,}", result.table()]
    if result.ok:
        text.append("OK: every row matches at every depth")
    emit(_check_summary(result), text, as_json=as_json, quiet=quiet)
    if not result.ok:
        click.echo(f"MISMATCH: {result.first_difference_text()}", err=True)
        raise SystemExit(1)


def _binance_summary(files, stream, result) -> dict:
    def rate(a, b):
        return a / b if b else None

    return {"files": list(files), "symbol": stream.symbol, "depth_diffs": len(stream.diffs),
            "snapshots": len(stream.snapshots), "book_tickers": len(stream.quotes),
            "trades": len(stream.trades), "sequence_gaps": len(stream.gaps),
            "ok": _binance_ok(result),
            "per_diff": {"compared": result.diffs_compared, "agree": result.diffs_agree,
                         "agree_prices": result.diffs_agree_prices,
                         "rate": rate(result.diffs_agree, result.diffs_compared),
                         "rate_prices": rate(result.diffs_agree_prices, result.diffs_compared)},
            "per_ticker": {"tickers": result.tickers, "comparable": result.tickers_comparable,
                           "agree": result.tickers_agree,
                           "rate": rate(result.tickers_agree, result.tickers_comparable),
                           "inside_batch": result.tickers_inside_batch,
                           "outside": result.tickers_outside},
            "by_arrival": {"compared": result.arrival_compared, "agree": result.arrival_agree,
                           "agree_prices": result.arrival_agree_prices,
                           "rate": rate(result.arrival_agree, result.arrival_compared),
                           "rate_prices": rate(result.arrival_agree_prices,
                                               result.arrival_compared)},
            "diffs": result.sync.summary(),
            "first_mismatched_diffs": result.diff_mismatches[:10].tolist()}


def _binance_ok(result) -> bool:
    return (result.diffs_agree == result.diffs_compared
            and result.tickers_agree == result.tickers_comparable)


@book.command("binance")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--tick-size", type=float, default=None, show_default=True,
              help="Price tick (default: 10^-decimals of the prices in the file).")
@output_options
def binance(files: tuple[str, ...], tick_size: float | None, quiet: bool, as_json: bool) -> None:
    """Rebuild the L2 book from Binance USD-M capture FILES (in order) and compare its best
    bid/ask with the bookTicker stream. Exits 1 if any exactly comparable state disagrees."""
    from data.readers.binance import read_binance_stream
    from engine.book.binance import compare_book_ticker

    stream = read_binance_stream(list(files))  # errors: the exit codes of docs/cli.md (cli.py)
    result = compare_book_ticker(stream, tick_size)
    text = [f"{stream.symbol}: {len(stream.diffs):,} depth diffs, "
            f"{len(stream.snapshots)} snapshot(s), {len(stream.quotes):,} bookTickers, "
            f"{len(stream.trades):,} trades, {len(stream.gaps)} sequence gap(s)",
            result.report()]
    emit(_binance_summary(files, stream, result), text, as_json=as_json, quiet=quiet)
    if not _binance_ok(result):
        if quiet or as_json:  # the text report already shows the disagreeing counts
            click.echo(f"MISMATCH: {result.diffs_agree:,} of {result.diffs_compared:,} diffs "
                       f"and {result.tickers_agree:,} of {result.tickers_comparable:,} "
                       "bookTickers agree", err=True)
        raise SystemExit(1)
