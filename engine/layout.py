"""Array layouts shared by the bar-model kernels and the Python layer (no numba here).

The whole broker / accountant state of a run lives in a handful of arrays so that the
Python-strategy loop and the compiled loop call the same kernels with the same arguments:

* ``mkt``     float64[N_MKT, n_bars, n_sym]: open, high, low, close, volume, mark (the last
  known close carried forward; nan before a symbol's first bar). A symbol without a bar at a
  time stamp has nan open..volume there.
* ``orders``  ORDER records (row index == order_id), ``fills`` FILL, ``trades`` TRADE_REC
  (closed round trips), ``open_tr`` TRADE_REC[n_sym] (the open position of each symbol:
  side, size, average entry price, entry fees not yet booked, first entry time).
* ``acct``    float64[N_ACCT] account scalars, ``cnt`` int64[N_CNT] counters,
* ``cfg``     float64[N_CFG] cost / risk settings, ``symcfg`` float64[n_sym, N_SYM] per symbol,
* ``snap``    float64[cap, SNAP0 + n_sym] state after every bar that changed it:
  bar index, cash, cumulative fees, positions. Equity per bar is rebuilt from it by one kernel
  (``mark_nb``), identically for both paths.
"""

from __future__ import annotations

NS_DAY = 86_400_000_000_000  # one UTC day in ns (borrow accrual, DAY orders)

# mkt rows
M_OPEN, M_HIGH, M_LOW, M_CLOSE, M_VOLUME, M_MARK = range(6)
N_MKT = 6

# acct slots
A_CASH = 0
A_FEES = 1  # cumulative fees (commission + borrow)
A_INIT = 2  # starting cash
A_BORROW = 3  # cumulative borrow fees
A_REALIZED = 4  # cumulative realized pnl (net of fees)
N_ACCT = 8

# cnt slots
C_ORDERS = 0  # orders used (next order_id)
C_FILLS = 1
C_TRADES = 2
C_FIRST = 3  # first order row that may still be non-terminal
C_SNAPS = 4
C_DAY = 5  # UTC day of the last call (borrow accrual); -1 before the first
C_CLOSE_PENDING = 6  # at-close market orders were sent on this bar (signal_close)
C_WATCH = 7  # next bar at which the broker kernel must run for the margin check (0 at start)
C_BLOWN = 8  # 1 + the bar at whose close equity was <= 0 (0: the account never blew up)
C_CALLS = 9  # margin calls made (closes at which liquidation orders were sent)
N_CNT = 10

# cfg slots
K_FRAC = 0  # commission: fraction of notional (taker)
K_FRAC_MAKER = 1  # commission: fraction of notional for maker (limit) fills
K_PER_SHARE = 2  # commission per unit
K_MIN = 3  # minimum commission per fill (before the fixed part)
K_FIXED = 4  # fixed commission per fill
K_SLIP_BPS = 5  # slippage: fixed basis points against the taker
K_SPREAD = 6  # slippage: full spread as a fraction of price (half paid per taker fill)
K_IMPACT = 7  # slippage: square-root impact coefficient (fraction * sqrt(size / bar volume))
K_VOLCAP = 8  # max share of a bar's volume our fills may take (0: no cap)
K_MAXLEV = 9  # max gross exposure / equity after a fill that adds exposure
K_BORROW = 10  # annual borrow fee rate on short positions (accrued daily, calendar days)
K_AT_CLOSE = 11  # 1: market orders fill at the signal bar's close
K_MARGIN_SCAN = 12  # bars over which the margin check finds the next close to check at (the
#                      state is constant until the kernel runs again): only how often a loop
#                      calls the broker kernel depends on it, never a result
N_CFG = 16

# symcfg columns
S_LOT = 0  # lot size (0: fractional quantities)
S_SHORTABLE = 1  # 1 / 0
S_MAXPOS = 2  # max |position| in units (inf: none)
S_MAINT = 3  # maintenance margin: fraction of the position's value equity must cover
N_SYM = 4

SNAP0 = 3  # snap columns: bar index, cash, fees, then one position per symbol

ALL_IN = 1.0 - 2.0**-52  # sizing factor that keeps an exact-integer quotient affordable

#: bit of the compiled loop's ``mode``: send every target event, not only changes
REPEAT = 1 << 20

#: returned by the loop kernels when they ran to the end (else: the bar to resume at)
DONE = -1
