"""What the harness runs: the tasks (data + parameters per case) and the runner registry.

To add an engine to a task, append one :class:`Runner` to :data:`RUNNERS` in the marked
section of its task (tapereader's runners go there; see benchmarks/README.md, "Adding a
runner"). A runner script follows the protocol in ``benchmarks/runners/_protocol.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclasses.dataclass(frozen=True)
class Case:
    """One size / variant of a task: the data it reads and the parameters every runner gets."""

    label: str
    data: tuple[str, int]  # (dataset kind, size); the runner's data_format picks the file
    params: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    unit: str
    cases: tuple[Case, ...]
    baseline: str  # engine the speed ratios are taken against (its warm time, else first)
    about: str = ""


@dataclasses.dataclass(frozen=True)
class Runner:
    """One engine on one task.

    ``venv``: ``peers`` / ``hft`` / ``finrl`` (built by benchmarks/venvs.py) or ``main`` (the
    interpreter running the harness, with the repository on PYTHONPATH: tapereader's runners).
    ``data_format``: which file of the case's dataset the runner takes (see
    :func:`benchmarks.harness.data_file`): ``bars`` (.npy, canonical BAR), ``bars_csv``,
    ``l2`` (.npz, canonical DEPTH/TRADE + merge order), ``l2_hft`` (.hft.npz), ``stocks20``
    (the shipped 20-stock daily CSV).
    ``compiled``: numba / JIT engine, measured three ways (cold: empty numba cache; first: first
    call in a new process with a warm cache; warm: second call in the same process). Otherwise
    each process makes ``calls`` calls (first, and warm if calls >= 2).
    """

    task: str
    engine: str
    script: str  # relative to benchmarks/
    venv: str
    data_format: str
    compiled: bool = False
    calls: int = 1
    params: dict = dataclasses.field(default_factory=dict)
    cases: tuple[str, ...] | None = None  # None: every case of the task
    timeout_s: float = 3600.0


TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            "sma_cross",
            "bars",
            (Case("100k", ("bars", 100_000)), Case("1M", ("bars", 1_000_000))),
            baseline="vectorbt",
            about="issue 3: SMA cross stop-and-reverse, next-open fills, all-in whole units",
        ),
        Task(
            "sma_sweep",
            "bar-combos",
            (
                Case("100x100k", ("bars", 100_000), {"n_combos": 100}),
                Case("1000x100k", ("bars", 100_000), {"n_combos": 1000}),
            ),
            baseline="vectorbt",
            about="issue 6: sma_cross over a (fast, slow) grid, 100k bars",
        ),
        Task(
            "l2_replay",
            "events",
            (Case("1M", ("l2", 1_000_000)), Case("10M", ("l2", 10_000_000))),
            baseline="hftbacktest",
            about="issue 4: pure replay of the generated L2 depth-diff + trade feed",
        ),
        Task(
            "l2_mm",
            "events",
            (Case("1M", ("l2", 1_000_000)), Case("10M", ("l2", 10_000_000))),
            baseline="hftbacktest",
            about="issue 4: market making with queue model and constant latency",
        ),
        Task(
            "rl_env",
            "steps",
            (
                Case("1env", ("stocks20", 0), {"n_envs": 1, "steps": 2000}),
                Case("64env", ("stocks20", 0), {"n_envs": 64, "steps": 2048}),
            ),
            baseline="finrl",
            about="issue 9: trading-env steps/s, random actions, 20 stocks daily",
        ),
    )
}

RUNNERS: list[Runner] = [
    # --- sma_cross (issue 3) ------------------------------------------------------------------
    Runner("sma_cross", "backtesting.py", "runners/sma_cross_backtesting.py", "peers", "bars"),
    Runner("sma_cross", "backtrader", "runners/sma_cross_backtrader.py", "peers", "bars"),
    Runner("sma_cross", "vectorbt", "runners/sma_cross_vectorbt.py", "peers", "bars",
           compiled=True),
    Runner("sma_cross", "tapereader-compiled", "runners/sma_cross_tapereader_compiled.py",
           "main", "bars", compiled=True),
    Runner("sma_cross", "tapereader-compiled-prepared",
           "runners/sma_cross_tapereader_compiled.py", "main", "bars", compiled=True,
           params={"prepared": True}),
    Runner("sma_cross", "tapereader-python", "runners/sma_cross_tapereader_python.py",
           "main", "bars", compiled=True),
    # --- sma_sweep (issue 6) ------------------------------------------------------------------
    Runner("sma_sweep", "vectorbt", "runners/sma_sweep_vectorbt.py", "peers", "bars",
           compiled=True),
    Runner("sma_sweep", "tapereader", "runners/sma_sweep_tapereader.py", "main", "bars",
           compiled=True),
    Runner("sma_sweep", "tapereader-1proc", "runners/sma_sweep_tapereader.py", "main", "bars",
           compiled=True, params={"workers": 1}),
    # --- l2_replay (issue 4) ------------------------------------------------------------------
    Runner("l2_replay", "hftbacktest", "runners/l2_replay_hftbacktest.py", "hft", "l2_hft",
           compiled=True),
    Runner("l2_replay", "hftbacktest-feed", "runners/l2_replay_hftbacktest.py", "hft", "l2_hft",
           compiled=True, params={"mode": "feed"}),
    Runner("l2_replay", "tapereader", "runners/l2_replay_tapereader.py", "main", "l2",
           compiled=True),
    Runner("l2_replay", "tapereader-sim", "runners/l2_replay_tapereader.py", "main", "l2",
           compiled=True, params={"mode": "sim"}),
    # --- l2_mm (issue 4) ----------------------------------------------------------------------
    Runner("l2_mm", "hftbacktest", "runners/l2_mm_hftbacktest.py", "hft", "l2_hft",
           compiled=True),
    Runner("l2_mm", "tapereader", "runners/l2_mm_tapereader.py", "main", "l2", compiled=True),
    Runner("l2_mm", "tapereader-python", "runners/l2_mm_tapereader.py", "main", "l2",
           compiled=True, params={"path": "python"}),
    # --- rl_env (issue 9) ---------------------------------------------------------------------
    Runner("rl_env", "finrl", "runners/rl_env_finrl.py", "finrl", "stocks20"),
    Runner("rl_env", "tapereader", "runners/rl_env_tapereader.py", "main", "stocks20",
           compiled=True),
]


def runners_for(task: str) -> list[Runner]:
    return [r for r in RUNNERS if r.task == task]
