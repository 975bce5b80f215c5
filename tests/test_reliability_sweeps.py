"""Sweeps: results independent of the executor, and ``kill -9`` at random moments followed by a
resume loses and duplicates nothing.

* the same strategy sweep through the local executor with 1 and 2 workers, with and without
  the batched compiled path, and through Ray (when installed): the results tables are
  bit-identical, and every row equals a single ``engine.run``'s stats;
* a child process sweeping a larger grid is SIGKILLed at random moments; the folder never
  says ``complete`` unless every combination is in it, the tables on disk hold only whole
  rows that are in the journal, and resuming finishes with exactly the rows of an
  uninterrupted sweep (no combination lost, none twice in the journal).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fuzz_oracle import long_budget
from reliability_orders import COUNTS

import engine
from engine.sweep_backtest import sweep

REPO = Path(__file__).resolve().parents[1]
GOOG = str(REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv")
GRID = ["fast=5:25:5", "slow=30,60"]
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def _table(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "results.parquet")


def _same_tables(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if x.dtype.kind == "f":
            assert x.tobytes() == y.tobytes(), c
        else:
            assert list(x) == list(y), c


def _kw(**k):
    return {"grid": GRID, "report": False, "progress": False, **k}


def test_sweep_results_do_not_depend_on_workers_or_the_batched_path(tmp_path):
    runs = {}
    for workers, batch in ((1, True), (2, False), (2, True)):
        res = sweep("sma_cross", GOOG, out=tmp_path / f"w{workers}{batch}", workers=workers,
                    batch=batch, **_kw())
        assert res.status == "complete" and res.n_total == 10
        runs[(workers, batch)] = _table(res.out)
    first = runs[(1, True)]
    for t in runs.values():
        _same_tables(first, t)
    # each row is what a single run gives
    for _, row in first.iloc[[0, 7]].iterrows():
        one = engine.run(market=GOOG, strategy="sma_cross",
                         params={"fast": int(row["fast"]), "slow": int(row["slow"])})
        assert row["final_equity"] == one.stats["final_equity"]
        assert row["sharpe"] == one.stats["sharpe"]
    COUNTS["sweep executor comparisons"] += len(runs)


def test_sweep_results_through_ray_equal_the_local_ones(tmp_path):
    ray = pytest.importorskip("ray")
    local = sweep("sma_cross", GOOG, out=tmp_path / "local", workers=1, batch=False, **_kw())
    assert not ray.is_initialized()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        address = ray.get_runtime_context().gcs_address
        res = sweep("sma_cross", GOOG, out=tmp_path / "ray", executor="ray", address=address,
                    batch=False, **_kw())
    finally:
        ray.shutdown()
    assert res.status == "complete"
    _same_tables(_table(local.out), _table(res.out))
    COUNTS["sweep executor comparisons"] += 1


BIG = ["fast=3:30:1", "slow=31:81:10", "commission=0,0.001,0.002"]  # 504 combinations
CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    from engine.sweep_backtest import sweep

    if __name__ == "__main__":
        print("start", flush=True)
        sweep("sma_cross", sys.argv[2], grid=sys.argv[4].split(";"), out=sys.argv[3], workers=2,
              batch=False, report=False, progress=False)
        print("done", flush=True)
""")


def _journal(out: Path) -> list[dict]:
    rows = []
    if (out / "journal.jsonl").exists():
        for line in (out / "journal.jsonl").read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by the kill: dropped on resume
                pass
    return rows


def _check_killed(out: Path, n_total: int) -> None:
    spec = out / "sweep.json"
    if not spec.exists():
        return
    s = json.loads(spec.read_text())
    journal = _journal(out)
    if s["status"] == "complete":
        assert len({r["i"] for r in journal}) == n_total
    if (out / "results.parquet").exists():  # a checkpoint: whole rows, all journaled
        t = _table(out)
        assert len(t) <= len({r["i"] for r in journal}) or s["status"] == "complete"
        keys = list(t.columns[: list(t.columns).index("start")])  # the swept columns
        assert not t[keys].duplicated().any()


def _child(script, out, grid):
    return subprocess.Popen([sys.executable, str(script), str(REPO), GOOG, str(out),
                             ";".join(grid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


@POSIX
def test_kill_9_at_random_moments_then_resume_loses_and_duplicates_nothing(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    # the reference: the same sweep, uninterrupted, timed from the child's start
    proc = _child(script, tmp_path / "ref", BIG)
    assert proc.stdout.readline().strip() == b"start", proc.stderr.read()[-2000:]
    t0 = time.perf_counter()
    first = None
    journal = tmp_path / "ref" / "journal.jsonl"
    while proc.poll() is None:  # when do results start to arrive?
        if first is None and journal.exists() and journal.stat().st_size:
            first = time.perf_counter() - t0
        time.sleep(0.01)
    span = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr.read()[-2000:]
    first = span / 2 if first is None else first
    want = _table(tmp_path / "ref")
    n = len(want)
    rng = np.random.default_rng(int(os.environ.get("TAPEREADER_FUZZ_SEED", "0")))
    out = tmp_path / "killed"
    kills = 3 if long_budget() is None else max(3, long_budget() // 50)
    seen = []
    # under load the sweep can finish before the kill lands: such an attempt is checked like the
    # others, then the folder is cleared and more attempts are made until one kill is mid-sweep
    for attempt in range(kills + 12):
        if attempt >= kills and any(0 < k < n for k in seen):
            break
        if seen and seen[-1] == n:
            shutil.rmtree(out)
        proc = _child(script, out, BIG)
        try:
            assert proc.stdout.readline().strip() == b"start", proc.stderr.read()[-2000:]
            # kill when the journal reaches a random size (robust to the machine's load)
            target = int(rng.integers(1, n))
            deadline = time.perf_counter() + 10 * span + 60
            while proc.poll() is None and time.perf_counter() < deadline:
                if len(_journal(out)) >= target:
                    break
                time.sleep(0.005)
        finally:  # the child and its worker processes
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
        _check_killed(out, n)
        seen.append(len({r["i"] for r in _journal(out)}))
        COUNTS["sweep kills"] += 1
    assert any(0 < k < n for k in seen), f"no kill came mid-sweep (journal sizes {seen})"
    res = sweep("sma_cross", GOOG, out=out, workers=1, **_kw(grid=BIG))
    assert res.status == "complete" and res.n_run + res.n_resumed == n
    journal = _journal(out)
    idx = [r["i"] for r in journal]
    assert len(idx) == len(set(idx)) == n, "a combination lost or journaled twice"
    _same_tables(want, _table(out))
