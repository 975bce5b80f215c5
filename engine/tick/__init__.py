"""Tick-level fill simulator on the numba order books (L2 queue models, L3 FIFO, latency,
fees, impact) and the tick strategy loop.

Public API: :class:`TickConfig`, :class:`TickSim`, :func:`build_feed`, :func:`run_tick`
(Python hooks), :func:`run_compiled` (njit strategy), :class:`TickResult`, :class:`FeedStream`
(a feed read window by window: :mod:`engine.tick.stream`). Kernels:
:mod:`engine.tick.orders_nb`, :mod:`engine.tick.l2sim_nb`, :mod:`engine.tick.l3sim_nb` (pieces
they share: :mod:`engine.tick.wake_nb`, :mod:`engine.tick.stops_nb`).
Imported lazily so that ``tape --help`` does not pay for numba.
"""

from __future__ import annotations

__all__ = ["Feed", "FeedStream", "TickConfig", "TickResult", "TickSim", "build_feed",
           "run_compiled", "run_tick"]


def __getattr__(name: str):
    if name in ("TickConfig", "TickSim"):
        from engine.tick import sim

        return getattr(sim, name)
    if name in ("Feed", "build_feed"):
        from engine.tick import feed

        return getattr(feed, name)
    if name == "FeedStream":
        from engine.tick import stream

        return stream.FeedStream
    if name in ("TickResult", "run_compiled", "run_tick"):
        from engine.tick import loop

        return getattr(loop, name)
    raise AttributeError(f"module 'engine.tick' has no attribute {name!r}")
