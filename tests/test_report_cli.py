"""``tape report`` and ``tape compare`` through click's CliRunner."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from report_runs import goog_run, tick_run

from cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    return goog_run(base / "goog_sma50"), goog_run(base / "goog_sma100", n=100), tick_run(base / "tick")


def test_help_lists_the_commands():
    out = CliRunner().invoke(main, ["--help"])
    assert out.exit_code == 0
    assert "report" in out.output and "compare" in out.output


def test_report_command_builds_the_report(runs):
    d = runs[0]
    res = CliRunner().invoke(main, ["report", str(d)])
    assert res.exit_code == 0, res.output
    assert f"wrote {d / 'report.html'}" in res.output
    assert (d / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_command_errors_name_the_problem(tmp_path):
    res = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert res.exit_code == 6  # RunError: the folder is not a run folder (docs/cli.md)
    assert "equity.csv is missing" in res.output and str(tmp_path) in res.output
    res = CliRunner().invoke(main, ["report", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_compare_command(runs, tmp_path):
    out = tmp_path / "cmp.html"
    res = CliRunner().invoke(main, ["compare", str(runs[0]), str(runs[1]), "-o", str(out)])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split() == ["metric", "goog_sma50", "goog_sma100"]
    assert any(line.startswith("Sharpe") for line in lines)
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg ") == 2
    assert "goog_sma50" in html and "goog_sma100" in html
    assert 'id="conv-warning"' not in html
    # sharpe row has one value per run
    row = re.search(r"<th scope=\"row\">Sharpe</th>(.*?)</tr>", html, re.S).group(1)
    assert row.count("<td") == 2


def test_compare_flags_different_conventions(runs, tmp_path):
    out = tmp_path / "mixed.html"
    res = CliRunner().invoke(main, ["compare", str(runs[0]), str(runs[2]), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert 'id="conv-warning"' in out.read_text(encoding="utf-8")  # 252 vs 365


def test_compare_needs_a_run():
    res = CliRunner().invoke(main, ["compare"])
    assert res.exit_code == 2 and "Missing argument" in res.output


def test_report_and_compare_json_and_quiet(runs, tmp_path):
    import json

    d = runs[0]
    res = CliRunner().invoke(main, ["report", str(d), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["report"] == str(d / "report.html")
    res = CliRunner().invoke(main, ["report", str(d), "--quiet"])
    assert res.exit_code == 0 and res.stdout == ""
    out = tmp_path / "c.html"
    res = CliRunner().invoke(main, ["compare", str(runs[0]), str(runs[1]), "-o", str(out),
                                    "--json"])
    doc = json.loads(res.stdout)
    assert doc["compare"] == str(out) and set(doc["runs"]) == {str(runs[0]), str(runs[1])}
    assert "sharpe" in doc["runs"][str(runs[0])]
