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


def pytest_terminal_summary(terminalreporter):
    """Case counts of the fuzz suites (tests/test_fuzz_*.py), when they ran."""
    import sys

    oracle = sys.modules.get("fuzz_oracle")
    for line in oracle.summary_lines() if oracle else []:
        terminalreporter.write_line(line)
    orders = sys.modules.get("reliability_orders")  # round 2 counts (docs/reliability.md)
    for line in orders.summary_lines() if orders else []:
        terminalreporter.write_line(line)
