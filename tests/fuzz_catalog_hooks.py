"""Hooks on the file-system steps of a catalog import, for the fault tests
(tests/test_reliability_catalog.py). Light imports only: the kill tests load this in a child
process that is killed at a chosen step."""

from __future__ import annotations

import os


def _targets():
    """The file-system steps of an import: a kill or an error may strike before or after any."""
    import pathlib
    import shutil

    import pyarrow.parquet as pq

    import data.catalog.files as files

    return [(os, "replace"), (os, "fsync"), (pq, "write_table"), (files, "open_new"),
            (pathlib.Path, "mkdir"), (pathlib.Path, "unlink"), (pathlib.Path, "rmdir"),
            (shutil, "rmtree")]


def _install(hit):
    """Wrap the steps so ``hit(n, phase)`` runs before / after the n-th call."""
    import data.catalog.files as files
    import data.catalog.store as store

    calls = [0]
    originals = []
    for mod, name in _targets():
        fn = getattr(mod, name)
        originals.append((mod, name, fn))

        def wrapped(*a, _fn=fn, **k):
            calls[0] += 1
            n = calls[0]
            hit(n, "before")
            out = _fn(*a, **k)
            hit(n, "after")
            return out

        setattr(mod, name, wrapped)
    store.open_new = files.open_new  # the name store imported
    return calls, originals


def _restore(originals):
    import data.catalog.files as files
    import data.catalog.store as store

    for mod, name, fn in originals:
        setattr(mod, name, fn)
    store.open_new = files.open_new


def run_child(argv: list[str]) -> None:
    """``python fuzz_catalog_hooks.py MODE K WHEN ROOT NEW.npy``: import NEW into ROOT with
    the steps hooked; MODE ``count`` prints the number of steps, ``kill`` SIGKILLs the process
    at step K (``before``/``after`` it)."""
    import signal

    import numpy as np

    from data.catalog import Catalog

    mode, k, when, root, new = argv[0], int(argv[1]), argv[2], argv[3], argv[4]

    def hit(n, phase):
        if mode == "kill" and (n, phase) == (k, when):
            os.kill(os.getpid(), signal.SIGKILL)

    arr = np.load(new)
    calls, _ = _install(hit)
    Catalog(root).write_chunks("bar", "GOOG", np.array_split(arr, 4), spill_bytes=4096)
    print(calls[0])


if __name__ == "__main__":
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run_child(sys.argv[1:])
