"""sma_cross parameter sweep on tapereader (issue 6): every (fast, slow) pair of
``_protocol.sweep_grid(n_combos)`` over the same bars as the vectorbt runner.

What is timed is the whole user-facing sweep (``engine.sweep_backtest.sweep``): every
combination's backtest (stop-and-reverse, next-open fills, all-in whole units, commission),
the full stats.json of every run (about 60 metrics, not only the final equity), the journal,
``results.csv`` / ``results.parquet`` and the report, in a fresh folder per call, on
``workers`` local processes (default 2: the benchmark machine's cores). Params:
``workers`` (1 = in this process), ``report`` (false skips report.html).
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import shutil
import tempfile
from pathlib import Path

import numpy as np

import engine  # noqa: F401
from engine.sweep_backtest import sweep

VERSIONS = {"tapereader": "repo", "numpy": np.__version__}
DEFAULTS = dict(P.SMA_CROSS_DEFAULTS, n_combos=100, workers=2, report=True)


def load(path, params):
    return np.load(path, allow_pickle=False)


def run(data, params):
    grid = P.sweep_grid(params["n_combos"])
    fasts = sorted({f for f, _ in grid})
    slows = sorted({s for _, s in grid})
    out = Path(tempfile.mkdtemp(prefix="tape-bench-sweep-"))
    try:
        res = sweep("sma_cross", {"SYN": data},
                    grid=["fast=" + ",".join(map(str, fasts)), "slow=" + ",".join(map(str, slows))],
                    params={"long_only": bool(params["long_only"])},
                    options={"cash": params["cash"], "commission": params["commission"]},
                    out=out / "s", workers=int(params["workers"]), progress=False,
                    report=bool(params["report"]))
        t = res.table
    finally:
        shutil.rmtree(out, ignore_errors=True)
    assert len(t) == len(grid)
    return grid, t["final_equity"].to_numpy(), t["n_trades"].to_numpy(), \
        t["n_open_trades"].to_numpy()


def fingerprint(res):
    grid, final, n_trades, n_open = res
    best = int(np.argmax(final))
    return {
        "n_combos": len(grid),
        "final_equity_sum": float(final.sum()),
        "n_trades_sum": int(n_trades.sum() + n_open.sum()),
        "best": list(grid[best]),
        "best_final_equity": float(final[best]),
    }


if __name__ == "__main__":
    P.main(
        task="sma_sweep",
        engine="tapereader",
        load=load,
        run=run,
        fingerprint=fingerprint,
        n_items=lambda data, params: len(data) * params["n_combos"],
        unit="bar-combos",
        versions=VERSIONS,
        defaults=DEFAULTS,
    )
