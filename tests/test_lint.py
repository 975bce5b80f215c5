"""The tree passes ruff with the project's settings (pyproject.toml [tool.ruff]): unused
results, duplicate dict keys and similar slips fail the suite instead of piling up."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def _ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    return [exe]


def test_ruff_finds_nothing():
    proc = subprocess.run([*_ruff(), "check", "--output-format", "concise", "--no-cache", "."],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_would_catch_a_finding(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("d = {'a': 1, 'a': 2}\n\n\ndef f():\n    x = 1\n")
    proc = subprocess.run([*_ruff(), "check", "--no-cache", "--isolated", "--select", "F",
                           str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "F601" in proc.stdout and "F841" in proc.stdout
