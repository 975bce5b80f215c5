"""The event-driven core: broker, bar fill model, portfolio accountant, run loop.

``engine.run(config=None, *, market=..., strategy=..., **options) -> Result`` (see
:mod:`engine.backtest`); imported lazily so that ``tape --help`` does not pay for numba.
"""

from __future__ import annotations

from engine._jit import guard as _guard

_guard()  # numba cache files compiled from older kernel sources are deleted (engine/_jit.py)

__all__ = ["run", "run_batch"]


def __getattr__(name: str):
    if name == "run":
        from engine.backtest import run

        return run
    if name == "run_batch":
        from engine.batch import run_batch

        return run_batch
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
