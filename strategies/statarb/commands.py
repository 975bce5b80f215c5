"""``tape pairs``: screen a universe for cointegrated pairs (thin layer over
:func:`strategies.statarb.coint.screen_pairs`)."""

from __future__ import annotations

import io
from pathlib import Path

import click

from data.cli_output import output_options


@click.command("pairs")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--symbols", default=None, help="Comma-separated subset of the universe, e.g. KO,PEP,XOM."
)
@click.option("--start", default=None, help="First date of the formation period (UTC date or ISO).")
@click.option("--end", default=None, help="Last date of the formation period (inclusive).")
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="Significance level for the raw, BH and Bonferroni decisions.",
)
@click.option(
    "--method",
    type=click.Choice(["bh", "bonferroni"]),
    default="bh",
    show_default=True,
    help="Correction whose decision marks a pair as selected.",
)
@click.option(
    "--log-prices/--raw-prices",
    default=False,
    show_default=True,
    help="Test log prices instead of price levels.",
)
@click.option(
    "--both-orders",
    is_flag=True,
    default=False,
    help="Regress each pair both ways; keep the smaller p-value, doubled.",
)
@click.option(
    "--min-obs",
    type=int,
    default=250,
    show_default=True,
    help="Pairs with fewer common bars are not tested.",
)
@click.option("--top", type=int, default=20, show_default=True, help="Rows to print (0 = all).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every pair's row to this CSV file.",
)
@output_options
def pairs(
    sources,
    symbols,
    start,
    end,
    alpha,
    method,
    log_prices,
    both_orders,
    min_obs,
    top,
    out,
    as_json,
    quiet,
):
    """Engle-Granger screen of every pair in SOURCES with multiple-testing correction.

    SOURCES are bar files (one symbol each, a wide close matrix or a long OHLCV table).
    """
    from data.errors import TapeError
    from strategies.statarb.coint import screen_pairs
    from strategies.statarb.universe import between, close_frame, load_bars

    try:
        syms = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
        frame = between(close_frame(load_bars(sources, syms)), start, end)
        table = screen_pairs(frame, alpha=alpha, log_prices=log_prices, both_orders=both_orders,
                             min_obs=min_obs)  # fmt: skip
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    from data.cli_output import emit

    tested = int(table["pvalue"].notna().sum())
    decision = "reject_bh" if method == "bh" else "reject_bonferroni"
    table["selected"] = table[decision]
    counts = {k: int(table[f"reject_{k}"].sum()) for k in ("raw", "bh", "bonferroni")}
    shown = table if top == 0 else table.head(top)
    cols = ["y", "x", "n", "eg_stat", "pvalue", "p_bh", "p_bonferroni", "hedge_ratio",
            "half_life", "selected"]  # fmt: skip
    if out is not None:
        from reports.html import atomic_write_text

        buf = io.StringIO()
        table.to_csv(buf, index=False)
        atomic_write_text(Path(out), buf.getvalue())
    text = [f"{len(frame.columns)} symbols, {len(frame)} bars, {len(table)} pairs, {tested} tested; "
            f"alpha {alpha}: raw {counts['raw']}, BH {counts['bh']}, "
            f"Bonferroni {counts['bonferroni']} significant",
            shown[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")]  # fmt: skip
    if out is not None:
        text.append(f"wrote {out}")
    summary = {"symbols": len(frame.columns), "bars": len(frame), "pairs": len(table),
               "tested": tested, "alpha": alpha, "method": method, "significant": counts,
               "rows": shown[cols].to_dict(orient="records"), "out": out}  # fmt: skip
    emit(summary, text, as_json=as_json, quiet=quiet)
