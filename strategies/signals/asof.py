"""Timestamped external signals and the strict as-of join onto bar times.

A signal file (CSV or Parquet) has one row per (time, symbol): ``ts``, ``symbol`` and a value
column, ``score`` (ranked cross-sectionally) or ``weight`` (a target weight). The join rule:

* a signal stamped ``ts`` is **usable from ``ts + delay`` on, never earlier**: at bar time t a
  symbol's value is the latest signal with ``ts + delay <= t``;
* a symbol with no usable signal yet is ``MISSING``; one whose latest usable signal is older
  than ``max_age`` (``t - ts > max_age``) is ``STALE``. Both are reported per bar and symbol, and
  the caller decides (the long-short strategy leaves them out of the ranking).

The join at t depends only on signals with ``ts + delay <= t``: rows added after t (or rows
whose delay has not passed) cannot change it, which the tests check by truncating the file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import polars as pl

from data.errors import ConfigError, DataError
from data.timeutil import parse_timestamps

OK = 0
MISSING = 1
STALE = 2
VALUE_COLUMNS = ("score", "weight")


@dataclasses.dataclass(frozen=True)
class Signals:
    """Signal rows sorted by (symbol, ts); ``kind`` is the value column (score or weight)."""

    ts: np.ndarray  # int64 ns UTC
    symbol: np.ndarray  # object array of str
    value: np.ndarray  # float64
    kind: str
    source: str = ""

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def symbols(self) -> list[str]:
        return sorted(set(self.symbol.tolist()))


def make_signals(ts, symbol, value, *, kind: str = "score", source: str = "") -> Signals:
    """Validate and sort in-memory signal rows (see :func:`read_signals` for the checks)."""
    ts = np.asarray(ts, dtype=np.int64)
    symbol = np.asarray(symbol, dtype=object)
    value = np.asarray(value, dtype=np.float64)
    if not (len(ts) == len(symbol) == len(value)):
        raise DataError("signal columns have different lengths", file=source or None,
                        value=(len(ts), len(symbol), len(value)), fix="pass equal-length columns")  # fmt: skip
    bad = np.flatnonzero(~np.isfinite(value))
    if len(bad):
        raise DataError("signal value is not a finite number", file=source or None,
                        row=int(bad[0]) + 2, column=kind, value=value[bad[0]],
                        fix="drop the row or give a number (a missing signal is simply no row)")  # fmt: skip
    order = np.lexsort((ts, symbol.astype(str)))
    ts, symbol, value = ts[order], symbol[order], value[order]
    dup = np.flatnonzero((ts[1:] == ts[:-1]) & (symbol[1:] == symbol[:-1]))
    if len(dup):
        i = order[dup[0] + 1]
        raise DataError("two signals for the same symbol and time", file=source or None,
                        row=int(i) + 2, value=(str(symbol[dup[0]]), int(ts[dup[0]])),
                        fix="keep one row per (ts, symbol)")  # fmt: skip
    return Signals(ts, symbol, value, kind, source)


def read_signals(path: str | Path, *, value_column: str | None = None, ts_column: str = "ts",
                 symbol_column: str = "symbol", tz: str = "UTC") -> Signals:  # fmt: skip
    """Read a CSV or Parquet signal file. ``value_column`` defaults to ``score`` or ``weight``,
    whichever the file has; naive time stamps are read in ``tz``. Row numbers in errors count
    the CSV header as row 1."""
    path = Path(path)
    if not path.exists():
        raise DataError("signal file not found", file=str(path), fix="check the path")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pl.read_parquet(path)
        else:
            df = pl.read_csv(path, infer_schema_length=0)  # all text: parse explicitly below
    except Exception as exc:  # polars raises many types; name the file once
        raise DataError(f"cannot read the signal file: {exc}", file=str(path),
                        fix="give a CSV or Parquet file with ts, symbol and score/weight columns") from None  # fmt: skip
    cols = df.columns
    if value_column is None:
        found = [c for c in VALUE_COLUMNS if c in cols]
        if len(found) != 1:
            raise DataError("cannot tell the value column", file=str(path), value=cols,
                            fix="have exactly one of 'score' or 'weight', or pass value_column")  # fmt: skip
        value_column = found[0]
    for c in (ts_column, symbol_column, value_column):
        if c not in cols:
            raise DataError("missing column", file=str(path), column=c, value=cols,
                            fix=f"name the columns {ts_column}, {symbol_column}, {value_column}")  # fmt: skip
    ts = parse_timestamps(df[ts_column], tz=tz, file=str(path), column=ts_column, first_line=2)
    raw = df[value_column]
    vals = raw.cast(pl.Float64, strict=False)
    bad = vals.is_null() & raw.is_not_null() | raw.is_null()
    if bad.any():
        i = int(bad.arg_true()[0])
        raise DataError("signal value is not a number", file=str(path), row=i + 2,
                        column=value_column, value=raw[i],
                        fix="give a number (a missing signal is simply no row)")  # fmt: skip
    kind = "weight" if value_column == "weight" else "score"
    sym = df[symbol_column].cast(pl.String).to_numpy().astype(object)
    return make_signals(ts, sym, vals.to_numpy(), kind=kind, source=str(path))


@dataclasses.dataclass(frozen=True)
class AsOf:
    """Signals joined onto ``(T, N)`` bar times x symbols."""

    value: np.ndarray  # float64; NaN unless status == OK
    signal_ts: np.ndarray  # int64 ts of the signal used; -1 when MISSING
    status: np.ndarray  # int8: OK, MISSING or STALE

    def counts(self) -> dict[str, int]:
        return {"ok": int((self.status == OK).sum()), "missing": int((self.status == MISSING).sum()),
                "stale": int((self.status == STALE).sum())}  # fmt: skip


def asof_join(signals: Signals, bar_ts, symbols, *, delay_ns: int = 0,
              max_age_ns: int | None = None) -> AsOf:  # fmt: skip
    """Join ``signals`` onto bar times ``bar_ts`` (sorted int64 ns) for ``symbols`` (module rules)."""
    if delay_ns < 0:
        raise ConfigError("delay must be >= 0 (a negative delay would use signals early)",
                          argument="delay", value=delay_ns, fix="use 0 or a positive duration")  # fmt: skip
    if max_age_ns is not None and max_age_ns <= 0:
        raise ConfigError("max_age must be positive", argument="max_age", value=max_age_ns,
                          fix="use e.g. '3d', or leave it unset for no limit")  # fmt: skip
    bar_ts = np.asarray(bar_ts, dtype=np.int64)
    T, N = len(bar_ts), len(symbols)
    value = np.full((T, N), np.nan)
    used = np.full((T, N), -1, dtype=np.int64)
    status = np.full((T, N), MISSING, dtype=np.int8)
    sym = signals.symbol.astype(str)
    for j, s in enumerate(symbols):
        lo, hi = np.searchsorted(sym, s, "left"), np.searchsorted(sym, s, "right")
        if lo == hi:
            continue
        ts = signals.ts[lo:hi]
        k = np.searchsorted(ts + delay_ns, bar_ts, side="right") - 1  # last with ts+delay <= t
        have = k >= 0
        kk = k[have]
        value[have, j] = signals.value[lo:hi][kk]
        used[have, j] = ts[kk]
        status[have, j] = OK
        if max_age_ns is not None:
            stale = have & (bar_ts - used[:, j] > max_age_ns)
            status[stale, j] = STALE
            value[stale, j] = np.nan
    return AsOf(value, used, status)
