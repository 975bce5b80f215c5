"""Small hand-written feeds for the tick simulator tests."""

from __future__ import annotations

import numpy as np

from data.schema import DEPTH, DEPTH_LAST, MBO, TRADE
from engine.tick import TickConfig, TickSim, build_feed


def depth(rows, recv_delay=0):
    """rows: (ts, side, price, size)."""
    a = np.zeros(len(rows), DEPTH)
    for i, (ts, side, px, q) in enumerate(rows):
        a[i] = (ts, ts + recv_delay, side, px, q, DEPTH_LAST)
    return a


def trades(rows, recv_delay=0):
    """rows: (ts, aggressor side, price, size)."""
    a = np.zeros(len(rows), TRADE)
    for i, (ts, side, px, q) in enumerate(rows):
        a[i] = (ts, ts + recv_delay, px, q, side)
    return a


def mbo(rows):
    """rows: (ts, event, order_id, side, price, size)."""
    a = np.zeros(len(rows), MBO)
    for i, (ts, ev, oid, side, px, q) in enumerate(rows):
        a[i] = (ts, ts, ev, oid, side, px, q)
    return a


def sim_for(d=None, t=None, *, tick=1.0, feed_latency="none", **cfg):
    feed = build_feed(depth=None if d is None else depth(d), trade=None if t is None else trades(t),
                      tick_size=tick, feed_latency=feed_latency)
    return TickSim(feed, TickConfig(**cfg))


BOOK = [(0, 1, 99.0, 10), (0, 1, 98.0, 10), (0, -1, 101.0, 5), (0, -1, 102.0, 7)]


def documented_results() -> dict[str, dict[str, float]]:
    """The example results table of docs/tick_fills.md: example name -> orders, fills, closed
    trades, final equity (tests hold the runs to it, so the page cannot go stale)."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "tick_fills.md").read_text("utf-8")
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`tick_"):
            num = [float(c.split()[0].replace(",", "")) for c in cells[1:]]
            out[cells[0].strip("`")] = dict(zip(("orders", "fills", "trades", "final_equity"),
                                                num, strict=True))
    return out
