"""Order-flow-imbalance taker: trades in the direction of recent order-flow imbalance.

OFI (Cont, Kukanov & Stoikov, "The price impact of order book events", J. Financial
Econometrics 12(1), 2014) at the best level, one term per book update n:

    e_n = 1{b_n >= b_{n-1}} q^b_n - 1{b_n <= b_{n-1}} q^b_{n-1}
          - 1{a_n <= a_{n-1}} q^a_n + 1{a_n >= a_{n-1}} q^a_{n-1}

summed over the last ``window_ns`` of local time. When flat and |OFI| > ``threshold`` (in
units of size) the strategy sends a market order of ``order_qty`` in its direction, holds it
``hold_ns`` and closes it with a reduce-only market order. It learns its position only from
responses (fills arrive after the response latency), so it never stacks orders while one is in
flight.
"""

from __future__ import annotations

import collections

from engine.types import TERMINAL
from strategies.base import Strategy


class OfiTaker(Strategy):
    name = "ofi_taker"
    about = "tick: market orders in the direction of order-flow imbalance, held for a horizon"
    window_ns: int = 1_000_000_000
    threshold: float = 500.0
    order_qty: float = 100.0
    hold_ns: int = 5_000_000_000

    def init(self, ctx) -> None:
        self._prev = None
        self._flow = collections.deque()
        self._sum = 0.0
        self._entry_ts = None
        self._pending = None
        self.signals = 0

    def ofi(self) -> float:
        return self._sum

    def on_book(self, ctx) -> None:
        b, bq, a, aq = ctx.book.best()
        if not (b == b and a == a):  # a side is empty
            return
        now = ctx.now
        if self._prev is not None:
            pb, pbq, pa, paq = self._prev
            e = (bq if b >= pb else 0.0) - (pbq if b <= pb else 0.0) \
                - (aq if a <= pa else 0.0) + (paq if a >= pa else 0.0)
            self._flow.append((now, e))
            self._sum += e
        self._prev = (b, bq, a, aq)
        while self._flow and self._flow[0][0] <= now - self.window_ns:
            self._sum -= self._flow.popleft()[1]
        if self._pending is not None:
            if ctx.order(self._pending)["status"] in TERMINAL:  # as far as it knows
                self._pending = None
            else:
                return
        pos = ctx.position()
        if pos == 0.0:
            self._entry_ts = None
            if self._sum > self.threshold:
                self._pending = ctx.buy(size=self.order_qty)
                self.signals += 1
            elif self._sum < -self.threshold:
                self._pending = ctx.sell(size=self.order_qty)
                self.signals += 1
        else:
            if self._entry_ts is None:
                self._entry_ts = now
            elif now - self._entry_ts >= self.hold_ns:
                send = ctx.sell if pos > 0 else ctx.buy
                self._pending = send(size=abs(pos), reduce_only=True)
