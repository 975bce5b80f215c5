"""sma_cross parameter sweep on vectorbt (issue 6): every (fast, slow) pair of
``_protocol.sweep_grid(n_combos)`` over the same bars, in one vectorised call.

Same semantics as the single sma_cross runner (stop-and-reverse, next-open fills, all-in whole
units, fees ``commission``), one portfolio column per combination: ``vbt.MA.run`` with the
list of windows, ``ma_crossed_above / below``, shifted one bar, ``Portfolio.from_signals``.
"""

import _protocol as P  # noqa: I001  (first: starts the import clock)

import os

os.environ.setdefault("TQDM_DISABLE", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import vectorbt as vbt  # noqa: E402

VERSIONS = {"vectorbt": vbt.__version__, "pandas": pd.__version__, "numpy": np.__version__}
DEFAULTS = dict(P.SMA_CROSS_DEFAULTS, n_combos=100)


def load(path, params):
    b = P.load_ohlcv(path)
    idx = pd.DatetimeIndex(b["time"])
    return b, pd.Series(b["close"], index=idx), pd.Series(b["open"], index=idx)


def run(data, params):
    _, close, open_ = data
    grid = P.sweep_grid(params["n_combos"])
    fast = vbt.MA.run(close, [f for f, _ in grid], short_name="fast")
    slow = vbt.MA.run(close, [s for _, s in grid], short_name="slow")
    up = fast.ma_crossed_above(slow).to_numpy()
    down = fast.ma_crossed_below(slow).to_numpy()
    up = np.vstack([np.zeros((1, up.shape[1]), bool), up[:-1]])
    down = np.vstack([np.zeros((1, down.shape[1]), bool), down[:-1]])
    columns = pd.MultiIndex.from_tuples(grid, names=["fast", "slow"])
    up = pd.DataFrame(up, index=close.index, columns=columns)
    down = pd.DataFrame(down, index=close.index, columns=columns)
    pf = vbt.Portfolio.from_signals(
        close, entries=up, short_entries=down, price=open_, size=np.inf, size_granularity=1,
        lock_cash=True, fees=params["commission"], init_cash=params["cash"], freq="1D",
    )
    final = pf.final_value().to_numpy()
    n_trades = pf.trades.count().to_numpy()
    return grid, final, n_trades


def fingerprint(res):
    grid, final, n_trades = res
    best = int(np.argmax(final))
    return {
        "n_combos": len(grid),
        "final_equity_sum": float(final.sum()),
        "n_trades_sum": int(n_trades.sum()),
        "best": list(grid[best]),
        "best_final_equity": float(final[best]),
    }


def details(res):
    grid, final, n_trades = res
    return {"engine": "vectorbt", "versions": VERSIONS,
            "combos": [{"fast": f, "slow": s, "final_equity": float(e), "n_trades": int(n)}
                       for (f, s), e, n in zip(grid, final, n_trades, strict=True)]}


if __name__ == "__main__":
    P.main(
        task="sma_sweep",
        engine="vectorbt",
        load=load,
        run=run,
        fingerprint=fingerprint,
        details=details,
        n_items=lambda data, params: len(data[1]) * params["n_combos"],
        unit="bar-combos",
        versions=VERSIONS,
        defaults=DEFAULTS,
    )
