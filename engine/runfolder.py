"""Write the run folder (docs/RUN_FOLDER.md): every file atomically, manifest.json last."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd

from data.catalog.files import atomic_write_bytes
from data.errors import RunError
from engine.result import _iso as iso_times
from engine.result import atomic_json, versions
from reports.html import atomic_write_text

VOLATILE_MANIFEST_KEYS = ("created_at", "timings")  # differ between identical runs
RUN_FILES = ("manifest.json", "config.toml", "equity.csv", "trades.csv", "orders.csv",
             "fills.csv", "prices.parquet", "stats.json", "report.html")


def _csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def prices_frame(market) -> pd.DataFrame:
    parts = []
    for sym, b in market.bars.items():
        parts.append(pd.DataFrame({"ts": b["ts"], "symbol": sym, "open": b["open"],
                                   "high": b["high"], "low": b["low"], "close": b["close"],
                                   "volume": b["volume"]}))
    return pd.concat(parts, ignore_index=True)


def write_run_folder(res, run_dir: Path, *, report: bool = True) -> Path:
    t0 = time.perf_counter()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the run folder: {exc}", file=str(run_dir),
                       fix="check the path and permissions") from exc
    manifest_path = run_dir / "manifest.json"
    # an older run here is no longer complete while we write: its manifest goes first, then
    # its report (a kill mid-way must not leave an older report that looks complete beside
    # newer files; report.html is rebuilt from this run's files before the new manifest)
    # temp files of a save that was killed (``<name>.tmp-<pid>``) go too
    stale = [p for p in run_dir.glob("*.tmp-*") if p.name.split(".tmp-")[0] in RUN_FILES]
    for old in (manifest_path, run_dir / "report.html", *stale):
        try:
            old.unlink(missing_ok=True)
        except OSError as exc:
            raise RunError(f"cannot remove the older run's {old.name}: {exc}", file=str(old),
                           fix="check the folder's permissions or choose another folder"
                           ) from exc
    cfg_text = res.config.to_toml()
    atomic_write_text(run_dir / "config.toml", cfg_text)
    eq = res.equity.copy()
    eq.insert(0, "time", iso_times(eq["ts"].to_numpy()))
    _csv(run_dir / "equity.csv", eq)
    _csv(run_dir / "trades.csv", res.trades)
    _csv(run_dir / "orders.csv", res.orders)
    _csv(run_dir / "fills.csv", res.fills)
    buf = io.BytesIO()
    prices_frame(res.market).to_parquet(buf, index=False)
    atomic_write_bytes(run_dir / "prices.parquet", buf.getvalue())
    stats = dict(res.stats)
    atomic_json(run_dir / "stats.json", stats)
    t_files = time.perf_counter() - t0
    timings = dict(res.timings)
    timings["write"] = t_files
    closed = int((res.trades["status"] == "closed").sum())
    manifest = {
        "status": "complete",
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "strategy": res.config.strategy,
        "params": {k: (v if not isinstance(v, np.generic) else v.item())
                   for k, v in res.strategy.params.items()},
        "mode": res.mode,
        "versions": versions(),
        "data": res.market.sources,
        "symbols": res.symbols,
        "seed": res.config.seed,
        "config_sha256": hashlib.sha256(cfg_text.encode()).hexdigest(),
        "timings": timings,
        **({"intrabar": res.market.intrabar} if res.market.intrabar else {}),
        "counts": {"bars": int(res.market.n_bars), "orders": int(len(res.orders_rec)),
                   "fills": int(len(res.fills_rec)), "trades": closed,
                   "open_trades": int(len(res.trades) - closed)},
    }
    t_report = 0.0
    if report:
        from reports.html import write_report

        t1 = time.perf_counter()
        # the report shows the manifest this save writes last, but for its creation time and
        # timings: identical runs give identical reports (tests/test_reliability_determinism)
        write_report(run_dir, manifest={k: v for k, v in manifest.items()
                                        if k not in VOLATILE_MANIFEST_KEYS})
        t_report = time.perf_counter() - t1
    timings = dict(timings)
    timings["report"] = t_report
    timings["total"] = sum(v for k, v in timings.items() if k != "total")
    manifest["timings"] = timings
    atomic_json(manifest_path, manifest)
    return run_dir
