"""Report generation time and file size (printed numbers, not a test).

    python benchmarks/bench_report.py [--repeats 3] [--skip-long]

Cases:
- a 10-year daily run (2,520 business-day bars) with 1,000 trades: target under 3 s;
- a 1M-bar (one-minute) run with 10,000 trades: file size (target under ~5 MB) and time.

For each: the median over repeats of (a) ``tape report RUN_DIR`` in a fresh process (imports
included, what a user waits for) and (b) ``write_report`` called again in this process (warm).
The run folders are synthetic (seeded random walk and random entries, tests/report_runs.py):
the report's cost depends on sizes, not on what the prices are. Timings on a shared machine
are noisy; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from report_runs import synthetic_run  # noqa: E402

from reports.html import write_report  # noqa: E402
from reports.metrics import compute_stats  # noqa: E402
from reports.runfolder import read_run  # noqa: E402


def fresh_process(run_dir: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "cli.py"), "report", str(run_dir)], check=True,
                   capture_output=True, cwd=REPO)
    return time.perf_counter() - t


def in_process(run_dir: Path) -> float:
    t = time.perf_counter()
    write_report(run_dir)
    return time.perf_counter() - t


def bench(label: str, run_dir: Path, repeats: int) -> None:
    write_report(run_dir)  # warm imports and caches
    fresh = [fresh_process(run_dir) for _ in range(repeats)]
    warm = [in_process(run_dir) for _ in range(repeats)]
    run = read_run(run_dir)
    t = time.perf_counter()
    compute_stats(run.equity["equity"], trades=run.trades, fills=run.fills,
                  benchmark=run.equity["benchmark"], exposure=run.equity["exposure"])
    stats_s = time.perf_counter() - t
    size = (run_dir / "report.html").stat().st_size
    print(f"{label}: bars={len(run.equity):,} trades={len(run.trades):,} "
          f"fills={0 if run.fills is None else len(run.fills):,}")
    print(f"  tape report (fresh process): median {statistics.median(fresh):.2f} s "
          f"(min {min(fresh):.2f}, max {max(fresh):.2f})")
    print(f"  write_report (warm):         median {statistics.median(warm):.2f} s "
          f"(min {min(warm):.2f}, max {max(warm):.2f})")
    print(f"  compute_stats alone:         {stats_s:.3f} s")
    print(f"  report.html size:            {size / 1e6:.2f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-long", action="store_true", help="skip the 1M-bar case")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        daily = synthetic_run(Path(tmp) / "daily10y", n_bars=2520, n_trades=1000, freq="B")
        bench("10-year daily, 1,000 trades", daily, args.repeats)
        if not args.skip_long:
            long = synthetic_run(Path(tmp) / "long", n_bars=1_000_000, n_trades=10_000)
            bench("1M one-minute bars, 10,000 trades", long, args.repeats)


if __name__ == "__main__":
    main()
