"""Data-layer throughput and memory: CSV -> canonical arrays, catalog import, chunked read.

Generates a seeded CSV of trade prints (Tardis layout: exchange/local microsecond stamps, id,
side, price, amount) in a temp folder, then runs each task in its own fresh Python process and
prints wall time, rows/s and peak resident memory (``VmHWM``) beside the process's peak right
after its imports. pandas ``read_csv`` (C and pyarrow engines) runs in the same session for scale.

    python benchmarks/bench_data.py                 # 10M rows (about 560 MB of CSV)
    python benchmarks/bench_data.py --rows 1000000 --repeat 3

Numbers are from whatever machine runs this; on a shared machine they are noisy (take medians
of ``--repeat`` runs and compare ratios within one run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Seeded synthetic trades: a random-walk price, lognormal sizes, 24 h of stamps."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    start_us = 1_582_329_600_000_000  # 2020-02-22 00:00 UTC
    gaps = rng.exponential(86_400e6 / rows, rows)
    ts = start_us + np.cumsum(gaps).astype(np.int64)
    price = np.round(9_700 + np.cumsum(rng.normal(0, 0.5, rows)), 2)
    size = np.round(rng.lognormal(-2.0, 1.2, rows), 3) + 0.001
    side = np.where(rng.random(rows) < 0.5, "buy", "sell")
    pl.DataFrame({
        "exchange": pl.repeat("binance-futures", rows, eager=True),
        "symbol": pl.repeat("BTCUSDT", rows, eager=True),
        "timestamp": ts,
        # receive stamps: exchange time plus a jittered delay, never going back (the reader
        # refuses a capture whose local clock runs backwards)
        "local_timestamp": np.maximum.accumulate(ts + rng.integers(1_000, 50_000, rows)),
        "id": np.arange(rows, dtype=np.int64) + 42_000_000,
        "side": side,
        "price": price,
        "amount": size,
    }).write_csv(path)  # fmt: skip


# ------------------------------------------------------------------------------------------
# tasks (each runs in a fresh process)
# ------------------------------------------------------------------------------------------
def _rss_mb() -> float:
    """Peak resident memory of this process so far, MB.

    Linux: ``VmHWM`` from /proc/self/status (per process image; ``ru_maxrss`` would carry the
    parent's peak across fork+exec). Elsewhere: ``ru_maxrss``.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def task(name: str, csv: Path, catalog: Path) -> dict:
    sys.path.insert(0, str(REPO))
    import numpy as np
    import pandas as pd

    from data.catalog import Catalog
    from data.readers import iter_table, read_table

    base = _rss_mb()
    t0 = time.perf_counter()
    if name == "polars read_table":
        arr = read_table(csv, kind="trade")
        rows, check = len(arr), float(arr["price"].sum())
    elif name == "polars iter_table (1M chunks)":
        rows, check = 0, 0.0
        for chunk in iter_table(csv, kind="trade", chunk_rows=1_000_000):
            rows += len(chunk)
            check += float(chunk["price"].sum())
    elif name == "pandas read_csv (C engine)":
        df = pd.read_csv(csv)
        rows, check = len(df), float(df["price"].sum())
    elif name == "pandas read_csv (pyarrow)":
        df = pd.read_csv(csv, engine="pyarrow")
        rows, check = len(df), float(df["price"].sum())
    elif name == "catalog import (streamed)":
        res = Catalog(catalog).import_file(csv, kind="trade", symbol="BTCUSDT")
        rows, check = res[0].rows_total, 0.0
    elif name == "catalog scan (1M chunks)":
        rows, check = 0, 0.0
        for chunk in Catalog(catalog).scan("trade", "BTCUSDT", chunk_rows=1_000_000):
            rows += len(chunk)
            check += float(chunk["price"].sum())
    elif name == "catalog load (all)":
        arr = Catalog(catalog).load("trade", "BTCUSDT")
        rows, check = len(arr), float(arr["price"].sum())
    else:
        raise SystemExit(f"unknown task {name}")
    seconds = time.perf_counter() - t0
    del np
    return {"task": name, "rows": rows, "seconds": seconds, "peak_mb": _rss_mb(),
            "base_mb": base, "check": check}  # fmt: skip


TASKS = [
    "polars read_table",
    "polars iter_table (1M chunks)",
    "pandas read_csv (C engine)",
    "pandas read_csv (pyarrow)",
    "catalog import (streamed)",
    "catalog scan (1M chunks)",
    "catalog load (all)",
]


def run_task(name: str, csv: Path, catalog: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--task", name, "--csv", str(csv), "--catalog", str(catalog)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"task {name!r} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--task")
    ap.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--catalog", type=Path)
    args = ap.parse_args()
    if args.task:
        print(json.dumps(task(args.task, args.csv, args.catalog)))
        return
    if args.generate:
        generate(args.generate, args.rows)
        return
    tmp = Path(tempfile.mkdtemp(prefix="tape-bench-data-"))
    try:
        csv = tmp / "trades.csv"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--generate", str(csv), "--rows", str(args.rows)],
                       check=True)  # fmt: skip
        print(f"generated {args.rows:,} trade rows, {csv.stat().st_size / 1e6:,.0f} MB CSV "
              f"in {time.perf_counter() - t0:.1f} s ({tmp})")  # fmt: skip
        results: dict[str, list[dict]] = {}
        for rep in range(args.repeat):
            catalog = tmp / f"catalog-{rep}"
            for name in TASKS:
                results.setdefault(name, []).append(run_task(name, csv, catalog))
        size = sum(p.stat().st_size for p in (tmp / "catalog-0").rglob("*.parquet"))
        print(f"catalog on disk: {size / 1e6:,.0f} MB (zstd Parquet)\n")
        head = f"{'task':32} {'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak RSS MB':>12} {'after import':>12}"
        print(head)
        print("-" * len(head))
        for name, runs in results.items():
            sec = statistics.median(r["seconds"] for r in runs)
            peak = statistics.median(r["peak_mb"] for r in runs)
            base = statistics.median(r["base_mb"] for r in runs)
            rows = runs[0]["rows"]
            print(
                f"{name:32} {rows:>12,} {sec:>9.2f} {rows / sec:>12,.0f} {peak:>12,.0f} {base:>12,.0f}"
            )
        checks = {r["check"] for runs in results.values() for r in runs if r["check"]}
        spread = (max(checks) - min(checks)) / max(checks) if checks else 0.0
        print(f"\nprice-sum checks agree across readers to {spread:.1e} (relative)")
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; medians of {args.repeat} run(s)"
        )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
