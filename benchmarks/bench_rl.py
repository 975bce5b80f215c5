"""RL environment throughput (issue 9): printed numbers, never a test.

    python benchmarks/bench_rl.py [--repeats 3] [--no-peers] [--no-cold]

1. The harness task ``rl_env`` (fresh processes, medians): FinRL's ``StockTradingEnv``
   (``runners/rl_env_finrl.py``, its own venv) and tapereader's env
   (``runners/rl_env_tapereader.py``) on the shipped 20-stock daily closes, random actions,
   1 env through the gymnasium API and 64 envs through the vector API, in the same run.
2. In-process throughput of tapereader's bar env (warm numba cache, best and median of
   ``--repeats``), single symbol (GOOG daily, discrete short/flat/long) and 20 stocks
   (continuous weights): the gymnasium API (1 env; 64 and 256 envs in the vector env, one
   numba call per batch step) and the in-numba rollout (64 envs, actions pre-drawn; slots
   serial, and spread over numba's threads). Target: >= 1M vectorised steps/s on 2 cores.
3. The tick env (TradingBook-v0, execution and market making) through the gymnasium API.

The machine is shared: the load average is printed with the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO)]

from benchmarks import harness  # noqa: E402
from benchmarks.registry import TASKS, runners_for  # noqa: E402


def _rate(fn, n_items: int, repeats: int) -> tuple[float, float, float]:
    """(best, median) items per wall second and best items per CPU second (all threads of
    this process) of ``fn()`` over ``repeats`` calls after one warm-up call. On a loaded
    machine the CPU-time rate is what the code does per core it actually gets."""
    fn()
    rates, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        rates.append(n_items / (time.perf_counter() - t))
        cpu.append(n_items / max(time.process_time() - c, 1e-9))
    return max(rates), statistics.median(rates), max(cpu)


def in_process(repeats: int) -> list[tuple[str, float, float, float]]:
    import numpy as np

    from data.readers.multi import read_wide_closes
    from strategies.rl.bars import TradingBarsEnv, make_setup
    from strategies.rl.vector import TradingBarsVectorEnv, rollout

    panel = read_wide_closes(REPO / "data" / "samples" / "cross_section" /
                             "skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz")
    setups = {
        "GOOG 1 symbol, discrete": make_setup(None, window=16, episode_length=252,
                                              commission=0.001),
        "20 stocks, continuous": make_setup(panel, start="2010-01-01", window=2,
                                            actions="continuous", episode_length=None,
                                            commission=0.001, cash=1_000_000.0),
    }
    out = []
    for label, su in setups.items():
        rng = np.random.default_rng(0)
        disc = su.actions == "discrete"

        def draw(shape, disc=disc, rng=rng):
            if disc:
                return rng.integers(0, 3, shape).astype(np.float64)
            return rng.uniform(-1.0, 1.0, shape)

        env = TradingBarsEnv(setup=su)
        env.reset(seed=0)
        acts1 = [int(a[0]) if disc else a.astype(np.float32) for a in draw((2000, su.n_sym))]

        def single(env=env, acts=acts1):
            for a in acts:
                _, _, te, tr, _ = env.step(a)
                if te or tr:
                    env.reset()

        out.append((f"{label}: 1 env, gymnasium API", *_rate(single, len(acts1), repeats)))
        for n_env, n_steps in ((64, 300), (256, 100)):
            v = TradingBarsVectorEnv(n_env, setup=su)
            v.reset(seed=0)
            acts = [a[:, 0].astype(np.int64) if disc else a.astype(np.float32)
                    for a in draw((n_steps, n_env, su.n_sym))]

            def vec(v=v, acts=acts):
                for a in acts:
                    v.step(a)

            out.append((f"{label}: {n_env} envs, gymnasium vector API",
                        *_rate(vec, n_steps * n_env, repeats)))
        v = TradingBarsVectorEnv(64, setup=su)
        v.reset(seed=0)
        n_steps = 4000 if su.n_sym == 1 else 400
        table = draw((n_steps, 64, su.n_sym))
        for par in (False, True):
            how = "numba threads" if par else "serial"
            out.append((f"{label}: 64 envs, in-numba rollout ({how})",
                        *_rate(lambda v=v, t=table, p=par: rollout(v, t, p), n_steps * 64,
                               repeats)))
    from strategies.rl.book_env import TradingBookEnv

    for mode in ("execution", "market_making"):
        env = TradingBookEnv(mode=mode, episode_steps=300, window=2)
        env.reset(seed=0)
        acts = np.random.default_rng(0).integers(0, env.action_space.n, 1000)

        def tick(env=env, acts=acts):
            for a in acts:
                _, _, te, tr, _ = env.step(int(a))
                if te or tr:
                    env.reset()

        out.append((f"tick BTCUSDT ({mode}), 1 env, gymnasium API (500 ms steps)",
                    *_rate(tick, len(acts), repeats)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-peers", action="store_true", help="skip the harness task")
    ap.add_argument("--no-cold", action="store_true", help="skip empty-cache runs")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    rows: list[dict] = []
    if not args.no_peers:
        for case in TASKS["rl_env"].cases:
            runners = runners_for("rl_env")
            print(f"[rl_env {case.label}] {', '.join(r.engine for r in runners)}", flush=True)
            rows += harness.run_case("rl_env", case, runners, repeats=args.repeats,
                                     cold=not args.no_cold, log=lambda s: print(s, flush=True))
        harness.print_table(rows)
    print(f"\nin-process, warm cache (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores):")
    res = in_process(args.repeats)
    w = max(len(r[0]) for r in res)
    print(f"{'steps/s':<{w}}  {'wall best':>12}  {'wall median':>12}  {'per CPU-s':>12}")
    for label, b, m, c in res:
        print(f"{label:<{w}}  {b:>12,.0f}  {m:>12,.0f}  {c:>12,.0f}")
    vec = [r for r in res if "64 envs" in r[0] or "256 envs" in r[0]]
    best_vec = max(r[1] for r in vec)
    print(f"target >= 1M vectorised steps/s on 2 cores: best wall {best_vec:,.0f} "
          f"({'met' if best_vec >= 1e6 else 'not met'} in this run, load average now "
          f"{os.getloadavg()[0]:.1f}); best per CPU-second {max(r[3] for r in vec):,.0f}")
    if rows:
        path = harness.save({"meta": harness.machine_info(), "rows": rows,
                             "in_process": [dict(zip(("label", "best", "median", "cpu"), r,
                                                     strict=True)) for r in res]}, None)
        print(f"saved {path}")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
