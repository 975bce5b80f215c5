"""The experiment grid page (``DIR/report.html``): per-cell mean ± standard deviation of each
metric over seeds against the baseline, the aggregates, and links to every run's report."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from reports.html import atomic_write_text, environment
from reports.present import LABELS, fmt


def _mean_std(row: dict[str, Any], m: str, kind: str) -> str:
    mean, std = row.get(f"{m}_mean"), row.get(f"{m}_std")
    text = fmt(mean, kind)
    if isinstance(std, float) and math.isfinite(std):
        text += f" ± {fmt(std, kind)}"
    return text


def _rows(frame, keys: list[str], metrics: list[str], baseline: bool, out: Path) -> list[dict]:
    rows = []
    for rec in frame.to_dict("records"):
        cells = []
        for m in metrics:
            kind = LABELS.get(m, (m, "ratio"))[1]
            b = fmt(rec.get(f"baseline_{m}_mean"), kind) if baseline else None
            cells.append({"v": _mean_std(rec, m, kind), "b": b})
        link = None
        if {"asset", "cost", "period"} <= set(rec):
            d = out / "runs" / str(rec["asset"]) / str(rec["cost"]) / str(rec["period"])
            reports = sorted(d.glob("seed*/report.html")) if d.is_dir() else []
            link = [(p.parent.name, os.path.relpath(p, out)) for p in reports]
        rows.append({"key": [str(rec[k]) for k in keys], "runs": rec.get("runs"),
                     "cells": cells, "links": link})
    return rows


def write_grid_report(res, metrics: list[str]) -> Path:
    spec = res.spec
    baseline = bool(spec.baseline)
    heads = [LABELS.get(m, (m,))[0] for m in metrics]
    cell_keys = ["asset", "cost", "period"]
    groups = []
    for g, frame in res.aggregates.groupby("group", sort=False):
        keys = [c for c in ("cost", "period", "all") if c in frame.columns
                and frame[c].notna().any()]
        groups.append({"title": g, "cols": keys,
                       "rows": _rows(frame, keys, metrics, baseline, res.out)})
    ctx = {"title": f"Experiment grid: {spec.strategy}", "spec": {
               "strategy": spec.strategy, "baseline": spec.baseline or "none",
               "params": spec.params, "run": spec.run, "assets": [a.name for a in spec.assets],
               "costs": [c for c, _ in spec.costs], "periods": [p.name for p in spec.periods],
               "seeds": list(spec.seeds), "runs": res.sweep.n_total,
               "errors": res.sweep.n_errors, "elapsed": f"{res.elapsed_s:.1f} s"},
           "heads": heads, "cell_keys": cell_keys,
           "cells": _rows(res.cells, cell_keys, metrics, baseline, res.out), "groups": groups}
    html = environment().get_template("grid.html.j2").render(**ctx)
    path = res.out / "report.html"
    atomic_write_text(path, html)
    return path
