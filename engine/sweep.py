"""Parameter sweeps: run a task over many parameter sets, stream results to disk, resume.

    from engine.sweep import run_sweep
    res = run_sweep(task, combos, "out/sweep", shared={"close": close}, workers=2)
    res.table           # pandas DataFrame: parameter columns, then the stats keys

:func:`run_sweep` is the machinery (any task function, see :mod:`engine.executors`);
:func:`engine.sweep_backtest.sweep` puts a strategy backtest behind it (``tape sweep``).

Guarantees:

* each finished chunk is appended to ``DIR/journal.jsonl`` and fsynced before it counts, and the
  tables ``results.csv`` / ``results.parquet`` are rewritten atomically from the journal every
  ``checkpoint_s`` seconds and at the end (see :mod:`engine.sweep_store`);
* running the same sweep again in the same folder (after Ctrl-C, ``kill -9``, a crash or a
  full disk) runs only the combinations missing from the journal: nothing lost, nothing twice;
  a folder holding a *different* sweep is refused (``fresh=True`` discards it);
* results do not depend on the executor, the number of workers or the chunking: every
  combination is computed on its own from the same inputs, and rows are stored in
  combination order.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.errors import ConfigError, RunError
from engine.executors import Executor, Task, make_executor
from engine.progress import Progress
from engine.sweep_store import Store

MAX_CHUNK = 256


@dataclasses.dataclass
class SweepResult:
    """What a sweep left in its folder."""

    out: Path
    table: pd.DataFrame
    n_total: int  # combinations in the sweep
    n_run: int  # combinations computed by this call
    n_resumed: int  # combinations found already done in the journal
    n_errors: int  # combinations whose task raised (rows with an ``error``)
    elapsed_s: float
    status: str  # "complete" or "interrupted"

    def summary(self) -> dict[str, Any]:
        return {"out": str(self.out), "status": self.status, "n_total": self.n_total,
                "n_run": self.n_run, "n_resumed": self.n_resumed, "n_errors": self.n_errors,
                "elapsed_s": round(self.elapsed_s, 3)}


def default_chunk(n: int) -> int:
    """Combinations per task: about 64 chunks per sweep, at most :data:`MAX_CHUNK`. Depends only
    on the sweep size, never on the executor or worker count."""
    return max(1, min(MAX_CHUNK, math.ceil(n / 64)))


def run_sweep(
    task: Task,
    combos: Sequence[dict[str, Any]],
    out: str | Path,
    *,
    shared: dict[str, np.ndarray] | None = None,
    fixed: dict[str, Any] | None = None,
    param_names: Sequence[str] | None = None,
    spec: dict[str, Any] | None = None,
    executor: str | Executor = "local",
    workers: int | None = None,
    address: str | None = None,
    chunk_size: int | None = None,
    fresh: bool = False,
    progress: bool | None = None,
    checkpoint_s: float = 2.0,
) -> SweepResult:
    """Run ``task`` over ``combos`` (a list of parameter dicts) into the folder ``out``.

    ``spec`` describes the sweep; its ``identity`` entry (default: the combinations, the task's
    name and ``fixed``) is what a resumed sweep must match. Interrupting (KeyboardInterrupt)
    writes the tables, marks the folder ``interrupted`` and re-raises.
    """
    t0 = time.perf_counter()
    combos = [dict(c) for c in combos]
    if not combos:
        raise ConfigError("the sweep has no combinations", argument="--grid",
                          fix="widen the ranges or relax --constraint")
    names = list(param_names) if param_names is not None else _names(combos)
    fixed = dict(fixed or {})
    spec = dict(spec or {})
    spec.setdefault("identity", {"task": f"{task.__module__}.{task.__qualname__}",
                                 "combos": combos, "fixed": _jsonable(fixed)})
    spec["param_names"] = names
    spec["n_total"] = len(combos)
    store = Store(out, spec, resume=not fresh)
    for i, rec in store.rows.items():
        if i >= len(combos) or rec.get("params") != combos[i]:
            raise ConfigError("the journal does not match this sweep's combinations",
                              file=str(store.journal_path), row=i, value=rec.get("params"),
                              fix="use --fresh or a new --out folder")
    n_resumed = len(store.rows)
    todo = [i for i in range(len(combos)) if i not in store.rows]
    size = chunk_size or default_chunk(len(combos))
    chunks = [[(i, combos[i]) for i in todo[k:k + size]] for k in range(0, len(todo), size)]
    ex = make_executor(executor, workers, address) if isinstance(executor, str) else executor
    store.write_spec(status="running", executor=ex.name, n_done=n_resumed)
    status = "interrupted"
    try:
        if chunks:
            ex.start(task, shared or {}, fixed, store.out / ".work")
        last = time.monotonic()
        with Progress("sweep", len(combos), enabled=progress, completed=n_resumed) as bar:
            for records in ex.run(chunks):
                store.append(records)
                bar.advance(len(records))
                if time.monotonic() - last >= checkpoint_s:
                    store.write_tables(names)
                    store.write_spec(n_done=len(store.rows))
                    last = time.monotonic()
        status = "complete"
    finally:
        ex.close()
        store.close()
        table = store.write_tables(names)
        n_err = int(table["error"].astype(bool).sum()) if "error" in table else 0
        conv = next((r["stats"]["conventions"] for r in store.rows.values()
                     if isinstance(r.get("stats"), dict) and "conventions" in r["stats"]), None)
        store.write_spec(status=status, conventions=conv, n_done=len(store.rows), n_errors=n_err,
                         elapsed_s=time.perf_counter() - t0)
        _rmdir(store.out / ".work")
    if n_err and n_err == len(table):
        first = next(r["error"] for r in store.rows.values() if r.get("error"))
        raise RunError(f"every combination failed; the first: {first}", file=str(store.out),
                       fix="fix the cause, then run the same command with --fresh")
    return SweepResult(store.out, table, len(combos), len(store.rows) - n_resumed, n_resumed,
                       n_err, time.perf_counter() - t0, status)


def _names(combos: Sequence[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for c in combos:
        for k in c:
            if k not in names:
                names.append(k)
    return names


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, int | float | str | bool) or obj is None:
        return obj
    return repr(obj)


def _rmdir(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
