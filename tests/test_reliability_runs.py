"""Run folders under faults, hostile strings and planted links (docs/RUN_FOLDER.md contract:
complete, or clearly incomplete — never a complete-looking partial result).

* a crash before or after every file-system step of ``Result.save`` (in-process, every step),
  and ``kill -9`` of a real child process at random moments while it saves again and again
  into the same folder: afterwards the folder either has ``manifest.json`` with status
  complete and every file whole and consistent with the manifest's counts, or no manifest (and
  no report left over from an older run); no file under a final name is partial;
* ENOSPC / EDQUOT / EROFS / EACCES at every step, a real file-size limit (EFBIG from the
  kernel), a run folder owned by someone else, a run folder whose parent is a file: a
  RunError naming the file with a fix, no temp files left, no manifest;
* links planted at temp names or final names inside the run folder are replaced, never written
  through (nothing outside the folder changes);
* strategy names, symbols and string parameters carrying HTML / TOML payloads are escaped in
  report.html and round-trip exactly through config.toml.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fuzz_oracle import long_budget
from reliability_orders import COUNTS

import engine
from data.errors import RunError
from data.readers import read_bars
from strategies.builtin.sma_cross import SmaCross

REPO = Path(__file__).resolve().parents[1]
GOOG = REPO / "data/samples/equities_daily/GOOG_2004-2013_backtesting.csv"
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals / permissions")
FILES = ("config.toml", "equity.csv", "trades.csv", "orders.csv", "fills.csv", "prices.parquet",
         "stats.json", "report.html")


@pytest.fixture(scope="module")
def result():
    return engine.run(market=str(GOOG), strategy="sma_cross", cash=100_000.0, commission=0.001)


class Crash(BaseException):
    """A crash at a file-system step (BaseException: no `except OSError` cleanup runs, as in a
    kill)."""


def check_folder(run: Path, *, report: bool = True) -> str:
    """'complete' or 'incomplete'; fails on anything that looks complete but is not."""
    names = {p.name for p in run.iterdir()} if run.exists() else set()
    final = {n for n in names if ".tmp-" not in n}
    assert final <= set(FILES) | {"manifest.json"}, final
    for n in final - {"manifest.json"}:  # every file under a final name is whole
        p = run / n
        if n.endswith(".csv"):
            pd.read_csv(p)
        elif n.endswith(".json"):
            json.loads(p.read_text())
        elif n.endswith(".toml"):
            tomllib.loads(p.read_text())
        elif n.endswith(".parquet"):
            pd.read_parquet(p)
        elif n.endswith(".html"):
            assert p.read_text().rstrip().endswith("</html>"), n
    if "manifest.json" not in names:
        assert "report.html" not in final or {"equity.csv", "stats.json"} <= final
        return "incomplete"
    m = json.loads((run / "manifest.json").read_text())
    assert m["status"] == "complete"
    want = set(FILES) if report else set(FILES) - {"report.html"}
    assert want <= final, want - final
    c = m["counts"]
    assert len(pd.read_csv(run / "orders.csv")) == c["orders"]
    assert len(pd.read_csv(run / "fills.csv")) == c["fills"]
    assert len(pd.read_csv(run / "equity.csv")) == c["bars"]
    t = pd.read_csv(run / "trades.csv")
    assert (t["status"] == "closed").sum() == c["trades"]
    return "complete"


def _steps(monkeypatch, hit, names=("replace", "fsync", "unlink")):
    calls = [0]
    for name in names:
        fn = getattr(os, name)

        def wrapped(*a, _fn=fn, **k):
            calls[0] += 1
            n = calls[0]
            hit(n, "before")
            try:
                return _fn(*a, **k)
            finally:  # (also after a call that failed, e.g. unlink of a missing file)
                hit(n, "after")

        monkeypatch.setattr(os, name, wrapped)
    return calls


def _count_steps(result, tmp_path, monkeypatch, *, report=False, names=("replace", "fsync",
                                                                        "unlink")) -> int:
    with monkeypatch.context() as mp:
        calls = _steps(mp, lambda n, w: None, names)
        result.save(tmp_path / f"count{report}{len(names)}", report=report)
    return calls[0]


def _crash_at(result, run, k, when, monkeypatch, *, report):
    result.save(run, report=False)  # an older complete run is there when the new save starts

    def hit(i, w):
        if i == k and w == when:
            raise Crash

    with monkeypatch.context() as mp:
        _steps(mp, hit)
        with pytest.raises(Crash):
            result.save(run, report=report)
    state = check_folder(run, report=False)
    result.save(run, report=False)  # the next save repairs it
    assert check_folder(run, report=False) == "complete"
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]
    COUNTS["run-folder crash points"] += 1
    return state


def test_a_crash_at_any_step_of_a_save_leaves_a_complete_or_clearly_incomplete_folder(
        result, tmp_path, monkeypatch):
    n = _count_steps(result, tmp_path, monkeypatch)
    assert n >= 14  # 7 files x (fsync, replace) at least
    seen = set()
    for k in range(1, n + 1):
        for when in ("before", "after"):
            seen.add(_crash_at(result, tmp_path / f"r{k}{when}", k, when, monkeypatch,
                               report=False))
    assert seen == {"complete", "incomplete"}
    # with the report: the steps around report.html and the manifest (rendering is slow)
    n = _count_steps(result, tmp_path, monkeypatch, report=True)
    for k, when in ((n - 2, "before"), (n - 1, "after")) if not long_budget() else [
            (k, w) for k in range(n - 5, n + 1) for w in ("before", "after")]:
        _crash_at(result, tmp_path / f"h{k}{when}", k, when, monkeypatch, report=True)


CHILD = textwrap.dedent("""
    import sys
    sys.path.insert(0, sys.argv[1])
    import engine
    res = engine.run(market=sys.argv[2], strategy="sma_cross", cash=100_000.0)
    res.save(sys.argv[3])
    print("ready", flush=True)
    while True:
        res.save(sys.argv[3])
""")


@POSIX
def test_kill_9_at_random_moments_while_saving(tmp_path):
    rng = np.random.default_rng(int(os.environ.get("TAPEREADER_FUZZ_SEED", "0")))
    n_kills = 3 if long_budget() is None else max(4, long_budget() // 50)
    outcomes = []
    for k in range(n_kills):
        run = tmp_path / f"run{k}"
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(REPO), str(GOOG), str(run)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = proc.stdout.readline()
            assert line.strip() == b"ready", proc.stderr.read().decode()[-2000:]
            time.sleep(float(rng.uniform(0.0, 0.6)))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        outcomes.append(check_folder(run))
        COUNTS["run-folder kills"] += 1
    assert "incomplete" in outcomes or "complete" in outcomes


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "disk space"), (errno.EDQUOT, "disk"),
                                         (errno.EROFS, "permissions"),
                                         (errno.EACCES, "permissions")])
def test_write_errors_at_every_step_are_clear_run_errors(result, tmp_path, monkeypatch, code,
                                                         words):
    names = ("replace", "fsync")  # the steps that write (unlink: see the crash test)
    n = _count_steps(result, tmp_path, monkeypatch, names=names)
    for k in range(1, n + 1, 1 if long_budget() else 2):
        run = tmp_path / f"e{code}-{k}"

        def hit(i, w, k=k):
            if i == k and w == "before":
                raise OSError(code, os.strerror(code))

        with monkeypatch.context() as mp:
            _steps(mp, hit, names)
            with pytest.raises(RunError) as ei:
                result.save(run, report=False)
        err = ei.value
        assert err.file and str(run) in err.file, err
        assert os.strerror(code) in str(err) and words in (err.fix or ""), err
        assert check_folder(run, report=False) == "incomplete"
        assert not [p for p in run.iterdir() if ".tmp-" in p.name]
        COUNTS["run-folder write errors"] += 1


@POSIX
def test_a_real_file_size_limit_while_saving_is_a_clear_run_error(tmp_path):
    script = textwrap.dedent(f"""
        import json, resource, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        import engine
        from data.errors import RunError
        res = engine.run(market={str(GOOG)!r}, strategy="sma_cross")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))
        try:
            res.save(sys.argv[1])
        except RunError as exc:
            print(json.dumps({{"message": exc.message, "fix": exc.fix, "file": exc.file}}))
    """)
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-c", script, str(run)], capture_output=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    err = json.loads(proc.stdout)
    assert "File too large" in err["message"] and "disk space" in err["fix"]
    assert str(run) in err["file"]
    assert check_folder(run) == "incomplete"
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]


@POSIX
def test_a_run_folder_owned_by_someone_else_is_a_clear_run_error(tmp_path):
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="tape-runperm-"))
    os.chmod(base, 0o755)
    run = base / "run"
    run.mkdir()
    os.chmod(run, 0o555)
    script = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(REPO)!r})
        import engine
        from data.errors import RunError
        import reports.html, engine.runfolder, pandas, pyarrow.parquet
        res = engine.run(market={str(GOOG)!r}, strategy="sma_cross")
        res.stats
        if os.getuid() == 0:
            os.setgid(65534); os.setuid(65534)
        try:
            res.save(sys.argv[1])
            print(json.dumps({{"ok": True}}))
        except RunError as exc:
            print(json.dumps({{"message": exc.message, "fix": exc.fix, "file": exc.file}}))
    """)
    try:
        proc = subprocess.run([sys.executable, "-c", script, str(run)], capture_output=True,
                              timeout=300)
    finally:
        os.chmod(run, 0o755)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    err = json.loads(proc.stdout)
    assert "Permission denied" in err["message"] and "permissions" in err["fix"]
    assert str(run) in err["file"]
    assert list(run.iterdir()) == []


def test_a_run_folder_under_a_file_is_a_clear_run_error(result, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="cannot create the run folder") as ei:
        result.save(tmp_path / "file" / "run")
    assert "file" in ei.value.file


@POSIX
def test_links_planted_in_the_run_folder_are_replaced_not_written_through(result, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    victims = {}
    run = tmp_path / "run"
    run.mkdir()
    pid = os.getpid()
    for name in FILES + ("manifest.json",):
        for planted in (name, f"{name}.tmp-{pid}"):
            v = outside / planted
            v.write_text("precious")
            victims[v] = "precious"
            (run / planted).symlink_to(v)
    result.save(run)
    for v, text in victims.items():
        assert v.read_text() == text, f"written through the link to {v}"
    assert check_folder(run) == "complete"
    for name in FILES + ("manifest.json",):
        assert not (run / name).is_symlink()
        assert not (run / f"{name}.tmp-{pid}").exists()


HOSTILE = '<script>alert("x")</script>'


def test_hostile_strategy_names_symbols_and_params_are_escaped_and_round_trip(tmp_path):
    class Hostile(SmaCross):
        name = f'{HOSTILE}"\n[data]\npath = ["/etc/passwd"]'
        label: str = f"</title>{HOSTILE}<img src=x onerror=alert(1)> ' \" \\ \n ]]>"

    sym = f"<img src=x onerror=alert(2)>{HOSTILE}"
    bars = read_bars(GOOG).data[:400]
    res = engine.run(market={sym: bars}, strategy=Hostile(fast=5, slow=20), cash=50_000.0)
    run = res.save(tmp_path / "run")
    html = (run / "report.html").read_text()
    for payload in (HOSTILE, "<img src=x onerror", "</title><script>"):
        assert payload not in html, payload
    assert "&lt;script&gt;" in html or "&lt;img" in html
    cfg = tomllib.loads((run / "config.toml").read_text())
    assert cfg["strategy"]["name"] == Hostile.name
    assert cfg["strategy"]["params"]["label"] == Hostile.label
    assert set(cfg) == {"strategy", "data", "broker", "run"}  # nothing injected
    trades = pd.read_csv(run / "trades.csv", keep_default_na=False)
    assert set(trades["symbol"]) == {sym}
    assert json.loads((run / "manifest.json").read_text())["symbols"] == [sym]
    assert check_folder(run) == "complete"
