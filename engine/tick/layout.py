"""Layout of the tick simulator's state arrays and its codes (no numba here).

The simulator keeps its state in a few numpy arrays so that the Python hook loop and a
compiled (njit) strategy drive the very same kernels (DESIGN.md contract 5):

* ``sv``: int64[SV_SIZE] cursors, counts, model kinds, the random generator state;
* ``cf``: float64[CF_SIZE] parameters (fees, latencies, queue power, tick size) and the few
  float state values (positions, impact state);
* ``orders``: ``engine.types.ORDER`` records (order id == row index), the exchange's truth;
* ``oi`` / ``of``: int64 / float64 per-order extras (limit tick, arrival time, latency,
  cancel arrival, status as the strategy knows it; queue ahead, traded-at-level, filled size
  as the strategy knows it);
* ``live``: int64 indices of the orders not yet terminal at the exchange (``sv[S_NLIVE]``);
* ``fills``: ``engine.types.FILL`` records; ``notes``: int64[n, 4] responses travelling back
  to the strategy (visible time, kind, order or fill index, status).
"""

from __future__ import annotations

# --- sv (int64 state) ------------------------------------------------------------------------
S_XD = 0  # exchange cursor in the depth (L2) or MBO (L3) stream
S_XT = 1  # exchange cursor in the trade stream
S_LD = 2  # local (strategy-side) cursor in the depth / MBO stream
S_LT = 3  # local cursor in the trade stream
S_LQ = 4  # local cursor in the quote stream
S_NORD = 5  # orders created
S_NFILL = 6  # fills written
S_NLIVE = 7  # orders live at the exchange (pending arrival, working, partial)
S_NNOTE = 8  # responses written
S_NSEEN = 9  # responses delivered to the strategy
S_RNG = 10  # splitmix64 state of the simulator's random draws
S_NOW = 11  # local time of the last wake (the strategy's "now")
S_XNOW = 12  # exchange time processed so far
S_QMODEL = 13  # queue model (Q_*)
S_ENTRY = 14  # entry latency model (LAT_*)
S_RESP = 15  # response latency model (LAT_*)
S_PARTIAL = 16  # 1: resting orders may fill partially; 0: all or nothing
S_SHARED = 17  # 1: no feed latency, the strategy's book is the exchange book
S_BATCH = 18  # 1: the depth stream marks batch ends with DEPTH_LAST
S_WROW = 19  # index of the row that caused the last W_BOOK / W_TRADE / W_QUOTE wake
S_NACT = 20  # earliest pending order arrival / cancel arrival at the exchange (or NEVER)
S_LASTVIS = 21  # visible time of the last response (responses arrive in order)
S_BMIN = 22  # resting buy orders: min / max limit tick (L2: rows near them are matched one by one)
S_BMAX = 23
S_SMIN = 24
S_SMAX = 25
S_NRESTING = 26  # resting orders (working / partial)
S_IMPACT = 27  # impact overlay (IMP_*)
S_NSEEN0 = 28  # first response delivered by the last wake
S_FULL = 29  # capacity problem of the last call (0 none, 1 orders, 2 fills, 3 notes, 4 book)
S_CROSS_FILLS = 30  # counters: resting orders filled because a level crossed them
S_TRADE_FILLS = 31  # resting orders (partly) filled by trades
S_TIMER = 32  # compiled driver: next timer (local time)
S_STEPS = 33  # compiled driver: wakes handled
S_HORIZON = 34  # streamed feeds: every market row with ts <= this is in the window (NEVER: all)
S_STOPTRIG = 35  # what triggers stop orders (STOP_BY_*)
S_NARMED = 36  # stop orders at the exchange waiting for their trigger
SV_SIZE = 40

# --- cf (float64 parameters and state) ------------------------------------------------------
C_TICK = 0  # tick size
C_INV = 1  # 1 / tick size when it is an integer (exact prices), else 0
C_MAKER = 2  # maker fee rate on traded value (negative: rebate)
C_TAKER = 3  # taker fee rate
C_ENTRY_A = 4  # entry latency parameters (ns): constant / low / fixed part
C_ENTRY_B = 5  # high / mean of the random part
C_RESP_A = 6
C_RESP_B = 7
C_QPOW = 8  # probabilistic queue model: power n of f(x) = x**n
C_POS = 9  # position at the exchange (fills booked as they happen)
C_LPOS = 10  # position as the strategy knows it (responses delivered)
C_IMP_COEF = 11  # impact overlay coefficient (price units per unit / per sqrt unit)
C_IMP_TAU = 12  # transient impact decay time (ns)
C_IMP_PERM = 13  # impact state: permanent shift (price units)
C_IMP_TRANS = 14  # impact state: transient shift at C_IMP_T
C_IMP_T = 15
C_LOT = 16  # lot size (L3: book sizes are integer lots)
CF_SIZE = 17

# --- per-order extras -----------------------------------------------------------------------
OI_TICK = 0  # limit price in ticks (market orders: 0)
OI_ARRIVE = 1  # exchange time the order reaches the market (submit time + entry latency)
OI_LAT = 2  # entry latency drawn for it (ns)
OI_CXL = 3  # exchange time its cancel request arrives (NEVER: none)
OI_LSTAT = 4  # status as the strategy knows it (responses delivered)
OI_REST = 5  # 1 while resting in the book
OI_STOP = 6  # stop price in ticks (stop / stop-limit orders)
OI_ARMED = 7  # 1 while a stop order waits at the exchange for its trigger
OI_FIELDS = 8

OF_AHEAD = 0  # quantity ahead in the queue
OF_TRADED = 1  # traded at its level since the last depth update there (probabilistic model)
OF_AHEAD0 = 2  # quantity ahead when it started resting (reported on its fills)
OF_LFILLED = 3  # filled size as the strategy knows it
OF_LASTQ = 4  # L2: size of its level after the last depth row there
OF_FIELDS = 5

# --- responses (notes) ----------------------------------------------------------------------
N_VIS = 0  # local time the response reaches the strategy
N_KIND = 1  # NOTE_ORDER / NOTE_FILL
N_IDX = 2  # order index / fill index
N_STATUS = 3  # order status carried by an order response
N_FIELDS = 4
NOTE_ORDER = 0
NOTE_FILL = 1

# --- models ---------------------------------------------------------------------------------
Q_CONSERVATIVE = 0  # queue ahead shrinks only by trades at the level (and never exceeds it)
Q_PROBABILISTIC = 1  # a decrease not explained by trades is ahead of you with p = f(a)/(f(a)+f(b))
Q_L3 = 2  # exact FIFO: the order sits in the L3 book's queue
QUEUE_NAMES = {"conservative": Q_CONSERVATIVE, "probabilistic": Q_PROBABILISTIC}

LAT_CONSTANT = 0  # a
LAT_UNIFORM = 1  # uniform integer in [a, b]
LAT_EXPONENTIAL = 2  # a + exponential with mean b
LAT_SERIES = 3  # replayed from a recorded (time, latency) series: a = offset, b = length
LAT_NAMES = {"constant": LAT_CONSTANT, "uniform": LAT_UNIFORM, "exponential": LAT_EXPONENTIAL,
             "series": LAT_SERIES}

STOP_BY_TRADE = 0  # a trade at or through the stop price (buy: >= stop, sell: <= stop)
STOP_BY_BOOK = 1  # the price the order would trade at: best ask >= stop (buy), best bid <= stop
STOP_TRIGGERS = {"trade": STOP_BY_TRADE, "book": STOP_BY_BOOK}

IMP_OFF = 0
IMP_LINEAR = 1  # permanent: shift += coef * signed qty (Kyle's lambda)
IMP_SQRT = 2  # permanent: shift += coef * sign * sqrt(qty) (square-root law)
IMP_TRANSIENT = 3  # shift += coef * signed qty, decaying as exp(-dt / tau)
IMPACT_NAMES = {"off": IMP_OFF, "linear": IMP_LINEAR, "sqrt": IMP_SQRT,
                "transient": IMP_TRANSIENT}

# --- wake reasons returned by the advance kernels -------------------------------------------
W_UNTIL = 0  # the requested time was reached (timer)
W_BOOK = 1  # a depth batch (L2) / MBO event (L3) reached the strategy (row in sv[S_WROW])
W_TRADE = 2  # a trade reached the strategy
W_QUOTE = 3  # a quote reached the strategy
W_NOTE = 4  # responses reached the strategy (sv[S_NSEEN0] .. sv[S_NSEEN])
W_END = 5  # no market data and nothing pending
W_FULL = 6  # an array is full (sv[S_FULL]); the Python layer grows it and calls again
W_MORE = 7  # streamed feed: the window is used up to sv[S_HORIZON]; the caller loads more

# wake mask bits: which local events stop the advance
WK_BOOK = 1
WK_TRADE = 2
WK_QUOTE = 4
WK_NOTE = 8

NEVER = 2**62  # "no time": no pending action
CAP_MARGIN = 256  # free slots kept in fills / notes before each market event
MAX_WALK = 256  # a taker order walks at most this many levels
