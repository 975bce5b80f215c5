"""The README's command-line examples, extracted from README.md and run as written (output
folders moved into a temp folder), so the README cannot drift from the code."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """Every `tape ...` line of the README's sh blocks (backslash continuations joined)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    cmds, block = [], False
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            block = not block and line.strip() in ("```sh", "```bash")
        elif block and line.strip().startswith("tape "):
            cmd = line.strip()
            while cmd.endswith("\\"):
                i += 1
                cmd = cmd[:-1].rstrip() + " " + lines[i].strip()
            cmds.append(cmd)
        i += 1
    return cmds


def test_readme_has_examples_of_every_research_command():
    first = {shlex.split(c)[1] for c in readme_commands()}
    assert {"demo", "strategies", "run", "sweep", "walkforward", "grid", "compare"} <= first


@pytest.mark.slow
def test_readme_commands_run(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # data paths in the README are relative to the repository
    runs = tmp_path / "runs"
    for cmd in readme_commands():
        args = [a.replace("runs/", f"{runs}/") for a in shlex.split(cmd)[1:]]
        if "--executor" in args and "ray" in args:
            pytest.importorskip("ray")
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 0, f"{cmd}\n{r.output}\n{r.exception!r}"
        if "--json" in args:
            json.loads(r.stdout)
    assert (runs / "goog_sweep" / "results.csv").exists()
    assert (runs / "goog_wf" / "oos" / "report.html").exists()
    assert (runs / "grid_stocks20" / "summary.csv").exists()
    assert (runs / "compare.html").exists()
    assert not (REPO / "runs").exists() or not (REPO / "runs" / "goog_sweep").exists()
