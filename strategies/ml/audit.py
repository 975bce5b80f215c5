"""The leakage audit: recompute on truncated data and prove the past did not change.

If a feature or a prediction at time t used anything after t, computing it on the data cut at
some time c >= t gives a different value than the full run. :func:`audit` picks random cut
times (seeded), truncates every symbol's bars at each cut (bars with ts <= c), re-runs features,
labels, the walk-forward fits and the predictions, and compares every feature, score and
position at bars <= c with the full run. Any difference is look-ahead; the result names the
feature (or the score) and the first time stamp that differs, and :meth:`AuditResult.check`
raises :class:`LeakageError`.

Labels are *meant* to use the future; they enter only through training, where the walk-forward
purge keeps them behind the test block, and the comparison of predictions covers that.
:func:`audit_frames` does the same for any function ``f(cut_ts) -> (ts, values)`` (order-book
features computed from ticks, for instance).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from data.errors import RunError


class LeakageError(RunError):
    """A feature or prediction changed when future data was removed: look-ahead."""


def _iso(t: int) -> str:
    from reports.timeutil import iso

    return iso(int(t))


@dataclass
class CutResult:
    cut_ts: int
    cut_bar: int
    max_diff: float
    diffs: dict[str, str] = field(default_factory=dict)  # name -> first differing time (ISO)

    @property
    def ok(self) -> bool:
        return not self.diffs

    def to_dict(self) -> dict[str, Any]:
        return {"cut": _iso(self.cut_ts), "cut_ts": int(self.cut_ts), "cut_bar": self.cut_bar,
                "ok": self.ok, "max_diff": self.max_diff, "diffs": dict(self.diffs)}


@dataclass
class AuditResult:
    cuts: list[CutResult]
    compared: int  # number of values compared over all cuts

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cuts)

    def leaks(self) -> dict[str, str]:
        """name -> earliest time it differed, over every cut."""
        out: dict[str, str] = {}
        for c in self.cuts:
            for k, v in c.diffs.items():
                out[k] = min(out.get(k, v), v)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "n_cuts": len(self.cuts), "compared": self.compared,
                "leaks": self.leaks(), "cuts": [c.to_dict() for c in self.cuts]}

    def check(self) -> AuditResult:
        if not self.ok:
            leaks = self.leaks()
            raise LeakageError(
                "look-ahead: values changed when data after the cut was removed",
                argument="features", value=leaks,
                fix="make every listed feature use data with ts <= t only (no centred windows, "
                    "no full-sample normalisation, no negative shifts)")
        return self


def _same(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Element-wise equality with NaN == NaN, over the leading axis (all other axes reduced)."""
    with np.errstate(invalid="ignore"):
        eq = (a == b) | (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= atol + rtol * np.abs(b))
    return eq.reshape(len(eq), -1).all(axis=1)


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    d = np.abs(a - b)
    both = np.isfinite(d)
    nan_mismatch = np.isnan(a) != np.isnan(b)
    return float("inf") if nan_mismatch.any() else float(d[both].max()) if both.any() else 0.0


def compare_prefix(ts: np.ndarray, full: Mapping[str, np.ndarray], cut: Mapping[str, np.ndarray],
                   cut_ts: int, rtol: float = 1e-9, atol: float = 1e-12) -> CutResult:
    """Compare arrays (leading axis = time ``ts``) of a truncated run with the full run."""
    c = int(np.searchsorted(ts, cut_ts, side="right"))
    res = CutResult(int(cut_ts), c - 1, 0.0)
    for name, a in full.items():
        b = cut[name]
        a = a[:c]
        if b.shape[0] != c:
            res.diffs[name] = f"{b.shape[0]} rows on the cut data, {c} expected"
            continue
        eq = _same(b, a, rtol, atol)
        res.max_diff = max(res.max_diff, _max_diff(a, b))
        if not eq.all():
            res.diffs[name] = _iso(ts[int(np.argmin(eq))])
    return res


def cut_times(ts: np.ndarray, n_cuts: int, seed: int, lo: int = 0) -> np.ndarray:
    """``n_cuts`` distinct random bar close times in ts[lo:-1] (seeded), sorted."""
    rng = np.random.default_rng(seed)
    pool = np.arange(max(lo, 0), len(ts) - 1)
    if len(pool) == 0:
        return np.empty(0, dtype=np.int64)
    k = rng.choice(pool, size=min(n_cuts, len(pool)), replace=False)
    return np.sort(ts[k])


def audit(panel: Mapping[str, np.ndarray], cfg, *, n_cuts: int = 5, seed: int = 0,
          rtol: float = 1e-9, atol: float = 1e-12,
          truncate: Callable[[int], tuple[Mapping[str, np.ndarray], Any]] | None = None
          ) -> AuditResult:
    """Audit the whole ML pipeline (features, walk-forward fits, scores, positions).

    ``truncate(cut) -> (panel, cfg)`` rebuilds the inputs from data up to the cut when they are
    derived from something finer than the bars (order-book features from ticks: the pipeline
    passes a function that re-reads the book up to the cut); by default the bars are cut.
    A ``first_test`` given as a fraction of the bars depends on how many bars there are, i.e.
    on the future; it is fixed to its bar number on the full data first (what a live run
    would do), otherwise every cut would move the folds."""
    import dataclasses

    from strategies.ml.model import walk_forward_predict

    n = len(np.unique(np.concatenate([np.asarray(b["ts"]) for b in panel.values()])))
    cfg = dataclasses.replace(cfg, first_test=cfg.bars_index(cfg.first_test, n, "first_test"))
    full = walk_forward_predict(panel, cfg, keep_features=True)
    lo = min(len(full.ts) - 2, max(10, int(0.1 * len(full.ts))))
    cuts = []
    compared = 0
    for t in cut_times(full.ts, n_cuts, seed, lo):
        if truncate is None:
            part, cfg_t = {s: b[b["ts"] <= t] for s, b in panel.items()}, cfg
        else:
            part, cfg_t = truncate(int(t))
            cfg_t = dataclasses.replace(cfg_t, first_test=cfg.first_test)
        part = {s: b for s, b in part.items() if len(b)}
        p = walk_forward_predict(part, cfg_t, keep_features=True)
        cols = [full.symbols.index(s) for s in p.symbols]
        keep = p.ts <= t  # a bar still open at the cut is not compared
        arrays_full = {nm: full.X[:, cols, k] for k, nm in enumerate(full.names)}
        arrays_full.update(score=full.score[:, cols], position=full.position[:, cols])
        arrays_cut = {nm: p.X[keep, :, k] for k, nm in enumerate(p.names)}
        arrays_cut.update(score=p.score[keep], position=p.position[keep])
        r = compare_prefix(full.ts, arrays_full, arrays_cut, int(t), rtol, atol)
        compared += sum(int(np.size(v)) for v in arrays_cut.values())
        cuts.append(r)
    return AuditResult(cuts, compared)


def audit_frames(fn: Callable[[int | None], tuple[np.ndarray, Mapping[str, np.ndarray]]], *,
                 n_cuts: int = 5, seed: int = 0, rtol: float = 1e-9,
                 atol: float = 1e-12) -> AuditResult:
    """Audit any ``fn(cut_ts) -> (ts, {name: array})``; ``fn(None)`` is the full computation
    and ``fn(c)`` must use only input events with time <= c."""
    ts, full = fn(None)
    cuts = []
    compared = 0
    for t in cut_times(np.asarray(ts), n_cuts, seed, lo=1):
        ts_c, part = fn(int(t))
        keep = np.asarray(ts_c) <= t  # a bin still open at the cut is not compared
        part = {k: np.asarray(v)[keep] for k, v in part.items()}
        compared += sum(int(np.size(v)) for v in part.values())
        cuts.append(compare_prefix(np.asarray(ts), full, part, int(t), rtol, atol))
    return AuditResult(cuts, compared)
