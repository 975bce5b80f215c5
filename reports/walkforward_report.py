"""The walk-forward summary page (``DIR/report.html``): stitched out-of-sample equity, each
window's choice with its in-sample and out-of-sample metric, and parameter stability. The full
out-of-sample report is ``DIR/oos/report.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reports import charts
from reports.html import atomic_write_text, environment
from reports.present import HEADLINE, fmt, metric_rows
from reports.sweep_report import metric_kind


def write_walkforward_report(out: str | Path, windows: pd.DataFrame, names: list[str],
                             metric: str, stats: dict[str, Any]) -> Path:
    import json

    out = Path(out)
    eq = pd.read_csv(out / "oos" / "equity.csv")
    ts = eq["ts"].to_numpy(np.int64)
    spec = json.loads((out / "walkforward.json").read_text(encoding="utf-8"))
    kind = metric_kind(metric)
    rows = []
    for _, w in windows.iterrows():
        rows.append({"window": int(w["window"]), "train": f"{w['train_start'][:10]} → {w['train_end'][:10]}",
                     "test": f"{w['test_start'][:10]} → {w['test_end'][:10]}",
                     "params": [str(w[n]) for n in names],
                     "is": fmt(w[f"is_{metric}"], kind), "oos": fmt(w[f"oos_{metric}"], kind),
                     "oos_ret": fmt(w["oos_total_return"], "pct"),
                     "trades": int(w["oos_n_trades"])})
    stab = [{"name": n, **{k: (fmt(v, "ratio") if isinstance(v, float) else v)
                            for k, v in spec["stability"][n].items() if k != "values"}}
            for n in names]
    ctx = {"title": f"Walk-forward of {spec['strategy']}", "spec": spec, "metric": metric,
           "names": names, "rows": rows, "stability": stab,
           "cards": metric_rows(stats, HEADLINE),
           "equity_svg": charts.equity_chart(ts, eq["equity"].to_numpy(),
                                             eq["benchmark"].to_numpy(), log=False, salt="wf")}
    html = environment().get_template("walkforward.html.j2").render(**ctx)
    path = out / "report.html"
    atomic_write_text(path, html)
    return path
