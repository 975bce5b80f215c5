"""Time helpers for reports: int64 ns stamps from any pandas datetime resolution, ISO strings.

pandas 3 creates microsecond-resolution indexes by default, so ``index.asi8`` is not always
nanoseconds; every report module goes through :func:`ns` instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400 * 1_000_000_000
NS_PER_YEAR = 365.25 * NS_PER_DAY


def ns(index) -> np.ndarray:
    """int64 nanoseconds since the epoch (UTC) of a DatetimeIndex of any unit."""
    return pd.DatetimeIndex(index).as_unit("ns").asi8


def iso(ts) -> str | None:
    """ISO 8601 UTC with a ``Z`` suffix (None for missing)."""
    if ts is None or pd.isna(ts):
        return None
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
