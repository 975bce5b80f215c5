"""Check that backtesting.py, backtrader and vectorbt agree on sma_cross (PEERS.md recipe).

Runs the three peers (fresh processes, peers venv) on the synthetic random-walk bars and on the
shipped real samples, stop-and-reverse and long-only, and asserts: identical round trips
(entry/exit bar, side, status, size) and every equity value and trade amount within
``--tol`` (default 1e-10) of the account size. Exits non-zero on any disagreement.

    python benchmarks/check_peers_agree.py              # synthetic 100k + GOOG + KO
    python benchmarks/check_peers_agree.py --bars 1000000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import peers_compare as pc  # noqa: E402
from benchmarks import synth  # noqa: E402
from benchmarks.runners import _protocol as P  # noqa: E402

GOOG = REPO / "data" / "samples" / "equities_daily" / "GOOG_2004-2013_backtesting.csv"
KO = REPO / "data" / "samples" / "pairs" / "daily-KO.csv"


def cases(n_bars: int) -> list[tuple[str, Path, dict]]:
    syn = dict(P.SMA_CROSS_DEFAULTS)
    real = {"fast": 10, "slow": 20, "cash": 10_000.0, "commission": 0.002}
    real2 = {"fast": 5, "slow": 30, "cash": 10_000.0, "commission": 0.0}
    out = []
    for long_only in (False, True):
        tag = "long-only" if long_only else "stop-and-reverse"
        out += [
            (f"synthetic {n_bars} bars, {tag}", synth.bars_path(n_bars),
             {**syn, "long_only": long_only}),
            (f"GOOG 10/20 c=0.002, {tag}", GOOG, {**real, "long_only": long_only}),
            (f"GOOG 5/30 c=0, {tag}", GOOG, {**real2, "long_only": long_only}),
            (f"KO 10/20 c=0.002, {tag}", KO, {**real, "long_only": long_only}),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=100_000, help="synthetic bars (default 100k)")
    ap.add_argument("--tol", type=float, default=1e-10)
    args = ap.parse_args(argv)
    failed = 0
    for name, path, params in cases(args.bars):
        res = pc.run_all(path, params)
        n = {e: d["final_equity"] for e, d in res["details"].items()}
        worst = max(c["equity_max_abs_diff"] for c in res["comparisons"])
        rel = max(c["equity_max_rel_diff"] for c in res["comparisons"])
        trades = {len(d["trades"]) for d in res["details"].values()}
        ok = all(pc.agree(c, args.tol) for c in res["comparisons"])
        failed += not ok
        print(f"{'OK  ' if ok else 'FAIL'} {name}: round trips {sorted(trades)}, final equity "
              f"{next(iter(n.values())):.6f}, max |equity diff| {worst:.3g} "
              f"(relative {rel:.3g})")
        if not ok:
            for c in res["comparisons"]:
                print("     ", c)
    print("all peers agree" if not failed else f"{failed} case(s) disagree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
