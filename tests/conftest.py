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
