"""Purged, embargoed walk-forward splits.

The timeline is cut into test blocks of ``retrain_every`` bars starting at bar ``first_test``;
the model for a block is trained at the block's start on samples that satisfy, for block
``[s, e)``:

* **purging**: the sample's label is complete before the block: ``end[j] < s - embargo``
  (``end[j]`` is the last bar the label of sample j looks at, :mod:`strategies.ml.labels`), so
  no training label overlaps the test period (and a label is never used before it is known);
* **embargo**: the ``embargo`` bars just before the block are dropped as well (serially
  correlated features and labels next to the test period; López de Prado 2018, ch. 7);
* **window**: ``"expanding"`` uses everything since bar 0; ``"rolling"`` only samples with
  ``bar[j] >= s - train_bars``.

Blocks are laid out from the start of the data, so truncating the data at any time leaves every
earlier block and its training set unchanged — the property the leakage audit checks.
Samples are (bar, symbol) pairs given by their bar index, so one split serves a pooled model
over several symbols.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.errors import ConfigError

WINDOWS = ("expanding", "rolling")


@dataclass(frozen=True)
class Fold:
    k: int
    test_start: int  # first bar of the test block
    test_stop: int  # one past its last bar
    train: np.ndarray  # sample indices used for training
    test: np.ndarray  # sample indices predicted by this fold's model


def walk_forward(bar: np.ndarray, end: np.ndarray, n_bars: int, *, first_test: int,
                 retrain_every: int, embargo: int = 0, window: str = "expanding",
                 train_bars: int = 0, usable: np.ndarray | None = None,
                 min_train: int = 1) -> list[Fold]:
    """The folds over samples with bar index ``bar`` and label end ``end`` (see module doc).

    ``usable`` marks samples with finite features and label (only those train); every sample
    whose bar falls in a block is listed in that block's ``test``. Blocks whose training set has
    fewer than ``min_train`` samples are skipped (their bars get no prediction).
    """
    for nm, v, lo in (("first_test", first_test, 1), ("retrain_every", retrain_every, 1),
                      ("embargo", embargo, 0)):
        if not isinstance(v, int | np.integer) or v < lo:
            raise ConfigError(f"{nm} must be an integer >= {lo}", argument=nm, value=v,
                              fix=f"give a whole number of bars >= {lo}")
    if window not in WINDOWS:
        raise ConfigError("unknown training window", argument="window", value=window,
                          fix=f"use one of {WINDOWS}")
    if window == "rolling" and train_bars < 1:
        raise ConfigError("a rolling window needs train_bars >= 1", argument="train_bars",
                          value=train_bars, fix="e.g. train_bars=2000")
    bar = np.asarray(bar, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    usable = np.ones(len(bar), bool) if usable is None else np.asarray(usable, bool)
    folds = []
    order = np.argsort(bar, kind="stable")
    sorted_bar = bar[order]
    for k, s in enumerate(range(int(first_test), int(n_bars), int(retrain_every))):
        e = min(s + int(retrain_every), int(n_bars))
        ok = usable & (end < s - embargo)
        if window == "rolling":
            ok &= bar >= s - train_bars
        train = np.flatnonzero(ok)
        lo, hi = np.searchsorted(sorted_bar, [s, e])
        test = np.sort(order[lo:hi])
        if len(train) < min_train or len(test) == 0:
            continue
        folds.append(Fold(k, s, e, train, test))
    return folds
