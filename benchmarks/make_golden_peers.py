"""Write golden sma_cross reference files from three independent engines (not run by tests).

Runs backtesting.py, backtrader and vectorbt (peers venv, fresh processes) on shipped real
samples and writes ``tests/golden/peers/sma_cross_<SYMBOL>_<fast>_<slow>[_c0][_long_only].json``
with the full round-trip list, the final equity and the per-bar equity curve, the exact
semantics, the peers' versions and how far apart they are. The numbers written are
backtesting.py's; the file is written only if all three agree within ``--tol``.

    python benchmarks/make_golden_peers.py            # all configs
    python benchmarks/make_golden_peers.py --check    # compare with the files, write nothing
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import peers_compare as pc  # noqa: E402

GOLDEN = REPO / "tests" / "golden" / "peers"
SAMPLES = REPO / "data" / "samples"
REFERENCE = "backtesting.py"

SEMANTICS = {
    "data": "the file's raw Open/High/Low/Close as given (an Adj Close column is ignored); "
    "one bar per row, dates as in the file; bar index i counts rows from 0",
    "indicators": "simple moving averages of close over `fast` and `slow` bars; "
    "sma_n[i] = mean(close[i-n+1..i]), undefined for i < n-1",
    "signal": "decided at bar i's close: cross up if fast[i-1] < slow[i-1] and "
    "fast[i] > slow[i]; cross down if fast[i-1] > slow[i-1] and fast[i] < slow[i] (strict: a "
    "bar where the averages are equal is no cross); the first possible signal bar is i = slow",
    "fill": "market order filled at bar i+1's open (signal_bar + 1 = entry_bar); a signal on "
    "the last bar is never filled",
    "stop_and_reverse": "cross up: close any short, then go long; cross down: close any long, "
    "then go short. long_only: cross down only closes the long; cross up when already long "
    "(or down when already short) does nothing",
    "size": "whole units: floor(E * (1 - 2**-52) / (open * (1 + c))) where E is the cash after "
    "closing the previous position at that same open, closing commission paid (the position "
    "is then all-in). The (1 - 2**-52) factor is backtesting.py's and only matters when the "
    "quotient is an exact integer; a size of 0 opens nothing",
    "commission": "c * |size| * fill price on every fill, entry and exit",
    "equity": "one value per bar at its close: cash + position * close (bars before the first "
    "fill equal the starting cash); the open position carries no exit commission",
    "trades": "round trips in entry order; pnl = side * size * (exit_price - entry_price) - "
    "fees, fees = entry + exit commission; a reversal closes one round trip and opens the next "
    "at the same open",
    "open_trade_at_end": "a position still open after the last bar is reported with status "
    "'open', exit_bar = last bar, exit_price = last close, fees = entry commission only, pnl "
    "marked to the last close; n_trades counts closed round trips only",
}

CONFIGS = [
    # (symbol, file relative to data/samples, fast, slow, commission)
    ("GOOG", "equities_daily/GOOG_2004-2013_backtesting.csv", 10, 20, 0.002),
    ("GOOG", "equities_daily/GOOG_2004-2013_backtesting.csv", 5, 30, 0.0),
    ("KO", "pairs/daily-KO.csv", 10, 20, 0.002),
    ("KO", "pairs/daily-KO.csv", 5, 30, 0.0),
]
CASH = 10_000.0


def golden_name(symbol: str, fast: int, slow: int, commission: float, long_only: bool) -> str:
    name = f"sma_cross_{symbol}_{fast}_{slow}"
    if commission == 0:
        name += "_c0"
    if long_only:
        name += "_long_only"
    return name + ".json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(symbol: str, rel: str, fast: int, slow: int, c: float, long_only: bool,
          tol: float) -> dict:
    path = SAMPLES / rel
    params = {"fast": fast, "slow": slow, "cash": CASH, "commission": c, "long_only": long_only}
    res = pc.run_all(path, params)
    comps = res["comparisons"]
    bad = [x for x in comps if not pc.agree(x, tol)]
    if bad:
        raise SystemExit(f"peers disagree on {symbol} {params}: {bad}")
    ref = res["details"][REFERENCE]
    trades = []
    for t in ref["trades"]:
        trades.append({"signal_bar": t["entry_bar"] - 1, **t})
    closed = [t for t in trades if t["status"] == "closed"]
    return {
        "about": "sma_cross reference from independent engines (benchmarks/make_golden_peers.py)",
        "strategy": "sma_cross",
        "params": params,
        "data": {"file": f"data/samples/{rel}", "sha256": _sha256(path), "rows": ref["n_bars"],
                 "first": ref["time"][0], "last": ref["time"][-1]},
        "semantics": SEMANTICS,
        "produced_by": REFERENCE,
        "versions": {e: d["versions"] for e, d in res["details"].items()},
        "agreement": {
            "engines": list(res["details"]),
            "tolerance_relative_to_max_equity": tol,
            "same_trades": all(x["same_trades"] for x in comps),
            "max_abs_equity_diff": max(x["equity_max_abs_diff"] for x in comps),
            "max_abs_final_equity_diff": max(x["final_equity_abs_diff"] for x in comps),
            "max_abs_trade_diff": {k: max(x["trade_max_abs_diff"][k] for x in comps)
                                   for k in pc.TRADE_FLOATS},
            "pairs": [{"engines": x["engines"], "max_abs_equity_diff": x["equity_max_abs_diff"]}
                      for x in comps],
        },
        "final_equity": ref["final_equity"],
        "n_trades": len(closed),
        "n_open_trades": len(trades) - len(closed),
        "total_fees": sum(t["fees"] for t in trades),
        "trades": trades,
        "equity": {"time": ref["time"], "equity": ref["equity"]},
    }


def _write(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as fh:
        json.dump(obj, fh, indent=1)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tol", type=float, default=1e-10)
    ap.add_argument("--check", action="store_true", help="compare with existing files only")
    args = ap.parse_args(argv)
    rc = 0
    for symbol, rel, fast, slow, c in CONFIGS:
        for long_only in (False, True):
            out = GOLDEN / golden_name(symbol, fast, slow, c, long_only)
            obj = build(symbol, rel, fast, slow, c, long_only, args.tol)
            agree = obj["agreement"]
            summary = (f"{out.name}: {obj['n_trades']} closed + {obj['n_open_trades']} open, "
                       f"final equity {obj['final_equity']:.6f}, peers within "
                       f"{agree['max_abs_equity_diff']:.3g}")
            if args.check:
                old = json.loads(out.read_text()) if out.exists() else None
                same = old is not None and abs(old["final_equity"] - obj["final_equity"]) <= (
                    args.tol * max(1.0, abs(obj["final_equity"]))) and len(old["trades"]) == len(
                    obj["trades"])
                rc |= not same
                print(("same  " if same else "DIFFERS ") + summary)
            else:
                _write(out, obj)
                print("wrote " + summary)
    return rc


if __name__ == "__main__":
    sys.exit(main())
