"""Plain JSON-able observations for agents: prices, indicators, portfolio, positions, news.

Everything here is built from data visible at the decision time: closes up to the current bar
and news items whose time stamp plus ``delay`` is at or before it. Floats are plain Python
floats (NaN becomes ``None``) so ``json.dumps`` round-trips the observation exactly, which the
replay check relies on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from data.timeutil import ns_to_iso


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def indicators(closes: np.ndarray) -> dict[str, float | None]:
    """Indicators of one symbol from its visible closes (oldest first, NaN-free tail)."""
    c = np.asarray(closes, dtype=np.float64)
    c = c[np.isfinite(c)]
    out: dict[str, float | None] = {"close": _f(c[-1]) if len(c) else None}
    for n in (1, 5, 20):
        out[f"momentum_{n}"] = _f(c[-1] / c[-1 - n] - 1.0) if len(c) > n else None
    out["sma_20_ratio"] = _f(c[-1] / c[-20:].mean() - 1.0) if len(c) >= 20 else None
    if len(c) >= 21:
        r = c[-20:] / c[-21:-1] - 1.0
        out["volatility_20"] = _f(r.std(ddof=1))
    else:
        out["volatility_20"] = None
    return out


class NewsFeed:
    """Timestamped text items (``ts`` int64 ns, ``symbol``, ``text``) released with a delay."""

    def __init__(self, ts, symbol, text, *, delay_ns: int = 0, max_items: int = 10,
                 max_chars: int = 280) -> None:  # fmt: skip
        order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable")
        self.ts = np.asarray(ts, dtype=np.int64)[order]
        self.symbol = np.asarray(symbol, dtype=object)[order]
        self.text = np.asarray(text, dtype=object)[order]
        self.delay_ns = int(delay_ns)
        self.max_items = int(max_items)
        self.max_chars = int(max_chars)

    @classmethod
    def from_tweets(cls, paths: list[str | Path], **kwargs) -> NewsFeed:
        from strategies.signals.sentiment import read_tweets

        tw = read_tweets(paths)
        return cls(tw["ts"].to_numpy(np.int64), tw["symbol"].to_numpy(), tw["text"].to_numpy(),
                   **kwargs)  # fmt: skip

    def between(self, after_ns: int, now_ns: int, symbols: list[str]) -> list[dict[str, Any]]:
        """Items released in ``(after_ns, now_ns]`` (release = ts + delay) for ``symbols``:
        the newest ``max_items`` per symbol, oldest first."""
        avail = self.ts + self.delay_ns
        lo = np.searchsorted(avail, after_ns, side="right")
        hi = np.searchsorted(avail, now_ns, side="right")
        items = []
        for sym in symbols:
            idx = [i for i in range(lo, hi) if self.symbol[i] == sym][-self.max_items :]
            items.extend(idx)
        items.sort(key=lambda i: (int(self.ts[i]), i))
        return [{"ts": ns_to_iso(int(self.ts[i])), "symbol": str(self.symbol[i]),
                 "text": str(self.text[i])[: self.max_chars]} for i in items]  # fmt: skip


def build_observation(*, step: int, now_ns: int, symbols: list[str],
                      closes: dict[str, np.ndarray], cash: float, equity: float,
                      positions: dict[str, float], news: list[dict[str, Any]],
                      history: int = 10) -> dict[str, Any]:  # fmt: skip
    """The observation dict handed to the agent (see the module docstring)."""
    pos = {}
    for sym in symbols:
        c = np.asarray(closes[sym], dtype=np.float64)
        last = c[np.isfinite(c)][-1] if np.isfinite(c).any() else math.nan
        size = float(positions.get(sym, 0.0))
        value = size * last if size else 0.0
        pos[sym] = {"size": size, "value": _f(value),
                    "weight": _f(value / equity) if equity else None}  # fmt: skip
    return {
        "step": int(step),
        "time": ns_to_iso(int(now_ns)),
        "symbols": list(symbols),
        "prices": {s: [_f(v) for v in np.asarray(closes[s])[-history:]] for s in symbols},
        "indicators": {s: indicators(closes[s]) for s in symbols},
        "portfolio": {"cash": _f(cash), "equity": _f(equity)},
        "positions": pos,
        "news": news,
    }
