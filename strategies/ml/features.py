"""Causal features from bars: the value at bar i uses bars 0..i only (their close is at ts[i]).

Names are small strings so a run config can list them (``"ret_24"``, ``"rsi_14"``):

=============  ===========================================================================
``ret_N``      log return over the last N bars: log(close[i] / close[i-N])
``vol_N``      standard deviation (ddof 1) of the last N one-bar log returns
``rsi_N``      Wilder's RSI (recursive smoothing with alpha 1/N, seeded by the first N changes)
``macd``       (EMA12 - EMA26 - signal9 EMA of it) / close; ``macd_F_S_G`` sets the spans
``boll_N``     Bollinger position (close - SMA_N) / (2 * std_N), ~[-1, 1] inside the bands
``volz_N``     z-score of log(1 + volume) against its last N values
``vratio_N``   volume / mean volume of the last N bars
``range_N``    mean of (high - low) / close over the last N bars
``dist_N``     close / max(high over N bars) - 1 (distance from the N-bar high)
=============  ===========================================================================

Multi-timeframe features (:func:`mtf_features`) compute the same names on coarser bars built by
:func:`data.resample.resample_bars` with ``stamp="end"`` (each coarse bar is stamped at its bin's
end) and expose each coarse value on the fine bars with :func:`data.resample.align_asof`: a fine
bar sees the last coarse bar that has *closed*, never the one in progress. (Stamping calendar
bins at their last constituent would expose a still-open day on a truncated history; the
leakage audit finds exactly that.)

Custom features are callables ``f(bars) -> array[len(bars)]`` given with a name; the leakage
audit (:mod:`strategies.ml.audit`) is what proves them causal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from data.errors import ConfigError
from data.resample import align_asof, resample_bars

_NAME = re.compile(r"^(ret|vol|rsi|boll|volz|vratio|range|dist)_(\d+)$|^macd(?:_(\d+)_(\d+)_(\d+))?$")

DEFAULT_FEATURES = ("ret_1", "ret_4", "ret_24", "vol_24", "rsi_14", "macd", "boll_20",
                    "volz_24", "range_24", "dist_72")


# ------------------------------------------------------------------------------------------
# rolling helpers (causal; NaN until the window is full)
# ------------------------------------------------------------------------------------------
def _rolling_sum(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    if n <= len(x):
        c = np.concatenate(([0.0], np.cumsum(x)))
        out[n - 1:] = c[n:] - c[:-n]
    return out


def rolling_mean(x: np.ndarray, n: int) -> np.ndarray:
    return _rolling_sum(x, n) / n


def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """Sample std over n values, computed per window from centred values (no cumsum-of-squares
    cancellation), vectorised with a strided view."""
    out = np.full(x.shape, np.nan)
    if n < 2 or n > len(x):
        return out
    w = np.lib.stride_tricks.sliding_window_view(x, n)
    out[n - 1:] = w.std(axis=1, ddof=1)
    return out


def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    if n <= len(x):
        out[n - 1:] = np.lib.stride_tricks.sliding_window_view(x, n).max(axis=1)
    return out


def ema(x: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average (alpha 2/(span+1)) seeded with x[0]; recursive, so causal."""
    a = 2.0 / (span + 1.0)
    return _recursive(x, a)


def _recursive(x: np.ndarray, a: float, seed_at: int = 0, seed: float | None = None) -> np.ndarray:
    from scipy.signal import lfilter

    out = np.full(x.shape, np.nan)
    if len(x) <= seed_at:
        return out
    s0 = x[seed_at] if seed is None else seed
    y, _ = lfilter([a], [1.0, a - 1.0], x[seed_at + 1:], zi=[(1.0 - a) * s0])
    out[seed_at] = s0
    out[seed_at + 1:] = y
    return out


def rsi(close: np.ndarray, n: int) -> np.ndarray:
    d = np.diff(close, prepend=np.nan)
    up, dn = np.where(d > 0, d, 0.0), np.where(d < 0, -d, 0.0)
    out = np.full(close.shape, np.nan)
    if len(close) <= n:
        return out
    au = _recursive(up, 1.0 / n, seed_at=n, seed=up[1:n + 1].mean())
    ad = _recursive(dn, 1.0 / n, seed_at=n, seed=dn[1:n + 1].mean())
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 - 100.0 / (1.0 + au / ad)
    out[(ad == 0) & (au > 0)] = 100.0
    out[(ad == 0) & (au == 0)] = 50.0
    out[:n] = np.nan
    return out


# ------------------------------------------------------------------------------------------
# one feature by name
# ------------------------------------------------------------------------------------------
def check_names(names: Sequence[str], argument: str = "features") -> None:
    for nm in names:
        if not _NAME.match(nm):
            raise ConfigError("unknown feature name", argument=argument, value=nm,
                              fix="use ret_N, vol_N, rsi_N, macd[_F_S_G], boll_N, volz_N, "
                                  "vratio_N, range_N, dist_N (N bars)")
        n = _window(nm)
        if n is not None and n < 1 or nm.startswith(("vol_", "boll_", "volz_")) and n < 2:
            raise ConfigError("feature window too short", argument=argument, value=nm,
                              fix="use a window of at least 2 bars (1 for ret/rsi/range/dist)")


def _window(nm: str) -> int | None:
    m = _NAME.match(nm)
    return int(m.group(2)) if m and m.group(2) else None


def bar_feature(bars: np.ndarray, nm: str) -> np.ndarray:
    """One named feature of a BAR array (see the module docstring); float64, NaN while warming."""
    close = np.asarray(bars["close"], dtype=np.float64)
    m = _NAME.match(nm)
    if m is None:
        check_names([nm])
    kind = m.group(1) or "macd"
    lc = np.log(close)
    if kind == "macd":
        f, s, g = (int(m.group(3)), int(m.group(4)), int(m.group(5))) if m.group(3) else (12, 26, 9)
        line = ema(close, f) - ema(close, s)
        out = (line - ema(line, g)) / close
        out[: s - 1] = np.nan  # the slow EMA needs its span before it means anything
        return out
    n = int(m.group(2))
    if kind == "ret":
        out = np.full(close.shape, np.nan)
        out[n:] = lc[n:] - lc[:-n]
        return out
    if kind == "vol":
        r = np.diff(lc, prepend=np.nan)
        out = rolling_std(r, n)
        out[:n] = np.nan
        return out
    if kind == "rsi":
        return rsi(close, n)
    if kind == "boll":
        sd = rolling_std(close, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (close - rolling_mean(close, n)) / (2.0 * sd)
        out[sd == 0] = 0.0
        return out
    vol = np.asarray(bars["volume"], dtype=np.float64)
    if kind == "volz":
        lv = np.log1p(np.maximum(vol, 0.0))
        sd = rolling_std(lv, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (lv - rolling_mean(lv, n)) / sd
        out[sd == 0] = 0.0
        return out
    if kind == "vratio":
        mv = rolling_mean(vol, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = vol / mv
        out[mv == 0] = 1.0
        return out
    if kind == "range":
        hl = (np.asarray(bars["high"], dtype=np.float64) - np.asarray(bars["low"])) / close
        return rolling_mean(hl, n)
    return close / rolling_max(np.asarray(bars["high"], dtype=np.float64), n) - 1.0  # dist


# ------------------------------------------------------------------------------------------
# feature sets
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureSet:
    """Which features to compute: bar features by name, multi-timeframe features
    ``{rule: names}`` (``{"4h": ("ret_1", "rsi_14"), "D": ("ret_1",)}``, bins in ``tz``) and
    custom callables ``{name: f(bars) -> array}``."""

    bar: tuple[str, ...] = DEFAULT_FEATURES
    mtf: tuple[tuple[str, tuple[str, ...]], ...] = ()
    tz: str = "UTC"
    custom: Mapping[str, Callable[[np.ndarray], np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_names(self.bar)
        for rule, names in self.mtf:
            check_names(names, argument=f"mtf[{rule}]")

    @property
    def names(self) -> list[str]:
        out = list(self.bar)
        out += [f"{rule}.{nm}" for rule, names in self.mtf for nm in names]
        return out + list(self.custom)

    @classmethod
    def parse(cls, bar: str | Sequence[str] = DEFAULT_FEATURES, mtf: str = "",
              tz: str = "UTC", custom: Mapping | None = None) -> FeatureSet:
        """From config strings: ``bar="ret_1,rsi_14"``, ``mtf="1h:ret_1,rsi_14;D:ret_1"``."""
        if isinstance(bar, str):
            bar = tuple(s.strip() for s in bar.split(",") if s.strip())
        groups = []
        for part in (p.strip() for p in (mtf or "").split(";") if p.strip()):
            if ":" not in part:
                raise ConfigError("multi-timeframe features need RULE:NAMES", argument="mtf",
                                  value=part, fix='e.g. "1h:ret_1,rsi_14;D:ret_1"')
            rule, names = part.split(":", 1)
            groups.append((rule.strip(), tuple(s.strip() for s in names.split(",") if s.strip())))
        return cls(bar=tuple(bar), mtf=tuple(groups), tz=tz, custom=dict(custom or {}))


def mtf_features(bars: np.ndarray, rule: str, names: Sequence[str], tz: str = "UTC") -> np.ndarray:
    """Features of the coarser ``rule`` bars as seen on each fine bar (closed coarse bars only)."""
    coarse = resample_bars(bars, rule, tz=tz, stamp="end")
    idx = align_asof(bars["ts"], coarse["ts"])
    out = np.full((len(bars), len(names)), np.nan)
    ok = idx >= 0
    for k, nm in enumerate(names):
        out[ok, k] = bar_feature(coarse, nm)[idx[ok]]
    return out


def compute_features(bars: np.ndarray, fs: FeatureSet) -> np.ndarray:
    """The feature matrix [len(bars), len(fs.names)] of one symbol's BAR array."""
    cols = [bar_feature(bars, nm) for nm in fs.bar]
    mats = [np.column_stack(cols)] if cols else []
    for rule, names in fs.mtf:
        mats.append(mtf_features(bars, rule, names, fs.tz))
    for nm, fn in fs.custom.items():
        v = np.asarray(fn(bars), dtype=np.float64)
        if v.shape != (len(bars),):
            raise ConfigError("a custom feature returned the wrong shape", argument=nm,
                              value=v.shape, fix=f"return one value per bar: ({len(bars)},)")
        mats.append(v[:, None])
    if not mats:
        raise ConfigError("no features", argument="features", value="",
                          fix="name at least one feature")
    X = np.hstack(mats)
    X[~np.isfinite(X)] = np.nan
    return X
