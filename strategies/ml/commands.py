"""``tape ml run`` and ``tape ml audit``: thin click commands over :mod:`strategies.ml.pipeline`
and :mod:`strategies.ml.audit`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from data.errors import TapeError


def _params(items: tuple[str, ...]) -> dict:
    from engine.commands import _params as parse

    return parse(items)


@click.group("ml")
def ml() -> None:
    """ML signals: walk-forward models with a leakage audit and an honest evaluation."""


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}%"


def _num(v) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def _summary(info: dict) -> list[str]:
    ev = info["evaluation"]
    lines = []
    for period in ("development", "forward_test"):
        m = ev.get(period) or {}
        t = (ev.get("trading") or {}).get(period) or {}
        if not m.get("n"):
            continue
        if ev["task"] == "classification":
            q = (f"accuracy {_pct(m.get('accuracy'))} (majority {_pct(m.get('majority_accuracy'))}), "
                 f"AUC {_num(m.get('auc'))}, log loss {_num(m.get('log_loss'))} "
                 f"(base rate {_num(m.get('log_loss_base_rate'))})")
        else:
            q = (f"MAE {_num(m.get('mae'))}, RMSE {_num(m.get('rmse'))} (zero "
                 f"{_num(m.get('rmse_zero'))}), IC {_num(m.get('ic_spearman'))}")
        lines.append(f"{period}: n={m['n']:,}, {q}; return {_pct(t.get('total_return'))} vs "
                     f"buy & hold {_pct(t.get('benchmark_total_return'))}, sharpe "
                     f"{_num(t.get('sharpe'))}")
    if "audit" in info:
        a = info["audit"]
        lines.append(f"leakage audit: {'passed' if a['ok'] else 'FAILED'} "
                     f"({a['n_cuts']} cuts, {a['compared']:,} values)"
                     + ("" if a["ok"] else f"; look-ahead in {sorted(a['leaks'])}"))
    return lines


@ml.command("run")
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="override a strategy parameter (repeatable)")
@click.option("--audit", "audit_cuts", type=int, default=None,
              help="also run the leakage audit with this many random cuts")
@click.option("--develop", is_flag=True,
              help="development period only: the forward-test bars are dropped before anything "
                   "is computed (choose parameters with this, read the forward test once)")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("runs/ml"), show_default=True, help="run folder to write")
@click.option("--report/--no-report", default=True, show_default=True, help="write report.html")
def run_command(config, params, audit_cuts, develop, out, report):
    """Train walk-forward, backtest and write a run folder with model.json and a report."""
    from strategies.ml.pipeline import run_ml

    try:
        res, info = run_ml(config, out, report=report, audit_cuts=audit_cuts, develop=develop,
                           **_params(params))
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    s = res.stats
    click.echo(f"ml_signal on {', '.join(res.symbols)}: {res.market.n_bars} bars, "
               f"{info['n_folds']} folds, {s.get('n_trades')} closed trades, total return "
               f"{_pct(s.get('total_return'))}, sharpe {_num(s.get('sharpe'))}")
    for line in _summary(info):
        click.echo("  " + line)
    click.echo(f"run folder: {out}")
    if "audit" in info and not info["audit"]["ok"]:
        raise click.ClickException("leakage audit failed: see model.json 'audit'")


@ml.command("audit")
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--cuts", type=int, default=5, show_default=True, help="random cut times")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the cut times")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="override a strategy parameter (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="print the full result as JSON")
def audit_command(config, cuts, seed, params, as_json):
    """Recompute features and predictions on data cut at random times; fail on any change."""
    from strategies.ml.audit import audit
    from strategies.ml.pipeline import prepare

    try:
        strat, panel = prepare(config, **_params(params))
        result = audit(panel, strat.config(), n_cuts=cuts, seed=seed,
                       truncate=strat._prepared["truncate"])
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    d = result.to_dict()
    if as_json:
        click.echo(json.dumps(d, indent=1))
    else:
        for c in d["cuts"]:
            state = "ok" if c["ok"] else "DIFFERS: " + ", ".join(
                f"{k} from {v}" for k, v in c["diffs"].items())
            click.echo(f"cut {c['cut']} (bar {c['cut_bar']}): {state}")
        click.echo(f"{'passed' if d['ok'] else 'FAILED'}: {d['n_cuts']} cuts, "
                   f"{d['compared']:,} values compared")
    if not d["ok"]:
        raise click.ClickException(f"look-ahead detected in {sorted(d['leaks'])}")
