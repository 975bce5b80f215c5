"""``tape run`` and ``tape demo``: thin click commands over :func:`engine.run`."""

from __future__ import annotations

import contextlib
import signal
import threading
from pathlib import Path

import click

from data.cli_output import output_options
from data.errors import ConfigError, TapeError

DEMO_DATA = Path(__file__).resolve().parents[1] / "data" / "samples" / "equities_daily" / (
    "GOOG_2004-2013_backtesting.csv")


def _params(items: tuple[str, ...]) -> dict:
    import json

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--param")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


@contextlib.contextmanager
def _save_before_stopping():
    """Ctrl-C while the run folder is written waits for the save to finish (about a second),
    so the folder is never left half-written; the command then stops with exit 130. Only in
    the main thread, and only over Python's default SIGINT handler."""
    hits: list[int] = []
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield hits
        return

    def later(signum, frame):  # noqa: ARG001 - signal handler signature
        if not hits:
            click.echo("interrupt: finishing the run folder first...", err=True)
        hits.append(signum)

    previous = signal.signal(signal.SIGINT, later)
    try:
        yield hits
    finally:
        signal.signal(signal.SIGINT, previous)


def _interrupted(out: Path, saved: bool) -> None:
    ctx = click.get_current_context()
    if saved:
        click.echo(f"interrupted: the run folder {out} was completed first", err=True)
    else:
        click.echo(f"interrupted before the results were written: {out} was not changed; "
                   "run the command again", err=True)
    ctx.exit(130)


def _engine_options(params: dict, opts: dict, strategy: str | None, config) -> dict:
    """Move ``--param`` keys that are engine options (and not parameters of the strategy) to
    ``opts``, as ``tape sweep --param`` does; returns the strategy parameters."""
    from engine.sweep_backtest import option_names

    names = set(option_names())
    engine_keys = [k for k in params if k in names]
    if not engine_keys:
        return params
    ref = strategy
    if ref is None and config is not None:
        from engine.config import load_toml

        ref = load_toml(config).get("strategy", {}).get("name")
    info = None
    if isinstance(ref, str) and ref:
        from strategies.registry import describe

        info = describe(ref)
    for k in engine_keys:
        if info is not None and info.param(k) is not None:
            continue
        if opts.get(k) is not None:
            raise ConfigError(f"{k} is given twice", argument=f"--param {k}", value=params[k],
                              fix=f"give either --{k.replace('_', '-')} or --param {k}=...")
        opts[k] = params.pop(k)
    return params


def _finish(res, out: Path, report: bool, quiet: bool = False, as_json: bool = False) -> None:
    from data.cli_output import emit

    replaced = (out / "manifest.json").exists() or (out / "equity.csv").exists()
    with _save_before_stopping() as hits:
        res.save(out, report=report)
    if hits:
        _interrupted(out, saved=True)
    s = res.stats
    sharpe = s.get("sharpe")
    sharpe = "undefined" if sharpe is None else f"{sharpe:.3f}"  # stats.json has full precision
    tick = getattr(res, "tick", None)
    what = (f"{res.market.n_bars} equity samples ({len(res.fills_rec)} fills)" if tick is not None
            else f"{res.market.n_bars} bars")
    text = [f"{res.config.strategy} on {', '.join(res.symbols)}: "
            f"{what}, {s.get('n_trades')} closed trades, "
            f"final equity {s.get('final_equity'):.2f}, total return "
            f"{100 * (s.get('total_return') or 0):.2f}%, sharpe {sharpe}",
            f"run folder: {out}" + (" (replaced the run that was there)" if replaced else "")
            ] + ([f"report: {out / 'report.html'}"] if report else [])
    rejected = _rejects(res)
    if rejected:
        n = sum(rejected.values())
        reasons = ", ".join(f"{k} {v}" for k, v in rejected.items())
        text.insert(1, f"warning: {n} of {len(res.orders)} orders were rejected ({reasons}); "
                       "orders.csv has each one's reject_reason (docs/fills.md)")
    summary = {"strategy": res.config.strategy, "params": dict(res.config.params),
               "symbols": list(res.symbols), "bars": int(res.market.n_bars),
               "run_dir": str(out), "report": str(out / "report.html") if report else None,
               "rejected_orders": rejected, "replaced": replaced,
               "stats": {k: v for k, v in s.items() if k != "conventions"}}
    emit(summary, text, as_json=as_json, quiet=quiet)


def _rejects(res) -> dict[str, int]:
    """Rejected orders by reason (a strategy whose every order is refused otherwise ends with
    '0 closed trades' and no word why)."""
    orders = getattr(res, "orders", None)
    if orders is None or "status" not in getattr(orders, "columns", ()):
        return {}
    rej = orders[orders["status"] == "rejected"]
    if not len(rej):
        return {}
    reasons = rej["reject_reason"].fillna("").replace("", "unknown")
    return {str(k): int(v) for k, v in reasons.value_counts().items()}


@click.command("run")
@click.argument("config", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--strategy", "-s", help="strategy name (e.g. sma_cross), path/to/file.py:Class "
              "or package.module:Class")
@click.option("--data", "-d", "data", multiple=True, help="bar file or catalog:// reference "
              "(repeat for several symbols)")
@click.option("--symbol", help="symbol of a single data file")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="strategy parameter, or engine option of a run config's [broker] / [run] "
              "(lot_size=0, max_leverage=2, borrow_rate=0.01...); repeatable")
@click.option("--cash", type=float, help="starting cash  [default: 10000]")
@click.option("--commission", type=float,
              help="commission as a fraction of notional (0.001 = 10 bp)  [default: 0]")
@click.option("--slippage", type=float, help="slippage in basis points  [default: 0]")
@click.option("--fill-at", type=click.Choice(["next_open", "signal_close"]),
              help="market orders fill at the next bar's open or at the signal bar's close  "
              "[default: next_open]")
@click.option("--start", help="first bar close time, inclusive (ISO; UTC when naive)")
@click.option("--end", help="last bar close time, inclusive (ISO; UTC when naive; a date alone "
              "means the whole day)")
@click.option("--intrabar", multiple=True, metavar="FILE",
              help="finer bars of the same instrument (e.g. hourly under daily): they decide a "
              "bar that reaches both a bracket's stop-loss and take-profit (else the stop-loss "
              "fills); repeat for several symbols (docs/fills.md)")
@click.option("--mode", type=click.Choice(["auto", "python", "compiled"]),
              help="run path: python (on_bar hooks) or compiled (targets / step function); "
              "auto picks python when the strategy has on_bar  [default: auto]")
@click.option("--seed", type=int, help="random seed  [default: 0]")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("runs/latest"), show_default=True, help="run folder to write")
@click.option("--report/--no-report", default=True, show_default=True,
              help="write report.html")
@output_options
def run_command(config, strategy, data, symbol, params, cash, commission, slippage, fill_at,
                start, end, intrabar, mode, seed, out, report, quiet, as_json):
    """Run a backtest from a TOML CONFIG and/or flags; write a run folder.

    \b
    tape run -s sma_cross -d data/samples/pairs/daily-KO.csv -p fast=10 -p slow=30 \\
        --commission 0.001 --out runs/ko
    tape run examples/pairs_ko_pep.toml --out runs/ko_pep

    Flags override the CONFIG's values; defaults are those of a run config (docs/strategies.md).
    """
    import engine

    opts = dict(strategy=strategy, data=list(data) if len(data) > 1 else (data[0] if data else None),
                symbol=symbol, params=None, cash=cash,
                commission=commission, slippage=slippage, fill_at=fill_at, start=start,
                end=end, mode=mode, seed=seed,
                intrabar=list(intrabar) if len(intrabar) > 1 else (intrabar[0] if intrabar
                                                                   else None))
    try:
        opts["params"] = _engine_options(_params(params), opts, strategy, config) or None
        res = engine.run(config, **{k: v for k, v in opts.items() if v is not None})
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        _interrupted(out, saved=False)
    try:
        _finish(res, out, report, quiet, as_json)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("demo")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("tapereader-demo"), show_default=True, help="run folder to write")
@output_options
def demo_command(out, quiet, as_json):
    """sma_cross (10/20, stop-and-reverse, 0.2% commission) on shipped GOOG daily bars."""
    import engine

    try:
        res = engine.run(market=str(DEMO_DATA), strategy="sma_cross",
                         params={"fast": 10, "slow": 20}, cash=10_000.0, commission=0.002)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        _interrupted(out, saved=False)
    try:
        _finish(res, out, True, quiet, as_json)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
