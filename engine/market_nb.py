"""One pass from a canonical BAR array to the kernels' market layout (engine/layout.py)."""

from __future__ import annotations

from numba import njit

from engine.layout import M_CLOSE, M_HIGH, M_LOW, M_MARK, M_OPEN, M_VOLUME

#: returned by :func:`bars_to_mkt_nb` (else: the first row whose time is not after the last)
MKT_OK = -1
MKT_NAN_CLOSE = -2  # filled, but some closes are nan: the caller carries the mark forward


@njit(cache=True)
def bars_to_mkt_nb(bars, ts, mkt):
    """Copy ``bars`` (BAR records) into ``ts`` (int64[n]) and ``mkt[:, :, 0]`` (mark = close),
    checking that times strictly increase. Returns MKT_OK, MKT_NAN_CLOSE or the first row
    whose time is not after the previous one (the arrays are then incomplete)."""
    nan_close = False
    prev = 0
    for i in range(bars.shape[0]):
        b = bars[i]
        t = b.ts
        if i > 0 and t <= prev:
            return i
        prev = t
        ts[i] = t
        c = b.close
        mkt[M_OPEN, i, 0] = b.open
        mkt[M_HIGH, i, 0] = b.high
        mkt[M_LOW, i, 0] = b.low
        mkt[M_CLOSE, i, 0] = c
        mkt[M_VOLUME, i, 0] = b.volume
        mkt[M_MARK, i, 0] = c
        if c != c:
            nan_close = True
    return MKT_NAN_CLOSE if nan_close else MKT_OK
