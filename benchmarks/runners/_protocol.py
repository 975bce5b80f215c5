"""Runner side of the benchmark protocol. Every runner script imports this FIRST.

Standard library + numpy only: it is imported inside the peer venvs (numpy 2.4 or < 2.3) and in
tapereader's own environment alike.

A runner is one small script per (task, engine). The harness starts it in a fresh process:

    python benchmarks/runners/<task>_<engine>.py --data PATH [--param key=value ...]
           [--calls N] [--details OUT.json]

and reads the LAST line of its stdout that is a JSON object with ``"protocol": 1``. The script
calls :func:`main` with four callables:

* ``load(path, params) -> data``: read the data file into whatever the engine takes (timed as
  ``load_s``, not part of the run time).
* ``run(data, params) -> result``: the whole task as a user would run it (build + simulate +
  the engine's own result objects). Called ``--calls`` times in the same process: call 1 is
  the "first" call (includes JIT compilation for numba engines), call 2 the "warm" call.
* ``fingerprint(result) -> dict``: small JSON-able numbers that identify the outcome (final
  equity, number of trades, ...). Not timed. The harness checks that every call of every
  process gives the same fingerprint, and prints it so engines can be compared.
* ``details(result) -> dict`` (optional): the full outcome (trade list, equity curve) written
  to ``--details`` for cross-checks and golden files. Not timed.

``n_items(data, params)`` gives the count the throughput is computed over (bars, bar x
combinations, events, env steps), and ``unit`` names it.

The printed line:

    {"protocol": 1, "task": ..., "engine": ..., "n": ..., "unit": ..., "params": {...},
     "import_s": ..., "load_s": ..., "calls_s": [first, warm, ...], "result": {...},
     "consistent": true, "versions": {...}, "python": "3.11.7"}
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

T_PROCESS = time.perf_counter()  # this module is imported first: imports are timed from here
PROTOCOL = 1


def parse_value(text: str):
    """``--param`` values: JSON where it parses (numbers, true/false, lists), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _clean(obj):
    """Make numpy scalars / non-finite floats JSON-safe."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        try:
            obj = obj.item()
        except (ValueError, TypeError):
            obj = obj.tolist()
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    return obj


def write_json(path: str, obj) -> None:
    """Atomic JSON write (temp file + fsync + rename)."""
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as fh:
        json.dump(_clean(obj), fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def main(
    *,
    task: str,
    engine: str,
    load,
    run,
    fingerprint,
    n_items,
    unit: str,
    versions: dict | None = None,
    details=None,
    defaults: dict | None = None,
    argv: list[str] | None = None,
) -> dict:
    ap = argparse.ArgumentParser(description=f"{task} on {engine} (benchmark runner)")
    ap.add_argument("--data", required=True, help="data file (see the task in the harness)")
    ap.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--calls", type=int, default=1, help="calls in this process (2 = warm)")
    ap.add_argument("--details", default=None, help="write the full outcome to this JSON file")
    args = ap.parse_args(argv)
    params = dict(defaults or {})
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--param {item!r}: expected KEY=VALUE")
        params[key] = parse_value(value)
    import_s = time.perf_counter() - T_PROCESS

    t0 = time.perf_counter()
    data = load(args.data, params)
    load_s = time.perf_counter() - t0

    calls_s, prints, result = [], [], None
    for _ in range(max(1, args.calls)):
        t0 = time.perf_counter()
        result = run(data, params)
        calls_s.append(time.perf_counter() - t0)
        prints.append(_clean(fingerprint(result)))
    consistent = all(p == prints[0] for p in prints)
    if args.details and details is not None:
        write_json(args.details, details(result))
    out = {
        "protocol": PROTOCOL,
        "task": task,
        "engine": engine,
        "n": int(n_items(data, params)),
        "unit": unit,
        "params": params,
        "import_s": import_s,
        "load_s": load_s,
        "calls_s": calls_s,
        "result": prints[0],
        "consistent": consistent,
        "versions": dict(versions or {}),
        "python": platform.python_version(),
    }
    if not consistent:
        out["results_per_call"] = prints
    sys.stdout.flush()
    print(json.dumps(_clean(out)), flush=True)
    return out


# ---------------------------------------------------------------------------------------------
# shared task definitions (every engine's runner uses these, so they run the same thing)
# ---------------------------------------------------------------------------------------------

#: sma_cross defaults for the synthetic benchmark (issue 3). fast/slow/commission chosen so a
#: million random-walk bars give ~13.6k round trips without the account running dry.
SMA_CROSS_DEFAULTS = {
    "fast": 20,
    "slow": 100,
    "cash": 1_000_000.0,
    "commission": 0.0001,
    "long_only": False,
}


def sma_cross_main(engine: str, *, load, run, fingerprint, details, versions: dict) -> dict:
    """:func:`main` for an sma_cross runner: ``load`` returns ``(bars, engine_data)`` and the
    throughput counts the bars (``bars["close"]``)."""
    return main(
        task="sma_cross",
        engine=engine,
        load=load,
        run=run,
        fingerprint=fingerprint,
        details=details,
        n_items=lambda data, params: len(data[0]["close"]),
        unit="bars",
        versions=versions,
        defaults=SMA_CROSS_DEFAULTS,
    )


def sweep_grid(n_combos: int) -> list[tuple[int, int]]:
    """The (fast, slow) pairs of the sweep task (issue 6), fast < slow, in a fixed order.

    100:   fast 5, 10, ..., 50 (10) x slow 60, 80, ..., 240 (10)
    1000:  fast 2, 3, ..., 41 (40)  x slow 50, 60, ..., 290 (25)
    """
    if n_combos == 100:
        fasts, slows = range(5, 51, 5), range(60, 241, 20)
    elif n_combos == 1000:
        fasts, slows = range(2, 42), range(50, 291, 10)
    else:
        raise ValueError(f"n_combos must be 100 or 1000, got {n_combos}")
    return [(f, s) for f in fasts for s in slows]


#: rl_env defaults (issue 9) shared by every engine (a runner may add its own keys)
RL_ENV_DEFAULTS = {
    "steps": 2000,
    "n_envs": 1,
    "seed": 1,
    "start": "2010-01-01",
    "cash": 1_000_000,
    "cost": 0.001,
}


def rl_random_steps(env, n_envs: int, n: int, steps: int, rng):
    """The rl_env loop: ``steps`` env steps with uniform(-1, 1) float32 actions for ``n``
    symbols, drawn from ``rng``. ``n_envs == 1``: a gymnasium env (reset by the caller) is
    reset after each finished episode; else a vector env (which resets itself) takes
    ``steps // n_envs`` batched steps. Returns (reward sum, finished episodes, last info)."""
    import numpy as np

    reward_sum, episodes, info = 0.0, 0, None
    if n_envs == 1:
        for _ in range(steps):
            _, r, term, trunc, info = env.step(rng.uniform(-1.0, 1.0, n).astype(np.float32))
            reward_sum += float(r)
            if term or trunc:
                episodes += 1
                env.reset()
    else:
        for _ in range(steps // n_envs):
            _, r, term, trunc, info = env.step(
                rng.uniform(-1.0, 1.0, (n_envs, n)).astype(np.float32))
            reward_sum += float(np.sum(r))
            episodes += int(np.sum(term | trunc))
    return reward_sum, episodes, info


def rl_env_main(engine: str, *, load, run, versions: dict, defaults: dict) -> dict:
    """:func:`main` for an rl_env runner (``run`` returns its fingerprint dict)."""
    return main(
        task="rl_env",
        engine=engine,
        load=load,
        run=run,
        fingerprint=lambda r: r,
        n_items=lambda data, params: (int(params["steps"]) // int(params["n_envs"]))
        * int(params["n_envs"]),
        unit="steps",
        versions=versions,
        defaults=defaults,
    )


#: market-making task defaults (issue 4), see benchmarks/README.md for the exact loop
MM_DEFAULTS = {
    "interval_ns": 10_000_000,  # requote every 10 ms of exchange time
    "half_spread_ticks": 1,  # quote at mid -/+ half spread, never inside the touch
    "order_qty": 1.0,
    "max_position": 10.0,
    "entry_latency_ns": 1_000_000,
    "response_latency_ns": 1_000_000,
    "queue": "risk_adverse",  # conservative: the queue ahead shrinks only by trades at the level
    "maker_fee": -0.00005,
    "taker_fee": 0.0007,
}


def sma(values, n: int):
    """Plain rolling mean with NaN for the first n-1 values (numpy, for runners that need it)."""
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    if n <= x.shape[0]:
        c = np.cumsum(np.insert(x, 0, 0.0))
        out[n - 1 :] = (c[n:] - c[:-n]) / n
    return out


def trades_from_fills(fills, last_close: float, last_bar: int, times=None) -> list[dict]:
    """Round trips from a fill list [(bar, signed size, price, fee)], FIFO, whole positions.

    Used for engines that report fills but no round-trip list in the wanted shape. A fill that
    flips the position closes the old round trip and opens a new one (fees split pro rata).
    A position still open at the end is reported with status "open", marked to ``last_close``
    with no exit fee.
    """
    trades, pos, cur = [], 0.0, None
    for bar, size, price, fee in fills:
        if size == 0:
            continue
        remaining, fee_left = size, fee
        if pos != 0 and (pos > 0) != (size > 0):
            closing = min(abs(remaining), abs(pos))
            part_fee = fee * closing / abs(size)
            cur["exit_bar"], cur["exit_price"] = bar, price
            cur["exit_fee"] += part_fee
            if closing < abs(pos):
                raise ValueError("partial closes are not supported by this helper")
            trades.append(_finish(cur, "closed"))
            fee_left -= part_fee
            remaining = size + pos  # what is left after flattening
            pos, cur = 0.0, None
        if remaining != 0:
            if cur is None:
                cur = {
                    "entry_bar": bar,
                    "entry_price": price,
                    "size": abs(remaining),
                    "side": "long" if remaining > 0 else "short",
                    "entry_fee": fee_left,
                    "exit_fee": 0.0,
                }
            else:
                raise ValueError("adding to a position is not supported by this helper")
            pos += remaining
    if cur is not None:
        cur["exit_bar"], cur["exit_price"] = last_bar, last_close
        trades.append(_finish(cur, "open"))
    if times is not None:
        for t in trades:
            t["entry_time"], t["exit_time"] = times[t["entry_bar"]], times[t["exit_bar"]]
    return trades


def _finish(t: dict, status: str) -> dict:
    sign = 1.0 if t["side"] == "long" else -1.0
    gross = sign * t["size"] * (t["exit_price"] - t["entry_price"])
    t = dict(t)
    t["fees"] = t.pop("entry_fee") + t.pop("exit_fee")
    t["pnl"] = gross - t["fees"]
    t["status"] = status
    return t


def load_ohlcv(path: str) -> dict:
    """OHLCV arrays from a synthetic ``.npy`` (canonical BAR) or a sample CSV with a date column.

    Returns ``{"time": datetime64[ns] array, "open", "high", "low", "close", "volume"}``. CSV
    files use their raw Open/High/Low/Close (an ``Adj Close`` column is ignored); daily dates
    are kept as they are (no session close time), which is all the peers need.
    """
    import numpy as np

    if path.endswith(".npy"):
        arr = np.load(path, allow_pickle=False)
        out = {k: np.ascontiguousarray(arr[k]) for k in ("open", "high", "low", "close", "volume")}
        out["time"] = arr["ts"].astype("datetime64[ns]")
        return out
    import pandas as pd

    df = pd.read_csv(path, index_col=0, parse_dates=True)
    cols = {c.lower().strip(): c for c in df.columns}
    out = {k: df[cols[k]].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close")}
    out["volume"] = (
        df[cols["volume"]].to_numpy(dtype=np.float64) if "volume" in cols else np.zeros(len(df))
    )
    out["time"] = df.index.to_numpy(dtype="datetime64[ns]")
    return out


def iso_times(times) -> list[str]:
    """ISO strings (date only when every stamp is midnight) for details files."""
    import numpy as np

    t = np.asarray(times, dtype="datetime64[ns]")
    if (t.astype(np.int64) % 86_400_000_000_000 == 0).all():
        return [str(x) for x in t.astype("datetime64[D]")]
    return [str(x) + "Z" for x in t.astype("datetime64[s]")]


def sma_cross_details(engine: str, versions: dict, bars: dict, equity, trades, params) -> dict:
    """The normalized outcome of an sma_cross run (same shape for every engine)."""
    times = iso_times(bars["time"])
    for t in trades:
        t["entry_time"], t["exit_time"] = times[t["entry_bar"]], times[t["exit_bar"]]
    keys = ("entry_bar", "entry_time", "entry_price", "exit_bar", "exit_time", "exit_price",
            "side", "size", "fees", "pnl", "status")
    return {
        "engine": engine,
        "versions": versions,
        "params": params,
        "n_bars": len(times),
        "time": times,
        "final_equity": float(equity[-1]),
        "equity": [float(x) for x in equity],
        "trades": [{k: t[k] for k in keys} for t in trades],
    }


def sma_cross_fingerprint(final_equity: float, trades: list[dict], equity) -> dict:
    closed = [t for t in trades if t["status"] == "closed"]
    return {
        "final_equity": float(final_equity),
        "n_trades": len(closed),
        "n_open": len(trades) - len(closed),
        "sum_size": float(sum(t["size"] for t in trades)),
        "equity_sum": float(sum(float(x) for x in equity)),
    }
