"""From a config to a run folder with a model section: what ``tape ml run`` does.

The config is the ``tape run`` TOML (``[strategy] name = "ml_signal"``, ``params``, ``[data]``,
``[broker]``, ``[run]``, ``[metrics]``) plus an optional ``[ml]`` table the engine does not see:

```toml
[ml]
book = "lobster"            # order-book features: "lobster" | "binance" (else: bar data)
files = ["...message_10.csv.gz", "...orderbook_10.csv.gz"]   # relative to the config file
interval = "10s"            # decision grid (bins [g - interval, g), stamped at g)
levels = [1, 3, 5]          # imbalance depths
audit_cuts = 3              # run the leakage audit with this many cuts (0: skip)
```

:func:`run_ml` loads the market (or builds mid-price bars and book features from ticks), runs
``ml_signal`` through :func:`engine.run` with the bars' times bound, evaluates the out-of-sample
predictions (development and held-out forward-test periods separately, with the trading metrics
of both periods), optionally audits for leakage, and writes ``model.json`` and
``predictions.csv`` into the run folder before :meth:`engine.result.Result.save` renders the
report (the report shows a model section when ``model.json`` is there).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from data.errors import ConfigError

ML_KEYS = ("book", "files", "interval", "levels", "audit_cuts", "audit_seed", "symbol")


def _load(config: Any) -> tuple[dict, Path]:
    if isinstance(config, str | Path):
        from engine.config import load_toml

        return load_toml(config), Path(config).resolve().parent
    if isinstance(config, dict):
        return copy.deepcopy(config), Path.cwd()
    raise ConfigError("config must be a TOML path or a dict", argument="config",
                      value=type(config).__name__, fix="pass examples/ml_*.toml")


def book_market(ml: dict, base: Path):
    """(bars {symbol: BAR}, BookFrame, BookEvents) from the ``[ml]`` table's tick files."""
    from strategies.ml.book_features import binance_events, book_features, lobster_events

    files = [str((base / f) if not Path(f).is_absolute() else f) for f in ml.get("files", [])]
    kind = ml.get("book")
    if kind == "lobster":
        from data.readers import read_lobster

        if len(files) != 2:
            raise ConfigError("the LOBSTER book needs [message file, orderbook file]",
                              argument="ml.files", value=files, fix="list both files")
        ev = lobster_events(read_lobster(files[0], files[1]))
    elif kind == "binance":
        from data.readers import read_binance_stream

        ev = binance_events(read_binance_stream(files))
    else:
        raise ConfigError("unknown book source", argument="ml.book", value=kind,
                          fix='use "lobster" or "binance"')
    frame = book_features(ev, ml.get("interval", "10s"), levels=tuple(ml.get("levels", (1, 3, 5))))
    return {ml.get("symbol") or ev.symbol or "BOOK": frame.bars}, frame, ev


def book_truncation(strat, ev, ml: dict):
    """``cut -> (panel, cfg)`` rebuilding book features and mid bars from the ticks up to the
    cut (what :func:`strategies.ml.audit.audit` calls for order-book configs)."""
    import dataclasses

    from strategies.ml.book_features import book_features
    from strategies.ml.features import FeatureSet

    cfg = strat.config()
    sym = ml.get("symbol") or ev.symbol or "BOOK"

    def truncate(cut: int):
        f = book_features(ev.until(cut), ml.get("interval", "10s"),
                          levels=tuple(ml.get("levels", (1, 3, 5))), start=int(ev.ts[0]),
                          end=cut)
        fs = FeatureSet(bar=cfg.features.bar, mtf=cfg.features.mtf, tz=cfg.features.tz,
                        custom=f.feature_callables())
        return {sym: f.bars}, dataclasses.replace(cfg, features=fs)

    return truncate


def prepare(config: Any, *, develop: bool = False, **overrides: Any):
    """(strategy bound to the market's times, {symbol: BAR}) of a config, plus what
    :func:`run_ml` needs: returns ``(strategy, panel)``; the engine tree, market and book frame
    are kept on the strategy as ``_prepared``.

    ``develop``: cut the data where the forward test starts before anything is computed, with
    ``first_test`` fixed to its bar number on the full data (the same folds as the full run) —
    for choosing parameters without ever seeing the held-out period."""
    from engine.compiled import market_data
    from engine.market import load_market
    from strategies.ml.strategy import MLSignal

    tree, base = _load(config)
    ml = dict(tree.pop("ml", {}) or {})
    unknown = set(ml) - set(ML_KEYS)
    if unknown:
        raise ConfigError("unknown [ml] key", argument=f"ml.{sorted(unknown)[0]}",
                          value=sorted(unknown), fix=f"keys: {', '.join(ML_KEYS)}")
    strat_tbl = tree.setdefault("strategy", {})
    params = {**dict(strat_tbl.pop("params", {}) or {}), **overrides}
    strat_tbl["name"] = strat_tbl.get("name", "ml_signal")
    frame = ev = None
    market = None
    if ml.get("book"):
        market, frame, ev = book_market(ml, base)
        tree.pop("data", None)
        mk = load_market(market)
    else:
        data_tbl = tree.get("data", {})
        path = data_tbl.get("path")
        if isinstance(path, str) and not path.startswith("catalog://") \
                and not Path(path).is_absolute():
            data_tbl["path"] = str(base / path)
        elif isinstance(path, list):
            data_tbl["path"] = [p if Path(p).is_absolute() else str(base / p) for p in path]
        p = data_tbl.get("path")
        mk = load_market(p if isinstance(p, str) else list(p or []),
                         symbol=data_tbl.get("symbol"), start=data_tbl.get("start"),
                         end=data_tbl.get("end"))
    if develop:
        market, mk = _development_only(tree, market, mk, params)
    strat = MLSignal(**params).bind(mk.ts, frame.feature_callables() if frame else None,
                                    mk.symbols)
    strat._prepared = {"tree": tree, "market": market, "frame": frame, "ml": ml,
                       "truncate": book_truncation(strat, ev, ml) if ev is not None else None}
    return strat, strat.panel(market_data(mk))


def _development_only(tree: dict, market, mk, params: dict):
    """Drop the forward-test bars (see :func:`prepare`); updates ``params`` in place."""
    import pandas as pd

    from engine.market import load_market
    from strategies.ml.strategy import MLSignal

    cfg = MLSignal(**params).config()
    n = len(mk.ts)
    fwd = n - cfg.bars_index(cfg.forward_test, n, "forward_test")
    if fwd >= n:
        raise ConfigError("there is no forward-test period to hold out", argument="forward_test",
                          value=cfg.forward_test, fix="set forward_test (e.g. 0.2) or drop --develop")
    params["first_test"] = cfg.bars_index(cfg.first_test, n, "first_test")
    params["forward_test"] = 0.0
    end = pd.Timestamp(int(mk.ts[fwd - 1]), tz="UTC").isoformat()
    if market is not None:
        market = {s: b[b["ts"] <= mk.ts[fwd - 1]] for s, b in market.items()}
        return market, load_market(market)
    d = tree.setdefault("data", {})
    d["end"] = end
    p = d.get("path")
    return None, load_market(p if isinstance(p, str) else list(p or []), symbol=d.get("symbol"),
                             start=d.get("start"), end=end)


def run_ml(config: Any, out: str | Path | None = None, *, report: bool = True,
           audit_cuts: int | None = None, develop: bool = False, **overrides: Any):
    """Run the ML config; write the run folder to ``out`` (if given). Returns
    ``(Result, model_info)``; ``overrides`` are strategy parameters; ``develop`` runs on the
    development period only (see :func:`prepare`)."""
    import engine

    strat, panel = prepare(config, develop=develop, **overrides)
    prep = strat._prepared
    res = engine.run(prep["tree"], market=prep["market"], strategy=strat)
    pred = strat.predictions
    info = model_info(strat, pred, res, prep["frame"])
    info["develop_only"] = bool(develop)
    cuts = prep["ml"].get("audit_cuts", 0) if audit_cuts is None else audit_cuts
    if cuts:
        from strategies.ml.audit import audit

        info["audit"] = audit(panel, strat.config(), n_cuts=int(cuts),
                              seed=int(prep["ml"].get("audit_seed", 0)),
                              truncate=prep["truncate"]).to_dict()
    if out is not None:
        write_model_files(Path(out), info, pred)
        res.save(out, report=report)
    return res, info


def _period(eq, lo: int, hi: int | None, conv) -> dict[str, Any] | None:
    from reports.metrics import compute_stats

    sel = (eq["ts"] >= lo) if hi is None else (eq["ts"] >= lo) & (eq["ts"] < hi)
    part = eq[sel]
    if len(part) < 3:
        return None
    s = compute_stats(part["equity"], benchmark=part["benchmark"], conventions=conv)
    keep = ("start", "end", "total_return", "cagr", "sharpe", "max_drawdown", "volatility",
            "benchmark_total_return")
    out = {k: s.get(k) for k in keep if k in s}
    b = part["benchmark"].to_numpy()
    out["benchmark_total_return"] = float(b[-1] / b[0] - 1.0)
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in out.items()}


def model_info(strat, pred, res, frame=None) -> dict[str, Any]:
    """The model.json document: spec, evaluation, per-period trading metrics."""
    from reports.runfolder import conventions_from
    from reports.timeutil import iso
    from strategies.ml.evaluate import evaluate
    from strategies.ml.persist import model_spec

    cfg = strat.config()
    ts = pred.ts
    first = next((r["test_start_bar"] for r in pred.folds), None)
    fwd = pred.forward_start
    eq = res.equity
    conv = conventions_from(res.config.metrics)
    trading = {}
    if first is not None and first < fwd:
        trading["development"] = _period(eq, int(ts[first]), int(ts[fwd]) if fwd < len(ts)
                                         else None, conv)
    if fwd < len(ts):
        trading["forward_test"] = _period(eq, int(ts[fwd]), None, conv)
    info = {
        "format": "tapereader.ml.v1",
        "strategy": strat.name,
        "params": dict(strat.params),
        "model": model_spec(cfg, pred.task),
        "features": pred.names,
        "symbols": pred.symbols,
        "n_bars": int(len(ts)),
        "first_test": iso(int(ts[first])) if first is not None else None,
        "forward_test_start": iso(int(ts[fwd])) if fwd < len(ts) else None,
        "n_folds": len(pred.folds),
        "evaluation": evaluate(pred, period_returns=trading),
    }
    if frame is not None:
        info["book"] = {"features": frame.names, "bins": int(len(frame.ts)),
                        "median_half_spread_bps": frame.half_spread_bps}
    return info


def predictions_frame(pred):
    import pandas as pd

    from reports.timeutil import iso

    n, m = pred.score.shape
    rows = {"ts": np.repeat(pred.ts, m), "symbol": np.tile(np.asarray(pred.symbols, object), n),
            "fold": pred.fold.reshape(-1), "score": pred.score.reshape(-1),
            "label": pred.label.reshape(-1), "position": pred.position.reshape(-1)}
    df = pd.DataFrame(rows)
    df = df[df["fold"] >= 0]
    df.insert(0, "time", [iso(int(t)) for t in df["ts"]])
    df["period"] = np.where(df["ts"].to_numpy() >= (pred.ts[pred.forward_start]
                            if pred.forward_start < n else np.iinfo(np.int64).max),
                            "forward_test", "development")
    return df


def write_model_files(run_dir: Path, info: dict, pred) -> None:
    from reports.html import atomic_write_text

    run_dir.mkdir(parents=True, exist_ok=True)
    manifest = run_dir / "manifest.json"
    if manifest.exists():  # an older complete run here is no longer complete while we write
        manifest.unlink()
    atomic_write_text(run_dir / "model.json", json.dumps(_clean(info), indent=1,
                                                         allow_nan=False) + "\n")
    atomic_write_text(run_dir / "predictions.csv",
                      predictions_frame(pred).to_csv(index=False, lineterminator="\n"))


def _clean(obj):
    """JSON-safe: numpy scalars to Python, non-finite floats to None."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
