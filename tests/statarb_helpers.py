"""Shared helpers of the statarb / signals / agent strategy tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import engine
from data.readers import read_bars, read_long_bars, read_wide_closes

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PAIRS = SAMPLES / "pairs"
TWENTY = SAMPLES / "cross_section" / "skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"
GOOG_MSFT = SAMPLES / "sentiment" / "stocknet_GOOG_MSFT_ohlcv_2013-12_2016-04.csv.gz"
TWEETS = [
    SAMPLES / "sentiment" / f"stocknet_{s}_tweets_2014-2016.jsonl.gz" for s in ("GOOG", "MSFT")
]
PAIR_FILES = {
    "KO/PEP": ("daily-PEP.csv", "daily-KO.csv"),
    "EWA/EWC": ("EWC_daily_2006-2012.csv", "EWA_daily_2006-2012.csv"),
    "GLD/GDX": ("GDX_daily_2006-2007.csv", "GLD_daily_2004-2007.csv"),
}


def pair_market(name: str) -> dict[str, np.ndarray]:
    """{y: BAR, x: BAR} of a shipped pair (y first)."""
    out = {}
    for f in PAIR_FILES[name]:
        b = read_bars(PAIRS / f)
        out[b.symbol] = b.data
    return out


def twenty(start: str | None = None, end: str | None = None) -> dict[str, np.ndarray]:
    panel = read_wide_closes(TWENTY)
    out = {}
    for s in panel.symbols:
        d = panel[s].data
        keep = np.ones(len(d), bool)
        if start:
            keep &= d["ts"] >= np.datetime64(start, "ns").astype(np.int64)
        if end:
            keep &= d["ts"] <= np.datetime64(end, "ns").astype(np.int64)
        out[s] = d[keep]
    return out


def goog_msft(start: str = "2014-01-01", end: str = "2016-03-31") -> dict[str, np.ndarray]:
    panel = read_long_bars(GOOG_MSFT)
    lo = np.datetime64(start, "ns").astype(np.int64)
    hi = np.datetime64(end, "ns").astype(np.int64) + 86_400 * 10**9
    return {s: panel[s].data[(panel[s].data["ts"] >= lo) & (panel[s].data["ts"] < hi)]
            for s in panel.symbols}  # fmt: skip


def truncate(market: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    """The market with every bar closing after ``t`` removed."""
    return {s: b[b["ts"] <= t] for s, b in market.items()}


def run(market, strategy, **options):
    options.setdefault("cash", 100_000.0)
    options.setdefault("max_leverage", 2.0)  # long-short books: gross 1 = 0.5 long + 0.5 short
    return engine.run(market=market, strategy=strategy, **options)


def frame_bytes(x) -> bytes:
    """Exact content of a result table (DataFrame or structured array), NaN-safe."""
    if hasattr(x, "to_numpy") and hasattr(x, "columns"):
        return b"".join(np.ascontiguousarray(x[c].to_numpy()).tobytes() if x[c].dtype.kind in "biufM"
                        else repr(x[c].tolist()).encode() for c in x.columns)  # fmt: skip
    return np.ascontiguousarray(x).tobytes()
