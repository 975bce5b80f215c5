"""Timing harness: every engine in its own fresh process, same data, repeats, medians, ratios.

    python benchmarks/harness.py                          # every task, case and engine
    python benchmarks/harness.py --task sma_cross --case 100k --repeats 3
    python benchmarks/harness.py --task l2_replay --engine hftbacktest --no-cold
    python benchmarks/harness.py --list

Method (benchmarks/README.md): each measurement is a new process running one runner script
(``benchmarks/runners/``), which prints one JSON line (``_protocol.py``). Repeats are taken
round-robin over the engines of a case, so slow drifts of a shared machine hit every engine
alike; the table shows medians (and min-max) and ratios against the task's baseline engine
taken from this same run. Compiled (numba) engines are measured three ways:

* ``cold``: a fresh, empty ``NUMBA_CACHE_DIR`` (everything compiles; first use after install),
* ``first``: first call in a new process with a warm on-disk cache (every new ``tape run``),
* ``warm``: second call in that same process (a sweep's second task, a notebook re-run).

Results are saved as JSON under ``benchmarks/results/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import venvs  # noqa: E402
from benchmarks.registry import RUNNERS, TASKS, Case, Runner, runners_for  # noqa: E402

RESULTS = HERE / "results"
STOCKS20 = REPO / "data" / "samples" / "cross_section" / \
    "skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"


# ---------------------------------------------------------------------------------------------
# data and interpreters
# ---------------------------------------------------------------------------------------------


def data_file(case: Case, fmt: str) -> Path:
    """The file a runner with ``data_format`` ``fmt`` reads for ``case`` (generated once)."""
    from benchmarks import synth

    kind, size = case.data
    if kind == "bars":
        if fmt == "bars":
            return synth.bars_path(size)
        if fmt == "bars_csv":
            return synth.bars_path(size, csv=True)
    elif kind == "l2":
        ours, hft = synth.l2_paths(size)
        if fmt == "l2":
            return ours
        if fmt == "l2_hft":
            return hft
    elif kind == "stocks20" and fmt == "stocks20":
        return STOCKS20
    raise ValueError(f"case {case.label} ({kind}) has no data format {fmt!r}")


def interpreter(runner: Runner) -> tuple[str | None, str]:
    """(python executable or None, reason when None)."""
    if runner.venv == "main":
        return sys.executable, ""
    py = venvs.ensure(runner.venv, quiet=False)
    if py is None:
        why = venvs.failure(runner.venv) or "not built"
        return None, f"venv {runner.venv!r} unavailable: {why.splitlines()[0]}"
    return str(py), ""


def numba_cache(runner: Runner) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in runner.engine)
    d = venvs.bench_home() / "numba_cache" / f"{runner.venv}-{safe}"
    d.mkdir(parents=True, exist_ok=True)
    return d


# ---------------------------------------------------------------------------------------------
# one process
# ---------------------------------------------------------------------------------------------


def run_process(py: str, runner: Runner, case: Case, data: Path, *, calls: int,
                cache_dir: Path, extra_params: dict | None = None) -> dict:
    """Start one runner process; return its protocol line plus ``wall_s`` (whole process)."""
    from benchmarks.peers_compare import parse_protocol_line

    params = {**case.params, **runner.params, **(extra_params or {})}
    cmd = [py, str(HERE / runner.script), "--data", str(data), "--calls", str(calls)]
    for k, v in params.items():
        cmd += ["--param", f"{k}={json.dumps(v)}"]
    env = dict(os.environ)
    env.update(TQDM_DISABLE="1", PYTHONHASHSEED="0", NUMBA_CACHE_DIR=str(cache_dir))
    if runner.venv == "main":
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO),
                              timeout=runner.timeout_s)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {runner.timeout_s} s"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr.strip()[-1500:]}"}
    try:
        line = parse_protocol_line(proc.stdout)
    except RuntimeError as exc:
        return {"error": str(exc)}
    line["wall_s"] = wall
    return line


# ---------------------------------------------------------------------------------------------
# a whole case: every engine, round-robin repeats
# ---------------------------------------------------------------------------------------------


def _stats(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs),
            "samples": xs}


def run_case(task_name: str, case: Case, runners: list[Runner], *, repeats: int, cold: bool,
             log) -> list[dict]:
    rows: dict[str, dict] = {}
    ready: list[tuple[Runner, str, Path]] = []
    for r in runners:
        row = rows[r.engine] = {
            "task": task_name, "case": case.label, "engine": r.engine, "venv": r.venv,
            "compiled": r.compiled, "samples": {"cold": [], "first": [], "warm": []},
            "wall": [], "import": [], "results": [], "errors": [],
        }
        py, why = interpreter(r)
        if py is None:
            row["skipped"] = why
            log(f"  {r.engine}: skipped ({why})")
            continue
        try:
            data = data_file(case, r.data_format)
        except ValueError as exc:
            row["skipped"] = str(exc)
            continue
        ready.append((r, py, data))
        if r.compiled:  # prime the persistent cache (not recorded)
            log(f"  {r.engine}: priming numba cache")
            line = run_process(py, r, case, data, calls=1, cache_dir=numba_cache(r))
            if "error" in line:
                row["errors"].append(line["error"])
    for rep in range(repeats):
        for r, py, data in ready:
            row = rows[r.engine]
            if row["errors"] and len(row["errors"]) > repeats:
                continue
            modes = []
            if r.compiled and cold:
                tmp = Path(tempfile.mkdtemp(prefix="tapereader-cold-"))
                try:
                    line = run_process(py, r, case, data, calls=1, cache_dir=tmp)
                finally:
                    shutil.rmtree(tmp, ignore_errors=True)
                modes.append(("cold", line))
            calls = 2 if r.compiled else max(1, r.calls)
            line = run_process(py, r, case, data, calls=calls, cache_dir=numba_cache(r))
            modes.append(("first", line))
            for mode, line in modes:
                if "error" in line:
                    row["errors"].append(f"{mode}: {line['error']}")
                    log(f"  {r.engine} [{mode}] ERROR {line['error'][:300]}")
                    continue
                cs = line["calls_s"]
                if mode == "cold":
                    row["samples"]["cold"].append(cs[0])
                else:
                    row["samples"]["first"].append(cs[0])
                    if len(cs) > 1:
                        row["samples"]["warm"].append(statistics.median(cs[1:]))
                    row["wall"].append(line["wall_s"])
                    row["import"].append(line["import_s"])
                row["n"], row["unit"] = line["n"], line["unit"]
                row["versions"] = line.get("versions", {})
                row["results"].append(line["result"])
                if not line.get("consistent", True):
                    row["errors"].append(f"{mode}: calls in one process gave different results")
                log(f"  {r.engine} [{mode}] rep {rep + 1}/{repeats}: calls "
                    + ", ".join(f"{x:.4g}s" for x in cs) + f"  (process {line['wall_s']:.3g}s)")
    out = []
    for row in rows.values():
        row["stats"] = {m: _stats(v) for m, v in row["samples"].items() if v}
        row["wall_stats"] = _stats(row["wall"])
        row["import_stats"] = _stats(row["import"])
        uniq = {json.dumps(x, sort_keys=True) for x in row["results"]}
        row["result"] = row["results"][0] if row["results"] else None
        row["deterministic"] = len(uniq) <= 1
        del row["results"]
        out.append(row)
    _ratios(out, TASKS[task_name].baseline)
    return out


def _best_mode(row: dict) -> str | None:
    for m in ("warm", "first"):
        if m in row.get("stats", {}):
            return m
    return None


def _ratios(rows: list[dict], baseline: str) -> None:
    """speedup[mode] = baseline's median (its warm, else first) / this row's median."""
    base = next((r for r in rows if r["engine"] == baseline), None)
    bmode = _best_mode(base) if base else None
    for r in rows:
        r["baseline"] = {"engine": baseline, "mode": bmode}
        r["speedup"] = {}
        if bmode is None:
            continue
        b = base["stats"][bmode]["median"]
        for m, s in r.get("stats", {}).items():
            r["speedup"][m] = b / s["median"] if s["median"] > 0 else None


# ---------------------------------------------------------------------------------------------
# reporting
# ---------------------------------------------------------------------------------------------


def _fmt_rate(n: int | None, secs: float | None) -> str:
    if not n or not secs:
        return "-"
    rate = n / secs
    for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rate >= div:
            return f"{rate / div:.3g}{suf}/s"
    return f"{rate:.3g}/s"


def table_rows(rows: list[dict]) -> list[list[str]]:
    out = []
    for r in rows:
        if r.get("skipped"):
            out.append([r["task"], r["case"], r["engine"], "-", "skipped", "", "", "",
                        r["skipped"][:60]])
            continue
        base = r["baseline"]
        for m in ("cold", "first", "warm"):
            s = r.get("stats", {}).get(m)
            if not s:
                continue
            sp = r["speedup"].get(m)
            out.append([
                r["task"], r["case"], r["engine"], m, f"{s['median']:.4g}",
                f"{s['min']:.3g}-{s['max']:.3g} (n={s['n']})", _fmt_rate(r.get("n"), s["median"]),
                f"{sp:.3g}x" if sp else "-",
                f"vs {base['engine']} {base['mode']}" if base["mode"] else "",
            ])
        if r["errors"]:
            out.append([r["task"], r["case"], r["engine"], "!", "error", "", "", "",
                        r["errors"][0][:60]])
    return out


HEADER = ["task", "case", "engine", "mode", "median s", "range", "throughput", "speed",
          "baseline"]


def print_table(rows: list[dict]) -> None:
    body = table_rows(rows)
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title="tapereader benchmarks (shared machine: numbers are noisy)")
        for h in HEADER:
            t.add_column(h, justify="right" if h in ("median s", "speed") else "left")
        for line in body:
            t.add_row(*line)
        Console(width=160).print(t)
    except ImportError:
        widths = [max(len(h), *(len(x[i]) for x in body)) if body else len(h)
                  for i, h in enumerate(HEADER)]
        print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))
        for line in body:
            print("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)))
    for r in rows:
        if r.get("result") is not None:
            flag = "" if r["deterministic"] else "  (NOT identical across processes!)"
            print(f"  {r['task']} {r['case']} {r['engine']}: {json.dumps(r['result'])}{flag}")


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg": os.getloadavg()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        info["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=str(REPO)
        ).stdout.strip()
    except OSError:
        pass
    info["venvs"] = {n: (venvs.status(n) or {}).get("versions") for n in venvs.SPECS}
    # every engine inherits this environment: numpy's transparent-huge-page advice changes the
    # cost of first-touching large arrays (README, performance section)
    info["NUMPY_MADVISE_HUGEPAGE"] = os.environ.get("NUMPY_MADVISE_HUGEPAGE", "unset")
    try:
        info["thp"] = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().strip()
    except OSError:
        pass
    return info


def save(results: dict, path: Path | None) -> Path:
    RESULTS.mkdir(exist_ok=True)
    if path is None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = RESULTS / f"bench_{stamp}.json"
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump(results, fh, indent=1, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", action="append", choices=sorted(TASKS), help="repeatable")
    ap.add_argument("--case", action="append", help="case label, e.g. 100k, 1M (repeatable)")
    ap.add_argument("--engine", action="append", help="engine name (repeatable)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-cold", action="store_true", help="skip the empty-cache runs")
    ap.add_argument("--out", type=Path, default=None, help="results JSON path")
    ap.add_argument("--list", action="store_true", help="list tasks, cases and runners")
    args = ap.parse_args(argv)
    if args.list:
        for t in TASKS.values():
            print(f"{t.name} ({t.unit}; baseline {t.baseline}): {t.about}")
            print("  cases: " + ", ".join(c.label for c in t.cases))
            for r in runners_for(t.name):
                kind = "compiled" if r.compiled else "python"
                print(f"  {r.engine:<22} {r.venv:<6} {kind:<9} {r.script}")
        return 0
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    tasks = args.task or list(TASKS)
    started = time.time()
    info = machine_info()
    all_rows: list[dict] = []
    for name in tasks:
        task = TASKS[name]
        for case in task.cases:
            if args.case and case.label not in args.case:
                continue
            runners = [r for r in runners_for(name)
                       if (not args.engine or r.engine in args.engine)
                       and (r.cases is None or case.label in r.cases)]
            if not runners:
                continue
            print(f"[{name} {case.label}] {len(runners)} engine(s), {args.repeats} repeat(s)",
                  flush=True)
            all_rows += run_case(name, case, runners, repeats=args.repeats,
                                 cold=not args.no_cold, log=lambda s: print(s, flush=True))
    info["loadavg_end"] = os.getloadavg()
    results = {"meta": {**info, "argv": sys.argv[1:] if argv is None else argv,
                        "repeats": args.repeats, "started": time.strftime(
                            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
                        "elapsed_s": time.time() - started,
                        "registered_runners": [r.engine + "/" + r.task for r in RUNNERS]},
               "rows": all_rows}
    path = save(results, args.out)
    print_table(all_rows)
    print(f"saved {path}")
    return 1 if any(r["errors"] for r in all_rows) else 0


if __name__ == "__main__":
    sys.exit(main())
