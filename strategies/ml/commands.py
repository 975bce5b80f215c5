"""``tape ml run`` and ``tape ml audit``: thin click commands over :mod:`strategies.ml.pipeline`
and :mod:`strategies.ml.audit`."""

from __future__ import annotations

from pathlib import Path

import click

from data.cli_output import emit, output_options
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


def _run_json(res, info: dict, out: Path, report: bool) -> dict:
    """``tape ml run --json``: the numbers of the text summary (model.json has everything)."""
    ev = info["evaluation"]
    periods = {}
    for period in ("development", "forward_test"):
        m = ev.get(period) or {}
        if m.get("n"):
            periods[period] = {"metrics": {k: v for k, v in m.items() if k != "calibration"},
                               "trading": (ev.get("trading") or {}).get(period)}
    a = info.get("audit")
    audit = None if a is None else {k: a[k] for k in ("ok", "n_cuts", "compared", "leaks")}
    return {"strategy": info["strategy"], "params": info["params"],
            "symbols": list(res.symbols), "bars": int(res.market.n_bars),
            "n_folds": info["n_folds"], "task": ev["task"], "develop_only": info["develop_only"],
            "stats": {k: v for k, v in res.stats.items() if k != "conventions"},
            "periods": periods,
            "audit": audit,
            "run_dir": str(out), "model": str(out / "model.json"),
            "predictions": str(out / "predictions.csv"),
            "report": str(out / "report.html") if report else None}


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
@output_options
def run_command(config, params, audit_cuts, develop, out, report, quiet, as_json):
    """Train walk-forward, backtest and write a run folder with model.json and a report."""
    from strategies.ml.pipeline import run_ml

    try:
        res, info = run_ml(config, out, report=report, audit_cuts=audit_cuts, develop=develop,
                           **_params(params))
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    s = res.stats
    text = [f"ml_signal on {', '.join(res.symbols)}: {res.market.n_bars} bars, "
            f"{info['n_folds']} folds, {s.get('n_trades')} closed trades, total return "
            f"{_pct(s.get('total_return'))}, sharpe {_num(s.get('sharpe'))}"]
    text += ["  " + line for line in _summary(info)]
    text.append(f"run folder: {out}")
    emit(_run_json(res, info, out, report), text, as_json=as_json, quiet=quiet)
    if "audit" in info and not info["audit"]["ok"]:
        raise click.ClickException("leakage audit failed: see model.json 'audit'")


@ml.command("audit")
@click.argument("config", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--cuts", type=int, default=5, show_default=True, help="random cut times")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the cut times")
@click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE",
              help="override a strategy parameter (repeatable)")
@output_options
def audit_command(config, cuts, seed, params, quiet, as_json):
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
    text = []
    for c in d["cuts"]:
        state = "ok" if c["ok"] else "DIFFERS: " + ", ".join(
            f"{k} from {v}" for k, v in c["diffs"].items())
        text.append(f"cut {c['cut']} (bar {c['cut_bar']}): {state}")
    text.append(f"{'passed' if d['ok'] else 'FAILED'}: {d['n_cuts']} cuts, "
                f"{d['compared']:,} values compared")
    emit(d, text, as_json=as_json, quiet=quiet)  # --json: the full result (AuditResult.to_dict)
    if not d["ok"]:
        raise click.ClickException(f"look-ahead detected in {sorted(d['leaks'])}")
