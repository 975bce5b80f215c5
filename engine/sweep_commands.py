"""``tape sweep``, ``tape walkforward`` and ``tape grid`` (registered in cli.py).

Thin: parse flags, call :func:`engine.sweep_backtest.sweep`, :func:`engine.walkforward.
walk_forward` or :func:`engine.grid_run.run_grid`, print a summary (``--json``: one JSON
document on stdout; ``--quiet``: nothing but errors). Exit codes are cli.py's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from data.cli_output import emit, output_options

EXECUTORS = click.Choice(["local", "ray"])


def parse_pairs(items: tuple[str, ...], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` flags -> dict; values parsed as TOML scalars (numbers, true/false, quoted
    strings) and kept as plain strings otherwise."""
    import tomllib

    from data.errors import ConfigError

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("expected KEY=VALUE", argument=option, value=item,
                              fix=f"e.g. {option} fast=10")
        try:
            out[key] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value.strip()
    return out


def common_output(f):
    return output_options(f)


def executor_options(f):
    f = click.option("--address", default=None,
                     help="Ray cluster address (with --executor ray); default: start a local Ray.")(f)
    f = click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Worker processes [default: number of CPUs].")(f)
    return click.option("--executor", type=EXECUTORS, default="local", show_default=True,
                        help="local processes, or ray.")(f)


def strategy_data_options(f):
    """--strategy and --data (required, repeatable) of the sweep commands."""
    f = click.option("--data", "-d", "data", required=True, multiple=True,
                     help="Data file or catalog:// reference (repeat for several symbols).")(f)
    return click.option("--strategy", "-s", required=True,
                        help="Strategy name, path/to/file.py:Class or package.module:Class.")(f)


def bar_window_options(f):
    """--symbol, --start and --end: which bars of the data a sweep command uses."""
    f = click.option("--end", default=None, help="Last bar time (ISO date, UTC), inclusive.")(f)
    f = click.option("--start", default=None, help="First bar time (ISO date, UTC).")(f)
    return click.option("--symbol", default=None, help="Symbol of a single-symbol file.")(f)


def show_progress(quiet: bool, as_json: bool) -> bool | None:
    return False if quiet or as_json else None  # None: when stderr is a terminal


def partial_exit(n_errors: int, what: str) -> None:
    if n_errors:
        click.echo(f"{n_errors} {what} failed: see the error column of the results", err=True)
        sys.exit(7)


@click.command("sweep")
@strategy_data_options
@click.option("--grid", "-g", "grid", required=True, multiple=True,
              help="NAME=start:stop:step (inclusive) or NAME=a,b,c; strategy parameters or "
                   "engine options such as commission. Repeat per parameter.")
@click.option("--param", "-p", "fixed", multiple=True,
              help="Fixed KEY=VALUE for every run (parameter or engine option).")
@click.option("--constraint", "-c", "constraints", multiple=True,
              help='Keep combinations where this holds, e.g. "fast < slow".')
@click.option("--random", "n_random", type=click.IntRange(min=1), default=None,
              help="Random search: N distinct combinations drawn from the grid.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random.")
@bar_window_options
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Results folder (results.csv/.parquet, sweep.json, report.html).")
@click.option("--metric", default="sharpe", show_default=True,
              help="Metric that ranks combinations in the summary and report.")
@click.option("--fresh", is_flag=True, help="Discard results already in --out instead of resuming.")
@click.option("--no-report", is_flag=True, help="Skip report.html.")
@executor_options
@common_output
def sweep(strategy, data, grid, fixed, constraints, n_random, seed, symbol, start, end, out,
          metric, fresh, no_report, executor, workers, address, quiet, as_json) -> None:
    """Run a strategy over a parameter grid; results stream to --out and resume if interrupted.

    \b
    tape sweep --strategy sma_cross --data data/samples/pairs/daily-KO.csv \\
        --grid fast=5:30:5 --grid slow=20:100:10 --constraint "fast < slow" --out runs/ko
    """
    from engine.sweep_backtest import option_names
    from engine.sweep_backtest import sweep as run
    from reports.sweep_report import ranked

    pairs = parse_pairs(fixed, "--param")
    opts = set(option_names())
    options = {k: v for k, v in pairs.items() if k in opts}
    params = {k: v for k, v in pairs.items() if k not in opts}
    res = run(strategy, list(data) if len(data) > 1 else data[0], grid=list(grid), out=out,
              params=params, options=options, constraints=list(constraints), random=n_random,
              seed=seed, symbol=symbol, start=start, end=end, executor=executor,
              workers=workers, address=address, fresh=fresh,
              progress=show_progress(quiet, as_json), report=not no_report, metric=metric)
    t = res.table
    names = [c for c in t.columns if c in _param_names(res)]
    best = ranked(t, metric).head(1) if metric in t.columns else t.head(0)
    best_row = best.iloc[0].to_dict() if len(best) else None
    summary = {**res.summary(), "metric": metric,
               "best": None if best_row is None else {k: best_row[k] for k in names},
               "best_metric": None if best_row is None else best_row[metric],
               "files": {k: str(res.out / f) for k, f in (
                   ("csv", "results.csv"), ("parquet", "results.parquet"),
                   ("spec", "sweep.json"), ("report", "report.html"))
                   if (res.out / f).exists()}}
    text = [f"{res.n_total} combinations: {res.n_run} run, {res.n_resumed} resumed, "
            f"{res.n_errors} failed ({res.elapsed_s:.1f} s)"]
    if best_row is not None:
        text.append(f"best by {metric}: " + " ".join(f"{k}={best_row[k]}" for k in names)
                    + f" -> {metric} {best_row[metric]:.4g}")
    text.append(f"wrote {res.out / 'results.csv'}"
                + (f" and {res.out / 'report.html'}" if "report" in summary["files"] else ""))
    emit(summary, text, as_json=as_json, quiet=quiet)
    partial_exit(res.n_errors, "combination(s)")


def _param_names(res) -> list[str]:
    spec = json.loads((res.out / "sweep.json").read_text(encoding="utf-8"))
    return list(spec.get("param_names", []))


@click.command("walkforward")
@strategy_data_options
@click.option("--grid", "-g", "grid", required=True, multiple=True,
              help="NAME=start:stop:step or NAME=a,b,c (as in tape sweep).")
@click.option("--param", "-p", "fixed", multiple=True, help="Fixed KEY=VALUE for every run.")
@click.option("--constraint", "-c", "constraints", multiple=True, help='e.g. "fast < slow".')
@click.option("--random", "n_random", type=click.IntRange(min=1), default=None,
              help="Random search of N combinations per train window.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random.")
@click.option("--train", required=True,
              help="Train window: bars (504) or a span (90D, 26W, 6M, 2Y).")
@click.option("--test", "test_len", required=True, help="Test window: bars or a span.")
@click.option("--anchored", is_flag=True,
              help="Expanding train windows from the first bar (default: rolling).")
@click.option("--metric", default="sharpe", show_default=True,
              help="Metric that picks each window's parameters.")
@click.option("--warmup", type=click.IntRange(min=0), default=None,
              help="Bars before each test window the test run starts at [default: the "
                   "train window].")
@bar_window_options
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Results folder (windows.csv, oos/, report.html, windows/).")
@click.option("--fresh", is_flag=True, help="Discard earlier results in --out.")
@click.option("--no-report", is_flag=True, help="Skip the HTML reports.")
@executor_options
@common_output
def walkforward(strategy, data, grid, fixed, constraints, n_random, seed, train, test_len,
                anchored, metric, warmup, symbol, start, end, out, fresh, no_report, executor,
                workers, address, quiet, as_json) -> None:
    """Walk-forward: optimise on each train window, trade the next test window, stitch the
    out-of-sample results.

    \b
    tape walkforward --strategy sma_cross --data data/samples/equities_daily/GOOG_2004-2013_backtesting.csv \\
        --grid fast=5:30:5 --grid slow=20:100:20 --constraint "fast < slow" \\
        --train 2Y --test 1Y --out runs/goog_wf
    """
    from engine.sweep_backtest import option_names
    from engine.walkforward import walk_forward

    pairs = parse_pairs(fixed, "--param")
    opts = set(option_names())
    wf = walk_forward(strategy, list(data) if len(data) > 1 else data[0], grid=list(grid),
                      out=out, train=train, test=test_len, anchored=anchored, metric=metric,
                      params={k: v for k, v in pairs.items() if k not in opts},
                      options={k: v for k, v in pairs.items() if k in opts},
                      constraints=list(constraints), random=n_random, seed=seed,
                      warmup=warmup, symbol=symbol, start=start, end=end, executor=executor,
                      workers=workers, address=address, fresh=fresh,
                      progress=show_progress(quiet, as_json), report=not no_report)
    s = wf.summary()
    s["windows_table"] = wf.windows.to_dict("records")
    o = s["oos"]
    text = [f"{s['windows']} windows ({s['elapsed_s']:.1f} s); out-of-sample: total return "
            f"{100 * (o['total_return'] or 0):.2f}%, sharpe {o['sharpe'] if o['sharpe'] is None else round(o['sharpe'], 3)}, "
            f"max drawdown {100 * (o['max_drawdown'] or 0):.2f}%, {o['n_trades']} trades",
            f"wrote {wf.out / 'windows.csv'}, {wf.out / 'oos'}"
            + ("" if no_report else f", {wf.out / 'report.html'}")]
    emit(s, text, as_json=as_json, quiet=quiet)


@click.command("grid")
@click.argument("grid_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results folder [default: the grid file's `out`].")
@click.option("--fresh", is_flag=True, help="Discard earlier results in --out.")
@click.option("--no-reports", is_flag=True, help="No report.html in each run folder.")
@executor_options
@common_output
def grid(grid_file, out, fresh, no_reports, executor, workers, address, quiet, as_json) -> None:
    """Run an experiment grid: one strategy over assets x cost levels x periods x seeds from
    GRID_FILE (TOML; see examples/grid_stocks20.toml), with a summary table and report."""
    from engine.grid_run import run_grid

    res = run_grid(grid_file, out=out, executor=executor, workers=workers, address=address,
                   fresh=fresh, progress=show_progress(quiet, as_json),
                   reports=False if no_reports else None)
    s = res.summary()
    metrics = [m for m in res.spec.metrics if f"{m}_mean" in res.aggregates.columns]
    overall = res.aggregates[res.aggregates["group"] == "overall"].iloc[0].to_dict()
    s["overall"] = {m: {"mean": overall.get(f"{m}_mean"), "std": overall.get(f"{m}_std"),
                        "baseline_mean": overall.get(f"baseline_{m}_mean")} for m in metrics}
    s["files"] = {k: str(res.out / f) for k, f in (
        ("results", "results.csv"), ("summary", "summary.csv"),
        ("aggregates", "aggregates.csv"), ("report", "report.html"))}
    by_cost = res.aggregates[res.aggregates["group"] == "by cost"]
    text = [f"{s['n_total']} runs ({s['assets']} assets x {s['costs']} costs x {s['periods']} "
            f"periods x {s['seeds']} seeds): {s['n_run']} run, {s['n_resumed']} resumed, "
            f"{s['n_errors']} failed ({s['elapsed_s']:.1f} s)"]
    for _, r in by_cost.iterrows():
        text.append(f"  cost {r['cost']}: " + ", ".join(
            f"{m} {r[f'{m}_mean']:.4g}" + (f" (baseline {r[f'baseline_{m}_mean']:.4g})"
                                           if f"baseline_{m}_mean" in r else "")
            for m in metrics[:3]))
    text.append(f"wrote {res.out / 'summary.csv'} and {res.out / 'report.html'}")
    emit(s, text, as_json=as_json, quiet=quiet)
    partial_exit(res.sweep.n_errors, "run(s)")
