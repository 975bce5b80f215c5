"""Numba order books: L2 price levels and L3 order-by-order FIFO queues.

Public API: :class:`L2Book`, :class:`L3Book`, :class:`BookView`, :class:`QueuePosition`,
:func:`to_ticks` (from :mod:`engine.book.book`); LOBSTER reproduction in
:mod:`engine.book.lobster`; Binance book rebuild in :mod:`engine.book.binance`. Kernels for
compiled loops live in :mod:`engine.book.l2_nb` and :mod:`engine.book.l3_nb` (status codes and
array layouts in :mod:`engine.book.codes`).

Names are imported lazily so that ``tape --help`` does not pay for numba.
"""

from __future__ import annotations

__all__ = ["BookView", "L2Book", "L3Book", "QueuePosition", "to_ticks"]


def __getattr__(name: str):
    if name in __all__:
        from engine.book import book

        return getattr(book, name)
    raise AttributeError(f"module 'engine.book' has no attribute {name!r}")
