"""Shared fixtures. Tests use data/samples only, never ../shared (a user has only this repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "data" / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    """Path of the shipped sample data folder."""
    return SAMPLES


def pytest_addoption(parser):
    parser.addoption("--fuzz-examples", type=int, default=None,
                     help="cases per fuzz test (default: the CI budget; see docs/reliability.md)")


def pytest_configure(config):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))  # the fuzz helpers import each other
    from fuzz_oracle import set_option

    set_option(config.getoption("--fuzz-examples"))


def _counters() -> dict:
    """The suites' counters (JSON-able) as this process holds them."""
    import sys

    out = {}
    oracle = sys.modules.get("fuzz_oracle")
    if oracle:
        out["fuzz"] = {k: dict(v) for k, v in oracle.COUNTS.items()}
        out["slowest"] = dict(oracle.SLOWEST)
    orders = sys.modules.get("reliability_orders")
    if orders:
        out["orders"] = dict(orders.COUNTS)
    return out


def pytest_sessionfinish(session):
    """Under pytest-xdist, a worker hands its counts to the controller (pytest_testnodedown)."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["tapereader_counts"] = _counters()


@pytest.hookimpl(optionalhook=True)  # an xdist hook: CI runs plain pytest, without xdist
def pytest_testnodedown(node, error):
    """Controller side: add up the counts of every worker, so the summary covers the run."""
    got = getattr(node, "workeroutput", {}).get("tapereader_counts")
    if not got:
        return
    import fuzz_oracle
    import reliability_orders

    for target, c in got.get("fuzz", {}).items():
        fuzz_oracle.COUNTS[target].update(c)
    for target, v in got.get("slowest", {}).items():
        fuzz_oracle.SLOWEST[target] = max(fuzz_oracle.SLOWEST[target], v)
    reliability_orders.COUNTS.update(got.get("orders", {}))


def pytest_terminal_summary(terminalreporter):
    """Case counts of the fuzz suites (tests/test_fuzz_*.py), when they ran (all workers')."""
    import sys

    oracle = sys.modules.get("fuzz_oracle")
    for line in oracle.summary_lines() if oracle else []:
        terminalreporter.write_line(line)
    orders = sys.modules.get("reliability_orders")  # round 2 counts (docs/reliability.md)
    for line in orders.summary_lines() if orders else []:
        terminalreporter.write_line(line)
