"""Status codes and layout constants shared by the book kernels (no numba here).

Kernels return an int status and never raise. ``OK`` and the *notes* (unknown order, missing
level, ...) are counted in the book's ``meta`` counters and replay continues; *fatal* codes
(a capacity is exhausted) stop a replay kernel, which returns the index of the event it could
not apply so the Python layer can grow the arrays and resume from there.
"""

from __future__ import annotations

# --- sides inside the kernels (canonical BUY=1 / SELL=-1 are mapped at the boundary) ---------
BID = 0
ASK = 1

NO_TICK = -(2**62)  # "no price": best of an empty side, dummy level

# --- status codes -------------------------------------------------------------------------
OK = 0
FULL_LEVELS = 1  # fatal: level arrays are full
FULL_ORDERS = 2  # fatal: order pool / hash table is full
UNKNOWN_ORDER = 3  # order id not in the index (handled on the level's anonymous quantity)
MISSING_LEVEL = 4  # reduce/delete on a price level the book does not hold (ignored)
DUPLICATE_ORDER = 5  # add with an order id already live (ignored)
OVER_REDUCE = 6  # reduce larger than the order/level holds (clamped at zero)
BAD_SIDE = 7  # side not BUY/SELL (ignored)
BAD_EVENT = 8  # unknown event code (ignored)
SIZE_MISMATCH = 9  # delete of a known order whose message size differs from the book's
CROSSED = 10  # best bid >= best ask after an atomic batch (L2: a row flagged DEPTH_LAST)

FATAL = (FULL_LEVELS, FULL_ORDERS)

NAMES = {
    OK: "ok",
    FULL_LEVELS: "level arrays full",
    FULL_ORDERS: "order pool full",
    UNKNOWN_ORDER: "unknown order id",
    MISSING_LEVEL: "price level not in book",
    DUPLICATE_ORDER: "duplicate order id",
    OVER_REDUCE: "reduce larger than available",
    BAD_SIDE: "bad side",
    BAD_EVENT: "bad event code",
    SIZE_MISMATCH: "delete size differs from order size",
    CROSSED: "crossed book after a batch",
}
N_CODES = 11

# --- meta vector layout (int64) ------------------------------------------------------------
# Both books keep their scalar state in one int64 vector so kernels take few arguments.
M_NBID = 0  # number of bid levels
M_NASK = 1  # number of ask levels
M_VALID = 2  # 1 while the book is valid (L2: cleared to 0 by a reset row)
M_FREE = 3  # L3: head of the free list of order slots
M_NORD = 4  # L3: live orders
M_HMASK = 5  # L3: hash table size - 1
M_EVENTS = 6  # events applied
M_LAST_TS = 7  # ts of the last event applied
M_COUNT0 = 8  # counters of status codes start here: meta[M_COUNT0 + code]
META_SIZE = M_COUNT0 + N_CODES
# L2 only (dense window + overflow):
M_BASE = META_SIZE + 0  # tick of dense slot 0 (NO_TICK until the first level arrives)
M_DBEST_BID = META_SIZE + 1  # best bid tick among dense levels (NO_TICK if none)
M_DBEST_ASK = META_SIZE + 2  # best ask tick among dense levels (NO_TICK if none)
M_NOV_BID = META_SIZE + 3  # bid levels in the overflow arrays
M_NOV_ASK = META_SIZE + 4  # ask levels in the overflow arrays
M_RECENTERS = META_SIZE + 5  # times the window was moved
L2_META_SIZE = META_SIZE + 6

# --- L3 layout -----------------------------------------------------------------------------
# levels: int64[2, LV_FIELDS, cap]; keys ascending, best level at index n - 1.
LV_KEY = 0  # bid: tick, ask: -tick (so that "better" is always "larger")
LV_QTY = 1  # visible quantity at the level (known orders + anonymous)
LV_CNT = 2  # number of known orders in the FIFO
LV_HEAD = 3  # first order slot of the FIFO (-1: none)
LV_TAIL = 4  # last order slot of the FIFO (-1: none)
LV_ANON = 5  # anonymous quantity ahead of every known order (learned from a snapshot)
LV_FIELDS = 6

# orders: int64[ocap, OD_FIELDS] (one row per order)
OD_ID = 0
OD_SIDE = 1  # BID / ASK
OD_TICK = 2
OD_QTY = 3
OD_PREV = 4
OD_NEXT = 5  # also the free-list link of a free slot
OD_TS = 6
OD_FIELDS = 7

HASH_EMPTY = -(2**63)  # empty hash slot marker (order ids must differ from it)
