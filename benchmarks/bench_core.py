"""The event-driven core against its peers (issue 3): printed numbers, never a test.

    python benchmarks/bench_core.py [--repeats 3] [--case 100k] [--case 1M] [--no-peers]

SMA cross (stop-and-reverse, next-open fills, all-in whole units; ``_protocol.SMA_CROSS_DEFAULTS``)
on the seeded random-walk bars of ``benchmarks/synth.py``, through the harness
(``benchmarks/harness.py``: fresh processes, round-robin repeats, medians): tapereader's compiled
path and Python-strategy path, backtesting.py, backtrader and vectorbt in the same run. Then:

* the issue's targets, from this run: compiled >= 10x faster than vectorbt warm, Python path
  >= 3x faster than backtesting.py, first run in a fresh process with a warm numba cache < 1 s
  for 1M bars;
* the cold compile of the whole core (every kernel of both paths and the batch runner) in a
  fresh process with an empty numba cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO)]

from benchmarks import harness  # noqa: E402
from benchmarks.registry import TASKS, runners_for  # noqa: E402

COMPILE_ALL = """
import time
t0 = time.perf_counter()
import engine
from engine.batch import run_batch
f = "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv"
t1 = time.perf_counter()
engine.run(market=f, strategy="sma_cross", mode="python", commission=0.001)
t2 = time.perf_counter()
engine.run(market=f, strategy="sma_cross", mode="compiled", commission=0.001)
t3 = time.perf_counter()
run_batch("sma_cross", [{"fast": 10, "slow": 20}], market=f, commission=0.001)
t4 = time.perf_counter()
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f} {t4 - t3:.3f}")
"""


def cold_compile() -> list[float]:
    with tempfile.TemporaryDirectory(prefix="tapereader-cold-") as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=tmp, PYTHONPATH=str(REPO))
        out = subprocess.run([sys.executable, "-c", COMPILE_ALL], cwd=REPO, env=env,
                             capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def _median(row: dict, mode: str) -> float | None:
    s = row.get("stats", {}).get(mode)
    return s["median"] if s else None


def targets(rows: list[dict]) -> list[str]:
    by = {(r["case"], r["engine"]): r for r in rows}
    lines = []
    for case in sorted({r["case"] for r in rows}):
        comp, py = by.get((case, "tapereader-compiled")), by.get((case, "tapereader-python"))
        vbt, bt = by.get((case, "vectorbt")), by.get((case, "backtesting.py"))
        if comp and vbt and _median(comp, "warm") and _median(vbt, "warm"):
            x = _median(vbt, "warm") / _median(comp, "warm")
            lines.append(f"{case}: compiled warm {_median(comp, 'warm'):.4g}s vs vectorbt warm "
                         f"{_median(vbt, 'warm'):.4g}s = {x:.1f}x (target >= 10x)")
        if py and bt and _median(py, "first") and _median(bt, "first"):
            x = _median(bt, "first") / _median(py, "first")
            lines.append(f"{case}: python path first {_median(py, 'first'):.4g}s vs "
                         f"backtesting.py {_median(bt, 'first'):.4g}s = {x:.1f}x (target >= 3x)")
        for r in (comp, py):
            if r and _median(r, "first"):
                lines.append(f"{case}: {r['engine']} first call in a fresh process (warm cache) "
                             f"{_median(r, 'first'):.3g}s (target < 1 s at 1M); cold "
                             f"{_median(r, 'cold') or float('nan'):.3g}s")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--case", action="append", help="100k and/or 1M (default both)")
    ap.add_argument("--no-peers", action="store_true", help="tapereader only")
    ap.add_argument("--no-cold", action="store_true", help="skip empty-cache runs")
    args = ap.parse_args(argv)
    rows: list[dict] = []
    for case in TASKS["sma_cross"].cases:
        if args.case and case.label not in args.case:
            continue
        runners = [r for r in runners_for("sma_cross")
                   if not args.no_peers or r.engine.startswith("tapereader")]
        print(f"[sma_cross {case.label}] {', '.join(r.engine for r in runners)}", flush=True)
        rows += harness.run_case("sma_cross", case, runners, repeats=args.repeats,
                                 cold=not args.no_cold, log=lambda s: print(s, flush=True))
    harness.print_table(rows)
    for line in targets(rows):
        print(line)
    t = time.perf_counter()
    imp, py, comp, batch = cold_compile()
    print(f"cold compile of the whole core (empty numba cache, GOOG daily): import {imp:.2f}s, "
          f"python path {py:.2f}s, compiled path {comp:.2f}s, batch {batch:.2f}s; process "
          f"{time.perf_counter() - t:.1f}s")
    path = harness.save({"meta": harness.machine_info(), "rows": rows}, None)
    print(f"saved {path}")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
