"""Where a sweep's chunks run: in this process, in local worker processes, or on Ray.

A *task* is a module-level function ``task(shared, params_list, fixed) -> list[dict]`` returning
one stats dict per parameter set, in order. ``shared`` is a dict of numpy arrays (the market
data) that every task reads; executors give it to workers without copying it per task:

* ``LocalExecutor(workers=1)``: the task runs in this process on the caller's arrays.
* ``LocalExecutor(workers=N)``: N ``spawn`` worker processes, started once per process and
  reused by later sweeps. The arrays are written once per sweep to ``.npy`` files in the sweep
  folder and memory-mapped copy-on-write by every worker, so all workers read the same
  page-cache pages (spawn, not fork: the parent may hold pyarrow/polars thread pools, which
  fork does not carry safely). Workers exit when the parent dies, even by ``kill -9``.
* ``RayExecutor``: the arrays go once into Ray's object store (``ray.put``) and tasks receive
  them zero-copy; ``address`` joins an existing cluster, otherwise a local Ray is started with
  ``workers`` CPUs and shut down afterwards.

Executors only decide *where* a chunk runs; the rows a chunk returns do not depend on it, so
results are bit-identical between executors (tests hold them to it).
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError, RunError, TapeError

Task = Callable[[dict[str, np.ndarray], list[dict[str, Any]], dict[str, Any]], list[dict]]
Chunk = list[tuple[int, dict[str, Any]]]  # (combination index, parameter set)
Done = list[dict[str, Any]]  # journal records {"i", "params", "stats", "error"}


def run_chunk(task: Task, shared: dict[str, np.ndarray], chunk: Chunk,
              fixed: dict[str, Any]) -> Done:
    """Run one chunk; when the whole chunk fails, run its sets one by one so a single bad
    combination is recorded as an error row and the others still count."""
    params = [p for _, p in chunk]
    try:
        stats = task(shared, params, fixed)
        if len(stats) != len(chunk):
            raise RunError(f"the sweep task returned {len(stats)} results for {len(chunk)} "
                           "parameter sets", fix="return one stats dict per parameter set")
        return [{"i": i, "params": p, "stats": s, "error": None}
                for (i, p), s in zip(chunk, stats, strict=True)]
    except Exception:  # noqa: BLE001 - isolated per combination below
        if len(chunk) == 1:
            i, p = chunk[0]
            return [{"i": i, "params": p, "stats": None, "error": _error_text()}]
    out: Done = []
    for item in chunk:
        out.extend(run_chunk(task, shared, [item], fixed))
    return out


def _error_text() -> str:
    import sys

    exc = sys.exc_info()[1]
    if isinstance(exc, TapeError):
        return f"{type(exc).__name__}: {exc}"
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:  # the innermost frame: the strategy's line for an error in its own code
        f = frames[-1]
        where = f"{f.filename}, line {f.lineno}, in {f.name}()"
        if f.line:
            where += f": {f.line.strip()}"
    notes = [n.removeprefix("tapereader: ") for n in getattr(exc, "__notes__", ())
             if n.startswith("tapereader: ")]
    where = "; ".join(x for x in (where, *notes[-1:]) if x)
    return f"{type(exc).__name__}: {exc}" + (f" ({where})" if where else "")


class Executor:
    name = "base"

    def start(self, task: Task, shared: dict[str, np.ndarray], fixed: dict[str, Any],
              workdir: Path) -> None:
        raise NotImplementedError

    def run(self, chunks: list[Chunk]) -> Iterator[Done]:
        """Yield each chunk's records as it finishes (any order)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop workers; safe to call twice and after an interrupt."""


class LocalExecutor(Executor):
    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        n = (os.cpu_count() or 1) if workers is None else workers
        if not (isinstance(n, int) and n >= 1):
            raise ConfigError("--workers must be a positive integer", argument="--workers",
                              value=workers, fix="e.g. --workers 2")
        self.workers = n
        self._files: dict[str, str] = {}
        self._pool: cf.ProcessPoolExecutor | None = None

    def start(self, task, shared, fixed, workdir):
        self.task, self.shared, self.fixed = task, shared, fixed
        if self.workers == 1:
            return
        # absolute: the pool outlives this sweep, and its workers keep the cwd they started in
        shared_dir = Path(workdir).resolve() / "shared"
        shared_dir.mkdir(parents=True, exist_ok=True)
        _SEQ[0] += 1
        for k, arr in shared.items():
            p = shared_dir / f"{_safe(k)}-{os.getpid()}-{_SEQ[0]}.npy"
            np.save(p, np.ascontiguousarray(arr), allow_pickle=False)
            self._files[k] = str(p)
        self._pool = _pool(self.workers)

    def run(self, chunks):
        if self._pool is None:
            for c in chunks:
                yield run_chunk(self.task, self.shared, c, self.fixed)
            return
        pending = {self._pool.submit(_worker_chunk, self.task, self._files, self.fixed, c)
                   for c in chunks}
        try:
            while pending:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    yield _result(f)
            pending = set()
        finally:
            if pending:  # interrupted or failed: stop the workers, do not wait for them
                for f in pending:
                    f.cancel()
                shutdown_pool(kill=True)

    def close(self):
        self._pool = None
        for p in self._files.values():
            Path(p).unlink(missing_ok=True)
        self._files = {}


# --- the process-wide worker pool ------------------------------------------------------------
# Spawned once and reused by every sweep of this process with the same worker count (a
# walk-forward runs one sweep per window; a notebook runs many): workers pay their start-up
# (imports, numba cache loads) once. Shut down at exit, or at once after an interrupt.

_POOL: dict[str, Any] = {"pool": None, "workers": 0}
_SEQ = [0]


def _pool(workers: int) -> cf.ProcessPoolExecutor:
    pool = _POOL["pool"]
    if pool is not None and _POOL["workers"] == workers and not getattr(pool, "_broken", False):
        return pool
    shutdown_pool()
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                  initializer=_init_worker, initargs=(os.getpid(),))
    _POOL.update(pool=pool, workers=workers)
    return pool


def shutdown_pool(*, kill: bool = False) -> None:
    """Stop the shared worker pool (``kill``: terminate running chunks instead of waiting)."""
    pool, _POOL["pool"] = _POOL["pool"], None
    if pool is None:
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=not kill, cancel_futures=True)
    if kill:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)


atexit.register(shutdown_pool, kill=True)


def _result(f: cf.Future) -> Done:
    try:
        return f.result()
    except cf.process.BrokenProcessPool as exc:
        raise RunError("a sweep worker process died (out of memory or killed?)",
                       fix="run the same command again to resume; try fewer --workers") from exc


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


# --- worker side (spawned processes) ------------------------------------------------------------

_MAPS: dict[str, np.ndarray] = {}


def _init_worker(parent: int) -> None:
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # the parent died (kill -9): do not linger as an orphan
            os._exit(3)


def _shared(files: dict[str, str]) -> dict[str, np.ndarray]:
    """Map the sweep's arrays once per worker. Copy-on-write maps: writeable arrays (numba
    compiles one signature for them) whose pages all workers share until someone writes,
    which the engine never does."""
    if any(p not in _MAPS for p in files.values()):
        keep = set(files.values())
        for p in [p for p in _MAPS if p not in keep]:  # an earlier sweep's data
            del _MAPS[p]
        for p in files.values():
            if p not in _MAPS:
                _MAPS[p] = np.asarray(np.load(p, mmap_mode="c", allow_pickle=False))
    return {k: _MAPS[p] for k, p in files.items()}


def _worker_chunk(task: Task, files: dict[str, str], fixed: dict[str, Any], chunk: Chunk) -> Done:
    return run_chunk(task, _shared(files), chunk, fixed)


# --- Ray ------------------------------------------------------------------------------------------


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError as exc:
            raise ConfigError("--executor ray needs the ray package", argument="--executor",
                              value="ray", fix='pip install "ray>=2.9" (or, in the tapereader '
                                               'folder, pip install -e ".[ray]")') from exc
        if workers is not None and not (isinstance(workers, int) and workers >= 1):
            raise ConfigError("--workers must be a positive integer", argument="--workers",
                              value=workers, fix="e.g. --workers 2")
        self.workers, self.address = workers, address
        self._started = False

    def start(self, task, shared, fixed, workdir):
        import ray

        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
            if self.address:
                kw["address"] = self.address
            else:
                kw["num_cpus"] = self.workers or os.cpu_count() or 1
            # workers import this code (and the task's module) from the driver's path, not
            # from whatever tapereader happens to be installed
            paths = [p for p in sys.path if p and os.path.isdir(p)]
            kw["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}}
            try:
                ray.init(**kw)
            except Exception as exc:  # noqa: BLE001 - ray raises many kinds
                raise RunError(f"cannot start or join Ray: {exc}", argument="--address",
                               value=self.address,
                               fix="check the cluster address, or drop --address") from exc
            self._started = True
        self._remote = ray.remote(num_cpus=1)(run_chunk)
        self._task_ref = ray.put(task)
        self._shared_ref = ray.put(shared)
        self._fixed_ref = ray.put(fixed)

    def run(self, chunks):
        import ray

        refs = [self._remote.remote(self._task_ref, self._shared_ref, c, self._fixed_ref)
                for c in chunks]
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for r in done:
                    try:
                        yield ray.get(r)
                    except ray.exceptions.RayError as exc:
                        raise RunError(f"a Ray task failed: {exc}",
                                       fix="run the same command again to resume") from exc
        finally:
            for r in pending:
                ray.cancel(r, force=True)

    def close(self):
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def make_executor(kind: str, workers: int | None = None, address: str | None = None) -> Executor:
    if kind == "local":
        if address:
            raise ConfigError("--address is for --executor ray", argument="--address",
                              value=address, fix="add --executor ray or drop --address")
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, address)
    raise ConfigError("unknown executor", argument="--executor", value=kind,
                      fix="use local or ray")
