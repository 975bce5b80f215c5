"""``tape tick ...``: tick-data tools (thin layer over engine.tick)."""

from __future__ import annotations

import dataclasses

import click

from data.cli_output import emit, output_options


@click.group("tick")
def tick() -> None:
    """Tick-level tools: price impact of order flow.

    Tick backtests are `tape run` with a [tick] config (examples/tick_*.toml; docs/tick_fills.md).
    """


@tick.command("impact")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--interval", "interval_s", type=click.FloatRange(min=1e-6), default=1.0,
              show_default=True, help="regression interval in seconds")
@click.option("--tick-size", type=click.FloatRange(min=0, min_open=True), default=0.1,
              show_default=True, help="Binance captures: the instrument's tick size")
@output_options
def impact(path: str, interval_s: float, tick_size: float, quiet: bool, as_json: bool) -> None:
    """Estimate the OFI price-impact coefficient of a LOBSTER message file (orderbook file
    next to it) or a Binance capture: mid change vs order-flow imbalance and vs signed trade
    volume over intervals, plus the linear-regime check (small |OFI|, deciles)."""
    from data.errors import TapeError
    from engine.tick.impact import estimate_impact

    try:
        est = estimate_impact(path, interval_ns=int(round(interval_s * 1e9)), tick_size=tick_size)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    fits = {k: dataclasses.asdict(getattr(est, k)) for k in ("ofi", "ofi_small", "trade_flow")}
    summary = {"source": est.source, "interval_s": est.interval_ns / 1e9,
               "interval_ns": est.interval_ns, "n_updates": est.n_updates,
               "tick_size": est.tick_size, "regressions": fits,
               "deciles": [{"mean_ofi": o, "mean_dmid": d, "intervals": c}
                           for o, d, c in est.deciles],
               "impact_coef": est.trade_flow.slope}
    emit(summary, [est.table()], as_json=as_json, quiet=quiet)
