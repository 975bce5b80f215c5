"""Hedge-ratio kernels against statsmodels on the same data (printed numbers, not a test).

    python benchmarks/bench_statarb.py [--repeats 5]

Cases (EWA/EWC daily closes from data/samples, tiled to longer series for the larger sizes):
- rolling OLS (window 60): ``strategies.statarb.hedge.rolling_ols`` (numba) vs
  ``statsmodels.regression.rolling.RollingOLS``;
- Kalman hedge: ``kalman_hedge`` (numba) vs statsmodels' state-space filter with a time-varying
  design (``MLEModel.filter``) — the reference the tests compare against;
- Engle-Granger screen of 20 stocks (190 pairs, 2015-2018): ``screen_pairs`` wall time.
Warm timings (numba compiled before timing); medians over repeats. Both sides give the same
numbers; the largest rolling-OLS beta difference is printed (statsmodels' RollingOLS updates
running sums, whose rounding grows with the series length; the kernel recomputes each window
around its means, so the tiled series give the same beta in every tile).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from data.readers import read_bars  # noqa: E402
from strategies.statarb.coint import screen_pairs  # noqa: E402
from strategies.statarb.hedge import kalman_hedge, rolling_ols  # noqa: E402
from strategies.statarb.universe import between, close_frame, load_bars  # noqa: E402


def median_time(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def series(n: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = REPO / "data" / "samples" / "pairs"
    y = read_bars(pairs / "EWC_daily_2006-2012.csv").data["close"]
    x = read_bars(pairs / "EWA_daily_2006-2012.csv").data["close"]
    reps = -(-n // len(y))
    # tile with a level shift so the series stays continuous-ish; values only matter for timing
    yy = np.concatenate([y + k * (y[-1] - y[0]) for k in range(reps)])[:n]
    xx = np.concatenate([x + k * (x[-1] - x[0]) for k in range(reps)])[:n]
    return yy, xx


def sm_kalman(y, x, delta=1e-4, ve=1e-3):
    import statsmodels.api as sm

    vw = delta / (1 - delta)
    mod = sm.tsa.statespace.MLEModel(y, k_states=2, k_posdef=2)
    mod["design"] = np.stack([x, np.ones_like(x)])[None, :, :]
    mod["transition"] = np.eye(2)
    mod["selection"] = np.eye(2)
    mod["state_cov"] = vw * np.eye(2)
    mod["obs_cov"] = np.array([[ve]])
    mod.initialize_known(np.zeros(2), vw * np.eye(2))
    return mod.filter([]).filtered_state[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    from statsmodels.regression.rolling import RollingOLS

    print(f"{'case':<28}{'n':>10}{'tapereader s':>15}{'statsmodels s':>15}{'ratio':>9}")
    for n in (1_500, 100_000, 1_000_000):
        y, x = series(n)
        ours = rolling_ols(y, x, 60)[0]
        X = np.column_stack([np.ones(n), x])
        ref = RollingOLS(y, X, window=60).fit().params[:, 1]
        diff = float(np.nanmax(np.abs(ours - ref)))
        a = median_time(lambda y=y, x=x: rolling_ols(y, x, 60), args.repeats)
        b = median_time(
            lambda y=y, X=X: RollingOLS(y, X, window=60).fit(), max(1, args.repeats // 2)
        )
        print(
            f"{'rolling OLS (w=60)':<28}{n:>10,}{a:>15.4f}{b:>15.4f}{b / a:>9.1f}"
            f"   max |beta diff| {diff:.1e}"
        )
        np.testing.assert_allclose(kalman_hedge(y, x).beta, sm_kalman(y, x), rtol=1e-6, atol=1e-9)
        a = median_time(lambda y=y, x=x: kalman_hedge(y, x), args.repeats)
        b = median_time(lambda y=y, x=x: sm_kalman(y, x), max(1, args.repeats // 2))
        print(f"{'Kalman hedge':<28}{n:>10,}{a:>15.4f}{b:>15.4f}{b / a:>9.1f}")
    twenty = (
        REPO
        / "data"
        / "samples"
        / "cross_section"
        / "skfolio_sp500_20stocks_adjclose_1990-2022.csv.gz"
    )
    frame = between(close_frame(load_bars([twenty])), "2015-01-01", "2018-12-31")
    t = median_time(lambda: screen_pairs(frame), 1)
    print(f"{'EG screen 190 pairs':<28}{len(frame):>10,}{t:>15.2f}{'-':>15}{'-':>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
