"""sma_cross on backtrader (issue 3), as PEERS.md describes.

``cheat_on_open=True``: the crossover is read in ``next`` (bar i's close, strict crossover of
the two SMAs of close, decided by tapereader's definition on backtrader's own SMA lines) and
the orders are placed in ``next_open`` of bar i+1, where the open is known, with the explicit
whole-unit size floor(cash * (1 - 2**-52) / (open * (1 + c))) computed from the cash left after
closing the old position at that open. Commission: percentage of notional on every fill.
Round trips are rebuilt from backtrader's own fills (notify_order).
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import math  # noqa: E402

import backtrader as bt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

VERSIONS = {"backtrader": bt.__version__, "pandas": pd.__version__, "numpy": np.__version__}
ALL_IN = 1.0 - 2.0**-52


class SmaCross(bt.Strategy):
    params = dict(fast=10, slow=20, commission=0.0, long_only=False)

    def __init__(self):
        self.f = bt.ind.SMA(self.data.close, period=self.p.fast)
        self.s = bt.ind.SMA(self.data.close, period=self.p.slow)
        self.pending = 0  # +1 go long, -1 go short / flat, decided at the previous close
        self.equity = []
        self.fills = []

    def prenext(self):
        self.equity.append(self.broker.getvalue())

    def next(self):
        self.equity.append(self.broker.getvalue())
        if len(self) < 2:
            return
        f0, f1, s0, s1 = self.f[-1], self.f[0], self.s[-1], self.s[0]
        if math.isnan(f0) or math.isnan(s0):
            return
        if f0 < s0 and f1 > s1:
            self.pending = 1
        elif f0 > s0 and f1 < s1:
            self.pending = -1

    def next_open(self):
        if not self.pending:
            return
        want, self.pending = self.pending, 0
        pos = self.position.size
        if (want > 0 and pos > 0) or (want < 0 and (pos < 0 or (pos == 0 and self.p.long_only))):
            return
        op, c = self.data.open[0], self.p.commission
        cash = self.broker.getcash() + pos * op - abs(pos) * op * c
        if pos:
            self.close()
        if want < 0 and self.p.long_only:
            return
        size = math.floor(cash * ALL_IN / (op * (1.0 + c)))
        if size > 0:
            (self.buy if want > 0 else self.sell)(size=size)

    def notify_order(self, order):
        if order.status == order.Completed:
            ex = order.executed
            self.fills.append((len(self.data) - 1, ex.size, ex.price, ex.comm))


def load(path, params):
    b = P.load_ohlcv(path)
    df = pd.DataFrame(
        {"open": b["open"], "high": b["high"], "low": b["low"], "close": b["close"],
         "volume": b["volume"]},
        index=pd.DatetimeIndex(b["time"]),
    )
    return b, df


def run(data, params):
    b, df = data
    cerebro = bt.Cerebro(cheat_on_open=True, stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=df))
    cerebro.addstrategy(SmaCross, fast=params["fast"], slow=params["slow"],
                        commission=params["commission"], long_only=params["long_only"])
    cerebro.broker.setcash(params["cash"])
    cerebro.broker.setcommission(commission=params["commission"])
    cerebro.broker.set_checksubmit(False)  # the new order is paid by the close placed before it
    strat = cerebro.run()[0]
    trades = P.trades_from_fills(strat.fills, float(b["close"][-1]), len(b["close"]) - 1)
    return np.asarray(strat.equity), trades, b, params


def fingerprint(res):
    equity, trades, _, _ = res
    return P.sma_cross_fingerprint(equity[-1], trades, equity)


def details(res):
    equity, trades, b, params = res
    return P.sma_cross_details("backtrader", VERSIONS, b, equity, trades, params)


if __name__ == "__main__":
    P.sma_cross_main("backtrader", load=load, run=run, fingerprint=fingerprint,
                     details=details, versions=VERSIONS)
