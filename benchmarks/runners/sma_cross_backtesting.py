"""sma_cross on backtesting.py (issue 3), as PEERS.md describes: ``position.close(); buy()``.

Signal on bar i's close (strict crossover of the two SMAs of close), market order filled at
bar i+1's open (backtesting.py's default), default size = all equity in whole units:
floor(cash * (1 - 2**-52) / (open * (1 + c))). A trade still open at the end stays open
(``finalize_trades=False``); the equity curve marks it to the last close.
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import os

os.environ.setdefault("TQDM_DISABLE", "1")

import warnings  # noqa: E402

import backtesting  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.lib import crossover  # noqa: E402

VERSIONS = {"backtesting": backtesting.__version__, "pandas": pd.__version__,
            "numpy": np.__version__}


def _sma(values, n):
    return pd.Series(values).rolling(n).mean().to_numpy()


class SmaCross(Strategy):
    fast = 10
    slow = 20
    long_only = False

    def init(self):
        self.f = self.I(_sma, self.data.Close, self.fast)
        self.s = self.I(_sma, self.data.Close, self.slow)

    def next(self):
        if crossover(self.f, self.s):
            self.position.close()
            self.buy()
        elif crossover(self.s, self.f):
            self.position.close()
            if not self.long_only:
                self.sell()


def load(path, params):
    b = P.load_ohlcv(path)
    df = pd.DataFrame(
        {"Open": b["open"], "High": b["high"], "Low": b["low"], "Close": b["close"],
         "Volume": b["volume"]},
        index=pd.DatetimeIndex(b["time"]),
    )
    return b, df


def run(data, params):
    _, df = data
    bt = Backtest(df, SmaCross, cash=params["cash"], commission=params["commission"],
                  finalize_trades=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "some trades remain open" is expected
        return bt.run(fast=params["fast"], slow=params["slow"], long_only=params["long_only"])


def _trades(stats, bars, params):
    c = params["commission"]
    out = []
    for r in stats._trades.itertuples():
        out.append({
            "entry_bar": int(r.EntryBar), "exit_bar": int(r.ExitBar),
            "entry_price": float(r.EntryPrice), "exit_price": float(r.ExitPrice),
            "side": "long" if r.Size > 0 else "short", "size": float(abs(r.Size)),
            "fees": float(r.Commission), "pnl": float(r.PnL), "status": "closed",
        })
    last = len(bars["close"]) - 1
    for t in stats._strategy._broker.trades:  # still open at the end
        fee = abs(t.size) * t.entry_price * c
        out.append({
            "entry_bar": int(t.entry_bar), "exit_bar": last, "entry_price": float(t.entry_price),
            "exit_price": float(bars["close"][-1]), "side": "long" if t.size > 0 else "short",
            "size": float(abs(t.size)), "fees": fee,
            "pnl": float(t.size * (bars["close"][-1] - t.entry_price) - fee), "status": "open",
        })
    return out


def _equity(stats):
    return stats._equity_curve["Equity"].to_numpy()


def fingerprint(res):
    stats, bars, params = res
    return P.sma_cross_fingerprint(_equity(stats)[-1], _trades(stats, bars, params),
                                   _equity(stats))


def details(res):
    stats, bars, params = res
    return P.sma_cross_details("backtesting.py", VERSIONS, bars, _equity(stats),
                               _trades(stats, bars, params), params)


if __name__ == "__main__":
    P.sma_cross_main("backtesting.py", load=load,
                     run=lambda data, params: (run(data, params), data[0], params),
                     fingerprint=fingerprint, details=details, versions=VERSIONS)
