"""Tick-level fill simulator on the numba order books (L2 queue models, L3 FIFO, latency,
fees, impact) and the tick strategy loop.

Public API: :class:`TickConfig`, :class:`TickSim`, :func:`build_feed`, :func:`run_tick`
(Python hooks), :func:`run_compiled` (njit strategy), :class:`TickResult`. Kernels:
:mod:`engine.tick.orders_nb`, :mod:`engine.tick.l2sim_nb`, :mod:`engine.tick.l3sim_nb`.
Imported lazily so that ``tape --help`` does not pay for numba.
"""

from __future__ import annotations

_WHERE = {
    "TickConfig": "engine.tick.sim",
    "TickSim": "engine.tick.sim",
    "build_feed": "engine.tick.feed",
    "Feed": "engine.tick.feed",
    "run_tick": "engine.tick.loop",
    "run_compiled": "engine.tick.loop",
    "TickResult": "engine.tick.loop",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine.tick' has no attribute {name!r}")
