"""Shared by tapereader's sma_cross runners (compiled and python paths of ``engine.run``).

The built-in ``sma_cross`` strategy (strategies/builtin/sma_cross.py) with the task's
parameters: stop-and-reverse (or long-only), all-in whole units resolved at the next open,
commission on every fill. The timed call is the whole ``engine.run`` as a user makes it
(market array -> Result with the equity curve, orders, fills and round trips; with the
parameter ``prepared``, from a Market built by ``engine.market.load_market`` in ``load``, the
way vectorbt's runner hands it pandas Series built in its ``load``); the trade list
for the fingerprint is read from the Result afterwards (not timed). Imported by the runner
scripts right after ``_protocol`` (which starts the import clock).
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import numpy as np  # noqa: E402

import numba  # noqa: E402

# the engine's modules, imported as a user's script does (numba kernels load at the first call)
import engine.backtest  # noqa: E402
import engine.broker  # noqa: E402, F401
import engine.compiled  # noqa: E402, F401
import engine.loop  # noqa: E402, F401
import engine.result  # noqa: E402, F401
import strategies.builtin  # noqa: E402, F401

VERSIONS = {"tapereader": "repo", "numpy": np.__version__, "numba": numba.__version__}


def load(path, params):
    b = P.load_ohlcv(path)
    arr = np.zeros(len(b["close"]), dtype=[("ts", "<i8"), ("open", "<f8"), ("high", "<f8"),
                                            ("low", "<f8"), ("close", "<f8"), ("volume", "<f8")])
    arr["ts"] = b["time"].astype("datetime64[ns]").astype(np.int64)
    for k in ("open", "high", "low", "close", "volume"):
        arr[k] = b[k]
    if params.get("prepared"):
        # the engine's own input format, built once (as vectorbt's runner builds its pandas
        # Series in load): engine.run takes a Market without copying it
        import engine.market

        return b, engine.market.load_market({"SYN": arr})
    return b, arr


def run(data, params, mode):
    _, arr = data
    market = arr if params.get("prepared") else {"SYN": arr}
    return engine.backtest.run(market=market, strategy="sma_cross", mode=mode,
                      params={"fast": params["fast"], "slow": params["slow"],
                              "long_only": params["long_only"]},
                      cash=params["cash"], commission=params["commission"])


def _trades(res):
    t = res.trades_rec
    ts = res.market.ts
    bar = np.searchsorted(ts, t["entry_ts"]), np.searchsorted(ts, t["exit_ts"])
    return [{"entry_bar": int(bar[0][k]), "exit_bar": int(bar[1][k]),
             "entry_price": float(t["entry_price"][k]), "exit_price": float(t["exit_price"][k]),
             "side": "long" if t["side"][k] > 0 else "short", "size": float(t["size"][k]),
             "fees": float(t["fees"][k]), "pnl": float(t["pnl"][k]),
             "status": "closed" if t["status"][k] == 0 else "open"} for k in range(len(t))]


def fingerprint(res):
    """The keys of P.sma_cross_fingerprint, from the record arrays (no per-trade dicts: those
    would leave garbage for the next timed call's collector)."""
    eq = res.equity_values
    t = res.trades_rec
    closed = int((t["status"] == 0).sum())
    return {"final_equity": float(eq[-1]), "n_trades": closed, "n_open": len(t) - closed,
            "sum_size": float(t["size"].sum()), "equity_sum": float(sum(float(x) for x in eq))}


def details(res, mode):
    return P.sma_cross_details("tapereader-" + mode, VERSIONS, {"time": res.market.ts.astype(
        "datetime64[ns]")}, res.equity_values, _trades(res), {})


def main(mode):
    """Run the sma_cross protocol on ``engine.run(..., mode=mode)``."""
    P.sma_cross_main("tapereader-" + mode, load=load,
                     run=lambda data, params: run(data, params, mode),
                     fingerprint=fingerprint, details=lambda res: details(res, mode),
                     versions=VERSIONS)
