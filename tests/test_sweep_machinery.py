"""run_sweep over small task functions: streaming journal, tables, resume, workers, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sweep_tasks

from data.errors import ConfigError
from engine.sweep import default_chunk, run_sweep
from engine.sweep_space import Constraint, Space, parse_axis

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _close(n=3000, seed=3):
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))


def _combos():
    s = Space([parse_axis("fast=2:20:2"), parse_axis("slow=10:60:10")],
              constraints=[Constraint("fast < slow")])
    return s.grid()


def test_table_has_params_then_stats_in_combination_order(tmp_path):
    combos = _combos()
    res = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", shared={"close": _close()},
                    workers=1, progress=False)
    assert res.status == "complete" and res.n_run == len(combos) and res.n_errors == 0
    df = pd.read_csv(tmp_path / "s" / "results.csv")
    assert list(df.columns[:2]) == ["fast", "slow"]
    assert list(df.columns[2:]) == ["total_return", "sharpe", "n_periods", "skew", "kurtosis",
                                    "pid_free"]
    assert "conventions" not in df.columns
    assert df[["fast", "slow"]].to_dict("records") == combos
    pq = pd.read_parquet(tmp_path / "s" / "results.parquet")
    pd.testing.assert_frame_equal(pq, res.table)
    # the numbers are the task's, row by row
    direct = sweep_tasks.sma_task({"close": _close()}, combos, {})
    assert list(res.table["total_return"]) == [d["total_return"] for d in direct]
    spec = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert spec["status"] == "complete" and spec["n_done"] == len(combos)
    assert not (tmp_path / "s" / ".work").exists()


def test_floats_round_trip_exactly_through_csv(tmp_path):
    res = run_sweep(sweep_tasks.sma_task, _combos(), tmp_path / "s", shared={"close": _close()},
                    workers=1, progress=False)
    df = pd.read_csv(tmp_path / "s" / "results.csv")
    assert (df["total_return"].to_numpy() == res.table["total_return"].to_numpy()).all()


def test_workers_share_mapped_data_and_match_in_process(tmp_path):
    combos = _combos()
    close = _close()
    run_sweep(sweep_tasks.sma_task, combos, tmp_path / "one", shared={"close": close},
                    workers=1, progress=False)
    two = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "two", shared={"close": close},
                    workers=2, progress=False, chunk_size=3)
    assert (tmp_path / "one" / "results.csv").read_bytes() == \
        (tmp_path / "two" / "results.csv").read_bytes()
    pids = run_sweep(sweep_tasks.pid_task, combos, tmp_path / "pid", shared={"close": close},
                     workers=2, progress=False, chunk_size=2)
    t = pids.table
    assert set(t["mapped"]) == {"mmap"}  # a file mapping, not a pickled copy per task
    assert t["writeable"].all()  # copy-on-write: numba sees ordinary arrays
    assert os.getpid() not in set(t["pid"])
    assert t["pid"].nunique() == 2
    assert two.n_run == len(combos)


def test_reused_pool_after_chdir_with_a_relative_out_folder(tmp_path, monkeypatch):
    """The pool outlives a sweep and its workers keep their first cwd: a relative --out in
    another folder (a notebook's os.chdir, `tape sweep --out runs/x` from another shell folder
    in one process) once sent them relative .npy paths (FileNotFoundError)."""
    combos = _combos()[:6]
    tables = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        res = run_sweep(sweep_tasks.sma_task, combos, Path("runs") / "s",
                        shared={"close": _close()}, workers=2, progress=False, chunk_size=2)
        assert res.status == "complete" and res.n_errors == 0
        tables.append((tmp_path / name / "runs" / "s" / "results.csv").read_bytes())
    assert tables[0] == tables[1]


def test_failing_combination_is_an_error_row_not_a_lost_sweep(tmp_path):
    combos = [{"fast": f, "slow": 30} for f in (5, 13, 20)]
    res = run_sweep(sweep_tasks.failing_task, combos, tmp_path / "s",
                    shared={"close": _close()}, workers=1, chunk_size=3, progress=False)
    assert res.n_errors == 1
    err = res.table["error"].tolist()
    assert err[0] == "" and err[2] == ""
    assert "ValueError: 13 is unlucky" in err[1]
    assert np.isnan(res.table["total_return"][1]) and np.isfinite(res.table["total_return"][0])


def test_rerun_of_a_complete_sweep_computes_nothing(tmp_path):
    combos = _combos()
    kw = dict(shared={"close": _close()}, workers=1, progress=False)
    run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", **kw)
    before = (tmp_path / "s" / "results.csv").read_bytes()
    again = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", **kw)
    assert again.n_run == 0 and again.n_resumed == len(combos)
    assert (tmp_path / "s" / "results.csv").read_bytes() == before


def test_a_different_sweep_in_the_same_folder_is_refused(tmp_path):
    kw = dict(shared={"close": _close()}, workers=1, progress=False)
    run_sweep(sweep_tasks.sma_task, _combos(), tmp_path / "s", **kw)
    with pytest.raises(ConfigError) as e:
        run_sweep(sweep_tasks.sma_task, _combos()[:5], tmp_path / "s", **kw)
    assert "different sweep" in str(e.value) and "--fresh" in str(e.value)
    res = run_sweep(sweep_tasks.sma_task, _combos()[:5], tmp_path / "s", fresh=True, **kw)
    assert res.n_run == 5 and len(pd.read_csv(tmp_path / "s" / "results.csv")) == 5


def test_empty_sweep_refused(tmp_path):
    with pytest.raises(ConfigError, match="no combinations"):
        run_sweep(sweep_tasks.sma_task, [], tmp_path / "s", workers=1, progress=False)


def test_keyboard_interrupt_keeps_finished_chunks_and_resume_completes(tmp_path):
    combos = _combos()
    calls = {"n": 0}

    class Boom(sweep_tasks.__class__):
        pass

    def interrupting(shared, params_list, fixed):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return sweep_tasks.sma_task(shared, params_list, fixed)

    interrupting.__module__, interrupting.__qualname__ = "sweep_tasks", "sma_task"
    kw = dict(shared={"close": _close()}, workers=1, progress=False, chunk_size=2)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(interrupting, combos, tmp_path / "s", **kw)
    spec = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert spec["status"] == "interrupted" and spec["n_done"] == 6
    assert len(pd.read_csv(tmp_path / "s" / "results.csv")) == 6
    res = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", **kw)
    assert res.n_resumed == 6 and res.n_run == len(combos) - 6
    run_sweep(sweep_tasks.sma_task, combos, tmp_path / "ref", **kw)
    assert (tmp_path / "s" / "results.csv").read_bytes() == \
        (tmp_path / "ref" / "results.csv").read_bytes()


def test_cut_journal_line_is_dropped_on_resume(tmp_path):
    combos = _combos()
    kw = dict(shared={"close": _close()}, workers=1, progress=False, chunk_size=4)
    run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", **kw)
    j = tmp_path / "s" / "journal.jsonl"
    lines = j.read_bytes().splitlines(keepends=True)
    j.write_bytes(b"".join(lines[:10]) + lines[10][:25])  # a crash in the middle of a write
    res = run_sweep(sweep_tasks.sma_task, combos, tmp_path / "s", **kw)
    assert res.n_resumed == 10 and res.n_run == len(combos) - 10
    idx = [json.loads(x)["i"] for x in j.read_bytes().splitlines()]
    assert sorted(idx) == list(range(len(combos)))


def test_default_chunk_depends_only_on_size():
    assert default_chunk(1) == 1 and default_chunk(100) == 2 and default_chunk(1000) == 16
    assert default_chunk(10**7) == 256


_KILL_SCRIPT = """
import sys
import numpy as np
import sweep_tasks
from engine.sweep import run_sweep
out, workers = sys.argv[1], int(sys.argv[2])
combos = [{"fast": f, "slow": s} for f in range(2, 22) for s in (30, 40, 50, 60, 70)]
close = 100.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0.0, 0.01, 3000)))
run_sweep(sweep_tasks.sma_task, combos, out, shared={"close": close}, fixed={"delay": %r},
          workers=workers, chunk_size=2, progress=False, checkpoint_s=0.2,
          spec={"identity": {"combos": combos, "task": "sma_task"}})  # the delay is no part of it
"""


def _start(out: Path, workers: int, delay: float) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(HERE)]))
    return subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT % delay, str(out), str(workers)],
                            env=env, cwd=str(REPO), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _journal_lines(out: Path) -> int:
    j = out / "journal.jsonl"
    return j.read_bytes().count(b"\n") if j.exists() else 0


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_mid_sweep_then_resume_loses_and_repeats_nothing(tmp_path, workers):
    out = tmp_path / "s"
    proc = _start(out, workers, delay=0.05)
    try:
        deadline = time.monotonic() + 60
        while _journal_lines(out) < 20:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.05)
        workers_pids = _children(proc.pid)
        assert len(workers_pids) >= workers - 1  # spawn workers (+ the resource tracker)
        os.kill(proc.pid, signal.SIGKILL)  # only the sweep process: its workers must follow
        proc.wait()
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers_pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in workers_pids if _alive(p)], "orphaned sweep workers"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group we started
        except ProcessLookupError:
            pass
        proc.wait()
    done = _journal_lines(out)
    assert 20 <= done < 100
    spec = json.loads((out / "sweep.json").read_text())
    assert spec["status"] == "running"  # it never got to say anything else
    # resume (in a new process, as a user would) and compare with an uninterrupted run
    proc2 = _start(out, workers, delay=0.0)
    assert proc2.wait(timeout=120) == 0, proc2.stderr.read().decode()
    ref = tmp_path / "ref"
    proc3 = _start(ref, 1, delay=0.0)
    assert proc3.wait(timeout=120) == 0, proc3.stderr.read().decode()
    idx = [json.loads(x)["i"] for x in (out / "journal.jsonl").read_bytes().splitlines()]
    assert sorted(idx) == list(range(100)), "a combination was lost or computed twice"
    assert (out / "results.csv").read_bytes() == (ref / "results.csv").read_bytes()
    assert (pd.read_parquet(out / "results.parquet")).equals(pd.read_parquet(ref / "results.parquet"))
    assert json.loads((out / "sweep.json").read_text())["status"] == "complete"
    assert not list(out.glob("*.tmp-*"))
