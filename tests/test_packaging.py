"""The package layout, the README's two commands and CI stay in agreement."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:sh|bash|console)?\n(.*?)```", text, re.S)
    assert block, "README must open with a code block holding the two commands"
    return [ln.strip() for ln in block.group(1).splitlines() if ln.strip()]


def test_readme_opens_with_exactly_two_commands():
    cmds = _readme_commands()
    assert len(cmds) == 2, cmds
    assert "tape demo" in cmds[0]
    assert "pytest" in cmds[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    # .ci/run extracts the second command from the README and runs it unchanged
    assert "README.md" in ci
    assert "sed -n" in ci or "awk" in ci


def test_pyproject_declares_console_script_and_packages():
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert meta["project"]["name"] == "tapereader"
    assert meta["project"]["scripts"]["tape"] == "cli:main"
    include = meta["tool"]["setuptools"]["packages"]["find"]["include"]
    for pkg in ("engine", "strategies", "data", "reports"):
        assert any(p.startswith(pkg) for p in include)
        assert (REPO / pkg / "__init__.py").exists()
    assert meta["tool"]["setuptools"]["py-modules"] == ["cli"]
