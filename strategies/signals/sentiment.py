"""A small lexicon sentiment score for tweets (the shipped StockNet samples) -> a signal file.

Per tweet: lower-case, drop URLs, @mentions and cashtags, split into words; each word in the
positive (negative) list adds one positive (negative) hit, flipped when one of the three
previous words is a negator ("not", "no", "never", "don't", ...). Per symbol and bucket:

    score = (sum positive hits - sum negative hits) / (sum positive hits + sum negative hits + 1)

which lies in (-1, 1) and shrinks towards 0 on days with few hits. A bucket collects the tweets
with ``created_at`` in ``(end - 1 day, end]`` where ``end`` is each day's ``cutoff`` (UTC); the
signal is stamped ``end`` — the moment every tweet in it was public — so the as-of join can use
it from ``end + delay`` only. The word lists are written for this project (common finance and
market words), not taken from a published lexicon; they are a baseline, not a model.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from data.errors import DataError
from data.schema import NS_PER_DAY
from data.timeutil import parse_clock, parse_timestamps

POSITIVE = frozenset(
    """
    beat beats beating bullish bull bulls buy buying upgrade upgraded upgrades outperform
    outperforming gain gains gained rally rallies rallying surge surges surged soar soars soared
    jump jumps jumped rise rises rising rose strong stronger strength growth grow growing record
    high highs profit profits profitable win wins winning winner boost boosts boosted positive
    up upside breakout climb climbs climbed recover recovery rebound optimistic great good best
    love awesome impressive success successful innovative innovation long calls higher top
    """.split()
)
NEGATIVE = frozenset(
    """
    miss misses missed bearish bear bears sell selling sells downgrade downgraded downgrades
    underperform underperforming loss losses lose losing lost drop drops dropped fall falls
    falling fell plunge plunges plunged crash crashes crashed decline declines declined weak
    weaker weakness slump slumps tumble tumbles tumbled sink sinks sank down downside cut cuts
    lawsuit sue sued fined probe investigation risk risks negative bad worse worst fail
    fails failed failure concern concerns warning warns fear fears short puts lower low lows
    disappointing disappoint disappointed layoffs layoff recall bubble overvalued
    """.split()
)
NEGATORS = frozenset("not no never nor neither without don't doesn't didn't isn't wasn't "
                     "aren't won't can't cannot dont doesnt didnt isnt wasnt wont cant".split())  # fmt: skip
TWITTER_TIME = "%a %b %d %H:%M:%S %z %Y"
_STRIP = re.compile(r"https?://\S+|www\.\S+|[@$][A-Za-z0-9_.]+")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def score_text(text: str) -> tuple[int, int]:
    """``(positive hits, negative hits)`` of one text (see the module docstring)."""
    words = _WORD.findall(_STRIP.sub(" ", text.lower()))
    pos = neg = 0
    for i, w in enumerate(words):
        sign = 1 if w in POSITIVE else -1 if w in NEGATIVE else 0
        if sign == 0:
            continue
        if any(p in NEGATORS for p in words[max(0, i - 3) : i]):
            sign = -sign
        if sign > 0:
            pos += 1
        else:
            neg += 1
    return pos, neg


def read_tweets(paths: Iterable[str | Path]) -> pd.DataFrame:
    """StockNet tweet JSONL (optionally gzipped) -> DataFrame ``ts`` (int64 ns UTC of
    ``created_at``), ``symbol``, ``text``, ``id``, sorted by (ts, symbol, id)."""
    frames = []
    for path in paths:
        path = Path(path)
        opener = gzip.open if path.suffix == ".gz" else open
        created, rows, lines = [], [], []
        try:
            with opener(path, "rt", encoding="utf-8") as fh:
                for line_no, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                        created.append(str(obj["created_at"]))
                        rows.append(
                            (str(obj["ticker"]), str(obj["text"]), str(obj.get("id_str", "")))
                        )
                    except (ValueError, KeyError, TypeError) as exc:
                        raise DataError(f"bad tweet record: {exc}", file=str(path), row=line_no,
                                        fix="one JSON object per line with created_at, ticker, text") from None  # fmt: skip
                    lines.append(line_no)
        except OSError as exc:
            raise DataError(
                f"cannot read tweets: {exc}", file=str(path), fix="check the path"
            ) from None
        # Twitter format: "Wed Jan 01 17:36:01 +0000 2014"
        ts = parse_timestamps(created, fmt=TWITTER_TIME, file=str(path), column="created_at",
                              first_line=np.asarray(lines, dtype=np.int64))  # fmt: skip
        df = pd.DataFrame(rows, columns=["symbol", "text", "id"])
        df.insert(0, "ts", ts)
        frames.append(df)
    if not frames:
        return pd.DataFrame({"ts": np.empty(0, np.int64), "symbol": [], "text": [], "id": []})
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["ts", "symbol", "id"], kind="stable").reset_index(drop=True)


def daily_sentiment(tweets: pd.DataFrame, *, cutoff: str = "00:00",
                    min_hits: int = 0) -> pd.DataFrame:  # fmt: skip
    """Bucket scored tweets per symbol and day (module docstring): columns ``ts`` (bucket end,
    int64 ns UTC), ``symbol``, ``score``, ``n_tweets``, ``pos``, ``neg``. Buckets with fewer than
    ``min_hits`` lexicon hits are dropped (no signal rather than a zero signal)."""
    off = parse_clock(cutoff)
    hits = [score_text(t) for t in tweets["text"]]
    pos = np.array([h[0] for h in hits], dtype=np.int64)
    neg = np.array([h[1] for h in hits], dtype=np.int64)
    ts = tweets["ts"].to_numpy(np.int64)
    # bucket end: the first cutoff instant >= ts (a tweet exactly at the cutoff closes that bucket)
    end = -((-(ts - off)) // NS_PER_DAY) * NS_PER_DAY + off
    df = pd.DataFrame({"ts": end, "symbol": tweets["symbol"].to_numpy(), "pos": pos, "neg": neg,
                       "n_tweets": 1})  # fmt: skip
    g = df.groupby(["ts", "symbol"], sort=True).sum().reset_index()
    g["score"] = (g["pos"] - g["neg"]) / (g["pos"] + g["neg"] + 1.0)
    g = g[(g["pos"] + g["neg"]) >= min_hits]
    return g[["ts", "symbol", "score", "n_tweets", "pos", "neg"]].reset_index(drop=True)


def write_signal_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a signal frame (``ts`` int64 ns, ``symbol``, value columns) as CSV with ISO times,
    atomically."""
    from data.timeutil import ns_to_iso
    from reports.html import atomic_write_text

    out = frame.copy()
    out.insert(0, "ts", ns_to_iso(out.pop("ts").to_numpy(np.int64)))
    path = Path(path)
    atomic_write_text(path, out.to_csv(index=False))
    return path
