"""Walk-forward analysis: optimise in-sample, trade out-of-sample, stitch the out-of-sample runs.

    from engine.walkforward import walk_forward
    wf = walk_forward("sma_cross", "data/samples/pairs/daily-KO.csv",
                      grid=["fast=5:30:5", "slow=20:100:10"], constraints=["fast < slow"],
                      train="3Y", test="1Y", out="runs/ko_wf")

For every window of :func:`engine.windows.split` (rolling, or ``anchored`` = expanding):

1. the grid is swept on the train bars only (a resumable sweep folder per window,
   ``DIR/windows/NNN/train``); the best combination by ``metric`` is chosen;
2. that combination runs on the test window (``DIR/windows/NNN/test``, a run folder). So that
   indicators are warm when the test window opens, the run starts ``warmup`` bars earlier
   (default: at the train window's start); only the test bars count: the window's
   out-of-sample returns are the equity's step returns from the last bar before the test
   window to its last bar. Everything the run decides uses data up to each bar only, and the
   parameters were chosen on data before the test window, so nothing looks ahead.
3. the windows' out-of-sample returns are chained into one equity curve (the starting cash
   compounded by every test bar's return) in ``DIR/oos``, a run folder with its report, and
   ``DIR/windows.csv`` / ``DIR/report.html`` list each window's choice, in-sample and
   out-of-sample metric and the parameter stability across windows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data.catalog.files import atomic_write_bytes
from data.errors import ConfigError
from engine.progress import Progress
from engine.sweep_backtest import Plan
from engine.windows import Window, split


@dataclasses.dataclass
class WalkForwardResult:
    out: Path
    windows: pd.DataFrame  # one row per window
    stats: dict[str, Any]  # of the stitched out-of-sample equity
    equity: pd.Series  # stitched out-of-sample equity (UTC index)
    elapsed_s: float

    def summary(self) -> dict[str, Any]:
        keys = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "n_trades")
        return {"out": str(self.out), "windows": int(len(self.windows)),
                "oos": {k: self.stats.get(k) for k in keys},
                "elapsed_s": round(self.elapsed_s, 3)}


def _slice(bars: dict[str, np.ndarray], t0: int, t1: int) -> dict[str, np.ndarray]:
    out = {}
    for s, a in bars.items():
        part = a[(a["ts"] >= t0) & (a["ts"] <= t1)]
        if len(part):
            out[s] = part
    return out


def walk_forward(strategy: Any, data: Any, *, grid: Sequence[str], out: str | Path,
                 train: str | int, test: str | int, anchored: bool = False,
                 metric: str = "sharpe", params: dict[str, Any] | None = None,
                 options: dict[str, Any] | None = None, constraints: Sequence[str] = (),
                 random: int | None = None, seed: int = 0, warmup: int | None = None,
                 symbol: str | None = None, start: Any = None, end: Any = None,
                 executor: str = "local", workers: int | None = None,
                 address: str | None = None, fresh: bool = False,
                 progress: bool | None = None, report: bool = True) -> WalkForwardResult:
    """Run a walk-forward analysis into ``out`` (see the module docstring)."""
    import engine
    from engine.market import load_market
    from reports.sweep_report import ranked

    t_start = time.perf_counter()
    plan = Plan(strategy, grid=grid, params=params, options=options, constraints=constraints,
                random=random, seed=seed)
    mk = load_market(data, symbol=symbol, start=start, end=end)
    bars = {s: mk.bars[s] for s in mk.symbols}
    ts = mk.ts
    wins = split(ts, train=train, test=test, anchored=anchored)
    if warmup is not None and (not isinstance(warmup, int) or warmup < 0):
        raise ConfigError("--warmup is a number of bars >= 0", argument="--warmup",
                          value=warmup, fix="e.g. --warmup 200")
    out = Path(out)
    rows, segments = [], []
    label = ", ".join(str(s["source"]) for s in mk.sources)
    with Progress("walk-forward", len(wins), enabled=progress) as bar:
        for w in wins:
            wdir = out / "windows" / f"{w.index:03d}"
            tr = _slice(bars, int(ts[w.train_start]), int(ts[w.train_end - 1]))
            sw = plan.run(tr, wdir / "train", label=f"{label} (train window {w.index})",
                          executor=executor, workers=workers, address=address, fresh=fresh,
                          progress=False)
            best_rows = ranked(sw.table, metric)
            if not len(best_rows):
                raise ConfigError(f"no combination has a finite {metric} in train window "
                                  f"{w.index}", argument="--metric", value=metric,
                                  fix="use a longer --train or another --metric")
            best = best_rows.iloc[0]
            chosen = {n: _py(best[n]) for n in plan.space.names}
            sp = {k: v for k, v in chosen.items() if plan.info.param(k) is not None}
            op = {k: v for k, v in chosen.items() if plan.info.param(k) is None}
            first = w.train_start if warmup is None else max(0, w.test_start - warmup)
            te = _slice(bars, int(ts[first]), int(ts[w.test_end - 1]))
            res = engine.run(market=te, strategy=plan.info.cls,
                             params={**plan.params, **sp}, **{**plan.options, **op})
            res.save(wdir / "test", report=False)
            seg = _oos_segment(res, int(ts[w.test_start]))
            segments.append(seg)
            oos = _segment_stats(seg, res)
            rows.append({**w.as_dict(ts), **chosen, f"is_{metric}": _py(best[metric]),
                         f"oos_{metric}": oos.get(metric), "oos_total_return":
                         oos.get("total_return"), "oos_n_trades": int(len(seg["trades"]))})
            bar.advance()
    table = pd.DataFrame(rows)
    equity, stats = _write_oos(out, segments, res, plan, report=report)
    _write_json_csv(out, table, plan, metric, wins, ts, anchored, train, test, warmup, stats)
    if report:
        from reports.walkforward_report import write_walkforward_report

        write_walkforward_report(out, table, plan.space.names, metric, stats)
    return WalkForwardResult(out, table, stats, equity, time.perf_counter() - t_start)


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _oos_segment(res, test_start_ns: int) -> dict[str, Any]:
    """The test part of a window run: step returns from the bar before the test window."""
    eq = res.equity
    ts = eq["ts"].to_numpy()
    k = int(np.searchsorted(ts, test_start_ns, side="left"))
    e = eq["equity"].to_numpy()
    b = eq["benchmark"].to_numpy()
    prev_e = e[k - 1] if k > 0 else res.initial_cash
    prev_b = b[k - 1] if k > 0 else res.initial_cash
    r = np.diff(np.concatenate(([prev_e], e[k:]))) / np.concatenate(([prev_e], e[k:-1]))
    rb = np.diff(np.concatenate(([prev_b], b[k:]))) / np.concatenate(([prev_b], b[k:-1]))
    trades = res.trades
    in_test = (trades["exit_ts"].to_numpy() >= test_start_ns) | (trades["status"] == "open")
    fills = res.fills
    return {"ts": ts[k:], "r": r, "rb": rb, "exposure": eq["exposure"].to_numpy()[k:],
            "trades": trades[in_test.to_numpy() if hasattr(in_test, "to_numpy") else in_test],
            "fills": fills[fills["ts"].to_numpy() >= test_start_ns]}


def _segment_stats(seg: dict[str, Any], res) -> dict[str, Any]:
    from reports.metrics import compute_stats
    from reports.runfolder import conventions_from

    idx = pd.DatetimeIndex(np.concatenate(([seg["ts"][0] - 1], seg["ts"])).astype(
        "datetime64[ns]")).tz_localize("UTC")
    eq = pd.Series(np.concatenate(([1.0], np.cumprod(1.0 + seg["r"]))), index=idx)
    return compute_stats(eq, trades=seg["trades"], conventions=conventions_from(
        res.config.metrics))


def _write_oos(out: Path, segments: list[dict[str, Any]], last_res, plan: Plan, *,
               report: bool) -> tuple[pd.Series, dict[str, Any]]:
    """The stitched out-of-sample run folder DIR/oos (equity, trades, fills, stats, config,
    manifest last; report.html from reports)."""
    from data.catalog.files import write_json
    from engine.result import versions
    from reports.metrics import compute_stats
    from reports.runfolder import conventions_from

    cash = float(last_res.initial_cash)
    ts = np.concatenate([s["ts"] for s in segments])
    r = np.concatenate([s["r"] for s in segments])
    rb = np.concatenate([s["rb"] for s in segments])
    equity = cash * np.cumprod(1.0 + r)
    bench = cash * np.cumprod(1.0 + rb)
    expo = np.concatenate([s["exposure"] for s in segments])
    first = int(ts[0]) - 1  # the starting capital, one ns before the first test bar
    all_ts = np.concatenate(([first], ts))
    equity = np.concatenate(([cash], equity))
    bench = np.concatenate(([cash], bench))
    expo = np.concatenate(([0.0], expo))
    idx = pd.DatetimeIndex(all_ts.astype("datetime64[ns]"), name="time").tz_localize("UTC")
    trades = pd.concat([s["trades"] for s in segments], ignore_index=True)
    fills = pd.concat([s["fills"] for s in segments], ignore_index=True)
    conv = conventions_from(last_res.config.metrics)
    stats = compute_stats(pd.Series(equity, index=idx), trades=trades,
                          benchmark=pd.Series(bench, index=idx), conventions=conv,
                          fills=fills, exposure=pd.Series(expo, index=idx))
    d = out / "oos"
    d.mkdir(parents=True, exist_ok=True)
    times = pd.Series(idx.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    eq_df = pd.DataFrame({"time": times, "ts": all_ts, "equity": equity, "exposure": expo,
                          "benchmark": bench})
    atomic_write_bytes(d / "equity.csv", eq_df.to_csv(index=False).encode())
    atomic_write_bytes(d / "trades.csv", trades.to_csv(index=False).encode())
    atomic_write_bytes(d / "fills.csv", fills.to_csv(index=False).encode())
    write_json(d / "stats.json", stats)
    config = (f'# stitched out-of-sample equity of a walk-forward analysis\n'
              f'[strategy]\nname = "{plan.info.name}"\nref = "{plan.ref}"\n')
    atomic_write_bytes(d / "config.toml", config.encode())
    manifest = {"status": "complete", "kind": "walkforward-oos", "versions": versions(),
                "windows": len(segments), "created_at": pd.Timestamp.now(tz="UTC").isoformat()}
    if report:
        from reports.html import write_report

        write_report(d, manifest={k: v for k, v in manifest.items() if k != "created_at"})
    write_json(d / "manifest.json", manifest)
    return pd.Series(equity, index=idx, name="equity"), stats


def _write_json_csv(out, table, plan, metric, wins: list[Window], ts, anchored, train, test,
                    warmup, stats) -> None:
    from data.catalog.files import write_json

    atomic_write_bytes(out / "windows.csv", table.to_csv(index=False).encode())
    stability = parameter_stability(table, list(plan.space.names))
    write_json(out / "walkforward.json", {
        "strategy": plan.info.name, "strategy_ref": plan.ref, "metric": metric,
        "train": str(train), "test": str(test), "anchored": anchored,
        "warmup": "train window" if warmup is None else warmup, "windows": len(wins),
        "grid": plan.space.describe(), "params": plan.params, "options": plan.options,
        "stability": stability, "oos_stats": {k: v for k, v in stats.items()
                                              if k != "conventions"}})


def parameter_stability(table: pd.DataFrame, names: list[str]) -> dict[str, dict[str, Any]]:
    """Per parameter: how often the chosen value changed between consecutive windows, the
    number of distinct choices, and (numbers) the spread of the choices."""
    out = {}
    for n in names:
        v = table[n].tolist()
        changes = sum(1 for a, b in zip(v, v[1:], strict=False) if a != b)
        d: dict[str, Any] = {"values": [_py(x) for x in v], "distinct": len(set(v)),
                             "changes": changes,
                             "change_rate": changes / (len(v) - 1) if len(v) > 1 else 0.0}
        num = pd.to_numeric(pd.Series(v), errors="coerce")
        if num.notna().all() and len(v) > 1:
            d["mean"], d["std"] = float(num.mean()), float(num.std(ddof=1))
            d["cv"] = d["std"] / abs(d["mean"]) if d["mean"] else math.nan
        out[n] = d
    return out


def describe_windows(wins: list[Window], ts: np.ndarray) -> str:
    return json.dumps([w.as_dict(ts) for w in wins], indent=1)
