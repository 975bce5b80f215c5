"""sma_cross on vectorbt (issue 3), as PEERS.md describes.

``vbt.MA`` for the two SMAs of close, ``ma_crossed_above`` / ``ma_crossed_below`` for the
signals on bar i's close, shifted one bar so the order executes at bar i+1 with
``price=open``; ``Portfolio.from_signals(..., size=np.inf, size_granularity=1, lock_cash=True,
fees=c)``: all-in whole units, stop-and-reverse through ``short_entries`` (long-only: the
cross down is a plain exit). A trade still open at the end is vectorbt's "open" trade, marked
to the last close without exit fees.
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import os

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import vectorbt as vbt  # noqa: E402

VERSIONS = {"vectorbt": vbt.__version__, "pandas": pd.__version__, "numpy": np.__version__}


def load(path, params):
    b = P.load_ohlcv(path)
    idx = pd.DatetimeIndex(b["time"])
    return b, pd.Series(b["close"], index=idx), pd.Series(b["open"], index=idx)


def _next_bar(sig):
    a = np.asarray(sig, dtype=bool)
    out = np.zeros_like(a)
    out[1:] = a[:-1]
    return out


def run(data, params):
    b, close, open_ = data
    fast = vbt.MA.run(close, params["fast"], short_name="fast")
    slow = vbt.MA.run(close, params["slow"], short_name="slow")
    up = _next_bar(fast.ma_crossed_above(slow))
    down = _next_bar(fast.ma_crossed_below(slow))
    kwargs = dict(price=open_, size=np.inf, size_granularity=1, lock_cash=True,
                  fees=params["commission"], init_cash=params["cash"], freq="1D")
    if params["long_only"]:
        pf = vbt.Portfolio.from_signals(close, entries=up, exits=down, **kwargs)
    else:
        pf = vbt.Portfolio.from_signals(close, entries=up, short_entries=down, **kwargs)
    equity = pf.value().to_numpy()
    return pf, equity, b, params


def _trades(pf):
    out = []
    for r in pf.trades.values:
        closed = int(r["status"]) == 1
        out.append({
            "entry_bar": int(r["entry_idx"]), "exit_bar": int(r["exit_idx"]),
            "entry_price": float(r["entry_price"]), "exit_price": float(r["exit_price"]),
            "side": "long" if int(r["direction"]) == 0 else "short", "size": float(r["size"]),
            "fees": float(r["entry_fees"] + r["exit_fees"]), "pnl": float(r["pnl"]),
            "status": "closed" if closed else "open",
        })
    return out


def fingerprint(res):
    pf, equity, _, _ = res
    return P.sma_cross_fingerprint(equity[-1], _trades(pf), equity)


def details(res):
    pf, equity, b, params = res
    return P.sma_cross_details("vectorbt", VERSIONS, b, equity, _trades(pf), params)


if __name__ == "__main__":
    P.sma_cross_main("vectorbt", load=load, run=run, fingerprint=fingerprint,
                     details=details, versions=VERSIONS)
