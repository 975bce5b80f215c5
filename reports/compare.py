"""Several runs side by side: a metrics table and their equity curves overlaid (compare.html)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError
from reports import charts
from reports.html import atomic_write_text, environment
from reports.metrics import compute_stats
from reports.present import GROUPS, HEADLINE, LABELS, fmt
from reports.runfolder import Run, read_run
from reports.timeutil import ns


def run_stats(run: Run) -> dict[str, Any]:
    """Metrics of a run recomputed with its own conventions (as its report shows them)."""
    eq = run.equity["equity"]
    bench = run.equity["benchmark"] if "benchmark" in run.equity.columns else None
    if bench is not None and not (np.isfinite(bench.to_numpy()).all() and (bench > 0).all()):
        bench = None
    expo = run.equity["exposure"] if "exposure" in run.equity.columns else None
    return compute_stats(eq, trades=run.trades, benchmark=bench, conventions=run.conventions(),
                         fills=run.fills, n_trials=int((run.stats or {}).get("n_trials") or 1),
                         exposure=expo)


def _labels(runs: list[Run]) -> list[str]:
    """Distinct column names: the folder name, prefixed by its parent when names repeat."""
    names = [r.name for r in runs]
    out = []
    for r in runs:
        label = r.name if names.count(r.name) == 1 else f"{r.path.parent.name}/{r.name}"
        out.append(label)
    return out


def compare_context(runs: list[Run], stats: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    stats = stats if stats is not None else [run_stats(r) for r in runs]
    labels = _labels(runs)
    groups = []
    for gid, title, items in GROUPS:
        rows = []
        for key, label, kind in items:
            values = [s.get(key) for s in stats]
            finite = [v for v in values if isinstance(v, int | float) and np.isfinite(v)]
            best = None
            if len(finite) > 1 and kind in ("pct", "ratio", "prob") and len(set(finite)) > 1:
                best = max(finite)
            rows.append({"key": key, "label": label,
                         "cells": [{"text": fmt(v, kind), "best": best is not None and v == best}
                                   for v in values]})
        groups.append({"id": gid, "title": title, "rows": rows})
    conv_keys = ("periods_per_year", "risk_free", "ddof", "sampling")
    convs = [{k: s["conventions"][k] for k in conv_keys} for s in stats]
    series = [(lab, ns(r.equity.index), r.equity["equity"].to_numpy())
              for lab, r in zip(labels, runs, strict=True)]
    return {
        "runs": [{"label": lab, "strategy": r.strategy, "path": str(r.path),
                  "params": [(str(k), str(v)) for k, v in r.params.items()],
                  "start": s["start"][:10], "end": s["end"][:10], "conventions": c}
                 for lab, r, s, c in zip(labels, runs, stats, convs, strict=True)],
        "groups": groups,
        "conventions_differ": any(c != convs[0] for c in convs),
        "equity_svg": charts.overlay_equity_chart(series, log=False, salt="cmp"),
        "equity_log_svg": charts.overlay_equity_chart(series, log=True, salt="cmplog"),
    }


def write_compare(run_dirs: list[Path], out: Path) -> tuple[Path, str]:
    """Write ``out`` (compare.html) comparing the runs in ``run_dirs``; returns its path and a
    plain-text table of the headline metrics for the terminal."""
    if not run_dirs:
        raise ConfigError("no run folder given", argument="RUN_DIR",
                          fix="pass one or more run folders")
    runs = [read_run(d) for d in run_dirs]
    stats = [run_stats(r) for r in runs]
    html = environment().get_template("compare.html.j2").render(**compare_context(runs, stats))
    out = Path(out)
    atomic_write_text(out, html)
    return out, text_table(_labels(runs), stats, HEADLINE)


def text_table(labels: list[str], stats: list[dict[str, Any]], keys: list[str]) -> str:
    """A plain-text table of metrics (rows) by run (columns)."""
    rows = [["metric", *labels]]
    for k in keys:
        label, kind = LABELS[k]
        rows.append([label, *[fmt(s.get(k), kind) for s in stats]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                     for r in rows)
