"""Run the sma_cross peers with ``--details`` and measure how far apart their outcomes are.

Used by ``check_peers_agree.py`` (asserts agreement) and ``make_golden_peers.py`` (writes the
golden files). Peers run in their venv (``benchmarks/venvs.py``), one fresh process each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import venvs  # noqa: E402

SMA_PEERS = {
    "backtesting.py": "sma_cross_backtesting.py",
    "backtrader": "sma_cross_backtrader.py",
    "vectorbt": "sma_cross_vectorbt.py",
}
TRADE_FLOATS = ("entry_price", "exit_price", "size", "fees", "pnl")
TRADE_EXACT = ("entry_bar", "exit_bar", "side", "status")


def run_details(engine: str, data: str | Path, params: dict) -> tuple[dict, dict]:
    """Run one sma_cross peer; return (its protocol line, its details)."""
    py = venvs.ensure("peers")
    if py is None:
        raise RuntimeError(f"the peers venv could not be built: {venvs.failure('peers')}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "details.json"
        cmd = [str(py), str(HERE / "runners" / SMA_PEERS[engine]), "--data", str(data),
               "--details", str(out)]
        for k, v in params.items():
            cmd += ["--param", f"{k}={json.dumps(v)}"]
        env = dict(os.environ, TQDM_DISABLE="1", PYTHONHASHSEED="0")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{engine} failed:\n{proc.stderr[-3000:]}")
        line = parse_protocol_line(proc.stdout)
        return line, json.loads(out.read_text())


def parse_protocol_line(stdout: str) -> dict:
    for text in reversed(stdout.strip().splitlines()):
        text = text.strip()
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                continue
            if obj.get("protocol") == 1:
                return obj
    raise RuntimeError(f"no protocol line in runner output:\n{stdout[-2000:]}")


def compare(a: dict, b: dict) -> dict:
    """Differences between two details dicts (same data and parameters)."""
    rep: dict = {"engines": [a["engine"], b["engine"]]}
    ea, eb = a["equity"], b["equity"]
    rep["n_bars"] = [len(ea), len(eb)]
    if len(ea) != len(eb):
        rep["equity_max_abs_diff"] = float("inf")
    else:
        rep["equity_max_abs_diff"] = max(abs(x - y) for x, y in zip(ea, eb, strict=True))
    scale = max(1.0, max(abs(x) for x in ea + eb))
    rep["scale"] = scale
    rep["equity_max_rel_diff"] = rep["equity_max_abs_diff"] / scale
    rep["final_equity_abs_diff"] = abs(a["final_equity"] - b["final_equity"])
    ta, tb = a["trades"], b["trades"]
    rep["n_trades"] = [len(ta), len(tb)]
    mismatch = [i for i, (x, y) in enumerate(zip(ta, tb, strict=False))
                if any(x[k] != y[k] for k in TRADE_EXACT)]
    rep["first_trade_mismatch"] = mismatch[0] if mismatch else None
    diffs = {k: 0.0 for k in TRADE_FLOATS}
    for x, y in zip(ta, tb, strict=False):
        for k in TRADE_FLOATS:
            diffs[k] = max(diffs[k], abs(x[k] - y[k]))
    rep["trade_max_abs_diff"] = diffs
    rep["same_trades"] = len(ta) == len(tb) and not mismatch
    return rep


def agree(rep: dict, tol: float = 1e-10) -> bool:
    """Same trades (bars, sides, status), and every equity value and trade amount within
    ``tol`` times the largest equity value (so 1e-10 means 1e-10 of the account size)."""
    limit = tol * rep["scale"]
    return (
        rep["same_trades"]
        and rep["equity_max_abs_diff"] <= limit
        and all(v <= limit for v in rep["trade_max_abs_diff"].values())
    )


def run_all(data: str | Path, params: dict, engines=tuple(SMA_PEERS)) -> dict:
    """Run every peer and compare each with the first; return lines, details, comparisons."""
    lines, details = {}, {}
    for e in engines:
        lines[e], details[e] = run_details(e, data, params)
    ref = engines[0]
    comps = [compare(details[ref], details[e]) for e in engines[1:]]
    return {"lines": lines, "details": details, "comparisons": comps}
