"""``tape sentiment``: build a lexicon sentiment signal file from tweet files (thin layer over
:mod:`strategies.signals.sentiment`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("sentiment")
@click.argument("tweets", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Signal CSV to write (ts, symbol, score, n_tweets, pos, neg).")  # fmt: skip
@click.option("--cutoff", default="00:00", show_default=True,
              help="UTC time of day that closes each daily bucket (the signal's time stamp).")  # fmt: skip
@click.option("--min-hits", type=int, default=0, show_default=True,
              help="Drop buckets with fewer lexicon hits (no signal instead of a zero signal).")  # fmt: skip
def sentiment(tweets, out, cutoff, min_hits):
    """Score TWEETS (StockNet JSONL, optionally gzipped) with the lexicon, one row per symbol
    and day."""
    from data.errors import TapeError
    from strategies.signals.sentiment import daily_sentiment, read_tweets, write_signal_csv

    try:
        frame = daily_sentiment(read_tweets(tweets), cutoff=cutoff, min_hits=min_hits)
        write_signal_csv(frame, out)
    except TapeError as exc:
        raise click.ClickException(str(exc)) from None
    per = frame.groupby("symbol")["score"].agg(["count", "mean"])
    for sym, row in per.iterrows():
        click.echo(f"{sym}: {int(row['count'])} days, mean score {row['mean']:.4f}")
    click.echo(f"wrote {out} ({len(frame)} rows)")
