"""The examples of docs/strategies.md run as written."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_strategies_md_first_example_runs(tmp_path, monkeypatch):
    text = (REPO / "docs" / "strategies.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    monkeypatch.chdir(REPO)
    code = code.replace('res.save("runs/breakout")', f'res.save({str(tmp_path / "b")!r})')
    ns: dict = {}
    exec(compile(code, "docs/strategies.md", "exec"), ns)
    res = ns["res"]
    assert len(res.fills_rec) > 4
    assert (res.orders["type"] == "stop").any() and (res.orders["reject_reason"] == "oco").any()
    assert (tmp_path / "b" / "report.html").is_file()
    assert os.path.exists(tmp_path / "b" / "manifest.json")


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    text = (REPO / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    monkeypatch.chdir(REPO)
    code = code.replace('res.save("runs/goog_sma")', f'res.save({str(tmp_path / "g")!r})')
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)
    assert ns["res"].stats["n_trades"] == 93
    assert (tmp_path / "g" / "report.html").is_file()
    assert capsys.readouterr().out.strip()
