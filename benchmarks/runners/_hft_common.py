"""Shared by the hftbacktest runners: load the generated feed and build a backtest asset."""

import _protocol as P
import numpy as np
from hftbacktest import BacktestAsset, event_dtype

TICK_SIZE = 0.01
LOT_SIZE = 1.0


def load(path, params):
    if not path.endswith(".hft.npz"):
        raise SystemExit(f"hftbacktest runners take the .hft.npz feed, got {path}")
    with np.load(path) as z:
        arr = z["data"]
    if arr.dtype != event_dtype:
        raise SystemExit(f"{path}: dtype {arr.dtype} is not hftbacktest's event_dtype")
    return np.ascontiguousarray(arr)


def asset(arr, params):
    p = dict(P.MM_DEFAULTS, **params)
    a = (
        BacktestAsset()
        .data([arr])
        .linear_asset(1.0)
        .constant_order_latency(int(p["entry_latency_ns"]), int(p["response_latency_ns"]))
        .no_partial_fill_exchange()
        .trading_value_fee_model(float(p["maker_fee"]), float(p["taker_fee"]))
        .tick_size(TICK_SIZE)
        .lot_size(LOT_SIZE)
        .last_trades_capacity(0)
    )
    if p["queue"] == "risk_adverse":
        a = a.risk_adverse_queue_model()
    elif p["queue"] == "power3":
        a = a.power_prob_queue_model(3.0)
    else:
        raise SystemExit(f"queue must be risk_adverse or power3, got {p['queue']!r}")
    return a


def main(task, run, *, versions, defaults):
    """:func:`_protocol.main` for an hftbacktest runner: the .hft.npz feed, ``run`` returns
    its fingerprint dict, throughput over the feed's events."""
    return P.main(
        task=task,
        engine="hftbacktest",
        load=load,
        run=run,
        fingerprint=lambda r: r,
        n_items=lambda arr, params: len(arr),
        unit="events",
        versions=versions,
        defaults=defaults,
    )
