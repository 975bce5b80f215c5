"""``tape sentiment``: build a lexicon sentiment signal file from tweet files (thin layer over
:mod:`strategies.signals.sentiment`)."""

from __future__ import annotations

from pathlib import Path

import click

from data.cli_output import output_options


@click.command("sentiment")
@click.argument("tweets", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Signal CSV to write (ts, symbol, score, n_tweets, pos, neg).")  # fmt: skip
@click.option("--cutoff", default="00:00", show_default=True,
              help="UTC time of day that closes each daily bucket (the signal's time stamp).")  # fmt: skip
@click.option("--min-hits", type=int, default=0, show_default=True,
              help="Drop buckets with fewer lexicon hits (no signal instead of a zero signal).")  # fmt: skip
@output_options
def sentiment(tweets, out, cutoff, min_hits, as_json, quiet):
    """Score TWEETS (StockNet JSONL, optionally gzipped) with the lexicon, one row per symbol
    and day."""
    from data.errors import TapeError
    from strategies.signals.sentiment import daily_sentiment, read_tweets, write_signal_csv

    try:
        frame = daily_sentiment(read_tweets(tweets), cutoff=cutoff, min_hits=min_hits)
        write_signal_csv(frame, out)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    from data.cli_output import emit

    per = frame.groupby("symbol")["score"].agg(["count", "mean"])
    text = [
        f"{sym}: {int(r['count'])} days, mean score {r['mean']:.4f}" for sym, r in per.iterrows()
    ]
    text.append(f"wrote {out} ({len(frame)} rows)")
    summary = {"out": out, "rows": len(frame), "tweets": int(frame["n_tweets"].sum()),
               "symbols": {sym: {"days": int(r["count"]), "mean_score": float(r["mean"])}
                           for sym, r in per.iterrows()}}  # fmt: skip
    emit(summary, text, as_json=as_json, quiet=quiet)
